/* The guest-time timer (see vtime.h). Do not stop the VM from here: a vm_stop() in the timer lets
 * QEMU warp the clock to the next deadline while the stop is processed (DESIGN.md, Q3). */
#include "vtime.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internals.h"
#include "lean.h"
#include "runtime.h"
#include "triggers.h"

static char g_token[TOKEN_LEN];
static bool g_armed;
static volatile int g_pending;
static int64_t g_fired_ns;
static bool g_fired_main;

static void fired(void *opaque)
{
    (void)opaque;
    g_fired_ns = qi_vclock();
    g_fired_main = !qi_in_vcpu_thread();
    __atomic_store_n(&g_pending, 1, __ATOMIC_RELEASE);
    lean_vtime_fired(); /* after the flag: the block it brings must see it */
}

bool vtime_pending(void) { return __atomic_load_n(&g_pending, __ATOMIC_ACQUIRE); }

bool vtime_take_locked(struct strbuf *tokens, struct strbuf *extra)
{
    if (!vtime_pending()) return false;
    __atomic_store_n(&g_pending, 0, __ATOMIC_RELEASE);
    g_armed = false;
    sb_add_token(tokens, g_token);
    sb_printf(extra, " v=%" PRId64 " vt=%s", g_fired_ns, g_fired_main ? "main" : "vcpu");
    return true;
}

bool vtime_arm(const char *token, int64_t ns, char *why, size_t why_len)
{
    int64_t now = qi_vclock();
    if (ns <= now) {
        snprintf(why, why_len, "virtual time %" PRId64 " is not in the future (now %" PRId64 ")", ns, now);
        return false;
    }
    pthread_mutex_lock(&g_lock);
    snprintf(g_token, TOKEN_LEN, "%s", token);
    __atomic_store_n(&g_pending, 0, __ATOMIC_RELEASE);
    qi_timer_arm(fired, ns);
    g_armed = true;
    pthread_mutex_unlock(&g_lock);
    /* A running (or frozen) vCPU computed its instruction budget before this deadline existed:
     * it must leave its chain at the next block start to honour it. */
    qi_kick_all();
    return true;
}

bool vtime_disarm(const char *token)
{
    pthread_mutex_lock(&g_lock);
    bool hit = g_armed && (!token || !strcmp(g_token, token));
    if (hit) {
        qi_timer_cancel();
        g_armed = false;
        __atomic_store_n(&g_pending, 0, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&g_lock);
    return hit;
}
