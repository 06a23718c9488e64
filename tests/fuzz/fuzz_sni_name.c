/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what a client sends as its server name.  The input is the data of a
 * server_name extension and, as well, a name on its own: the extension parser, the
 * normaliser and the log-safe copy run on it.  Beyond crashes and sanitizer reports, a
 * normalised name must obey the rules (lower-case letters, digits, hyphens and dots;
 * labels of 1 to 63; at most 253 octets) and normalise to itself again; a log-safe copy
 * must be printable and fit its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sni_name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *raw, apr_size_t len)
{
    char out[SNI_NAME_MAX + 1], again[SNI_NAME_MAX + 1];
    apr_size_t outlen, againlen, i, label = 0;

    if (sni_name_normalize(raw, len, out, &outlen, NULL) != SNI_NAME_OK)
        return;
    if (outlen == 0 || outlen > SNI_NAME_MAX || out[outlen] != '\0' || out[0] == '.' ||
        out[outlen - 1] == '.')
        abort();
    for (i = 0; i < outlen; i++) {
        char c = out[i];

        if (c == '.') {
            if (label == 0)
                abort();
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            if (++label > 63)
                abort();
        } else {
            abort();
        }
    }
    if (sni_name_normalize(out, outlen, again, &againlen, NULL) != SNI_NAME_OK ||
        againlen != outlen || memcmp(out, again, outlen) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char printable[SNI_PRINTABLE_SIZE];
    const unsigned char *name;
    apr_size_t len, i;

    sni_name_printable(printable, (const char *)data, size);
    for (i = 0; printable[i]; i++)
        if (i >= SNI_PRINTABLE_SIZE - 1 || printable[i] < 0x20 || printable[i] > 0x7e)
            abort();
    if (sni_server_name_from_ext(data, size, &name, &len)) {
        if (name < data || name + len > data + size)
            abort();
        check_name((const char *)name, len);
    }
    check_name((const char *)data, size);
    return 0;
}
