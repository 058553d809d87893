/* ZynqMP (qemu-system-aarch64 -M xlnx-zcu102 -smp 6), from its Cortex-R5
 * rpu-cpu[0], ARM state, SVC mode: Cadence UART0 at 0xFF000000, TTC0 at
 * 0xFF110000 as the time base. Stock QEMU wires no interrupt controller to
 * the R5s, so the 1 ms tick is polled from TTC0's counter (BOARD_POLLED_TICK)
 * instead of an interrupt. No GPIO model, no watchdog, no reset device: a
 * "reset" is a software restart at _start. */
#include "arch.h"
#include "board.h"

extern void fault_exit(const char *what, uint32_t pc) __attribute__((noreturn));
extern void _start(void) __attribute__((noreturn));
void app_tick(void);

const char board_name[] = BOARD_NAME;

#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))

/* Cadence UART0 */
#define UART0_BASE     0xFF000000u
#define UART_CR        REG32(UART0_BASE + 0x00u)
#define UART_MR        REG32(UART0_BASE + 0x04u)
#define UART_SR        REG32(UART0_BASE + 0x2Cu)
#define UART_FIFO      REG32(UART0_BASE + 0x30u)
#define CR_RXRST       (1u << 0)
#define CR_TXRST       (1u << 1)
#define CR_RXEN        (1u << 2)
#define CR_TXEN        (1u << 4)
#define MR_8N1         (4u << 3)   /* no parity */
#define SR_TXEMPTY     (1u << 3)
#define SR_TXFULL      (1u << 4)

/* TTC0, timer 1: a free-running 16-bit up-counter at 133 MHz / 2^(PS+1) */
#define TTC0_BASE      0xFF110000u
#define TTC_CLK_CTRL   REG32(TTC0_BASE + 0x00u)
#define TTC_CNT_CTRL   REG32(TTC0_BASE + 0x0Cu)
#define TTC_COUNTER    REG32(TTC0_BASE + 0x18u)
#define TTC_PS         6u          /* /128: 1039062.5 Hz */
#define TTC_CLK_PS_EN  (1u << 0)
#define TTC_CNT_RST    (1u << 4)
#define TICK_COUNTS    1039u       /* one tick = 1039 counts = 0.99990 ms */

static uint32_t last_count;
static uint32_t tick_running;

void board_init(void)
{
    UART_CR = CR_TXRST | CR_RXRST;
    UART_MR = MR_8N1;
    UART_CR = CR_TXEN | CR_RXEN;
    TTC_CLK_CTRL = (TTC_PS << 1) | TTC_CLK_PS_EN;
    TTC_CNT_CTRL = TTC_CNT_RST;  /* enabled (DIS = 0), overflow mode, counting up */
}

void board_uart_putc(char c)
{
    while (UART_SR & SR_TXFULL)
        ;
    UART_FIFO = (uint8_t)c;
}

void board_uart_flush(void)
{
    while (!(UART_SR & SR_TXEMPTY))
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
    return 0;
}

void board_tick_start(void)
{
    last_count = TTC_COUNTER & 0xFFFFu;
    tick_running = 1;
}

/* arch_idle(): count the 1 ms periods that passed since the last call. The
 * 16-bit counter wraps every 63 ms, far longer than any gap between calls. */
void board_idle(void)
{
    if (!tick_running)
        return;
    uint32_t now = TTC_COUNTER & 0xFFFFu;
    while (((now - last_count) & 0xFFFFu) >= TICK_COUNTS) {
        last_count = (last_count + TICK_COUNTS) & 0xFFFFu;
        app_tick();
    }
}

void board_system_reset(void)
{
    irq_disable();
    tick_running = 0;
    _start();
}

void board_irq_entry(void)
{
    fault_exit("FAULT: unexpected interrupt", 0);
}

void board_irq(uint32_t irqn)
{
    fault_exit("FAULT: unexpected interrupt", irqn);
}
