/* ARM semihosting (only what the examples need). */
#ifndef SEMIHOST_H
#define SEMIHOST_H

#include <stdint.h>

/* Ends the QEMU process with exit status `code` (SYS_EXIT_EXTENDED).
 * Needs -semihosting-config enable=on,target=native; without semihosting the
 * BKPT raises a HardFault instead. */
void sh_exit(uint32_t code) __attribute__((noreturn));

#endif
