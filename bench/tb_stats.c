/* SPDX-License-Identifier: Apache-2.0 */
#include "tb_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int tb_stats_add_latency(tb_stats *st, uint64_t ns)
{
    if (st->nlatency == st->latency_cap) {
        size_t cap = st->latency_cap ? 2 * st->latency_cap : 4096;
        uint64_t *grown = realloc(st->latency_ns, cap * sizeof(*grown));

        if (grown == NULL)
            return -1;
        st->latency_ns = grown;
        st->latency_cap = cap;
    }
    st->latency_ns[st->nlatency++] = ns;
    return 0;
}

static void count_ticket_name(tb_stats *st, const unsigned char *name, unsigned long n)
{
    size_t i;

    for (i = 0; i < st->nticket_names; i++) {
        if (memcmp(st->ticket_names[i].name, name, TB_KEY_NAME_LEN) == 0) {
            st->ticket_names[i].count += n;
            return;
        }
    }
    if (st->nticket_names == TB_MAX_TICKET_NAMES) {
        st->other_tickets += n;
        return;
    }
    memcpy(st->ticket_names[st->nticket_names].name, name, TB_KEY_NAME_LEN);
    st->ticket_names[st->nticket_names++].count = n;
}

void tb_stats_add_ticket(tb_stats *st, const unsigned char *ticket, size_t len)
{
    if (ticket == NULL || len < TB_KEY_NAME_LEN)
        st->sessions_no_ticket++;
    else
        count_ticket_name(st, ticket, 1);
}

void tb_stats_fail(tb_stats *st, const char *reason, int measured)
{
    int first =
        measured ? st->failures++ == 0 : st->warmup_failures++ == 0 && st->failures == 0;

    if (first)
        snprintf(st->first_error, sizeof(st->first_error), "%s", reason);
}

int tb_stats_merge(tb_stats *into, const tb_stats *from)
{
    size_t i;

    into->handshakes += from->handshakes;
    into->offered += from->offered;
    into->resumed += from->resumed;
    into->tickets += from->tickets;
    if (into->first_error[0] == '\0' || (into->failures == 0 && from->failures > 0))
        memcpy(into->first_error, from->first_error, sizeof(into->first_error));
    into->failures += from->failures;
    into->warmup_failures += from->warmup_failures;
    for (i = 0; i < from->nlatency; i++)
        if (tb_stats_add_latency(into, from->latency_ns[i]) != 0)
            return -1;
    if (into->version == NULL) {
        into->version = from->version;
        into->cipher = from->cipher;
    }
    if (into->group == NULL)
        into->group = from->group;
    for (i = 0; i < from->nticket_names; i++)
        count_ticket_name(into, from->ticket_names[i].name, from->ticket_names[i].count);
    into->other_tickets += from->other_tickets;
    into->sessions_no_ticket += from->sessions_no_ticket;
    return 0;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

double tb_stats_percentile_ms(tb_stats *st, double q)
{
    size_t rank;

    if (st->nlatency == 0)
        return 0;
    qsort(st->latency_ns, st->nlatency, sizeof(*st->latency_ns), compare_u64);
    rank = (size_t)ceil(q * (double)st->nlatency);
    if (rank < 1)
        rank = 1;
    return (double)st->latency_ns[rank - 1] / 1e6;
}

void tb_stats_free(tb_stats *st)
{
    free(st->latency_ns);
    st->latency_ns = NULL;
    st->nlatency = st->latency_cap = 0;
}

void tb_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

void tb_json_ticket_names(FILE *out, const tb_stats *st)
{
    size_t i, j;

    fputc('{', out);
    for (i = 0; i < st->nticket_names; i++) {
        fputs(i ? ",\"" : "\"", out);
        for (j = 0; j < TB_KEY_NAME_LEN; j++)
            fprintf(out, "%02x", st->ticket_names[i].name[j]);
        fprintf(out, "\":%lu", st->ticket_names[i].count);
    }
    fputc('}', out);
}
