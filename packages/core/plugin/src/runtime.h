/*
 * State and entry points shared by the execution side (exec.c: translation and execution
 * callbacks), the freeze (freeze.c: holding a vCPU while Node works) and the commands (commands.c).
 */
#ifndef QF_RUNTIME_H
#define QF_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

struct qf_arch;

/* How the plugin reaches each capability; chosen at install from what this QEMU offers. */
enum precise_mech { MECH_FLUSH, MECH_ONE_INSN }; /* instruction targets: re-instrument, or 1-insn blocks */
enum pc_mode { PC_HOOK, PC_SPLIT };              /* pc triggers: hook the insn, or split its block */
enum watch_mode { WATCH_NONE, WATCH_NEXT, WATCH_REPLAY }; /* freeze after the access: next insn hook / replay */

struct qf_config {
    const struct qf_arch *arch;
    enum precise_mech mech;
    enum pc_mode pc;
    enum watch_mode watch;
    bool exact_regs;   /* registers readable at every freeze */
    bool write_regs;   /* ... and writable */
    bool write_pc;     /* the pc can be set at a freeze */
    bool mem;          /* memory at freezes */
    bool stopped_regs; /* registers while the VM is stopped (no freeze) */
    unsigned vcpus;
    bool exit_on_disconnect;
};
extern struct qf_config cfg;

/* Per-vCPU execution state (vCPU thread only). */
struct qf_vcpu {
    uint64_t s_count, s_pc;       /* a block restart came from here: do not re-fire its pc triggers */
    bool w_pending, w_late;       /* a watch fired; freeze at the next instruction boundary */
    struct strbuf w_tokens;
    char w_info[200];
    bool r_on;                    /* replaying the watched access alone in a block */
    uint64_t r_count, r_pc;
    void *r_bp;
    void *walk_bp;                /* walking one instruction at a time to an armed pc */
    uint64_t walk_lo, walk_hi;
};
struct qf_vcpu *vcpu_state(unsigned vcpu);

/* ---- freeze.c ---- */
/* Freezes `vcpu` if any trigger fires before instruction `count` at `pc`. `ra` is the return
 * address into the block's code at a block start with the internals (0 otherwise): then
 * register and memory writes and newly armed triggers take effect by restarting the block. */
void freeze_if_hit(unsigned vcpu, uint64_t count, uint64_t pc, bool exact, uintptr_t ra, bool pcs_ok);
/* Abandons the running block at `ra` and re-enters it at env's pc (or `new_pc`); `restored`: the
 * state was restored at `ra` already. No return unless QEMU cannot restore the state there. */
void restart_block(unsigned vcpu, uintptr_t ra, bool set_pc, uint64_t new_pc, bool restored);
bool frozen(void);
void release_freeze(void);      /* the reader thread: Node said resume */
void forget_node(void);         /* Node is gone: disarm everything, release a frozen vCPU */

/* Work done by the frozen vCPU thread for the reader thread (QEMU's memory and register API
 * expect a vCPU context). Each returns false with `*cls` and `why` set on failure. */
bool frozen_mem(unsigned cpu, uint64_t addr, uint8_t *buf, size_t len, bool write, enum qf_error_class *cls, const char **why);
bool frozen_regs(unsigned cpu, struct strbuf *out, enum qf_error_class *cls, const char **why);
bool frozen_set_reg(unsigned cpu, int gdb, uint64_t value, enum qf_error_class *cls, const char **why);
/* Registers while the VM is stopped and no vCPU is frozen (internals only). */
bool stopped_regs(unsigned cpu, struct strbuf *out);
bool stopped_set_reg(unsigned cpu, int gdb, uint64_t value);

/* ---- exec.c ---- */
void exec_install(void);        /* registers the translation and exit callbacks */
void exec_start_frozen(void);   /* freeze before instruction 0 (token `start`) */
void exec_wake(void);           /* a running vCPU re-reads the trigger table at its next block */
void exec_hook_pcs_changed(void); /* hook mode: re-translate so armed pcs get their hooks */
/* Syncs the vCPU's view with the trigger table; true if the current block must be re-entered. */
bool exec_sync_view(unsigned vcpu);

#endif
