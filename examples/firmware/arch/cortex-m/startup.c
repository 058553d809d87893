/* Minimal Cortex-M3 startup: vector table, reset handler (.data copy, .bss
 * zeroing), fault and interrupt entry points. No C library involved. */
#include <stdint.h>
#include "board.h"
#include "cm3.h"
#include "io.h"
#include "semihost.h"

/* Symbols from common/sections.ld */
extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[];

extern int main(void);
void Reset_Handler(void);
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void);
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void Irq_Handler(void);
void Default_Handler(void);

#define NUM_IRQS 48 /* covers lm3s6965 (43) and mps2-an385 (32) */

/* Faults other than HardFault are not enabled (SHCSR), so they escalate to
 * HardFault; their slots still point at Default_Handler for completeness. */
__attribute__((section(".vectors"), used))
void (*const vector_table[16 + NUM_IRQS])(void) = {
    (void (*)(void))_estack, /* initial MSP */
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    Default_Handler,        /* MemManage */
    Default_Handler,        /* BusFault */
    Default_Handler,        /* UsageFault */
    0, 0, 0, 0,             /* reserved */
    SVC_Handler,
    Default_Handler,        /* DebugMon */
    0,                      /* reserved */
    PendSV_Handler,
    SysTick_Handler,
    [16 ... 16 + NUM_IRQS - 1] = Irq_Handler,
};

/* Word loops through volatile pointers so -O2 cannot turn them into
 * memcpy/memset calls (there is no libc to provide them). */
void Reset_Handler(void)
{
    volatile uint32_t *src = _sidata, *dst = _sdata;
    while (dst < _edata)
        *dst++ = *src++;
    for (dst = _sbss; dst < _ebss;)
        *dst++ = 0;
    main();
    sh_exit(1); /* main() must not return */
}

/* External interrupts share one entry; the board dispatches on the number. */
void Irq_Handler(void)
{
    board_irq(get_ipsr() - 16u);
}

__attribute__((noreturn)) void fault_exit(const char *what, uint32_t pc)
{
    put_line(what);
    put_kv_hex("fault pc", pc);
    sh_exit(6);
}

/* Called with the stack pointer that was in use when the fault hit. The frame
 * is only read if it lies in RAM (a corrupted SP must not fault again). */
void hardfault_c(const uint32_t *frame)
{
    uint32_t pc = 0;
    if ((uintptr_t)frame >= 0x20000000u && (uintptr_t)(frame + 8) <= (uintptr_t)_estack)
        pc = frame[6];
    fault_exit("FAULT: hardfault", pc);
}

/* Naked so that it works even if SP is garbage: pick the faulting stack,
 * then move SP back to the top of RAM before calling C. */
__attribute__((naked)) void HardFault_Handler(void)
{
    __asm volatile(
        "tst   lr, #4        \n" /* EXC_RETURN bit 2: which stack was in use */
        "ite   eq            \n"
        "mrseq r0, msp       \n"
        "mrsne r0, psp       \n"
        "ldr   r1, =_estack  \n"
        "mov   sp, r1        \n"
        "b     hardfault_c   \n");
}

void Default_Handler(void)
{
    fault_exit("FAULT: unexpected exception", get_ipsr());
}
