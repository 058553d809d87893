/* What each board provides to the shared application (boards/<board>/board.c). */
#ifndef BOARD_H
#define BOARD_H

#include <stdint.h>

extern const char board_name[];   /* QEMU machine name, printed in the banner */
extern const uint32_t board_cpu_hz; /* core clock that SysTick counts */

void board_init(void);              /* clocks, UART0, GPIO */
void board_uart_putc(char c);       /* blocking write to UART0 */
void board_wdt_start(uint32_t ms);  /* start watchdog: bark after ms, reset after 2*ms */
void board_wdt_feed(void);
int  board_safe_request(void);      /* 1 if the "safe state" input pin is high */
void board_irq(uint32_t irqn);      /* external interrupt irqn (IPSR - 16) */

/* Only on the boards whose architecture needs them (see arch/<arch>/arch_impl.h). */
uint32_t board_mtime_hz(void);          /* RISC-V: CLINT mtime frequency */
void board_system_reset(void) __attribute__((noreturn)); /* non-Cortex-M boards */
void board_tick_start(void);            /* boards whose tick is a board timer */
void board_uart_flush(void);            /* wait until the UART has sent everything */

/* Provided by the application, called by the board's watchdog interrupt. */
void app_watchdog_bark(void);

#endif
