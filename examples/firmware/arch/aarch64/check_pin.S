/* Instruction-skip target, in assembly so the bytes do not depend on the
 * compiler. int check_pin(uint32_t entered): 1 if entered == pin_secret.
 * Every A64 instruction is 4 bytes: skipping the branch (pc := auth_check_branch
 * + 4) makes a wrong PIN fall through to "granted". */
    .section .text.check_pin, "ax"
    .global check_pin
    .type   check_pin, %function
    .balign 4
check_pin:
    adrp    x1, pin_secret          /* +0 */
    ldr     w1, [x1, #:lo12:pin_secret] /* +4 */
    cmp     w0, w1                  /* +8 */
    .global auth_check_branch
auth_check_branch:
    b.ne    1f                      /* +12: SKIP THIS ONE */
    mov     w0, #1                  /* +16 granted */
    ret
1:  mov     w0, #0                  /* denied */
    ret
    .size   check_pin, . - check_pin
