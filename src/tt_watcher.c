/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The watcher: a process of the parent (root, like it, so that it reads the key files),
 * forked at each configuration.  Every SSLTicketKeyCheckInterval it checks the key files
 * (tk_watch) and puts changed keys in service in the store live, or asks the parent for a
 * graceful restart; it also rotates the automatic keys.  It talks to nothing but the store
 * in shared memory, which children read without a lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <httpd.h>
#include <http_log.h>
#include <ap_listen.h>
#include <ap_mpm.h>
#include <mpm_common.h>

#include <apr_signal.h>
#include <apr_thread_proc.h>

#include "tk_watch.h"
#include "tt_farm.h"
#include "tt_private.h"

APLOG_USE_MODULE(tls_tickets);

/* What the watcher process needs; made by post_config in the configuration pool. */
typedef struct {
    server_rec *s;
    tk_store_t *store;
    tt_reload_e reload;
    apr_interval_time_t interval;
    apr_interval_time_t auto_rotate; /* -1: no automatic keys to rotate */
    apr_array_header_t *files;       /* of tt_watched_slot_t */
    apr_proc_t proc;
    int stop_fd; /* the parent's end of the watcher's stop pipe, -1 when none */
} tt_watcher_t;

typedef struct {
    tk_watched_file_t file;
    unsigned int slot;
    int no_sealing_key_reported;
} tt_watched_slot_t;

static void log_watch_event(tk_watch_event_e ev, const tt_watched_slot_t *w,
                            const tk_ring_t *ring, const char *why, tt_reload_e reload,
                            server_rec *s)
{
    const tk_key_t *sealing;

    switch (ev) {
    case TK_WATCH_NEW_KEYS:
        sealing = tk_ring_sealing_key(ring, apr_time_now());
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "SSLTicketKeyFile %s changed: %u key(s), sealing with key %s; %s",
                     w->file.path, tk_ring_size(ring),
                     sealing ? sealing->fingerprint : "(none now)",
                     reload == TT_RELOAD_LIVE ? "in service now" : "restarting gracefully");
        break;
    case TK_WATCH_REFUSED:
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "SSLTicketKeyFile %s changed but is refused: %s; the keys in service stay",
                     w->file.path, why);
        break;
    case TK_WATCH_VANISHED:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "SSLTicketKeyFile %s cannot be read: %s; the keys in service stay",
                     w->file.path, why);
        break;
    case TK_WATCH_SAME:
        break;
    }
}

/* A key file whose keys all expired leaves its vhosts without tickets: say so once. */
static void check_sealing_key(tt_watched_slot_t *w, const tk_store_t *store, apr_time_t now,
                              tk_ring_t *ring, server_rec *s)
{
    int none;

    if (tk_store_read(store, w->slot, ring) != APR_SUCCESS)
        return;
    none = tk_ring_sealing_index(ring, now) < 0;
    if (none && !w->no_sealing_key_reported)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "SSLTicketKeyFile %s: no key may seal now (expired or not yet valid); "
                     "its vhosts issue no tickets until the file has a valid key",
                     w->file.path);
    w->no_sealing_key_reported = none;
}

static void watcher_tick(tt_watcher_t *w, apr_pool_t *p, pid_t parent, tk_ring_t *ring)
{
    apr_time_t now = apr_time_now();
    int i, rotated;

    for (i = 0; w->reload != TT_RELOAD_OFF && i < w->files->nelts; i++) {
        tt_watched_slot_t *f = &APR_ARRAY_IDX(w->files, i, tt_watched_slot_t);
        const char *why = NULL;
        tk_watch_event_e ev = tk_watch_check(&f->file, p, now, ring, &why);

        log_watch_event(ev, f, ring, why, w->reload, w->s);
        if (ev == TK_WATCH_NEW_KEYS && w->reload == TT_RELOAD_LIVE) {
            tt_keys_put_in_service_live(w->store, f->slot, ring, TK_SERVICE_RELOAD, now);
        } else if (ev == TK_WATCH_NEW_KEYS && w->reload == TT_RELOAD_GRACEFUL) {
            kill(parent, AP_SIG_GRACEFUL); /* the restart reads, publishes and counts */
        } else if (ev == TK_WATCH_REFUSED || ev == TK_WATCH_VANISHED) {
            tk_store_count(w->store, f->slot, TK_COUNT_RELOAD_ERRORS);
        }
        if (w->reload == TT_RELOAD_LIVE)
            check_sealing_key(f, w->store, now, ring, w->s);
    }
    if (w->auto_rotate > 0 && tk_store_read(w->store, TT_AUTO_SLOT, ring) == APR_SUCCESS &&
        tk_ring_auto_rotate(ring, now, w->auto_rotate, TT_AUTO_KEY_SIZE, &rotated) ==
            APR_SUCCESS &&
        rotated) {
        tt_keys_put_in_service_live(w->store, TT_AUTO_SLOT, ring, TK_SERVICE_RELOAD, now);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, w->s,
                     "automatic ticket keys rotated: sealing with key %s, the previous key "
                     "opens for one more period",
                     tk_ring_key(ring, 0)->fingerprint);
    }
    tt_farm_tick(w->s, w->store, TT_AUTO_SLOT, p);
    tk_ring_wipe(ring);
}

/* The watcher process: root, like the parent, so that it reads the key files; no
 * listener, no httpd signal handler.  It ends with the parent. */
static void watcher_main(tt_watcher_t *w, apr_pool_t *pconf, int stop_fd)
{
    static const int reset[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGWINCH, SIGPIPE};
    pid_t parent = getppid();
    apr_pool_t *p;
    tk_ring_t ring;
    sigset_t none;
    unsigned int i;

    for (i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
        apr_signal(reset[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    ap_close_listeners();
#ifdef __linux__
    /* Ends at once with a parent killed by SIGKILL, rather than at its next check. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    apr_pool_create(&p, pconf);
    /* Sleeps on the stop pipe: it ends when the parent's configuration goes, even where
     * the parent cannot signal a root process (httpd -X has dropped its privileges). */
    while (getppid() == parent) {
        struct pollfd stop = {stop_fd, POLLIN, 0};
        int timeout = (int)apr_time_as_msec(w->interval);

        if (poll(&stop, 1, timeout) > 0)
            break;
        watcher_tick(w, p, parent, &ring);
        apr_pool_clear(p); /* wipes what the check read */
    }
    _exit(0); /* no pool cleanup: they belong to the parent */
}

static void start_watcher(tt_watcher_t *w, apr_pool_t *pconf);

static void watcher_maintenance(int reason, void *data, apr_wait_t status)
{
    tt_watcher_t *w = data;
    int i;

    (void)status;
    switch (reason) {
    case APR_OC_REASON_DEATH:
    case APR_OC_REASON_LOST:
        apr_proc_other_child_unregister(w);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, w->s,
                     "mod_tls_tickets: the key-file watcher (pid %" APR_PID_T_FMT ") ended; "
                     "starting it again",
                     w->proc.pid);
        /* The new watcher reads and publishes every file again: the old one may have
         * died in the middle of a write. */
        for (i = 0; i < w->files->nelts; i++)
            memset(APR_ARRAY_IDX(w->files, i, tt_watched_slot_t).file.in_service, 0,
                   TK_DIGEST_LEN);
        start_watcher(w, w->s->process->pconf);
        break;
    case APR_OC_REASON_RESTART:
        apr_proc_other_child_unregister(w);
        break;
    case APR_OC_REASON_UNREGISTER:
        /* APR is unregistering it already: unregistering here would recurse. */
        break;
    }
}

/* When the configuration goes, before APR stops its subprocesses: the watcher sees its
 * stop pipe close and ends by itself.  (APR then signals it, which a parent that has given
 * up root, as httpd -X does, cannot do to a root process: it would wait for it forever.) */
static apr_status_t close_stop_pipe(void *data)
{
    tt_watcher_t *w = data;

    if (w->stop_fd >= 0)
        close(w->stop_fd);
    w->stop_fd = -1;
    return APR_SUCCESS;
}

static void start_watcher(tt_watcher_t *w, apr_pool_t *pconf)
{
    apr_status_t rv;
    int fds[2];

    close_stop_pipe(w); /* a watcher started again gets a new pipe */
    if (pipe(fds) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), w->s,
                     "mod_tls_tickets: cannot start the key-file watcher (no pipe); key files "
                     "are read only at restarts and automatic keys do not rotate");
        return;
    }
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    rv = apr_proc_fork(&w->proc, pconf);
    if (rv == APR_INCHILD) {
        close(fds[1]);
        watcher_main(w, pconf, fds[0]);
    }
    close(fds[0]);
    w->stop_fd = fds[1];
    if (rv != APR_INPARENT) {
        close_stop_pipe(w);
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, w->s,
                     "mod_tls_tickets: cannot start the key-file watcher; key files are read "
                     "only at restarts and automatic keys do not rotate");
        return;
    }
    /* Killed when this configuration goes (restart or stop), restarted if it dies. */
    apr_pool_note_subprocess(pconf, &w->proc, APR_KILL_AFTER_TIMEOUT);
    apr_proc_other_child_register(&w->proc, watcher_maintenance, w, NULL, pconf);
}

void tt_watcher_start(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    const tt_server_conf_t *conf = tt_conf_of(s);
    apr_hash_t *files = tt_key_files_of(pconf);
    apr_hash_index_t *hi;
    tt_watcher_t *w;

    w = apr_pcalloc(pconf, sizeof(*w));
    w->s = s;
    w->stop_fd = -1;
    apr_pool_cleanup_register(pconf, w, close_stop_pipe, apr_pool_cleanup_null);
    w->store = tt_retained->store;
    w->reload = conf->reload == TT_RELOAD_UNSET ? TT_RELOAD_LIVE : conf->reload;
    w->interval = tt_check_interval(conf);
    /* A farm store's keys rotate by period, not by themselves. */
    w->auto_rotate = tt_auto_keys_used && !tt_farm_active() ? tt_auto_rotate_period(conf) : -1;
    w->files = apr_array_make(pconf, (int)apr_hash_count(files), sizeof(tt_watched_slot_t));
    for (hi = apr_hash_first(ptemp, files); hi; hi = apr_hash_next(hi)) {
        const tt_key_file_t *file = apr_hash_this_val(hi);
        tt_watched_slot_t *f = apr_array_push(w->files);

        memset(f, 0, sizeof(*f));
        f->file.path = file->path;
        f->file.format = file->format;
        f->file.unreadable = file->unreadable;
        memcpy(f->file.last_seen, file->digest, TK_DIGEST_LEN);
        if (!file->kept_because)
            memcpy(f->file.in_service, file->digest, TK_DIGEST_LEN);
        f->slot = file->slot;
    }
    if ((w->reload != TT_RELOAD_OFF && w->files->nelts > 0) || w->auto_rotate > 0 ||
        tt_farm_active())
        start_watcher(w, pconf);
}
