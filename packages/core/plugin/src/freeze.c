/*
 * The freeze: a vCPU thread held inside one of our callbacks while Node reads and writes the
 * guest, and the work it does meanwhile for the reader thread. Under -icount QEMU runs every vCPU
 * on that one thread, so the whole machine stands still. See DESIGN.md, "Freezes".
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"
#include "glue.h"
#include "internals.h"
#include "link.h"
#include "runtime.h"
#include "trace.h"
#include "triggers.h"
#include "vtime.h"

static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;      /* wakes the frozen vCPU */
static pthread_cond_t g_work_cond = PTHREAD_COND_INITIALIZER; /* work done */

/* The current freeze (g_lock). */
static struct {
    bool active, release;
    bool exact;       /* registers readable here */
    bool restartable; /* at a block start with the internals: writes take effect by a restart */
    unsigned vcpu;
    uint64_t pc;
    uintptr_t ra;     /* the return address into the block's code (restartable freezes) */
    bool restored;    /* cpu_restore_state ran here: the block must restart, without restoring again */
    bool dirty;       /* something was written: restart the block so it applies */
    bool pc_pending;  /* a pc write, applied when the block restarts (or by set_pc) */
    uint64_t pc_value;
} fz;

enum work_kind { WORK_MEM, WORK_REGS, WORK_SET_REG };
static struct {
    bool pending, done;
    enum work_kind kind;
    unsigned cpu;
    uint64_t addr;
    uint8_t *buf;
    size_t len;
    bool write;
    int gdb;
    uint64_t value;
    struct strbuf *out;
    bool ok;
    enum qf_error_class cls;
    const char *why;
} wk;

static uint64_t g_last_wake_ns; /* when the vCPU last left a freeze (latency measurements) */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Frozen, and not being released: once `resume` is answered, the vCPU is as good as running. (g_lock) */
static bool holding_locked(void) { return fz.active && !fz.release; }

bool frozen(void)
{
    pthread_mutex_lock(&g_lock);
    bool f = holding_locked();
    pthread_mutex_unlock(&g_lock);
    return f;
}

/* ------------------------------------------------------------------------------------------ */
/* Registers                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static uint64_t le_value(const uint8_t *b, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* One core register of `cpu`: the internals for any stopped vCPU, the public API for the frozen one. */
static int read_reg(unsigned cpu, const struct qf_reg *r, bool in_freeze, uint8_t *out, size_t cap)
{
    if (qi.regs) return qi_reg_read(cpu, r->gdb, out, cap);
    if (in_freeze && cpu == fz.vcpu && cfg.exact_regs) return glue_reg_read(cpu, r->names, out, cap);
    return -1;
}

/*
 * A block start inside a Thumb IT block: QEMU keeps the IT state in the block's flags, and the
 * block's first op zeroes env's copy, so xPSR/CPSR would read without its IT bits and a write of
 * them would be lost. Restoring the state at the block start puts them back in env; the block must
 * then be re-entered (the restore gave its instructions back to icount), and the restart looks the
 * block up again with whatever IT state env then holds. (vCPU thread, frozen)
 */
static void restore_condexec(unsigned cpu, const struct qf_reg *r)
{
    if (r->gdb != 25 || strcmp(cfg.arch->target, "arm") != 0) return;
    if (!fz.restartable || fz.restored || cpu != fz.vcpu) return;
    if (!qi_restore(cpu, fz.ra)) return;
    fz.restored = true;
    fz.dirty = true;
}

/* A register the vCPU does not have is left out: a CPU of another class than the target's (the
 * ZynqMP's Cortex-R5s in qemu-system-aarch64) numbers its registers its own way (Node asks by its
 * numbers) and has no register at some of ours. Fails only if none can be read. */
static bool format_regs(unsigned cpu, bool in_freeze, struct strbuf *out)
{
    const struct qf_arch *a = cfg.arch;
    bool any = false;
    for (unsigned i = 0; i < a->nregs; i++) {
        const struct qf_reg *r = &a->regs[i];
        uint64_t value;
        if (in_freeze && cpu == fz.vcpu && r == a->pc) {
            /* the freeze point's pc is known exactly; env's may lag in the middle of a block */
            value = fz.pc_pending ? fz.pc_value : fz.pc;
        } else {
            uint8_t b[16];
            if (in_freeze) restore_condexec(cpu, r);
            int n = read_reg(cpu, r, in_freeze, b, sizeof(b));
            if (n <= 0 || n > 8) continue;
            value = le_value(b, n);
        }
        sb_printf(out, "%s%d=%" PRIx64, out->len ? " " : "", r->gdb, value);
        any = true;
    }
    return any;
}

static const struct qf_reg *reg_by_gdb(int gdb)
{
    for (unsigned i = 0; i < cfg.arch->nregs; i++)
        if (cfg.arch->regs[i].gdb == gdb) return &cfg.arch->regs[i];
    return NULL;
}

static bool write_reg(unsigned cpu, const struct qf_reg *r, uint64_t value, bool in_freeze)
{
    uint8_t b[8];
    for (unsigned i = 0; i < r->bytes; i++) b[i] = (uint8_t)(value >> (8 * i));
    if (qi.regs) return qi_reg_write(cpu, r->gdb, b, r->bytes);
    return in_freeze && cpu == fz.vcpu && cfg.write_regs && glue_reg_write(cpu, r->names, b, r->bytes);
}

/* (vCPU thread, frozen) */
static void set_reg_work(void)
{
    const struct qf_reg *r = reg_by_gdb(wk.gdb);
    wk.ok = false;
    wk.cls = ERR_ARGUMENT;
    if (!r) {
        wk.why = "no such core register";
        return;
    }
    if (r->bytes < 8 && wk.value >> (8 * r->bytes)) {
        wk.why = "value wider than the register";
        return;
    }
    if (r == cfg.arch->pc && wk.cpu == fz.vcpu) {
        /* Writing env's pc in a block is no jump (the block's code is fixed): the block restarts
         * there, or QEMU's set_pc resumes there. */
        wk.cls = ERR_UNSUPPORTED;
        wk.why = "writing the pc at a freeze needs QEMU internals or plugin API 6 (QEMU 11.0)";
        if (!fz.restartable && !cfg.write_pc) return;
        if (wk.value % cfg.arch->insn_align) {
            wk.cls = ERR_ARGUMENT;
            wk.why = "misaligned pc";
            return;
        }
        fz.pc_pending = true;
        fz.pc_value = wk.value;
        fz.dirty = true;
        wk.ok = true;
        return;
    }
    wk.cls = ERR_UNSUPPORTED;
    wk.why = "writing registers at a freeze needs QEMU internals or plugin API 5 (QEMU 10.1)";
    restore_condexec(wk.cpu, r);
    if (!write_reg(wk.cpu, r, wk.value, true)) return;
    fz.dirty = true;
    wk.ok = true;
}

/* ------------------------------------------------------------------------------------------ */
/* Work for the reader thread                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* (vCPU thread, g_lock held, frozen) */
static void do_work_locked(void)
{
    pthread_mutex_unlock(&g_lock);
    switch (wk.kind) {
    case WORK_MEM:
        if (qi.mem) wk.ok = qi_mem_rw(wk.cpu, wk.addr, wk.buf, wk.len, wk.write) == 0;
        else if (wk.cpu != fz.vcpu) wk.ok = false;
        else wk.ok = wk.write ? glue_mem_write(wk.addr, wk.buf, wk.len) : glue_mem_read(wk.addr, wk.buf, wk.len);
        wk.cls = ERR_ACCESS;
        wk.why = "cannot access that memory";
        if (wk.ok && wk.write) fz.dirty = true; /* may be code: restart the block */
        break;
    case WORK_REGS:
        wk.ok = format_regs(wk.cpu, true, wk.out);
        wk.cls = qi.regs || wk.cpu == fz.vcpu ? ERR_ACCESS : ERR_UNSUPPORTED;
        wk.why = qi.regs || wk.cpu == fz.vcpu ? "cannot read the registers" : "another vCPU's registers need QEMU internals";
        break;
    case WORK_SET_REG:
        set_reg_work();
        break;
    }
    pthread_mutex_lock(&g_lock);
    wk.pending = false;
    wk.done = true;
    pthread_cond_broadcast(&g_work_cond);
}

/* (reader thread) Hands the work in `wk` to the frozen vCPU and waits for it. */
static bool run_work(enum qf_error_class *cls, const char **why)
{
    pthread_mutex_lock(&g_lock);
    if (!holding_locked()) {
        pthread_mutex_unlock(&g_lock);
        *cls = ERR_STATE;
        *why = "not frozen";
        return false;
    }
    wk.pending = true;
    wk.done = false;
    pthread_cond_broadcast(&g_cond);
    while (!wk.done && fz.active && link_connected()) pthread_cond_wait(&g_work_cond, &g_lock);
    bool done = wk.done, ok = wk.ok;
    wk.pending = false;
    *cls = done ? wk.cls : ERR_STATE;
    *why = done ? wk.why : "not frozen";
    pthread_mutex_unlock(&g_lock);
    return done && ok;
}

bool frozen_mem(unsigned cpu, uint64_t addr, uint8_t *buf, size_t len, bool write, enum qf_error_class *cls, const char **why)
{
    wk.kind = WORK_MEM;
    wk.cpu = cpu;
    wk.addr = addr;
    wk.buf = buf;
    wk.len = len;
    wk.write = write;
    return run_work(cls, why);
}

bool frozen_regs(unsigned cpu, struct strbuf *out, enum qf_error_class *cls, const char **why)
{
    pthread_mutex_lock(&g_lock);
    bool active = holding_locked();
    bool exact = active && (fz.exact || cpu != fz.vcpu);
    pthread_mutex_unlock(&g_lock);
    if (active && !exact) {
        *cls = ERR_STATE;
        *why = "registers are not exact here";
        return false;
    }
    wk.kind = WORK_REGS;
    wk.cpu = cpu;
    wk.out = out;
    return run_work(cls, why);
}

bool frozen_set_reg(unsigned cpu, int gdb, uint64_t value, enum qf_error_class *cls, const char **why)
{
    pthread_mutex_lock(&g_lock);
    bool exact = !holding_locked() || fz.exact || cpu != fz.vcpu;
    pthread_mutex_unlock(&g_lock);
    if (!exact) {
        *cls = ERR_STATE;
        *why = "registers are not exact here";
        return false;
    }
    wk.kind = WORK_SET_REG;
    wk.cpu = cpu;
    wk.gdb = gdb;
    wk.value = value;
    return run_work(cls, why);
}

bool stopped_regs(unsigned cpu, struct strbuf *out) { return qi.regs && format_regs(cpu, false, out); }

bool stopped_set_reg(unsigned cpu, int gdb, uint64_t value)
{
    const struct qf_reg *r = reg_by_gdb(gdb);
    return r && qi.regs && (r->bytes >= 8 || !(value >> (8 * r->bytes))) && write_reg(cpu, r, value, false);
}

/* ------------------------------------------------------------------------------------------ */
/* Freeze and release                                                                         */
/* ------------------------------------------------------------------------------------------ */

void restart_block(unsigned vcpu, uintptr_t ra, bool set_pc, uint64_t new_pc, bool restored)
{
    /* false: `ra` is not in a block (cannot happen for our direct callbacks); then carry on */
    if (!restored && !qi_restore(vcpu, ra)) {
        fputs("qemu-fault plugin: cpu_restore_state failed; not restarting the block\n", stderr);
        return;
    }
    /* after the restore, which would overwrite it */
    if (set_pc) write_reg(vcpu, cfg.arch->pc, new_pc, false);
    qi_loop_exit(vcpu);
}

/* M-profile is always in Thumb state, A/R-profile when CPSR.T is set: QEMU's set_pc wants the
 * interworking bit (a pc written through write_register instead makes QEMU abort). */
static uint64_t interworking_pc(unsigned vcpu, uint64_t pc)
{
    static const char *const xpsr[] = {"xpsr", NULL}, *const cpsr[] = {"cpsr", NULL};
    if (strcmp(cfg.arch->target, "arm") != 0) return pc;
    uint8_t b[8];
    if (glue_reg_read(vcpu, xpsr, b, sizeof(b)) > 0) return pc | 1;
    if (glue_reg_read(vcpu, cpsr, b, sizeof(b)) >= 4 && (b[0] & 0x20)) return pc | 1;
    return pc;
}

void freeze_if_hit(unsigned vcpu, uint64_t count, uint64_t pc, bool exact, uintptr_t ra, bool pcs_ok)
{
    struct qf_vcpu *vs = vcpu_state(vcpu);
    struct strbuf tokens = {0}, extra = {0};
    pthread_mutex_lock(&g_lock);
    int hits = trig_collect_locked(vcpu, count, pc, pcs_ok, &tokens);
    if (vtime_take_locked(&tokens, &extra)) {
        hits++;
        exact = true; /* the first block after the cpu loop ran timers: env, pc included, is exact */
    }
    if (vs->w_pending) {
        vs->w_pending = false;
        if (vs->w_tokens.len) {
            for (char *save = NULL, *t = strtok_r(vs->w_tokens.text, ",", &save); t; t = strtok_r(NULL, ",", &save))
                sb_add_token(&tokens, t);
            sb_printf(&extra, "%s%s", vs->w_info, vs->w_late ? " wlate=1" : "");
            hits++;
        }
        vs->w_tokens.len = 0;
        if (vs->w_tokens.text) vs->w_tokens.text[0] = 0;
    }
    if (!hits || !link_connected()) {
        pthread_mutex_unlock(&g_lock);
        sb_free(&tokens);
        sb_free(&extra);
        return;
    }
    fz.active = true;
    fz.release = false;
    fz.exact = exact || cfg.exact_regs;
    fz.restartable = ra != 0 && qi.restart;
    fz.vcpu = vcpu;
    fz.pc = pc;
    fz.ra = ra;
    fz.dirty = fz.pc_pending = fz.restored = false;
    pthread_mutex_unlock(&g_lock);

    trace_flush_all(); /* what ran before the freeze is reported before it */
    send_line("! hit %" PRIu64 " 0x%" PRIx64 " %s %s t=%" PRIu64 " w=%" PRIu64 " cpu=%u ci=%" PRIu64 "%s", count, pc,
              fz.exact ? "exact" : "pc-only", tokens.text, mono_ns(), g_last_wake_ns, vcpu, glue_count_vcpu(vcpu),
              extra.text ? extra.text : "");
    sb_free(&tokens);
    sb_free(&extra);

    pthread_mutex_lock(&g_lock);
    for (;;) {
        if (wk.pending) {
            do_work_locked();
            continue;
        }
        if (fz.release || !link_connected()) break;
        pthread_cond_wait(&g_cond, &g_lock);
    }
    fz.active = false;
    bool dirty = fz.dirty, set_pc = fz.pc_pending, restartable = fz.restartable, restored = fz.restored;
    uint64_t new_pc = fz.pc_value;
    pthread_mutex_unlock(&g_lock);
    g_last_wake_ns = mono_ns();

    bool retranslate = trig_view_stale() ? exec_sync_view(vcpu) : false;
    if (restartable && (dirty || set_pc || retranslate)) {
        /* Do not fire the pc triggers of this point again when the block restarts here. */
        vs->s_count = count;
        vs->s_pc = pc;
        restart_block(vcpu, ra, set_pc, new_pc, restored);
    }
    if (set_pc && cfg.write_pc) glue_set_pc(interworking_pc(vcpu, new_pc));
}

void release_freeze(void)
{
    pthread_mutex_lock(&g_lock);
    fz.release = true;
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_lock);
}

void forget_node(void)
{
    pthread_mutex_lock(&g_lock);
    trig_clear_locked();
    trig_changed_locked();
    fz.release = true;
    pthread_cond_broadcast(&g_cond);
    pthread_cond_broadcast(&g_work_cond);
    pthread_mutex_unlock(&g_lock);
    vtime_disarm(NULL);
    if (cfg.exit_on_disconnect) _exit(3);
}
