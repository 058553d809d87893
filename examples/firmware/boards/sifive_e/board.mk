# sifive_e: RV32IMAC (SiFive E31, FE310), qemu-system-riscv32 -M sifive_e
ARCH       := riscv
CROSS      := riscv64-unknown-elf-
CPUFLAGS   := -march=rv32imac -mabi=ilp32 -misa-spec=2.2
BOARD_DEFS := -DBOARD_MAX_HARTS=1
