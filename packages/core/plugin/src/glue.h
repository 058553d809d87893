/*
 * What the trigger logic needs from QEMU's plugin API, the same for every API version: counting,
 * instruction bytes, resets, and (API >= 2) register and memory access for the current vCPU.
 * glue.c holds the per-version differences; nothing else sees them.
 */
#ifndef QF_GLUE_H
#define QF_GLUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t qf_plugin_id;
struct qf_tb;
struct qf_insn;

/* Features of the public API of the QEMU the plugin is built for. */
struct qf_public {
    bool regs_read;   /* registers of the current vCPU in callbacks (API 2) */
    bool regs_write;  /* ... and written (API 5) */
    bool mem_read;    /* guest memory through the current vCPU (API 4) */
    bool mem_write;   /* (API 5) */
    bool set_pc;      /* resume the current vCPU elsewhere (API 6) */
};
extern struct qf_public qf_public;

void glue_init(qf_plugin_id id, unsigned max_vcpus);
qf_plugin_id glue_id(void);

/* Counting: an inline add before every instruction counts instructions started, per vCPU. */
void glue_count_insn(struct qf_insn *insn);
/* Called at every block start: API 1 has one shared counter, attributed to vCPUs here. */
void glue_block_start(unsigned vcpu);
uint64_t glue_count_total(void);
/* Gives back (or takes) counted instructions of `vcpu`: a replayed instruction counts once. */
void glue_count_adjust(unsigned vcpu, int64_t delta);
uint64_t glue_count_vcpu(unsigned vcpu);
unsigned glue_vcpus(void);

/* Up to `cap` bytes of the instruction's encoding; returns how many. */
size_t glue_insn_bytes(const struct qf_insn *insn, uint8_t *dst, size_t cap);

/* `cb` runs for every block QEMU translates. */
void glue_on_translate(void (*cb)(struct qf_tb *tb));
/* Drops every callback (all blocks are re-translated), then calls `done`. */
void glue_reset(void (*done)(void));
void glue_at_exit(void (*cb)(void));
/* `cb` runs whenever QEMU flushes its code cache (every vCPU stopped); dropped by a reset. */
void glue_on_flush(void (*cb)(void));

/* Flags for callbacks that may freeze: register access where the API honours flags. */
int glue_freeze_flags(void);

/* Current vCPU only, from a callback registered with glue_freeze_flags(); -1/false on failure. */
int glue_reg_read(unsigned vcpu, const char *const names[], uint8_t *out, size_t cap);
bool glue_reg_write(unsigned vcpu, const char *const names[], const uint8_t *value, size_t len);
/* The value a memory callback's access loaded or stored (API 4); false if unknown. */
bool glue_mem_value(uint32_t meminfo, uint64_t *value);
bool glue_mem_read(uint64_t addr, uint8_t *buf, size_t len);
bool glue_mem_write(uint64_t addr, const uint8_t *buf, size_t len);
void glue_set_pc(uint64_t pc) __attribute__((noreturn));

#endif
