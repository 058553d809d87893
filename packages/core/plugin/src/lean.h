/*
 * Lean blocks: while nothing but guest-time timers is armed, blocks are translated without the
 * block-start callback, which is most of the plugin's cost (DESIGN.md, Q1). The way back to checked
 * blocks goes through one-instruction blocks, which always carry the callback, until a flush has
 * dropped every lean block; a timer that fires takes one such block to freeze at. Needs the
 * one-instruction switch and the flush from QEMU's internals; without them every block is checked.
 *
 * This module also owns QEMU's one-instruction switch, which several reasons share.
 */
#ifndef QF_LEAN_H
#define QF_LEAN_H

#include <stdbool.h>

enum one_insn_reason {
    ONE_INSN_PRECISE = 1, /* an instruction target is near (exec.c) */
    ONE_INSN_UNFLUSHED = 2, /* left lean: lean blocks may still be cached */
    ONE_INSN_VTIME = 4, /* a guest-time timer fired: freeze at the next block start */
};

void lean_init(bool supported);
bool lean_supported(void);
/* Whether blocks are lean now, and how many times they went lean and back (for tests and diagnostics). */
bool lean_stats(unsigned *entered, unsigned *left);
/* Sets or clears one reason for one-instruction blocks (the switch is on while any reason is). */
void lean_one_insn(enum one_insn_reason why, bool on);
/* Translation: whether this block may go without the block-start callback. */
bool lean_block_bare(void);
/* Any thread: something armed needs every block start checked. */
void lean_leave(void);
/* A guest-time timer fired (the vCPU thread between blocks, or the main thread while it idles). */
void lean_vtime_fired(void);
/* Block start, vCPU thread: `idle` when nothing is armed but timers and nothing is pending;
 * `vtime_pending` whether a fired timer still waits for its freeze. */
void lean_block_start(unsigned vcpu, bool idle, bool vtime_pending);
/* Every block was dropped (QEMU's flush callback). */
void lean_flushed(void);

#endif
