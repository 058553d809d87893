/*
 * The trigger table: what Node armed (instruction, pc and watch triggers), grown on demand, and
 * the decisions that read it (which triggers fire at a point). Shared by the reader thread and the
 * vCPU thread under `g_lock`. The vCPU thread's fast paths use a private copy (view.h).
 */
#ifndef QF_TRIGGERS_H
#define QF_TRIGGERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "protocol.h"

enum trig_kind { TRIG_NONE, TRIG_INSN, TRIG_PC, TRIG_WATCH, TRIG_TRACE };

struct trigger {
    enum trig_kind kind;
    char token[TOKEN_LEN];
    uint64_t value; /* instruction index, pc, watch address or start of the traced range */
    uint64_t len;   /* watch and trace: bytes */
    uint64_t skip;  /* pc and watch: matching executions/accesses to let pass first */
    int rw;         /* watch: 1 read, 2 write, 3 both */
    int cpu;        /* fires on this vCPU only, or -1 on any */
    bool keep;      /* stays armed after firing (watchpoints always do) */
};

extern pthread_mutex_t g_lock;

/* All with g_lock held. */
struct trigger *trig_add_locked(enum trig_kind kind, const char *token); /* NULL when out of memory */
unsigned trig_disarm_locked(const char *token);
void trig_clear_locked(void);
/* Call after every change: recomputes the nearest instruction target and marks the view stale. */
void trig_changed_locked(void);
/* Instruction and pc triggers firing before instruction `count` at `pc` on `vcpu`; pc triggers only
 * when `pcs` (not at the point a block restart came from). Returns how many fired. */
int trig_collect_locked(unsigned vcpu, uint64_t count, uint64_t pc, bool pcs, struct strbuf *tokens);
/* Watch triggers firing for this access; returns how many. */
int trig_collect_watch_locked(unsigned vcpu, uint64_t addr, unsigned size, int bit, struct strbuf *tokens);
/* Drops instruction targets at `next` that can no longer be reached exactly (sends `miss`). */
void trig_drop_missed_locked(uint64_t next, uint64_t count);
/* Whether a pc trigger at `pc` is armed (for hooks planted at translation). */
bool trig_pc_armed_locked(uint64_t pc);

/* Read without the lock by the vCPU thread's fast path. */
uint64_t trig_next_insn(void);   /* nearest instruction target, UINT64_MAX if none */
bool trig_view_stale(void);      /* the table changed since the view was last built */
void trig_view_synced(void);

/* Visits every armed trigger (g_lock held), e.g. to build the view. */
void trig_each_locked(void (*visit)(const struct trigger *t, void *ctx), void *ctx);

#endif
