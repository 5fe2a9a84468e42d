/*
 * cmp-plugin.h — the C ABI of CMP toolkit plugins, version 1.
 *
 * Field for field the same as the Rust definitions in cmp-plugin/src/abi.rs (a test compiles a
 * C plugin against this header and compares sizes and offsets). The rules, in brief:
 *
 *  - A plugin exports one function, cmp_plugin_entry_v1, returning a pointer to a static
 *    cmp_plugin_descriptor. The host reads magic, abi_version and struct_size, in this order,
 *    before anything else. Later versions append fields (struct_size tells which are there);
 *    a breaking change gets a new entry symbol.
 *  - Input buffers are lent for the duration of a call; copy what you keep.
 *  - Bytes passed to a completion callback are lent for the duration of that callback.
 *  - Buffers returned through a cmp_plugin_buffer out-parameter are allocated by the plugin
 *    and given back by the host with free_buffer.
 *  - Asynchronous functions (exchange, sign, decrypt, key_agreement) call their callback
 *    exactly once, from any thread, before or after they return. The host stops waiting at
 *    the deadline; a second or late call is ignored (and reported by the host).
 *  - Every function may be called from any thread, also concurrently on one instance.
 *    public_key, release, create and destroy must not block; generate and load may.
 *  - create receives UTF-8 settings: for a transport, the server URL.
 *  - Libraries are opened RTLD_NOW | RTLD_LOCAL and never unloaded.
 */
#ifndef CMP_PLUGIN_H
#define CMP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "CMPPLUG1" read as a big-endian number. */
#define CMP_PLUGIN_MAGIC UINT64_C(0x434D50504C554731)
#define CMP_PLUGIN_ABI_VERSION 1u
#define CMP_PLUGIN_ENTRY_SYMBOL "cmp_plugin_entry_v1"

/* Kinds. */
#define CMP_PLUGIN_KIND_TRANSPORT 1u
#define CMP_PLUGIN_KIND_KEY_BACKEND 2u

/* Status codes. With a non-zero status the bytes are a UTF-8 error message. */
#define CMP_PLUGIN_OK 0
#define CMP_PLUGIN_ERROR 1
#define CMP_PLUGIN_TIMEOUT 2
#define CMP_PLUGIN_UNSUPPORTED 3
#define CMP_PLUGIN_INVALID_ARGUMENT 4
#define CMP_PLUGIN_PANIC 5

/* Key locator kinds for load. */
#define CMP_PLUGIN_LOCATOR_URI 1u     /* e.g. pkcs11:token=dev;object=key */
#define CMP_PLUGIN_LOCATOR_ENCODED 2u /* PEM or DER key, optional password */

/* A buffer the plugin allocated; the host frees it with free_buffer. ptr NULL: no bytes. */
typedef struct cmp_plugin_buffer {
    uint8_t *ptr;
    size_t len;
} cmp_plugin_buffer;

/* Completion of an asynchronous operation: status, and the result (or a message). */
typedef void (*cmp_plugin_completion)(void *ctx, int32_t status, const uint8_t *data, size_t len);

typedef struct cmp_plugin_descriptor {
    uint64_t magic;       /* CMP_PLUGIN_MAGIC */
    uint32_t abi_version; /* CMP_PLUGIN_ABI_VERSION */
    uint32_t struct_size; /* sizeof(cmp_plugin_descriptor) */
    uint32_t kind;        /* CMP_PLUGIN_KIND_* */
    uint32_t reserved;    /* 0 */
    const char *name;     /* NUL-terminated UTF-8; for a transport, its URL scheme */
    const char *version;  /* NUL-terminated UTF-8 */

    /* All kinds. */
    void (*free_buffer)(uint8_t *ptr, size_t len);
    int32_t (*create)(const uint8_t *settings, size_t settings_len, void **instance,
                      cmp_plugin_buffer *error);
    void (*destroy)(void *instance);

    /* Transport: send a DER PKIMessage, complete with the response. timeout_ms is what is
     * left of the transaction's deadline. */
    void (*exchange)(void *instance, const uint8_t *request, size_t request_len,
                     uint64_t timeout_ms, cmp_plugin_completion callback, void *ctx);

    /* Key backend. spec: "ec:P-256", "ec:P-384", "rsa:2048|3072|4096", "ed25519". */
    int32_t (*generate)(void *instance, const uint8_t *spec, size_t spec_len, uint64_t *handle,
                        cmp_plugin_buffer *error);
    int32_t (*load)(void *instance, uint32_t locator_kind, const uint8_t *data, size_t data_len,
                    const uint8_t *password, size_t password_len, uint64_t *handle,
                    cmp_plugin_buffer *error);
    /* DER SubjectPublicKeyInfo in out (or an error message). */
    int32_t (*public_key)(void *instance, uint64_t handle, cmp_plugin_buffer *out);
    /* alg: "ecdsa-with-SHA256", "sha256WithRSAEncryption", "rsassa-pss-sha256", "Ed25519", ...
     * The plugin hashes data; ECDSA signatures are DER Ecdsa-Sig-Value. */
    void (*sign)(void *instance, uint64_t handle, const uint8_t *alg, size_t alg_len,
                 const uint8_t *data, size_t data_len, cmp_plugin_completion callback, void *ctx);
    /* Optional (NULL: not supported). */
    void (*decrypt)(void *instance, uint64_t handle, const uint8_t *alg, size_t alg_len,
                    const uint8_t *ciphertext, size_t ciphertext_len,
                    cmp_plugin_completion callback, void *ctx);
    void (*key_agreement)(void *instance, uint64_t handle, const uint8_t *alg, size_t alg_len,
                          const uint8_t *peer_spki, size_t peer_spki_len,
                          cmp_plugin_completion callback, void *ctx);
    void (*release)(void *instance, uint64_t handle);
} cmp_plugin_descriptor;

/* The one symbol a plugin exports. */
const cmp_plugin_descriptor *cmp_plugin_entry_v1(void);

#ifdef __cplusplus
}
#endif

#endif /* CMP_PLUGIN_H */
