/* The unix socket to Node: Node listens, the plugin connects while QEMU loads it. */
#ifndef QF_LINK_H
#define QF_LINK_H

#include <stdbool.h>

/* Connects, retrying until `timeout_ms`; false if nothing listens by then. */
bool link_connect(const char *path, int timeout_ms);
bool link_connected(void);
/* Writes `prefix` `body` and a newline as one line (thread-safe). */
void link_write_line(const char *prefix, const char *body);
/* Starts the reader thread: each complete line goes to `on_line` (in that thread); when Node goes
 * away, `on_gone` runs once. */
bool link_start_reader(void (*on_line)(char *line), void (*on_gone)(void));

#endif
