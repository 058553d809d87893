/* Per-architecture tables (see arch.h). Register numbers and names follow QEMU's gdb-xml files. */
#include "arch.h"

#include <string.h>

#define R(n, b, ...) {n, b, {__VA_ARGS__, NULL}}

static uint32_t word(const uint8_t *d) { return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24; }

/* ------------------------------------------------------------------------------------------ */
/* 32-bit ARM: M, R and A profiles, ARM and Thumb state                                        */
/* ------------------------------------------------------------------------------------------ */

static const struct qf_reg arm_regs[] = {
    R(0, 4, "r0"),   R(1, 4, "r1"),   R(2, 4, "r2"),   R(3, 4, "r3"),  R(4, 4, "r4"),  R(5, 4, "r5"),
    R(6, 4, "r6"),   R(7, 4, "r7"),   R(8, 4, "r8"),   R(9, 4, "r9"),  R(10, 4, "r10"), R(11, 4, "r11"),
    R(12, 4, "r12"), R(13, 4, "sp"),  R(14, 4, "lr"),  R(15, 4, "pc"), R(25, 4, "xpsr", "cpsr"),
};

static bool arm_store_exclusive(const uint8_t *d, size_t len)
{
    if (len != 4) return false;
    uint16_t hw1 = (uint16_t)(d[0] | d[1] << 8);
    /* Thumb-2: STREX 0xE84x; STREXB/H/D and STL*X 0xE8Cx (the loads are 0xE85x / 0xE8Dx) */
    if ((hw1 & 0xFFF0) == 0xE840 || (hw1 & 0xFFF0) == 0xE8C0) return true;
    /* A32: STREX/STREXD/STREXB/STREXH and their STLEX forms (bits 27:23 = 00011, 20 = 0, 7:4 = 1001) */
    uint32_t w = word(d);
    return (w & 0x0F9000F0) == 0x01800090 && (w & 0x0E00) == 0x0E00;
}

/* ------------------------------------------------------------------------------------------ */
/* AArch64                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static const struct qf_reg aarch64_regs[] = {
    R(0, 8, "x0"),   R(1, 8, "x1"),   R(2, 8, "x2"),   R(3, 8, "x3"),   R(4, 8, "x4"),   R(5, 8, "x5"),
    R(6, 8, "x6"),   R(7, 8, "x7"),   R(8, 8, "x8"),   R(9, 8, "x9"),   R(10, 8, "x10"), R(11, 8, "x11"),
    R(12, 8, "x12"), R(13, 8, "x13"), R(14, 8, "x14"), R(15, 8, "x15"), R(16, 8, "x16"), R(17, 8, "x17"),
    R(18, 8, "x18"), R(19, 8, "x19"), R(20, 8, "x20"), R(21, 8, "x21"), R(22, 8, "x22"), R(23, 8, "x23"),
    R(24, 8, "x24"), R(25, 8, "x25"), R(26, 8, "x26"), R(27, 8, "x27"), R(28, 8, "x28"), R(29, 8, "x29"),
    R(30, 8, "x30"), R(31, 8, "sp"),  R(32, 8, "pc"),  R(33, 4, "cpsr"),
};

/* STXR, STLXR, STXP, STLXP (size:001000:o2=0:L=0) */
static bool aarch64_store_exclusive(const uint8_t *d, size_t len) { return len == 4 && (word(d) & 0x3FC00000) == 0x08000000; }

/* ------------------------------------------------------------------------------------------ */
/* RISC-V                                                                                     */
/* ------------------------------------------------------------------------------------------ */

#define RISCV_REGS(b)                                                                                                  \
    {                                                                                                                  \
        R(0, b, "zero"), R(1, b, "ra"),  R(2, b, "sp"),   R(3, b, "gp"),   R(4, b, "tp"),  R(5, b, "t0"),  R(6, b, "t1"), \
        R(7, b, "t2"),   R(8, b, "fp"),  R(9, b, "s1"),   R(10, b, "a0"),  R(11, b, "a1"), R(12, b, "a2"), R(13, b, "a3"), \
        R(14, b, "a4"),  R(15, b, "a5"), R(16, b, "a6"),  R(17, b, "a7"),  R(18, b, "s2"), R(19, b, "s3"), R(20, b, "s4"), \
        R(21, b, "s5"),  R(22, b, "s6"), R(23, b, "s7"),  R(24, b, "s8"),  R(25, b, "s9"), R(26, b, "s10"),               \
        R(27, b, "s11"), R(28, b, "t3"), R(29, b, "t4"),  R(30, b, "t5"),  R(31, b, "t6"), R(32, b, "pc"),                \
    }
static const struct qf_reg riscv32_regs[] = RISCV_REGS(4);
static const struct qf_reg riscv64_regs[] = RISCV_REGS(8);

/* SC.W / SC.D: AMO opcode with funct5 00011 (a compressed instruction is never one) */
static bool riscv_store_exclusive(const uint8_t *d, size_t len) { return len == 4 && (word(d) & 0xF800007F) == 0x1800002F; }

/* ------------------------------------------------------------------------------------------ */

#define N(a) (sizeof(a) / sizeof((a)[0]))
static const struct qf_arch arches[] = {
    {"arm", arm_regs, N(arm_regs), &arm_regs[15], 2, 0xffffffffull, arm_store_exclusive},
    {"aarch64", aarch64_regs, N(aarch64_regs), &aarch64_regs[32], 4, UINT64_MAX, aarch64_store_exclusive},
    {"riscv32", riscv32_regs, N(riscv32_regs), &riscv32_regs[32], 2, 0xffffffffull, riscv_store_exclusive},
    {"riscv64", riscv64_regs, N(riscv64_regs), &riscv64_regs[32], 2, UINT64_MAX, riscv_store_exclusive},
};

const struct qf_arch *arch_for(const char *target)
{
    for (size_t i = 0; i < N(arches); i++)
        if (target && !strcmp(arches[i].target, target)) return &arches[i];
    return NULL;
}
