/* The socket to Node (see link.h). */
#define _GNU_SOURCE
#include "link.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"

static int g_sock = -1;
static int g_listen = -1; /* listening socket, in listen mode */
static volatile bool g_connected;
static pthread_mutex_t g_wlock = PTHREAD_MUTEX_INITIALIZER;
static const char *(*g_greeting)(void);
static void (*g_on_line)(char *line);
static void (*g_on_gone)(void);

static bool address(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path)) {
        errno = ENAMETOOLONG;
        return false;
    }
    strcpy(sa->sun_path, path);
    return true;
}

bool link_listen(const char *path)
{
    struct sockaddr_un sa;
    if (!address(path, &sa)) return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    unlink(path); /* a socket left by an earlier QEMU */
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return false;
    }
    g_listen = fd;
    return true;
}

bool link_connect(const char *path, int timeout_ms)
{
    struct sockaddr_un sa;
    if (!address(path, &sa)) return false;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            g_sock = fd;
            return true;
        }
        int saved = errno;
        close(fd);
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= timeout_ms) {
            errno = saved;
            return false;
        }
        usleep(10000);
    }
}

bool link_connected(void) { return g_connected; }

/* (g_wlock held) */
static void write_locked(const char *prefix, const char *body)
{
    struct iovec iov[3] = {{(void *)prefix, strlen(prefix)}, {(void *)body, strlen(body)}, {"\n", 1}};
    int i = 0;
    while (g_connected && i < 3) {
        ssize_t w = writev(g_sock, iov + i, 3 - i);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            g_connected = false;
            break;
        }
        while (i < 3 && (size_t)w >= iov[i].iov_len) w -= (ssize_t)iov[i++].iov_len;
        if (i < 3) {
            iov[i].iov_base = (char *)iov[i].iov_base + w;
            iov[i].iov_len -= (size_t)w;
        }
    }
}

void link_write_line(const char *prefix, const char *body)
{
    pthread_mutex_lock(&g_wlock);
    write_locked(prefix, body);
    pthread_mutex_unlock(&g_wlock);
}

/* A new connection: the greeting goes out before anyone else can write. */
static void connected(int fd)
{
    pthread_mutex_lock(&g_wlock);
    g_sock = fd;
    g_connected = true;
    write_locked("", g_greeting());
    pthread_mutex_unlock(&g_wlock);
}

/* Lines longer than this are dropped (the longest command, a 1 KiB memory write, is ~2.1 KiB). */
#define LINE_MAX_BYTES 4096

static void refuse_nul_line(char *line)
{
    /* NUL bytes would hide the rest of the line from the parser */
    size_t idl = strspn(line, "0123456789");
    if (idl > 0 && idl < 16) {
        line[idl] = 0;
        reply_err(line, ERR_USAGE, "bad characters in command");
    }
}

/* Reads lines from the connected socket until Node goes away. */
static void serve_connection(void)
{
    char buf[LINE_MAX_BYTES];
    size_t len = 0;
    bool dropping = false; /* inside an overlong line */
    for (;;) {
        ssize_t r = recv(g_sock, buf + len, sizeof(buf) - 1 - len, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
            *nl = 0;
            if (!dropping) {
                if (memchr(start, 0, (size_t)(nl - start))) refuse_nul_line(start);
                else g_on_line(start);
            }
            dropping = false;
            start = nl + 1;
        }
        len -= (size_t)(start - buf);
        memmove(buf, start, len);
        if (len == sizeof(buf) - 1) {
            len = 0;
            dropping = true;
        }
    }
    pthread_mutex_lock(&g_wlock);
    g_connected = false;
    close(g_sock);
    g_sock = -1;
    pthread_mutex_unlock(&g_wlock);
    g_on_gone();
}

static void *reader_main(void *arg)
{
    (void)arg;
    if (g_listen < 0) {
        serve_connection();
        return NULL;
    }
    for (;;) {
        int fd = accept4(g_listen, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return NULL;
        }
        connected(fd);
        serve_connection();
    }
}

bool link_start_reader(const char *(*greeting)(void), void (*on_line)(char *line), void (*on_gone)(void))
{
    g_greeting = greeting;
    if (g_listen < 0) connected(g_sock); /* connected already */
    g_on_line = on_line;
    g_on_gone = on_gone;
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    return pthread_create(&th, &attr, reader_main, NULL) == 0;
}
