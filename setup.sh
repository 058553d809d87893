#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for qemu-fault, then runs the example fault tests.
# Idempotent: installs only what is missing and rebuilds only what changed.
#   ./setup.sh               set up, build, install the QEMU test matrix, run the examples
#   ./setup.sh --no-run      ... without running the examples
#   ./setup.sh --no-matrix   ... without the extra QEMU versions (the tests then use the system's only)
set -euo pipefail
cd "$(dirname "$0")"

RUN=1
MATRIX=1
for arg in "$@"; do
  case "$arg" in
    --no-run) RUN=0 ;;
    --no-matrix) MATRIX=0 ;;
    *) echo "usage: ./setup.sh [--no-run] [--no-matrix]" >&2; exit 2 ;;
  esac
done

PNPM_VERSION=12.4.2
DEBIAN_PACKAGES=(qemu-system-arm qemu-system-misc qemu-utils gcc-arm-none-eabi libnewlib-arm-none-eabi gcc-riscv64-unknown-elf gcc-aarch64-linux-gnu make gcc libc6-dev util-linux chromium)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "Installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  say "Installing pnpm $PNPM_VERSION"
  as_root npm install -g --silent "pnpm@$PNPM_VERSION"
fi

say "Installing node modules"
pnpm install --frozen-lockfile --reporter=silent

say "Building the packages, the TCG plugin and the example firmware"
pnpm run build
pnpm run firmware

if [ "$MATRIX" = 1 ]; then
  say "Installing the QEMU test matrix from Debian's packages (bookworm-backports, sid)"
  scripts/install-qemus.sh
fi

if [ "$RUN" = 1 ]; then
  say "Running the example fault tests"
  pnpm run examples
fi
