/* lm3s6965evb (Stellaris LM3S6965, Cortex-M3) as modelled by QEMU 7.2:
 * PL011 UART0, PL061 GPIO ports, Luminary watchdog (a CMSDK watchdog variant,
 * interrupt 18), clock from the system controller's RCC.SYSDIV. */
#include "board.h"
#include "cm3.h"

extern void fault_exit(const char *what, uint32_t pc) __attribute__((noreturn));

const char board_name[] = "lm3s6965evb";
const uint32_t board_cpu_hz = 50000000u; /* set up in board_init() */

/* System control */
#define SYSCTL_BASE    0x400FE000u
#define SYSCTL_RIS     REG32(SYSCTL_BASE + 0x050u)
#define SYSCTL_RCC     REG32(SYSCTL_BASE + 0x060u)
#define SYSCTL_RCGC0   REG32(SYSCTL_BASE + 0x100u)
#define SYSCTL_RCGC1   REG32(SYSCTL_BASE + 0x104u)
#define SYSCTL_RCGC2   REG32(SYSCTL_BASE + 0x108u)
#define RCC_SYSDIV(n)  ((uint32_t)(n) << 23)
#define RCC_SYSDIV_M   (0xFu << 23)
#define RCC_USESYSDIV  (1u << 22)
#define RCC_PWRDN      (1u << 13)
#define RCC_BYPASS     (1u << 11)
#define RIS_PLLLRIS    (1u << 6)

/* PL011 UART0 */
#define UART0_BASE     0x4000C000u
#define UART_DR        REG32(UART0_BASE + 0x000u)
#define UART_FR        REG32(UART0_BASE + 0x018u)
#define UART_IBRD      REG32(UART0_BASE + 0x024u)
#define UART_FBRD      REG32(UART0_BASE + 0x028u)
#define UART_LCRH      REG32(UART0_BASE + 0x02Cu)
#define UART_CTL       REG32(UART0_BASE + 0x030u)
#define UART_FR_TXFF   (1u << 5)

/* PL061 GPIO port A; the safe-state request input is PA0. (On the real EK
 * board PA0 is U0Rx; QEMU does not route the UART through GPIO, so in
 * emulation the pin is free and only driven from outside, e.g. qtest.) */
#define GPIOA_BASE     0x40004000u
#define SAFE_PIN       (1u << 0)
#define GPIOA_DATA(m)  REG32(GPIOA_BASE + ((uint32_t)(m) << 2)) /* address-masked */
#define GPIOA_DIR      REG32(GPIOA_BASE + 0x400u)
#define GPIOA_AFSEL    REG32(GPIOA_BASE + 0x420u)
#define GPIOA_PDR      REG32(GPIOA_BASE + 0x514u)
#define GPIOA_DEN      REG32(GPIOA_BASE + 0x51Cu)

/* Watchdog (same register layout as the CMSDK one) */
#define WDT_BASE       0x40000000u
#define WDT_LOAD       REG32(WDT_BASE + 0x000u)
#define WDT_CTL        REG32(WDT_BASE + 0x008u)
#define WDT_ICR        REG32(WDT_BASE + 0x00Cu)
#define WDT_LOCK       REG32(WDT_BASE + 0xC00u)
#define WDT_UNLOCK_KEY 0x1ACCE551u
#define WDT_INTEN      (1u << 0) /* also starts the counter */
#define WDT_RESEN      (1u << 1)
#define WDT_IRQ        18u

void board_init(void)
{
    /* 50 MHz from the PLL: SYSDIV=3 (200 MHz / 4). QEMU derives the system
     * clock period from SYSDIV alone (5 ns * (SYSDIV+1)); the lock wait and
     * BYPASS sequence are what real silicon needs. */
    uint32_t rcc = SYSCTL_RCC;
    rcc &= ~(RCC_SYSDIV_M | RCC_PWRDN);
    rcc |= RCC_SYSDIV(3) | RCC_USESYSDIV | RCC_BYPASS;
    SYSCTL_RCC = rcc;
    while (!(SYSCTL_RIS & RIS_PLLLRIS))
        ;
    SYSCTL_RCC = rcc & ~RCC_BYPASS;

    SYSCTL_RCGC0 |= 1u << 3; /* watchdog */
    SYSCTL_RCGC1 |= 1u << 0; /* UART0 */
    SYSCTL_RCGC2 |= 1u << 0; /* GPIO port A */

    /* 115200 8N1 at 50 MHz: 50e6 / (16 * 115200) = 27 + 8/64 */
    UART_CTL = 0;
    UART_IBRD = 27;
    UART_FBRD = 8;
    UART_LCRH = 0x70;        /* 8 bits, FIFO enabled */
    UART_CTL = 0x301;        /* UARTEN | TXE | RXE */

    GPIOA_DIR &= ~SAFE_PIN;  /* input */
    GPIOA_AFSEL &= ~SAFE_PIN;
    GPIOA_PDR |= SAFE_PIN;   /* reads low unless driven high */
    GPIOA_DEN |= SAFE_PIN;
}

void board_uart_putc(char c)
{
    while (UART_FR & UART_FR_TXFF)
        ;
    UART_DR = (uint8_t)c;
}

void board_wdt_start(uint32_t ms)
{
    WDT_LOCK = WDT_UNLOCK_KEY;
    WDT_LOAD = ms * (board_cpu_hz / 1000u);
    WDT_ICR = 1;     /* drop a stale interrupt; also reloads the counter */
    WDT_CTL = WDT_INTEN | WDT_RESEN;
    WDT_LOCK = 0;
    NVIC_ISER(0) = 1u << WDT_IRQ;
}

/* Clearing the interrupt also reloads the counter. Re-enabling the IRQ
 * undoes the masking in board_irq() once the watchdog is fed again. */
void board_wdt_feed(void)
{
    WDT_LOCK = WDT_UNLOCK_KEY;
    WDT_ICR = 1;
    WDT_LOCK = 0;
    NVIC_ISER(0) = 1u << WDT_IRQ;
}

int board_safe_request(void)
{
    return (GPIOA_DATA(SAFE_PIN) & SAFE_PIN) != 0;
}

void board_irq(uint32_t irqn)
{
    if (irqn == WDT_IRQ) {
        /* The interrupt is level-triggered and stays asserted until fed;
         * mask it so the handler runs once and the reset can follow. */
        NVIC_ICER(0) = 1u << WDT_IRQ;
        app_watchdog_bark();
        return;
    }
    fault_exit("FAULT: unexpected exception", irqn + 16u);
}
