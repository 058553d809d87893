/*
 * qemu-fault's TCG plugin: exact instruction counting and deterministic freezes at instructions,
 * pcs, data accesses and guest times, with register and memory access while frozen, driven by
 * Node over a unix socket. Entry point: argument parsing, choosing each mechanism from what this
 * QEMU offers, and the hello that tells Node. DESIGN.md has the whole story.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "api.h"
#include "arch.h"
#include "commands.h"
#include "glue.h"
#include "internals.h"
#include "lean.h"
#include "link.h"
#include "runtime.h"

QF_EXPORT int qemu_plugin_version = QF_PLUGIN_API;

static void say(const char *fmt, const char *arg)
{
    char msg[400];
    snprintf(msg, sizeof(msg), fmt, arg);
    qemu_plugin_outs(msg); /* only shown with -d plugin */
    fputs(msg, stderr);
}

struct args {
    const char *sock;   /* Node listens here */
    const char *listen; /* or the plugin does, for a QEMU started by hand */
    int timeout_ms;
    bool start_frozen, no_internals, checked_blocks;
};

static bool parse_args(int argc, char **argv, struct args *a)
{
    a->timeout_ms = 5000;
    a->start_frozen = true;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!strncmp(s, "sock=", 5)) a->sock = s + 5;
        else if (!strncmp(s, "listen=", 7)) a->listen = s + 7;
        else if (!strncmp(s, "connect-timeout-ms=", 19)) a->timeout_ms = atoi(s + 19);
        else if (!strcmp(s, "start=running")) a->start_frozen = false;
        else if (!strcmp(s, "start=frozen")) a->start_frozen = true;
        else if (!strcmp(s, "on-disconnect=exit")) cfg.exit_on_disconnect = true;
        else if (!strcmp(s, "on-disconnect=continue")) cfg.exit_on_disconnect = false;
        else if (!strcmp(s, "internals=none")) a->no_internals = true; /* behave as on a QEMU without them */
        else if (!strcmp(s, "internals=auto")) a->no_internals = false;
        else if (!strcmp(s, "blocks=checked")) a->checked_blocks = true; /* never lean (lean.h): for comparisons */
        else if (!strcmp(s, "blocks=lean")) a->checked_blocks = false;
        else {
            say("qemu-fault plugin: unknown argument '%s'\n", s);
            return false;
        }
    }
    if (!a->sock == !a->listen) say("qemu-fault plugin: give one of %s\n", "sock=PATH (Node listens) or listen=PATH (the plugin does)");
    return !a->sock != !a->listen;
}

/* Each mechanism from the best this QEMU offers (DESIGN.md, "Without internals"). */
static void choose_mechanisms(bool checked_blocks)
{
    cfg.mech = qi.one_insn ? MECH_ONE_INSN : MECH_FLUSH;
    cfg.pc = qi.restart && qi.regs && cfg.mech == MECH_ONE_INSN ? PC_SPLIT : PC_HOOK;
    cfg.watch = qi.restart && qi.regs && cfg.mech == MECH_ONE_INSN ? WATCH_REPLAY : qf_public.regs_read ? WATCH_NEXT : WATCH_NONE;
    cfg.exact_regs = !qi.regs && qf_public.regs_read;
    cfg.write_regs = qi.regs || qf_public.regs_write;
    cfg.write_pc = !qi.restart && qf_public.set_pc;
    cfg.mem = qi.mem || qf_public.mem_read;
    cfg.stopped_regs = qi.regs;
    lean_init(!checked_blocks && cfg.mech == MECH_ONE_INSN && qi.restart);
}

static qf_info g_info; /* what QEMU told us at install (its pointer is only valid then) */

/* The first line of every connection. */
static const char *hello(void)
{
    static char *line;
    if (line) return line;
    const qf_info *info = &g_info;
    static const char *const pc_names[] = {"hook", "split"};
    static const char *const watch_names[] = {"none", "next", "replay"};
    const char *regs = qi.regs || cfg.exact_regs ? (cfg.write_regs ? "rw" : "r") : "none";
    if (asprintf(&line,
                 "! hello qemu-fault-plugin 2 api=%d qemu-api=%d..%d target=%s vcpus=%u precise=%s clock=%d regs=%s setpc=%d "
                 "stopped-regs=%d pc=%s watch=%s mem=%s cpu-index=%s missing=%s",
                 QF_PLUGIN_API, info->version.min, info->version.cur, info->target_name, cfg.vcpus,
                 cfg.mech == MECH_ONE_INSN ? "one-insn" : "flush", qi.clock, regs, qi.restart || cfg.write_pc, cfg.stopped_regs,
                 pc_names[cfg.pc], watch_names[cfg.watch], qi.mem || qf_public.mem_write ? "rw" : cfg.mem ? "r" : "none",
                 /* API 3 on: without current_cpu, a callback may be told another vCPU's index */
                 cfg.vcpus < 2 || qi.current || QF_PLUGIN_API < 3 ? "exact" : "block",
                 qi.missing[0] ? qi.missing : "-") < 0)
        line = NULL;
    return line ? line : "! hello qemu-fault-plugin 2 out-of-memory";
}

QF_EXPORT int qemu_plugin_install(qf_plugin_id id, const qf_info *info, int argc, char **argv)
{
    struct args a = {0};
    if (!parse_args(argc, argv, &a)) return -1;
#ifdef PR_SET_THP_DISABLE
    /*
     * No transparent huge pages from here on: QEMU asks for them on guest RAM and the TCG buffer,
     * and a QEMU that lives for one test then has the kernel zero 2 MiB for every page it touches,
     * a large share of its start-up. Nothing the guest sees depends on it.
     */
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
#endif
    if (!info->system_emulation) {
        say("qemu-fault plugin: %s\n", "system emulation only");
        return -1;
    }
    cfg.arch = arch_for(info->target_name);
    if (!cfg.arch) {
        say("qemu-fault plugin: unsupported target %s (arm, aarch64, riscv32, riscv64)\n", info->target_name);
        return -1;
    }
    cfg.vcpus = info->system.max_vcpus > 0 ? (unsigned)info->system.max_vcpus : 1;
    g_info = *info;
    glue_init(id, cfg.vcpus);
    qi_resolve(cfg.arch, cfg.vcpus, a.no_internals);
    choose_mechanisms(a.checked_blocks);

    bool linked = a.sock ? link_connect(a.sock, a.timeout_ms) : link_listen(a.listen);
    if (!linked) {
        char what[300];
        snprintf(what, sizeof(what), "%s %s: %s", a.sock ? "connect to" : "listen on", a.sock ? a.sock : a.listen, strerror(errno));
        say("qemu-fault plugin: cannot %s\n", what);
        return -1;
    }
    /* Listening, nobody may be there at instruction 0: the start freeze happens if Node is. */
    if (a.start_frozen) exec_start_frozen();
    if (!link_start_reader(hello, handle_command, forget_node)) {
        say("qemu-fault plugin: %s\n", "cannot start the reader thread");
        return -1;
    }
    exec_install();
    return 0;
}
