/* Leveled key=value logging to stderr; see log.h. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

log_level_t log_threshold = LOG_LEVEL_INFO;

static const char *s_program = "zjob";

static const char *const s_level_names[] = {"debug", "info", "warn", "error",
                                            "off"};

int
log_set_level (const char *name)
{
    for (int level = LOG_LEVEL_DEBUG; level <= LOG_LEVEL_OFF; level++) {
        if (strcmp (name, s_level_names[level]) == 0) {
            log_threshold = (log_level_t) level;
            return 0;
        }
    }
    return -1;
}

void
log_set_program (const char *program)
{
    s_program = program;
}

void
log_write (log_level_t level, const char *event, const char *fmt, ...)
{
    struct timespec now;
    struct tm utc;
    char stamp[32];

    clock_gettime (CLOCK_REALTIME, &now);
    gmtime_r (&now.tv_sec, &utc);
    strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);

    /* One fprintf-style burst under the stdio lock keeps lines whole when
     * several threads log at once. */
    flockfile (stderr);
    fprintf (stderr, "%s.%03ldZ %s %s event=%s ", stamp, now.tv_nsec / 1000000,
             s_level_names[level], s_program, event);
    va_list args;
    va_start (args, fmt);
    vfprintf (stderr, fmt, args);
    va_end (args);
    fputc ('\n', stderr);
    funlockfile (stderr);
}
