/* The vCPU thread's view of the armed pcs and watch ranges (see view.h). */
#include "view.h"

#include <stdlib.h>
#include <string.h>

#include "triggers.h"

struct view v;

static size_t slot_of(const struct pc_set *s, uint64_t pc)
{
    uint64_t h = pc * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (s->cap - 1);
}

bool pc_set_has(const struct pc_set *s, uint64_t pc)
{
    if (!s->n) return false;
    for (size_t i = slot_of(s, pc);; i = (i + 1) & (s->cap - 1)) {
        if (s->slots[i] == pc) return true;
        if (s->slots[i] == UINT64_MAX) return false;
    }
}

static void set_grow(struct pc_set *s)
{
    struct pc_set bigger = {malloc(sizeof(uint64_t) * (s->cap ? s->cap * 2 : 64)), s->cap ? s->cap * 2 : 64, 0};
    if (!bigger.slots) abort(); /* nowhere to report it from the vCPU thread */
    memset(bigger.slots, 0xff, sizeof(uint64_t) * bigger.cap);
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i] != UINT64_MAX) pc_set_add(&bigger, s->slots[i]);
    free(s->slots);
    *s = bigger;
}

void pc_set_add(struct pc_set *s, uint64_t pc)
{
    if (pc == UINT64_MAX) return; /* not a pc any guest can execute */
    if ((s->n + 1) * 2 > s->cap) set_grow(s);
    size_t i = slot_of(s, pc);
    while (s->slots[i] != UINT64_MAX) {
        if (s->slots[i] == pc) return;
        i = (i + 1) & (s->cap - 1);
    }
    s->slots[i] = pc;
    s->n++;
}

void pc_set_clear(struct pc_set *s)
{
    if (s->slots) memset(s->slots, 0xff, sizeof(uint64_t) * s->cap);
    s->n = 0;
}

static unsigned filter_bit(uint64_t pc) { return (unsigned)(pc >> 1) & 255; }

struct rebuild {
    struct pc_set *old, *added;
};

static void visit(const struct trigger *t, void *ctx)
{
    struct rebuild *r = ctx;
    if (t->kind == TRIG_PC) {
        if (pc_set_has(&v.pcs, t->value)) return;
        pc_set_add(&v.pcs, t->value);
        unsigned b = filter_bit(t->value);
        v.filter[b >> 6] |= 1ull << (b & 63);
        if (!pc_set_has(r->old, t->value)) pc_set_add(r->added, t->value);
    } else if (t->kind == TRIG_WATCH) {
        if (v.nw == v.wcap) {
            v.wcap = v.wcap ? v.wcap * 2 : 16;
            v.w = realloc(v.w, v.wcap * sizeof(*v.w));
            if (!v.w) abort();
        }
        v.w[v.nw++] = (struct watch_range){t->value, t->value + t->len, t->rw};
        v.watch_rw |= t->rw;
    } else if (t->kind == TRIG_TRACE) {
        if (v.ntr == v.trcap) {
            v.trcap = v.trcap ? v.trcap * 2 : 4;
            v.tr = realloc(v.tr, v.trcap * sizeof(*v.tr));
            if (!v.tr) abort();
        }
        struct trace_range *tr = &v.tr[v.ntr++];
        *tr = (struct trace_range){t->value, t->value + t->len, t->cpu, {0}};
        memcpy(tr->token, t->token, sizeof(tr->token));
    }
}

void view_rebuild(struct pc_set *added)
{
    static struct pc_set old;
    /* old <- current pcs, then rebuild the current set from the table */
    struct pc_set cur = v.pcs;
    v.pcs = old;
    old = cur;
    pc_set_clear(&v.pcs);
    pc_set_clear(added);
    memset(v.filter, 0, sizeof(v.filter));
    v.nw = 0;
    v.watch_rw = 0;
    v.ntr = 0;
    struct rebuild r = {&old, added};
    pthread_mutex_lock(&g_lock);
    trig_view_synced();
    trig_each_locked(visit, &r);
    pthread_mutex_unlock(&g_lock);
}

bool view_pc_maybe(uint64_t pc)
{
    unsigned b = filter_bit(pc);
    return (v.filter[b >> 6] >> (b & 63)) & 1;
}

bool view_pc_armed(uint64_t pc) { return view_pc_maybe(pc) && pc_set_has(&v.pcs, pc); }

uint64_t view_first_pc_in(uint64_t lo, uint64_t hi)
{
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i < v.pcs.cap; i++) {
        uint64_t pc = v.pcs.slots[i];
        if (pc != UINT64_MAX && pc > lo && pc <= hi && pc < best) best = pc;
    }
    return best;
}

bool view_watch_match(uint64_t addr, unsigned size, int bit)
{
    for (size_t i = 0; i < v.nw; i++)
        if ((v.w[i].rw & bit) && addr < v.w[i].hi && addr + size > v.w[i].lo) return true;
    return false;
}

bool view_traced(uint64_t pc)
{
    for (size_t i = 0; i < v.ntr; i++)
        if (pc >= v.tr[i].lo && pc < v.tr[i].hi) return true;
    return false;
}

uint64_t view_trace_digest(void)
{
    uint64_t h = v.ntr;
    for (size_t i = 0; i < v.ntr; i++) h = h * 0x100000001B3ull ^ v.tr[i].lo ^ (v.tr[i].hi << 1);
    return h;
}
