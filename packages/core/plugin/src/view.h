/*
 * The vCPU thread's private copy of the armed pcs and watch ranges, rebuilt from the trigger table
 * when it changed: lookups on the fast paths take no lock. A 256-bit filter on the pc keeps the
 * common "not armed" answer to one load.
 */
#ifndef QF_VIEW_H
#define QF_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc_set {
    uint64_t *slots; /* open addressing; UINT64_MAX marks an empty slot */
    size_t cap, n;
};

struct watch_range {
    uint64_t lo, hi; /* [lo, hi) */
    int rw;
};

struct trace_range {
    uint64_t lo, hi; /* [lo, hi) */
    int cpu;         /* or -1 */
    char token[48];
};

struct view {
    struct pc_set pcs;
    uint64_t filter[4];
    struct watch_range *w;
    size_t nw, wcap;
    int watch_rw; /* access kinds any armed watchpoint wants (0: none) */
    struct trace_range *tr;
    size_t ntr, trcap;
};

extern struct view v;

/* Rebuilds the view from the trigger table; `added` receives the pcs armed since the last build. */
void view_rebuild(struct pc_set *added);
bool view_pc_maybe(uint64_t pc);
bool view_pc_armed(uint64_t pc);
/* The smallest armed pc in (lo, hi], or UINT64_MAX. */
uint64_t view_first_pc_in(uint64_t lo, uint64_t hi);
bool view_watch_match(uint64_t addr, unsigned size, int bit);
/* Whether `pc` is in a traced range. */
bool view_traced(uint64_t pc);
/* A digest of the traced ranges, to tell when they changed (blocks must then be re-instrumented). */
uint64_t view_trace_digest(void);

void pc_set_clear(struct pc_set *s);
bool pc_set_has(const struct pc_set *s, uint64_t pc);
void pc_set_add(struct pc_set *s, uint64_t pc);

#endif
