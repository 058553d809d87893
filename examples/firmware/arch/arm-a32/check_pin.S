/* Instruction-skip target, in assembly so the bytes do not depend on the
 * compiler. int check_pin(uint32_t entered): 1 if entered == pin_secret.
 * ARM (A32) state: every instruction is 4 bytes; skipping the branch
 * (pc := auth_check_branch + 4) makes a wrong PIN fall through to "granted". */
    .syntax unified
    .arm
    .section .text.check_pin, "ax"
    .global check_pin
    .type   check_pin, %function
    .balign 4
check_pin:
    ldr     r1, =pin_secret         /* +0 */
    ldr     r1, [r1]                /* +4 */
    cmp     r0, r1                  /* +8 */
    .global auth_check_branch
auth_check_branch:
    bne     1f                      /* +12: SKIP THIS ONE */
    mov     r0, #1                  /* +16 granted */
    bx      lr
1:  mov     r0, #0                  /* denied */
    bx      lr
    .size   check_pin, . - check_pin
    .pool
