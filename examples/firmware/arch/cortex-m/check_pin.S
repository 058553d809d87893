/* Instruction-skip target, written in assembly so the exact instruction
 * sequence does not depend on the compiler version or flags.
 *
 *   int check_pin(uint32_t entered);   returns 1 if entered == pin_secret
 *
 * The conditional branch at `auth_check_branch` is ONE 16-bit Thumb
 * instruction (bne.n). Skipping it (PC := auth_check_branch + 2) makes a
 * mismatching PIN fall through to the "granted" path.
 */
    .syntax unified
    .thumb
    .text
    .section .text.check_pin, "ax", %progbits

    .global check_pin
    .type   check_pin, %function
    .thumb_func
check_pin:
    ldr     r1, =pin_secret
    ldr     r1, [r1]
    cmp     r0, r1
    .global auth_check_branch        /* plain label: value is the exact, even address */
auth_check_branch:
    bne.n   1f                       /* mismatch -> denied (16-bit, the skip target) */
    movs    r0, #1                   /* granted */
    bx      lr
1:
    movs    r0, #0                   /* denied */
    bx      lr
    .size   check_pin, . - check_pin
    .pool
