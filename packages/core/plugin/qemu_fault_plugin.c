/*
 * qemu-fault TCG plugin: exact instruction counting and deterministic freezes.
 *
 * Built by packages/core/src/plugin/build-plugin.ts (cc -shared -fPIC -O2). It talks a small line
 * protocol over a unix socket that the Node side listens on (see DESIGN.md, "Protocol").
 *
 * Counting model: g_count is the number of guest instructions that have *started* executing since
 * QEMU started (an instruction that faults mid-block is counted, like a gdb single-step would).
 * A freeze "at N" blocks the vCPU thread right before instruction N (0-based) executes.
 *
 * Two precision mechanisms for instruction targets:
 *  - "flush" (public plugin API only): near a target the plugin flushes the code cache with
 *    qemu_plugin_reset() and re-translates every block with a callback on every instruction.
 *  - "singlestep" (optional, Debian-style builds that export QEMU's internal symbols): near a
 *    target the plugin sets QEMU's `singlestep` flag and kicks the vCPU so that blocks are one
 *    instruction long; then every freeze is at a block boundary and the CPU registers in env are
 *    exact, so they can be read and written.
 * With the internals, every freeze is at the start of a translation block (TB). On ARM QEMU 7.2
 * (TARGET_TB_PCREL) env, PC included, is exact at every TB start, chained or not.
 *
 * PC triggers ("split", internals): a block that starts at an armed pc freezes at its start. A
 * block translated with an armed pc *inside* it is tagged; when it starts executing and the pc is
 * still armed, the plugin inserts a QEMU breakpoint at that pc with neither BP_GDB nor BP_CPU, so
 * check_for_breakpoints() never stops at it but translates every *other* pc of its page (1 KiB on
 * M-profile) as a one-instruction block, and restarts the block: the vCPU then walks one
 * instruction at a time up to the pc, which starts a block of its own; the breakpoint goes away
 * when a block starts outside [start of the tagged block, pc]. Arming a pc invalidates the blocks of its page (tb_invalidate_phys_addr) so they are
 * re-translated (and tagged). Code that never enters such a block runs at full speed.
 *
 * Data watchpoints ("replay", internals): while one is armed, every memory instruction gets a
 * memory callback (after the access). A matching access that is the last instruction of its block
 * freezes at the next block start. In the middle of a block the plugin rewinds the vCPU to that
 * instruction (cpu_restore_state + cpu_loop_exit), re-executes it alone in a one-instruction block
 * and freezes right after it. Registers are exact in both cases.
 *
 * Register or memory writes at a freeze restart the current block (cpu_restore_state +
 * cpu_loop_exit) so that they, and a new PC, take effect.
 *
 * The plugin API declarations below are our own, written from QEMU's documented plugin API
 * (include/qemu/qemu-plugin.h, API version 1 as shipped by QEMU 7.2).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------ */
/* Plugin API (version 1), declared here                                                      */
/* ------------------------------------------------------------------------------------------ */

#ifndef QF_PLUGIN_API
#define QF_PLUGIN_API 1
#endif
#define QF_EXPORT __attribute__((visibility("default")))

typedef uint64_t qf_plugin_id;
struct qf_tb;     /* opaque: a block being translated */
struct qf_insn;   /* opaque: one instruction of that block */
struct qf_hwaddr; /* opaque: physical side of a memory access */
typedef uint32_t qf_meminfo;

typedef struct {
    const char *target_name;
    struct { int min; int cur; } version;
    bool system_emulation;
    union { struct { int smp_vcpus; int max_vcpus; } system; };
} qf_info;

enum { QF_CB_NO_REGS = 0, QF_CB_R_REGS = 1, QF_CB_RW_REGS = 2 };
enum { QF_INLINE_ADD_U64 = 0 };
enum { QF_MEM_R = 1, QF_MEM_W = 2, QF_MEM_RW = 3 };

typedef void (*qf_simple_cb)(qf_plugin_id id);
typedef void (*qf_udata_cb)(qf_plugin_id id, void *udata);
typedef void (*qf_vcpu_udata_cb)(unsigned int vcpu, void *udata);
typedef void (*qf_vcpu_mem_cb)(unsigned int vcpu, qf_meminfo info, uint64_t vaddr, void *udata);
typedef void (*qf_tb_trans_cb)(qf_plugin_id id, struct qf_tb *tb);

void qemu_plugin_reset(qf_plugin_id id, qf_simple_cb cb);
void qemu_plugin_register_vcpu_tb_trans_cb(qf_plugin_id id, qf_tb_trans_cb cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qf_tb *tb, qf_vcpu_udata_cb cb, int flags, void *udata);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qf_tb *tb, int op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qf_insn *insn, qf_vcpu_udata_cb cb, int flags, void *udata);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qf_insn *insn, int op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_mem_cb(struct qf_insn *insn, qf_vcpu_mem_cb cb, int flags, int rw, void *udata);
size_t qemu_plugin_tb_n_insns(const struct qf_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qf_tb *tb);
struct qf_insn *qemu_plugin_tb_get_insn(const struct qf_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qf_insn *insn);
size_t qemu_plugin_insn_size(const struct qf_insn *insn);
const void *qemu_plugin_insn_data(const struct qf_insn *insn);
unsigned int qemu_plugin_mem_size_shift(qf_meminfo info);
bool qemu_plugin_mem_is_store(qf_meminfo info);
struct qf_hwaddr *qemu_plugin_get_hwaddr(qf_meminfo info, uint64_t vaddr);
bool qemu_plugin_hwaddr_is_io(const struct qf_hwaddr *haddr);
void qemu_plugin_register_atexit_cb(qf_plugin_id id, qf_udata_cb cb, void *udata);
void qemu_plugin_outs(const char *s);

QF_EXPORT int qemu_plugin_version = QF_PLUGIN_API;

/* ------------------------------------------------------------------------------------------ */
/* Optional QEMU internals, looked up with dlsym (NULL when the binary does not export them)   */
/* ------------------------------------------------------------------------------------------ */

typedef struct { uint8_t *data; unsigned int len; } qf_gbytes; /* glib GByteArray */
static struct {
    int *singlestep;                                   /* softmmu/globals.c */
    void *(*get_cpu)(int index);                       /* qemu_get_cpu */
    void (*cpu_exit)(void *cpu);
    int64_t (*clock_get_ns)(int type);                 /* qemu_clock_get_ns, 1 = VIRTUAL */
    void (*timer_init_full)(void *ts, void *tlg, int type, int scale, int attrs,
                            void (*cb)(void *), void *opaque);
    void (*timer_mod_ns)(void *ts, int64_t expire);
    void (*timer_del)(void *ts);
    bool (*in_vcpu_thread)(void);
    int (*gdb_read_reg)(void *cpu, qf_gbytes *buf, int n);  /* arm_cpu_gdb_read_register */
    int (*gdb_write_reg)(void *cpu, uint8_t *buf, int n);   /* arm_cpu_gdb_write_register */
    qf_gbytes *(*gbytes_new)(void);
    void *(*gbytes_free)(qf_gbytes *a, bool free_segment);
    /* split blocks, restart blocks, memory */
    int (*bp_insert)(void *cpu, uint64_t pc, int flags, void **bp);   /* cpu_breakpoint_insert */
    void (*bp_remove_by_ref)(void *cpu, void *bp);                    /* cpu_breakpoint_remove_by_ref */
    /* 7.2.x: bool cpu_restore_state(cpu, host_pc); 7.2.0-rc had a third `will_exit` argument:
     * we pass `true` for it, which a two-argument version ignores. */
    bool (*restore_state)(void *cpu, uintptr_t host_pc, bool will_exit);
    void (*loop_exit)(void *cpu) __attribute__((noreturn));          /* cpu_loop_exit */
    void (*tb_flush)(void *cpu);
    int (*mem_rw_debug)(void *cpu, uint64_t addr, void *buf, size_t len, bool is_write); /* cpu_memory_rw_debug */
    void *(*get_as)(void *cpu, int asidx);                                            /* cpu_get_address_space */
    /* void tb_invalidate_phys_addr(AddressSpace *, hwaddr, MemTxAttrs): MemTxAttrs is a 4-byte
     * struct of bitfields, passed by value like a uint32_t; bit 0 = unspecified. */
    void (*tb_invalidate_addr)(void *as, uint64_t addr, uint32_t attrs);
    bool clock_ok, step_ok, regs_ok, split_ok, mem_ok;
} qi;

#define CLOCK_VIRTUAL 1

static void resolve_internals(void)
{
#define SYM(field, name) qi.field = (__typeof__(qi.field))dlsym(RTLD_DEFAULT, name)
    SYM(singlestep, "singlestep");
    SYM(get_cpu, "qemu_get_cpu");
    SYM(cpu_exit, "cpu_exit");
    SYM(clock_get_ns, "qemu_clock_get_ns");
    SYM(timer_init_full, "timer_init_full");
    SYM(timer_mod_ns, "timer_mod_ns");
    SYM(timer_del, "timer_del");
    SYM(in_vcpu_thread, "qemu_in_vcpu_thread");
    SYM(gdb_read_reg, "arm_cpu_gdb_read_register");
    SYM(gdb_write_reg, "arm_cpu_gdb_write_register");
    SYM(gbytes_new, "g_byte_array_new");
    SYM(gbytes_free, "g_byte_array_free");
    SYM(bp_insert, "cpu_breakpoint_insert");
    SYM(bp_remove_by_ref, "cpu_breakpoint_remove_by_ref");
    SYM(restore_state, "cpu_restore_state");
    SYM(loop_exit, "cpu_loop_exit");
    SYM(tb_flush, "tb_flush");
    SYM(mem_rw_debug, "cpu_memory_rw_debug");
    SYM(get_as, "cpu_get_address_space");
    SYM(tb_invalidate_addr, "tb_invalidate_phys_addr");
#undef SYM
    qi.step_ok = qi.singlestep && qi.get_cpu && qi.cpu_exit;
    qi.clock_ok = qi.clock_get_ns && qi.timer_init_full && qi.timer_mod_ns && qi.timer_del && qi.in_vcpu_thread &&
                  qi.get_cpu && qi.cpu_exit;
    qi.regs_ok = qi.get_cpu && qi.gdb_read_reg && qi.gdb_write_reg && qi.gbytes_new && qi.gbytes_free;
    qi.split_ok = qi.step_ok && qi.bp_insert && qi.bp_remove_by_ref && qi.restore_state && qi.loop_exit && qi.tb_flush;
    qi.mem_ok = qi.get_cpu && qi.mem_rw_debug;
}

/* ------------------------------------------------------------------------------------------ */
/* State                                                                                      */
/* ------------------------------------------------------------------------------------------ */

#define MAX_TRIGGERS 64
#define TOKEN_LEN 48
/* A block has at most 512 instructions (TCG_MAX_INSNS); switch to precise mode when a target
 * could fall inside the next block, back to fast mode when none is within 2 * MARGIN. */
#define MARGIN 520
/* QEMU's breakpoint flags; ours has neither BP_GDB (0x10) nor BP_CPU (0x20), so it never stops the
 * vCPU and `gdb` / the ARM debug code never remove it. */
#define QF_BP_FLAGS 0
#define MAX_MEM_IO 1024 /* read/write commands */
#define ADDR_MAX 0xffffffffull /* 32-bit guest */

enum trig_kind { TRIG_NONE, TRIG_INSN, TRIG_PC, TRIG_WATCH };
struct trigger {
    enum trig_kind kind;
    char token[TOKEN_LEN];
    uint64_t value;   /* instruction index, pc or watch address */
    uint64_t len;     /* watch: bytes */
    uint64_t skip;    /* pc/watch triggers: number of hits to let pass first */
    int rw;           /* watch: QF_MEM_R/W/RW */
    bool keep;        /* stays armed after firing (watchpoints always) */
};

enum precise_mech { MECH_FLUSH, MECH_SINGLESTEP };
enum count_mode { COUNT_INSN_INLINE, COUNT_TB_INLINE, COUNT_TB_CB, COUNT_INSN_CB, COUNT_NONE };
enum pc_mode { PC_HOOK, PC_SPLIT, PC_STEP };        /* pc-only hooks / split blocks / singlestep */
enum watch_mode { WATCH_NONE, WATCH_REPLAY, WATCH_STEP };

static qf_plugin_id g_id;
static uint64_t g_count;                      /* written by the vCPU thread only */
static volatile uint64_t g_next_insn = UINT64_MAX; /* nearest instruction target */
static volatile int g_have_pc;                /* any pc trigger armed (hook mode) */
static bool g_precise;                        /* instruction-target window (vCPU thread) */
static bool g_forced_step;                    /* singlestep because of pc/watch mode step (vCPU thread) */
static bool g_translate_precise;              /* flush mechanism: per-insn callbacks when translating */
static bool g_reset_pending, g_reset_wanted;
static enum precise_mech g_mech = MECH_FLUSH;
static enum pc_mode g_pc_mode = PC_HOOK;
static enum watch_mode g_watch_mode = WATCH_NONE;
static enum count_mode g_count_mode = COUNT_INSN_INLINE;
static bool g_bench;                          /* no socket: counting benchmark only */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* triggers, freeze state */
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t g_work_cond = PTHREAD_COND_INITIALIZER;
static struct trigger g_trig[MAX_TRIGGERS];
static uint64_t g_pcs[MAX_TRIGGERS];          /* copy of armed pcs for translation (hook mode) */
static int g_npcs;

/* Set by the reader thread when the trigger table changed; the vCPU thread then syncs its private
 * view (below) at the next block start or when released from a freeze. */
static volatile int g_attn;
/* Anything for tb_exec to look at besides instruction targets (attention, pcs, watch, replay). */
static volatile int g_slow;

/* vCPU-private view of the armed pcs and watch ranges (written by the vCPU thread only). */
static uint64_t v_pcs[MAX_TRIGGERS];
static int v_npcs;
static uint64_t v_pcmap[4];                   /* 256-bit filter on (pc >> 1) & 255 */
struct wrange { uint64_t lo, hi; int rw; };
static struct wrange v_w[MAX_TRIGGERS];
static int v_nw;
static int v_watch_rw;                        /* kinds of the armed watchpoints (0: memory callbacks off) */
static void *v_tmp_bp;                        /* replay: splits the page of the replayed insn */
static void *v_walk_bp;                       /* split: walking one instruction at a time to a pc */
static uint64_t v_walk_lo, v_walk_hi;         /* ... from the start of a tagged block to that pc */

/* Watch hit waiting for the next block start (vCPU thread). */
static bool w_pending, w_late;
static char w_tokens[512];
static char w_info[160];
/* Replay of a memory instruction in its own block. */
static bool r_on;
static uint64_t r_count, r_pc;
/* Restart suppression: do not re-fire pc triggers at the (count, pc) a restart came from. */
static uint64_t s_count = UINT64_MAX, s_pc;

static int g_sock = -1;
static pthread_mutex_t g_wlock = PTHREAD_MUTEX_INITIALIZER;
static volatile bool g_connected;
static bool g_exit_on_disconnect;

/* Freeze handshake */
static bool g_frozen, g_release;
static bool g_frozen_exact;                   /* env registers exact at this freeze */
static bool g_frozen_restartable;             /* at a block start: writes can restart the block */
static unsigned g_frozen_vcpu;
static uint64_t g_frozen_pc;
static bool g_dirty;                          /* registers/memory written at this freeze */
static bool g_pc_pending;                     /* setreg 15 at this freeze: applied on restart */
static uint32_t g_pc_value;
/* Memory work done by the frozen vCPU thread for the reader thread */
static struct { bool pending, done, is_write; uint64_t addr; size_t len; uint8_t *buf; int rc; } g_work;
/* vtime stop */
static uint8_t g_timer_storage[128] __attribute__((aligned(16)));
static bool g_timer_ready, g_timer_armed;
static char g_vtoken[TOKEN_LEN];
static volatile int g_vpending;               /* vtime timer ran; freeze at the next block start */
static int64_t g_vfired_ns;
static bool g_vfired_main;

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

/* ------------------------------------------------------------------------------------------ */
/* Socket I/O                                                                                 */
/* ------------------------------------------------------------------------------------------ */

static void send_line(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof(buf) - 2) n = sizeof(buf) - 2;
    buf[n++] = '\n';
    pthread_mutex_lock(&g_wlock);
    if (g_sock >= 0 && g_connected) {
        const char *p = buf;
        while (n > 0) {
            ssize_t w = send(g_sock, p, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) { g_connected = false; break; }
            p += w; n -= (int)w;
        }
    }
    pthread_mutex_unlock(&g_wlock);
}

/* ------------------------------------------------------------------------------------------ */
/* Triggers (g_lock held)                                                                     */
/* ------------------------------------------------------------------------------------------ */

static bool uses_view(void) { return g_pc_mode != PC_HOOK || g_watch_mode != WATCH_NONE; }

static void recompute_locked(void)
{
    uint64_t next = UINT64_MAX;
    g_npcs = 0;
    for (int i = 0; i < MAX_TRIGGERS; i++) {
        if (g_trig[i].kind == TRIG_INSN && g_trig[i].value < next) next = g_trig[i].value;
        if (g_trig[i].kind == TRIG_PC) g_pcs[g_npcs++] = g_trig[i].value;
    }
    STORE(g_next_insn, next);
    STORE(g_have_pc, g_npcs > 0);
    if (uses_view()) {
        STORE(g_attn, 1);
        STORE(g_slow, 1);
    }
}

static bool pc_armed(uint64_t pc)
{
    for (int i = 0; i < g_npcs; i++)
        if (g_pcs[i] == pc) return true;
    return false;
}

static inline bool vpc_maybe(uint64_t pc)
{
    unsigned b = (unsigned)(pc >> 1) & 255;
    return (v_pcmap[b >> 6] >> (b & 63)) & 1;
}
static bool vpc_armed(uint64_t pc)
{
    if (!vpc_maybe(pc)) return false;
    for (int i = 0; i < v_npcs; i++)
        if (v_pcs[i] == pc) return true;
    return false;
}

/* ------------------------------------------------------------------------------------------ */
/* Mode switching (vCPU thread)                                                                */
/* ------------------------------------------------------------------------------------------ */

static void tb_trans(qf_plugin_id id, struct qf_tb *tb);

static void say(const char *msg)
{
    qemu_plugin_outs(msg);          /* only shown with -d plugin */
    fputs(msg, stderr);
}
static void on_exit_cb(qf_plugin_id id, void *u);

static void reset_done(qf_plugin_id id)
{
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    g_reset_pending = false;
}

static void request_reset(void)
{
    if (g_reset_pending) { g_reset_wanted = true; return; }
    g_reset_pending = true;
    g_reset_wanted = false;
    qemu_plugin_reset(g_id, reset_done);
}

/* Singlestep mechanism: blocks are one instruction long while an instruction target is near or a
 * pc/watch mode needs it. Returns true if the flag changed. */
static bool apply_step(unsigned vcpu)
{
    int want = (g_precise || g_forced_step) ? 1 : 0;
    if (*qi.singlestep == want) return false;
    *qi.singlestep = want;
    qi.cpu_exit(qi.get_cpu((int)vcpu)); /* leave the chain at the next block start */
    return true;
}

static void set_precise(unsigned vcpu, bool on)
{
    if (g_precise == on) return;
    g_precise = on;
    if (g_mech == MECH_SINGLESTEP) {
        apply_step(vcpu);
    } else {
        g_translate_precise = on;
        request_reset();
    }
}

/*
 * Brings the vCPU-private view (armed pcs, watch ranges, breakpoints) up to date with the trigger
 * table. vCPU thread only. Returns true if the block being executed may have to be re-translated:
 * a new pc was armed (its page is split now), memory callbacks were switched on or off, or
 * singlestep was switched on.
 */
static bool sync_view(unsigned vcpu)
{
    if (!uses_view()) return false;
    void *cpu = qi.get_cpu((int)vcpu);
    bool retranslate = false, need_flush = false;
    uint64_t old_pcs[MAX_TRIGGERS];
    int old_npcs = v_npcs;
    memcpy(old_pcs, v_pcs, sizeof(uint64_t) * (size_t)v_npcs);

    pthread_mutex_lock(&g_lock);
    STORE(g_attn, 0);
    v_npcs = 0;
    v_nw = 0;
    memset(v_pcmap, 0, sizeof(v_pcmap));
    for (int i = 0; i < MAX_TRIGGERS; i++) {
        struct trigger *t = &g_trig[i];
        if (t->kind == TRIG_PC) {
            bool dup = false;
            for (int j = 0; j < v_npcs; j++) dup |= v_pcs[j] == t->value;
            if (dup) continue;
            v_pcs[v_npcs++] = t->value;
            unsigned b = (unsigned)(t->value >> 1) & 255;
            v_pcmap[b >> 6] |= 1ull << (b & 63);
        } else if (t->kind == TRIG_WATCH) {
            v_w[v_nw].lo = t->value;
            v_w[v_nw].hi = t->value + t->len;
            v_w[v_nw].rw = t->rw;
            v_nw++;
        }
    }
    pthread_mutex_unlock(&g_lock);

    if (g_pc_mode == PC_SPLIT) {
        /* Blocks translated before a pc was armed may contain it untagged: drop its page's blocks. */
        for (int j = 0; j < v_npcs; j++) {
            bool had = false;
            for (int i = 0; i < old_npcs; i++) had |= old_pcs[i] == v_pcs[j];
            if (had) continue;
            if (qi.get_as && qi.tb_invalidate_addr) {
                void *as = qi.get_as(cpu, 0);
                if (as) qi.tb_invalidate_addr(as, v_pcs[j], 1 /* MEMTXATTRS_UNSPECIFIED */);
                else need_flush = true;
            } else {
                need_flush = true;
            }
            retranslate = true;
        }
    }
    if (need_flush) qi.tb_flush(cpu);
    int watch_rw = 0;
    for (int i = 0; i < v_nw; i++) watch_rw |= v_w[i].rw;
    if (watch_rw != v_watch_rw && g_watch_mode != WATCH_NONE) {
        v_watch_rw = watch_rw;
        qi.tb_flush(cpu); /* async: done when the vCPU next leaves the cpu loop (a restart does) */
        retranslate = true;
    }
    bool forced = (g_pc_mode == PC_STEP && v_npcs > 0) || (g_watch_mode == WATCH_STEP && v_nw > 0);
    if (forced != g_forced_step) {
        g_forced_step = forced;
        if (apply_step(vcpu) && forced) retranslate = true;
    }
    STORE(g_slow, 1); /* recomputed by tb_exec */
    return retranslate;
}

/* ------------------------------------------------------------------------------------------ */
/* Block restart                                                                               */
/* ------------------------------------------------------------------------------------------ */

/*
 * Abandons the block being executed, at the point `ra` (a return address inside its generated
 * code, i.e. our callback's caller) and continues at the cpu loop, which looks up (or translates)
 * a block for env's PC. cpu_restore_state sets PC to the instruction containing `ra` and gives
 * the instructions not executed back to icount. `new_pc` replaces PC afterwards. Does not return
 * (unless the restore fails).
 */
static void restart_block(unsigned vcpu, uintptr_t ra, bool set_pc, uint32_t new_pc)
{
    void *cpu = qi.get_cpu((int)vcpu);
    /* false: `ra` is not in a block (cannot happen for our direct callbacks); then carry on */
    if (!qi.restore_state(cpu, ra, true)) {
        say("qemu-fault plugin: cpu_restore_state failed; not restarting the block\n");
        return;
    }
    if (set_pc) {
        uint8_t b[4];
        memcpy(b, &new_pc, 4);
        qi.gdb_write_reg(cpu, b, 15);
    }
    qi.loop_exit(cpu);
}

/* ------------------------------------------------------------------------------------------ */
/* Freeze                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void append_token(char *tokens, size_t cap, const char *tok)
{
    size_t used = strlen(tokens);
    /* no duplicates */
    const char *p = tokens;
    size_t tl = strlen(tok);
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == tl && !strncmp(p, tok, tl)) return;
        if (!e) break;
        p = e + 1;
    }
    snprintf(tokens + used, cap - used, "%s%s", used ? "," : "", tok);
}

/* Collects the triggers that fire before instruction `count` at `pc`; returns how many. */
static int collect_hits_locked(uint64_t count, uint64_t pc, bool pcs_ok, char *tokens, size_t cap)
{
    int hits = 0;
    bool changed = false;
    for (int i = 0; i < MAX_TRIGGERS; i++) {
        struct trigger *t = &g_trig[i];
        bool fire = false;
        if (t->kind == TRIG_INSN && t->value == count) fire = true;
        if (t->kind == TRIG_PC && t->value == pc && pcs_ok) {
            if (t->skip > 0) t->skip--;
            else fire = true;
        }
        if (!fire) continue;
        append_token(tokens, cap, t->token);
        if (!t->keep) { t->kind = TRIG_NONE; changed = true; }
        hits++;
    }
    if (changed) recompute_locked();
    return hits;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static uint64_t g_last_wake_ns; /* when the vCPU last left a freeze (for latency measurements) */

static void do_mem_work_locked(void)
{
    /* vCPU thread, frozen: g_work describes a read or write of guest memory. */
    void *cpu = qi.get_cpu((int)g_frozen_vcpu);
    pthread_mutex_unlock(&g_lock);
    int rc = qi.mem_rw_debug(cpu, g_work.addr, g_work.buf, g_work.len, g_work.is_write);
    pthread_mutex_lock(&g_lock);
    g_work.rc = rc;
    g_work.pending = false;
    g_work.done = true;
    pthread_cond_broadcast(&g_work_cond);
}

/*
 * Freezes the vCPU if any trigger fires here. `ra` is the return address into the block's code
 * when we are at a block start with the internals (0 otherwise): then register and memory writes,
 * newly armed pcs and watchpoints take effect by restarting the block.
 */
static void freeze(unsigned vcpu, uint64_t count, uint64_t pc, bool exact, uintptr_t ra, bool pcs_ok)
{
    char tokens[640] = "", extra[320] = "";
    pthread_mutex_lock(&g_lock);
    int hits = collect_hits_locked(count, pc, pcs_ok, tokens, sizeof(tokens));
    if (LOAD(g_vpending)) {
        STORE(g_vpending, 0);
        g_timer_armed = false;
        append_token(tokens, sizeof(tokens), g_vtoken);
        snprintf(extra, sizeof(extra), " v=%" PRId64 " vt=%s", g_vfired_ns, g_vfired_main ? "main" : "vcpu");
        hits++;
        exact = true; /* first block after the cpu loop ran timers: env, PC included, is exact */
    }
    if (w_pending) {
        w_pending = false;
        if (w_tokens[0]) {
            char *save = NULL;
            for (char *t = strtok_r(w_tokens, ",", &save); t; t = strtok_r(NULL, ",", &save))
                append_token(tokens, sizeof(tokens), t);
            size_t used = strlen(extra);
            snprintf(extra + used, sizeof(extra) - used, "%s%s", w_info, w_late ? " wlate=1" : "");
            hits++;
        }
        w_tokens[0] = 0;
    }
    if (!hits || !g_connected) { pthread_mutex_unlock(&g_lock); return; }
    g_frozen = true;
    g_frozen_exact = exact;
    g_frozen_restartable = ra != 0 && qi.split_ok;
    g_frozen_vcpu = vcpu;
    g_frozen_pc = pc;
    g_dirty = false;
    g_pc_pending = false;
    g_release = false;
    pthread_mutex_unlock(&g_lock);

    send_line("! hit %" PRIu64 " 0x%" PRIx64 " %s %s t=%" PRIu64 " w=%" PRIu64 "%s", count, pc,
              exact ? "exact" : "pc-only", tokens, mono_ns(), g_last_wake_ns, extra);

    pthread_mutex_lock(&g_lock);
    for (;;) {
        if (g_work.pending) { do_mem_work_locked(); continue; }
        if (g_release || !g_connected) break;
        pthread_cond_wait(&g_cond, &g_lock);
    }
    g_frozen = false;
    bool dirty = g_dirty, set_pc = g_pc_pending;
    uint32_t new_pc = g_pc_value;
    g_dirty = g_pc_pending = false;
    pthread_mutex_unlock(&g_lock);
    g_last_wake_ns = mono_ns();

    bool retranslate = LOAD(g_attn) ? sync_view(vcpu) : false;
    if (ra && qi.split_ok && (dirty || set_pc || retranslate)) {
        /* Do not fire the pc triggers of this point again when the block restarts here. */
        s_count = count;
        s_pc = pc;
        restart_block(vcpu, ra, set_pc, new_pc);
    }
}

/* Checks after a freeze (or any instruction target change) whether to leave precise mode. */
static void maybe_leave_precise(unsigned vcpu, uint64_t count)
{
    uint64_t next = LOAD(g_next_insn);
    if (g_precise && (next == UINT64_MAX || next > count + 2 * MARGIN)) set_precise(vcpu, false);
}

/* ------------------------------------------------------------------------------------------ */
/* Execution callbacks                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* tb_exec udata: pc << 23 | tagged << 22 | (offset of the last instruction) << 10 | n */
#define TB_UDATA(pc, n) ((void *)(uintptr_t)(((uint64_t)(pc) << 23) | (uint64_t)(n)))
#define TB_UDATA_TAGGED(pc, n, last_off) \
    ((void *)(uintptr_t)(((uint64_t)(pc) << 23) | (1ull << 22) | ((uint64_t)(last_off) << 10) | (uint64_t)(n)))
#define TB_PC(u) ((uint64_t)(uintptr_t)(u) >> 23)
#define TB_N(u) ((uint64_t)(uintptr_t)(u) & 0x3ff)
#define TB_TAGGED(u) (((uint64_t)(uintptr_t)(u) >> 22) & 1)
#define TB_LAST_OFF(u) (((uint64_t)(uintptr_t)(u) >> 10) & 0xfff)

static void drop_missed_insn_targets(uint64_t next, uint64_t count)
{
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < MAX_TRIGGERS; i++) {
        if (g_trig[i].kind == TRIG_INSN && g_trig[i].value == next) {
            send_line("! miss %s %" PRIu64, g_trig[i].token, count);
            g_trig[i].kind = TRIG_NONE;
        }
    }
    recompute_locked();
    pthread_mutex_unlock(&g_lock);
}

/* Start of every fast-mode block. g_count counts every instruction started before this block. */
static void tb_exec(unsigned vcpu, void *udata)
{
    uintptr_t ra = (uintptr_t)__builtin_return_address(0);
    uint64_t n = TB_N(udata);
    uint64_t pc = TB_PC(udata);
    uint64_t count = g_count;
    uint64_t next = LOAD(g_next_insn);
    bool at_start_exact = g_mech == MECH_SINGLESTEP;

    if (g_reset_wanted && !g_reset_pending) request_reset();
    if (LOAD(g_slow) || LOAD(g_attn) || LOAD(g_vpending) || (v_npcs && (TB_TAGGED(udata) || vpc_maybe(pc)))) {
        void *cpu = qi.get_cpu ? qi.get_cpu((int)vcpu) : NULL; /* only used with the internals */
        /* The trigger table changed: a restart makes invalidated blocks / memory callbacks apply
         * to this block too. No trigger has been looked at yet, so nothing is suppressed. */
        if (LOAD(g_attn) && sync_view(vcpu)) restart_block(vcpu, ra, false, 0);
        if (r_on && count == r_count && pc == r_pc) {
            /* the one-instruction block that re-executes a watched access: freeze after it */
            return;
        }
        if (r_on) {
            r_on = false;
            if (v_tmp_bp) { qi.bp_remove_by_ref(cpu, v_tmp_bp); v_tmp_bp = NULL; }
        }
        bool pcs_ok = !(count == s_count && pc == s_pc);
        bool pc_hit = pcs_ok && g_pc_mode != PC_HOOK && v_npcs && vpc_armed(pc);
        /* The walk ends when a block starts outside [start of the tagged block, armed pc]. (Not at
         * the pc itself: in a loop around it, the breakpoint staying in place avoids a restart per
         * iteration.) */
        if (v_walk_bp && (pc < v_walk_lo || pc > v_walk_hi)) {
            qi.bp_remove_by_ref(cpu, v_walk_bp);
            v_walk_bp = NULL;
        }
        if (g_pc_mode == PC_SPLIT && TB_TAGGED(udata) && v_npcs && n > 1 && !(v_walk_bp && v_walk_lo == pc)) {
            /* A block with an armed pc inside: walk to it one instruction at a time. */
            uint64_t end = pc + TB_LAST_OFF(udata), target = UINT64_MAX;
            for (int i = 0; i < v_npcs; i++)
                if (v_pcs[i] > pc && v_pcs[i] <= end && v_pcs[i] < target) target = v_pcs[i];
            if (target != UINT64_MAX) {
                void *ref = NULL;
                if (v_walk_bp) { qi.bp_remove_by_ref(cpu, v_walk_bp); v_walk_bp = NULL; }
                if (qi.bp_insert(cpu, target, QF_BP_FLAGS, &ref) == 0 && ref) {
                    v_walk_bp = ref;
                    v_walk_lo = pc;
                    v_walk_hi = target;
                    STORE(g_slow, 1);
                    restart_block(vcpu, ra, false, 0);
                }
            }
        }
        if (w_pending || LOAD(g_vpending) || pc_hit || next == count) {
            freeze(vcpu, count, pc, at_start_exact, ra, pcs_ok);
            next = LOAD(g_next_insn);
        }
        STORE(g_slow, r_on || w_pending || v_walk_bp != NULL);
    }
    if (next == UINT64_MAX || next >= count + n + MARGIN) {
        if (g_precise) maybe_leave_precise(vcpu, count);
        return;
    }
    if (next == count) {
        /* At a block start: with the singlestep mechanism env (incl. PC) is exact here. */
        freeze(vcpu, count, pc, at_start_exact, ra, !(count == s_count && pc == s_pc));
        maybe_leave_precise(vcpu, count);
        return;
    }
    if (next < count || (next < count + n && !g_precise)) {
        /* The target is behind us or inside this block, which has no per-instruction hooks
         * (armed too late, e.g. while the guest was running). Report and drop it. */
        drop_missed_insn_targets(next, count);
        return;
    }
    set_precise(vcpu, true);
}

/* Flush mechanism, precise blocks: called before every instruction; maintains g_count itself. */
static void insn_exec_precise(unsigned vcpu, void *udata)
{
    uint64_t pc = (uint64_t)(uintptr_t)udata;
    uint64_t count = g_count;
    if (LOAD(g_next_insn) == count || LOAD(g_vpending) || (LOAD(g_have_pc) && pc_armed(pc)))
        freeze(vcpu, count, pc, false, 0, true);
    g_count = count + 1;
    if (g_reset_wanted && !g_reset_pending) request_reset();
    maybe_leave_precise(vcpu, count + 1);
}

/* Hook mode (no internals): a hook on an instruction whose pc is armed. It runs before the
 * instruction's inline count op (registration order), so g_count is the index of this instruction. */
static void insn_exec_pc(unsigned vcpu, void *udata)
{
    uint64_t pc = (uint64_t)(uintptr_t)udata;
    if (LOAD(g_have_pc) && pc_armed(pc)) freeze(vcpu, g_count, pc, false, 0, true);
}

/* Memory callbacks (while a watchpoint is armed). udata: pc << 8 | flags. */
#define MEM_LAST 1     /* last instruction of its block */
#define MEM_NOREPLAY 2 /* store-exclusive: re-executing it would fail the second time */
#define MEM_UDATA(pc, f) ((void *)(uintptr_t)(((uint64_t)(pc) << 8) | (uint64_t)(f)))

static void mem_cb(unsigned vcpu, qf_meminfo info, uint64_t vaddr, void *udata)
{
    uintptr_t ra = (uintptr_t)__builtin_return_address(0);
    int nw = v_nw;
    if (!nw) return;
    unsigned size = 1u << qemu_plugin_mem_size_shift(info);
    bool store = qemu_plugin_mem_is_store(info);
    int bit = store ? QF_MEM_W : QF_MEM_R;
    bool any = false;
    for (int i = 0; i < nw; i++)
        if ((v_w[i].rw & bit) && vaddr < v_w[i].hi && vaddr + size > v_w[i].lo) { any = true; break; }
    if (!any) return;
    uint64_t ipc = (uint64_t)(uintptr_t)udata >> 8;
    unsigned flags = (unsigned)((uintptr_t)udata & 0xff);
    /* The re-execution of an access already reported. */
    if (r_on && ipc == r_pc && g_count == r_count + 1) return;

    bool fired = false;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < MAX_TRIGGERS; i++) {
        struct trigger *t = &g_trig[i];
        if (t->kind != TRIG_WATCH || !(t->rw & bit) || !(vaddr < t->value + t->len && vaddr + size > t->value)) continue;
        if (t->skip > 0) { t->skip--; continue; }
        append_token(w_tokens, sizeof(w_tokens), t->token);
        fired = true;
    }
    pthread_mutex_unlock(&g_lock);
    if (!fired) return;

    struct qf_hwaddr *hw = qemu_plugin_get_hwaddr(info, vaddr);
    bool io = hw && qemu_plugin_hwaddr_is_io(hw);
    if (!w_pending) {
        /* the first firing access of this instruction is reported */
        char val[40] = "";
        if (!io && size <= 8) {
            uint64_t v = 0;
            if (qi.mem_rw_debug(qi.get_cpu((int)vcpu), vaddr, &v, size, false) == 0)
                snprintf(val, sizeof(val), " wv=0x%" PRIx64, v); /* little-endian guest */
        }
        snprintf(w_info, sizeof(w_info), " wk=%c wa=0x%" PRIx64 " ws=%u%s wpc=0x%" PRIx64 "%s", store ? 'w' : 'r',
                 vaddr, size, val, ipc, io ? " wio=1" : "");
        w_pending = true;
        w_late = false;
    }
    STORE(g_slow, 1);
    if (flags & MEM_LAST) return; /* the next block start is right after this instruction */
    if (g_watch_mode == WATCH_REPLAY && !io && !(flags & MEM_NOREPLAY) && !r_on) {
        /* Re-execute this instruction alone: rewind to it, split its page so the lookup makes a
         * one-instruction block, and give back its count (the replay counts it again). */
        void *cpu = qi.get_cpu((int)vcpu);
        void *ref = NULL;
        if (!v_tmp_bp && qi.bp_insert(cpu, ipc | 1, QF_BP_FLAGS, &ref) == 0) v_tmp_bp = ref;
        if (v_tmp_bp) {
            r_on = true;
            r_pc = ipc;
            r_count = g_count - 1;
            g_count -= 1;
            restart_block(vcpu, ra, false, 0);
            /* not restarted: undo */
            g_count += 1;
            r_on = false;
            qi.bp_remove_by_ref(cpu, v_tmp_bp);
            v_tmp_bp = NULL;
        }
    }
    w_late = true; /* freezes at the next block start, after more instructions */
}

/* Benchmark-only callbacks */
static void bench_tb_cb(unsigned vcpu, void *udata) { (void)vcpu; g_count += TB_N(udata); }
static void bench_insn_cb(unsigned vcpu, void *udata) { (void)vcpu; (void)udata; g_count++; }

static void bench_exit(qf_plugin_id id, void *u)
{
    (void)id; (void)u;
    fprintf(stderr, "qemu-fault plugin: bench count %" PRIu64 "\n", g_count);
}

static bool is_store_exclusive(const struct qf_insn *insn)
{
    if (qemu_plugin_insn_size(insn) != 4) return false;
    const uint8_t *d = qemu_plugin_insn_data(insn);
    if (!d) return false;
    uint16_t hw1 = (uint16_t)(d[0] | (d[1] << 8));
    /* Thumb-2: STREX 0xE84x; STREXB/H/D and STL* 0xE8Cx (loads are 0xE85x / 0xE8Dx) */
    return (hw1 & 0xFFF0) == 0xE840 || (hw1 & 0xFFF0) == 0xE8C0;
}

static void tb_trans(qf_plugin_id id, struct qf_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    uint64_t pc = qemu_plugin_tb_vaddr(tb);

    if (g_bench) {
        switch (g_count_mode) {
        case COUNT_TB_CB: qemu_plugin_register_vcpu_tb_exec_cb(tb, bench_tb_cb, QF_CB_NO_REGS, TB_UDATA(pc, n)); break;
        case COUNT_TB_INLINE: qemu_plugin_register_vcpu_tb_exec_inline(tb, QF_INLINE_ADD_U64, &g_count, n); break;
        case COUNT_INSN_INLINE:
            for (size_t i = 0; i < n; i++)
                qemu_plugin_register_vcpu_insn_exec_inline(qemu_plugin_tb_get_insn(tb, i), QF_INLINE_ADD_U64, &g_count, 1);
            qemu_plugin_register_vcpu_tb_exec_cb(tb, bench_tb_cb, QF_CB_NO_REGS, TB_UDATA(pc, 0));
            break;
        case COUNT_INSN_CB:
            for (size_t i = 0; i < n; i++)
                qemu_plugin_register_vcpu_insn_exec_cb(qemu_plugin_tb_get_insn(tb, i), bench_insn_cb, QF_CB_NO_REGS, NULL);
            break;
        case COUNT_NONE: break;
        }
        return;
    }

    if (g_mech == MECH_FLUSH && g_translate_precise) {
        for (size_t i = 0; i < n; i++) {
            struct qf_insn *insn = qemu_plugin_tb_get_insn(tb, i);
            qemu_plugin_register_vcpu_insn_exec_cb(insn, insn_exec_precise, QF_CB_NO_REGS,
                                                   (void *)(uintptr_t)qemu_plugin_insn_vaddr(insn));
        }
        return;
    }
    bool tagged = false;
    uint64_t last_off = 0;
    if (g_pc_mode == PC_SPLIT && v_npcs && n > 1) {
        /* tag blocks with an armed pc after their first instruction (see tb_exec) */
        for (size_t i = 1; i < n; i++) tagged |= vpc_armed(qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i)));
        last_off = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, n - 1)) - pc;
        if (last_off > 0xfff) tagged = false; /* cannot happen: blocks stay within a page */
    }
    qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QF_CB_NO_REGS, tagged ? TB_UDATA_TAGGED(pc, n, last_off) : TB_UDATA(pc, n));
    bool hook_pcs = g_pc_mode == PC_HOOK;
    if (hook_pcs) pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < n; i++) {
        struct qf_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t ipc = qemu_plugin_insn_vaddr(insn);
        if (g_count_mode == COUNT_TB_INLINE) {
            if (i == 0) qemu_plugin_register_vcpu_tb_exec_inline(tb, QF_INLINE_ADD_U64, &g_count, n);
        } else {
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QF_INLINE_ADD_U64, &g_count, 1);
        }
        /* Hook mode: hook armed pcs (pc-only freezes). */
        if (hook_pcs && g_npcs && pc_armed(ipc))
            qemu_plugin_register_vcpu_insn_exec_cb(insn, insn_exec_pc, QF_CB_NO_REGS, (void *)(uintptr_t)ipc);
        if (v_watch_rw) {
            unsigned f = (i + 1 == n ? MEM_LAST : 0) | (is_store_exclusive(insn) ? MEM_NOREPLAY : 0);
            /* Always QF_MEM_RW: QEMU 7.2's filter is off by one (op_rw() tests `rw & (is_write + 1)`
             * with R=1, W=2), so an R-only callback would see only writes. We filter ourselves. */
            qemu_plugin_register_vcpu_mem_cb(insn, mem_cb, QF_CB_NO_REGS, QF_MEM_RW, MEM_UDATA(ipc, f));
        }
    }
    if (hook_pcs) pthread_mutex_unlock(&g_lock);
}

/* ------------------------------------------------------------------------------------------ */
/* Virtual-time stop (optional internals)                                                     */
/* ------------------------------------------------------------------------------------------ */

/*
 * The timer runs when QEMU_CLOCK_VIRTUAL reaches the armed time: under icount the vCPU's instruction
 * budget ends exactly at the first instruction boundary at or after it (or, if the vCPU is idle in
 * WFI, the idle warp stops exactly there). Either way the vCPU executes nothing more until timers
 * have run, and its next block is entered from the cpu loop, so env is exact there. We do not stop
 * the VM (a vm_stop() from here lets QEMU 7.2 warp the clock to the next deadline while the stop
 * is processed, because a stopped vCPU counts as idle); instead the next block start freezes.
 */
static void vtimer_cb(void *opaque)
{
    (void)opaque;
    g_vfired_ns = qi.clock_get_ns(CLOCK_VIRTUAL);
    g_vfired_main = !qi.in_vcpu_thread();
    STORE(g_vpending, 1);
}

/* ------------------------------------------------------------------------------------------ */
/* Commands (reader thread)                                                                   */
/* ------------------------------------------------------------------------------------------ */

static int regs_read(char *out, size_t cap)
{
    void *cpu = qi.get_cpu((int)g_frozen_vcpu);
    size_t used = 0;
    static const int nums[17] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 25};
    for (int i = 0; i < 17; i++) {
        qf_gbytes *b = qi.gbytes_new();
        int len = qi.gdb_read_reg(cpu, b, nums[i]);
        uint32_t v = 0;
        if (len >= 4 && b->len >= 4) memcpy(&v, b->data, 4);
        qi.gbytes_free(b, true);
        if (i == 15 && g_frozen && g_pc_pending) v = g_pc_value;
        int n = snprintf(out + used, cap - used, " %08x", v);
        if (n < 0 || used + (size_t)n >= cap) return -1;
        used += (size_t)n;
    }
    return 0;
}

/* Strict unsigned number: decimal or 0x hex, no sign, no trailing garbage, no overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s)) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static bool token_ok(const char *t)
{
    size_t l = t ? strlen(t) : 0;
    if (l == 0 || l >= TOKEN_LEN) return false;
    for (size_t i = 0; i < l; i++) {
        unsigned char c = (unsigned char)t[i];
        if (!(isalnum(c) || c == '_' || c == '.' || c == ':' || c == '-')) return false;
    }
    return true;
}

static int free_slot_locked(void)
{
    for (int i = 0; i < MAX_TRIGGERS; i++)
        if (g_trig[i].kind == TRIG_NONE) return i;
    return -1;
}

static void wake_running_vcpu(void)
{
    /* Make a running vCPU leave its chain at the next block start (where tb_exec syncs). */
    if (qi.step_ok) qi.cpu_exit(qi.get_cpu(0));
}

#define MAX_ARGS 8

static void handle_command(char *line)
{
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
        if (argc == MAX_ARGS) { argc++; break; }
        argv[argc++] = t;
    }
    if (argc == 0) return;
    const char *id = argv[0];
    for (const char *p = id; *p; p++)
        if (!isdigit((unsigned char)*p) || p - id > 15) { send_line("0 err bad request id"); return; }
    if (argc < 2) { send_line("%s err missing command", id); return; }
    if (argc > MAX_ARGS) { send_line("%s err too many arguments", id); return; }
    const char *verb = argv[1];
    const char *a1 = argc > 2 ? argv[2] : NULL;
    const char *a2 = argc > 3 ? argv[3] : NULL;
    const char *a3 = argc > 4 ? argv[4] : NULL;
    const char *a4 = argc > 5 ? argv[5] : NULL;
    const char *a5 = argc > 6 ? argv[6] : NULL;

    if (!strcmp(verb, "arm-insn") || !strcmp(verb, "arm-pc")) {
        bool is_insn = verb[4] == 'i';
        if (!a1 || !a2 || (is_insn && argc > 4) || argc > 6) {
            send_line(is_insn ? "%s err usage: arm-insn <token> <N>" : "%s err usage: arm-pc <token> <addr> [skip] [keep]", id);
            return;
        }
        if (!token_ok(a1)) { send_line("%s err bad token (1-47 of [A-Za-z0-9_.:-])", id); return; }
        uint64_t v, skip = 0;
        bool keep = false;
        if (!parse_u64(a2, &v)) { send_line("%s err bad number %s", id, a2); return; }
        if (!is_insn) {
            if (v > ADDR_MAX) { send_line("%s err bad address 0x%" PRIx64 ": beyond the 32-bit address space", id, v); return; }
            if (v & 1) { send_line("%s err bad address 0x%" PRIx64 ": odd (a Thumb function symbol? use 0x%" PRIx64 ")", id, v, v & ~1ull); return; }
            if (a3 && !parse_u64(a3, &skip)) { send_line("%s err bad number %s", id, a3); return; }
            if (a4 && strcmp(a4, "keep")) { send_line("%s err usage: arm-pc <token> <addr> [skip] [keep]", id); return; }
            keep = a4 != NULL;
        }
        pthread_mutex_lock(&g_lock);
        if (is_insn && (v < g_count || (g_frozen && v == g_count))) {
            /* (frozen at N: arming N again would re-freeze at the same point) */
            uint64_t c = g_count;
            pthread_mutex_unlock(&g_lock);
            send_line("%s err instruction %" PRIu64 " is not in the future (count %" PRIu64 ")", id, v, c);
            return;
        }
        int slot = free_slot_locked();
        if (slot < 0) { pthread_mutex_unlock(&g_lock); send_line("%s err trigger limit (%d) reached", id, MAX_TRIGGERS); return; }
        struct trigger *t = &g_trig[slot];
        memset(t, 0, sizeof(*t));
        t->kind = is_insn ? TRIG_INSN : TRIG_PC;
        snprintf(t->token, TOKEN_LEN, "%s", a1);
        t->value = v;
        t->skip = skip;
        t->keep = keep;
        recompute_locked();
        if (t->kind == TRIG_PC && g_pc_mode == PC_HOOK) g_reset_wanted = true; /* re-translate to hook the pc */
        bool frozen = g_frozen;
        pthread_mutex_unlock(&g_lock);
        if (t->kind == TRIG_PC && g_pc_mode != PC_HOOK && !frozen) wake_running_vcpu();
        send_line("%s ok", id);
    } else if (!strcmp(verb, "arm-watch")) {
        if (g_watch_mode == WATCH_NONE) {
            send_line("%s err unsupported: arm-watch needs QEMU internals this binary does not export", id);
            return;
        }
        if (!a1 || !a2 || !a3 || !a4 || argc > 7) { send_line("%s err usage: arm-watch <token> <r|w|rw> <addr> <len> [skip]", id); return; }
        if (!token_ok(a1)) { send_line("%s err bad token (1-47 of [A-Za-z0-9_.:-])", id); return; }
        int rw = !strcmp(a2, "r") ? QF_MEM_R : !strcmp(a2, "w") ? QF_MEM_W : !strcmp(a2, "rw") ? QF_MEM_RW : 0;
        if (!rw) { send_line("%s err bad access kind %s (r, w or rw)", id, a2); return; }
        uint64_t addr, len, skip = 0;
        if (!parse_u64(a3, &addr)) { send_line("%s err bad number %s", id, a3); return; }
        if (!parse_u64(a4, &len)) { send_line("%s err bad number %s", id, a4); return; }
        if (a5 && !parse_u64(a5, &skip)) { send_line("%s err bad number %s", id, a5); return; }
        if (addr > ADDR_MAX) { send_line("%s err bad address 0x%" PRIx64 ": beyond the 32-bit address space", id, addr); return; }
        if (len == 0 || len > ADDR_MAX + 1 - addr) {
            send_line("%s err bad length %" PRIu64 " (1..%" PRIu64 " at 0x%" PRIx64 ")", id, len, ADDR_MAX + 1 - addr, addr);
            return;
        }
        pthread_mutex_lock(&g_lock);
        int slot = free_slot_locked();
        if (slot < 0) { pthread_mutex_unlock(&g_lock); send_line("%s err trigger limit (%d) reached", id, MAX_TRIGGERS); return; }
        struct trigger *t = &g_trig[slot];
        memset(t, 0, sizeof(*t));
        t->kind = TRIG_WATCH;
        snprintf(t->token, TOKEN_LEN, "%s", a1);
        t->value = addr;
        t->len = len;
        t->skip = skip;
        t->rw = rw;
        t->keep = true;
        recompute_locked();
        bool frozen = g_frozen;
        pthread_mutex_unlock(&g_lock);
        if (!frozen) wake_running_vcpu();
        send_line("%s ok", id);
    } else if (!strcmp(verb, "disarm")) {
        if (!a1 || argc > 3) { send_line("%s err usage: disarm <token>", id); return; }
        pthread_mutex_lock(&g_lock);
        int n = 0;
        for (int i = 0; i < MAX_TRIGGERS; i++)
            if (g_trig[i].kind != TRIG_NONE && !strcmp(g_trig[i].token, a1)) { g_trig[i].kind = TRIG_NONE; n++; }
        if (n) recompute_locked();
        if (g_timer_ready && g_timer_armed && !strcmp(g_vtoken, a1)) {
            qi.timer_del(g_timer_storage);
            g_timer_armed = false;
            STORE(g_vpending, 0);
            n++;
        }
        pthread_mutex_unlock(&g_lock);
        send_line("%s ok %d", id, n);
    } else if (!strcmp(verb, "resume")) {
        /* Reply first: once released, the guest may run to its end and QEMU exit. */
        pthread_mutex_lock(&g_lock);
        bool was = g_frozen;
        send_line(was ? "%s ok" : "%s err not frozen", id);
        g_release = true;
        pthread_cond_broadcast(&g_cond);
        pthread_mutex_unlock(&g_lock);
    } else if (!strcmp(verb, "count")) {
        pthread_mutex_lock(&g_lock);
        bool fr = g_frozen;
        pthread_mutex_unlock(&g_lock);
        send_line("%s ok %" PRIu64 " %s", id, __atomic_load_n(&g_count, __ATOMIC_RELAXED), fr ? "frozen" : "running");
    } else if (!strcmp(verb, "vtime")) {
        if (!qi.clock_ok) { send_line("%s err unsupported: vtime needs QEMU internals this binary does not export", id); return; }
        /* Exact while the VM is stopped; while frozen in a block it lags by the current slice. */
        send_line("%s ok %" PRId64, id, qi.clock_get_ns(CLOCK_VIRTUAL));
    } else if (!strcmp(verb, "arm-vtime")) {
        if (!qi.clock_ok) { send_line("%s err unsupported: arm-vtime needs QEMU internals this binary does not export", id); return; }
        if (!a1 || !a2 || argc > 4) { send_line("%s err usage: arm-vtime <token> <ns>", id); return; }
        if (!token_ok(a1)) { send_line("%s err bad token (1-47 of [A-Za-z0-9_.:-])", id); return; }
        uint64_t tu;
        if (!parse_u64(a2, &tu) || tu > INT64_MAX) { send_line("%s err bad number %s", id, a2); return; }
        int64_t t = (int64_t)tu;
        int64_t now = qi.clock_get_ns(CLOCK_VIRTUAL);
        if (t <= now) { send_line("%s err virtual time %" PRId64 " is not in the future (now %" PRId64 ")", id, t, now); return; }
        pthread_mutex_lock(&g_lock);
        if (!g_timer_ready) {
            qi.timer_init_full(g_timer_storage, NULL, CLOCK_VIRTUAL, 1, 0, vtimer_cb, NULL);
            g_timer_ready = true;
        }
        snprintf(g_vtoken, TOKEN_LEN, "%s", a1);
        STORE(g_vpending, 0);
        qi.timer_mod_ns(g_timer_storage, t);
        g_timer_armed = true;
        pthread_mutex_unlock(&g_lock);
        /* A running (or frozen) vCPU computed its instruction budget before this timer existed:
         * make it leave its chain at the next block start so the new deadline is honoured. */
        if (qi.step_ok) qi.cpu_exit(qi.get_cpu(0));
        send_line("%s ok", id);
    } else if (!strcmp(verb, "disarm-vtime")) {
        pthread_mutex_lock(&g_lock);
        if (g_timer_ready) qi.timer_del(g_timer_storage);
        g_timer_armed = false;
        STORE(g_vpending, 0);
        pthread_mutex_unlock(&g_lock);
        send_line("%s ok", id);
    } else if (!strcmp(verb, "regs") || !strcmp(verb, "setreg")) {
        if (!qi.regs_ok) { send_line("%s err unsupported: %s needs QEMU internals this binary does not export", id, verb); return; }
        bool is_set = !strcmp(verb, "setreg");
        pthread_mutex_lock(&g_lock);
        bool ok = g_frozen && g_frozen_exact;
        bool force = is_set ? (a3 && !strcmp(a3, "stopped")) : (a1 && !strcmp(a1, "stopped")); /* caller asserts the VM is stopped */
        if (!ok && !force) { pthread_mutex_unlock(&g_lock); send_line("%s err registers are not exact here", id); return; }
        if (!is_set) {
            char out[256];
            int r = regs_read(out, sizeof(out));
            pthread_mutex_unlock(&g_lock);
            send_line(r ? "%s err read failed" : "%s ok%s", id, out);
        } else {
            uint64_t n, v;
            if (!a1 || !a2 || !parse_u64(a1, &n) || !parse_u64(a2, &v) || argc > 5) {
                pthread_mutex_unlock(&g_lock);
                send_line("%s err usage: setreg <n> <value> [stopped]", id);
                return;
            }
            if (!((n <= 15) || n == 25)) { pthread_mutex_unlock(&g_lock); send_line("%s err register number %" PRIu64, id, n); return; }
            if (v > 0xffffffffull) { pthread_mutex_unlock(&g_lock); send_line("%s err bad number %s", id, a2); return; }
            uint32_t v32 = (uint32_t)v;
            int w = 4;
            if (ok && !g_frozen_restartable && n == 15) {
                /* the block would keep running at the old pc (and its pc-relative code would use the new one) */
                pthread_mutex_unlock(&g_lock);
                send_line("%s err unsupported: writing pc at a freeze needs QEMU internals this binary does not export", id);
                return;
            }
            if (ok && g_frozen_restartable && n == 15) {
                /* applied when the block restarts (cpu_restore_state would otherwise overwrite it) */
                g_pc_pending = true;
                g_pc_value = v32 & ~1u;
            } else {
                uint8_t b[4];
                memcpy(b, &v32, 4);
                w = qi.gdb_write_reg(qi.get_cpu((int)(ok ? g_frozen_vcpu : 0)), b, (int)n);
            }
            if (ok) g_dirty = true;
            pthread_mutex_unlock(&g_lock);
            send_line(w == 4 ? "%s ok" : "%s err write failed", id);
        }
    } else if (!strcmp(verb, "read") || !strcmp(verb, "write")) {
        bool is_write = verb[0] == 'w';
        if (!qi.mem_ok) { send_line("%s err unsupported: %s needs QEMU internals this binary does not export", id, verb); return; }
        uint64_t addr, len;
        if (!a1 || !a2 || argc > 4 || !parse_u64(a1, &addr)) {
            send_line(is_write ? "%s err usage: write <addr> <hex bytes>" : "%s err usage: read <addr> <len>", id);
            return;
        }
        uint8_t buf[MAX_MEM_IO];
        if (is_write) {
            size_t hl = strlen(a2);
            if (hl % 2 || hl == 0 || hl / 2 > MAX_MEM_IO) { send_line("%s err bad hex data (1..%d bytes)", id, MAX_MEM_IO); return; }
            len = hl / 2;
            for (size_t i = 0; i < len; i++) {
                unsigned b;
                if (!isxdigit((unsigned char)a2[2 * i]) || !isxdigit((unsigned char)a2[2 * i + 1]) || sscanf(a2 + 2 * i, "%2x", &b) != 1) {
                    send_line("%s err bad hex data", id);
                    return;
                }
                buf[i] = (uint8_t)b;
            }
        } else if (!parse_u64(a2, &len) || len == 0 || len > MAX_MEM_IO) {
            send_line("%s err bad length %s (1..%d)", id, a2, MAX_MEM_IO);
            return;
        }
        if (addr > ADDR_MAX || len > ADDR_MAX + 1 - addr) { send_line("%s err bad address 0x%" PRIx64, id, addr); return; }
        pthread_mutex_lock(&g_lock);
        if (!g_frozen) { pthread_mutex_unlock(&g_lock); send_line("%s err not frozen", id); return; }
        /* Done by the frozen vCPU thread (QEMU's memory API expects a QEMU thread). */
        g_work.pending = true;
        g_work.done = false;
        g_work.is_write = is_write;
        g_work.addr = addr;
        g_work.len = (size_t)len;
        g_work.buf = buf;
        pthread_cond_broadcast(&g_cond);
        while (!g_work.done && g_frozen && g_connected) pthread_cond_wait(&g_work_cond, &g_lock);
        bool done = g_work.done;
        int rc = g_work.rc;
        g_work.pending = false;
        if (done && is_write && rc == 0) g_dirty = true; /* may be code: restart the block */
        pthread_mutex_unlock(&g_lock);
        if (!done) { send_line("%s err not frozen", id); return; }
        if (rc != 0) { send_line("%s err cannot access 0x%" PRIx64 "..0x%" PRIx64, id, addr, addr + len - 1); return; }
        if (is_write) { send_line("%s ok", id); return; }
        char hex[2 * MAX_MEM_IO + 1];
        for (size_t i = 0; i < len; i++) snprintf(hex + 2 * i, 3, "%02x", buf[i]);
        send_line("%s ok %s", id, hex);
    } else if (!strcmp(verb, "ping")) {
        send_line("%s ok pong", id);
    } else {
        char v[40];
        snprintf(v, sizeof(v), "%s", verb);
        for (char *p = v; *p; p++) if (!isprint((unsigned char)*p)) *p = '?';
        send_line("%s err unknown command %s", id, v);
    }
}

static void *reader_main(void *arg)
{
    (void)arg;
    char buf[4096];
    size_t len = 0;
    bool dropping = false; /* inside an overlong line */
    for (;;) {
        ssize_t r = recv(g_sock, buf + len, sizeof(buf) - 1 - len, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
            *nl = 0;
            if (!dropping) {
                /* NUL bytes would hide the rest of the line from the parser: refuse such lines */
                if (memchr(start, 0, (size_t)(nl - start))) {
                    char *sp = start;
                    size_t idl = strspn(sp, "0123456789");
                    if (idl > 0 && idl < 16) { sp[idl] = 0; send_line("%s err bad characters in command", sp); }
                } else {
                    handle_command(start);
                }
            }
            dropping = false;
            start = nl + 1;
        }
        len -= (size_t)(start - buf);
        memmove(buf, start, len);
        if (len == sizeof(buf) - 1) { len = 0; dropping = true; } /* overlong line: drop it */
    }
    /* Peer gone: disarm everything, release a frozen vCPU, never block again. */
    pthread_mutex_lock(&g_lock);
    g_connected = false;
    memset(g_trig, 0, sizeof(g_trig));
    recompute_locked();
    g_release = true;
    pthread_cond_broadcast(&g_cond);
    pthread_cond_broadcast(&g_work_cond);
    pthread_mutex_unlock(&g_lock);
    if (g_exit_on_disconnect) _exit(3);
    return NULL;
}

static void on_exit_cb(qf_plugin_id id, void *u)
{
    (void)id; (void)u;
    send_line("! exit %" PRIu64, g_count);
}

/* ------------------------------------------------------------------------------------------ */
/* Install                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static int connect_with_retry(const char *path, int timeout_ms)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) return -1;
    strcpy(sa.sun_path, path);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) return fd;
        close(fd);
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= timeout_ms) return -1;
        usleep(10000);
    }
}

QF_EXPORT int qemu_plugin_install(qf_plugin_id id, const qf_info *info, int argc, char **argv)
{
    const char *sock = NULL, *mech = "auto", *bench = NULL, *pcs = "auto", *watch = "auto";
    int timeout_ms = 5000;
    bool start_frozen = true, no_internals = false;
    char msg[256];

    g_id = id;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "sock=", 5)) sock = a + 5;
        else if (!strncmp(a, "precise=", 8)) mech = a + 8;
        else if (!strncmp(a, "pc=", 3)) pcs = a + 3;
        else if (!strncmp(a, "watch=", 6)) watch = a + 6;
        else if (!strncmp(a, "bench=", 6)) bench = a + 6;
        else if (!strncmp(a, "count=", 6)) g_count_mode = !strcmp(a + 6, "tb") ? COUNT_TB_INLINE : COUNT_INSN_INLINE;
        else if (!strncmp(a, "connect-timeout-ms=", 19)) timeout_ms = atoi(a + 19);
        else if (!strcmp(a, "start=running")) start_frozen = false;
        else if (!strcmp(a, "start=frozen")) start_frozen = true;
        else if (!strcmp(a, "on-disconnect=exit")) g_exit_on_disconnect = true;
        else if (!strcmp(a, "on-disconnect=continue")) g_exit_on_disconnect = false;
        else if (!strcmp(a, "internals=none")) no_internals = true; /* testing: behave as on a QEMU without them */
        else if (!strcmp(a, "internals=auto")) no_internals = false;
        else {
            snprintf(msg, sizeof(msg), "qemu-fault plugin: unknown argument '%s'\n", a);
            say(msg);
            return -1;
        }
    }
    if (!info->system_emulation) {
        say("qemu-fault plugin: system emulation only\n");
        return -1;
    }
    if (!no_internals) resolve_internals();

    if (bench) {
        g_bench = true;
        if (!strcmp(bench, "tb-cb")) g_count_mode = COUNT_TB_CB;
        else if (!strcmp(bench, "tb-inline")) g_count_mode = COUNT_TB_INLINE;
        else if (!strcmp(bench, "insn-inline")) g_count_mode = COUNT_INSN_INLINE;
        else if (!strcmp(bench, "insn-cb")) g_count_mode = COUNT_INSN_CB;
        else g_count_mode = COUNT_NONE;
        qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
        qemu_plugin_register_atexit_cb(id, bench_exit, NULL);
        return 0;
    }
    if (!sock) {
        say("qemu-fault plugin: missing sock=PATH\n");
        return -1;
    }
    if (!strcmp(mech, "singlestep") || (!strcmp(mech, "auto") && qi.step_ok)) {
        if (!qi.step_ok) {
            say("qemu-fault plugin: precise=singlestep needs QEMU internals this binary does not export\n");
            return -1;
        }
        g_mech = MECH_SINGLESTEP;
    } else if (!strcmp(mech, "flush") || !strcmp(mech, "auto")) {
        g_mech = MECH_FLUSH;
    } else {
        snprintf(msg, sizeof(msg), "qemu-fault plugin: bad precise=%s (auto, flush, singlestep)\n", mech);
        say(msg);
        return -1;
    }
    /* pc triggers and watchpoints need the block-restart internals and the singlestep mechanism */
    bool full = qi.split_ok && qi.regs_ok && qi.mem_ok && g_mech == MECH_SINGLESTEP;
    if (!strcmp(pcs, "auto")) g_pc_mode = full ? PC_SPLIT : PC_HOOK;
    else if (!strcmp(pcs, "split") && full) g_pc_mode = PC_SPLIT;
    else if (!strcmp(pcs, "step") && full) g_pc_mode = PC_STEP;
    else if (!strcmp(pcs, "hook")) g_pc_mode = PC_HOOK;
    else {
        snprintf(msg, sizeof(msg), "qemu-fault plugin: pc=%s is not available (auto, split, step, hook; split/step need QEMU internals)\n", pcs);
        say(msg);
        return -1;
    }
    if (!strcmp(watch, "auto")) g_watch_mode = full ? WATCH_REPLAY : WATCH_NONE;
    else if (!strcmp(watch, "replay") && full) g_watch_mode = WATCH_REPLAY;
    else if (!strcmp(watch, "step") && full) g_watch_mode = WATCH_STEP;
    else if (!strcmp(watch, "none")) g_watch_mode = WATCH_NONE;
    else {
        snprintf(msg, sizeof(msg), "qemu-fault plugin: watch=%s is not available (auto, replay, step, none; replay/step need QEMU internals)\n", watch);
        say(msg);
        return -1;
    }

    g_sock = connect_with_retry(sock, timeout_ms);
    if (g_sock < 0) {
        snprintf(msg, sizeof(msg), "qemu-fault plugin: cannot connect to %s: %s\n", sock, strerror(errno));
        say(msg);
        return -1;
    }
    g_connected = true;

    if (start_frozen) {
        g_trig[0].kind = TRIG_INSN;
        snprintf(g_trig[0].token, TOKEN_LEN, "start");
        g_trig[0].value = 0;
        recompute_locked();
        /* Instruction 0 is inside the first block: start in precise mode. */
        g_precise = true;
        if (g_mech == MECH_SINGLESTEP) *qi.singlestep = 1;
        else g_translate_precise = true;
    }
    static const char *pc_names[] = {"pc-only", "split", "step"};
    static const char *watch_names[] = {"none", "replay", "step"};
    send_line("! hello qemu-fault-plugin 1 api=%d qemu-api=%d..%d target=%s precise=%s clock=%d regs=%d pc=%s watch=%s mem=%d",
              QF_PLUGIN_API, info->version.min, info->version.cur, info->target_name,
              g_mech == MECH_SINGLESTEP ? "singlestep" : "flush", qi.clock_ok, qi.regs_ok,
              pc_names[g_pc_mode], watch_names[g_watch_mode], qi.mem_ok);

    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, reader_main, NULL)) {
        say("qemu-fault plugin: cannot start reader thread\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
