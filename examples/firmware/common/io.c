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
