/*
 * QEMU's internal functions, looked up with dlsym when the plugin loads. Debian and Ubuntu build
 * QEMU with modules, so their binaries export them; upstream's default build does not, and then
 * every feature that needs one is reported unavailable (see DESIGN.md, "Without internals").
 * Names and types that changed between releases are handled here and nowhere else.
 */
#ifndef QF_INTERNALS_H
#define QF_INTERNALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qf_arch;

/* What the exported internals allow. */
struct qf_internals {
    bool one_insn;   /* one-instruction blocks on demand (exact block-start freezes) */
    bool clock;      /* QEMU_CLOCK_VIRTUAL: read it, and a timer on it */
    bool regs;       /* core registers of any stopped or frozen vCPU */
    bool restart;    /* abandon the running block and re-enter it (register writes, splits, replays) */
    bool mem;        /* guest memory through a vCPU's view */
    bool current;    /* which vCPU this thread runs (QEMU's thread-local current_cpu) */
    char missing[512]; /* the symbols looked up and not found, comma separated */
};
extern struct qf_internals qi;

/* Looks the internals up (none when `disabled`, to behave as on a QEMU without them). */
void qi_resolve(const struct qf_arch *arch, unsigned vcpus, bool disabled);

/* Each of these needs the capability named in its comment. */
void qi_set_one_insn(bool on);                                  /* one_insn */
void qi_kick_all(void);                                         /* one_insn: every vCPU leaves its chain */
void qi_flush(unsigned vcpu);                                   /* restart: all blocks, when the vCPU next leaves its loop */
void qi_invalidate(unsigned vcpu, uint64_t pc, unsigned len);   /* mem: blocks containing these bytes */
bool qi_restore(unsigned vcpu, uintptr_t host_pc);              /* restart */
void qi_loop_exit(unsigned vcpu) __attribute__((noreturn));     /* restart */
void *qi_bp_insert(unsigned vcpu, uint64_t pc);                 /* restart: a breakpoint that never stops */
void qi_bp_remove(unsigned vcpu, void *bp);
int qi_mem_rw(unsigned vcpu, uint64_t addr, void *buf, size_t len, bool write); /* mem: 0 on success */
int qi_reg_read(unsigned vcpu, int gdb, uint8_t *out, size_t cap);             /* regs: bytes or -1 */
bool qi_reg_write(unsigned vcpu, int gdb, const uint8_t *value, size_t len);   /* regs */
int64_t qi_vclock(void);                                        /* clock */
bool qi_in_vcpu_thread(void);                                   /* clock */
void qi_timer_arm(void (*cb)(void *), int64_t expire_ns);       /* clock */
void qi_timer_cancel(void);                                     /* clock */
/* The index of the vCPU the calling vCPU thread runs now, else `reported` (what the callback was
 * told). From API 3 on, a callback is told the index of the vCPU that translated its block when
 * QEMU runs the vCPUs on one thread (-icount), so with several vCPUs the internals decide. */
unsigned qi_current_vcpu(unsigned reported);

#endif
