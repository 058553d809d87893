/* What each architecture provides to the shared applications. The
 * implementation is arch/<arch>/arch_impl.h (found through -Iarch/<arch>).
 *
 *   irq_disable(), irq_enable()  mask / unmask interrupts (the tick)
 *   arch_idle()                  sleep until an interrupt is pending (WFI). It
 *                                wakes on a pending interrupt even while masked,
 *                                so the wait_tick() pattern below cannot miss one
 *   arch_tick_start()            start the 1 ms tick; every tick calls
 *                                APP_TICK_HANDLER() (interrupt context)
 *   arch_system_reset()          reset the whole machine (noreturn)
 *   APP_TICK_HANDLER             the name of the application's tick function:
 *                                SysTick_Handler on Cortex-M (it is the vector
 *                                itself), app_tick elsewhere
 */
#ifndef ARCH_H
#define ARCH_H

#include <stdint.h>
#include "arch_impl.h"

void APP_TICK_HANDLER(void);

#endif
