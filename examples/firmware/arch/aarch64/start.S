/* AArch64 entry at EL1 (QEMU's -kernel starts a bare-metal ELF at its entry
 * in EL1h, MMU and caches off, when the CPU has no EL2/EL3 enabled). Copies
 * .data, zeroes .bss, installs the vector table and calls main(). Only CPU 0
 * runs; QEMU keeps the others powered off (PSCI). */
    .section .text.start, "ax"
    .global _start
    .type   _start, %function
_start:
    msr     daifset, #0xf
    ldr     x0, =_estack
    mov     sp, x0
    adr     x0, vector_table
    msr     vbar_el1, x0
    isb
    ldr     x0, =_sidata
    ldr     x1, =_sdata
    ldr     x2, =_edata
1:  cmp     x1, x2
    b.hs    2f
    ldr     w3, [x0], #4
    str     w3, [x1], #4
    b       1b
2:  ldr     x1, =_sbss
    ldr     x2, =_ebss
3:  cmp     x1, x2
    b.hs    4f
    str     wzr, [x1], #4
    b       3b
4:  bl      main
    mov     w0, #1                  /* main() must not return */
    bl      sh_exit
    .size   _start, . - _start
    .ltorg

/* VBAR_EL1: 16 entries of 0x80 bytes. We run at EL1 with SP_EL1 (EL1h), so
 * the "current EL with SPx" group is the live one: IRQ -> irq_entry, every
 * synchronous exception (and anything unexpected) -> fault_entry. */
    .macro  vec target, kind
    .balign 0x80
    mov     x0, #\kind
    b       \target
    .endm
    .macro  irqvec
    .balign 0x80
    b       irq_entry
    .endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global vector_table
vector_table:
    vec     fault_entry, 0x0        /* current EL, SP0: sync */
    vec     fault_entry, 0x1        /*                  IRQ */
    vec     fault_entry, 0x2        /*                  FIQ */
    vec     fault_entry, 0x3        /*                  SError */
    vec     fault_entry, 0x10       /* current EL, SPx: sync */
    irqvec                          /*                  IRQ */
    vec     fault_entry, 0x12       /*                  FIQ */
    vec     fault_entry, 0x13       /*                  SError */
    vec     fault_entry, 0x20       /* lower EL, A64 */
    vec     fault_entry, 0x21
    vec     fault_entry, 0x22
    vec     fault_entry, 0x23
    vec     fault_entry, 0x30       /* lower EL, A32 */
    vec     fault_entry, 0x31
    vec     fault_entry, 0x32
    vec     fault_entry, 0x33

/* A fault: the stack may be garbage. Fresh stack, then
 * fault_handler(kind, esr, elr, far) prints and exits with code 6. */
    .balign 4
fault_entry:
    ldr     x1, =_estack
    mov     sp, x1
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    b       fault_handler

/* IRQ: save the caller-saved registers, irq_handler(), restore, eret. */
irq_entry:
    sub     sp, sp, #(24 * 8)
    stp     x0, x1, [sp, #(0 * 16)]
    stp     x2, x3, [sp, #(1 * 16)]
    stp     x4, x5, [sp, #(2 * 16)]
    stp     x6, x7, [sp, #(3 * 16)]
    stp     x8, x9, [sp, #(4 * 16)]
    stp     x10, x11, [sp, #(5 * 16)]
    stp     x12, x13, [sp, #(6 * 16)]
    stp     x14, x15, [sp, #(7 * 16)]
    stp     x16, x17, [sp, #(8 * 16)]
    stp     x18, x29, [sp, #(9 * 16)]
    mrs     x0, elr_el1
    mrs     x1, spsr_el1
    stp     x30, x0, [sp, #(10 * 16)]
    str     x1, [sp, #(11 * 16)]
    bl      irq_handler
    ldr     x1, [sp, #(11 * 16)]
    ldp     x30, x0, [sp, #(10 * 16)]
    msr     spsr_el1, x1
    msr     elr_el1, x0
    ldp     x18, x29, [sp, #(9 * 16)]
    ldp     x16, x17, [sp, #(8 * 16)]
    ldp     x14, x15, [sp, #(7 * 16)]
    ldp     x12, x13, [sp, #(6 * 16)]
    ldp     x10, x11, [sp, #(5 * 16)]
    ldp     x8, x9, [sp, #(4 * 16)]
    ldp     x6, x7, [sp, #(3 * 16)]
    ldp     x4, x5, [sp, #(2 * 16)]
    ldp     x2, x3, [sp, #(1 * 16)]
    ldp     x0, x1, [sp, #(0 * 16)]
    add     sp, sp, #(24 * 8)
    eret
    .ltorg
