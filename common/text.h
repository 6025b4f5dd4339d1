/* Checks and repairs for text that crosses the wire: protobuf strings must
 * be UTF-8, and names end up in logs, tables and JSON. */
#ifndef ZJOB_TEXT_H
#define ZJOB_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Returns true when the len bytes at text are valid UTF-8 (no overlong
 * forms, no surrogates) with no NUL byte. */
bool text_utf8_valid (const char *text, size_t len);

/* Returns true when text is a usable name: 1 to max_len bytes of valid
 * UTF-8 with no control characters. */
bool text_is_name (const char *text, size_t max_len);

/* Replaces, in place, every byte of the len bytes at text that is not
 * part of a valid UTF-8 character, and every NUL, with '?'. The length
 * does not change. */
void text_utf8_fix (char *text, size_t len);

/* Returns true unless endpoint ends in ":PORT" with a number over 65535
 * (which the socket library would quietly take modulo 65536). NULL is
 * fine. */
bool text_endpoint_port_ok (const char *endpoint);

#endif
