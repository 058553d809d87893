/* Per-version glue over QEMU's plugin API (see glue.h and api.h). */
#include "glue.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "internals.h"

struct qf_public qf_public;

static qf_plugin_id g_id;
static unsigned g_max_vcpus = 1;

qf_plugin_id glue_id(void) { return g_id; }

#if QF_PLUGIN_API == 1
/*
 * One counter for all vCPUs (API 1 has no per-vCPU inline storage). Under -icount QEMU runs the
 * vCPUs round-robin on one thread and a switch always passes a block start, so what the shared
 * counter gained since the last block start belongs to the vCPU that ran then.
 */
static uint64_t g_shared;
static uint64_t *g_attributed;
static uint64_t g_mark;
static unsigned g_last_vcpu;

void glue_count_insn(struct qf_insn *insn) { qemu_plugin_register_vcpu_insn_exec_inline(insn, QF_INLINE_ADD_U64, &g_shared, 1); }

void glue_block_start(unsigned vcpu)
{
    if (vcpu == g_last_vcpu) return;
    g_attributed[g_last_vcpu] += g_shared - g_mark;
    g_mark = g_shared;
    g_last_vcpu = vcpu < g_max_vcpus ? vcpu : 0;
}

uint64_t glue_count_total(void) { return __atomic_load_n(&g_shared, __ATOMIC_RELAXED); }

void glue_count_adjust(unsigned vcpu, int64_t delta)
{
    (void)vcpu;
    g_shared += (uint64_t)delta;
}

uint64_t glue_count_vcpu(unsigned vcpu)
{
    if (vcpu >= g_max_vcpus) return 0;
    return g_attributed[vcpu] + (vcpu == g_last_vcpu ? g_shared - g_mark : 0);
}

unsigned glue_vcpus(void) { return g_max_vcpus; }

static void init_counting(void) { g_attributed = calloc(g_max_vcpus, sizeof(uint64_t)); }

#else
/*
 * One vCPU: a scoreboard entry, added to inline. Several vCPUs: a counter per vCPU added to by an
 * exec callback, which QEMU hands the vCPU index. Under -icount one thread runs every vCPU
 * round-robin, and with an inline scoreboard add in the blocks QEMU 10.0 and 11.1 never let the
 * second vCPU run (riscv virt -smp 2: hart 1 never started, even with nothing armed and no Node).
 * The callback costs speed (DESIGN.md, Q1), so it is used only where it is needed. Counters of a
 * vCPU are written only by the thread running it; others read them atomically.
 */
static struct qf_scoreboard *g_score;
static uint64_t **g_entries;
static unsigned g_started;
static uint64_t *g_counts; /* several vCPUs */

static void count_cb(unsigned vcpu, void *udata)
{
    (void)udata;
    vcpu = qi_current_vcpu(vcpu);
    if (vcpu < g_max_vcpus) __atomic_store_n(&g_counts[vcpu], g_counts[vcpu] + 1, __ATOMIC_RELAXED);
}

void glue_count_insn(struct qf_insn *insn)
{
    if (g_counts) qemu_plugin_register_vcpu_insn_exec_cb(insn, count_cb, QF_CB_NO_REGS, NULL);
    else qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QF_INLINE_ADD_U64, (qf_u64){g_score, 0}, 1);
}

static void find_entries(void)
{
    int n = qemu_plugin_num_vcpus();
    if (n <= 0 || (unsigned)n == g_started) return;
    g_started = (unsigned)n < g_max_vcpus ? (unsigned)n : g_max_vcpus;
    for (unsigned i = 0; i < g_started; i++) g_entries[i] = qemu_plugin_scoreboard_find(g_score, i);
}

void glue_block_start(unsigned vcpu)
{
    if (!g_counts && vcpu >= g_started) find_entries();
}

static uint64_t *count_of(unsigned vcpu)
{
    if (g_counts) return vcpu < g_max_vcpus ? &g_counts[vcpu] : NULL;
    return vcpu < g_started ? g_entries[vcpu] : NULL;
}

uint64_t glue_count_vcpu(unsigned vcpu)
{
    uint64_t *c = count_of(vcpu);
    return c ? __atomic_load_n(c, __ATOMIC_RELAXED) : 0;
}

void glue_count_adjust(unsigned vcpu, int64_t delta)
{
    uint64_t *c = count_of(vcpu);
    if (c) *c += (uint64_t)delta;
}

unsigned glue_vcpus(void) { return g_counts ? g_max_vcpus : g_started ? g_started : g_max_vcpus; }

uint64_t glue_count_total(void)
{
    uint64_t total = 0;
    for (unsigned i = 0, n = glue_vcpus(); i < n; i++) total += glue_count_vcpu(i);
    return total;
}

static void init_counting(void)
{
    if (g_max_vcpus > 1) {
        g_counts = calloc(g_max_vcpus, sizeof(uint64_t));
        return;
    }
    g_score = qemu_plugin_scoreboard_new(sizeof(uint64_t));
    g_entries = calloc(g_max_vcpus, sizeof(uint64_t *));
}
#endif

void glue_init(qf_plugin_id id, unsigned max_vcpus)
{
    g_id = id;
    g_max_vcpus = max_vcpus ? max_vcpus : 1;
    init_counting();
    qf_public.regs_read = QF_PLUGIN_API >= 2;
    qf_public.mem_read = QF_PLUGIN_API >= 4;
    qf_public.regs_write = qf_public.mem_write = QF_PLUGIN_API >= 5;
    qf_public.set_pc = QF_PLUGIN_API >= 6;
}

size_t glue_insn_bytes(const struct qf_insn *insn, uint8_t *dst, size_t cap)
{
    size_t n = qemu_plugin_insn_size(insn);
    if (n > cap) n = cap;
#if QF_PLUGIN_API >= 3
    return qemu_plugin_insn_data(insn, dst, n);
#else
    const void *src = qemu_plugin_insn_data(insn);
    if (!src) return 0;
    memcpy(dst, src, n);
    return n;
#endif
}

static void (*g_translate)(struct qf_tb *tb);
static void (*g_reset_done)(void);
static void (*g_exit_cb)(void);
static void (*g_flush_cb)(void);

/* The callbacks ignore their arguments: API 7 changed them, and a QEMU calling with the other
 * convention then does no harm. */
#if QF_PLUGIN_API >= 7
static void on_translate(struct qf_tb *tb, void *udata) { (void)udata; g_translate(tb); }
void glue_on_translate(void (*cb)(struct qf_tb *tb)) { g_translate = cb; qemu_plugin_register_vcpu_tb_trans_cb(g_id, on_translate, NULL); }
static void on_reset(void *udata) { (void)udata; g_reset_done(); }
static void on_qemu_exit(void *udata) { (void)udata; g_exit_cb(); }
static void on_flush(void *udata) { (void)udata; g_flush_cb(); }
void glue_reset(void (*done)(void)) { g_reset_done = done; qemu_plugin_reset(g_id, on_reset, NULL); }
void glue_on_flush(void (*cb)(void)) { g_flush_cb = cb; qemu_plugin_register_flush_cb(g_id, on_flush, NULL); }
#else
static void on_translate(qf_plugin_id id, struct qf_tb *tb) { (void)id; g_translate(tb); }
void glue_on_translate(void (*cb)(struct qf_tb *tb)) { g_translate = cb; qemu_plugin_register_vcpu_tb_trans_cb(g_id, on_translate); }
static void on_reset(qf_plugin_id id) { (void)id; g_reset_done(); }
static void on_qemu_exit(qf_plugin_id id, void *udata) { (void)id; (void)udata; g_exit_cb(); }
static void on_flush(qf_plugin_id id) { (void)id; g_flush_cb(); }
void glue_reset(void (*done)(void)) { g_reset_done = done; qemu_plugin_reset(g_id, on_reset); }
void glue_on_flush(void (*cb)(void)) { g_flush_cb = cb; qemu_plugin_register_flush_cb(g_id, on_flush); }
#endif

void glue_at_exit(void (*cb)(void))
{
    g_exit_cb = cb;
    qemu_plugin_register_atexit_cb(g_id, on_qemu_exit, NULL);
}

/* API 1 ignores callback flags (every callback may read stale registers); later APIs sync the
 * registers before a callback that asks for them and reload them after one that may write. */
int glue_freeze_flags(void) { return QF_PLUGIN_API >= 5 ? QF_CB_RW_REGS : QF_PLUGIN_API >= 2 ? QF_CB_R_REGS : QF_CB_NO_REGS; }

#if QF_PLUGIN_API >= 2
/* The descriptor list of each vCPU, fetched once (it lives as long as the vCPU). Entries begin
 * with { handle, name }; their size grew in API 7, so it is read from the array. */
static qf_garray **g_regs;

static struct qf_register *find_register(unsigned vcpu, const char *const names[])
{
    if (vcpu >= g_max_vcpus) return NULL;
    if (!g_regs) g_regs = calloc(g_max_vcpus, sizeof(*g_regs));
    if (!g_regs[vcpu]) g_regs[vcpu] = qemu_plugin_get_registers();
    qf_garray *list = g_regs[vcpu];
    if (!list) return NULL;
    unsigned size = g_array_get_element_size(list);
    for (unsigned i = 0; i < list->len; i++) {
        void *const *entry = (void *const *)(list->data + (size_t)i * size);
        const char *name = entry[1];
        for (int k = 0; names[k]; k++)
            if (name && !strcmp(name, names[k])) return entry[0];
    }
    return NULL;
}

int glue_reg_read(unsigned vcpu, const char *const names[], uint8_t *out, size_t cap)
{
    struct qf_register *reg = find_register(vcpu, names);
    if (!reg) return -1;
    qf_gbytes *buf = g_byte_array_new();
    int ok = qemu_plugin_read_register(reg, buf);
    int n = -1;
    if (ok > 0 && buf->len <= cap) {
        memcpy(out, buf->data, buf->len);
        n = (int)buf->len;
    }
    g_byte_array_free(buf, 1);
    return n;
}
#else
int glue_reg_read(unsigned vcpu, const char *const names[], uint8_t *out, size_t cap)
{
    (void)vcpu; (void)names; (void)out; (void)cap;
    return -1;
}
#endif

#if QF_PLUGIN_API >= 5
bool glue_reg_write(unsigned vcpu, const char *const names[], const uint8_t *value, size_t len)
{
    struct qf_register *reg = find_register(vcpu, names);
    if (!reg) return false;
    qf_gbytes *buf = g_byte_array_append(g_byte_array_new(), value, (unsigned)len);
    bool ok = qemu_plugin_write_register(reg, buf) > 0;
    g_byte_array_free(buf, 1);
    return ok;
}

bool glue_mem_write(uint64_t addr, const uint8_t *data, size_t len)
{
    qf_gbytes *buf = g_byte_array_append(g_byte_array_new(), data, (unsigned)len);
    bool ok = qemu_plugin_write_memory_vaddr(addr, buf);
    g_byte_array_free(buf, 1);
    return ok;
}
#else
bool glue_reg_write(unsigned vcpu, const char *const names[], const uint8_t *value, size_t len)
{
    (void)vcpu; (void)names; (void)value; (void)len;
    return false;
}
bool glue_mem_write(uint64_t addr, const uint8_t *data, size_t len)
{
    (void)addr; (void)data; (void)len;
    return false;
}
#endif

#if QF_PLUGIN_API >= 4
bool glue_mem_value(uint32_t meminfo, uint64_t *value)
{
    qf_mem_value v = qemu_plugin_mem_get_value(meminfo);
    switch (v.type) {
    case 0: *value = v.data.u8; return true;
    case 1: *value = v.data.u16; return true;
    case 2: *value = v.data.u32; return true;
    case 3: *value = v.data.u64; return true;
    default: return false;
    }
}

bool glue_mem_read(uint64_t addr, uint8_t *out, size_t len)
{
    qf_gbytes *buf = g_byte_array_new();
    bool ok = qemu_plugin_read_memory_vaddr(addr, buf, len) && buf->len >= len;
    if (ok) memcpy(out, buf->data, len);
    g_byte_array_free(buf, 1);
    return ok;
}
#else
bool glue_mem_value(uint32_t meminfo, uint64_t *value)
{
    (void)meminfo; (void)value;
    return false;
}

bool glue_mem_read(uint64_t addr, uint8_t *out, size_t len)
{
    (void)addr; (void)out; (void)len;
    return false;
}
#endif

#if QF_PLUGIN_API >= 6
void glue_set_pc(uint64_t pc) { qemu_plugin_set_pc(pc); }
#else
void glue_set_pc(uint64_t pc)
{
    (void)pc;
    abort(); /* callers check qf_public.set_pc */
}
#endif
