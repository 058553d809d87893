/* RISC-V virt (qemu-system-riscv32/64 -M virt -bios none), machine mode:
 * NS16550A UART0 at 0x10000000, CLINT at 0x02000000 (mtime at 10 MHz),
 * SiFive test device ("finisher") at 0x00100000 for a machine reset. The
 * board has no GPIO and no watchdog. Shared by riscv32-virt and riscv64-virt. */
#include "arch.h"
#include "board.h"

extern void fault_exit(const char *what, uint32_t pc) __attribute__((noreturn));

const char board_name[] = BOARD_NAME;
uint32_t board_mtime_hz(void)
{
    return 10000000u; /* virt's CLINT timebase-frequency, QEMU 7.2 to 11 */
}

/* NS16550A, byte registers */
#define UART0_BASE    0x10000000u
#define UART_THR      (*(volatile uint8_t *)(UART0_BASE + 0u))
#define UART_IER      (*(volatile uint8_t *)(UART0_BASE + 1u))
#define UART_FCR      (*(volatile uint8_t *)(UART0_BASE + 2u))
#define UART_LCR      (*(volatile uint8_t *)(UART0_BASE + 3u))
#define UART_LSR      (*(volatile uint8_t *)(UART0_BASE + 5u))
#define LSR_THRE      (1u << 5)

/* sifive_test: 0x5555 powers off (exit status 0), 0x7777 resets the machine */
#define TEST_FINISHER (*(volatile uint32_t *)0x00100000u)
#define FINISHER_RESET 0x7777u

void board_init(void)
{
    UART_IER = 0;
    UART_LCR = 0x03; /* 8N1 */
    UART_FCR = 0x07; /* FIFOs on and cleared */
}

void board_uart_putc(char c)
{
    while (!(UART_LSR & LSR_THRE))
        ;
    UART_THR = (uint8_t)c;
}

/* No watchdog on virt: the wdt_* parameters have no effect. */
void board_wdt_start(uint32_t ms)
{
    (void)ms;
}

void board_wdt_feed(void)
{
}

/* No GPIO on virt. */
int board_safe_request(void)
{
    return 0;
}

void board_system_reset(void)
{
    TEST_FINISHER = FINISHER_RESET;
    for (;;) /* QEMU resets asynchronously */
        ;
}

void board_irq(uint32_t irqn)
{
    fault_exit("FAULT: unexpected interrupt", irqn);
}
