#include "io.h"
#include "board.h"

void put_str(const char *s)
{
    while (*s)
        board_uart_putc(*s++);
}

void put_line(const char *s)
{
    put_str(s);
    board_uart_putc('\n');
}

void put_hex32(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    put_str("0x");
    for (int shift = 28; shift >= 0; shift -= 4)
        board_uart_putc(digits[(v >> shift) & 0xfu]);
}

void put_dec(uint32_t v)
{
    char buf[10];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n)
        board_uart_putc(buf[--n]);
}

void put_kv_hex(const char *key, uint32_t v)
{
    put_str(key);
    put_str(": ");
    put_hex32(v);
    board_uart_putc('\n');
}

void put_kv_dec(const char *key, uint32_t v)
{
    put_str(key);
    put_str(": ");
    put_dec(v);
    board_uart_putc('\n');
}

/* 0x + 8 hex digits on 32-bit targets, 16 on 64-bit ones (addresses). No
 * table: the digits are computed, so this adds nothing to .rodata where it
 * is not used (it is garbage-collected then). */
void put_hexptr(uintptr_t v)
{
    put_str("0x");
    for (int shift = (int)(8 * sizeof v) - 4; shift >= 0; shift -= 4) {
        uint32_t d = (uint32_t)(v >> shift) & 0xfu;
        board_uart_putc((char)(d < 10u ? '0' + d : 'a' + d - 10u));
    }
}

void put_kv_hexptr(const char *key, uintptr_t v)
{
    put_str(key);
    put_str(": ");
    put_hexptr(v);
    board_uart_putc('\n');
}
