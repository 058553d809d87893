/* What the plugin needs to know about each guest architecture: its core registers as gdb numbers
 * them, the program counter, instruction alignment, and which stores are exclusive. */
#ifndef QF_ARCH_H
#define QF_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qf_reg {
    int gdb;                /* number in the architecture's gdb core feature */
    unsigned bytes;
    const char *names[3];   /* as gdb's target descriptions spell it (the public API looks up names) */
};

struct qf_arch {
    const char *target;     /* QEMU's target name */
    const struct qf_reg *regs;
    unsigned nregs;
    const struct qf_reg *pc;
    unsigned insn_align;    /* armed pcs must be multiples of this */
    uint64_t addr_max;
    /* Re-executing this instruction would not repeat its effect (a store-exclusive fails). */
    bool (*store_exclusive)(const uint8_t *insn, size_t len);
};

/* The architecture of QEMU's target, or NULL if the plugin does not know it. */
const struct qf_arch *arch_for(const char *target);

#endif
