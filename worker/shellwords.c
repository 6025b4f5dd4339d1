/* Shell-like word splitting with quotes and escapes but no expansion. */
#include "worker/shellwords.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The word being built and the list of finished words. */
typedef struct {
    char **words; /* NULL-terminated once done */
    size_t count; /* finished words */
    char *word;   /* current word; text-sized buffer */
    size_t len;   /* bytes in word */
    bool in_word; /* a word has started (even if empty: "") */
} s_split_t;

static int
s_finish_word (s_split_t *split)
{
    if (!split->in_word) {
        return 0;
    }
    char **words = realloc (split->words, (split->count + 2) * sizeof *words);
    if (!words) {
        return -1;
    }
    split->words = words;
    words[split->count] = strndup (split->word, split->len);
    if (!words[split->count]) {
        return -1;
    }
    words[++split->count] = NULL;
    split->len = 0;
    split->in_word = false;
    return 0;
}

static void
s_put (s_split_t *split, char c)
{
    split->word[split->len++] = c;
    split->in_word = true;
}

/* Copies a single-quoted run starting after the quote. Returns the
 * position after the closing quote, or NULL if there is none. */
static const char *
s_single (s_split_t *split, const char *at)
{
    split->in_word = true;
    for (; *at && *at != '\''; at++) {
        s_put (split, *at);
    }
    return *at ? at + 1 : NULL;
}

/* Copies a double-quoted run starting after the quote. */
static const char *
s_double (s_split_t *split, const char *at)
{
    split->in_word = true;
    for (; *at && *at != '"'; at++) {
        if (*at == '\\' && at[1] && strchr ("$`\"\\\n", at[1])) {
            at++;
            if (*at == '\n') {
                continue;
            }
        }
        s_put (split, *at);
    }
    return *at ? at + 1 : NULL;
}

/* Handles one character outside quotes; returns the next position, or
 * NULL with err set. */
static const char *
s_step (s_split_t *split, const char *at, char *err, size_t err_len)
{
    const char *next = at + 1;
    if (*at == '\'' || *at == '"') {
        next = *at == '\'' ? s_single (split, next) : s_double (split, next);
        if (!next) {
            snprintf (err, err_len, "unclosed %s quote",
                      *at == '\'' ? "single" : "double");
        }
    } else if (*at == '\\') {
        if (!at[1]) {
            snprintf (err, err_len, "trailing backslash");
            return NULL;
        }
        if (at[1] != '\n') {
            s_put (split, at[1]);
        }
        next = at + 2;
    } else if (strchr (" \t\n", *at)) {
        if (s_finish_word (split) != 0) {
            snprintf (err, err_len, "out of memory");
            return NULL;
        }
    } else {
        s_put (split, *at);
    }
    return next;
}

int
shellwords_split (const char *text, char ***argv, size_t *argc, char *err,
                  size_t err_len)
{
    s_split_t split = {0};
    split.word = malloc (strlen (text) + 1);
    split.words = calloc (1, sizeof *split.words);
    const char *at = text;
    if (!split.word || !split.words) {
        snprintf (err, err_len, "out of memory");
        at = NULL;
    }
    while (at && *at) {
        at = s_step (&split, at, err, err_len);
    }
    if (at && s_finish_word (&split) != 0) {
        snprintf (err, err_len, "out of memory");
        at = NULL;
    }
    free (split.word);
    if (!at) {
        shellwords_free (&split.words);
        return -1;
    }
    *argv = split.words;
    *argc = split.count;
    return 0;
}

void
shellwords_free (char ***argv)
{
    if (!argv || !*argv) {
        return;
    }
    for (char **word = *argv; *word; word++) {
        free (*word);
    }
    free (*argv);
    *argv = NULL;
}
