# arm-virt: Cortex-A15 (ARMv7-A) in ARM state, qemu-system-arm -M virt -cpu cortex-a15
ARCH       := arm-a32
CROSS      := arm-none-eabi-
CPUFLAGS   := -mcpu=cortex-a15 -marm
BOARD_DEFS := -DA32_HAS_VBAR
