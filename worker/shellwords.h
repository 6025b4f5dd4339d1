/* Splitting a command line into words like a POSIX shell, without any
 * expansion: the exec handler's argv. */
#ifndef ZJOB_WORKER_SHELLWORDS_H
#define ZJOB_WORKER_SHELLWORDS_H

#include <stddef.h>

/* Splits text into words. Whitespace separates words; single quotes keep
 * everything literally; double quotes keep everything but let a backslash
 * escape $ ` " \ and newline; outside quotes a backslash escapes any
 * character (and a backslash-newline is dropped). No variables, globs or
 * tildes are expanded. On success returns 0 and sets *argv to a
 * NULL-terminated array (free with shellwords_free) and *argc to the word
 * count. Returns -1 with a reason in err (err_len bytes) for an unclosed
 * quote, a trailing backslash or no memory. */
int shellwords_split (const char *text, char ***argv, size_t *argc, char *err,
                      size_t err_len);

/* Frees an array from shellwords_split and nulls the pointer. */
void shellwords_free (char ***argv);

#endif
