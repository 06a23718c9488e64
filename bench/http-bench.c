/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http-bench: a plain-HTTP keep-alive load client, for the cost of a request apart from
 * any handshake (issue 13: Host routing at 10,000 vhosts).
 *
 * N threads, each one connection at a time, each connection a loop of GET requests with
 * one Host header, the next sent when the last response has been read whole (no
 * pipelining).  A connection ends when the server closes it or says "Connection: close",
 * or after --per-conn requests; the thread then connects again.  The phases are those
 * of tls-bench: warm-up, pause ("ready" with --sync), measurement.  One JSON line on
 * stdout: requests per second, connections opened, failures, request latency.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tb_stats.h"

#define MAX_THREADS 256
#define MAX_HEAD    8192

enum { PHASE_WARMUP, PHASE_PAUSE, PHASE_MEASURE };

typedef struct {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char request[1024];
    int request_len;
    unsigned long per_conn; /* requests per connection, 0: until the server closes */
    double timeout;
    unsigned long count; /* requests to measure, or 0: duration */
    _Atomic int phase;
    atomic_ulong started;
    uint64_t deadline_ns;
    pthread_barrier_t paused, go;
} config;

typedef struct {
    config *cfg;
    pthread_t thread;
    int fd;
    unsigned long on_conn; /* requests sent on this connection */
    unsigned long connections;
    tb_stats stats;
    char buf[MAX_HEAD + 16384];
    size_t have; /* bytes in buf not yet consumed */
} worker;

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;

    fputs("http-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void disconnect(worker *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    w->have = 0;
    w->on_conn = 0;
}

static const char *connect_once(worker *w, int measured)
{
    const config *cfg = w->cfg;
    struct timeval tv = {.tv_sec = (time_t)cfg->timeout,
                         .tv_usec =
                             (long)((cfg->timeout - (double)(time_t)cfg->timeout) * 1e6)};
    int one = 1;

    w->fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (w->fd < 0)
        return "socket failed";
    setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(w->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(w->fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen) != 0) {
        disconnect(w);
        return "connect failed";
    }
    if (measured)
        w->connections++;
    return NULL;
}

/* Reads more into buf; 0 at the server's end of stream, -1 on an error. */
static ssize_t fill(worker *w)
{
    ssize_t n;

    if (w->have == sizeof(w->buf))
        return -1;
    do
        n = recv(w->fd, w->buf + w->have, sizeof(w->buf) - w->have, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        w->have += (size_t)n;
    return n;
}

static void consume(worker *w, size_t n)
{
    memmove(w->buf, w->buf + n, w->have - n);
    w->have -= n;
}

/* The value of a header in the head [buf, end), or NULL. */
static const char *header(const char *buf, const char *end, const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    const char *line = memchr(buf, '\n', (size_t)(end - buf));

    while (line && line + 1 < end) {
        const char *start = line + 1, *eol = memchr(start, '\n', (size_t)(end - start));

        if (eol == NULL)
            break;
        if ((size_t)(eol - start) > nlen && start[nlen] == ':' &&
            strncasecmp(start, name, nlen) == 0) {
            const char *v = start + nlen + 1;

            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *len = (size_t)(eol - v);
            while (*len && (v[*len - 1] == '\r' || v[*len - 1] == ' '))
                (*len)--;
            return v;
        }
        line = eol;
    }
    return NULL;
}

/* One request and its whole response; NULL or why it failed.  *closing: the connection
 * ends after it. */
static const char *one_request(worker *w, int *closing)
{
    const config *cfg = w->cfg;
    const char *end, *v;
    size_t head_len, body_len, len;
    ssize_t n;
    char *stop;

    for (size_t sent = 0; sent < (size_t)cfg->request_len; sent += (size_t)n) {
        n = send(w->fd, cfg->request + sent, (size_t)cfg->request_len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            return "send failed";
    }
    w->on_conn++;
    while ((end = memmem(w->buf, w->have, "\r\n\r\n", 4)) == NULL)
        if ((n = fill(w)) <= 0)
            return n == 0 ? "the server closed the connection" : "reading the head failed";
    head_len = (size_t)(end - w->buf) + 4;
    if (head_len < 12 || memcmp(w->buf, "HTTP/1.1 200", 12) != 0)
        return "the response is not HTTP/1.1 200";
    v = header(w->buf, w->buf + head_len, "Content-Length", &len);
    if (v == NULL)
        return "the response has no Content-Length";
    body_len = strtoul(v, &stop, 10);
    v = header(w->buf, w->buf + head_len, "Connection", &len);
    *closing = (v && len == 5 && strncasecmp(v, "close", 5) == 0) ||
               (cfg->per_conn && w->on_conn >= cfg->per_conn);
    if (head_len + body_len > sizeof(w->buf))
        return "the response is too long";
    while (w->have < head_len + body_len)
        if ((n = fill(w)) <= 0)
            return "reading the body failed";
    consume(w, head_len + body_len);
    return NULL;
}

/* Whether one more measured request may start; takes it from the count. */
static int claim(config *cfg)
{
    if (cfg->count)
        return atomic_fetch_add(&cfg->started, 1) < cfg->count;
    return now_ns() < cfg->deadline_ns;
}

static void run_phase(worker *w, int measured)
{
    config *cfg = w->cfg;
    unsigned long warm = 0;

    for (;;) {
        const char *err;
        int closing = 0;
        uint64_t t0;

        if (measured ? !claim(cfg) : (warm > 0 && atomic_load(&cfg->phase) != PHASE_WARMUP))
            return;
        t0 = now_ns();
        err = w->fd < 0 ? connect_once(w, measured) : NULL;
        if (err == NULL)
            err = one_request(w, &closing);
        if (err) {
            tb_stats_fail(&w->stats, err, measured);
            disconnect(w);
            if (!measured)
                warm++; /* a refused server must not keep the warm-up going */
            continue;
        }
        if (closing)
            disconnect(w);
        if (measured) {
            w->stats.handshakes++;
            if (tb_stats_add_latency(&w->stats, now_ns() - t0) != 0)
                die("out of memory");
        } else
            warm++;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;

    run_phase(w, 0);
    pthread_barrier_wait(&w->cfg->paused);
    pthread_barrier_wait(&w->cfg->go);
    run_phase(w, 1);
    disconnect(w);
    return NULL;
}

static void usage(FILE *out)
{
    fputs("usage: http-bench --connect HOST:PORT [options]\n"
          "  --host NAME         the Host header (default: the HOST of --connect)\n"
          "  --path PATH         the path of every GET (default /)\n"
          "  --conns N           connections at a time, one thread each (default 8)\n"
          "  --per-conn N        requests per connection (default: until the server\n"
          "                      closes it)\n"
          "  --duration SECONDS  measure for this long (default 5)\n"
          "  --count N           or measure this many requests\n"
          "  --warmup SECONDS    unmeasured requests first (default 1; at least one a\n"
          "                      connection)\n"
          "  --timeout SECONDS   a read or write taking longer fails (default 10)\n"
          "  --sync              after the warm-up print \"ready\" and wait for a line on\n"
          "                      stdin before measuring\n",
          out);
}

static double seconds(const char *arg, const char *opt)
{
    char *end;
    double v = strtod(arg, &end);

    if (*arg == '\0' || *end != '\0' || !(v >= 0) || v > 86400)
        die("%s: not a number of seconds", opt);
    return v;
}

static unsigned long whole(const char *arg, const char *opt, unsigned long max)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || errno || v == 0 || v > max || arg[0] == '-')
        die("%s: not a positive whole number in range", opt);
    return v;
}

static void sleep_seconds(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s,
                          .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"connect", required_argument, NULL, 'c'},  {"host", required_argument, NULL, 'H'},
        {"path", required_argument, NULL, 'p'},     {"conns", required_argument, NULL, 'n'},
        {"per-conn", required_argument, NULL, 'k'}, {"duration", required_argument, NULL, 'd'},
        {"count", required_argument, NULL, 'C'},    {"warmup", required_argument, NULL, 'w'},
        {"timeout", required_argument, NULL, 'o'},  {"sync", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    static config cfg;
    static worker workers[MAX_THREADS];
    const char *connect_to = NULL, *host = NULL, *path = "/", *colon;
    double duration = 5, warmup = 1, cpu, elapsed;
    unsigned long conns = 8, connections = 0;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
    tb_stats total = {0};
    uint64_t start;
    char ip[256];
    int sync = 0, c;
    unsigned i;

    cfg.timeout = 10;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            connect_to = optarg;
            break;
        case 'H':
            if (strlen(optarg) > 253 || strpbrk(optarg, " \r\n"))
                die("--host %s: not a host name", optarg);
            host = optarg;
            break;
        case 'p':
            if (optarg[0] != '/' || strlen(optarg) > 256 || strpbrk(optarg, " \r\n"))
                die("--path %s: want an absolute path without spaces, at most 256 bytes",
                    optarg);
            path = optarg;
            break;
        case 'n':
            conns = whole(optarg, "--conns", MAX_THREADS);
            break;
        case 'k':
            cfg.per_conn = whole(optarg, "--per-conn", ULONG_MAX / 2);
            break;
        case 'd':
            duration = seconds(optarg, "--duration");
            break;
        case 'C':
            cfg.count = whole(optarg, "--count", ULONG_MAX / 2);
            break;
        case 'w':
            warmup = seconds(optarg, "--warmup");
            break;
        case 'o':
            cfg.timeout = seconds(optarg, "--timeout");
            break;
        case 'S':
            sync = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || connect_to == NULL || (colon = strrchr(connect_to, ':')) == NULL ||
        colon == connect_to || (size_t)(colon - connect_to) >= sizeof(ip)) {
        usage(stderr);
        return 2;
    }
    if (cfg.timeout == 0 || (duration == 0 && cfg.count == 0))
        die("want a time-out above 0, and a duration above 0 or a --count");
    memcpy(ip, connect_to, (size_t)(colon - connect_to));
    ip[colon - connect_to] = '\0';
    if (getaddrinfo(ip, colon + 1, &hints, &res) != 0)
        die("--connect %s: cannot resolve", connect_to);
    memcpy(&cfg.addr, res->ai_addr, res->ai_addrlen);
    cfg.addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    cfg.request_len = snprintf(cfg.request, sizeof(cfg.request),
                               "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: http-bench\r\n\r\n",
                               path, host ? host : ip);

    atomic_init(&cfg.phase, PHASE_WARMUP);
    atomic_init(&cfg.started, 0);
    pthread_barrier_init(&cfg.paused, NULL, (unsigned)conns + 1);
    pthread_barrier_init(&cfg.go, NULL, (unsigned)conns + 1);
    for (i = 0; i < conns; i++) {
        workers[i].cfg = &cfg;
        workers[i].fd = -1;
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0)
            die("cannot start a thread");
    }
    sleep_seconds(warmup);
    atomic_store(&cfg.phase, PHASE_PAUSE);
    pthread_barrier_wait(&cfg.paused);
    if (sync) {
        char line[64];

        puts("ready");
        fflush(stdout);
        if (fgets(line, sizeof(line), stdin) == NULL)
            die("--sync: stdin closed before the go line");
    }
    cpu = cpu_seconds();
    start = now_ns();
    cfg.deadline_ns = start + (uint64_t)(duration * 1e9);
    atomic_store(&cfg.phase, PHASE_MEASURE);
    pthread_barrier_wait(&cfg.go);
    for (i = 0; i < conns; i++) {
        pthread_join(workers[i].thread, NULL);
        connections += workers[i].connections;
        if (tb_stats_merge(&total, &workers[i].stats) != 0)
            die("out of memory");
        tb_stats_free(&workers[i].stats);
    }
    elapsed = (double)(now_ns() - start) / 1e9;
    cpu = cpu_seconds() - cpu;
    printf("{\"conns\":%lu,\"host\":", conns);
    tb_json_string(stdout, host ? host : ip);
    printf(",\"requests\":%lu,\"connections\":%lu,\"failures\":%lu,\"warmup_failures\":%lu"
           ",\"first_error\":",
           total.handshakes, connections, total.failures, total.warmup_failures);
    if (total.first_error[0])
        tb_json_string(stdout, total.first_error);
    else
        fputs("null", stdout);
    printf(",\"elapsed_s\":%.4f,\"rate\":%.1f,\"lat_p50_ms\":%.4f,\"lat_p99_ms\":%.4f"
           ",\"client_cpu_s\":%.4f}\n",
           elapsed, elapsed > 0 ? (double)total.handshakes / elapsed : 0.0,
           tb_stats_percentile_ms(&total, 0.50), tb_stats_percentile_ms(&total, 0.99), cpu);
    tb_stats_free(&total);
    return total.handshakes > 0 ? 0 : 1;
}
