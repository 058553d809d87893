/* Lean blocks (see lean.h). */
#include "lean.h"

#include <pthread.h>

#include "internals.h"
#include "triggers.h"

/* Block starts in a row with nothing to do before blocks go lean: a test arming and disarming
 * triggers now and then does not pay a flush each time. */
#define LEAN_AFTER 1024

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER; /* transitions; fast paths only load */
static bool g_supported;
static int g_lean;      /* blocks translated now go without the block-start callback */
static int g_unflushed; /* left lean, and no flush has dropped the lean blocks yet */
static int g_reasons;   /* enum one_insn_reason bits */
static bool g_flush_asked; /* vCPU thread */
static unsigned g_entered, g_left; /* times blocks went lean, and back (diagnostics) */
static unsigned g_idle;    /* vCPU thread */

void lean_init(bool supported) { g_supported = supported; }

bool lean_supported(void) { return g_supported; }

bool lean_stats(unsigned *entered, unsigned *left)
{
    pthread_mutex_lock(&g_mutex);
    bool now = g_lean;
    *entered = g_entered;
    *left = g_left;
    pthread_mutex_unlock(&g_mutex);
    return now;
}

static void set_reason_locked(enum one_insn_reason why, bool on)
{
    int was = g_reasons;
    STORE(g_reasons, on ? was | (int)why : was & ~(int)why);
    if (!was != !g_reasons) qi_set_one_insn(g_reasons != 0);
}

void lean_one_insn(enum one_insn_reason why, bool on)
{
    pthread_mutex_lock(&g_mutex);
    set_reason_locked(why, on);
    pthread_mutex_unlock(&g_mutex);
}

/* One-instruction blocks always get the callback: they are how lean mode reaches a freeze. Reasons
 * are only cleared on the vCPU thread, which is also the one translating, so a one-instruction
 * block is never translated bare. */
bool lean_block_bare(void) { return LOAD(g_lean) && !LOAD(g_reasons); }

void lean_leave(void)
{
    if (!g_supported) return;
    pthread_mutex_lock(&g_mutex); /* whether lean or not: see lean_block_start */
    bool left = g_lean;
    if (left) {
        g_left++;
        STORE(g_lean, 0);
        STORE(g_unflushed, 1);
        set_reason_locked(ONE_INSN_UNFLUSHED, true);
    }
    pthread_mutex_unlock(&g_mutex);
    if (left) qi_kick_all(); /* a running vCPU leaves its chain of lean blocks now */
}

void lean_vtime_fired(void)
{
    if (!g_supported) return;
    /* Also when blocks are checked: a lean switch may be on its way, and one block is cheap. */
    lean_one_insn(ONE_INSN_VTIME, true);
    qi_kick_all();
}

void lean_block_start(unsigned vcpu, bool idle, bool vtime_pending)
{
    if (!g_supported) return;
    if ((LOAD(g_reasons) & ONE_INSN_VTIME) && !vtime_pending) lean_one_insn(ONE_INSN_VTIME, false);
    if (LOAD(g_unflushed)) {
        /* Asked from here (the vCPU thread), after leaving: the flush drops every lean block. */
        if (!g_flush_asked) {
            g_flush_asked = true;
            qi_flush(vcpu);
        }
        return;
    }
    if (LOAD(g_lean) || !idle) {
        g_idle = 0;
        return;
    }
    if (++g_idle < LEAN_AFTER) return;
    g_idle = 0;
    /* A trigger armed while this block start looked marks the table stale before it calls
     * lean_leave(); under the mutex one of the two sees the other. */
    pthread_mutex_lock(&g_mutex);
    bool go = !trig_view_stale();
    if (go) {
        g_entered++;
        STORE(g_lean, 1);
    }
    pthread_mutex_unlock(&g_mutex);
    if (!go) return;
    qi_flush(vcpu); /* the checked blocks go when the vCPU leaves its chain, which this asks for */
}

void lean_flushed(void)
{
    pthread_mutex_lock(&g_mutex);
    g_flush_asked = false;
    if (g_unflushed && !g_lean) {
        STORE(g_unflushed, 0);
        set_reason_locked(ONE_INSN_UNFLUSHED, false);
    }
    pthread_mutex_unlock(&g_mutex);
}
