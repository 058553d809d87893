/* void sh_exit(uint32_t code): semihosting SYS_EXIT_EXTENDED (0x20) with the
 * parameter block {ADP_Stopped_ApplicationExit, code} (two XLEN-sized words),
 * so QEMU exits with status `code` on RV32 and RV64 alike. It first calls
 * board_uart_flush(): QEMU exits at once, and output still queued in a
 * modelled TX FIFO (sifive_e on QEMU >= 9) would be lost.
 *
 * The RISC-V semihosting trap is the sequence
 *     slli x0, x0, 0x1f ; ebreak ; srai x0, x0, 7
 * of three uncompressed instructions that must not straddle a page: .balign 16
 * keeps the 12 bytes in one 16-byte block. a0 = operation, a1 = parameter.
 *   semihost_exit_seq   the slli (start of the sequence)
 *   semihost_exit_insn  the ebreak (the trapping instruction) */
#if __riscv_xlen == 64
#define SREG sd
#define REGBYTES 8
#else
#define SREG sw
#define REGBYTES 4
#endif

    .section .text.sh_exit, "ax"
    .global sh_exit
    .type   sh_exit, @function
    .option push
    .option norvc
    .balign 16
sh_exit:
    mv      s1, a0                  /* never returns: s1 is free */
    call    board_uart_flush        /* let the UART drain (weak, trap.c) */
    mv      a0, s1
    addi    sp, sp, -16
    li      t0, 0x20026             /* ADP_Stopped_ApplicationExit */
    SREG    t0, 0(sp)
    SREG    a0, REGBYTES(sp)        /* exit status */
    mv      a1, sp
    li      a0, 0x20                /* SYS_EXIT_EXTENDED */
    .balign 16
    .global semihost_exit_seq
    .global semihost_exit_insn
semihost_exit_seq:
    slli    x0, x0, 0x1f
semihost_exit_insn:
    ebreak
    srai    x0, x0, 7
1:  j       1b                      /* not reached with semihosting enabled */
    .option pop
    .size   sh_exit, . - sh_exit
