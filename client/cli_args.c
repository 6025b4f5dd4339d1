/* Argument helpers of the zjob command line; see cli_args.h. */
#include "client/cli_args.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Finds the flag named by a long name of name_len bytes. */
static const client_flag_t *
s_find_long (const client_flag_t *flags, const char *name, size_t name_len)
{
    for (; flags->name; flags++) {
        if (strlen (flags->name) == name_len &&
            strncmp (flags->name, name, name_len) == 0) {
            return flags;
        }
    }
    return NULL;
}

static const client_flag_t *
s_find_short (const client_flag_t *flags, char letter)
{
    for (; flags->name; flags++) {
        if (flags->letter && flags->letter == letter) {
            return flags;
        }
    }
    return NULL;
}

/* Reads the value of flag, inline ("--x=V") or from the next argument. */
static int
s_flag_value (client_args_t *args, const client_flag_t *flag,
              const char *inline_value, const char **value, char *err,
              size_t err_len)
{
    if (!flag->takes_value) {
        if (inline_value) {
            snprintf (err, err_len, "--%s takes no value", flag->name);
            return CLIENT_ARG_ERROR;
        }
        *value = NULL;
        return flag->id;
    }
    if (inline_value) {
        *value = inline_value;
        return flag->id;
    }
    if (args->index >= args->argc) {
        snprintf (err, err_len, "--%s needs a value", flag->name);
        return CLIENT_ARG_ERROR;
    }
    *value = args->argv[args->index++];
    return flag->id;
}

int
client_args_next (client_args_t *args, const client_flag_t *flags,
                  const char **value, char *err, size_t err_len)
{
    *value = NULL;
    if (args->index >= args->argc) {
        return CLIENT_ARG_END;
    }
    const char *arg = args->argv[args->index++];
    if (!args->only_operands && strcmp (arg, "--") == 0) {
        args->only_operands = true;
        return client_args_next (args, flags, value, err, err_len);
    }
    if (args->only_operands || arg[0] != '-' || arg[1] == '\0') {
        *value = arg;
        return CLIENT_ARG_OPERAND;
    }
    const client_flag_t *flag = NULL;
    const char *inline_value = NULL;
    if (arg[1] == '-') {
        const char *eq = strchr (arg + 2, '=');
        size_t len = eq ? (size_t) (eq - arg - 2) : strlen (arg + 2);
        flag = s_find_long (flags, arg + 2, len);
        inline_value = eq ? eq + 1 : NULL;
    } else if (arg[2] == '\0') {
        flag = s_find_short (flags, arg[1]);
    }
    if (!flag) {
        snprintf (err, err_len, "unknown option '%s'", arg);
        return CLIENT_ARG_ERROR;
    }
    return s_flag_value (args, flag, inline_value, value, err, err_len);
}

int
client_parse_id (const char *text, uint64_t *id)
{
    if (!*text || strlen (text) > 20) {
        return -1;
    }
    for (const char *p = text; *p; p++) {
        if (!isdigit ((unsigned char) *p)) {
            return -1;
        }
    }
    errno = 0;
    unsigned long long parsed = strtoull (text, NULL, 10);
    if (errno == ERANGE || parsed == 0) {
        return -1;
    }
    *id = (uint64_t) parsed;
    return 0;
}

int
client_exit_code (zjob_err_t err)
{
    switch (err) {
        case ZJOB_OK:
            return CLI_EXIT_OK;
        case ZJOB_EINVAL:
            return CLI_EXIT_USAGE;
        case ZJOB_EUNREACHABLE:
        case ZJOB_ETIMEDOUT:
        case ZJOB_EVERSION:
        case ZJOB_EPROTO:
        case ZJOB_EBUSY:
            return CLI_EXIT_UNREACHABLE;
        default:
            return CLI_EXIT_JOB;
    }
}

size_t
client_trim_newline (const void *data, size_t len)
{
    if (len > 0 && ((const char *) data)[len - 1] == '\n') {
        return len - 1;
    }
    return len;
}

const char *
client_flag_name (const client_flag_t *flags, int id)
{
    for (; flags->name; flags++) {
        if (flags->id == id) {
            return flags->name;
        }
    }
    return "?";
}
