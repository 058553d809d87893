# riscv64-virt: RV64IMAC, qemu-system-riscv64 -M virt -bios none
ARCH       := riscv
CROSS      := riscv64-unknown-elf-
CPUFLAGS   := -march=rv64imac -mabi=lp64 -mcmodel=medany -misa-spec=2.2
BOARD_DIR  := boards/riscv-virt
BOARD_DEFS := -DBOARD_MAX_HARTS=4
BOARD_APPS := smp
