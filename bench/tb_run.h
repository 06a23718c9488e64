/* SPDX-License-Identifier: Apache-2.0 */
/* tls-bench: the connection cycles a worker thread runs, and the phases of a run. */
#ifndef TB_RUN_H
#define TB_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "tb_stats.h"

/* What a run does; read-only once the workers start. */
typedef struct {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    const char *host; /* the host of --connect: the Host header when no SNI name is sent */
    SSL_CTX *ctx;
    int resume;   /* offer the last session the connection got */
    char **names; /* SNI names; none when nnames is 0 */
    size_t nnames;
    long fixed_name;      /* index into names, or -1 for round robin */
    const char *get_path; /* one GET per connection, or NULL */
    int ticket_names;     /* count tickets by the key name in them */
    int single_use;       /* offer a TLS 1.3 session once (RFC 8446 C.4) */
    unsigned conns;       /* connections of one worker */
    double duration;      /* seconds of measurement, when count is 0 */
    unsigned long count;  /* connections to measure, or 0 */
    double timeout;       /* seconds one connection may take */
} tb_config;

typedef enum {
    TB_WARMUP,  /* cycles run and are not counted */
    TB_PAUSE,   /* no new cycles; the workers wait once theirs have ended */
    TB_MEASURE, /* cycles are counted; new ones start until the duration or count is used */
} tb_phase_e;

/* Shared by the main thread and the workers. */
typedef struct {
    _Atomic int phase;            /* tb_phase_e */
    atomic_ulong started;         /* measured cycles started, against config.count */
    uint64_t deadline_ns;         /* end of the measurement (duration mode); set before go */
    pthread_barrier_t paused, go; /* workers + main thread */
} tb_control;

typedef struct tb_worker tb_worker;

/* A worker with cfg->conns connection slots, on its own epoll set.  Returns NULL when
 * out of memory or file descriptors (errno set). */
tb_worker *tb_worker_create(const tb_config *cfg, tb_control *ctl);

/* The worker's thread: warms up, waits at ctl->paused and ctl->go, measures, returns. */
void *tb_worker_main(void *worker);

/* What the worker counted, and when its last measured cycle ended. */
tb_stats *tb_worker_stats(tb_worker *w);
uint64_t tb_worker_end_ns(const tb_worker *w);

void tb_worker_destroy(tb_worker *w);

uint64_t tb_now_ns(void);

/* Makes the connections of ctx count the NewSessionTicket messages they receive (TLS 1.2
 * and 1.3 tickets; a stateful TLS 1.3 server's session IDs come in them too). */
void tb_count_tickets(SSL_CTX *ctx);

#endif
