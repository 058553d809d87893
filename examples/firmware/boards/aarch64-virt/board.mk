# aarch64-virt: Cortex-A53 at EL1, qemu-system-aarch64 -M virt -cpu cortex-a53
ARCH     := aarch64
CROSS    := aarch64-linux-gnu-
CPUFLAGS := -mcpu=cortex-a53
