/* QEMU internals through dlsym (see internals.h). Signatures are QEMU's, in our own declarations. */
#define _GNU_SOURCE
#include "internals.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "gbytes.h"

struct qf_internals qi;

#define CLOCK_VIRTUAL 1

static struct {
    /* 7.2 has `int singlestep`; 8.1 renamed it `bool one_insn_per_tb`: never write an int there. */
    int *singlestep;
    bool *one_insn_per_tb;
    void *(*get_cpu)(int index);
    void (*cpu_exit)(void *cpu);
    int64_t (*clock_get_ns)(int type);
    void (*timer_init_full)(void *ts, void *tlg, int type, int scale, int attrs, void (*cb)(void *), void *opaque);
    void (*timer_mod_ns)(void *ts, int64_t expire);
    void (*timer_del)(void *ts);
    bool (*in_vcpu_thread)(void);
    /* gdb_read/write_register dispatch on the CPU's class (10.0 / 11.0 on); before, per target. */
    int (*reg_read)(void *cpu, qf_gbytes *buf, int n);
    int (*reg_write)(void *cpu, uint8_t *buf, int n);
    int (*bp_insert)(void *cpu, uint64_t pc, int flags, void **bp);
    void (*bp_remove_by_ref)(void *cpu, void *bp);
    bool (*restore_state)(void *cpu, uintptr_t host_pc);
    void (*loop_exit)(void *cpu) __attribute__((noreturn));
    /* tb_flush(cpu) until 10.1; queue_tb_flush(cpu) from 10.2 */
    void (*flush)(void *cpu);
    /* QEMU's run_on_cpu_data is a union of 8 bytes: passed like a uint64_t */
    void (*async_safe)(void *cpu, void (*work)(void *cpu, uint64_t data), uint64_t data);
    int (*mem_rw_debug)(void *cpu, uint64_t addr, void *buf, size_t len, bool is_write);
} fn;

static void *lookup(const char *name)
{
    void *p = dlsym(RTLD_DEFAULT, name);
    return p;
}

static void note_missing(const char *name)
{
    size_t used = strlen(qi.missing);
    snprintf(qi.missing + used, sizeof(qi.missing) - used, "%s%s", used ? "," : "", name);
}

/* The first of `names` that QEMU exports; records the first name as missing if none is. */
static void *first_of(const char *const names[])
{
    for (int i = 0; names[i]; i++) {
        void *p = lookup(names[i]);
        if (p) return p;
    }
    note_missing(names[0]);
    return NULL;
}
#define FIRST(...) first_of((const char *const[]){__VA_ARGS__, NULL})

static unsigned g_vcpus;

void qi_resolve(const struct qf_arch *arch, unsigned vcpus, bool disabled)
{
    memset(&fn, 0, sizeof(fn));
    memset(&qi, 0, sizeof(qi));
    if (disabled) {
        snprintf(qi.missing, sizeof(qi.missing), "all");
        return;
    }
    fn.one_insn_per_tb = lookup("one_insn_per_tb");
    if (!fn.one_insn_per_tb) fn.singlestep = lookup("singlestep");
    if (!fn.one_insn_per_tb && !fn.singlestep) note_missing("one_insn_per_tb");
    fn.get_cpu = FIRST("qemu_get_cpu");
    fn.cpu_exit = FIRST("cpu_exit");
    fn.clock_get_ns = FIRST("qemu_clock_get_ns");
    fn.timer_init_full = FIRST("timer_init_full");
    fn.timer_mod_ns = FIRST("timer_mod_ns");
    fn.timer_del = FIRST("timer_del");
    fn.in_vcpu_thread = FIRST("qemu_in_vcpu_thread");
    const char *t = arch ? arch->target : "";
    char read_name[64], write_name[64];
    snprintf(read_name, sizeof(read_name), "%s_cpu_gdb_read_register", !strncmp(t, "riscv", 5) ? "riscv" : t);
    snprintf(write_name, sizeof(write_name), "%s_cpu_gdb_write_register", !strncmp(t, "riscv", 5) ? "riscv" : t);
    fn.reg_read = FIRST("gdb_read_register", read_name);
    fn.reg_write = FIRST("gdb_write_register", write_name);
    fn.bp_insert = FIRST("cpu_breakpoint_insert");
    fn.bp_remove_by_ref = FIRST("cpu_breakpoint_remove_by_ref");
    fn.restore_state = FIRST("cpu_restore_state");
    fn.loop_exit = FIRST("cpu_loop_exit");
    fn.flush = FIRST("tb_flush", "queue_tb_flush");
    fn.async_safe = FIRST("async_safe_run_on_cpu");
    fn.mem_rw_debug = FIRST("cpu_memory_rw_debug");

    bool cpus = fn.get_cpu && fn.cpu_exit;
    qi.one_insn = cpus && (fn.one_insn_per_tb || fn.singlestep);
    qi.clock = cpus && fn.clock_get_ns && fn.timer_init_full && fn.timer_mod_ns && fn.timer_del && fn.in_vcpu_thread;
    qi.regs = fn.get_cpu && fn.reg_read && fn.reg_write && arch;
    qi.mem = fn.get_cpu && fn.mem_rw_debug;
    g_vcpus = vcpus;
    qi.current = fn.get_cpu && FIRST("current_cpu");
    qi.restart = qi.one_insn && qi.mem && fn.bp_insert && fn.bp_remove_by_ref && fn.restore_state && fn.loop_exit && fn.flush && fn.async_safe;
}

static void *cpu(unsigned vcpu) { return fn.get_cpu((int)vcpu); }

void qi_set_one_insn(bool on)
{
    if (fn.one_insn_per_tb) __atomic_store_n(fn.one_insn_per_tb, on, __ATOMIC_SEQ_CST);
    else *fn.singlestep = on;
}

void qi_kick_all(void)
{
    for (int i = 0;; i++) {
        void *c = fn.get_cpu(i);
        if (!c) break;
        fn.cpu_exit(c);
    }
}

static void flush_now(void *c, uint64_t data)
{
    (void)data;
    fn.flush(c);
}

/* As safe work, always: from 8.x on tb_flush flushes at once when the vCPUs run on one thread,
 * which from a callback frees the very block that is running (its io recompile, or our restore of
 * its state, then finds no block: QEMU aborts). Queued work runs when the vCPU leaves its loop,
 * which queuing it asks for. */
void qi_flush(unsigned vcpu) { fn.async_safe(cpu(vcpu), flush_now, 0); }

/* Writing back the same bytes through the debug path invalidates every block containing them
 * (all supported releases; 7.2's tb_invalidate_phys_addr went away in 8.0). */
void qi_invalidate(unsigned vcpu, uint64_t pc, unsigned len)
{
    uint8_t bytes[8];
    if (len > sizeof(bytes)) len = sizeof(bytes);
    if (fn.mem_rw_debug(cpu(vcpu), pc, bytes, len, false) == 0) fn.mem_rw_debug(cpu(vcpu), pc, bytes, len, true);
}

bool qi_restore(unsigned vcpu, uintptr_t host_pc) { return fn.restore_state(cpu(vcpu), host_pc); }

void qi_loop_exit(unsigned vcpu) { fn.loop_exit(cpu(vcpu)); }

/* QEMU's breakpoint flags; ours has neither BP_GDB (0x10) nor BP_CPU (0x20), so it never stops the
 * vCPU and neither gdb nor the architecture's debug code removes it. */
#define QF_BP_FLAGS 0

void *qi_bp_insert(unsigned vcpu, uint64_t pc)
{
    void *ref = NULL;
    return fn.bp_insert(cpu(vcpu), pc, QF_BP_FLAGS, &ref) == 0 ? ref : NULL;
}

void qi_bp_remove(unsigned vcpu, void *bp) { fn.bp_remove_by_ref(cpu(vcpu), bp); }

int qi_mem_rw(unsigned vcpu, uint64_t addr, void *buf, size_t len, bool write)
{
    void *c = cpu(vcpu);
    return c ? fn.mem_rw_debug(c, addr, buf, len, write) : -1;
}

int qi_reg_read(unsigned vcpu, int gdb, uint8_t *out, size_t cap)
{
    void *c = cpu(vcpu);
    if (!c) return -1;
    qf_gbytes *buf = g_byte_array_new();
    int n = fn.reg_read(c, buf, gdb);
    int got = -1;
    if (n > 0 && buf->len >= (unsigned)n && (size_t)n <= cap) {
        memcpy(out, buf->data, (size_t)n);
        got = n;
    }
    g_byte_array_free(buf, 1);
    return got;
}

bool qi_reg_write(unsigned vcpu, int gdb, const uint8_t *value, size_t len)
{
    void *c = cpu(vcpu);
    uint8_t copy[16];
    if (!c || len > sizeof(copy)) return false;
    memcpy(copy, value, len);
    /* A CPU of another class than the target's may take fewer bytes at this number (an R5's r15
     * is 4 bytes, our AArch64 table's x15 8): fine when the rest is zero. */
    int n = fn.reg_write(c, copy, gdb);
    if (n <= 0 || (size_t)n > len) return false;
    for (size_t i = (size_t)n; i < len; i++)
        if (copy[i]) return false;
    return true;
}

int64_t qi_vclock(void) { return fn.clock_get_ns(CLOCK_VIRTUAL); }

bool qi_in_vcpu_thread(void) { return fn.in_vcpu_thread(); }

/* QEMUTimer is about 48 bytes in every release; ours never moves. */
static uint8_t timer_storage[128] __attribute__((aligned(16)));
static bool timer_ready;

void qi_timer_arm(void (*cb)(void *), int64_t expire_ns)
{
    if (!timer_ready) {
        /* scale 1 (ns), attributes 0: an idle warp stops at it like at any device timer */
        fn.timer_init_full(timer_storage, NULL, CLOCK_VIRTUAL, 1, 0, cb, NULL);
        timer_ready = true;
    }
    fn.timer_mod_ns(timer_storage, expire_ns);
}

void qi_timer_cancel(void)
{
    if (timer_ready) fn.timer_del(timer_storage);
}

/* current_cpu is thread-local: dlsym gives the calling thread's copy, so it is looked up once per
 * thread. The CPUs exist before the guest runs; their objects never move. */
static __thread void **tls_current_cpu;
static void *g_cpu_objects[64];
static unsigned g_cpu_objects_n;

unsigned qi_current_vcpu(unsigned reported)
{
    if (g_vcpus < 2 || !qi.current) return reported;
    if (!tls_current_cpu) tls_current_cpu = lookup("current_cpu");
    void *c = tls_current_cpu ? *tls_current_cpu : NULL;
    if (!c) return reported;
    if (!g_cpu_objects_n) {
        unsigned n = 0;
        while (n < g_vcpus && n < sizeof(g_cpu_objects) / sizeof(g_cpu_objects[0]) && (g_cpu_objects[n] = fn.get_cpu((int)n))) n++;
        g_cpu_objects_n = n;
    }
    for (unsigned i = 0; i < g_cpu_objects_n; i++)
        if (g_cpu_objects[i] == c) return i;
    return reported;
}
