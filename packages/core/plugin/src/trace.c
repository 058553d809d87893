/* Execution traces (see trace.h). The ranges live in the trigger table (kind TRIG_TRACE) and the
 * vCPU's view; here are the batches waiting to be sent. */
#include "trace.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "protocol.h"
#include "view.h"

/* Entries per line: about 20 bytes each, far below the Node side's line limit. */
#define BATCH 512

struct batch {
    char token[TOKEN_LEN];
    struct strbuf entries;
    unsigned n;
};

static pthread_mutex_t g_trace_lock = PTHREAD_MUTEX_INITIALIZER;
static struct batch *g_batches;
static size_t g_nbatches;

/* (g_trace_lock held) */
static void send_batch(struct batch *b)
{
    if (!b->n) return;
    send_line("! trace %s %s", b->token, b->entries.text);
    b->entries.len = 0;
    b->entries.text[0] = 0;
    b->n = 0;
}

/* (g_trace_lock held) */
static struct batch *batch_for(const char *token)
{
    for (size_t i = 0; i < g_nbatches; i++)
        if (!strcmp(g_batches[i].token, token)) return &g_batches[i];
    struct batch *grown = realloc(g_batches, (g_nbatches + 1) * sizeof(*grown));
    if (!grown) return NULL;
    g_batches = grown;
    struct batch *b = &g_batches[g_nbatches++];
    memset(b, 0, sizeof(*b));
    snprintf(b->token, TOKEN_LEN, "%s", token);
    return b;
}

void trace_note(unsigned vcpu, uint64_t pc, uint64_t count)
{
    pthread_mutex_lock(&g_trace_lock);
    for (size_t i = 0; i < v.ntr; i++) {
        const struct trace_range *r = &v.tr[i];
        if (pc < r->lo || pc >= r->hi || (r->cpu >= 0 && (unsigned)r->cpu != vcpu)) continue;
        struct batch *b = batch_for(r->token);
        if (!b) continue;
        sb_printf(&b->entries, "%s%u:%" PRIx64 ":%" PRIx64, b->n ? "," : "", vcpu, pc, count);
        if (++b->n == BATCH) send_batch(b);
    }
    pthread_mutex_unlock(&g_trace_lock);
}

void trace_flush_all(void)
{
    pthread_mutex_lock(&g_trace_lock);
    for (size_t i = 0; i < g_nbatches; i++) send_batch(&g_batches[i]);
    pthread_mutex_unlock(&g_trace_lock);
}

void trace_flush_token(const char *token)
{
    pthread_mutex_lock(&g_trace_lock);
    for (size_t i = 0; i < g_nbatches; i++) {
        if (strcmp(g_batches[i].token, token)) continue;
        send_batch(&g_batches[i]);
        sb_free(&g_batches[i].entries);
        g_batches[i] = g_batches[--g_nbatches];
        break;
    }
    pthread_mutex_unlock(&g_trace_lock);
}
