#include "semihost.h"

#define SYS_EXIT_EXTENDED            0x20u
#define ADP_Stopped_ApplicationExit  0x20026u

/* SYS_EXIT_EXTENDED takes a pointer to {reason, subcode}; QEMU 7.2 exits with
 * status `subcode` when reason is ApplicationExit. (Plain SYS_EXIT 0x18 on
 * AArch32 only carries the reason, so QEMU can only exit with 0 or 1.) */
void sh_exit(uint32_t code)
{
    volatile uint32_t block[2] = { ADP_Stopped_ApplicationExit, code };
    register uint32_t r0 __asm("r0") = SYS_EXIT_EXTENDED;
    register volatile uint32_t *r1 __asm("r1") = block;
    /* semihost_exit_insn: a global label at the trap instruction, so a
     * debugger or the framework can find the exit in the ELF. */
    __asm volatile(".global semihost_exit_insn\n"
                   "semihost_exit_insn:\n\t"
                   "bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
    for (;;)    /* not reached when semihosting is enabled */
        ;
}
