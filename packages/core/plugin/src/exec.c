/*
 * Translation and execution callbacks: counting, precise windows for instruction targets, pc
 * triggers (split blocks or hooks), data watchpoints (replay or next-instruction hooks), and the
 * block-start checks that freeze. DESIGN.md explains each mechanism and what was measured.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "arch.h"
#include "arena.h"
#include "glue.h"
#include "internals.h"
#include "lean.h"
#include "runtime.h"
#include "trace.h"
#include "triggers.h"
#include "view.h"
#include "vtime.h"

/* A block has at most 512 instructions (TCG_MAX_INSNS): open a precise window when a target could
 * fall inside the next block, close it when none is within 2 * MARGIN. */
#define MARGIN 520

/* What a block's exec callback is told (arena storage: see arena.h). */
struct block_info {
    uint64_t pc;
    uint32_t n;
    uint32_t first_off; /* tagged: offset of the first armed pc after the block's first insn */
    bool tagged;
};

/* What an instruction's callbacks are told. */
struct insn_info {
    uint64_t pc;
    uint64_t next_pc;
    bool last;      /* last instruction of its block */
    bool noreplay;  /* a store-exclusive: re-executing it would fail the second time */
};

struct qf_config cfg;

static struct qf_vcpu *g_vcpus;
static bool g_precise;            /* instruction-target window open (vCPU thread) */
static bool g_translate_precise;  /* flush mechanism: instrument every instruction */
static bool g_reset_pending, g_reset_wanted;
static volatile int g_slow;       /* tb_exec has something to look at besides instruction targets */
static struct pc_set g_added;     /* scratch for exec_sync_view */

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

struct qf_vcpu *vcpu_state(unsigned vcpu)
{
    if (!g_vcpus) {
        g_vcpus = calloc(cfg.vcpus, sizeof(*g_vcpus));
        if (!g_vcpus) abort();
        for (unsigned i = 0; i < cfg.vcpus; i++) g_vcpus[i].s_count = UINT64_MAX;
    }
    return &g_vcpus[vcpu < cfg.vcpus ? vcpu : 0];
}

static void tb_trans(struct qf_tb *tb);
static void on_qemu_exit(void);

/* ------------------------------------------------------------------------------------------ */
/* Modes                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static void on_flush(void)
{
    arena_reset();
    lean_flushed();
}

static void register_callbacks(void)
{
    glue_on_translate(tb_trans);
    glue_at_exit(on_qemu_exit);
    glue_on_flush(on_flush);
}

static void reset_done(void)
{
    register_callbacks();
    g_reset_pending = false;
}

/* Flush mechanism and hook mode: every block is translated again (with the new hooks). */
static void request_reset(void)
{
    if (g_reset_pending) {
        g_reset_wanted = true;
        return;
    }
    g_reset_pending = true;
    g_reset_wanted = false;
    glue_reset(reset_done);
}

static void set_precise(bool on)
{
    if (g_precise == on) return;
    g_precise = on;
    if (cfg.mech == MECH_ONE_INSN) {
        lean_one_insn(ONE_INSN_PRECISE, on);
        qi_kick_all(); /* leave the chain at the next block start */
    } else {
        g_translate_precise = on;
        request_reset();
    }
}

static void maybe_leave_precise(uint64_t count)
{
    uint64_t next = trig_next_insn();
    if (g_precise && (next == UINT64_MAX || next > count + 2 * MARGIN)) set_precise(false);
}

bool exec_sync_view(unsigned vcpu)
{
    int old_rw = v.watch_rw;
    uint64_t old_traces = view_trace_digest();
    view_rebuild(&g_added);
    if (v.pcs.n || v.nw || v.ntr || trig_next_insn() != UINT64_MAX) lean_leave();
    bool retranslate = false;
    if (cfg.pc == PC_SPLIT && g_added.n) {
        /* Blocks translated before a pc was armed may contain it untagged: drop them. */
        for (size_t i = 0; i < g_added.cap; i++)
            if (g_added.slots[i] != UINT64_MAX) qi_invalidate(vcpu, g_added.slots[i], cfg.arch->insn_align);
        retranslate = true;
    }
    /* memory callbacks and trace hooks are planted at translation */
    if ((v.watch_rw != old_rw && cfg.watch != WATCH_NONE) || view_trace_digest() != old_traces) {
        if (qi.restart) qi_flush(vcpu); /* done when the vCPU next leaves the cpu loop (a restart does) */
        else request_reset();
        retranslate = true;
    }
    STORE(g_slow, 1); /* recomputed by tb_exec */
    return retranslate;
}

void exec_wake(void)
{
    lean_leave();
    if (qi.one_insn) qi_kick_all();
}

void exec_hook_pcs_changed(void) { g_reset_wanted = true; }

/* ------------------------------------------------------------------------------------------ */
/* Block start                                                                                */
/* ------------------------------------------------------------------------------------------ */

static bool suppressed(const struct qf_vcpu *vs, uint64_t count, uint64_t pc) { return count == vs->s_count && pc == vs->s_pc; }

/* Split mode: a block with an armed pc inside it walks one instruction at a time up to that pc
 * (a flags-0 breakpoint makes QEMU translate every other pc of its page as one-instruction blocks). */
static void walk_to_armed_pc(unsigned vcpu, struct qf_vcpu *vs, const struct block_info *b, uintptr_t ra)
{
    uint64_t target = b->pc + b->first_off;
    if (!view_pc_armed(target)) target = view_first_pc_in(b->pc, b->pc + 4096);
    if (target == UINT64_MAX) return;
    if (vs->walk_bp) {
        qi_bp_remove(vcpu, vs->walk_bp);
        vs->walk_bp = NULL;
    }
    vs->walk_bp = qi_bp_insert(vcpu, target);
    if (!vs->walk_bp) return;
    vs->walk_lo = b->pc;
    vs->walk_hi = target;
    STORE(g_slow, 1);
    restart_block(vcpu, ra, false, 0, false);
}

/* The slow part of a block start: the table changed, a watch or timer fired, pcs are armed. */
static void block_start_slow(unsigned vcpu, const struct block_info *b, uint64_t count, uintptr_t ra)
{
    struct qf_vcpu *vs = vcpu_state(vcpu);
    uint64_t pc = b->pc;
    /* The trigger table changed: a restart makes invalidated blocks and memory callbacks apply
     * to this block too. No trigger has been looked at yet, so nothing is suppressed. */
    if (trig_view_stale() && exec_sync_view(vcpu) && cfg.pc == PC_SPLIT) restart_block(vcpu, ra, false, 0, false);
    /* the one-instruction block that re-executes a watched access: freeze after it */
    if (vs->r_on && count == vs->r_count && pc == vs->r_pc) return;
    if (vs->r_on) {
        vs->r_on = false;
        if (vs->r_bp) {
            qi_bp_remove(vcpu, vs->r_bp);
            vs->r_bp = NULL;
        }
    }
    bool pcs_ok = !suppressed(vs, count, pc);
    bool pc_hit = pcs_ok && cfg.pc == PC_SPLIT && view_pc_armed(pc);
    /* The walk ends when a block starts outside [start of the tagged block, armed pc]. (Not at
     * the pc itself: in a loop around it, the breakpoint staying avoids a restart per iteration.) */
    if (vs->walk_bp && (pc < vs->walk_lo || pc > vs->walk_hi)) {
        qi_bp_remove(vcpu, vs->walk_bp);
        vs->walk_bp = NULL;
    }
    if (cfg.pc == PC_SPLIT && b->tagged && b->n > 1 && !(vs->walk_bp && vs->walk_lo == pc)) walk_to_armed_pc(vcpu, vs, b, ra);
    if (vs->w_pending || vtime_pending() || pc_hit || trig_next_insn() == count)
        freeze_if_hit(vcpu, count, pc, cfg.mech == MECH_ONE_INSN, qi.restart ? ra : 0, pcs_ok);
    STORE(g_slow, vs->r_on || vs->w_pending || vs->walk_bp != NULL);
}

/* Nothing but guest-time timers armed, nothing pending: blocks may go lean (lean.h). */
static bool nothing_armed(void)
{
    return !g_precise && !LOAD(g_slow) && !v.pcs.n && !v.nw && !v.ntr && !trig_view_stale() && !vtime_pending() &&
           !g_reset_pending && !g_reset_wanted;
}

/* Start of every block (except lean ones). The count is of every instruction started before this block. */
static void tb_exec(unsigned vcpu, void *udata)
{
    vcpu = qi_current_vcpu(vcpu);
    uintptr_t ra = (uintptr_t)__builtin_return_address(0);
    const struct block_info *b = udata;
    glue_block_start(vcpu);
    uint64_t count = glue_count_total();

    if (g_reset_wanted && !g_reset_pending) request_reset();
    if (LOAD(g_slow) || trig_view_stale() || vtime_pending() || (v.pcs.n && (b->tagged || view_pc_maybe(b->pc))))
        block_start_slow(vcpu, b, count, ra);
    uint64_t next = trig_next_insn();
    lean_block_start(vcpu, next == UINT64_MAX && nothing_armed(), vtime_pending());
    if (next == UINT64_MAX || next >= count + b->n + MARGIN) {
        if (g_precise) maybe_leave_precise(count);
        return;
    }
    if (next == count) {
        /* a target at a block start: with one-instruction blocks env (pc included) is exact here */
        freeze_if_hit(vcpu, count, b->pc, cfg.mech == MECH_ONE_INSN, qi.restart ? ra : 0, !suppressed(vcpu_state(vcpu), count, b->pc));
        maybe_leave_precise(count);
        return;
    }
    if (next < count || (next < count + b->n && !g_precise)) {
        /* The target is behind us or inside this block, which has no per-instruction hooks
         * (armed too late, e.g. while the guest ran). Report and drop it. */
        pthread_mutex_lock(&g_lock);
        trig_drop_missed_locked(next, count);
        pthread_mutex_unlock(&g_lock);
        return;
    }
    set_precise(true);
}

/* ------------------------------------------------------------------------------------------ */
/* Instruction hooks (no internals)                                                           */
/* ------------------------------------------------------------------------------------------ */

/* Flush mechanism, precise blocks: before every instruction. The inline count runs after this
 * callback (registration order), so the total is this instruction's index. */
static void insn_exec_precise(unsigned vcpu, void *udata)
{
    vcpu = qi_current_vcpu(vcpu);
    const struct insn_info *in = udata;
    glue_block_start(vcpu);
    uint64_t count = glue_count_total();
    bool pc_hit = false;
    if (cfg.pc == PC_HOOK && v.pcs.n) {
        pthread_mutex_lock(&g_lock);
        pc_hit = trig_pc_armed_locked(in->pc);
        pthread_mutex_unlock(&g_lock);
    }
    if (trig_next_insn() == count || vtime_pending() || pc_hit) freeze_if_hit(vcpu, count, in->pc, false, 0, true);
    if (g_reset_wanted && !g_reset_pending) request_reset();
    maybe_leave_precise(count + 1);
}

/* Hook mode: before an instruction whose pc is armed. */
static void insn_exec_pc(unsigned vcpu, void *udata)
{
    vcpu = qi_current_vcpu(vcpu);
    const struct insn_info *in = udata;
    freeze_if_hit(vcpu, glue_count_total(), in->pc, false, 0, true);
}

/* Before every instruction of a traced range. The inline count runs after this callback
 * (registration order), so the total is this instruction's index. */
static void insn_exec_trace(unsigned vcpu, void *udata)
{
    vcpu = qi_current_vcpu(vcpu);
    const struct insn_info *in = udata;
    glue_block_start(vcpu);
    trace_note(vcpu, in->pc, glue_count_total());
}

/* Next-instruction mode: before the instruction after one whose access fired a watch. */
static void insn_exec_after_access(unsigned vcpu, void *udata)
{
    vcpu = qi_current_vcpu(vcpu);
    const struct insn_info *in = udata;
    if (vcpu_state(vcpu)->w_pending) freeze_if_hit(vcpu, glue_count_total(), in->pc, false, 0, true);
}

/* ------------------------------------------------------------------------------------------ */
/* Memory accesses (while a watchpoint is armed)                                              */
/* ------------------------------------------------------------------------------------------ */

static bool is_io(qf_meminfo info, uint64_t vaddr)
{
    struct qf_hwaddr *hw = qemu_plugin_get_hwaddr(info, vaddr);
    return hw && qemu_plugin_hwaddr_is_io(hw);
}

static void note_access(unsigned vcpu, struct qf_vcpu *vs, qf_meminfo info, uint64_t vaddr, unsigned size, bool store, const struct insn_info *in)
{
    bool io = is_io(info, vaddr);
    if (vs->w_pending) return; /* the first firing access of an instruction is reported */
    char val[40] = "";
    if (!io && size <= 8) {
        uint64_t value = 0;
        bool got = qi.mem ? qi_mem_rw(vcpu, vaddr, &value, size, false) == 0 : glue_mem_value(info, &value);
        if (got) snprintf(val, sizeof(val), " wv=0x%" PRIx64, value); /* little-endian guests */
    }
    snprintf(vs->w_info, sizeof(vs->w_info), " wk=%c wa=0x%" PRIx64 " ws=%u%s wpc=0x%" PRIx64 "%s", store ? 'w' : 'r', vaddr, size,
             val, in->pc, io ? " wio=1" : "");
    vs->w_pending = true;
    vs->w_late = false;
}

static void mem_cb(unsigned vcpu, qf_meminfo info, uint64_t vaddr, void *udata)
{
    vcpu = qi_current_vcpu(vcpu);
    uintptr_t ra = (uintptr_t)__builtin_return_address(0);
    if (!v.nw) return;
    const struct insn_info *in = udata;
    unsigned size = 1u << qemu_plugin_mem_size_shift(info);
    bool store = qemu_plugin_mem_is_store(info);
    int bit = store ? 2 : 1;
    if (!view_watch_match(vaddr, size, bit)) return;
    struct qf_vcpu *vs = vcpu_state(vcpu);
    /* the re-execution of an access already reported */
    if (vs->r_on && in->pc == vs->r_pc && glue_count_total() == vs->r_count + 1) return;

    pthread_mutex_lock(&g_lock);
    int fired = trig_collect_watch_locked(vcpu, vaddr, size, bit, &vs->w_tokens);
    pthread_mutex_unlock(&g_lock);
    if (!fired) return;
    note_access(vcpu, vs, info, vaddr, size, store, in);
    STORE(g_slow, 1);
    if (in->last || cfg.watch != WATCH_REPLAY) return; /* the next block start / instruction hook freezes */
    if (!is_io(info, vaddr) && !in->noreplay && !vs->r_on) {
        /* Re-execute this instruction alone: rewind to it, split its page so the lookup makes a
         * one-instruction block, and give back its count (the replay counts it again). */
        if (!vs->r_bp) vs->r_bp = qi_bp_insert(vcpu, in->pc | 1);
        if (vs->r_bp) {
            vs->r_on = true;
            vs->r_pc = in->pc;
            vs->r_count = glue_count_total() - 1;
            glue_count_adjust(vcpu, -1);
            restart_block(vcpu, ra, false, 0, false);
            /* not restarted: undo */
            glue_count_adjust(vcpu, 1);
            vs->r_on = false;
            qi_bp_remove(vcpu, vs->r_bp);
            vs->r_bp = NULL;
        }
    }
    vs->w_late = true; /* freezes at the next block start, after more instructions */
}

/* ------------------------------------------------------------------------------------------ */
/* Translation                                                                                */
/* ------------------------------------------------------------------------------------------ */

static struct insn_info *insn_info(struct qf_tb *tb, size_t i, size_t n)
{
    struct qf_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    struct insn_info *in = arena_alloc(sizeof(*in));
    uint8_t bytes[16];
    size_t len = glue_insn_bytes(insn, bytes, sizeof(bytes));
    in->pc = qemu_plugin_insn_vaddr(insn);
    in->next_pc = in->pc + qemu_plugin_insn_size(insn);
    in->last = i + 1 == n;
    in->noreplay = cfg.arch->store_exclusive(bytes, len);
    return in;
}

static void tb_trans(struct qf_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    struct block_info *b = arena_alloc(sizeof(*b));
    b->pc = qemu_plugin_tb_vaddr(tb);
    b->n = (uint32_t)n;
    b->tagged = false;
    b->first_off = 0;
    int flags = glue_freeze_flags();

    if (cfg.mech == MECH_FLUSH && g_translate_precise) {
        for (size_t i = 0; i < n; i++) {
            struct qf_insn *insn = qemu_plugin_tb_get_insn(tb, i);
            qemu_plugin_register_vcpu_insn_exec_cb(insn, insn_exec_precise, flags, insn_info(tb, i, n));
            glue_count_insn(insn);
        }
        return;
    }
    if (cfg.pc == PC_SPLIT && v.pcs.n && n > 1) {
        /* tag blocks with an armed pc after their first instruction (see walk_to_armed_pc) */
        for (size_t i = 1; i < n && !b->tagged; i++) {
            uint64_t ipc = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i));
            if (view_pc_armed(ipc)) {
                b->tagged = true;
                b->first_off = (uint32_t)(ipc - b->pc);
            }
        }
    }
    if (!lean_block_bare()) qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, flags, b);
    bool hook_pcs = cfg.pc == PC_HOOK;
    if (hook_pcs) pthread_mutex_lock(&g_lock);
    bool watch_after = false; /* next-instruction mode: the previous instruction may access memory */
    for (size_t i = 0; i < n; i++) {
        struct qf_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        struct insn_info *in = NULL;
        if (watch_after) {
            in = insn_info(tb, i, n);
            qemu_plugin_register_vcpu_insn_exec_cb(insn, insn_exec_after_access, flags, in);
        }
        uint64_t ipc = qemu_plugin_insn_vaddr(insn);
        if (v.ntr && view_traced(ipc)) {
            if (!in) in = insn_info(tb, i, n);
            qemu_plugin_register_vcpu_insn_exec_cb(insn, insn_exec_trace, QF_CB_NO_REGS, in);
        }
        if (hook_pcs && trig_pc_armed_locked(ipc)) {
            if (!in) in = insn_info(tb, i, n);
            qemu_plugin_register_vcpu_insn_exec_cb(insn, insn_exec_pc, flags, in);
        }
        glue_count_insn(insn);
        watch_after = false;
        if (v.watch_rw && cfg.watch != WATCH_NONE) {
            if (!in) in = insn_info(tb, i, n);
            /* Always both kinds: QEMU 7.2's filter is off by one (op_rw() tests `rw & (is_write + 1)`
             * with R=1, W=2), so an R-only callback would see only writes. We filter ourselves. */
            qemu_plugin_register_vcpu_mem_cb(insn, mem_cb, flags, QF_MEM_RW, in);
            watch_after = cfg.watch == WATCH_NEXT;
        }
    }
    if (hook_pcs) pthread_mutex_unlock(&g_lock);
}

/* ------------------------------------------------------------------------------------------ */

static void on_qemu_exit(void)
{
    trace_flush_all();
    send_line("! exit %" PRIu64, glue_count_total());
}

void exec_install(void) { register_callbacks(); }

void exec_start_frozen(void)
{
    pthread_mutex_lock(&g_lock);
    struct trigger *t = trig_add_locked(TRIG_INSN, "start");
    if (t) t->value = 0;
    trig_changed_locked();
    pthread_mutex_unlock(&g_lock);
    /* Instruction 0 is inside the first block: start in precise mode. */
    g_precise = true;
    if (cfg.mech == MECH_ONE_INSN) lean_one_insn(ONE_INSN_PRECISE, true);
    else g_translate_precise = true;
}
