/* Instruction-skip targets, in assembly so the bytes do not depend on the
 * compiler. Both return 1 if entered == pin_secret, else 0. No linker
 * relaxation here (.option norelax), so `la` stays auipc+addi.
 *
 *   int check_pin(uint32_t entered)       auth_check_branch = c.bnez, 2 bytes
 *   int check_pin_wide(uint32_t entered)  auth_check_branch_wide = bne, 4 bytes
 *
 * Skipping the branch (pc += its size) makes a wrong PIN fall through to
 * "granted". app.c calls check_pin, or check_pin_wide when auth_variant = 1. */
    .option push
    .option norelax

    .section .text.check_pin, "ax"
    .global check_pin
    .type   check_pin, @function
check_pin:
    la      a5, pin_secret          /* +0  auipc, +4 addi (4 bytes each) */
    c.lw    a5, 0(a5)               /* +8  2 bytes */
    c.sub   a0, a5                  /* +10 2 bytes: 0 iff equal */
    .global auth_check_branch
auth_check_branch:
    c.bnez  a0, 1f                  /* +12 2 bytes: SKIP THIS ONE */
    c.li    a0, 1                   /* +14 granted */
    c.jr    ra
1:  c.li    a0, 0                   /* denied */
    c.jr    ra
    .size   check_pin, . - check_pin

    .section .text.check_pin_wide, "ax"
    .option push
    .option norvc
    .global check_pin_wide
    .type   check_pin_wide, @function
check_pin_wide:
    la      a5, pin_secret          /* +0  auipc, +4 addi */
    lw      a5, 0(a5)               /* +8 */
    .global auth_check_branch_wide
auth_check_branch_wide:
    bne     a0, a5, 1f              /* +12 4 bytes: SKIP THIS ONE */
    li      a0, 1                   /* +16 granted */
    ret
1:  li      a0, 0                   /* denied */
    ret
    .size   check_pin_wide, . - check_pin_wide
    .option pop

    .option pop
