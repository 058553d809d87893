/* The trigger table (see triggers.h). */
#include "triggers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static struct trigger *g_trig;
static size_t g_count, g_cap;   /* slots in use (some may be TRIG_NONE), allocated */
static size_t g_live;           /* armed triggers */
static uint64_t g_next_insn = UINT64_MAX;
static int g_stale;

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

struct trigger *trig_add_locked(enum trig_kind kind, const char *token)
{
    struct trigger *t = NULL;
    if (g_live < g_count) {
        for (size_t i = 0; i < g_count && !t; i++)
            if (g_trig[i].kind == TRIG_NONE) t = &g_trig[i];
    } else {
        if (g_count == g_cap) {
            size_t cap = g_cap ? g_cap * 2 : 64;
            struct trigger *grown = realloc(g_trig, cap * sizeof(*grown));
            if (!grown) return NULL;
            g_trig = grown;
            g_cap = cap;
        }
        t = &g_trig[g_count++];
    }
    if (!t) return NULL;
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    t->cpu = -1;
    snprintf(t->token, TOKEN_LEN, "%s", token);
    g_live++;
    return t;
}

static void drop(struct trigger *t)
{
    t->kind = TRIG_NONE;
    g_live--;
}

unsigned trig_disarm_locked(const char *token)
{
    unsigned n = 0;
    for (size_t i = 0; i < g_count; i++)
        if (g_trig[i].kind != TRIG_NONE && !strcmp(g_trig[i].token, token)) {
            drop(&g_trig[i]);
            n++;
        }
    return n;
}

void trig_clear_locked(void)
{
    g_count = g_live = 0;
}

void trig_changed_locked(void)
{
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < g_count; i++)
        if (g_trig[i].kind == TRIG_INSN && g_trig[i].value < next) next = g_trig[i].value;
    /* the table is compacted when it is mostly holes, so scans stay proportional to what is armed */
    if (g_count > 64 && g_live < g_count / 4) {
        size_t k = 0;
        for (size_t i = 0; i < g_count; i++)
            if (g_trig[i].kind != TRIG_NONE) g_trig[k++] = g_trig[i];
        g_count = k;
    }
    STORE(g_next_insn, next);
    STORE(g_stale, 1);
}

static bool on_cpu(const struct trigger *t, unsigned vcpu) { return t->cpu < 0 || (unsigned)t->cpu == vcpu; }

int trig_collect_locked(unsigned vcpu, uint64_t count, uint64_t pc, bool pcs, struct strbuf *tokens)
{
    int hits = 0;
    bool changed = false;
    for (size_t i = 0; i < g_count; i++) {
        struct trigger *t = &g_trig[i];
        bool fire = false;
        if (t->kind == TRIG_INSN && t->value == count) fire = true;
        if (t->kind == TRIG_PC && t->value == pc && pcs && on_cpu(t, vcpu)) {
            if (t->skip > 0) t->skip--;
            else fire = true;
        }
        if (!fire) continue;
        sb_add_token(tokens, t->token);
        if (!t->keep) {
            drop(t);
            changed = true;
        }
        hits++;
    }
    if (changed) trig_changed_locked();
    return hits;
}

int trig_collect_watch_locked(unsigned vcpu, uint64_t addr, unsigned size, int bit, struct strbuf *tokens)
{
    int hits = 0;
    for (size_t i = 0; i < g_count; i++) {
        struct trigger *t = &g_trig[i];
        if (t->kind != TRIG_WATCH || !(t->rw & bit) || !on_cpu(t, vcpu)) continue;
        if (!(addr < t->value + t->len && addr + size > t->value)) continue;
        if (t->skip > 0) {
            t->skip--;
            continue;
        }
        sb_add_token(tokens, t->token);
        hits++;
    }
    return hits;
}

void trig_drop_missed_locked(uint64_t next, uint64_t count)
{
    for (size_t i = 0; i < g_count; i++) {
        if (g_trig[i].kind == TRIG_INSN && g_trig[i].value == next) {
            send_line("! miss %s %" PRIu64, g_trig[i].token, count);
            drop(&g_trig[i]);
        }
    }
    trig_changed_locked();
}

bool trig_pc_armed_locked(uint64_t pc)
{
    for (size_t i = 0; i < g_count; i++)
        if (g_trig[i].kind == TRIG_PC && g_trig[i].value == pc) return true;
    return false;
}

uint64_t trig_next_insn(void) { return LOAD(g_next_insn); }
bool trig_view_stale(void) { return LOAD(g_stale); }
void trig_view_synced(void) { STORE(g_stale, 0); }

void trig_each_locked(void (*visit)(const struct trigger *t, void *ctx), void *ctx)
{
    for (size_t i = 0; i < g_count; i++)
        if (g_trig[i].kind != TRIG_NONE) visit(&g_trig[i], ctx);
}
