/* void sh_exit(uint32_t code): semihosting SYS_EXIT_EXTENDED (0x20) with the
 * parameter block {ADP_Stopped_ApplicationExit, code}, so QEMU exits with
 * status `code` (plain SYS_EXIT on A32 carries no code). The A32 trap is
 * SVC 0x123456 in ARM state (HLT 0xF000 is ARMv8 only; the cores here are
 * ARMv7), r0 = operation, r1 = parameter. semihost_exit_insn is the SVC. */
    .syntax unified
    .arm
    .section .text.sh_exit, "ax"
    .global sh_exit
    .type   sh_exit, %function
    .balign 4
sh_exit:
    mov     r4, r0                  /* never returns: r4 is free */
    bl      board_uart_flush
    sub     sp, sp, #8
    ldr     r1, =0x20026            /* ADP_Stopped_ApplicationExit */
    str     r1, [sp]
    str     r4, [sp, #4]            /* exit status */
    mov     r1, sp
    mov     r0, #0x20               /* SYS_EXIT_EXTENDED */
    .global semihost_exit_insn
semihost_exit_insn:
    svc     0x123456
1:  b       1b                      /* not reached with semihosting enabled */
    .size   sh_exit, . - sh_exit
    .ltorg
