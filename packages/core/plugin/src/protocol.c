/* Line formatting and word parsing for the plugin protocol (see protocol.h). */
#define _GNU_SOURCE
#include "protocol.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"

static const char *const class_names[] = {"usage", "argument", "state", "unsupported", "access"};

static void vsend(const char *prefix, const char *fmt, va_list ap)
{
    char *body = NULL;
    if (vasprintf(&body, fmt, ap) < 0) return;
    link_write_line(prefix, body);
    free(body);
}

void send_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsend("", fmt, ap);
    va_end(ap);
}

void reply_ok(const char *id, const char *fmt, ...)
{
    char prefix[40];
    snprintf(prefix, sizeof(prefix), "%s ok ", id);
    va_list ap;
    va_start(ap, fmt);
    vsend(prefix, fmt, ap);
    va_end(ap);
}

void reply_done(const char *id)
{
    char line[40];
    snprintf(line, sizeof(line), "%s ok", id);
    link_write_line(line, "");
}

void reply_err(const char *id, enum qf_error_class cls, const char *fmt, ...)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "%s err %s ", id, class_names[cls]);
    va_list ap;
    va_start(ap, fmt);
    vsend(prefix, fmt, ap);
    va_end(ap);
}

bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s)) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end) return false;
    *out = v;
    return true;
}

bool token_ok(const char *t)
{
    size_t l = t ? strlen(t) : 0;
    if (l == 0 || l >= TOKEN_LEN) return false;
    for (size_t i = 0; i < l; i++) {
        unsigned char c = (unsigned char)t[i];
        if (!(isalnum(c) || c == '_' || c == '.' || c == ':' || c == '-')) return false;
    }
    return true;
}

bool parse_cpu_option(const char *word, unsigned vcpus, int *cpu, bool *bad)
{
    if (!word || strncmp(word, "cpu=", 4)) return false;
    uint64_t n;
    if (!parse_u64(word + 4, &n) || n >= vcpus) {
        *bad = true;
        return true;
    }
    *cpu = (int)n;
    return true;
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = sb->cap - sb->len;
        va_start(ap, fmt);
        int n = vsnprintf(sb->text ? sb->text + sb->len : NULL, sb->text ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (sb->text && (size_t)n < room) {
            sb->len += (size_t)n;
            return;
        }
        size_t cap = (sb->cap ? sb->cap * 2 : 256) + (size_t)n;
        char *grown = realloc(sb->text, cap);
        if (!grown) return;
        if (!sb->text) grown[0] = 0;
        sb->text = grown;
        sb->cap = cap;
    }
}

void sb_add_token(struct strbuf *sb, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = sb->text; p && *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == tl && !strncmp(p, token, tl)) return;
        if (!e) break;
        p = e + 1;
    }
    sb_printf(sb, "%s%s", sb->len ? "," : "", token);
}

void sb_free(struct strbuf *sb)
{
    free(sb->text);
    sb->text = NULL;
    sb->len = sb->cap = 0;
}
