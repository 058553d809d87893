/* mps2-an385 (Cortex-M3 on the MPS2 FPGA board), as modelled by QEMU 7.2:
 * CMSDK APB UART0, CMSDK APB watchdog (interrupt wired to NMI), 25 MHz clock.
 * The AN385 GPIO blocks are "unimplemented-device" stubs in QEMU 7.2, so this
 * board has no safe-state input pin. */
#include "board.h"
#include "cm3.h"

extern void fault_exit(const char *what, uint32_t pc) __attribute__((noreturn));

const char board_name[] = "mps2-an385";
const uint32_t board_cpu_hz = 25000000u; /* SYSCLK; SysTick and WDOGCLK */

/* CMSDK APB UART0 */
#define UART0_BASE     0x40004000u
#define UART_DATA      REG32(UART0_BASE + 0x00u)
#define UART_STATE     REG32(UART0_BASE + 0x04u)
#define UART_CTRL      REG32(UART0_BASE + 0x08u)
#define UART_BAUDDIV   REG32(UART0_BASE + 0x10u)
#define UART_STATE_TXFULL (1u << 0)
#define UART_CTRL_TXEN    (1u << 0)

/* CMSDK APB watchdog */
#define WDT_BASE       0x40008000u
#define WDT_LOAD       REG32(WDT_BASE + 0x000u)
#define WDT_CONTROL    REG32(WDT_BASE + 0x008u)
#define WDT_INTCLR     REG32(WDT_BASE + 0x00Cu)
#define WDT_LOCK       REG32(WDT_BASE + 0xC00u)
#define WDT_UNLOCK_KEY 0x1ACCE551u
#define WDT_INTEN      (1u << 0) /* also starts the counter */
#define WDT_RESEN      (1u << 1)

void board_init(void)
{
    UART_BAUDDIV = 25000000u / 115200u; /* QEMU needs >= 16; the value is cosmetic */
    UART_CTRL = UART_CTRL_TXEN;
}

void board_uart_putc(char c)
{
    while (UART_STATE & UART_STATE_TXFULL)
        ;
    UART_DATA = (uint8_t)c;
}

void board_wdt_start(uint32_t ms)
{
    WDT_LOCK = WDT_UNLOCK_KEY;
    WDT_LOAD = ms * (board_cpu_hz / 1000u);
    WDT_INTCLR = 1;     /* drop a stale interrupt; also reloads the counter */
    WDT_CONTROL = WDT_INTEN | WDT_RESEN;
    WDT_LOCK = 0; /* any other value locks */
}

/* Clearing the interrupt also reloads the counter: the canonical CMSDK feed. */
void board_wdt_feed(void)
{
    WDT_LOCK = WDT_UNLOCK_KEY;
    WDT_INTCLR = 1;
    WDT_LOCK = 0;
}

int board_safe_request(void)
{
    return 0;
}

/* The watchdog interrupt is wired to NMI on the MPS2 FPGA images. NMI is
 * latched once per rising edge, so it does not re-enter while asserted. */
void NMI_Handler(void)
{
    app_watchdog_bark();
}

void board_irq(uint32_t irqn)
{
    fault_exit("FAULT: unexpected exception", irqn + 16u);
}
