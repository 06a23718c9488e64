/*
 * libFuzzer target for the SNI core: what a client controls (the server_name extension
 * and the name in it) through the parser, normalisation, the log-safe copy and a lookup
 * in an index with exact names, a wildcard and globs.  `make fuzz` runs it.
 */
#include <stdint.h>

#include <apr_general.h>

#include "sni_index.h"
#include "sni_name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const sni_index_t *fuzz_index(void)
{
    static const char *const names[] = {"www.example.com", "*.example.com", "a*b?c*.test",
                                        "*x*y*z*"};
    static const sni_index_t *ix;
    static int target;
    sni_index_builder_t *b;
    apr_pool_t *p;
    const char *why;
    void *owner;
    size_t i;

    if (ix != NULL)
        return ix;
    apr_initialize();
    apr_pool_create(&p, NULL);
    b = sni_index_builder_create(p);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        sni_index_add(b, names[i], &target, &owner, &why);
    ix = sni_index_build(b);
    return ix;
}

/* A normalised name is NUL-terminated at its length and looks up without fault. */
static void normalize_and_look_up(const char *raw, apr_size_t len)
{
    char name[SNI_NAME_MAX + 1];
    apr_size_t namelen;
    sni_match_e how;

    if (sni_name_normalize(raw, len, name, &namelen, NULL) != SNI_NAME_OK)
        return;
    if (namelen == 0 || namelen > SNI_NAME_MAX || name[namelen] != '\0')
        __builtin_trap();
    sni_index_lookup(fuzz_index(), name, namelen, &how);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char printable[SNI_PRINTABLE_SIZE];
    const unsigned char *name;
    apr_size_t len;

    sni_name_printable(printable, (const char *)data, size);
    if (sni_server_name_from_ext(data, size, &name, &len))
        normalize_and_look_up((const char *)name, len);
    normalize_and_look_up((const char *)data, size);
    return 0;
}
