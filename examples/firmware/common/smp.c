/* smp: per-CPU work on a 2-hart RISC-V virt (-smp 2), for per-CPU views and
 * triggers. Every hart starts at _start (arch/riscv/start.S); hart 0 sets up
 * memory and releases hart 1 (harts_released), then
 *   - each hart does its own deterministic work: hart_counter[h] counts its
 *     loop iterations, hart0_work / hart1_work hold its result;
 *   - both write shared_value, strictly alternating (hart 0 first) through
 *     the turn word smp_turn: SHARED_STEPS writes, logged in shared_log[];
 *   - hart 1 sets hart1_done and parks; hart 0 waits for it, prints, exits.
 * A hart that waits sleeps in WFI and the other wakes it with an IPI (CLINT
 * msip): under -icount QEMU runs the harts round-robin on one thread and
 * switches at a WFI, so the interleaving is the same on every run (a busy
 * wait would hold the thread until QEMU's 100 ms round-robin kick).
 * Harts 2 and up park at once. Without a second hart hart 0 gives up after
 * 10 ms (exit 12). */
#include <stdint.h>
#include "arch.h"
#include "board.h"
#include "io.h"
#include "semihost.h"

#ifndef APP_NAME
#define APP_NAME "smp"
#endif

#define NHARTS        2u
#define WORK_ITERS    1000u
#define SHARED_STEPS  8u
#define WAIT_MS       10u       /* hart 0's patience for hart 1 */

enum { EXIT_DONE = 0, EXIT_NO_HART1 = 12 };

/* In the params segment (loaded by QEMU, restored by QEMU on every reset,
 * not cleared by hart 0's .bss zeroing): hart 1 waits on it from its first
 * instruction. */
volatile uint32_t harts_released __attribute__((section(".loaded"))) = 0;

volatile uint32_t hart_counter[NHARTS];     /* loop iterations per hart */
volatile uint32_t hart0_work;               /* hart 0's result */
volatile uint32_t hart1_work;               /* hart 1's result */
volatile uint32_t shared_value;             /* written by both, in turn */
volatile uint32_t shared_log[SHARED_STEPS]; /* (hart << 16) | step, per write */
volatile uint32_t smp_turn;                 /* the step whose turn it is */
volatile uint32_t hart1_done;

static uint64_t give_up_at; /* hart 0: mtime deadline */

static __attribute__((noreturn)) void no_hart1(void)
{
    put_line("FAULT: hart 1 did not answer (run with -smp 2)");
    sh_exit(EXIT_NO_HART1);
}

/* Sleep until *flag == value. The IPI is dropped before each test, so a wake-
 * up between the test and the WFI is not lost (WFI returns at once). Hart 0
 * also wakes at its give-up deadline (mtimecmp; MTIE on, MIE off: no trap). */
static void wait_for(volatile uint32_t *flag, uint32_t value)
{
    for (;;) {
        arch_clear_ipi();
        if (*flag == value)
            return;
        if (hart_id() == 0 && arch_mtime() >= give_up_at)
            no_hart1();
        arch_idle();
    }
}

/* Independent, deterministic work: an LCG seeded per hart. */
__attribute__((noinline)) uint32_t hart_work(uint32_t hart)
{
    uint32_t x = 0x1234u + hart * 0x9E3779B9u;
    for (uint32_t i = 0; i < WORK_ITERS; i++) {
        x = x * 1664525u + 1013904223u;
        hart_counter[hart]++;
    }
    return x;
}

/* Step k belongs to hart k % 2: wait for the turn, write, pass it on. */
__attribute__((noinline)) void shared_writes(uint32_t hart)
{
    for (uint32_t k = hart; k < SHARED_STEPS; k += NHARTS) {
        wait_for(&smp_turn, k);
        shared_value = (shared_value << 4) ^ (0xA0u + (hart << 4) + k);
        shared_log[k] = (hart << 16) | k;
        smp_turn = k + 1u;
        arch_send_ipi(hart ^ 1u);
    }
}

/* Harts other than 0 (start.S). */
void secondary_main(uint32_t hart)
{
    if (hart != 1u)
        return; /* park */
    csr_set(mie, MIE_MSIE);
    wait_for(&harts_released, 1);
    hart1_work = hart_work(1);
    shared_writes(1);
    hart1_done = 1;
    arch_send_ipi(0);
}

void app_watchdog_bark(void)
{
}

int main(void)
{
    board_init();
    put_str("boot: ");
    put_str(board_name);
    put_line(" " APP_NAME);
    csr_set(mie, MIE_MSIE | MIE_MTIE);
    give_up_at = arch_mtime() + (uint64_t)board_mtime_hz() / 1000u * WAIT_MS;
    arch_set_timer(give_up_at);
    harts_released = 1;
    arch_send_ipi(1);
    hart0_work = hart_work(0);
    shared_writes(0);
    wait_for(&hart1_done, 1);
    put_kv_hex("hart0_work", hart0_work);
    put_kv_hex("hart1_work", hart1_work);
    put_kv_hex("shared_value", shared_value);
    put_line("done");
    sh_exit(EXIT_DONE);
}
