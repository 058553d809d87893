/*
 * Freezes at a guest time: one timer on QEMU_CLOCK_VIRTUAL (internals). Under -icount the vCPU's
 * instruction budget ends exactly at the first instruction boundary at or after the armed time, or
 * an idle warp stops exactly there; the timer only notes it, and the next block start freezes
 * (that block is entered from the cpu loop, so the CPU state, pc included, is exact there).
 */
#ifndef QF_VTIME_H
#define QF_VTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol.h"

/* The timer ran and no block start has frozen for it yet (fast path, no lock). */
bool vtime_pending(void);
/* Takes a pending timer's freeze (g_lock held): adds its token, and `v=<ns> vt=...` to `extra`. */
bool vtime_take_locked(struct strbuf *tokens, struct strbuf *extra);
/* Arms the one timer (replacing an armed one); false with `why` if `ns` is not in the future. */
bool vtime_arm(const char *token, int64_t ns, char *why, size_t why_len);
/* Cancels the timer if it has this token (any token with NULL); returns whether it did. */
bool vtime_disarm(const char *token);

#endif
