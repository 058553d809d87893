/*
 * The unix socket to Node. Either Node listens and the plugin connects while QEMU loads it (a QEMU
 * that qemu-fault starts), or the plugin listens and Node connects when it wants, as often as it
 * wants, one at a time (a QEMU started by hand).
 */
#ifndef QF_LINK_H
#define QF_LINK_H

#include <stdbool.h>

/* Connects, retrying until `timeout_ms`; false if nothing listens by then. */
bool link_connect(const char *path, int timeout_ms);
/* Listens on `path` (replacing a stale socket there) for Node to connect; false with errno set. */
bool link_listen(const char *path);
bool link_connected(void);
/* Writes `prefix` `body` and a newline as one line (thread-safe). */
void link_write_line(const char *prefix, const char *body);
/* Starts the reader thread. `greeting()` is the first line of every connection (nothing else is
 * sent before it); each complete line goes to `on_line` (in that thread); `on_gone` runs when
 * Node goes away. */
bool link_start_reader(const char *(*greeting)(void), void (*on_line)(char *line), void (*on_gone)(void));

#endif
