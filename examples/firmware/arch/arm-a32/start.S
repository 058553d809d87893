/* ARMv7-A/R entry in ARM state. The image starts with the exception vector
 * table, and _start (the ELF entry) is its reset slot. The vectors are made
 * live with VBAR where the core has it (Cortex-A15) and by clearing SCTLR.V
 * (low vectors at 0) otherwise (Cortex-R5, linked at 0). Banked stacks: IRQ
 * mode gets its own, the fault modes use the top of RAM (fault_common), SVC
 * runs the application. */
    .syntax unified
    .arm
    .section .text.start, "ax"
    .global _start
    .global vector_table
    .balign 32
vector_table:
_start:
    b       reset_handler           /* 0x00 reset */
    b       undef_entry             /* 0x04 undefined instruction */
    b       svc_entry               /* 0x08 SVC (not semihosting's: QEMU takes that) */
    b       pabort_entry            /* 0x0C prefetch abort */
    b       dabort_entry            /* 0x10 data abort */
    b       .                       /* 0x14 reserved */
    b       irq_entry               /* 0x18 IRQ */
    b       fiq_entry               /* 0x1C FIQ */

reset_handler:
    cpsid   aif
    ldr     r0, =vector_table
#ifdef A32_HAS_VBAR
    mcr     p15, 0, r0, c12, c0, 0  /* VBAR */
#endif
    mrc     p15, 0, r0, c1, c0, 0   /* SCTLR */
    bic     r0, r0, #(1 << 13)      /* V = 0: vectors at 0 / VBAR */
    bic     r0, r0, #(1 << 1)       /* A = 0: no alignment checking */
    mcr     p15, 0, r0, c1, c0, 0
    isb
    cps     #0x12                   /* IRQ mode */
    ldr     sp, =_irq_stack_top
    cps     #0x13                   /* SVC mode */
    ldr     sp, =_estack

    ldr     r0, =_sidata
    ldr     r1, =_sdata
    ldr     r2, =_edata
1:  cmp     r1, r2
    ldrlo   r3, [r0], #4
    strlo   r3, [r1], #4
    blo     1b
    ldr     r1, =_sbss
    ldr     r2, =_ebss
    mov     r3, #0
2:  cmp     r1, r2
    strlo   r3, [r1], #4
    blo     2b
    bl      main
    mov     r0, #1                  /* main() must not return */
    bl      sh_exit
    .ltorg

/* IRQ: lr_irq = interrupted instruction + 4. */
irq_entry:
    sub     lr, lr, #4
    push    {r0-r3, r12, lr}
    bl      irq_handler
    ldm     sp!, {r0-r3, r12, pc}^  /* also restores CPSR from SPSR */

/* Faults: r0 = the vector's offset, r1 = lr of the exception mode, then
 * fault_handler(offset, lr) on a fresh stack (sp may be garbage). */
undef_entry:
    mov     r0, #0x04
    b       fault_common
svc_entry:
    mov     r0, #0x08
    b       fault_common
pabort_entry:
    mov     r0, #0x0C
    b       fault_common
dabort_entry:
    mov     r0, #0x10
    b       fault_common
fiq_entry:
    mov     r0, #0x1C
fault_common:
    mov     r1, lr
    ldr     sp, =_estack
    b       fault_handler
    .ltorg
