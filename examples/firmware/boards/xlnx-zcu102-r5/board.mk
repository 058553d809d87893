# xlnx-zcu102-r5: the ZynqMP's Cortex-R5 (rpu-cpu[0]) in ARM state,
# qemu-system-aarch64 -M xlnx-zcu102 -smp 6 (see README: the A53 releases it)
ARCH       := arm-a32
CROSS      := arm-none-eabi-
CPUFLAGS   := -mcpu=cortex-r5 -marm
BOARD_SRCS := $(BOARD_DIR)/apu_boot.S
BOARD_DEFS := -DBOARD_POLLED_TICK
