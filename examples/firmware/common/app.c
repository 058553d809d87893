/* faultdemo: one application that offers every fault-injection target the
 * framework's tests use. Everything is timed by the 1 ms tick (SysTick on
 * Cortex-M, the CLINT timer on RISC-V, the generic timer or a board timer on
 * the A/R profiles; arch.h) or by loop
 * counts, so a run under `-icount shift=0,sleep=off` is fully deterministic.
 * Symbols and messages are documented in ../README.md; keep them in sync. */
#include <stdint.h>
#include "arch.h"
#include "board.h"
#include "io.h"
#include "semihost.h"

#ifndef APP_NAME
#define APP_NAME        "faultdemo"
#endif
#define GUARD_MAGIC     0xC0FFEE42u
#define CONFIG_CRC      0x3F7F90B9u /* zlib.crc32 of config[] as little-endian words */
#define SENSOR_MIN      100u
#define SENSOR_MAX      199u
#define BUSY_ITERS      100u        /* loop_counter increments per tick */
#define WDT_PERIOD_MS   4u          /* bark after 4 ms without feed, reset after 8 ms */
#define BOOT_MAGIC      0xB007B007u
#define MAX_BOOTS       5u          /* more resets than this: give up (boot loop) */

/* Exit codes (semihosting SYS_EXIT_EXTENDED) */
enum { EXIT_DONE = 0, EXIT_GUARD = 2, EXIT_CONFIG = 3, EXIT_GPIO = 4,
       EXIT_SENSOR = 5, EXIT_HARDFAULT = 6, EXIT_BOOT_LOOP = 7 };

/* Reset causes kept in reset_cause across a reset */
enum { CAUSE_EXTERNAL, CAUSE_GUARD, CAUSE_CONFIG, CAUSE_SENSOR, CAUSE_WATCHDOG };
static const char *const cause_name[] = { "external", "guard", "config", "sensor", "watchdog" };

/* fault_action values */
#define ACTION_SAFE_STATE 0u
#define ACTION_RESET      1u

/* --- Parameters: section .params. QEMU's ELF loader writes their initial
 * values straight into RAM (the reset handler does not copy them), so a test
 * may overwrite them while QEMU is paused before the first instruction (-S).
 * A guest reset restores the defaults (QEMU re-writes ELF segments). --- */
#define PARAM __attribute__((section(".params")))
volatile uint32_t run_ticks PARAM = 20;           /* 0 = run forever */
volatile uint32_t busy_iterations PARAM = 0;      /* benchmarks: > 0 = only a CPU-bound loop, then exit */
volatile uint32_t fault_action PARAM = ACTION_SAFE_STATE;
volatile uint32_t wdt_enabled PARAM = 1;       /* 0 = never start the watchdog */
volatile uint32_t wdt_feed_enabled PARAM = 1;
volatile uint32_t auth_pin_entered PARAM = 1234;  /* wrong on purpose */
#ifdef HAVE_CHECK_PIN_WIDE
/* Which instruction-skip target authenticate() uses: 0 = check_pin (the
 * architecture's short branch: 2 bytes on RISC-V and Thumb), 1 =
 * check_pin_wide (a 4-byte branch). Only where both exist. */
volatile uint32_t auth_variant PARAM = 0;
#endif

/* --- Ordinary initialised data (.data, copied from flash at every reset) --- */
volatile uint32_t guard = GUARD_MAGIC;
volatile uint32_t guard_inv = ~GUARD_MAGIC;
/* A "const-like" calibration table kept in RAM; its values are opaque, only
 * their integrity matters. */
volatile uint32_t config[8] = {
    0x00010002u, 115200u, 1000u, 4u, 120u, 169u, 0x5A5A5A5Au, 0x12345678u,
};
volatile uint32_t config_crc = CONFIG_CRC;
volatile uint32_t calib_offset = 7;   /* UNGUARDED: corrupting it silently changes `result` */
const uint32_t pin_secret = 4711;     /* flash; compared by check_pin (check_pin.S) */

/* --- Zero-initialised state (.bss) --- */
volatile uint32_t ticks;              /* tick interrupts since start (1 ms each) */
volatile uint32_t loop_counter;       /* busy-work counter: BUSY_ITERS per tick */
volatile uint32_t sensor_value;       /* written once per tick by sensor_read() */
volatile uint32_t result;             /* accumulated from sensor_value + calib_offset */
volatile uint32_t auth_granted;       /* 1 if authenticate() passed */
__attribute__((used)) volatile uint32_t scratch; /* never touched by the firmware */

/* --- Survives a reset (.noinit: in no ELF segment, so neither the reset
 * handler nor QEMU's loader touches it). boot_magic tells garbage from a
 * count on a cold start. --- */
#define NOINIT __attribute__((section(".noinit")))
volatile uint32_t boot_magic NOINIT;
volatile uint32_t boot_count NOINIT;
volatile uint32_t reset_cause NOINIT;

int check_pin(uint32_t entered); /* check_pin.S */
#ifdef HAVE_CHECK_PIN_WIDE
int check_pin_wide(uint32_t entered);
#endif

/* The 1 ms tick (SysTick_Handler on Cortex-M, see arch.h). */
void APP_TICK_HANDLER(void)
{
    ticks++;
}

static __attribute__((noreturn)) void safe_state(const char *reason, uint32_t code)
{
    put_str("SAFE STATE: ");
    put_line(reason);
    sh_exit(code);
}

static __attribute__((noreturn)) void system_reset(void)
{
    arch_system_reset();
}

/* A detected fault: either safe state + exit, or reset (fault_action). */
static __attribute__((noreturn)) void fault_detected(const char *msg, uint32_t cause, uint32_t code)
{
    put_line(msg);
    if (fault_action == ACTION_RESET) {
        reset_cause = cause;
        put_str("RESET: ");
        put_line(cause_name[cause]);
        system_reset();
    }
    safe_state(cause_name[cause], code);
}

/* First watchdog expiry (NMI on mps2-an385/an505, IRQ 18 on lm3s6965evb). The
 * reset itself follows one period later unless the firmware is fed. */
void app_watchdog_bark(void)
{
    reset_cause = CAUSE_WATCHDOG;
    put_line("WDT: timeout");
}

static uint32_t crc32_words(const volatile uint32_t *p, uint32_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t w = p[i];
        for (int byte = 0; byte < 4; byte++) {
            crc ^= (w >> (8 * byte)) & 0xFFu;
            for (int bit = 0; bit < 8; bit++)
                crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1u));
        }
    }
    return ~crc;
}

static void boot_record(void)
{
    if (boot_magic != BOOT_MAGIC) { /* cold start: RAM content is meaningless */
        boot_magic = BOOT_MAGIC;
        boot_count = 0;
        reset_cause = CAUSE_EXTERNAL;
    }
    boot_count++;
}

/* noinline: keep these as separate, breakable functions with stable names. */
__attribute__((noinline)) void authenticate(void)
{
#ifdef HAVE_CHECK_PIN_WIDE
    int ok = auth_variant ? check_pin_wide(auth_pin_entered) : check_pin(auth_pin_entered);
#else
    int ok = check_pin(auth_pin_entered);
#endif
    if (ok) {
        auth_granted = 1;
        put_line("auth: GRANTED");
    } else {
        put_line("auth: denied");
    }
}

/* "Sensor read": the one write to sensor_value per tick (watchpoint target).
 * Synthetic, deterministic values in 120..169. */
__attribute__((noinline)) void sensor_read(uint32_t n)
{
    sensor_value = 120u + (n * 37u) % 50u;
}

/* Reads sensor_value back from memory, range-checks it, folds it into result. */
__attribute__((noinline)) void sensor_process(void)
{
    uint32_t v = sensor_value;
    if (v < SENSOR_MIN || v > SENSOR_MAX)
        fault_detected("FAULT: sensor out of range", CAUSE_SENSOR, EXIT_SENSOR);
    uint32_t r = result;
    result = ((r << 5) | (r >> 27)) ^ (v + calib_offset);
}

__attribute__((noinline)) void busy_work(void)
{
    for (uint32_t i = 0; i < BUSY_ITERS; i++)
        loop_counter++;
}

__attribute__((noinline)) void check_integrity(void)
{
    if (guard != ~guard_inv)
        fault_detected("FAULT: guard corrupted", CAUSE_GUARD, EXIT_GUARD);
    if (crc32_words(config, 8) != config_crc)
        fault_detected("FAULT: config checksum", CAUSE_CONFIG, EXIT_CONFIG);
}

static __attribute__((noreturn)) void finish(void)
{
    put_kv_hex("result", result);
    put_line("done");
    sh_exit(EXIT_DONE);
}

/* Sleep (WFI) until the tick counter moves past `handled`. Interrupts are
 * masked around the test so a tick cannot slip in between check and WFI;
 * WFI (arch_idle) still wakes on the pending tick. */
static void wait_tick(uint32_t handled)
{
    irq_disable();
    while (ticks == handled) {
        arch_idle();
        irq_enable();
        irq_disable();
    }
    irq_enable();
}

/* One pass per tick. */
__attribute__((noinline, noreturn)) void app_loop(void)
{
    uint32_t handled = 0;
    for (;;) {
        wait_tick(handled);
        handled++;
        if (wdt_feed_enabled)
            board_wdt_feed();
        if (board_safe_request()) {
            put_line("GPIO: safe state requested");
            safe_state("gpio", EXIT_GPIO);
        }
        sensor_read(handled);
        sensor_process();
        busy_work();
        check_integrity();
        if (run_ticks != 0 && handled >= run_ticks)
            finish();
    }
}

/* A CPU-bound workload for emulation-speed benchmarks: no I/O, no idle, a known result. */
static __attribute__((noinline, noreturn)) void busy_run(uint32_t n)
{
    uint32_t x = 1;
    for (uint32_t i = 0; i < n; i++)
        x = x * 1664525u + 1013904223u;
    put_kv_hex("busy", x);
    sh_exit(0);
}

int main(void)
{
    board_init();
    if (busy_iterations)
        busy_run(busy_iterations);
    boot_record();

    put_str("boot: ");
    put_str(board_name);
    put_line(" " APP_NAME);
    put_kv_dec("boot_count", boot_count);
    if (boot_count > 1) {
        uint32_t cause = reset_cause;
        put_str("reset cause: ");
        put_line(cause_name[cause <= CAUSE_WATCHDOG ? cause : CAUSE_EXTERNAL]);
        if (boot_count > MAX_BOOTS)
            safe_state("boot loop", EXIT_BOOT_LOOP);
        put_line("recovered");
    }
    reset_cause = CAUSE_EXTERNAL; /* anything not recorded later is external */

    authenticate();

    if (wdt_enabled)
        board_wdt_start(WDT_PERIOD_MS);
    arch_tick_start();

    app_loop();
}
