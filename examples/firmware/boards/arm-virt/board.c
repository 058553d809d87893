/* virt (qemu-system-arm -M virt -cpu cortex-a15), bare metal in SVC mode, ARM
 * state: PL011 UART0 at 0x09000000, PL061 GPIO at 0x09030000, GICv2
 * (distributor 0x08000000, CPU interface 0x08010000), the generic timer's
 * virtual timer (PPI 11 = INTID 27) as the tick, PSCI over HVC for the reset.
 * No watchdog. */
#include "arch.h"
#include "board.h"

extern void fault_exit(const char *what, uint32_t pc) __attribute__((noreturn));
void app_tick(void);

const char board_name[] = BOARD_NAME;

#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))

/* PL011 */
#define UART0_BASE     0x09000000u
#define UART_DR        REG32(UART0_BASE + 0x000u)
#define UART_FR        REG32(UART0_BASE + 0x018u)
#define UART_IBRD      REG32(UART0_BASE + 0x024u)
#define UART_FBRD      REG32(UART0_BASE + 0x028u)
#define UART_LCRH      REG32(UART0_BASE + 0x02Cu)
#define UART_CR        REG32(UART0_BASE + 0x030u)
#define FR_BUSY        (1u << 3)
#define FR_TXFF        (1u << 5)
#define FR_TXFE        (1u << 7)

/* PL061. The safe-state request input is GPIO line 0 (line 3 is QEMU's
 * power button, gpio-key). */
#define GPIO_BASE      0x09030000u
#define GPIO_DATA(m)   REG32(GPIO_BASE + ((uint32_t)(m) << 2)) /* address-masked */
#define GPIO_DIR       REG32(GPIO_BASE + 0x400u)
#define SAFE_PIN       (1u << 0)

/* GICv2 */
#define GICD_BASE      0x08000000u
#define GICC_BASE      0x08010000u
#define GICD_CTLR      REG32(GICD_BASE + 0x000u)
#define GICD_ISENABLER(n) REG32(GICD_BASE + 0x100u + 4u * (n))
#define GICD_IPRIORITYR(n) (*(volatile uint8_t *)(uintptr_t)(GICD_BASE + 0x400u + (n)))
#define GICC_CTLR      REG32(GICC_BASE + 0x000u)
#define GICC_PMR       REG32(GICC_BASE + 0x004u)
#define GICC_IAR       REG32(GICC_BASE + 0x00Cu)
#define GICC_EOIR      REG32(GICC_BASE + 0x010u)
#define INTID_VTIMER   27u
#define INTID_SPURIOUS 1023u

#define PSCI_SYSTEM_RESET 0x84000009u

static uint64_t tick_period; /* generic timer counts per ms */

static inline uint32_t cntfrq(void)
{
    uint32_t v;
    __asm volatile("mrc p15, 0, %0, c14, c0, 0" : "=r"(v));
    return v;
}

static inline uint64_t cntvct(void)
{
    uint32_t lo, hi;
    __asm volatile("isb; mrrc p15, 1, %0, %1, c14" : "=r"(lo), "=r"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t cntv_cval_read(void)
{
    uint32_t lo, hi;
    __asm volatile("mrrc p15, 3, %0, %1, c14" : "=r"(lo), "=r"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cntv_cval_write(uint64_t v)
{
    __asm volatile("mcrr p15, 3, %0, %1, c14; isb" : : "r"((uint32_t)v), "r"((uint32_t)(v >> 32)));
}

static inline void cntv_ctl_write(uint32_t v)
{
    __asm volatile("mcr p15, 0, %0, c14, c3, 1; isb" : : "r"(v));
}

void board_init(void)
{
    UART_CR = 0;
    UART_IBRD = 13;          /* 115200 Bd at 24 MHz; cosmetic in QEMU */
    UART_FBRD = 1;
    UART_LCRH = 0x70;        /* 8N1, FIFOs on */
    UART_CR = 0x301;         /* UARTEN | TXE | RXE */
    GPIO_DIR &= ~SAFE_PIN;   /* input */
}

void board_uart_putc(char c)
{
    while (UART_FR & FR_TXFF)
        ;
    UART_DR = (uint8_t)c;
}

void board_uart_flush(void)
{
    while ((UART_FR & (FR_TXFE | FR_BUSY)) != FR_TXFE)
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
    return (GPIO_DATA(SAFE_PIN) & SAFE_PIN) != 0;
}

/* GIC on, INTID 27 enabled; the virtual timer fires every ms (CNTFRQ: 62.5 MHz). */
void board_tick_start(void)
{
    GICD_CTLR = 1;
    GICD_IPRIORITYR(INTID_VTIMER) = 0x80;
    GICD_ISENABLER(0) = 1u << INTID_VTIMER;
    GICC_PMR = 0xFF;
    GICC_CTLR = 1;
    tick_period = cntfrq() / 1000u;
    cntv_cval_write(cntvct() + tick_period);
    cntv_ctl_write(1); /* ENABLE, not masked */
}

void board_irq_entry(void)
{
    uint32_t iar = GICC_IAR;
    uint32_t id = iar & 0x3FFu;
    if (id == INTID_SPURIOUS)
        return;
    if (id == INTID_VTIMER) {
        cntv_cval_write(cntv_cval_read() + tick_period); /* exact multiples: no drift */
        app_tick();
    } else {
        board_irq(id);
    }
    GICC_EOIR = iar;
}

void board_system_reset(void)
{
    register uint32_t r0 __asm("r0") = PSCI_SYSTEM_RESET;
    __asm volatile(".arch_extension virt\n\thvc #0" : "+r"(r0) : : "memory");
    for (;;)
        ;
}

void board_irq(uint32_t irqn)
{
    fault_exit("FAULT: unexpected interrupt", irqn);
}
