/* Parsing and printing of the units people type: durations and sizes. */
#ifndef ZJOB_UNITS_H
#define ZJOB_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Parses a duration such as "250ms", "30s", "5m", "2h", "1d" or "1m30s" into
 * milliseconds. A bare number is seconds. Returns 0, or -1 for an empty,
 * malformed or overflowing text (then *ms is untouched). */
int duration_parse (const char *text, uint64_t *ms);

/* Writes ms as the shortest exact duration text ("1500ms", "30s", "5m") into
 * buf of len bytes. Returns buf. */
char *duration_format (uint64_t ms, char *buf, size_t len);

/* Parses a size such as "512", "64k", "1MiB", "2M" or "1g" into bytes; k, M
 * and G are powers of 1024, with or without "iB"/"B". Returns 0, or -1. */
int size_parse (const char *text, uint64_t *bytes);

/* Parses a whole decimal number within [min, max]. Returns 0, or -1. */
int number_parse (const char *text, int64_t min, int64_t max, int64_t *value);

#endif
