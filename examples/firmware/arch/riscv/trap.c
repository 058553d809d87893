/* RISC-V machine mode: the CLINT timer tick, interrupt dispatch, and the
 * fault handler (any synchronous exception: exit code 6). */
#include <stdint.h>
#include "arch.h"
#include "board.h"
#include "io.h"
#include "semihost.h"

/* CLINT (SiFive layout; the same on virt and sifive_e) */
#define CLINT_BASE      0x02000000u
#define CLINT_MSIP(h)   (*(volatile uint32_t *)(uintptr_t)(CLINT_BASE + 4u * (h)))
#define CLINT_MTIMECMP(h) (CLINT_BASE + 0x4000u + 8u * (h))
#define CLINT_MTIME     (CLINT_BASE + 0xBFF8u)
#define IRQ_M_TIMER     7u
#define MCAUSE_IRQ      ((uintptr_t)1 << (8 * sizeof(uintptr_t) - 1))

/* Per hart: mtime at arch_tick_start() and the number of the next tick. The
 * k-th deadline is start + k * hz / 1000, exact on average even when 1 ms is
 * not a whole number of mtime counts (sifive_e on QEMU >= 8: 32768 Hz). */
static uint64_t tick_base[BOARD_MAX_HARTS];
static uint64_t tick_next[BOARD_MAX_HARTS];

static uint64_t tick_deadline(uint32_t h)
{
    return tick_base[h] + tick_next[h] * board_mtime_hz() / 1000u;
}

uint64_t arch_mtime(void)
{
#if __riscv_xlen == 64
    return *(volatile uint64_t *)CLINT_MTIME;
#else
    volatile uint32_t *mt = (volatile uint32_t *)CLINT_MTIME;
    uint32_t hi, lo;
    do {
        hi = mt[1];
        lo = mt[0];
    } while (mt[1] != hi);
    return ((uint64_t)hi << 32) | lo;
#endif
}

static void set_mtimecmp(uint32_t hart, uint64_t t)
{
#if __riscv_xlen == 64
    *(volatile uint64_t *)(uintptr_t)CLINT_MTIMECMP(hart) = t;
#else
    volatile uint32_t *cmp = (volatile uint32_t *)CLINT_MTIMECMP(hart);
    cmp[0] = 0xFFFFFFFFu; /* no spurious match while the halves change */
    cmp[1] = (uint32_t)(t >> 32);
    cmp[0] = (uint32_t)t;
#endif
}

void arch_set_timer(uint64_t deadline)
{
    set_mtimecmp(hart_id(), deadline);
}

void arch_send_ipi(uint32_t hart)
{
    CLINT_MSIP(hart) = 1u;
}

void arch_clear_ipi(void)
{
    CLINT_MSIP(hart_id()) = 0u;
}

/* First deadline 1 ms after now; later ones computed from the start, so
 * interrupt latency never accumulates. */
void arch_tick_start(void)
{
    uint32_t h = hart_id();
    tick_base[h] = arch_mtime();
    tick_next[h] = 1;
    set_mtimecmp(h, tick_deadline(h));
    csr_set(mie, MIE_MTIE);
}

__attribute__((weak)) void app_tick(void)
{
}

/* Called by sh_exit() before QEMU exits; boards with a TX FIFO override it. */
__attribute__((weak)) void board_uart_flush(void)
{
}

void trap_irq(uintptr_t mcause)
{
    uintptr_t code = mcause & ~MCAUSE_IRQ;
    if (code == IRQ_M_TIMER) {
        uint32_t h = hart_id();
        tick_next[h]++;
        set_mtimecmp(h, tick_deadline(h));
        app_tick();
        return;
    }
    board_irq((uint32_t)code);
}

void arch_system_reset(void)
{
    board_system_reset();
}

/* A fault inside the fault handler (its semihosting exit traps when QEMU runs
 * without -semihosting-config enable=on): report once, then stop here. */
static volatile uint32_t in_fault_handler;

static void fault_reentry_guard(void)
{
    if (in_fault_handler)
        for (;;)
            __asm volatile("wfi");
    in_fault_handler = 1;
}

/* Every synchronous exception ends here (from trap_entry, on a fresh stack):
 * illegal instruction, access fault, misaligned access, ecall, and ebreak
 * when semihosting is off. */
__attribute__((noreturn)) void fault_handler(uintptr_t mcause, uintptr_t mepc, uintptr_t mtval)
{
    fault_reentry_guard();
    put_line("FAULT: exception");
    put_kv_hexptr("fault cause", mcause);
    put_kv_hexptr("fault pc", mepc);
    put_kv_hexptr("fault addr", mtval);
    sh_exit(6);
}

/* For board code (unexpected interrupts). */
__attribute__((noreturn)) void fault_exit(const char *what, uint32_t pc)
{
    put_line(what);
    put_kv_hex("fault pc", pc);
    sh_exit(6);
}
