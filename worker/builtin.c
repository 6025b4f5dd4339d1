/* The builtin handlers: echo, sha256, sleep and fail.
 *
 * They need no state, so each is a plain handler_fn_t; sleep is the one
 * that blocks, and it blocks in jobctx_wait_ms so cancel and deadline end
 * it at once.
 */
#include "worker/builtin.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "common/units.h"

const char *const builtin_names[] = {"echo", "sha256", "sleep", "fail", NULL};

/* echo: the result is the payload. */
static handler_status_t
s_echo (void *state, jobctx_t *ctx, const uint8_t *payload, size_t len,
        size_t max_result, handler_output_t *out)
{
    return handler_set_result (out, payload, len, max_result);
}

/* sha256: the result is the lowercase hex digest of the payload. */
static handler_status_t
s_sha256 (void *state, jobctx_t *ctx, const uint8_t *payload, size_t len,
          size_t max_result, handler_output_t *out)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (!EVP_Digest (payload, len, digest, &digest_len, EVP_sha256 (), NULL)) {
        return handler_fail (out, "sha256: digest failed");
    }
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned int i = 0; i < digest_len; i++) {
        snprintf (hex + 2 * i, 3, "%02x", digest[i]);
    }
    return handler_set_result (out, hex, 2 * (size_t) digest_len, max_result);
}

/* sleep: waits the payload's number of milliseconds; the result is the
 * payload. */
static handler_status_t
s_sleep (void *state, jobctx_t *ctx, const uint8_t *payload, size_t len,
         size_t max_result, handler_output_t *out)
{
    char text[32];
    int64_t ms = 0;
    if (len == 0 || len >= sizeof text) {
        return handler_fail (out, "sleep: payload must be a number of "
                                  "milliseconds");
    }
    size_t digits = len;
    if (len > 0) {
        memcpy (text, payload, len);
    }
    while (digits > 0 && strchr (" \r\n", text[digits - 1])) {
        digits--; /* "250\n" from a shell pipe is still 250 */
    }
    text[digits] = '\0';
    if (number_parse (text, 0, INT64_C (1) << 40, &ms) != 0) {
        return handler_fail (out,
                             "sleep: '%s' is not a whole number of "
                             "milliseconds",
                             text);
    }
    if (jobctx_wait_ms (ctx, (uint64_t) ms) != 0) {
        return HANDLER_STOPPED;
    }
    return handler_set_result (out, payload, len, max_result);
}

/* fail: fails with the payload as its error text. */
static handler_status_t
s_fail (void *state, jobctx_t *ctx, const uint8_t *payload, size_t len,
        size_t max_result, handler_output_t *out)
{
    return handler_fail (out, "%.*s", (int) (len > 65536 ? 65536 : len),
                         (const char *) payload);
}

handler_fn_t
builtin_find (const char *name)
{
    static const handler_fn_t fns[] = {s_echo, s_sha256, s_sleep, s_fail};
    for (size_t i = 0; builtin_names[i]; i++) {
        if (strcmp (builtin_names[i], name) == 0) {
            return fns[i];
        }
    }
    return NULL;
}
