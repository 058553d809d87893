/* void sh_exit(uint32_t code): semihosting SYS_EXIT_EXTENDED (0x20) with the
 * parameter block {ADP_Stopped_ApplicationExit, code} (two 64-bit words): QEMU
 * exits with status `code`. The A64 trap is HLT #0xF000, w0 = operation,
 * x1 = parameter. semihost_exit_insn is the HLT. */
    .section .text.sh_exit, "ax"
    .global sh_exit
    .type   sh_exit, %function
    .balign 4
sh_exit:
    mov     w19, w0                 /* never returns: x19 is free */
    bl      board_uart_flush
    sub     sp, sp, #16
    ldr     x1, =0x20026            /* ADP_Stopped_ApplicationExit */
    mov     w2, w19
    stp     x1, x2, [sp]
    mov     x1, sp
    mov     w0, #0x20               /* SYS_EXIT_EXTENDED */
    .global semihost_exit_insn
semihost_exit_insn:
    hlt     #0xf000
1:  b       1b                      /* not reached with semihosting enabled */
    .size   sh_exit, . - sh_exit
    .ltorg
