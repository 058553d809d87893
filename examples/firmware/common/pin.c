/* pin / pin_dup: a PIN verification as real firmware writes it, for
 * instruction-skip campaigns over every instruction it executes.
 *
 *   verify_pin()  retry counter (decremented before the comparison), a compare
 *                 loop over the digits, hardened status constants
 *   pin_dup       (-DPIN_DUPLICATED_CHECK) the same with the checks duplicated:
 *                 the comparison runs twice and both must pass, the counter
 *                 has a complemented shadow copy that is checked before and
 *                 after the update, and the caller tests the status twice. A
 *                 mismatch between two copies is an attack: exit 8.
 *
 * With the wrong PIN (the default), no single skipped instruction in
 * verify_pin makes pin_dup grant access: it is either without effect or
 * detected. Two skips (one in each copy of the check) can. The plain pin
 * falls to single skips. Symbols and exit codes: ../README.md. */
#include <stdint.h>
#include "board.h"
#include "io.h"
#include "semihost.h"

#ifndef APP_NAME
#define APP_NAME "pin"
#endif

#define PIN_LEN        8u
#define PIN_MAX_TRIES  3u

/* Status words with a large Hamming distance: a skipped "mov" leaves a
 * register value that is never mistaken for PIN_OK. */
#define PIN_OK         0x3CA5965Au
#define PIN_WRONG      0xC35A69A5u
#define PIN_LOCKED     0x5A3CA596u
#define BOOL_TRUE      0x55AA55AAu
#define BOOL_FALSE     0xAA55AA55u

enum { EXIT_DENIED = 0, EXIT_HARDFAULT = 6, EXIT_ATTACK = 8, EXIT_GRANTED = 9, EXIT_LOCKED = 10 };

#define PARAM __attribute__((section(".params")))
/* The PIN the "user" typed, one digit per byte: wrong on purpose, in the last
 * digit only (an attacker who knows seven of eight). A test may
 * change it before the first instruction, like every .params word. */
volatile uint8_t pin_entered[PIN_LEN] PARAM = { 4, 7, 1, 1, 0, 8, 1, 6 };
volatile uint32_t pin_tries_init PARAM = PIN_MAX_TRIES; /* retry counter at boot */

const uint8_t pin_reference[PIN_LEN] = { 4, 7, 1, 1, 0, 8, 1, 5 };  /* flash: the right PIN */
volatile uint32_t pin_tries_left;  /* retry counter, set from pin_tries_init */
#ifdef PIN_DUPLICATED_CHECK
/* Its shadow copy, ~pin_tries_left, in another section (so that its address
 * is computed separately): written and checked next to the counter. */
volatile uint32_t pin_tries_shadow __attribute__((section(".data.pin_shadow"))) = ~0u;
#endif
volatile uint32_t pin_status;      /* what verify_pin returned */
volatile uint32_t pin_attacks;     /* countermeasure triggers (pin_dup) */

/* The countermeasure's reaction: report and stop. noinline: one place to
 * break on, for a campaign's `detect.at`. */
__attribute__((noinline, noreturn)) void pin_attack_detected(void)
{
    pin_attacks++;
    put_line("FAULT: pin check mismatch");
    put_line("SAFE STATE: attack");
    sh_exit(EXIT_ATTACK);
}

/* One pass over the digits; volatile reads, so two calls are two real
 * comparisons (the compiler can neither merge nor skip them). */
static inline __attribute__((always_inline)) uint32_t compare_digits(const volatile uint8_t *a)
{
    uint32_t status = BOOL_TRUE;
    for (uint32_t i = 0; i < PIN_LEN; i++) {
        if (a[i] != ((const volatile uint8_t *)pin_reference)[i])
            status = BOOL_FALSE;
    }
    return status;
}

/* An optimisation barrier: the compiler must treat v as unknown, so a value
 * computed from it is computed again, not reused. */
#define OPAQUE(v) ({ uint32_t o_ = (v); __asm volatile("" : "+r"(o_)); o_; })

__attribute__((noinline)) uint32_t verify_pin(const volatile uint8_t *candidate)
{
    uint32_t tries = pin_tries_left;
    if (tries == 0)
        return PIN_LOCKED;
#ifdef PIN_DUPLICATED_CHECK
    if (tries != ~pin_tries_shadow)   /* counter and shadow must agree */
        pin_attack_detected();
    pin_tries_left = tries - 1u;      /* decrement first: a cut power keeps it spent */
    pin_tries_shadow = 0u - OPAQUE(tries); /* = ~(tries - 1), computed apart */
    if (pin_tries_left != ~pin_tries_shadow)
        pin_attack_detected();
#else
    pin_tries_left = tries - 1u;      /* decrement first: a cut power keeps it spent */
#endif
    if (compare_digits(candidate) == BOOL_TRUE) {
#ifdef PIN_DUPLICATED_CHECK
        if (compare_digits(candidate) != BOOL_TRUE)
            pin_attack_detected();
#endif
        pin_tries_left = PIN_MAX_TRIES;
#ifdef PIN_DUPLICATED_CHECK
        pin_tries_shadow = ~PIN_MAX_TRIES;
#endif
        return PIN_OK;
    }
    return PIN_WRONG;
}

/* Provided for the board's watchdog interrupt; this app never starts it. */
void app_watchdog_bark(void)
{
}

int main(void)
{
    board_init();
    put_str("boot: ");
    put_str(board_name);
    put_line(" " APP_NAME);
    pin_tries_left = pin_tries_init;
#ifdef PIN_DUPLICATED_CHECK
    pin_tries_shadow = ~pin_tries_init;
#endif

    pin_status = verify_pin(pin_entered);
    if (pin_status == PIN_OK) {
#ifdef PIN_DUPLICATED_CHECK
        if (pin_status != PIN_OK)
            pin_attack_detected();
#endif
        put_line("pin: GRANTED");
        put_kv_dec("tries_left", pin_tries_left);
        sh_exit(EXIT_GRANTED);
    }
    if (pin_status == PIN_LOCKED) {
        put_line("pin: locked");
        sh_exit(EXIT_LOCKED);
    }
    put_line("pin: denied");
    put_kv_dec("tries_left", pin_tries_left);
    sh_exit(EXIT_DENIED);
}
