/*
 * A transport plugin in C, for the tests: it answers each request with the settings string
 * followed by the request, from a thread of its own. Some requests make it misbehave on
 * purpose: "never" is never completed, "twice" is completed twice, "late" is completed after
 * 600 ms, "error" fails.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmp-plugin.h"

typedef struct {
    uint8_t *prefix;
    size_t prefix_len;
} instance;

typedef struct {
    cmp_plugin_completion callback;
    void *ctx;
    uint8_t *response;
    size_t len;
    long delay_ms;
} job;

static void free_buffer(uint8_t *ptr, size_t len) {
    (void)len;
    free(ptr);
}

static void give(cmp_plugin_buffer *out, const char *text) {
    size_t len = strlen(text);
    out->ptr = malloc(len);
    memcpy(out->ptr, text, len);
    out->len = len;
}

static int32_t create(const uint8_t *settings, size_t len, void **out, cmp_plugin_buffer *error) {
    if (len == 11 && memcmp(settings, "fail-create", 11) == 0) {
        give(error, "the settings say fail-create");
        return CMP_PLUGIN_INVALID_ARGUMENT;
    }
    instance *inst = malloc(sizeof(instance));
    inst->prefix = malloc(len ? len : 1);
    memcpy(inst->prefix, settings, len);
    inst->prefix_len = len;
    *out = inst;
    return CMP_PLUGIN_OK;
}

static void destroy(void *p) {
    instance *inst = p;
    free(inst->prefix);
    free(inst);
}

static void *answer(void *arg) {
    job *j = arg;
    struct timespec ts = {j->delay_ms / 1000, (j->delay_ms % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
    j->callback(j->ctx, CMP_PLUGIN_OK, j->response, j->len);
    free(j->response);
    free(j);
    return NULL;
}

static int is(const uint8_t *req, size_t len, const char *word) {
    return len == strlen(word) && memcmp(req, word, len) == 0;
}

static void exchange(void *p, const uint8_t *req, size_t len, uint64_t timeout_ms,
                     cmp_plugin_completion callback, void *ctx) {
    (void)timeout_ms;
    instance *inst = p;
    if (is(req, len, "never")) {
        return;
    }
    if (is(req, len, "twice")) {
        callback(ctx, CMP_PLUGIN_OK, (const uint8_t *)"first", 5);
        callback(ctx, CMP_PLUGIN_OK, (const uint8_t *)"second", 6);
        return;
    }
    if (is(req, len, "error")) {
        const char *msg = "the C plugin refuses";
        callback(ctx, CMP_PLUGIN_ERROR, (const uint8_t *)msg, strlen(msg));
        return;
    }
    job *j = malloc(sizeof(job));
    j->callback = callback;
    j->ctx = ctx;
    j->delay_ms = is(req, len, "late") ? 600 : 10;
    j->len = inst->prefix_len + len;
    j->response = malloc(j->len ? j->len : 1);
    memcpy(j->response, inst->prefix, inst->prefix_len);
    memcpy(j->response + inst->prefix_len, req, len);
    pthread_t t;
    if (pthread_create(&t, NULL, answer, j) != 0) {
        const char *msg = "cannot start a thread";
        callback(ctx, CMP_PLUGIN_ERROR, (const uint8_t *)msg, strlen(msg));
        free(j->response);
        free(j);
        return;
    }
    pthread_detach(t);
}

static const cmp_plugin_descriptor DESCRIPTOR = {
    .magic = CMP_PLUGIN_MAGIC,
    .abi_version = CMP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(cmp_plugin_descriptor),
    .kind = CMP_PLUGIN_KIND_TRANSPORT,
    .name = "echo",
    .version = "1.2.3",
    .free_buffer = free_buffer,
    .create = create,
    .destroy = destroy,
    .exchange = exchange,
};

const cmp_plugin_descriptor *cmp_plugin_entry_v1(void) { return &DESCRIPTOR; }

