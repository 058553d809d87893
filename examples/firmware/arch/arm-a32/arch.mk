# 32-bit A/R profile in ARM (A32) state: start.S with the exception vectors,
# semihosting SVC 0x123456. Everything is compiled -marm (no Thumb).
ARCH_START    := arch/arm-a32/start.S
ARCH_SRCS     := arch/arm-a32/exceptions.c arch/arm-a32/semihost.S
ARCH_APP_SRCS := arch/arm-a32/check_pin.S
ARCH_CFLAGS   := -marm -mno-unaligned-access -mfloat-abi=soft
ARCH_DEFS     :=
