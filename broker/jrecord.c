/* The journal's job record, encoded by hand; see jrecord.h.
 *
 * Design notes. Proto3 wire format: a key (field number << 3 | wire type)
 * as a varint, then a varint value (type 0) or a varint length and the
 * bytes (type 2). A negative int32 is sign-extended to 64 bits, so ten
 * bytes. Every key here fits in two bytes (field numbers up to 22). The
 * bound counts the largest key and varint for every field, whether it is
 * written or not, plus the lengths of the strings and bytes.
 */
#include "broker/jrecord.h"

#include <string.h>

#define S_VARINT_MAX 10
#define S_KEY_MAX    2
#define S_FIELDS     22

enum { S_VARINT = 0, S_LENGTH = 2 };

static uint8_t *
s_varint (uint8_t *at, uint64_t value)
{
    while (value >= 0x80) {
        *at++ = (uint8_t) (value | 0x80);
        value >>= 7;
    }
    *at++ = (uint8_t) value;
    return at;
}

static uint8_t *
s_key (uint8_t *at, unsigned field, unsigned type)
{
    return s_varint (at, (uint64_t) (field << 3 | type));
}

/* A varint field, left out when zero. */
static uint8_t *
s_uint (uint8_t *at, unsigned field, uint64_t value)
{
    if (value == 0) {
        return at;
    }
    return s_varint (s_key (at, field, S_VARINT), value);
}

/* A bytes field, left out when empty. */
static uint8_t *
s_bytes (uint8_t *at, unsigned field, const uint8_t *data, size_t len)
{
    if (len == 0) {
        return at;
    }
    at = s_varint (s_key (at, field, S_LENGTH), len);
    memcpy (at, data, len);
    return at + len;
}

/* A string field, left out when NULL or empty. */
static uint8_t *
s_string (uint8_t *at, unsigned field, const char *text)
{
    return text ? s_bytes (at, field, (const uint8_t *) text, strlen (text))
                : at;
}

static size_t
s_len (const char *text)
{
    return text ? strlen (text) : 0;
}

size_t
jrecord_bound (const Zjob__JournalJob *rec)
{
    return S_FIELDS * (S_KEY_MAX + S_VARINT_MAX) + rec->result.len +
           rec->payload.len + s_len (rec->error) + s_len (rec->worker) +
           s_len (rec->queue) + s_len (rec->key);
}

size_t
jrecord_encode (const Zjob__JournalJob *rec, uint8_t *out)
{
    uint8_t *at = out;
    at = s_uint (at, 1, rec->id);
    at = s_uint (at, 2, (uint64_t) (int64_t) rec->state);
    at = s_uint (at, 3, rec->attempt);
    at = s_uint (at, 4, rec->failures);
    at = s_uint (at, 5, rec->lost);
    at = s_uint (at, 6, rec->full ? 1 : 0);
    at = s_uint (at, 7, rec->forget ? 1 : 0);
    at = s_uint (at, 8, rec->cancel_requested ? 1 : 0);
    at = s_uint (at, 9, rec->run_at_ms);
    at = s_uint (at, 10, rec->started_ms);
    at = s_uint (at, 11, rec->finished_ms);
    at = s_bytes (at, 12, rec->result.data, rec->result.len);
    at = s_string (at, 13, rec->error);
    at = s_string (at, 14, rec->worker);
    at = s_string (at, 15, rec->queue);
    at = s_bytes (at, 16, rec->payload.data, rec->payload.len);
    at = s_uint (at, 17, (uint64_t) (int64_t) rec->priority);
    at = s_uint (at, 18, rec->max_attempts);
    at = s_uint (at, 19, rec->deadline_ms);
    at = s_string (at, 20, rec->key);
    at = s_uint (at, 21, rec->created_ms);
    at = s_uint (at, 22, rec->next_id);
    return (size_t) (at - out);
}
