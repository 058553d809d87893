# lm3s6965evb: Cortex-M3, qemu-system-arm -M lm3s6965evb
ARCH     := cortex-m
CROSS    := arm-none-eabi-
CPUFLAGS := -mcpu=cortex-m3 -mthumb
