/* SPDX-License-Identifier: Apache-2.0 */
#include "tb_run.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#define MAX_EVENTS   64
#define IDLE_WAIT_MS 20 /* epoll timeout: how often phases and time-outs are looked at */
#define MAX_REQUEST  640
#define STATUS_LEN   12 /* "HTTP/1.1 200" */

typedef enum {
    SLOT_IDLE,
    SLOT_CONNECTING,
    SLOT_HANDSHAKE,
    SLOT_REQUEST,
    SLOT_DRAIN
} slot_state_e;

typedef enum { STEP_WAIT, STEP_NEXT, STEP_END } step_e;

/* One connection at a time, cycle after cycle: connect, handshake, (GET), read until the
 * server closes, close. */
typedef struct {
    tb_worker *worker;
    slot_state_e state;
    int fd;
    SSL *ssl;
    uint32_t events; /* what epoll waits for on fd; 0 when fd is not registered */
    int measured;    /* the cycle started in the measurement phase */
    uint64_t start_ns, deadline_ns;
    uint64_t handshake_ns; /* connect to handshake done */
    int offered, resumed;
    unsigned tickets;          /* NewSessionTicket messages received in this cycle */
    size_t name;               /* index of this cycle's SNI name */
    unsigned long next_name;   /* round robin over the names, each slot on its own */
    unsigned long warm_cycles; /* warm-up cycles ended, well or not */
    SSL_SESSION **sessions;    /* resume mode: the last session got, for each name */
    char request[MAX_REQUEST];
    int request_len;
    char status[STATUS_LEN]; /* the first bytes of the response */
    size_t status_len;
} tb_slot;

struct tb_worker {
    const tb_config *cfg;
    tb_control *ctl;
    int epfd;
    tb_slot *slots;
    unsigned nslots;
    unsigned active;           /* slots in a cycle */
    int exhausted;             /* measurement: no more cycles may start */
    unsigned long warm_cycles; /* warm-up cycles every slot ends before measuring */
    tb_stats stats;
    uint64_t end_ns; /* when the last measured cycle ended */
    char buf[16384]; /* what is read and thrown away */
};

uint64_t tb_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *state_name(slot_state_e state)
{
    switch (state) {
    case SLOT_CONNECTING:
        return "connecting";
    case SLOT_HANDSHAKE:
        return "handshake";
    case SLOT_REQUEST:
        return "sending the request";
    case SLOT_DRAIN:
        return "reading until the server closed";
    default:
        return "idle";
    }
}

static const char *name_of(const tb_slot *s)
{
    const tb_config *cfg = s->worker->cfg;

    return cfg->nnames ? cfg->names[s->name] : NULL;
}

/* Ends the cycle: frees the connection.  A session is kept only after a clean end. */
static void close_slot(tb_slot *s, int clean)
{
    tb_worker *w = s->worker;

    if (s->ssl) {
        /* OpenSSL marks the session of an SSL freed without SSL_SENT_SHUTDOWN not
         * resumable.  A clean cycle has read until the server closed, so nothing is
         * left to say; the flags spare a close_notify written to a closed socket (as
         * mod_ssl does). */
        if (clean)
            SSL_set_shutdown(s->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0)
        close(s->fd); /* also leaves the epoll set */
    s->fd = -1;
    s->events = 0;
    s->state = SLOT_IDLE;
    w->active--;
    if (s->measured)
        w->end_ns = tb_now_ns();
    else
        s->warm_cycles++;
}

static step_e fail(tb_slot *s, const char *reason)
{
    tb_worker *w = s->worker;
    char where[sizeof(w->stats.first_error)];

    snprintf(where, sizeof(where), "%s%s%s%s", s->measured ? "" : "warm-up: ", reason,
             name_of(s) ? " to " : "", name_of(s) ? name_of(s) : "");
    tb_stats_fail(&w->stats, where, s->measured);
    close_slot(s, 0);
    return STEP_END;
}

static step_e fail_errno(tb_slot *s, const char *what, int err)
{
    char reason[160];

    snprintf(reason, sizeof(reason), "%s: %s", what, strerror(err));
    return fail(s, reason);
}

static step_e fail_ssl(tb_slot *s, int ssl_error)
{
    char reason[160], detail[120];
    long verify = SSL_get_verify_result(s->ssl);
    unsigned long e = ERR_peek_last_error();

    if (verify != X509_V_OK)
        snprintf(detail, sizeof(detail), "certificate: %s",
                 X509_verify_cert_error_string(verify));
    else if (e != 0)
        ERR_error_string_n(e, detail, sizeof(detail));
    else if (ssl_error == SSL_ERROR_SYSCALL && errno != 0)
        snprintf(detail, sizeof(detail), "%s", strerror(errno));
    else
        snprintf(detail, sizeof(detail), "the server closed the connection");
    snprintf(reason, sizeof(reason), "%s: %s", state_name(s->state), detail);
    return fail(s, reason);
}

static step_e wait_for(tb_slot *s, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = s};
    int op = s->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

    if (s->events == events)
        return STEP_WAIT;
    if (epoll_ctl(s->worker->epfd, op, s->fd, &ev) != 0)
        return fail_errno(s, "epoll_ctl", errno);
    s->events = events;
    return STEP_WAIT;
}

/* After an SSL call that did not complete: wait for the socket, or fail. */
static step_e ssl_wait(tb_slot *s, int ret)
{
    int err = SSL_get_error(s->ssl, ret);

    if (err == SSL_ERROR_WANT_READ)
        return wait_for(s, EPOLLIN);
    if (err == SSL_ERROR_WANT_WRITE)
        return wait_for(s, EPOLLOUT);
    return fail_ssl(s, err);
}

static step_e step_connect(tb_slot *s)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0)
        return fail_errno(s, "connect", err);
    s->state = SLOT_HANDSHAKE;
    return STEP_NEXT;
}

static void note_first_handshake(tb_slot *s)
{
    tb_stats *st = &s->worker->stats;
    int group = SSL_get_negotiated_group(s->ssl);

    if (st->version == NULL) {
        st->version = SSL_get_version(s->ssl);
        st->cipher = SSL_get_cipher_name(s->ssl);
    }
    /* A resumed TLS 1.2 handshake has no key exchange, so no group. */
    if (st->group == NULL && group != 0)
        st->group = OBJ_nid2sn(group);
}

static step_e step_handshake(tb_slot *s)
{
    const tb_config *cfg = s->worker->cfg;
    int ret;

    ERR_clear_error();
    ret = SSL_connect(s->ssl);
    if (ret != 1)
        return ssl_wait(s, ret);
    s->handshake_ns = tb_now_ns() - s->start_ns;
    s->resumed = SSL_session_reused(s->ssl);
    if (s->measured)
        note_first_handshake(s);
    if (cfg->get_path) {
        s->request_len = snprintf(s->request, sizeof(s->request),
                                  "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                                  cfg->get_path, name_of(s) ? name_of(s) : cfg->host);
        s->state = SLOT_REQUEST;
        return STEP_NEXT;
    }
    /* TLS 1.3 servers send their tickets after the handshake, and a client that
     * sends close_notify first has OpenSSL discard them.  Without a request, the
     * server's only next record is its answer to our end of stream: so half-close
     * and read until the server closes, which gets every ticket it sent, whatever
     * it sends (none, one or two), and asks nothing more of it. */
    if (shutdown(s->fd, SHUT_WR) != 0)
        return fail_errno(s, "shutdown", errno);
    s->state = SLOT_DRAIN;
    return STEP_NEXT;
}

static step_e step_request(tb_slot *s)
{
    int ret;

    ERR_clear_error();
    ret = SSL_write(s->ssl, s->request, s->request_len);
    if (ret <= 0)
        return ssl_wait(s, ret);
    s->state = SLOT_DRAIN;
    return STEP_NEXT;
}

static int http_ok(const tb_slot *s)
{
    return s->status_len == STATUS_LEN && memcmp(s->status, "HTTP/1.", 7) == 0 &&
           memcmp(s->status + 8, " 200", 4) == 0;
}

static void count_ticket(int write_p, int version, int content_type, const void *buf,
                         size_t len, SSL *ssl, void *arg)
{
    tb_slot *s = SSL_get_app_data(ssl);

    (void)version;
    (void)arg;
    if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
        *(const unsigned char *)buf == SSL3_MT_NEWSESSION_TICKET)
        s->tickets++;
}

void tb_count_tickets(SSL_CTX *ctx)
{
    /* The message callback, not the new-session callback: that one needs OpenSSL's
     * client cache, which marks each TLS 1.3 session not resumable once used. */
    SSL_CTX_set_msg_callback(ctx, count_ticket);
}

static void keep_session(tb_slot *s)
{
    /* The newest session: after TLS 1.3 tickets, the last ticket's; after a TLS 1.3
     * resumption without a new ticket, the one just resumed (a stateless server takes
     * a ticket again; with OpenSSL's client cache on, OpenSSL would have marked it
     * not resumable, as RFC 8446 C.4 asks of browsers). */
    SSL_SESSION *session = SSL_get1_session(s->ssl);
    int used = session != NULL && session == s->sessions[s->name];

    if (session != NULL &&
        (!SSL_SESSION_is_resumable(session) ||
         (used && s->worker->cfg->single_use && SSL_version(s->ssl) == TLS1_3_VERSION))) {
        SSL_SESSION_free(session);
        session = NULL;
    }
    SSL_SESSION_free(s->sessions[s->name]);
    s->sessions[s->name] = session;
}

static step_e end_cycle(tb_slot *s)
{
    tb_worker *w = s->worker;
    const tb_config *cfg = w->cfg;
    const unsigned char *ticket = NULL;
    size_t ticket_len = 0;

    if (cfg->get_path && !http_ok(s)) {
        char reason[64];

        snprintf(reason, sizeof(reason), "HTTP response starts \"%.*s\"", (int)s->status_len,
                 s->status);
        return fail(s, reason);
    }
    if (s->measured) {
        if (tb_stats_add_latency(&w->stats, s->handshake_ns) != 0)
            return fail(s, "out of memory");
        w->stats.handshakes++;
        w->stats.offered += s->offered;
        w->stats.resumed += s->resumed;
        w->stats.tickets += s->tickets;
        if (cfg->ticket_names) {
            SSL_SESSION_get0_ticket(SSL_get_session(s->ssl), &ticket, &ticket_len);
            tb_stats_add_ticket(&w->stats, ticket, ticket_len);
        }
    }
    if (cfg->resume)
        keep_session(s);
    close_slot(s, 1);
    return STEP_END;
}

static step_e step_drain(tb_slot *s)
{
    tb_worker *w = s->worker;
    int ret;

    for (;;) {
        ERR_clear_error();
        ret = SSL_read(s->ssl, w->buf, sizeof(w->buf));
        if (ret <= 0)
            break;
        if (s->status_len < STATUS_LEN) {
            size_t n = STATUS_LEN - s->status_len;

            n = (size_t)ret < n ? (size_t)ret : n;
            memcpy(s->status + s->status_len, w->buf, n);
            s->status_len += n;
        }
    }
    /* SSL_OP_IGNORE_UNEXPECTED_EOF: a server that closes without close_notify also
     * ends here. */
    if (SSL_get_error(s->ssl, ret) == SSL_ERROR_ZERO_RETURN)
        return end_cycle(s);
    return ssl_wait(s, ret);
}

static void run_slot(tb_slot *s)
{
    step_e step;

    do {
        switch (s->state) {
        case SLOT_CONNECTING:
            step = step_connect(s);
            break;
        case SLOT_HANDSHAKE:
            step = step_handshake(s);
            break;
        case SLOT_REQUEST:
            step = step_request(s);
            break;
        case SLOT_DRAIN:
            step = step_drain(s);
            break;
        default:
            return;
        }
    } while (step == STEP_NEXT);
}

static size_t pick_name(tb_slot *s)
{
    const tb_config *cfg = s->worker->cfg;

    if (cfg->nnames == 0)
        return 0;
    if (cfg->fixed_name >= 0)
        return (size_t)cfg->fixed_name;
    return s->next_name++ % cfg->nnames;
}

static void start_cycle(tb_slot *s, int measured)
{
    tb_worker *w = s->worker;
    const tb_config *cfg = w->cfg;
    int one = 1;

    s->measured = measured;
    s->start_ns = tb_now_ns();
    s->deadline_ns = s->start_ns + (uint64_t)(cfg->timeout * 1e9);
    s->name = pick_name(s);
    s->status_len = 0;
    s->tickets = 0;
    s->state = SLOT_CONNECTING;
    w->active++;

    s->fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        fail_errno(s, "socket", errno);
        return;
    }
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    s->ssl = SSL_new(cfg->ctx);
    if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1) {
        fail(s, "SSL_new failed");
        return;
    }
    SSL_set_app_data(s->ssl, s);
    /* SSL_set1_host: the certificate must also name the server, not only chain to
     * the CA. */
    if (name_of(s) && (SSL_set_tlsext_host_name(s->ssl, name_of(s)) != 1 ||
                       SSL_set1_host(s->ssl, name_of(s)) != 1)) {
        fail(s, "bad SNI name");
        return;
    }
    s->offered = cfg->resume && s->sessions[s->name] != NULL;
    if (s->offered)
        SSL_set_session(s->ssl, s->sessions[s->name]);
    if (connect(s->fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen) == 0)
        s->state = SLOT_HANDSHAKE;
    else if (errno != EINPROGRESS) {
        fail_errno(s, "connect", errno);
        return;
    } else if (wait_for(s, EPOLLOUT) != STEP_WAIT)
        return;
    run_slot(s);
}

/* Measurement: whether one more cycle may start; takes it from the count. */
static int claim_cycle(tb_worker *w)
{
    if (w->cfg->count)
        return atomic_fetch_add(&w->ctl->started, 1) < w->cfg->count;
    return tb_now_ns() < w->ctl->deadline_ns;
}

/* Idle slots start a cycle where the phase allows.  A cycle that fails at once leaves
 * its slot idle for the next round, so a refused connection cannot recurse. */
static void refill(tb_worker *w, int phase)
{
    unsigned i;

    for (i = 0; i < w->nslots; i++) {
        tb_slot *s = &w->slots[i];

        if (s->state != SLOT_IDLE)
            continue;
        if (phase == TB_WARMUP || (phase == TB_PAUSE && s->warm_cycles < w->warm_cycles))
            start_cycle(s, 0);
        else if (phase == TB_MEASURE && !w->exhausted) {
            if (claim_cycle(w))
                start_cycle(s, 1);
            else
                w->exhausted = 1;
        }
    }
}

static void expire(tb_worker *w)
{
    uint64_t now = tb_now_ns();
    unsigned i;

    for (i = 0; i < w->nslots; i++) {
        tb_slot *s = &w->slots[i];
        char reason[80];

        if (s->state == SLOT_IDLE || now < s->deadline_ns)
            continue;
        snprintf(reason, sizeof(reason), "timed out %s", state_name(s->state));
        fail(s, reason);
    }
}

/* Runs cycles until the phase lets no more start and every slot is idle. */
static void run_phase(tb_worker *w)
{
    struct epoll_event events[MAX_EVENTS];

    for (;;) {
        int phase = atomic_load(&w->ctl->phase), n, i;

        refill(w, phase);
        if (w->active == 0 && (phase == TB_PAUSE || (phase == TB_MEASURE && w->exhausted)))
            return;
        n = epoll_wait(w->epfd, events, MAX_EVENTS, IDLE_WAIT_MS);
        for (i = 0; i < n; i++)
            run_slot(events[i].data.ptr);
        expire(w);
    }
}

void *tb_worker_main(void *arg)
{
    tb_worker *w = arg;

    run_phase(w);
    pthread_barrier_wait(&w->ctl->paused);
    pthread_barrier_wait(&w->ctl->go);
    run_phase(w);
    return NULL;
}

tb_worker *tb_worker_create(const tb_config *cfg, tb_control *ctl)
{
    tb_worker *w = calloc(1, sizeof(*w));
    unsigned i;

    if (w == NULL)
        return NULL;
    w->cfg = cfg;
    w->ctl = ctl;
    w->nslots = cfg->conns;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->slots = calloc(cfg->conns, sizeof(*w->slots));
    if (w->epfd < 0 || w->slots == NULL) {
        tb_worker_destroy(w);
        return NULL;
    }
    /* However short the warm-up, every slot ends one cycle, or in resume mode with a
     * round robin one per name: then each measured cycle has a session to offer. */
    w->warm_cycles = cfg->resume && cfg->fixed_name < 0 && cfg->nnames > 1 ? cfg->nnames : 1;
    for (i = 0; i < w->nslots; i++) {
        tb_slot *s = &w->slots[i];

        s->worker = w;
        s->fd = -1;
        s->next_name = i; /* the slots start spread over the names */
        s->sessions = calloc(cfg->nnames ? cfg->nnames : 1, sizeof(*s->sessions));
        if (s->sessions == NULL) {
            tb_worker_destroy(w);
            return NULL;
        }
    }
    return w;
}

tb_stats *tb_worker_stats(tb_worker *w)
{
    return &w->stats;
}

uint64_t tb_worker_end_ns(const tb_worker *w)
{
    return w->end_ns;
}

void tb_worker_destroy(tb_worker *w)
{
    unsigned i;
    size_t j;

    if (w == NULL)
        return;
    for (i = 0; w->slots && i < w->nslots; i++) {
        tb_slot *s = &w->slots[i];

        for (j = 0; s->sessions && j < (w->cfg->nnames ? w->cfg->nnames : 1); j++)
            SSL_SESSION_free(s->sessions[j]);
        free(s->sessions);
    }
    free(w->slots);
    if (w->epfd >= 0)
        close(w->epfd);
    tb_stats_free(&w->stats);
    free(w);
}
