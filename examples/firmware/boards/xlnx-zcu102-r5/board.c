/* ZynqMP (qemu-system-aarch64 -M xlnx-zcu102 -smp 6), from its Cortex-R5
 * rpu-cpu[0], ARM state, SVC mode: Cadence UART0 at 0xFF000000, the PMU cycle
 * counter as the time base. Stock QEMU 7.2 and 10 wire no interrupt
 * controller to the R5s, so the 1 ms tick is polled (BOARD_POLLED_TICK)
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

/* Time base: the R5's PMU cycle counter. QEMU derives it from the virtual
 * clock at 1 GHz (1 count per ns of guest time) on 7.2, 10 and 11, and
 * reading it is a cheap coprocessor access (an MMIO timer such as TTC0 at
 * 0xFF110000 also works, but every read of it re-arms a QEMU timer and made
 * a 20 ms run take 8 s of host time). */
#define PMU_HZ         1000000000u
#define TICK_COUNTS    (PMU_HZ / 1000u) /* 1 ms */

static inline uint32_t pmccntr(void)
{
    uint32_t v;
    __asm volatile("mrc p15, 0, %0, c9, c13, 0" : "=r"(v));
    return v;
}

static uint32_t last_count;
static uint32_t tick_running;

void board_init(void)
{
    UART_CR = CR_TXRST | CR_RXRST;
    UART_MR = MR_8N1;
    UART_CR = CR_TXEN | CR_RXEN;
    uint32_t pmcr;
    __asm volatile("mrc p15, 0, %0, c9, c12, 0" : "=r"(pmcr));
    __asm volatile("mcr p15, 0, %0, c9, c12, 0" : : "r"(pmcr | 1u));        /* PMCR.E */
    __asm volatile("mcr p15, 0, %0, c9, c12, 1" : : "r"(0x80000000u));      /* PMCNTENSET.C */
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
    last_count = pmccntr();
    tick_running = 1;
}

/* arch_idle(): count the 1 ms periods that passed since the last call (the
 * 32-bit counter wraps every 4.3 s, far longer than any gap between calls),
 * then spin until about 3/4 of the time left to the next tick has passed.
 * Reading the counter is cheap for the guest but not for QEMU under -icount
 * (about 0.1 ms of host time per read), so the spin length is computed from
 * the measured counts per loop: about 10 reads per tick at any -icount shift
 * (and without -icount), and the tick is late by at most 16 loops. */
static uint32_t counts_per_256_loops; /* measured; 0 = not yet */

static void spin(uint32_t loops)
{
    for (uint32_t i = 0; i < loops; i++)
        __asm volatile("");
}

void board_idle(void)
{
    if (!tick_running)
        return;
    uint32_t now = pmccntr();
    if (now - last_count >= TICK_COUNTS) {
        last_count += TICK_COUNTS;
        app_tick();
        return;
    }
    uint32_t left = TICK_COUNTS - (now - last_count);
    uint32_t loops = 16;
    if (counts_per_256_loops)
        loops = (uint32_t)(((uint64_t)left * 3u / 4u * 256u) / counts_per_256_loops);
    if (loops < 16)
        loops = 16;
    spin(loops);
    uint32_t took = pmccntr() - now;
    counts_per_256_loops = (uint32_t)(((uint64_t)took * 256u) / loops);
    if (!counts_per_256_loops)
        counts_per_256_loops = 1;
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
