# RISC-V (RV32/RV64, machine mode): start.S, trap entry, CLINT timer,
# semihosting `slli x0,x0,0x1f; ebreak; srai x0,x0,7`.
ARCH_START    := arch/riscv/start.S
ARCH_SRCS     := arch/riscv/trap_entry.S arch/riscv/trap.c arch/riscv/semihost.S
ARCH_APP_SRCS := arch/riscv/check_pin.S
ARCH_CFLAGS   :=
ARCH_DEFS     := -DHAVE_CHECK_PIN_WIDE
