/*
 * Libraries that are not (good) plugins, for the tests; compiled once per variant with
 * -DWRONG_MAGIC, -DWRONG_VERSION, -DTOO_SMALL, -DNO_ENTRY, -DWRONG_KIND or -DNO_EXCHANGE.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cmp-plugin.h"

#if defined(NO_ENTRY)

int not_a_plugin(void) { return 42; }

#elif defined(TOO_SMALL)

/* Only the three header fields: the host must not read past them. */
static const struct {
    uint64_t magic;
    uint32_t abi_version;
    uint32_t struct_size;
} SMALL = {CMP_PLUGIN_MAGIC, CMP_PLUGIN_ABI_VERSION, 16};

const cmp_plugin_descriptor *cmp_plugin_entry_v1(void) {
    return (const cmp_plugin_descriptor *)(const void *)&SMALL;
}

#else

static void free_buffer(uint8_t *ptr, size_t len) {
    (void)len;
    free(ptr);
}
static int32_t create(const uint8_t *s, size_t n, void **out, cmp_plugin_buffer *e) {
    (void)s; (void)n; (void)e;
    *out = malloc(1);
    return CMP_PLUGIN_OK;
}
static void destroy(void *p) { free(p); }
/* Unused in the NO_EXCHANGE variant. */
__attribute__((unused)) static void exchange(void *i, const uint8_t *r, size_t n, uint64_t t,
                                             cmp_plugin_completion cb, void *ctx) {
    (void)i; (void)t;
    cb(ctx, CMP_PLUGIN_OK, r, n);
}

#if defined(WRONG_MAGIC)
#define MAGIC UINT64_C(0x4E4F54414D414749)
#else
#define MAGIC CMP_PLUGIN_MAGIC
#endif
#if defined(WRONG_VERSION)
#define VERSION 2u
#else
#define VERSION CMP_PLUGIN_ABI_VERSION
#endif
#if defined(WRONG_KIND)
#define KIND 7u
#else
#define KIND CMP_PLUGIN_KIND_TRANSPORT
#endif
#if defined(NO_EXCHANGE)
#define EXCHANGE NULL
#else
#define EXCHANGE exchange
#endif

static const cmp_plugin_descriptor DESCRIPTOR = {
    .magic = MAGIC,
    .abi_version = VERSION,
    .struct_size = sizeof(cmp_plugin_descriptor),
    .kind = KIND,
    .name = "broken",
    .version = "0.0.0",
    .free_buffer = free_buffer,
    .create = create,
    .destroy = destroy,
    .exchange = EXCHANGE,
};

const cmp_plugin_descriptor *cmp_plugin_entry_v1(void) { return &DESCRIPTOR; }

#endif
