/* The A53 (apu-cpu[0]) release stub, at 0x100: AArch64 machine code,
 * kept here as words so the R5 image needs no AArch64 toolchain. QEMU starts
 * apu-cpu[0] there (-device loader,addr=0x100,cpu-num=0), in AArch64 EL1;
 * it asks QEMU's built-in PSCI firmware (conduit SMC on this board) to power
 * on rpu-cpu[0] (MPIDR 4) at 0 in AArch32 state (SMC32 function ID), then
 * powers itself off, so only the R5 runs. Disassembly of the words:
 *    0: mov  w0, #0x3
 *    4: movk w0, #0x8400, lsl #16   w0 = 0x84000003 PSCI CPU_ON (SMC32)
 *    8: mov  x1, #0x4               target MPIDR: rpu-cpu[0]
 *    c: mov  x2, #0x0               entry point: _start of the R5 image
 *   10: mov  x3, #0x0               context id
 *   14: smc  #0
 *   18: mov  w0, #0x2
 *   1c: movk w0, #0x8400, lsl #16   w0 = 0x84000002 PSCI CPU_OFF
 *   20: smc  #0
 *   24: wfi
 *   28: b    24 */
    .section .board_boot, "ax"
    .global apu_boot
apu_boot:
    .word   0x52800060, 0x72b08000, 0xd2800081, 0xd2800002
    .word   0xd2800003, 0xd4000003, 0x52800040, 0x72b08000
    .word   0xd4000003, 0xd503207f, 0x17ffffff
    .size   apu_boot, . - apu_boot
