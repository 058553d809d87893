/* The one machine-mode trap vector (mtvec, direct mode).
 *   interrupt  (mcause < 0): save the caller-saved registers, trap_irq(mcause), mret
 *   exception  (mcause >= 0): a fault. The stack may be garbage, so move sp to
 *              this hart's stack top and call fault_handler(mcause, mepc, mtval),
 *              which prints and exits with code 6. */
#if __riscv_xlen == 64
#define SREG sd
#define LREG ld
#define REGBYTES 8
#else
#define SREG sw
#define LREG lw
#define REGBYTES 4
#endif

    .section .text.trap_entry, "ax"
    .balign 4
    .global trap_entry
    .type   trap_entry, @function
trap_entry:
    csrw    mscratch, t0
    csrr    t0, mcause
    bltz    t0, 1f
    csrr    a0, mhartid             /* exception: a fresh stack, then C */
    la      sp, _estack
    la      t1, _hart_stack_size
    mul     t1, t1, a0
    sub     sp, sp, t1
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    j       fault_handler

1:  csrr    t0, mscratch            /* interrupt */
    addi    sp, sp, -16 * REGBYTES
    SREG    ra, 0 * REGBYTES(sp)
    SREG    t0, 1 * REGBYTES(sp)
    SREG    t1, 2 * REGBYTES(sp)
    SREG    t2, 3 * REGBYTES(sp)
    SREG    t3, 4 * REGBYTES(sp)
    SREG    t4, 5 * REGBYTES(sp)
    SREG    t5, 6 * REGBYTES(sp)
    SREG    t6, 7 * REGBYTES(sp)
    SREG    a0, 8 * REGBYTES(sp)
    SREG    a1, 9 * REGBYTES(sp)
    SREG    a2, 10 * REGBYTES(sp)
    SREG    a3, 11 * REGBYTES(sp)
    SREG    a4, 12 * REGBYTES(sp)
    SREG    a5, 13 * REGBYTES(sp)
    SREG    a6, 14 * REGBYTES(sp)
    SREG    a7, 15 * REGBYTES(sp)
    csrr    a0, mcause
    call    trap_irq
    LREG    ra, 0 * REGBYTES(sp)
    LREG    t0, 1 * REGBYTES(sp)
    LREG    t1, 2 * REGBYTES(sp)
    LREG    t2, 3 * REGBYTES(sp)
    LREG    t3, 4 * REGBYTES(sp)
    LREG    t4, 5 * REGBYTES(sp)
    LREG    t5, 6 * REGBYTES(sp)
    LREG    t6, 7 * REGBYTES(sp)
    LREG    a0, 8 * REGBYTES(sp)
    LREG    a1, 9 * REGBYTES(sp)
    LREG    a2, 10 * REGBYTES(sp)
    LREG    a3, 11 * REGBYTES(sp)
    LREG    a4, 12 * REGBYTES(sp)
    LREG    a5, 13 * REGBYTES(sp)
    LREG    a6, 14 * REGBYTES(sp)
    LREG    a7, 15 * REGBYTES(sp)
    addi    sp, sp, 16 * REGBYTES
    mret
    .size   trap_entry, . - trap_entry
