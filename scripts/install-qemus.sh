#!/usr/bin/env bash
# Installs the QEMU versions of the test matrix beside the system's own, from Debian's packages
# only, into a private cache dir; the system's apt state is never touched.
#   scripts/install-qemus.sh          install (idempotent) and list what is installed
#   scripts/install-qemus.sh --list   list only
#
# - bookworm-backports: QEMU 10.0.x built for Debian 12; its debs are unpacked into a prefix and run
#   as they are.
# - sid: QEMU 11.1.x, linked against a newer libc than Debian 12's; it is unpacked with the library
#   packages it needs into a sysroot and started through that sysroot's dynamic loader.
# Newer Debian packages ship RISC-V as qemu-system-riscv (7.2 had it in qemu-system-misc).
# Each install gets bin/qemu-system-* launchers (exec, so the pid is QEMU's) and a VERSION file.
# The suites move on: whatever version they hold now is what gets installed and printed.
set -euo pipefail

CACHE="${QEMU_FAULT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-fault}"
ROOT="$CACHE/qemu"
APT="$ROOT/.apt"
MIRROR="${QEMU_FAULT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
TARGETS=(arm aarch64 riscv32 riscv64)
PACKAGES=(qemu-system-arm qemu-system-riscv qemu-system-common qemu-system-data)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

list() {
  for dir in "$ROOT"/*/; do
    [ -f "$dir/VERSION" ] && printf '%s\t%s\n' "$(upstream_version "$(cat "$dir/VERSION")")" "${dir%/}/bin"
  done
  return 0
}

if [ "${1:-}" = "--list" ]; then list; exit 0; fi

# A private apt configuration: own sources list, lists, cache and (empty) dpkg status.
apt_private() {
  local status="$APT/status"
  mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/parts" "$APT/prefs"
  : >"$status"
  cat >"$APT/sources.list" <<EOF
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR bookworm-backports main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR sid main
EOF
  APT_OPTS=(
    -o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=$APT/parts"
    -o "Dir::Etc::Preferences=$APT/preferences" -o "Dir::Etc::PreferencesParts=$APT/prefs"
    -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o "Dir::State::status=$status"
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root
  )
}

# The candidate version of `package` in `suite`.
version_in() {
  apt-cache "${APT_OPTS[@]}" madison "$1" | awk -v s="$2" '$0 ~ s"/main" {print $3; exit}'
}

# Downloads the given package=version specs into the current dir.
download() {
  apt-get "${APT_OPTS[@]}" download -qq "$@" >/dev/null
}

# Writes bin/qemu-system-<target> launchers for the targets present under `root`.
write_launchers() {
  local dir="$1" loader="$2" libpath="$3"
  mkdir -p "$dir/bin"
  for t in "${TARGETS[@]}"; do
    local real="$dir/root/usr/bin/qemu-system-$t"
    [ -x "$real" ] || continue
    {
      echo '#!/bin/sh'
      echo "# qemu-system-$t from $(cat "$dir/VERSION.tmp"), unpacked by scripts/install-qemus.sh"
      if [ -n "$loader" ]; then
        echo "exec $loader --library-path $libpath $real -L $dir/root/usr/share/qemu \"\$@\""
      else
        echo "exec $real -L $dir/root/usr/share/qemu \"\$@\""
      fi
    } >"$dir/bin/qemu-system-$t"
    chmod +x "$dir/bin/qemu-system-$t"
  done
}

install_backports() {
  local version dir
  version="$(version_in qemu-system-arm bookworm-backports)"
  [ -n "$version" ] || { say "bookworm-backports has no qemu-system-arm: skipped"; return 0; }
  dir="$ROOT/bookworm-backports-$(upstream_version "$version")"
  if [ -f "$dir/VERSION" ]; then return 0; fi
  say "Installing QEMU $version from bookworm-backports into $dir"
  rm -rf "$dir" && mkdir -p "$dir/debs" "$dir/root"
  (cd "$dir/debs" && download "${PACKAGES[@]/%/=$version}")
  for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$dir/root"; done
  echo "$version" >"$dir/VERSION.tmp"
  write_launchers "$dir" "" ""
  check_runs "$dir"
}

install_sid() {
  local version dir
  version="$(version_in qemu-system-arm sid)"
  [ -n "$version" ] || { say "sid has no qemu-system-arm: skipped"; return 0; }
  dir="$ROOT/sid-$(upstream_version "$version")"
  if [ -f "$dir/VERSION" ]; then return 0; fi
  say "Installing QEMU $version from sid (with its libraries) into $dir"
  rm -rf "$dir" && mkdir -p "$dir/debs" "$dir/root"
  # What QEMU needs from sid, from an empty dpkg status: its libraries and the loader. Firmware
  # blobs for PCs (seabios, ipxe) and services (systemd) are not needed for these targets.
  local needed
  needed="$(apt-get "${APT_OPTS[@]}" -o APT::Default-Release=sid install -s --no-install-recommends \
    "${PACKAGES[@]/%/=$version}" 2>/dev/null | awk '/^Inst /{print $2}' |
    grep -Ev '^(systemd|libsystemd-shared|seabios|ipxe-qemu|openssl-provider-legacy)$' || true)"
  [ -n "$needed" ] || { say "cannot resolve QEMU $version's dependencies in sid"; return 1; }
  # shellcheck disable=SC2086
  (cd "$dir/debs" && apt-get "${APT_OPTS[@]}" -o APT::Default-Release=sid download -qq $needed >/dev/null)
  for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$dir/root"; done
  local r="$dir/root"
  local libpath="$r/usr/lib/x86_64-linux-gnu:$r/lib/x86_64-linux-gnu:$r/usr/lib/x86_64-linux-gnu/ceph"
  local loader="$r/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
  [ -e "$loader" ] || loader="$r/lib64/ld-linux-x86-64.so.2"
  echo "$version" >"$dir/VERSION.tmp"
  write_launchers "$dir" "$loader" "$libpath"
  check_runs "$dir"
}

# 1:10.0.2+ds-2+deb13u1~bpo12+1 -> 10.0.2
upstream_version() {
  local v="${1#*:}"
  echo "${v%%[+-]*}"
}

# A launcher that does not start is not installed: the tests would only fail later.
check_runs() {
  local dir="$1" out
  if ! out="$("$dir/bin/qemu-system-arm" --version 2>&1)"; then
    say "QEMU in $dir does not run: $out"
    return 1
  fi
  rm -rf "$dir/debs"
  mv "$dir/VERSION.tmp" "$dir/VERSION"
  say "$(head -1 <<<"$out")"
}

mkdir -p "$ROOT"
apt_private
say "Reading the package lists of bookworm-backports and sid"
apt-get "${APT_OPTS[@]}" update -qq >/dev/null
install_backports
install_sid
list
