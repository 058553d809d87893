#!/usr/bin/env bash
# Runs every example ELF once on every QEMU found and compares its serial
# output and exit status with the golden ones in README.md.
#   ./check.sh                 every board and app, every QEMU below that exists
#   ./check.sh riscv64-virt    one board
#   QEMU_DIRS="/usr/bin" ./check.sh
# QEMU_DIRS: directories holding qemu-system-{arm,aarch64,riscv32,riscv64}
# (default: /usr/bin and the 10.0 / 11.1 builds of scripts/install-qemus.sh).
set -uo pipefail
cd "$(dirname "$0")"

QEMU_DIRS=${QEMU_DIRS:-"/usr/bin $HOME/.cache/qemu-fault/qemu/bookworm-backports-10.0.2/bin $HOME/.cache/qemu-fault/qemu/sid-11.1.3/bin"}
BOARDS=${*:-"mps2-an385 lm3s6965evb mps2-an505 riscv32-virt sifive_e riscv64-virt aarch64-virt arm-virt xlnx-zcu102-r5"}
STD=(-icount shift=0,sleep=off -display none -nodefaults -serial stdio -semihosting-config enable=on,target=native)

# qemu_cmd DIR BOARD ELF: the README's command line for that board.
qemu_cmd() {
  local d=$1 b=$2 elf=$3
  case $b in
    mps2-an385 | lm3s6965evb | mps2-an505) echo "$d/qemu-system-arm -M $b -kernel $elf" ;;
    riscv32-virt) echo "$d/qemu-system-riscv32 -M virt -bios none -kernel $elf" ;;
    riscv64-virt) echo "$d/qemu-system-riscv64 -M virt -bios none -kernel $elf" ;;
    sifive_e) echo "$d/qemu-system-riscv32 -M sifive_e -kernel $elf" ;;
    aarch64-virt) echo "$d/qemu-system-aarch64 -M virt -cpu cortex-a53 -kernel $elf" ;;
    arm-virt) echo "$d/qemu-system-arm -M virt -cpu cortex-a15 -kernel $elf" ;;
    xlnx-zcu102-r5)
      # The DisplayPort needs an audio backend: -audiodev none,id=snd0 on 7.2
      # (its -audio wants a model), -audio none on 10 and later.
      local audio="-audio none"
      "$d/qemu-system-aarch64" -version | grep -q 'version 7\.' && audio="-audiodev none,id=snd0"
      echo "$d/qemu-system-aarch64 -M xlnx-zcu102 $audio -smp 6 -device loader,file=$elf -device loader,addr=0x100,cpu-num=0" ;;
  esac
}

golden() { # golden BOARD APP -> "exit|output"
  local b=$1 a=$2
  case $a in
    faultdemo) printf '0|boot: %s faultdemo\nboot_count: 1\nauth: denied\nresult: 0x8d6a7738\ndone\n' "$b" ;;
    pin | pin_dup) printf '0|boot: %s %s\npin: denied\ntries_left: 2\n' "$b" "$a" ;;
    nvm | nvm_journal) printf '0|boot: %s %s\nnvm: blank\nnvm: saved seq 1\nnvm: saved seq 2\ndone\n' "$b" "$a" ;;
    smp) printf '0|boot: %s smp\nhart0_work: 0x9435d1bc\nhart1_work: 0xd1858e15\nshared_value: 0xbb99ffd7\ndone\n' "$b" ;;
  esac
}

pass=0 fail=0
for d in $QEMU_DIRS; do
  [ -x "$d/qemu-system-arm" ] || continue
  ver=$("$d/qemu-system-arm" -version | head -1 | sed 's/.*version \([0-9.]*\).*/\1/')
  for b in $BOARDS; do
    for elf in build/"$b"/*.elf; do
      [ -f "$elf" ] || continue
      a=$(basename "$elf" .elf)
      extra=()
      [ "$a" = smp ] && extra=(-smp 2)
      # shellcheck disable=SC2046
      out=$(timeout 60 $(qemu_cmd "$d" "$b" "$elf") "${STD[@]}" "${extra[@]}" 2> /dev/null)
      rc=$?
      want=$(golden "$b" "$a")
      if [ "$rc|$out" = "${want%$'\n'}" ]; then
        pass=$((pass + 1))
      else
        fail=$((fail + 1))
        printf 'FAIL %-7s %-15s %-12s exit %s (want %s)\n' "$ver" "$b" "$a" "$rc" "${want%%|*}"
        printf '%s\n' "$out" | sed 's/^/    /'
      fi
    done
  done
  echo "QEMU $ver: done"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
