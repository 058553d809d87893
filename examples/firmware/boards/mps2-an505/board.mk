# mps2-an505: Cortex-M33 (ARMv8-M mainline) in Secure state, qemu-system-arm -M mps2-an505
ARCH           := cortex-m
CROSS          := arm-none-eabi-
CPUFLAGS       := -mcpu=cortex-m33 -mthumb -mfloat-abi=soft
CHECK_PIN_WIDE := arch/cortex-m/check_pin_wide.S
