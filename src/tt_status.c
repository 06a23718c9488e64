/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server-status section of mod_tls_tickets: counters in total (the ?auto lines) and,
 * in HTML, per key file with its keys by fingerprint.  No key byte.
 */
#include <httpd.h>
#include <http_protocol.h>

#include "mod_status.h"
#include "tt_farm.h"
#include "tt_private.h"

static void status_keys(request_rec *r, const tk_ring_t *ring, apr_time_t now)
{
    tk_key_text_t text;
    unsigned int i;

    ap_rputs("<table><tr><th>key</th><th>cipher</th><th>not-before</th><th>not-after</th>"
             "<th>now</th></tr>\n",
             r);
    for (i = 0; i < tk_ring_size(ring); i++) {
        tk_key_describe(ring, i, now, &text);
        ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
                   tk_ring_key(ring, i)->fingerprint, text.cipher, text.not_before,
                   text.not_after, text.state);
    }
    ap_rputs("</table>\n", r);
}

/* server-status: the counters in total (the ?auto keys) and, in HTML, per key file with
 * its keys by fingerprint.  No key byte. */
int tt_status_hook(request_rec *r, int flags)
{
    static const char *const names[TK_COUNTERS] = {
        "TLSTicketsSealed",     "TLSTicketsResumed",   "TLSTicketsRenewed",
        "TLSTicketsUnknownKey", "TLSTicketKeyReloads", "TLSTicketKeyReloadErrors",
        "TLSTicketsOtherVhost",
    };
    tk_store_t *store = tt_retained ? tt_retained->store : NULL;
    apr_time_t now = apr_time_now(), last_reload = 0;
    apr_interval_time_t oldest = 0;
    apr_uint64_t total[TK_COUNTERS] = {0};
    tk_counters_t c;
    tk_ring_t *ring;
    unsigned int slot, i;

    if (store == NULL)
        return OK;
    ring = apr_palloc(r->pool, sizeof(*ring));
    if (!(flags & AP_STATUS_SHORT))
        ap_rputs("<hr />\n<h2>TLS session tickets (mod_tls_tickets)</h2>\n", r);
    for (slot = 0; slot <= tk_store_nslots(store); slot++) {
        int retired = slot == tk_store_nslots(store);
        const tk_key_t *sealing = NULL;

        if (!retired && !tt_slot_in_use(slot))
            continue;
        tk_store_counters(store, slot, &c);
        for (i = 0; i < TK_COUNTERS; i++)
            total[i] += c.n[i];
        if (c.last_reload > last_reload)
            last_reload = c.last_reload;
        if (!retired && tk_store_read(store, slot, ring) == APR_SUCCESS &&
            (sealing = tk_ring_sealing_key(ring, now)) != NULL &&
            tk_key_sealing_age(sealing, now) > oldest)
            oldest = tk_key_sealing_age(sealing, now);
        if (!(flags & AP_STATUS_SHORT) && !retired) {
            ap_rprintf(r, "<h3>%s</h3>\n<p>sealing key %s, %" APR_TIME_T_FMT " s old; ",
                       ap_escape_html(r->pool, tt_slot_name(slot)),
                       sealing ? sealing->fingerprint : "(none)",
                       sealing ? apr_time_sec(tk_key_sealing_age(sealing, now)) : 0);
            for (i = 0; i < TK_COUNTERS; i++)
                ap_rprintf(r, "%s %s: %" APR_UINT64_T_FMT, i ? "," : "", names[i], c.n[i]);
            ap_rputs("</p>\n", r);
            status_keys(r, ring, now);
        }
        tk_ring_wipe(ring);
    }
    if (flags & AP_STATUS_SHORT) {
        for (i = 0; i < TK_COUNTERS; i++)
            ap_rprintf(r, "%s: %" APR_UINT64_T_FMT "\n", names[i], total[i]);
        ap_rprintf(r, "TLSTicketKeyAge: %" APR_TIME_T_FMT "\n", apr_time_sec(oldest));
        ap_rprintf(r, "TLSTicketKeyLastReload: %" APR_TIME_T_FMT "\n",
                   apr_time_sec(last_reload));
    } else {
        ap_rputs("<p>Totals:", r);
        for (i = 0; i < TK_COUNTERS; i++)
            ap_rprintf(r, "%s %s: %" APR_UINT64_T_FMT, i ? "," : "", names[i], total[i]);
        ap_rprintf(r, "; oldest sealing key %" APR_TIME_T_FMT " s.</p>\n",
                   apr_time_sec(oldest));
    }
    tt_farm_status(r, flags);
    return OK;
}
