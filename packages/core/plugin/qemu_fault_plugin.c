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
 * Two precision mechanisms:
 *  - "flush" (public plugin API only): near a target the plugin flushes the code cache with
 *    qemu_plugin_reset() and re-translates every block with a callback on every instruction.
 *  - "singlestep" (optional, Debian-style builds that export QEMU's internal symbols): near a
 *    target the plugin sets QEMU's `singlestep` flag and kicks the vCPU so that blocks are one
 *    instruction long; then every freeze is at a block boundary and the CPU registers in env are
 *    exact, so they can be read and written.
 * The optional internals also give a QEMU_CLOCK_VIRTUAL timer ("arm-vtime"): the vCPU freezes before
 * the first instruction executed at or after an exact virtual time.
 *
 * The plugin API declarations below are our own, written from QEMU's documented plugin API
 * (include/qemu/qemu-plugin.h, API version 1 as shipped by QEMU 7.2).
 */
#define _GNU_SOURCE
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
struct qf_tb;   /* opaque: a block being translated */
struct qf_insn; /* opaque: one instruction of that block */

typedef struct {
    const char *target_name;
    struct { int min; int cur; } version;
    bool system_emulation;
    union { struct { int smp_vcpus; int max_vcpus; } system; };
} qf_info;

enum { QF_CB_NO_REGS = 0, QF_CB_R_REGS = 1, QF_CB_RW_REGS = 2 };
enum { QF_INLINE_ADD_U64 = 0 };

typedef void (*qf_simple_cb)(qf_plugin_id id);
typedef void (*qf_udata_cb)(qf_plugin_id id, void *udata);
typedef void (*qf_vcpu_udata_cb)(unsigned int vcpu, void *udata);
typedef void (*qf_tb_trans_cb)(qf_plugin_id id, struct qf_tb *tb);

void qemu_plugin_reset(qf_plugin_id id, qf_simple_cb cb);
void qemu_plugin_register_vcpu_tb_trans_cb(qf_plugin_id id, qf_tb_trans_cb cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qf_tb *tb, qf_vcpu_udata_cb cb, int flags, void *udata);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qf_tb *tb, int op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qf_insn *insn, qf_vcpu_udata_cb cb, int flags, void *udata);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qf_insn *insn, int op, void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qf_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qf_tb *tb);
struct qf_insn *qemu_plugin_tb_get_insn(const struct qf_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qf_insn *insn);
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
    bool clock_ok, step_ok, regs_ok;
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
#undef SYM
    qi.step_ok = qi.singlestep && qi.get_cpu && qi.cpu_exit;
    qi.clock_ok = qi.clock_get_ns && qi.timer_init_full && qi.timer_mod_ns && qi.timer_del && qi.in_vcpu_thread &&
                  qi.get_cpu && qi.cpu_exit;
    qi.regs_ok = qi.get_cpu && qi.gdb_read_reg && qi.gdb_write_reg && qi.gbytes_new && qi.gbytes_free;
}

/* ------------------------------------------------------------------------------------------ */
/* State                                                                                      */
/* ------------------------------------------------------------------------------------------ */

#define MAX_TRIGGERS 64
#define TOKEN_LEN 48
/* A block has at most 512 instructions (TCG_MAX_INSNS); switch to precise mode when a target
 * could fall inside the next block, back to fast mode when none is within 2 * MARGIN. */
#define MARGIN 520

enum trig_kind { TRIG_NONE, TRIG_INSN, TRIG_PC };
struct trigger {
    enum trig_kind kind;
    char token[TOKEN_LEN];
    uint64_t value;   /* instruction index or pc */
    uint64_t skip;    /* pc triggers: number of hits to let pass first */
};

enum precise_mech { MECH_FLUSH, MECH_SINGLESTEP };
enum count_mode { COUNT_INSN_INLINE, COUNT_TB_INLINE, COUNT_TB_CB, COUNT_INSN_CB, COUNT_NONE };

static qf_plugin_id g_id;
static uint64_t g_count;                      /* written by the vCPU thread only */
static volatile uint64_t g_next_insn = UINT64_MAX; /* nearest instruction target */
static volatile int g_have_pc;                /* any pc trigger armed */
static bool g_precise;                        /* current mode (vCPU thread) */
static bool g_translate_precise;              /* flush mechanism: per-insn callbacks when translating */
static bool g_reset_pending, g_reset_wanted;
static enum precise_mech g_mech = MECH_FLUSH;
static enum count_mode g_count_mode = COUNT_INSN_INLINE;
static bool g_bench;                          /* no socket: counting benchmark only */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* triggers, freeze state */
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static struct trigger g_trig[MAX_TRIGGERS];
static uint64_t g_pcs[MAX_TRIGGERS];          /* copy of armed pcs for translation */
static int g_npcs;

static int g_sock = -1;
static pthread_mutex_t g_wlock = PTHREAD_MUTEX_INITIALIZER;
static volatile bool g_connected;
static bool g_exit_on_disconnect;

/* Freeze handshake */
static bool g_frozen, g_release;
static bool g_frozen_exact;                   /* env registers exact at this freeze */
static unsigned g_frozen_vcpu;
/* vtime stop */
static uint8_t g_timer_storage[128] __attribute__((aligned(16)));
static bool g_timer_ready;
static char g_vtoken[TOKEN_LEN];
static volatile int g_vpending;               /* vtime timer ran; freeze at the next block start */
static int64_t g_vfired_ns;
static bool g_vfired_main;

/* ------------------------------------------------------------------------------------------ */
/* Socket I/O                                                                                 */
/* ------------------------------------------------------------------------------------------ */

static void send_line(const char *fmt, ...)
{
    char buf[1024];
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

static void recompute_locked(void)
{
    uint64_t next = UINT64_MAX;
    g_npcs = 0;
    for (int i = 0; i < MAX_TRIGGERS; i++) {
        if (g_trig[i].kind == TRIG_INSN && g_trig[i].value < next) next = g_trig[i].value;
        if (g_trig[i].kind == TRIG_PC) g_pcs[g_npcs++] = g_trig[i].value;
    }
    __atomic_store_n(&g_next_insn, next, __ATOMIC_RELEASE);
    __atomic_store_n(&g_have_pc, g_npcs > 0, __ATOMIC_RELEASE);
}

static bool pc_armed(uint64_t pc)
{
    for (int i = 0; i < g_npcs; i++)
        if (g_pcs[i] == pc) return true;
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

static void set_precise(unsigned vcpu, bool on)
{
    if (g_precise == on) return;
    g_precise = on;
    if (g_mech == MECH_SINGLESTEP) {
        *qi.singlestep = on ? 1 : 0;
        qi.cpu_exit(qi.get_cpu((int)vcpu)); /* leave the chain at the next block start */
    } else {
        g_translate_precise = on;
        request_reset();
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Freeze                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Collects the triggers that fire before instruction `count` at `pc`; returns how many. */
static int collect_hits_locked(uint64_t count, uint64_t pc, char *tokens, size_t cap)
{
    int hits = 0;
    size_t used = 0;
    tokens[0] = 0;
    for (int i = 0; i < MAX_TRIGGERS; i++) {
        struct trigger *t = &g_trig[i];
        bool fire = false;
        if (t->kind == TRIG_INSN && t->value == count) fire = true;
        if (t->kind == TRIG_PC && t->value == pc) {
            if (t->skip > 0) t->skip--;
            else fire = true;
        }
        if (!fire) continue;
        int n = snprintf(tokens + used, cap - used, "%s%s", hits ? "," : "", t->token);
        if (n > 0 && used + (size_t)n < cap) used += (size_t)n;
        t->kind = TRIG_NONE; /* one-shot */
        hits++;
    }
    if (hits) recompute_locked();
    return hits;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static uint64_t g_last_wake_ns; /* when the vCPU last left a freeze (for latency measurements) */

static void freeze(unsigned vcpu, uint64_t count, uint64_t pc, bool exact)
{
    char tokens[512], extra[96] = "";
    pthread_mutex_lock(&g_lock);
    int hits = collect_hits_locked(count, pc, tokens, sizeof(tokens));
    if (__atomic_load_n(&g_vpending, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&g_vpending, 0, __ATOMIC_RELEASE);
        size_t used = strlen(tokens);
        snprintf(tokens + used, sizeof(tokens) - used, "%s%s", hits ? "," : "", g_vtoken);
        snprintf(extra, sizeof(extra), " v=%" PRId64 " vt=%s", g_vfired_ns, g_vfired_main ? "main" : "vcpu");
        hits++;
        exact = true; /* first block after the cpu loop ran timers: env, PC included, is exact */
    }
    if (!hits || !g_connected) { pthread_mutex_unlock(&g_lock); return; }
    g_frozen = true;
    g_frozen_exact = exact;
    g_frozen_vcpu = vcpu;
    g_release = false;
    pthread_mutex_unlock(&g_lock);

    send_line("! hit %" PRIu64 " 0x%" PRIx64 " %s %s t=%" PRIu64 " w=%" PRIu64 "%s", count, pc,
              exact ? "exact" : "pc-only", tokens, mono_ns(), g_last_wake_ns, extra);

    pthread_mutex_lock(&g_lock);
    while (!g_release && g_connected) pthread_cond_wait(&g_cond, &g_lock);
    g_frozen = false;
    pthread_mutex_unlock(&g_lock);
    g_last_wake_ns = mono_ns();
}

/* Checks after a freeze (or any instruction target change) whether to leave precise mode. */
static void maybe_leave_precise(unsigned vcpu, uint64_t count)
{
    uint64_t next = __atomic_load_n(&g_next_insn, __ATOMIC_ACQUIRE);
    if (g_precise && (next == UINT64_MAX || next > count + 2 * MARGIN)) set_precise(vcpu, false);
}

/* ------------------------------------------------------------------------------------------ */
/* Execution callbacks                                                                        */
/* ------------------------------------------------------------------------------------------ */

#define TB_UDATA(pc, n) ((void *)(uintptr_t)(((uint64_t)(pc) << 10) | (uint64_t)(n)))
#define TB_PC(u) ((uint64_t)(uintptr_t)(u) >> 10)
#define TB_N(u) ((uint64_t)(uintptr_t)(u) & 0x3ff)

/* Start of every fast-mode block. g_count counts every instruction started before this block. */
static void tb_exec(unsigned vcpu, void *udata)
{
    uint64_t n = TB_N(udata);
    uint64_t count = g_count;
    uint64_t next = __atomic_load_n(&g_next_insn, __ATOMIC_ACQUIRE);

    if (g_reset_wanted && !g_reset_pending) request_reset();
    if (__atomic_load_n(&g_vpending, __ATOMIC_ACQUIRE)) {
        freeze(vcpu, count, TB_PC(udata), g_mech == MECH_SINGLESTEP && n == 1);
        next = __atomic_load_n(&g_next_insn, __ATOMIC_ACQUIRE);
    }
    if (next == UINT64_MAX || next >= count + n + MARGIN) {
        if (g_precise) maybe_leave_precise(vcpu, count);
        return;
    }
    if (next == count) {
        /* At a block start: with the singlestep mechanism env (incl. PC) is exact here. */
        freeze(vcpu, count, TB_PC(udata), g_mech == MECH_SINGLESTEP && n == 1);
        maybe_leave_precise(vcpu, count);
        return;
    }
    if (next < count || (next < count + n && !g_precise)) {
        /* The target is behind us or inside this block, which has no per-instruction hooks
         * (armed too late, e.g. while the guest was running). Report and drop it. */
        pthread_mutex_lock(&g_lock);
        for (int i = 0; i < MAX_TRIGGERS; i++) {
            if (g_trig[i].kind == TRIG_INSN && g_trig[i].value == next) {
                send_line("! miss %s %" PRIu64, g_trig[i].token, count);
                g_trig[i].kind = TRIG_NONE;
            }
        }
        recompute_locked();
        pthread_mutex_unlock(&g_lock);
        return;
    }
    set_precise(vcpu, true);
}

/* Flush mechanism, precise blocks: called before every instruction; maintains g_count itself. */
static void insn_exec_precise(unsigned vcpu, void *udata)
{
    uint64_t pc = (uint64_t)(uintptr_t)udata;
    uint64_t count = g_count;
    if (__atomic_load_n(&g_next_insn, __ATOMIC_ACQUIRE) == count || __atomic_load_n(&g_vpending, __ATOMIC_ACQUIRE) ||
        (__atomic_load_n(&g_have_pc, __ATOMIC_ACQUIRE) && pc_armed(pc)))
        freeze(vcpu, count, pc, false);
    g_count = count + 1;
    if (g_reset_wanted && !g_reset_pending) request_reset();
    maybe_leave_precise(vcpu, count + 1);
}

/* Fast blocks: a hook on an instruction whose pc is armed. It runs before the instruction's
 * inline count op (registration order), so g_count is the index of this instruction. */
static void insn_exec_pc(unsigned vcpu, void *udata)
{
    uint64_t pc = (uint64_t)(uintptr_t)udata;
    if (__atomic_load_n(&g_have_pc, __ATOMIC_ACQUIRE) && pc_armed(pc)) freeze(vcpu, g_count, pc, false);
}

/* Benchmark-only callbacks */
static void bench_tb_cb(unsigned vcpu, void *udata) { (void)vcpu; g_count += TB_N(udata); }
static void bench_insn_cb(unsigned vcpu, void *udata) { (void)vcpu; (void)udata; g_count++; }

static void bench_exit(qf_plugin_id id, void *u)
{
    (void)id; (void)u;
    fprintf(stderr, "qemu-fault plugin: bench count %" PRIu64 "\n", g_count);
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
    qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QF_CB_NO_REGS, TB_UDATA(pc, n));
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < n; i++) {
        struct qf_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t ipc = qemu_plugin_insn_vaddr(insn);
        if (g_count_mode == COUNT_TB_INLINE) {
            if (i == 0) qemu_plugin_register_vcpu_tb_exec_inline(tb, QF_INLINE_ADD_U64, &g_count, n);
        } else {
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QF_INLINE_ADD_U64, &g_count, 1);
        }
        /* Hook armed pcs; in singlestep mode a one-instruction block is checked by tb_exec. */
        if (g_npcs && pc_armed(ipc) && !(i == 0 && n == 1 && g_mech == MECH_SINGLESTEP && g_precise))
            qemu_plugin_register_vcpu_insn_exec_cb(insn, insn_exec_pc, QF_CB_NO_REGS, (void *)(uintptr_t)ipc);
    }
    pthread_mutex_unlock(&g_lock);
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
    __atomic_store_n(&g_vpending, 1, __ATOMIC_RELEASE);
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
        int n = snprintf(out + used, cap - used, " %08x", v);
        if (n < 0 || used + (size_t)n >= cap) return -1;
        used += (size_t)n;
    }
    return 0;
}

static void handle_command(char *line)
{
    char *save = NULL;
    char *id = strtok_r(line, " \t\r", &save);
    char *verb = id ? strtok_r(NULL, " \t\r", &save) : NULL;
    if (!id || !verb) return;
    char *a1 = strtok_r(NULL, " \t\r", &save);
    char *a2 = a1 ? strtok_r(NULL, " \t\r", &save) : NULL;
    char *a3 = a2 ? strtok_r(NULL, " \t\r", &save) : NULL;

    if (!strcmp(verb, "arm-insn") || !strcmp(verb, "arm-pc")) {
        if (!a1 || !a2 || strlen(a1) >= TOKEN_LEN) { send_line("%s err usage: %s <token> <value>", id, verb); return; }
        char *end;
        uint64_t v = strtoull(a2, &end, 0);
        if (*end) { send_line("%s err bad number", id); return; }
        pthread_mutex_lock(&g_lock);
        if (verb[4] == 'i' && (v < g_count || (g_frozen && v == g_count))) {
            /* (frozen at N: arming N again would re-freeze at the same point) */
            uint64_t c = g_count;
            pthread_mutex_unlock(&g_lock);
            send_line("%s err instruction %" PRIu64 " is not in the future (count %" PRIu64 ")", id, v, c);
            return;
        }
        int slot = -1;
        for (int i = 0; i < MAX_TRIGGERS; i++) if (g_trig[i].kind == TRIG_NONE) { slot = i; break; }
        if (slot < 0) { pthread_mutex_unlock(&g_lock); send_line("%s err too many triggers", id); return; }
        g_trig[slot].kind = verb[4] == 'i' ? TRIG_INSN : TRIG_PC;
        snprintf(g_trig[slot].token, TOKEN_LEN, "%s", a1);
        g_trig[slot].value = v;
        g_trig[slot].skip = a3 ? strtoull(a3, NULL, 0) : 0;
        recompute_locked();
        if (g_trig[slot].kind == TRIG_PC) g_reset_wanted = true; /* re-translate to hook the pc */
        pthread_mutex_unlock(&g_lock);
        send_line("%s ok", id);
    } else if (!strcmp(verb, "disarm")) {
        pthread_mutex_lock(&g_lock);
        int n = 0;
        for (int i = 0; i < MAX_TRIGGERS; i++)
            if (g_trig[i].kind != TRIG_NONE && a1 && !strcmp(g_trig[i].token, a1)) { g_trig[i].kind = TRIG_NONE; n++; }
        recompute_locked();
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
        if (!qi.clock_ok) { send_line("%s err unsupported", id); return; }
        /* Exact while the VM is stopped; while frozen in a block it lags by the current slice. */
        send_line("%s ok %" PRId64, id, qi.clock_get_ns(CLOCK_VIRTUAL));
    } else if (!strcmp(verb, "arm-vtime")) {
        if (!qi.clock_ok) { send_line("%s err unsupported", id); return; }
        if (!a1 || !a2 || strlen(a1) >= TOKEN_LEN) { send_line("%s err usage: arm-vtime <token> <ns>", id); return; }
        int64_t t = strtoll(a2, NULL, 0);
        int64_t now = qi.clock_get_ns(CLOCK_VIRTUAL);
        if (t <= now) { send_line("%s err virtual time %" PRId64 " is not in the future (now %" PRId64 ")", id, t, now); return; }
        if (!g_timer_ready) {
            qi.timer_init_full(g_timer_storage, NULL, CLOCK_VIRTUAL, 1, 0, vtimer_cb, NULL);
            g_timer_ready = true;
        }
        snprintf(g_vtoken, TOKEN_LEN, "%s", a1);
        __atomic_store_n(&g_vpending, 0, __ATOMIC_RELEASE);
        qi.timer_mod_ns(g_timer_storage, t);
        /* A running (or frozen) vCPU computed its instruction budget before this timer existed:
         * make it leave its chain at the next block start so the new deadline is honoured. */
        if (qi.step_ok) qi.cpu_exit(qi.get_cpu(0));
        send_line("%s ok", id);
    } else if (!strcmp(verb, "disarm-vtime")) {
        if (g_timer_ready) qi.timer_del(g_timer_storage);
        __atomic_store_n(&g_vpending, 0, __ATOMIC_RELEASE);
        send_line("%s ok", id);
    } else if (!strcmp(verb, "regs") || !strcmp(verb, "setreg")) {
        if (!qi.regs_ok) { send_line("%s err unsupported", id); return; }
        pthread_mutex_lock(&g_lock);
        bool ok = g_frozen && g_frozen_exact;
        bool force = a1 && !strcmp(a1, "stopped"); /* caller asserts the VM is stopped (vstop) */
        if (!strcmp(verb, "setreg")) force = a3 && !strcmp(a3, "stopped");
        if (!ok && !force) { pthread_mutex_unlock(&g_lock); send_line("%s err registers are not exact here", id); return; }
        if (!strcmp(verb, "regs")) {
            char out[256];
            int r = regs_read(out, sizeof(out));
            pthread_mutex_unlock(&g_lock);
            send_line(r ? "%s err read failed" : "%s ok%s", id, out);
        } else {
            if (!a1 || !a2) { pthread_mutex_unlock(&g_lock); send_line("%s err usage: setreg <n> <value>", id); return; }
            int n = atoi(a1);
            uint32_t v = (uint32_t)strtoul(a2, NULL, 0);
            uint8_t b[4];
            memcpy(b, &v, 4);
            int w = (n >= 0 && n <= 15) || n == 25 ? qi.gdb_write_reg(qi.get_cpu((int)g_frozen_vcpu), b, n) : 0;
            pthread_mutex_unlock(&g_lock);
            send_line(w == 4 ? "%s ok" : "%s err write failed", id);
        }
    } else if (!strcmp(verb, "ping")) {
        send_line("%s ok pong", id);
    } else {
        send_line("%s err unknown command %s", id, verb);
    }
}

static void *reader_main(void *arg)
{
    (void)arg;
    char buf[4096];
    size_t len = 0;
    for (;;) {
        ssize_t r = recv(g_sock, buf + len, sizeof(buf) - 1 - len, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
            *nl = 0;
            handle_command(start);
            start = nl + 1;
        }
        len -= (size_t)(start - buf);
        memmove(buf, start, len);
        if (len == sizeof(buf) - 1) len = 0; /* overlong line: drop */
    }
    /* Peer gone: disarm everything, release a frozen vCPU, never block again. */
    pthread_mutex_lock(&g_lock);
    g_connected = false;
    memset(g_trig, 0, sizeof(g_trig));
    recompute_locked();
    g_release = true;
    pthread_cond_broadcast(&g_cond);
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
    const char *sock = NULL, *mech = "auto", *bench = NULL;
    int timeout_ms = 5000;
    bool start_frozen = true;
    char msg[256];

    g_id = id;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "sock=", 5)) sock = a + 5;
        else if (!strncmp(a, "precise=", 8)) mech = a + 8;
        else if (!strncmp(a, "bench=", 6)) bench = a + 6;
        else if (!strncmp(a, "count=", 6)) g_count_mode = !strcmp(a + 6, "tb") ? COUNT_TB_INLINE : COUNT_INSN_INLINE;
        else if (!strncmp(a, "connect-timeout-ms=", 19)) timeout_ms = atoi(a + 19);
        else if (!strcmp(a, "start=running")) start_frozen = false;
        else if (!strcmp(a, "start=frozen")) start_frozen = true;
        else if (!strcmp(a, "on-disconnect=exit")) g_exit_on_disconnect = true;
        else if (!strcmp(a, "on-disconnect=continue")) g_exit_on_disconnect = false;
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
    resolve_internals();

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
    } else {
        g_mech = MECH_FLUSH;
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
    send_line("! hello qemu-fault-plugin 1 api=%d qemu-api=%d..%d target=%s precise=%s clock=%d regs=%d",
              QF_PLUGIN_API, info->version.min, info->version.cur, info->target_name,
              g_mech == MECH_SINGLESTEP ? "singlestep" : "flush", qi.clock_ok, qi.regs_ok);

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
