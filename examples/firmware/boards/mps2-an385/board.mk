# mps2-an385: Cortex-M3, qemu-system-arm -M mps2-an385
ARCH     := cortex-m
CROSS    := arm-none-eabi-
CPUFLAGS := -mcpu=cortex-m3 -mthumb
