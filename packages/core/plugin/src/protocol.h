/*
 * The plugin's side of its line protocol (DESIGN.md, "Protocol"): replies `<id> ok [data]` and
 * `<id> err <class> <message>`, events `! <name> ...`, and the parsing of command words. The
 * error class is what the TypeScript side maps to its typed errors; the message is for people.
 */
#ifndef QF_PROTOCOL_H
#define QF_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum qf_error_class {
    ERR_USAGE,       /* malformed command: wrong words, unknown verb */
    ERR_ARGUMENT,    /* a value out of range: address, length, token, time in the past */
    ERR_STATE,       /* not possible right now: not frozen, registers not exact here */
    ERR_UNSUPPORTED, /* this QEMU cannot do it (internals or API version missing) */
    ERR_ACCESS,      /* QEMU refused the memory or register access */
};

#define TOKEN_LEN 48

/* Sends one line to Node (thread-safe; dropped once the connection is gone). */
void send_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void reply_ok(const char *id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_done(const char *id); /* `<id> ok` */
void reply_err(const char *id, enum qf_error_class cls, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Strict unsigned number: decimal or 0x hex, no sign, no trailing garbage, no overflow. */
bool parse_u64(const char *s, uint64_t *out);
/* 1-47 of [A-Za-z0-9_.:-] */
bool token_ok(const char *t);
/* `cpu=<n>` option: true and *cpu set if `word` is one (n < vcpus), *bad set if malformed. */
bool parse_cpu_option(const char *word, unsigned vcpus, int *cpu, bool *bad);

/* A growable string, for event lines of any length. */
struct strbuf {
    char *text;
    size_t len, cap;
};
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `token` to a comma-separated list unless it is already there. */
void sb_add_token(struct strbuf *sb, const char *token);
void sb_free(struct strbuf *sb);

#endif
