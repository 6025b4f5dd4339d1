/* Leveled, key=value event logging to stderr, shared by every program.
 *
 * One line per event: time, level, a stable event name, then fields.
 * The level is checked before any formatting, so a disabled line costs a
 * comparison. The library (libzjob) never logs.
 */
#ifndef ZJOB_LOG_H
#define ZJOB_LOG_H

#include <stdbool.h>
/* czmq includes <syslog.h>, whose LOG_INFO and LOG_DEBUG priorities clash
 * with the macros below; include it first so ours win wherever log.h is
 * included, and its include guard keeps it from coming back. */
#include <syslog.h>
#undef LOG_DEBUG
#undef LOG_INFO

typedef enum {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARN = 2,
    LOG_LEVEL_ERROR = 3,
    LOG_LEVEL_OFF = 4
} log_level_t;

/* The level below which lines are dropped; LOG_LEVEL_INFO by default. */
extern log_level_t log_threshold;

/* Sets the threshold from a name ("debug", "info", "warn", "error", "off").
 * Returns 0, or -1 when the name is not one of those. */
int log_set_level (const char *name);

/* Sets the program name printed on every line ("broker", "worker"). */
void log_set_program (const char *program);

/* Writes one line: event is a stable identifier, fmt the key=value fields.
 * Prefer the LOG_* macros, which skip the call when the level is off. */
void log_write (log_level_t level, const char *event, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#define LOG_AT(level, event, ...)                                              \
    do {                                                                       \
        if ((level) >= log_threshold) {                                        \
            log_write ((level), (event), __VA_ARGS__);                         \
        }                                                                      \
    } while (0)

#define LOG_DEBUG(event, ...) LOG_AT (LOG_LEVEL_DEBUG, event, __VA_ARGS__)
#define LOG_INFO(event, ...)  LOG_AT (LOG_LEVEL_INFO, event, __VA_ARGS__)
#define LOG_WARN(event, ...)  LOG_AT (LOG_LEVEL_WARN, event, __VA_ARGS__)
#define LOG_ERROR(event, ...) LOG_AT (LOG_LEVEL_ERROR, event, __VA_ARGS__)

#endif
