/* SPDX-License-Identifier: Apache-2.0 */
/* tls-bench: what a worker counts, merged over workers and printed as one JSON line. */
#ifndef TB_STATS_H
#define TB_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TB_KEY_NAME_LEN     16 /* the key name opening every OpenSSL-format ticket */
#define TB_MAX_TICKET_NAMES 8  /* distinct names counted; more go to other_tickets */

typedef struct {
    unsigned char name[TB_KEY_NAME_LEN];
    unsigned long count;
} tb_ticket_name;

typedef struct {
    unsigned long handshakes; /* measured connections that ended well */
    unsigned long offered;    /* of those, how many offered a session */
    unsigned long resumed;    /* of those, how many the server resumed */
    unsigned long tickets;    /* NewSessionTicket messages they received */
    unsigned long failures;   /* measured connections that failed */
    unsigned long warmup_failures;
    char first_error[200]; /* the first failure's reason (warm-up included), or "" */
    uint64_t *latency_ns;  /* one per handshake: TCP connect to TLS handshake done */
    size_t nlatency, latency_cap;
    const char *version, *cipher, *group; /* of the first measured handshake (static) */
    tb_ticket_name ticket_names[TB_MAX_TICKET_NAMES];
    size_t nticket_names;
    unsigned long other_tickets;      /* tickets whose name did not fit the table */
    unsigned long sessions_no_ticket; /* connections that ended holding no ticket */
} tb_stats;

/* Records one measured handshake's latency; returns -1 when out of memory. */
int tb_stats_add_latency(tb_stats *st, uint64_t ns);

/* Counts the key name of a ticket (the first TB_KEY_NAME_LEN bytes), or, with a NULL or
 * short ticket, a connection that ended without one. */
void tb_stats_add_ticket(tb_stats *st, const unsigned char *ticket, size_t len);

/* Records a failure of a measured or a warm-up connection; the first reason is kept,
 * a measured one rather than a warm-up one. */
void tb_stats_fail(tb_stats *st, const char *reason, int measured);

/* Adds `from` into `into`; returns -1 when out of memory. */
int tb_stats_merge(tb_stats *into, const tb_stats *from);

/* The latency below which a share q (0..1] of the handshakes ended (nearest rank), in
 * milliseconds; 0 without handshakes.  Sorts the samples. */
double tb_stats_percentile_ms(tb_stats *st, double q);

void tb_stats_free(tb_stats *st);

/* Writes s as a JSON string, quotes included. */
void tb_json_string(FILE *out, const char *s);

/* Writes the ticket-name counts as a JSON object: {"<hex name>": count, ...}. */
void tb_json_ticket_names(FILE *out, const tb_stats *st);

#endif
