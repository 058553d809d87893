/* 32-bit A/R profile (ARMv7-A/R) in ARM state: CPSR.I masks interrupts. The
 * tick is the board's (board_tick_start): the generic timer + GIC on virt, a
 * polled TTC on the ZynqMP's Cortex-R5 (no interrupt controller is wired to
 * it in QEMU; BOARD_POLLED_TICK). A reset is board_system_reset. */
#ifndef ARCH_IMPL_H
#define ARCH_IMPL_H

#include <stdint.h>

#define APP_TICK_HANDLER app_tick

static inline void irq_disable(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void irq_enable(void)  { __asm volatile("cpsie i" ::: "memory"); }

#ifdef BOARD_POLLED_TICK
void board_idle(void);  /* polls the board timer, calls app_tick() when due */
static inline void arch_idle(void)   { board_idle(); }
#else
/* WFI wakes on a pending IRQ even while CPSR.I masks it. */
static inline void arch_idle(void)   { __asm volatile("dsb; wfi" ::: "memory"); }
#endif

void arch_tick_start(void);                             /* board_tick_start() */
void arch_system_reset(void) __attribute__((noreturn)); /* board_system_reset() */

#endif
