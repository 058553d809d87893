/*
 * The parts of QEMU's TCG plugin API this plugin uses, declared in our own words for every API
 * version from 1 (QEMU 7.2-8.2) to 7 (QEMU 11.1). QEMU keeps one implementation of its API, so
 * the calling conventions are those of the QEMU the plugin is loaded into: build-plugin.ts
 * compiles with -DQF_PLUGIN_API=<that QEMU's current version>. QEMU binds every symbol the
 * plugin references when it loads it, so a function is declared (and used) only for the versions
 * that have it. See DESIGN.md, "Plugin API versions".
 *
 * What differs between versions is bridged in glue.c (glue.h); other files call only functions
 * every version has, with the same signature.
 */
#ifndef QF_API_H
#define QF_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gbytes.h"

#ifndef QF_PLUGIN_API
#error "build with -DQF_PLUGIN_API=<version> (build-plugin.ts does)"
#endif
#if QF_PLUGIN_API < 1 || QF_PLUGIN_API > 7
#error "QF_PLUGIN_API must be 1..7"
#endif

#define QF_EXPORT __attribute__((visibility("default")))

typedef uint64_t qf_plugin_id;
struct qf_tb;          /* a block being translated */
struct qf_insn;        /* one instruction of that block */
struct qf_hwaddr;      /* physical side of a memory access */
struct qf_scoreboard;  /* per-vCPU storage for inline operations (API >= 2) */
struct qf_register;    /* a register handle (API >= 2) */
typedef uint32_t qf_meminfo;

typedef struct {
    const char *target_name;
    struct {
        int min;
        int cur;
    } version;
    bool system_emulation;
    union {
        struct {
            int smp_vcpus;
            int max_vcpus;
        } system;
    };
} qf_info;

enum { QF_CB_NO_REGS = 0, QF_CB_R_REGS = 1, QF_CB_RW_REGS = 2 };
enum { QF_INLINE_ADD_U64 = 0 };
enum { QF_MEM_R = 1, QF_MEM_W = 2, QF_MEM_RW = 3 };

typedef void (*qf_vcpu_udata_cb)(unsigned int vcpu, void *udata);
typedef void (*qf_vcpu_mem_cb)(unsigned int vcpu, qf_meminfo info, uint64_t vaddr, void *udata);

/* API 7 (QEMU 11.1) dropped the plugin id from the callbacks that had one and gave each a userdata. */
#if QF_PLUGIN_API >= 7
typedef void (*qf_udata_cb)(void *udata);
typedef void (*qf_tb_trans_cb)(struct qf_tb *tb, void *udata);
void qemu_plugin_reset(qf_plugin_id id, qf_udata_cb cb, void *udata);
void qemu_plugin_register_vcpu_tb_trans_cb(qf_plugin_id id, qf_tb_trans_cb cb, void *udata);
#else
typedef void (*qf_tb_trans_cb)(qf_plugin_id id, struct qf_tb *tb);
void qemu_plugin_register_vcpu_tb_trans_cb(qf_plugin_id id, qf_tb_trans_cb cb);
typedef void (*qf_udata_cb)(qf_plugin_id id, void *udata);
typedef void (*qf_simple_cb)(qf_plugin_id id);
void qemu_plugin_reset(qf_plugin_id id, qf_simple_cb cb);
#endif
void qemu_plugin_register_atexit_cb(qf_plugin_id id, qf_udata_cb cb, void *udata);
#if QF_PLUGIN_API >= 7
void qemu_plugin_register_flush_cb(qf_plugin_id id, qf_udata_cb cb, void *udata);
#else
void qemu_plugin_register_flush_cb(qf_plugin_id id, qf_simple_cb cb);
#endif

void qemu_plugin_register_vcpu_tb_exec_cb(struct qf_tb *tb, qf_vcpu_udata_cb cb, int flags, void *udata);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qf_insn *insn, qf_vcpu_udata_cb cb, int flags, void *udata);
void qemu_plugin_register_vcpu_mem_cb(struct qf_insn *insn, qf_vcpu_mem_cb cb, int flags, int rw, void *udata);
size_t qemu_plugin_tb_n_insns(const struct qf_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qf_tb *tb);
struct qf_insn *qemu_plugin_tb_get_insn(const struct qf_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qf_insn *insn);
size_t qemu_plugin_insn_size(const struct qf_insn *insn);
unsigned int qemu_plugin_mem_size_shift(qf_meminfo info);
bool qemu_plugin_mem_is_store(qf_meminfo info);
struct qf_hwaddr *qemu_plugin_get_hwaddr(qf_meminfo info, uint64_t vaddr);
bool qemu_plugin_hwaddr_is_io(const struct qf_hwaddr *haddr);
void qemu_plugin_outs(const char *s);

#if QF_PLUGIN_API >= 3
size_t qemu_plugin_insn_data(const struct qf_insn *insn, void *dest, size_t len);
#else
const void *qemu_plugin_insn_data(const struct qf_insn *insn);
#endif

#if QF_PLUGIN_API == 1
/* Inline operations on one host address, shared by every vCPU. */
void qemu_plugin_register_vcpu_insn_exec_inline(struct qf_insn *insn, int op, void *ptr, uint64_t imm);
#else
/* Inline operations on a per-vCPU scoreboard entry. */
typedef struct {
    struct qf_scoreboard *score;
    size_t offset;
} qf_u64;
struct qf_scoreboard *qemu_plugin_scoreboard_new(size_t element_size);
void *qemu_plugin_scoreboard_find(struct qf_scoreboard *score, unsigned int vcpu);
void qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(struct qf_insn *insn, int op, qf_u64 entry, uint64_t imm);
int qemu_plugin_num_vcpus(void);

/* Registers of the current vCPU, in a callback registered with R_REGS (RW_REGS to write). */
qf_garray *qemu_plugin_get_registers(void); /* descriptors: handle, name, feature (, is_readonly) */
#if QF_PLUGIN_API >= 6
bool qemu_plugin_read_register(struct qf_register *handle, qf_gbytes *buf);
#else
int qemu_plugin_read_register(struct qf_register *handle, qf_gbytes *buf);
#endif
#endif

#if QF_PLUGIN_API >= 4
typedef struct {
    int type; /* 0..4: u8, u16, u32, u64, u128 */
    union {
        uint8_t u8;
        uint16_t u16;
        uint32_t u32;
        uint64_t u64;
        struct {
            uint64_t low, high;
        } u128;
    } data;
} qf_mem_value;
qf_mem_value qemu_plugin_mem_get_value(qf_meminfo info);
bool qemu_plugin_read_memory_vaddr(uint64_t addr, qf_gbytes *buf, size_t len);
#endif
#if QF_PLUGIN_API >= 5
bool qemu_plugin_write_memory_vaddr(uint64_t addr, qf_gbytes *buf);
#if QF_PLUGIN_API >= 6
bool qemu_plugin_write_register(struct qf_register *handle, qf_gbytes *buf);
#else
int qemu_plugin_write_register(struct qf_register *handle, qf_gbytes *buf);
#endif
#endif
#if QF_PLUGIN_API >= 6
void qemu_plugin_set_pc(uint64_t vaddr) __attribute__((noreturn));
#endif

#endif
