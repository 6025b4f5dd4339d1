/* Durations and sizes as people type them; see units.h. */
#include "common/units.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *suffix; /* unit as typed */
    uint64_t factor;    /* its value in the base unit */
} unit_t;

/* Longest suffixes first so that "ms" is not read as "m" then "s". */
static const unit_t s_durations[] = {{"ms", 1},           {"s", 1000},
                                     {"m", 60 * 1000},    {"h", 3600 * 1000},
                                     {"d", 86400 * 1000}, {NULL, 0}};

static const unit_t s_sizes[] = {
    {"KiB", 1u << 10}, {"MiB", 1u << 20}, {"GiB", 1u << 30}, {"kB", 1u << 10},
    {"KB", 1u << 10},  {"MB", 1u << 20},  {"GB", 1u << 30},  {"k", 1u << 10},
    {"K", 1u << 10},   {"M", 1u << 20},   {"G", 1u << 30},   {"B", 1},
    {NULL, 0}};

/* Reads the digits at *cursor into *value; returns false when there are none
 * or they overflow. */
static bool
s_read_digits (const char **cursor, uint64_t *value)
{
    const char *start = *cursor;
    uint64_t total = 0;

    while (isdigit ((unsigned char) **cursor)) {
        unsigned digit = (unsigned) (**cursor - '0');
        if (total > (UINT64_MAX - digit) / 10) {
            return false;
        }
        total = total * 10 + digit;
        (*cursor)++;
    }
    *value = total;
    return *cursor != start;
}

/* Matches a unit at *cursor, advancing past it; NULL when none matches. */
static const unit_t *
s_read_unit (const char **cursor, const unit_t *units)
{
    for (const unit_t *unit = units; unit->suffix; unit++) {
        size_t len = strlen (unit->suffix);
        if (strncmp (*cursor, unit->suffix, len) == 0) {
            *cursor += len;
            return unit;
        }
    }
    return NULL;
}

/* Adds count × factor to *total; false on overflow. */
static bool
s_accumulate (uint64_t *total, uint64_t count, uint64_t factor)
{
    if (count != 0 && factor > UINT64_MAX / count) {
        return false;
    }
    if (*total > UINT64_MAX - count * factor) {
        return false;
    }
    *total += count * factor;
    return true;
}

int
duration_parse (const char *text, uint64_t *ms)
{
    const char *cursor = text;
    uint64_t total = 0;
    uint64_t count;

    if (!text || !*text) {
        return -1;
    }
    if (text[strspn (text, "0123456789")] == '\0') {
        /* A bare number is seconds. */
        if (!s_read_digits (&cursor, &count) ||
            !s_accumulate (&total, count, 1000)) {
            return -1;
        }
        *ms = total;
        return 0;
    }
    while (*cursor) {
        if (!s_read_digits (&cursor, &count)) {
            return -1;
        }
        const unit_t *unit = s_read_unit (&cursor, s_durations);
        if (!unit || !s_accumulate (&total, count, unit->factor)) {
            return -1;
        }
    }
    *ms = total;
    return 0;
}

char *
duration_format (uint64_t ms, char *buf, size_t len)
{
    if (ms != 0 && ms % 86400000u == 0) {
        snprintf (buf, len, "%llud", (unsigned long long) (ms / 86400000u));
    } else if (ms != 0 && ms % 3600000u == 0) {
        snprintf (buf, len, "%lluh", (unsigned long long) (ms / 3600000u));
    } else if (ms != 0 && ms % 60000u == 0) {
        snprintf (buf, len, "%llum", (unsigned long long) (ms / 60000u));
    } else if (ms != 0 && ms % 1000u == 0) {
        snprintf (buf, len, "%llus", (unsigned long long) (ms / 1000u));
    } else {
        snprintf (buf, len, "%llums", (unsigned long long) ms);
    }
    return buf;
}

int
size_parse (const char *text, uint64_t *bytes)
{
    const char *cursor = text;
    uint64_t count;
    uint64_t total = 0;

    if (!text || !s_read_digits (&cursor, &count)) {
        return -1;
    }
    const unit_t *unit = s_read_unit (&cursor, s_sizes);
    if (*cursor) {
        return -1;
    }
    if (!s_accumulate (&total, count, unit ? unit->factor : 1)) {
        return -1;
    }
    *bytes = total;
    return 0;
}

int
number_parse (const char *text, int64_t min, int64_t max, int64_t *value)
{
    char *end;

    if (!text || !*text || isspace ((unsigned char) *text)) {
        return -1;
    }
    errno = 0;
    long long parsed = strtoll (text, &end, 10);
    if (errno != 0 || *end || parsed < min || parsed > max) {
        return -1;
    }
    *value = parsed;
    return 0;
}
