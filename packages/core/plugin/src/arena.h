/*
 * Storage for what translation hands to execution callbacks (a block's pc and length, an
 * instruction's pc and flags): a callback's udata is one pointer, too small for a 64-bit pc and
 * the rest. Freed all at once when QEMU flushes its code cache, when no block can use it any more.
 */
#ifndef QF_ARENA_H
#define QF_ARENA_H

#include <stddef.h>

void *arena_alloc(size_t size); /* aborts when out of memory: translation cannot fail politely */
void arena_reset(void);

#endif
