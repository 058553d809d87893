/* sifive_e (SiFive FE310-G000, E31 core) as QEMU models it: SiFive UART0 at
 * 0x10013000, GPIO at 0x10012000, CLINT at 0x02000000. No watchdog is used
 * (QEMU 7.2 has no AON model; see board_mtime_hz) and there is no reset device, so a "reset" is a
 * software restart at _start. */
#include "arch.h"
#include "board.h"

extern void fault_exit(const char *what, uint32_t pc) __attribute__((noreturn));
extern void _start(void) __attribute__((noreturn));

const char board_name[] = BOARD_NAME;
/* QEMU's sifive_e has run the CLINT's mtime at 10 MHz (7.2) and, since a 2023
 * change, at the FE310's 32768 Hz low-frequency clock (10.0, 11.1). The two
 * versions also differ in the AON block (watchdog), added a little earlier:
 * its wdogcmp0 resets to 0xBEEF where it exists and reads 0 on 7.2
 * (unimplemented), so the firmware takes AON present = 32768 Hz. Right for
 * 7.2, 10.0 and 11.1; a QEMU from between the two changes (8.x) would have
 * the AON block with a 10 MHz mtime. */
#define AON_WDOGCMP0   (*(volatile uint32_t *)0x10000020u)
static uint32_t mtime_hz;

uint32_t board_mtime_hz(void)
{
    if (!mtime_hz)
        mtime_hz = AON_WDOGCMP0 == 0xBEEFu ? 32768u : 10000000u;
    return mtime_hz;
}

#define REG32(a) (*(volatile uint32_t *)(a))

/* SiFive UART0 */
#define UART0_BASE     0x10013000u
#define UART_TXDATA    REG32(UART0_BASE + 0x00u)   /* bit 31: FIFO full */
#define UART_TXCTRL    REG32(UART0_BASE + 0x08u)   /* bit 0: txen */
#define UART_RXCTRL    REG32(UART0_BASE + 0x0Cu)
#define UART_IP        REG32(UART0_BASE + 0x14u)   /* bit 0: txwm */
#define UART_DIV       REG32(UART0_BASE + 0x18u)
#define TXDATA_FULL    (1u << 31)
#define TXCTRL_TXEN    (1u << 0)
#define TXCTRL_TXCNT(n) ((uint32_t)(n) << 16)     /* txwm while fewer queued */
#define IP_TXWM        (1u << 0)

/* SiFive GPIO. The safe-state request input is GPIO 0 (HiFive1 header D8). */
#define GPIO_BASE      0x10012000u
#define GPIO_INPUT_VAL REG32(GPIO_BASE + 0x00u)
#define GPIO_INPUT_EN  REG32(GPIO_BASE + 0x04u)
#define GPIO_OUTPUT_EN REG32(GPIO_BASE + 0x08u)
#define GPIO_PUE       REG32(GPIO_BASE + 0x10u)
#define SAFE_PIN       (1u << 0)

void board_init(void)
{
    UART_DIV = 138;          /* 115200 Bd at 16 MHz; cosmetic in QEMU */
    UART_TXCTRL = TXCTRL_TXEN | TXCTRL_TXCNT(1); /* one stop bit; txwm = FIFO empty */
    UART_RXCTRL = 0;
    GPIO_OUTPUT_EN &= ~SAFE_PIN;
    GPIO_PUE &= ~SAFE_PIN;   /* reads 0 unless driven high from outside */
    GPIO_INPUT_EN |= SAFE_PIN;
}

void board_uart_putc(char c)
{
    while (UART_TXDATA & TXDATA_FULL)
        ;
    UART_TXDATA = (uint8_t)c;
}

/* Newer QEMU (10.0, 11.1) models an 8-byte TX FIFO that it drains 100 ns (virtual time)
 * after the last write; QEMU exits at the semihosting call, so sh_exit()
 * calls this first. With txcnt = 1, ip.txwm means "FIFO empty" on QEMU 11
 * (and is always set on 7.2, which has no FIFO), but QEMU 10.0 sets it
 * whenever txcnt != 0. So also spin 1000 loops (about 4 us of guest time at
 * -icount shift=0, and more than 100 ns on any host without -icount). */
void board_uart_flush(void)
{
    while (!(UART_IP & IP_TXWM))
        ;
    for (volatile uint32_t i = 0; i < 1000u; i++)
        ;
}

void board_wdt_start(uint32_t ms)
{
    (void)ms;
}

void board_wdt_feed(void)
{
}

int board_safe_request(void)
{
    return (GPIO_INPUT_VAL & SAFE_PIN) != 0;
}

/* Software restart: interrupts off, timer quiet, back to _start, which copies
 * .data and zeroes .bss again (.params, .noinit and .nvm stay as they are). */
void board_system_reset(void)
{
    csr_write(mie, 0);
    irq_disable();
    _start();
}

void board_irq(uint32_t irqn)
{
    fault_exit("FAULT: unexpected interrupt", irqn);
}
