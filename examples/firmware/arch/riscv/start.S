/* RISC-V machine-mode entry. Every hart starts here (QEMU starts all harts of
 * virt at the ELF entry with -bios none; sifive_e has one hart). Hart 0 copies
 * .data, zeroes .bss and calls main(); the others call secondary_main(hartid),
 * which parks them unless the application defines it (the smp app). */
    .section .text.start, "ax"
    .global _start
    .type   _start, @function
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    csrw    mie, zero
    csrci   mstatus, 8              /* MIE = 0 */
    la      t0, trap_entry
    csrw    mtvec, t0               /* direct mode: every trap to trap_entry */
    csrr    a0, mhartid
    li      t1, BOARD_MAX_HARTS
    bgeu    a0, t1, park_hart       /* no stack for this one */
    /* sp = _estack - hartid * _hart_stack_size */
    la      sp, _estack
    la      t1, _hart_stack_size
    mul     t1, t1, a0
    sub     sp, sp, t1
    bnez    a0, 9f

    la      t0, _sidata             /* hart 0: .data from its load image */
    la      t1, _sdata
    la      t2, _edata
1:  bgeu    t1, t2, 2f
    lw      t3, 0(t0)
    sw      t3, 0(t1)
    addi    t0, t0, 4
    addi    t1, t1, 4
    j       1b
2:  la      t1, _sbss
    la      t2, _ebss
3:  bgeu    t1, t2, 4f
    sw      zero, 0(t1)
    addi    t1, t1, 4
    j       3b
4:  call    main
    li      a0, 1                   /* main() must not return */
    call    sh_exit

9:  call    secondary_main          /* a0 = hartid */
    j       park_hart
    .size   _start, . - _start

/* Default for the harts other than 0: sleep forever (mie = 0, so WFI never
 * wakes). Weak: an application that uses them defines secondary_main. */
    .section .text.park_hart, "ax"
    .global park_hart
    .weak   secondary_main
    .type   park_hart, @function
park_hart:
secondary_main:
    csrw    mie, zero
1:  wfi
    j       1b
    .size   park_hart, . - park_hart
