/* RISC-V, machine mode: mstatus.MIE masks interrupts, the CLINT's machine
 * timer (mtime/mtimecmp) is the tick. */
#ifndef ARCH_IMPL_H
#define ARCH_IMPL_H

#include <stdint.h>

#define APP_TICK_HANDLER app_tick

#ifndef BOARD_MAX_HARTS
#define BOARD_MAX_HARTS 1   /* harts with a stack (boards/<board>/board.mk) */
#endif

#define MSTATUS_MIE (1u << 3)
#define MIE_MSIE    (1u << 3)
#define MIE_MTIE    (1u << 7)

#define csr_read(csr) ({ uintptr_t v_; __asm volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, v) __asm volatile("csrw " #csr ", %0" : : "r"((uintptr_t)(v)) : "memory")
#define csr_set(csr, v) __asm volatile("csrs " #csr ", %0" : : "r"((uintptr_t)(v)) : "memory")
#define csr_clear(csr, v) __asm volatile("csrc " #csr ", %0" : : "r"((uintptr_t)(v)) : "memory")

static inline void irq_disable(void) { csr_clear(mstatus, MSTATUS_MIE); }
static inline void irq_enable(void)  { csr_set(mstatus, MSTATUS_MIE); }
/* WFI wakes on an interrupt that is pending and enabled in mie, whatever
 * mstatus.MIE says. */
static inline void arch_idle(void)   { __asm volatile("wfi" ::: "memory"); }
static inline uint32_t hart_id(void) { return (uint32_t)csr_read(mhartid); }

void arch_tick_start(void);                          /* trap.c: CLINT, 1 ms */
void arch_system_reset(void) __attribute__((noreturn)); /* board_system_reset() */
uint64_t arch_mtime(void);                            /* CLINT mtime */
void arch_set_timer(uint64_t deadline);               /* this hart's mtimecmp */
/* Inter-hart wake-ups through the CLINT's msip: send sets the target's
 * machine software interrupt pending, clear drops this hart's. With
 * mie.MSIE = 1 and mstatus.MIE = 0 it wakes a WFI without taking a trap. */
void arch_send_ipi(uint32_t hart);
void arch_clear_ipi(void);

#endif
