# AArch64 at EL1 (bare metal, no MMU): start.S with the exception vectors,
# semihosting HLT #0xF000. Only general-purpose registers in C (no FP/SIMD,
# so CPACR_EL1 need not enable them).
ARCH_START    := arch/aarch64/start.S
ARCH_SRCS     := arch/aarch64/exceptions.c arch/aarch64/semihost.S
ARCH_APP_SRCS := arch/aarch64/check_pin.S
ARCH_CFLAGS   := -mgeneral-regs-only -mstrict-align -fno-pie -fno-pic -mno-outline-atomics
ARCH_DEFS     :=
# Debian's aarch64-linux-gnu-gcc links PIE by default (.interp, .dynamic,
# unapplied dynamic relocations): a firmware image is static, at fixed addresses.
ARCH_LDFLAGS  := -static -no-pie -Wl,--build-id=none
