# riscv32-virt: RV32IMAC, qemu-system-riscv32 -M virt -bios none
ARCH       := riscv
CROSS      := riscv64-unknown-elf-
CPUFLAGS   := -march=rv32imac -mabi=ilp32 -misa-spec=2.2
BOARD_DIR  := boards/riscv-virt
BOARD_DEFS := -DBOARD_MAX_HARTS=4
BOARD_APPS := smp
