/* Node's commands, run by the reader thread (DESIGN.md, "Protocol"). */
#include "commands.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "glue.h"
#include "internals.h"
#include "lean.h"
#include "runtime.h"
#include "trace.h"
#include "triggers.h"
#include "vtime.h"

/* Replies with an error, then leaves the command (the handlers return nothing). */
#define FAIL(...) do { reply_err(__VA_ARGS__); return; } while (0)

#define MAX_WORDS 10
/* Largest read or write in one command (hex doubles it on the line). */
#define MAX_MEM_IO 1024

struct cmd {
    const char *id;
    int argc;          /* words after the verb */
    char **argv;
};

static bool parse_addr(const struct cmd *c, const char *word, uint64_t *out)
{
    if (!parse_u64(word, out)) {
        reply_err(c->id, ERR_ARGUMENT, "bad number %s", word);
        return false;
    }
    if (*out > cfg.arch->addr_max) {
        reply_err(c->id, ERR_ARGUMENT, "bad address 0x%" PRIx64 ": beyond the %s address space", *out, cfg.arch->target);
        return false;
    }
    return true;
}

static bool parse_cpu(const struct cmd *c, const char *word, unsigned *cpu)
{
    uint64_t n;
    if (!parse_u64(word, &n) || n >= cfg.vcpus) {
        reply_err(c->id, ERR_ARGUMENT, "bad cpu %s (this machine has %u)", word, cfg.vcpus);
        return false;
    }
    *cpu = (unsigned)n;
    return true;
}

static bool need(const struct cmd *c, bool have, const char *what)
{
    if (!have) reply_err(c->id, ERR_UNSUPPORTED, "%s", what);
    return have;
}

/* Adds a trigger and tells the vCPU; the reply comes last (a running guest may hit it at once). */
static void armed(const struct cmd *c, bool was_frozen)
{
    if (!was_frozen) exec_wake();
    reply_done(c->id);
}

static struct trigger *add(const struct cmd *c, enum trig_kind kind)
{
    struct trigger *t = trig_add_locked(kind, c->argv[0]);
    if (!t) {
        pthread_mutex_unlock(&g_lock);
        reply_err(c->id, ERR_ARGUMENT, "out of memory for triggers");
    }
    return t;
}

static void cmd_arm_insn(const struct cmd *c)
{
    uint64_t n;
    if (c->argc != 2) FAIL(c->id, ERR_USAGE, "usage: arm-insn <token> <N>");
    if (!token_ok(c->argv[0])) FAIL(c->id, ERR_ARGUMENT, "bad token (1-47 of [A-Za-z0-9_.:-])");
    if (!parse_u64(c->argv[1], &n)) FAIL(c->id, ERR_ARGUMENT, "bad number %s", c->argv[1]);
    bool was = frozen();
    pthread_mutex_lock(&g_lock);
    uint64_t now = glue_count_total();
    if (n < now || (was && n == now)) {
        /* (frozen at N: arming N again would re-freeze at the same point) */
        pthread_mutex_unlock(&g_lock);
        FAIL(c->id, ERR_ARGUMENT, "instruction %" PRIu64 " is not in the future (count %" PRIu64 ")", n, now);
    }
    struct trigger *t = add(c, TRIG_INSN);
    if (!t) return;
    t->value = n;
    trig_changed_locked();
    pthread_mutex_unlock(&g_lock);
    armed(c, was);
}

/* Options after the required words: a skip count, `keep`, `cpu=<n>`. */
static bool parse_options(const struct cmd *c, int from, bool allow_keep, uint64_t *skip, bool *keep, int *cpu)
{
    for (int i = from; i < c->argc; i++) {
        const char *w = c->argv[i];
        bool bad = false;
        if (parse_cpu_option(w, cfg.vcpus, cpu, &bad)) {
            if (bad) {
                reply_err(c->id, ERR_ARGUMENT, "bad %s (this machine has %u cpus)", w, cfg.vcpus);
                return false;
            }
        } else if (allow_keep && !strcmp(w, "keep")) {
            *keep = true;
        } else if (isdigit((unsigned char)w[0])) {
            if (!parse_u64(w, skip)) {
                reply_err(c->id, ERR_ARGUMENT, "bad number %s", w);
                return false;
            }
        } else {
            reply_err(c->id, ERR_USAGE, "unknown option %s", w);
            return false;
        }
    }
    return true;
}

static void cmd_arm_pc(const struct cmd *c)
{
    uint64_t pc, skip = 0;
    bool keep = false;
    int cpu = -1;
    if (c->argc < 2) FAIL(c->id, ERR_USAGE, "usage: arm-pc <token> <addr> [skip] [keep] [cpu=<n>]");
    if (!token_ok(c->argv[0])) FAIL(c->id, ERR_ARGUMENT, "bad token (1-47 of [A-Za-z0-9_.:-])");
    if (!parse_addr(c, c->argv[1], &pc) || !parse_options(c, 2, true, &skip, &keep, &cpu)) return;
    if (pc % cfg.arch->insn_align)
        FAIL(c->id, ERR_ARGUMENT, "bad address 0x%" PRIx64 ": not a multiple of %u (a Thumb function symbol? use 0x%" PRIx64 ")", pc,
                         cfg.arch->insn_align, pc - pc % cfg.arch->insn_align);
    bool was = frozen();
    pthread_mutex_lock(&g_lock);
    struct trigger *t = add(c, TRIG_PC);
    if (!t) return;
    t->value = pc;
    t->skip = skip;
    t->keep = keep;
    t->cpu = cpu;
    trig_changed_locked();
    pthread_mutex_unlock(&g_lock);
    if (cfg.pc == PC_HOOK) exec_hook_pcs_changed(); /* re-translate to hook the pc */
    armed(c, was);
}

static void cmd_arm_watch(const struct cmd *c)
{
    uint64_t addr, len, skip = 0;
    bool keep = true;
    int cpu = -1;
    if (!need(c, cfg.watch != WATCH_NONE, "arm-watch needs QEMU internals or plugin API 2 (QEMU 9.0)")) return;
    if (c->argc < 4) FAIL(c->id, ERR_USAGE, "usage: arm-watch <token> <r|w|rw> <addr> <len> [skip] [cpu=<n>]");
    if (!token_ok(c->argv[0])) FAIL(c->id, ERR_ARGUMENT, "bad token (1-47 of [A-Za-z0-9_.:-])");
    const char *k = c->argv[1];
    int rw = !strcmp(k, "r") ? 1 : !strcmp(k, "w") ? 2 : !strcmp(k, "rw") ? 3 : 0;
    if (!rw) FAIL(c->id, ERR_ARGUMENT, "bad access kind %s (r, w or rw)", k);
    if (!parse_addr(c, c->argv[2], &addr)) return;
    if (!parse_u64(c->argv[3], &len)) FAIL(c->id, ERR_ARGUMENT, "bad number %s", c->argv[3]);
    uint64_t room = cfg.arch->addr_max - addr; /* bytes after addr, less one */
    if (len == 0 || len - 1 > room)
        FAIL(c->id, ERR_ARGUMENT, "bad length %" PRIu64 " (1..%" PRIu64 " at 0x%" PRIx64 ")", len, room == UINT64_MAX ? room : room + 1, addr);
    if (!parse_options(c, 4, false, &skip, &keep, &cpu)) return;
    bool was = frozen();
    pthread_mutex_lock(&g_lock);
    struct trigger *t = add(c, TRIG_WATCH);
    if (!t) return;
    t->value = addr;
    t->len = len;
    t->skip = skip;
    t->rw = rw;
    t->keep = true;
    t->cpu = cpu;
    trig_changed_locked();
    pthread_mutex_unlock(&g_lock);
    armed(c, was);
}

static void cmd_arm_trace(const struct cmd *c)
{
    uint64_t lo, hi, skip = 0;
    bool keep = true;
    int cpu = -1;
    if (c->argc < 3) FAIL(c->id, ERR_USAGE, "usage: arm-trace <token> <from> <to> [cpu=<n>]");
    if (!token_ok(c->argv[0])) FAIL(c->id, ERR_ARGUMENT, "bad token (1-47 of [A-Za-z0-9_.:-])");
    if (!parse_addr(c, c->argv[1], &lo) || !parse_addr(c, c->argv[2], &hi)) return;
    if (hi <= lo) FAIL(c->id, ERR_ARGUMENT, "empty range 0x%" PRIx64 "..0x%" PRIx64, lo, hi);
    if (!parse_options(c, 3, false, &skip, &keep, &cpu)) return;
    if (skip) FAIL(c->id, ERR_USAGE, "arm-trace takes no skip count");
    bool was = frozen();
    pthread_mutex_lock(&g_lock);
    struct trigger *t = add(c, TRIG_TRACE);
    if (!t) return;
    t->value = lo;
    t->len = hi - lo;
    t->cpu = cpu;
    t->keep = true;
    trig_changed_locked();
    pthread_mutex_unlock(&g_lock);
    armed(c, was);
}

static void cmd_disarm(const struct cmd *c)
{
    if (c->argc != 1) FAIL(c->id, ERR_USAGE, "usage: disarm <token>");
    trace_flush_token(c->argv[0]); /* what it traced so far arrives before the reply */
    pthread_mutex_lock(&g_lock);
    unsigned n = trig_disarm_locked(c->argv[0]);
    if (n) trig_changed_locked();
    pthread_mutex_unlock(&g_lock);
    if (qi.clock && vtime_disarm(c->argv[0])) n++;
    reply_ok(c->id, "%u", n);
}

static void cmd_resume(const struct cmd *c)
{
    /* Reply first: once released, the guest may run to its end and QEMU exit. */
    if (!frozen()) FAIL(c->id, ERR_STATE, "not frozen");
    reply_done(c->id);
    release_freeze();
}

static void cmd_count(const struct cmd *c)
{
    struct strbuf per = {0};
    for (unsigned i = 0; i < glue_vcpus(); i++) sb_printf(&per, "%s%" PRIu64, i ? "," : "", glue_count_vcpu(i));
    reply_ok(c->id, "%" PRIu64 " %s %s", glue_count_total(), frozen() ? "frozen" : "running", per.text ? per.text : "0");
    sb_free(&per);
}

static void cmd_vtime(const struct cmd *c)
{
    if (!need(c, qi.clock, "vtime needs QEMU's internal clock functions")) return;
    /* Exact while the VM is stopped; while frozen in a block it lags by the current slice. */
    reply_ok(c->id, "%" PRId64, qi_vclock());
}

static void cmd_arm_vtime(const struct cmd *c)
{
    uint64_t ns;
    char why[120];
    if (!need(c, qi.clock, "arm-vtime needs QEMU's internal clock and timer functions")) return;
    if (c->argc != 2) FAIL(c->id, ERR_USAGE, "usage: arm-vtime <token> <ns>");
    if (!token_ok(c->argv[0])) FAIL(c->id, ERR_ARGUMENT, "bad token (1-47 of [A-Za-z0-9_.:-])");
    if (!parse_u64(c->argv[1], &ns) || ns > INT64_MAX) FAIL(c->id, ERR_ARGUMENT, "bad number %s", c->argv[1]);
    if (!vtime_arm(c->argv[0], (int64_t)ns, why, sizeof(why))) FAIL(c->id, ERR_ARGUMENT, "%s", why);
    reply_done(c->id);
}

static void cmd_disarm_vtime(const struct cmd *c)
{
    if (qi.clock) vtime_disarm(NULL);
    reply_done(c->id);
}

static bool is_stopped_flag(const struct cmd *c, int at) { return c->argc > at && !strcmp(c->argv[at], "stopped"); }

static void cmd_regs(const struct cmd *c)
{
    unsigned cpu;
    if (c->argc < 1 || c->argc > 2 || (c->argc == 2 && !is_stopped_flag(c, 1))) FAIL(c->id, ERR_USAGE, "usage: regs <cpu> [stopped]");
    if (!parse_cpu(c, c->argv[0], &cpu)) return;
    struct strbuf out = {0};
    enum qf_error_class cls = ERR_ACCESS;
    const char *why = "cannot read the registers";
    bool ok;
    if (is_stopped_flag(c, 1)) {
        /* the caller asserts the VM is stopped (QMP), where env is exact */
        if (!need(c, cfg.stopped_regs, "registers while the VM is stopped need QEMU internals")) return;
        ok = stopped_regs(cpu, &out);
    } else {
        ok = frozen_regs(cpu, &out, &cls, &why);
    }
    if (ok) reply_ok(c->id, "%s", out.text ? out.text : "");
    else reply_err(c->id, cls, "%s", why);
    sb_free(&out);
}

static void cmd_setreg(const struct cmd *c)
{
    unsigned cpu;
    uint64_t n, value;
    if (c->argc < 3 || c->argc > 4 || (c->argc == 4 && !is_stopped_flag(c, 3)))
        FAIL(c->id, ERR_USAGE, "usage: setreg <cpu> <gdb number> <value> [stopped]");
    if (!parse_cpu(c, c->argv[0], &cpu)) return;
    if (!parse_u64(c->argv[1], &n) || n > 1000) FAIL(c->id, ERR_ARGUMENT, "bad register number %s", c->argv[1]);
    if (!parse_u64(c->argv[2], &value)) FAIL(c->id, ERR_ARGUMENT, "bad number %s", c->argv[2]);
    enum qf_error_class cls = ERR_ARGUMENT;
    const char *why = "no such core register, or a value wider than it";
    bool ok;
    if (is_stopped_flag(c, 3)) {
        if (!need(c, cfg.stopped_regs, "registers while the VM is stopped need QEMU internals")) return;
        ok = stopped_set_reg(cpu, (int)n, value);
    } else {
        ok = frozen_set_reg(cpu, (int)n, value, &cls, &why);
    }
    if (ok) reply_done(c->id);
    else reply_err(c->id, cls, "%s", why);
}

static bool parse_hex(const char *hex, uint8_t *out, size_t *len)
{
    size_t hl = strlen(hex);
    if (hl % 2 || hl == 0 || hl / 2 > MAX_MEM_IO) return false;
    for (size_t i = 0; i < hl; i++)
        if (!isxdigit((unsigned char)hex[i])) return false;
    for (size_t i = 0; i < hl / 2; i++) {
        unsigned b;
        sscanf(hex + 2 * i, "%2x", &b);
        out[i] = (uint8_t)b;
    }
    *len = hl / 2;
    return true;
}

static void cmd_memory(const struct cmd *c, bool write)
{
    unsigned cpu;
    uint64_t addr, len = 0;
    uint8_t buf[MAX_MEM_IO];
    if (!need(c, cfg.mem, "memory access at a freeze needs QEMU internals or plugin API 4 (QEMU 9.2)")) return;
    if (c->argc != 3) FAIL(c->id, ERR_USAGE, write ? "usage: write <cpu> <addr> <hex bytes>" : "usage: read <cpu> <addr> <len>");
    if (!parse_cpu(c, c->argv[0], &cpu) || !parse_addr(c, c->argv[1], &addr)) return;
    if (write) {
        size_t n;
        if (!need(c, qi.mem || qf_public.mem_write, "memory writes at a freeze need QEMU internals or plugin API 5 (QEMU 10.1)")) return;
        if (!parse_hex(c->argv[2], buf, &n)) FAIL(c->id, ERR_ARGUMENT, "bad hex data (1..%d bytes)", MAX_MEM_IO);
        len = n;
    } else if (!parse_u64(c->argv[2], &len) || len == 0 || len > MAX_MEM_IO) {
        FAIL(c->id, ERR_ARGUMENT, "bad length %s (1..%d)", c->argv[2], MAX_MEM_IO);
    }
    if (len - 1 > cfg.arch->addr_max - addr) FAIL(c->id, ERR_ARGUMENT, "bad address 0x%" PRIx64 ": beyond the address space", addr);
    enum qf_error_class cls;
    const char *why;
    if (!frozen_mem(cpu, addr, buf, (size_t)len, write, &cls, &why)) {
        if (cls == ERR_ACCESS) FAIL(c->id, cls, "cannot access 0x%" PRIx64 "..0x%" PRIx64, addr, addr + len - 1);
        FAIL(c->id, cls, "%s", why);
    }
    if (write) {
        reply_done(c->id);
        return;
    }
    char hex[2 * MAX_MEM_IO + 1];
    for (size_t i = 0; i < len; i++) snprintf(hex + 2 * i, 3, "%02x", buf[i]);
    reply_ok(c->id, "%s", hex);
}

static void cmd_read(const struct cmd *c) { cmd_memory(c, false); }
static void cmd_write(const struct cmd *c) { cmd_memory(c, true); }
static void cmd_ping(const struct cmd *c) { reply_ok(c->id, "pong"); }

static void cmd_blocks(const struct cmd *c)
{
    unsigned entered, left;
    bool now = lean_stats(&entered, &left);
    reply_ok(c->id, "%s %s %u %u", lean_supported() ? "lean" : "checked", now ? "lean" : "checked", entered, left);
}

static const struct {
    const char *verb;
    void (*run)(const struct cmd *c);
} verbs[] = {
    {"arm-insn", cmd_arm_insn}, {"arm-pc", cmd_arm_pc},       {"arm-watch", cmd_arm_watch},       {"arm-trace", cmd_arm_trace}, {"disarm", cmd_disarm},
    {"resume", cmd_resume},     {"count", cmd_count},         {"vtime", cmd_vtime},               {"arm-vtime", cmd_arm_vtime},
    {"disarm-vtime", cmd_disarm_vtime}, {"regs", cmd_regs},   {"setreg", cmd_setreg},             {"read", cmd_read},
    {"write", cmd_write},       {"ping", cmd_ping},           {"blocks", cmd_blocks},
};

void handle_command(char *line)
{
    char *words[MAX_WORDS + 1];
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
        if (n == MAX_WORDS) {
            n++;
            break;
        }
        words[n++] = t;
    }
    if (n == 0) return;
    const char *id = words[0];
    for (const char *p = id; *p; p++)
        if (!isdigit((unsigned char)*p) || p - id > 15) FAIL("0", ERR_USAGE, "bad request id");
    if (n < 2) FAIL(id, ERR_USAGE, "missing command");
    if (n > MAX_WORDS) FAIL(id, ERR_USAGE, "too many arguments");
    struct cmd c = {id, n - 2, words + 2};
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (!strcmp(words[1], verbs[i].verb)) {
            verbs[i].run(&c);
            return;
        }
    char verb[40];
    snprintf(verb, sizeof(verb), "%s", words[1]);
    for (char *p = verb; *p; p++)
        if (!isprint((unsigned char)*p)) *p = '?';
    reply_err(id, ERR_USAGE, "unknown command %s", verb);
}
