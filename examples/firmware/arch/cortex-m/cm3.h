/* Cortex-M3 core registers used by the examples (no CMSIS: keeps the build
 * dependency-free). Addresses are from the ARMv7-M Architecture Reference. */
#ifndef CM3_H
#define CM3_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(addr))

/* SysTick */
#define SYST_CSR   REG32(0xE000E010u)
#define SYST_RVR   REG32(0xE000E014u)
#define SYST_CVR   REG32(0xE000E018u)
#define SYST_CSR_ENABLE    (1u << 0)
#define SYST_CSR_TICKINT   (1u << 1)
#define SYST_CSR_CLKSOURCE (1u << 2) /* 1 = processor clock */

/* NVIC */
#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (n))
#define NVIC_ICER(n) REG32(0xE000E180u + 4u * (n))

/* System control block */
#define SCB_AIRCR  REG32(0xE000ED0Cu)
#define AIRCR_VECTKEY       (0x05FAu << 16)
#define AIRCR_SYSRESETREQ   (1u << 2)

static inline void irq_disable(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void irq_enable(void)  { __asm volatile("cpsie i" ::: "memory"); }
static inline void wfi(void)         { __asm volatile("wfi" ::: "memory"); }
static inline void dsb(void)         { __asm volatile("dsb" ::: "memory"); }

static inline uint32_t get_ipsr(void)
{
    uint32_t v;
    __asm volatile("mrs %0, ipsr" : "=r"(v));
    return v;
}

#endif
