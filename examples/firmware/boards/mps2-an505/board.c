/* mps2-an505 (Cortex-M33, IoTKit subsystem), as modelled by QEMU, in Secure state:
 * CMSDK APB UART0 at 0x50200000 (Secure alias of 0x40200000), the IoTKit
 * Secure watchdog (CMSDK APB watchdog at 0x50081000, interrupt wired to NMI),
 * 20 MHz SYSCLK.
 * The FPGA GPIO blocks are unimplemented in QEMU's mps2-tz, so this board has
 * no safe-state input pin. */
#include "board.h"
#include "cm3.h"

extern void fault_exit(const char *what, uint32_t pc) __attribute__((noreturn));

const char board_name[] = "mps2-an505";
const uint32_t board_cpu_hz = 20000000u; /* SYSCLK = MAINCLK: the CPU (SysTick) and the watchdog */

/* CMSDK APB UART0 */
#define UART0_BASE     0x50200000u
#define UART_DATA      REG32(UART0_BASE + 0x00u)
#define UART_STATE     REG32(UART0_BASE + 0x04u)
#define UART_CTRL      REG32(UART0_BASE + 0x08u)
#define UART_BAUDDIV   REG32(UART0_BASE + 0x10u)
#define UART_STATE_TXFULL (1u << 0)
#define UART_CTRL_TXEN    (1u << 0)

/* CMSDK APB watchdog */
#define WDT_BASE       0x50081000u
#define WDT_LOAD       REG32(WDT_BASE + 0x000u)
#define WDT_CONTROL    REG32(WDT_BASE + 0x008u)
#define WDT_INTCLR     REG32(WDT_BASE + 0x00Cu)
#define WDT_LOCK       REG32(WDT_BASE + 0xC00u)
#define WDT_UNLOCK_KEY 0x1ACCE551u
#define WDT_INTEN      (1u << 0) /* also starts the counter */
#define WDT_RESEN      (1u << 1)

void board_init(void)
{
    UART_BAUDDIV = 20000000u / 115200u; /* QEMU needs >= 16; the value is cosmetic */
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

/* The IoTKit ORs the Secure and S32K watchdogs' interrupts into NMI. NMI is
 * latched once per rising edge, so it does not re-enter while asserted. */
void NMI_Handler(void)
{
    app_watchdog_bark();
}

void board_irq(uint32_t irqn)
{
    fault_exit("FAULT: unexpected exception", irqn + 16u);
}
