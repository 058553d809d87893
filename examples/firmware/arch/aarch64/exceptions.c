/* AArch64: the C side of the vectors (start.S). Any synchronous exception at
 * EL1 is a fault: print and exit with code 6. */
#include <stdint.h>
#include "arch.h"
#include "board.h"
#include "io.h"
#include "semihost.h"

/* The board's interrupt controller acknowledges and dispatches. */
void board_irq_entry(void);

void irq_handler(void)
{
    board_irq_entry();
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

/* kind: the vector's group/type (0x10 = synchronous, current EL with SPx,
 * the only one expected); esr/elr/far: ESR_EL1, ELR_EL1, FAR_EL1. */
__attribute__((noreturn)) void fault_handler(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far)
{
    fault_reentry_guard();
    if (kind == 0x10) {
        put_line("FAULT: exception");
        put_kv_hexptr("fault cause", esr);
    } else {
        put_line("FAULT: unexpected exception");
        put_kv_hexptr("fault cause", kind);
    }
    put_kv_hexptr("fault pc", elr);
    put_kv_hexptr("fault addr", far);
    sh_exit(6);
}

__attribute__((noreturn)) void fault_exit(const char *what, uint32_t pc)
{
    put_line(what);
    put_kv_hex("fault pc", pc);
    sh_exit(6);
}

void arch_tick_start(void)
{
    board_tick_start();
}

void arch_system_reset(void)
{
    board_system_reset();
}

__attribute__((weak)) void app_tick(void)
{
}

__attribute__((weak)) void board_uart_flush(void)
{
}
