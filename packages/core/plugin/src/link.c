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
static volatile bool g_connected;
static pthread_mutex_t g_wlock = PTHREAD_MUTEX_INITIALIZER;
static void (*g_on_line)(char *line);
static void (*g_on_gone)(void);

bool link_connect(const char *path, int timeout_ms)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return false;
    }
    strcpy(sa.sun_path, path);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            g_sock = fd;
            g_connected = true;
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

void link_write_line(const char *prefix, const char *body)
{
    struct iovec iov[3] = {{(void *)prefix, strlen(prefix)}, {(void *)body, strlen(body)}, {"\n", 1}};
    pthread_mutex_lock(&g_wlock);
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

static void *reader_main(void *arg)
{
    (void)arg;
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
    g_connected = false;
    g_on_gone();
    return NULL;
}

bool link_start_reader(void (*on_line)(char *line), void (*on_gone)(void))
{
    g_on_line = on_line;
    g_on_gone = on_gone;
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    return pthread_create(&th, &attr, reader_main, NULL) == 0;
}
