/* 32-bit A/R profile: the C side of the vectors (start.S). Undefined
 * instruction, prefetch/data abort, an unexpected SVC or FIQ: print, exit 6. */
#include <stdint.h>
#include "arch.h"
#include "board.h"
#include "io.h"
#include "semihost.h"

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

/* offset: the vector (0x04 undef, 0x08 SVC, 0x0C prefetch abort, 0x10 data
 * abort, 0x1C FIQ); lr: that mode's link register. */
__attribute__((noreturn)) void fault_handler(uint32_t offset, uint32_t lr)
{
    fault_reentry_guard();
    uint32_t pc, status = 0, addr = 0;
    switch (offset) {
    case 0x10: /* data abort: lr = insn + 8 */
        pc = lr - 8u;
        __asm volatile("mrc p15, 0, %0, c5, c0, 0" : "=r"(status)); /* DFSR */
        __asm volatile("mrc p15, 0, %0, c6, c0, 0" : "=r"(addr));   /* DFAR */
        break;
    case 0x0C: /* prefetch abort: lr = insn + 4 */
        pc = lr - 4u;
        __asm volatile("mrc p15, 0, %0, c5, c0, 1" : "=r"(status)); /* IFSR */
        addr = pc;
        break;
    default:   /* undef, SVC (ARM state): lr = insn + 4 */
        pc = lr - 4u;
        break;
    }
    put_line("FAULT: exception");
    put_kv_hex("fault cause", offset);
    put_kv_hex("fault status", status);
    put_kv_hex("fault pc", pc);
    put_kv_hex("fault addr", addr);
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

__attribute__((weak)) void board_irq_entry(void)
{
}
