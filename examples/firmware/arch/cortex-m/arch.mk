# Cortex-M (Thumb): vector table + reset handler in C, BKPT 0xAB semihosting.
ARCH_START    := arch/cortex-m/startup.c
ARCH_SRCS     := arch/cortex-m/semihost.c
ARCH_APP_SRCS := arch/cortex-m/check_pin.S $(CHECK_PIN_WIDE)
ARCH_CFLAGS   :=
ARCH_DEFS     := $(if $(CHECK_PIN_WIDE),-DHAVE_CHECK_PIN_WIDE)
