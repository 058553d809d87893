/* AArch64 at EL1: DAIF.I masks interrupts; the board's generic timer + GIC
 * give the tick (board_tick_start); a reset is board_system_reset (PSCI). */
#ifndef ARCH_IMPL_H
#define ARCH_IMPL_H

#include <stdint.h>

#define APP_TICK_HANDLER app_tick

#define sysreg_read(r) ({ uint64_t v_; __asm volatile("mrs %0, " #r : "=r"(v_)); v_; })
#define sysreg_write(r, v) __asm volatile("msr " #r ", %0" : : "r"((uint64_t)(v)) : "memory")

static inline void irq_disable(void) { __asm volatile("msr daifset, #2" ::: "memory"); }
static inline void irq_enable(void)  { __asm volatile("msr daifclr, #2" ::: "memory"); }
/* WFI wakes on a pending IRQ even while PSTATE.I masks it. */
static inline void arch_idle(void)   { __asm volatile("dsb sy; wfi" ::: "memory"); }

void arch_tick_start(void);                             /* board_tick_start() */
void arch_system_reset(void) __attribute__((noreturn)); /* board_system_reset() */

#endif
