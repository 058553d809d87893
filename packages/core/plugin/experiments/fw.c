#include <stdint.h>
/* Test firmware for mps2-an385 (Cortex-M3). MODE selects the workload. */
#define REG(a) (*(volatile uint32_t *)(a))
#define SYST_CSR REG(0xE000E010)
#define SYST_RVR REG(0xE000E014)
#define SYST_CVR REG(0xE000E018)
#define UART0_DATA REG(0x40004000)
#define UART0_STATE REG(0x40004004)
#define UART0_CTRL REG(0x40004008)
#define FPGA_COUNTER REG(0x4002801C)
#define SHCSR REG(0xE000ED24)

extern uint32_t _estack;
volatile uint32_t ticks, svcs, faults, work;
volatile uint32_t marker;   /* JS/qtest-visible variable */

static void semihost_exit(void) {
  register uint32_t r0 __asm__("r0") = 0x18;
  register uint32_t r1 __asm__("r1") = 0x20026;
  __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
  for (;;) {}
}
static void putc_(char c) { UART0_DATA = (uint8_t)c; }

void reset_handler(void);
void systick_handler(void) { ticks++; }
void svc_handler(void) { svcs++; }
/* HardFault/BusFault: skip the 16-bit faulting load by bumping the stacked PC. */
__attribute__((naked)) void fault_handler(void) {
  __asm__ volatile(
      "ldr r1, =faults\n ldr r2, [r1]\n adds r2, #1\n str r2, [r1]\n"
      "ldr r0, [sp, #24]\n adds r0, #2\n str r0, [sp, #24]\n bx lr\n");
}
void default_handler(void) { for (;;) {} }

__attribute__((section(".vectors"), used)) void (*const vectors[16 + 8])(void) = {
  (void (*)(void))&_estack, reset_handler, default_handler, fault_handler,
  fault_handler, fault_handler, fault_handler, 0, 0, 0, 0, svc_handler, 0, 0, default_handler,
  systick_handler,
};

#ifndef LOOPS
#define LOOPS 20000000u
#endif

__attribute__((noinline)) uint32_t cpu_loop(uint32_t n) {
  uint32_t a = 1, b = 2;
  for (uint32_t i = 0; i < n; i++) { a = a * 1664525u + 1013904223u; b ^= a >> 7; }
  return a ^ b;
}

void reset_handler(void) {
#if MODE == 0   /* CPU-bound loop, then exit */
  work = cpu_loop(LOOPS);
  semihost_exit();
#elif MODE == 1 /* mid-TB exits: MMIO reads, SVC, faulting loads, no interrupts */
  UART0_CTRL = 1;
  SHCSR |= (1u << 17); /* enable BusFault */
  for (uint32_t i = 0; i < 200; i++) {
    uint32_t x = work;
    x += FPGA_COUNTER & 0;         /* MMIO read in the middle of a block */
    x += i * 3;
    marker = i;
    if ((i & 7) == 3) __asm__ volatile("svc 0");
    if ((i & 15) == 5) {
      volatile uint16_t *bad = (volatile uint16_t *)0x1F000000; /* unmapped -> BusFault */
      __asm__ volatile("ldrh %0, [%1]" : "=r"(x) : "r"(bad) : "memory");
    }
    if ((i & 31) == 9) putc_('a' + (i & 15));
    work = x + 1;
  }
  semihost_exit();
#elif MODE == 2 /* SysTick 1 ms (25 MHz) + WFI; does a little work per tick; exits after EXIT_TICKS */
  SYST_RVR = 25000 - 1; SYST_CVR = 0; SYST_CSR = 7;
  for (;;) {
    __asm__ volatile("wfi");
    marker = ticks;
    work += cpu_loop(50);
#ifdef EXIT_TICKS
    if (ticks >= EXIT_TICKS) semihost_exit();
#endif
  }
#elif MODE == 3 /* memory loop: a RAM load and store per iteration (watchpoint cost), then exit */
  for (uint32_t i = 0; i < LOOPS; i++) work += i;
  semihost_exit();
#endif
}
