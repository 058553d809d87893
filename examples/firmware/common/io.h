/* printf-free output helpers on top of board_uart_putc(). */
#ifndef IO_H
#define IO_H

#include <stdint.h>

void put_str(const char *s);
void put_line(const char *s);                       /* s + "\n" */
void put_hex32(uint32_t v);                         /* 0x%08x */
void put_dec(uint32_t v);
void put_kv_hex(const char *key, uint32_t v);       /* "key: 0x%08x\n" */
void put_kv_dec(const char *key, uint32_t v);       /* "key: %u\n" */
void put_hexptr(uintptr_t v);                       /* 0x + 2*sizeof(void *) digits */
void put_kv_hexptr(const char *key, uintptr_t v);   /* "key: 0x...\n" */

#endif
