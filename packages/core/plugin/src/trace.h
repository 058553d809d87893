/*
 * Execution traces: every instruction executed in an armed pc range, reported to Node in batches
 * (`! trace <token> <cpu>:<pc>:<count>,...`), in execution order, before any freeze that follows
 * them. Fault campaigns use a golden run's trace to place faults at every instruction a function
 * executed.
 */
#ifndef QF_TRACE_H
#define QF_TRACE_H

#include <stdbool.h>
#include <stdint.h>

/* Records one traced execution: `pc` on `vcpu`, the instruction with index `count`. (vCPU thread) */
void trace_note(unsigned vcpu, uint64_t pc, uint64_t count);
/* Sends what is recorded (any thread). */
void trace_flush_all(void);
/* Sends what is recorded for `token`, then forgets the token's buffer. */
void trace_flush_token(const char *token);

#endif
