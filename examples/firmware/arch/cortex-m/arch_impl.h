/* Cortex-M (ARMv7-M, ARMv8-M mainline): SysTick is the tick, AIRCR resets. */
#ifndef ARCH_IMPL_H
#define ARCH_IMPL_H

#include <stdint.h>
#include "board.h"
#include "cm3.h"

#define APP_TICK_HANDLER SysTick_Handler

#define arch_idle() wfi()

/* SysTick at the core clock, one interrupt per millisecond. */
static inline void arch_tick_start(void)
{
    SYST_RVR = board_cpu_hz / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE;
}

static inline __attribute__((noreturn)) void arch_system_reset(void)
{
    dsb();
    SCB_AIRCR = AIRCR_VECTKEY | AIRCR_SYSRESETREQ;
    dsb();
    for (;;) /* QEMU resets (or exits with -no-reboot) asynchronously */
        ;
}

#endif
