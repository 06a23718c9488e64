/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls-bench: a TLS handshake load client for side-by-side server comparisons.
 *
 * N concurrent connections, each a loop of cycles: TCP connect, TLS handshake (full,
 * or resuming the last session that connection got), an optional HTTP GET, read until
 * the server closes.  One JSON line on stdout: handshakes per second, the share the
 * server resumed, failures, handshake latency percentiles.  BENCHMARKS.md describes
 * every field and why a cycle ends as it does.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tb_run.h"

#define MAX_THREADS  64
#define MAX_CONNS    10000
#define MAX_PATH_LEN 256

typedef struct {
    tb_config cfg;
    const char *connect, *cafile;
    int version;
    unsigned threads;
    double warmup;
    int sync;
    long sni_index; /* as given: negative counts from the end */
    int have_sni_index;
    size_t names_cap;
} options;

static void usage(FILE *out)
{
    fputs("usage: tls-bench --connect HOST:PORT --cafile FILE [options]\n"
          "  --tls 1.2|1.3          protocol version (default 1.3)\n"
          "  --mode full|resume     full handshakes, or each connection resumes the last\n"
          "                         session it got for the name it sends (default resume)\n"
          "  --conns N              concurrent connections (default 8)\n"
          "  --threads N            event-loop threads sharing the connections (default 1)\n"
          "  --duration SECONDS     measure for this long (default 5)\n"
          "  --count N              or measure this many connections\n"
          "  --warmup SECONDS       unmeasured cycles first (default 1); every connection\n"
          "                         ends at least one, in resume mode one per name of a\n"
          "                         round robin, which primes its sessions\n"
          "  --sni NAME[,NAME...]   server names to send, round robin (repeatable)\n"
          "  --sni-file FILE        server names, one a line\n"
          "  --sni-index K          always send name K (0-based; -1 is the last)\n"
          "  --get PATH             one HTTP/1.1 GET per connection; 200 is required\n"
          "  --ticket-names         count the tickets held at the end by key name\n"
          "  --single-use           offer a TLS 1.3 session once, as browsers do (RFC 8446\n"
          "                         C.4): a resumption that brings no new ticket leaves\n"
          "                         the connection none to offer\n"
          "  --timeout SECONDS      a connection taking longer fails (default 10)\n"
          "  --sync                 after the warm-up print \"ready\" and wait for a line\n"
          "                         on stdin before measuring\n",
          out);
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;

    fputs("tls-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static double parse_seconds(const char *arg, const char *opt)
{
    char *end;
    double v = strtod(arg, &end);

    if (*arg == '\0' || *end != '\0' || !(v >= 0) || v > 86400)
        die("%s: not a number of seconds", opt);
    return v;
}

static unsigned long parse_count(const char *arg, const char *opt, unsigned long max)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || errno != 0 || v == 0 || v > max || arg[0] == '-')
        die("%s: not a positive whole number in range", opt);
    return v;
}

static void add_name(options *o, const char *name, size_t len)
{
    tb_config *cfg = &o->cfg;

    if (len == 0 || len > 253)
        die("--sni: an SNI name has 1 to 253 characters");
    if (cfg->nnames == o->names_cap) {
        o->names_cap = o->names_cap ? 2 * o->names_cap : 16;
        cfg->names = realloc(cfg->names, o->names_cap * sizeof(*cfg->names));
        if (cfg->names == NULL)
            die("out of memory");
    }
    cfg->names[cfg->nnames] = strndup(name, len);
    if (cfg->names[cfg->nnames++] == NULL)
        die("out of memory");
}

static void add_name_list(options *o, const char *list)
{
    const char *comma;

    while ((comma = strchr(list, ',')) != NULL) {
        add_name(o, list, (size_t)(comma - list));
        list = comma + 1;
    }
    add_name(o, list, strlen(list));
}

static void read_name_file(options *o, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[300];

    if (f == NULL)
        die("--sni-file %s: cannot open", path);
    while (fgets(line, sizeof(line), f)) {
        size_t len = strcspn(line, "\r\n");

        if (len > 0)
            add_name(o, line, len);
    }
    fclose(f);
}

static void resolve(options *o)
{
    char host[300];
    const char *colon = strrchr(o->connect, ':');
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    size_t len;

    if (colon == NULL || colon == o->connect || (len = (size_t)(colon - o->connect)) >= 300)
        die("--connect %s: want HOST:PORT", o->connect);
    memcpy(host, o->connect, len);
    host[len] = '\0';
    if (host[0] == '[' && host[len - 1] == ']') {
        host[len - 1] = '\0';
        memmove(host, host + 1, len - 1);
    }
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        die("--connect %s: cannot resolve", o->connect);
    memcpy(&o->cfg.addr, res->ai_addr, res->ai_addrlen);
    o->cfg.addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    o->cfg.host = strdup(host);
}

static void parse_options(options *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"cafile", required_argument, NULL, 'a'},
        {"tls", required_argument, NULL, 'v'},
        {"mode", required_argument, NULL, 'm'},
        {"conns", required_argument, NULL, 'n'},
        {"threads", required_argument, NULL, 't'},
        {"duration", required_argument, NULL, 'd'},
        {"count", required_argument, NULL, 'k'},
        {"warmup", required_argument, NULL, 'w'},
        {"sni", required_argument, NULL, 's'},
        {"sni-file", required_argument, NULL, 'f'},
        {"sni-index", required_argument, NULL, 'i'},
        {"get", required_argument, NULL, 'g'},
        {"ticket-names", no_argument, NULL, 'T'},
        {"single-use", no_argument, NULL, 'U'},
        {"timeout", required_argument, NULL, 'o'},
        {"sync", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    tb_config *cfg = &o->cfg;
    char *end;
    int c;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->connect = optarg;
            break;
        case 'a':
            o->cafile = optarg;
            break;
        case 'v':
            if (strcmp(optarg, "1.2") == 0)
                o->version = TLS1_2_VERSION;
            else if (strcmp(optarg, "1.3") == 0)
                o->version = TLS1_3_VERSION;
            else
                die("--tls %s: want 1.2 or 1.3", optarg);
            break;
        case 'm':
            if (strcmp(optarg, "full") != 0 && strcmp(optarg, "resume") != 0)
                die("--mode %s: want full or resume", optarg);
            cfg->resume = strcmp(optarg, "resume") == 0;
            break;
        case 'n':
            cfg->conns = (unsigned)parse_count(optarg, "--conns", MAX_CONNS);
            break;
        case 't':
            o->threads = (unsigned)parse_count(optarg, "--threads", MAX_THREADS);
            break;
        case 'd':
            cfg->duration = parse_seconds(optarg, "--duration");
            break;
        case 'k':
            cfg->count = parse_count(optarg, "--count", ULONG_MAX / 2);
            break;
        case 'w':
            o->warmup = parse_seconds(optarg, "--warmup");
            break;
        case 's':
            add_name_list(o, optarg);
            break;
        case 'f':
            read_name_file(o, optarg);
            break;
        case 'i':
            errno = 0;
            o->sni_index = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || errno != 0)
                die("--sni-index %s: not a whole number", optarg);
            o->have_sni_index = 1;
            break;
        case 'g':
            if (optarg[0] != '/' || strlen(optarg) > MAX_PATH_LEN || strpbrk(optarg, " \r\n"))
                die("--get %s: want an absolute path without spaces, at most 256 bytes",
                    optarg);
            cfg->get_path = optarg;
            break;
        case 'T':
            cfg->ticket_names = 1;
            break;
        case 'U':
            cfg->single_use = 1;
            break;
        case 'o':
            cfg->timeout = parse_seconds(optarg, "--timeout");
            break;
        case 'S':
            o->sync = 1;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind != argc || o->connect == NULL || o->cafile == NULL) {
        usage(stderr);
        exit(2);
    }
    if (o->threads > cfg->conns)
        die("--threads: more threads than connections");
    if (cfg->duration == 0 && cfg->count == 0)
        die("--duration: want a duration above 0, or a --count");
    if (cfg->timeout == 0)
        die("--timeout: want a time-out above 0");
    cfg->fixed_name = -1;
    if (o->have_sni_index) {
        long n = (long)cfg->nnames;

        if (n == 0 || o->sni_index >= n || o->sni_index < -n)
            die("--sni-index: no such name");
        cfg->fixed_name = o->sni_index < 0 ? n + o->sni_index : o->sni_index;
    }
    resolve(o);
}

static SSL_CTX *make_ctx(const options *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, o->version) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, o->version) != 1)
        die("cannot make an SSL_CTX");
    if (SSL_CTX_load_verify_locations(ctx, o->cafile, NULL) != 1)
        die("--cafile %s: cannot load the CA certificates", o->cafile);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* Sessions live in the connection slots, not in OpenSSL's client cache. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    tb_count_tickets(ctx);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    return ctx;
}

static void sleep_seconds(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s,
                          .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static double process_cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_result(const options *o, tb_stats *st, double elapsed, double cpu)
{
    const tb_config *cfg = &o->cfg;

    printf("{\"tls\":\"%s\",\"mode\":\"%s\",\"single_use\":%s,\"conns\":%u,\"threads\":%u,"
           "\"get\":",
           o->version == TLS1_3_VERSION ? "1.3" : "1.2", cfg->resume ? "resume" : "full",
           cfg->single_use ? "true" : "false", cfg->conns, o->threads);
    if (cfg->get_path)
        tb_json_string(stdout, cfg->get_path);
    else
        fputs("null", stdout);
    printf(",\"names\":%zu,\"sni\":", cfg->nnames);
    if (cfg->nnames)
        tb_json_string(stdout, cfg->names[cfg->fixed_name >= 0 ? cfg->fixed_name : 0]);
    else
        fputs("null", stdout);
    printf(",\"sni_order\":%s", cfg->nnames == 0       ? "null"
                                : cfg->fixed_name >= 0 ? "\"fixed\""
                                                       : "\"round-robin\"");
    printf(",\"handshakes\":%lu,\"offered\":%lu,\"resumed\":%lu,\"resumed_share\":%.4f",
           st->handshakes, st->offered, st->resumed,
           st->handshakes ? (double)st->resumed / (double)st->handshakes : 0.0);
    printf(",\"tickets_per_hs\":%.3f",
           st->handshakes ? (double)st->tickets / (double)st->handshakes : 0.0);
    printf(",\"failures\":%lu,\"warmup_failures\":%lu,\"first_error\":", st->failures,
           st->warmup_failures);
    if (st->first_error[0])
        tb_json_string(stdout, st->first_error);
    else
        fputs("null", stdout);
    printf(",\"elapsed_s\":%.4f,\"rate\":%.1f,\"lat_p50_ms\":%.4f,\"lat_p99_ms\":%.4f", elapsed,
           elapsed > 0 ? (double)st->handshakes / elapsed : 0.0,
           tb_stats_percentile_ms(st, 0.50), tb_stats_percentile_ms(st, 0.99));
    printf(",\"client_cpu_s\":%.4f,\"version\":", cpu);
    tb_json_string(stdout, st->version ? st->version : "");
    fputs(",\"cipher\":", stdout);
    tb_json_string(stdout, st->cipher ? st->cipher : "");
    fputs(",\"group\":", stdout);
    tb_json_string(stdout, st->group ? st->group : "");
    if (cfg->ticket_names) {
        fputs(",\"ticket_names\":", stdout);
        tb_json_ticket_names(stdout, st);
        printf(",\"other_ticket_names\":%lu,\"no_ticket\":%lu", st->other_tickets,
               st->sessions_no_ticket);
    }
    fputs("}\n", stdout);
}

int main(int argc, char **argv)
{
    options o = {.version = TLS1_3_VERSION, .threads = 1, .warmup = 1};
    tb_control ctl;
    tb_config *per_thread;
    tb_worker *workers[MAX_THREADS];
    pthread_t threads[MAX_THREADS];
    tb_stats total = {0};
    uint64_t start_ns, end_ns;
    double cpu;
    unsigned i;

    o.cfg.resume = 1;
    o.cfg.conns = 8;
    o.cfg.duration = 5;
    o.cfg.timeout = 10;
    parse_options(&o, argc, argv);
    if (o.cfg.count)
        o.cfg.duration = 0;
    o.cfg.ctx = make_ctx(&o);
    /* A server that closes first makes a write fail with EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);

    atomic_init(&ctl.phase, TB_WARMUP);
    atomic_init(&ctl.started, 0);
    pthread_barrier_init(&ctl.paused, NULL, o.threads + 1);
    pthread_barrier_init(&ctl.go, NULL, o.threads + 1);
    per_thread = calloc(o.threads, sizeof(*per_thread));
    if (per_thread == NULL)
        die("out of memory");
    for (i = 0; i < o.threads; i++) {
        per_thread[i] = o.cfg;
        per_thread[i].conns = o.cfg.conns / o.threads + (i < o.cfg.conns % o.threads);
        workers[i] = tb_worker_create(&per_thread[i], &ctl);
        if (workers[i] == NULL)
            die("cannot create a worker: %s", strerror(errno));
        if (pthread_create(&threads[i], NULL, tb_worker_main, workers[i]) != 0)
            die("cannot start a thread");
    }

    sleep_seconds(o.warmup);
    atomic_store(&ctl.phase, TB_PAUSE);
    pthread_barrier_wait(&ctl.paused);
    if (o.sync) {
        char line[64];

        puts("ready");
        fflush(stdout);
        if (fgets(line, sizeof(line), stdin) == NULL)
            die("--sync: stdin closed before the go line");
    }
    cpu = process_cpu_seconds();
    start_ns = tb_now_ns();
    ctl.deadline_ns = start_ns + (uint64_t)(o.cfg.duration * 1e9);
    atomic_store(&ctl.phase, TB_MEASURE);
    pthread_barrier_wait(&ctl.go);

    end_ns = start_ns;
    for (i = 0; i < o.threads; i++) {
        pthread_join(threads[i], NULL);
        if (tb_worker_end_ns(workers[i]) > end_ns)
            end_ns = tb_worker_end_ns(workers[i]);
        if (tb_stats_merge(&total, tb_worker_stats(workers[i])) != 0)
            die("out of memory");
        tb_worker_destroy(workers[i]);
    }
    cpu = process_cpu_seconds() - cpu;
    print_result(&o, &total, (double)(end_ns - start_ns) / 1e9, cpu);
    tb_stats_free(&total);
    SSL_CTX_free(o.cfg.ctx);
    for (i = 0; i < o.cfg.nnames; i++)
        free(o.cfg.names[i]);
    free(o.cfg.names);
    free(per_thread);
    free((void *)o.cfg.host);
    return total.handshakes > 0 ? 0 : 1;
}
