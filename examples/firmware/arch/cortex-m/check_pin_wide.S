/* The 4-byte variant of the instruction-skip target (Thumb-2, ARMv7-M and
 * ARMv8-M mainline): int check_pin_wide(uint32_t entered), 1 if
 * entered == pin_secret. Used by app.c when auth_variant = 1, on the boards
 * that link it (CHECK_PIN_WIDE in board.mk). Skipping the branch (PC :=
 * auth_check_branch_wide + 4) makes a wrong PIN fall through to "granted". */
    .syntax unified
    .thumb
    .section .text.check_pin_wide, "ax", %progbits

    .global check_pin_wide
    .type   check_pin_wide, %function
    .thumb_func
check_pin_wide:
    ldr     r1, =pin_secret         @ +0 (2 bytes)
    ldr     r1, [r1]                @ +2 (2 bytes)
    cmp     r0, r1                  @ +4 (2 bytes)
    .global auth_check_branch_wide
auth_check_branch_wide:
    bne.w   1f                      @ +6: 32-bit, SKIP THIS ONE
    movs    r0, #1                  @ +10 granted
    bx      lr
1:  movs    r0, #0                  @ denied
    bx      lr
    .size   check_pin_wide, . - check_pin_wide
    .pool
