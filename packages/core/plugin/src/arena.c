/* Bump allocation in 64 KiB chunks (see arena.h). Translation is single-threaded under -icount,
 * and the flush callback runs with every vCPU stopped, so no lock is needed. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>

#define CHUNK (64 * 1024)

struct chunk {
    struct chunk *next;
    size_t used;
    _Alignas(16) unsigned char data[CHUNK];
};

static struct chunk *g_head;

void *arena_alloc(size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (!g_head || g_head->used + size > CHUNK) {
        struct chunk *c = malloc(sizeof(*c));
        if (!c) abort();
        c->next = g_head;
        c->used = 0;
        g_head = c;
    }
    void *p = g_head->data + g_head->used;
    g_head->used += size;
    return p;
}

void arena_reset(void)
{
    while (g_head) {
        struct chunk *next = g_head->next;
        free(g_head);
        g_head = next;
    }
}
