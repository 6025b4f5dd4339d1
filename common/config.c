/* Table-driven settings from YAML, the environment and flags; see config.h.
 *
 * Every source ends in config_set, so a value means the same whether it was
 * typed in a file, exported in a container or passed as a flag, and every
 * error names its source and key.
 */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "common/units.h"

/* Handler kinds a queue mapping may name, in the order the keys are tried. */
static const char *const s_handler_kinds[] = {"builtin", "exec", "plugin",
                                              NULL};

static const config_option_t *
s_find (const config_option_t *options, size_t count, const char *key)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp (options[i].key, key) == 0) {
            return &options[i];
        }
    }
    return NULL;
}

static int
s_fail (char *err, const char *where, const char *key, const char *why)
{
    snprintf (err, CONFIG_ERROR_LEN, "%.200s: %.64s: %.240s", where, key, why);
    return -1;
}

static int
s_set_string (char **target, const char *text)
{
    char *copy = strdup (text);
    if (!copy) {
        return -1;
    }
    free (*target);
    *target = copy;
    return 0;
}

static int
s_parse_bool (const char *text, bool *value)
{
    static const char *const yes[] = {"true", "yes", "on", "1", NULL};
    static const char *const no[] = {"false", "no", "off", "0", NULL};
    for (int i = 0; yes[i]; i++) {
        if (strcasecmp (text, yes[i]) == 0) {
            *value = true;
            return 0;
        }
        if (strcasecmp (text, no[i]) == 0) {
            *value = false;
            return 0;
        }
    }
    return -1;
}

static bool
s_is_choice (const char *const *choices, const char *text)
{
    for (int i = 0; choices && choices[i]; i++) {
        if (strcmp (choices[i], text) == 0) {
            return true;
        }
    }
    return false;
}

/* Appends queue to the list, taking ownership of its strings. */
static int
s_queues_append (config_queues_t *queues, config_queue_t *queue)
{
    if (queues->count == queues->capacity) {
        size_t capacity = queues->capacity ? queues->capacity * 2 : 4;
        config_queue_t *items =
            realloc (queues->items, capacity * sizeof *items);
        if (!items) {
            return -1;
        }
        queues->items = items;
        queues->capacity = capacity;
    }
    queues->items[queues->count++] = *queue;
    return 0;
}

static int
s_set_int (const config_option_t *option, const char *text, const char *where,
           char *err)
{
    char why[96];
    if (number_parse (text, option->min, option->max,
                      (int64_t *) option->target) != 0) {
        snprintf (why, sizeof why,
                  "'%s' is not a whole number from %lld to %lld", text,
                  (long long) option->min, (long long) option->max);
        return s_fail (err, where, option->key, why);
    }
    return 0;
}

static int
s_set_queue (const config_option_t *option, const char *text, const char *where,
             char *err)
{
    config_queue_t queue;
    char why[CONFIG_ERROR_LEN];
    if (config_parse_queue (text, &queue, why) != 0) {
        return s_fail (err, where, option->key, why);
    }
    if (s_queues_append (option->target, &queue) != 0) {
        free (queue.name);
        free (queue.handler);
        return s_fail (err, where, option->key, "out of memory");
    }
    return 0;
}

int
config_set (const config_option_t *options, size_t count, const char *key,
            const char *text, const char *where, char *err)
{
    const config_option_t *option = s_find (options, count, key);
    if (!option) {
        return s_fail (err, where, key, "unknown setting");
    }
    uint64_t *u64 = option->target;
    switch (option->type) {
        case CONFIG_STRING:
            return s_set_string (option->target, text) == 0
                       ? 0
                       : s_fail (err, where, key, "out of memory");
        case CONFIG_INT:
            return s_set_int (option, text, where, err);
        case CONFIG_DURATION:
            return duration_parse (text, u64) == 0
                       ? 0
                       : s_fail (err, where, key,
                                 "not a duration (like 250ms, 30s, 5m)");
        case CONFIG_SIZE:
            return size_parse (text, u64) == 0
                       ? 0
                       : s_fail (err, where, key,
                                 "not a size (like 512, 64k, 1MiB)");
        case CONFIG_BOOL:
            return s_parse_bool (text, option->target) == 0
                       ? 0
                       : s_fail (err, where, key, "not true or false");
        case CONFIG_CHOICE:
            if (!s_is_choice (option->choices, text)) {
                char why[240] = "not one of:";
                for (int i = 0; option->choices && option->choices[i]; i++) {
                    size_t used = strlen (why);
                    snprintf (why + used, sizeof why - used, "%s %s",
                              i ? "," : "", option->choices[i]);
                }
                return s_fail (err, where, key, why);
            }
            return s_set_string (option->target, text);
        case CONFIG_QUEUES:
            return s_set_queue (option, text, where, err);
    }
    return s_fail (err, where, key, "unsupported setting type");
}

int
config_parse_queue (const char *text, config_queue_t *queue, char *err)
{
    memset (queue, 0, sizeof *queue);
    const char *equals = strchr (text, '=');
    size_t name_len = equals ? (size_t) (equals - text) : strlen (text);
    if (name_len == 0) {
        snprintf (err, CONFIG_ERROR_LEN, "'%s': empty queue name", text);
        return -1;
    }
    const char *handler = equals ? equals + 1 : NULL;
    char *spec = NULL;
    if (!handler || !strchr (handler, ':')) {
        /* A bare name ("sha256") or bare builtin ("q=sha256"). */
        const char *builtin = handler ? handler : text;
        size_t len = handler ? strlen (handler) : name_len;
        if (asprintf (&spec, "builtin:%.*s", (int) len, builtin) < 0) {
            spec = NULL;
        }
    } else {
        spec = strdup (handler);
    }
    queue->name = strndup (text, name_len);
    queue->handler = spec;
    if (!queue->name || !queue->handler) {
        free (queue->name);
        free (queue->handler);
        snprintf (err, CONFIG_ERROR_LEN, "out of memory");
        return -1;
    }
    return 0;
}

void
config_queues_clear (config_queues_t *queues)
{
    for (size_t i = 0; i < queues->count; i++) {
        free (queues->items[i].name);
        free (queues->items[i].handler);
    }
    free (queues->items);
    memset (queues, 0, sizeof *queues);
}

void
config_free (const config_option_t *options, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const config_option_t *option = &options[i];
        if (option->type == CONFIG_STRING || option->type == CONFIG_CHOICE) {
            char **target = option->target;
            free (*target);
            *target = NULL;
        } else if (option->type == CONFIG_QUEUES) {
            config_queues_clear (option->target);
        }
    }
}

/* ---- environment ---------------------------------------------------- */

/* Writes "ZJOB_" + key upper-cased with '-' as '_' into name. */
static void
s_env_name (const char *key, char *name, size_t len)
{
    size_t at = (size_t) snprintf (name, len, "ZJOB_");
    for (; *key && at + 1 < len; key++) {
        name[at++] = *key == '-' ? '_' : (char) toupper ((unsigned char) *key);
    }
    name[at] = '\0';
}

/* A queue list from a later source replaces the earlier one's, once per
 * source: clears option's list unless done already in this source
 * (cleared, one flag per option), for every option sharing that list. */
static void
s_replace_queues (const config_option_t *options, size_t count, bool *cleared,
                  const config_option_t *option)
{
    if (option->type != CONFIG_QUEUES || cleared[option - options]) {
        return;
    }
    config_queues_clear (option->target);
    for (size_t i = 0; i < count; i++) {
        cleared[i] |= options[i].target == option->target;
    }
}

/* Appends the ';'-separated NAME[=HANDLER] entries of one variable. */
static int
s_env_queues (const config_option_t *option, const char *value,
              const char *name, char *err)
{
    char *copy = strdup (value);
    char *save = NULL;
    int rc = 0;
    if (!copy) {
        return s_fail (err, name, option->key, "out of memory");
    }
    for (char *entry = strtok_r (copy, ";", &save); entry && rc == 0;
         entry = strtok_r (NULL, ";", &save)) {
        while (isspace ((unsigned char) *entry)) {
            entry++;
        }
        if (*entry) {
            rc = s_set_queue (option, entry, name, err);
        }
    }
    free (copy);
    return rc;
}

int
config_load_env (const config_option_t *options, size_t count, char *err)
{
    char name[128];
    bool *cleared = calloc (count ? count : 1, sizeof *cleared);
    int rc = cleared ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        s_env_name (options[i].key, name, sizeof name);
        const char *value = getenv (name);
        if (!value) {
            continue;
        }
        if (options[i].type == CONFIG_QUEUES) {
            s_replace_queues (options, count, cleared, &options[i]);
            rc = s_env_queues (&options[i], value, name, err);
        } else {
            rc = config_set (options, count, options[i].key, value, name, err);
        }
    }
    if (!cleared) {
        snprintf (err, CONFIG_ERROR_LEN, "out of memory");
    }
    free (cleared);
    return rc;
}

/* ---- YAML file ------------------------------------------------------- */

/* What the YAML walk needs to report errors. */
typedef struct {
    yaml_document_t *doc;           /* the loaded document */
    const char *path;               /* file name for messages */
    const config_option_t *options; /* the program's table */
    size_t count;                   /* entries in options */
    char *err;                      /* error buffer */
} yaml_walk_t;

static void
s_where (const yaml_walk_t *walk, const yaml_node_t *node, char *where,
         size_t len)
{
    snprintf (where, len, "%s:%zu:%zu", walk->path, node->start_mark.line + 1,
              node->start_mark.column + 1);
}

static int
s_node_fail (const yaml_walk_t *walk, const yaml_node_t *node, const char *key,
             const char *why)
{
    char where[300];
    s_where (walk, node, where, sizeof where);
    return s_fail (walk->err, where, key, why);
}

static const char *
s_scalar (const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE
               ? (const char *) node->data.scalar.value
               : NULL;
}

/* Applies one key of a queue mapping to queue; kinds become the handler. */
static int
s_queue_field (const yaml_walk_t *walk, config_queue_t *queue, const char *key,
               const yaml_node_t *value)
{
    const char *text = s_scalar (value);
    if (!text) {
        return s_node_fail (walk, value, key, "must be a single value");
    }
    if (strcmp (key, "name") == 0) {
        return s_set_string (&queue->name, text);
    }
    if (strcmp (key, "concurrency") == 0) {
        return number_parse (text, 0, 1000000, &queue->concurrency) == 0
                   ? 0
                   : s_node_fail (walk, value, key,
                                  "not a whole number from 0 to 1000000");
    }
    if (strcmp (key, "timeout") == 0) {
        return duration_parse (text, &queue->timeout_ms) == 0
                   ? 0
                   : s_node_fail (walk, value, key,
                                  "not a duration (like 250ms, 30s, 5m)");
    }
    for (int i = 0; s_handler_kinds[i]; i++) {
        if (strcmp (key, s_handler_kinds[i]) == 0) {
            if (queue->handler) {
                return s_node_fail (walk, value, key,
                                    "a queue has one of builtin, exec or "
                                    "plugin, not several");
            }
            if (!*text) {
                return s_node_fail (walk, value, key, "must not be empty");
            }
            return asprintf (&queue->handler, "%s:%s", key, text) < 0 ? -1 : 0;
        }
    }
    return s_node_fail (walk, value, key,
                        "unknown queue key (name, builtin, exec, plugin, "
                        "concurrency, timeout)");
}

static int
s_queue_mapping (const yaml_walk_t *walk, const config_option_t *option,
                 yaml_node_t *node)
{
    config_queue_t queue = {0};
    int rc = 0;
    if (node->type != YAML_MAPPING_NODE) {
        return s_node_fail (walk, node, option->key,
                            "each queue must be a mapping with a name");
    }
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         rc == 0 && pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node (walk->doc, pair->key);
        const char *name = s_scalar (key);
        rc = name ? s_queue_field (
                        walk, &queue, name,
                        yaml_document_get_node (walk->doc, pair->value))
                  : s_node_fail (walk, key, option->key, "keys must be text");
    }
    if (rc == 0 && (!queue.name || !*queue.name)) {
        rc = s_node_fail (walk, node, option->key, "queue has no name");
    }
    if (rc == 0 && !queue.handler &&
        asprintf (&queue.handler, "builtin:%s", queue.name) < 0) {
        queue.handler = NULL;
        rc = -1;
    }
    if (rc == 0 && s_queues_append (option->target, &queue) != 0) {
        rc = s_node_fail (walk, node, option->key, "out of memory");
    }
    if (rc != 0) {
        free (queue.name);
        free (queue.handler);
    }
    return rc;
}

static int
s_queue_list (const yaml_walk_t *walk, const config_option_t *option,
              yaml_node_t *node)
{
    if (node->type != YAML_SEQUENCE_NODE) {
        return s_node_fail (walk, node, option->key,
                            "must be a list of queues");
    }
    for (yaml_node_item_t *item = node->data.sequence.items.start;
         item < node->data.sequence.items.top; item++) {
        if (s_queue_mapping (walk, option,
                             yaml_document_get_node (walk->doc, *item)) != 0) {
            return -1;
        }
    }
    return 0;
}

static int
s_top_pair (const yaml_walk_t *walk, yaml_node_pair_t *pair)
{
    yaml_node_t *key = yaml_document_get_node (walk->doc, pair->key);
    yaml_node_t *value = yaml_document_get_node (walk->doc, pair->value);
    const char *name = s_scalar (key);
    char where[300];

    if (!name) {
        return s_node_fail (walk, key, "?", "keys must be text");
    }
    const config_option_t *option = s_find (walk->options, walk->count, name);
    if (!option) {
        return s_node_fail (walk, key, name, "unknown setting");
    }
    if (option->type == CONFIG_QUEUES) {
        return s_queue_list (walk, option, value);
    }
    if (!s_scalar (value)) {
        return s_node_fail (walk, value, name, "must be a single value");
    }
    s_where (walk, value, where, sizeof where);
    return config_set (walk->options, walk->count, name, s_scalar (value),
                       where, walk->err);
}

/* Fails when the key of pair was given earlier in mapping: a setting
 * written twice is a mistake whichever one was meant. */
static int
s_repeated_key (const yaml_walk_t *walk, yaml_node_t *mapping,
                yaml_node_pair_t *pair)
{
    yaml_node_t *key = yaml_document_get_node (walk->doc, pair->key);
    const char *name = s_scalar (key);
    for (yaml_node_pair_t *before = mapping->data.mapping.pairs.start;
         name && before < pair; before++) {
        yaml_node_t *earlier = yaml_document_get_node (walk->doc, before->key);
        const char *other = s_scalar (earlier);
        if (other && strcmp (other, name) == 0) {
            char why[96];
            snprintf (why, sizeof why, "given twice (first on line %zu)",
                      earlier->start_mark.line + 1);
            return s_node_fail (walk, key, name, why);
        }
    }
    return 0;
}

static int
s_walk (yaml_walk_t *walk)
{
    yaml_node_t *root = yaml_document_get_root_node (walk->doc);
    if (!root) {
        return 0; /* an empty file sets nothing */
    }
    if (root->type != YAML_MAPPING_NODE) {
        return s_node_fail (walk, root, "(top level)",
                            "must be a mapping of settings");
    }
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++) {
        if (s_repeated_key (walk, root, pair) != 0 ||
            s_top_pair (walk, pair) != 0) {
            return -1;
        }
    }
    return 0;
}

int
config_load_file (const config_option_t *options, size_t count,
                  const char *path, char *err)
{
    FILE *file = fopen (path, "rb");
    struct stat st;
    if (file && fstat (fileno (file), &st) == 0 && S_ISDIR (st.st_mode)) {
        fclose (file);
        file = NULL;
        errno = EISDIR;
    }
    if (!file) {
        snprintf (err, CONFIG_ERROR_LEN, "%s: %s", path, strerror (errno));
        return -1;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize (&parser);
    yaml_parser_set_input_file (&parser, file);
    int rc = -1;
    if (!yaml_parser_load (&parser, &doc)) {
        snprintf (err, CONFIG_ERROR_LEN, "%s:%zu:%zu: YAML error: %s%s%s", path,
                  parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                  parser.problem ? parser.problem : "unreadable",
                  parser.context ? " " : "",
                  parser.context ? parser.context : "");
    } else {
        yaml_walk_t walk = {&doc, path, options, count, err};
        rc = s_walk (&walk);
        yaml_document_delete (&doc);
    }
    yaml_parser_delete (&parser);
    fclose (file);
    return rc;
}

/* The placeholder for an option's value in the help text. */
static const char *
s_metavar (const config_option_t *option)
{
    switch (option->type) {
        case CONFIG_INT:
            return "N";
        case CONFIG_DURATION:
            return "DUR";
        case CONFIG_SIZE:
            return "SIZE";
        case CONFIG_BOOL:
            return "BOOL";
        case CONFIG_CHOICE:
            return "WORD";
        case CONFIG_QUEUES:
            return "NAME[=HANDLER]";
        default:
            return "TEXT";
    }
}

void
config_print_help (const config_option_t *options, size_t count, void *stream)
{
    int width = 22; /* as the programs' own -c, -h and -V lines */
    char flag[96];
    for (size_t i = 0; i < count; i++) {
        int len = snprintf (flag, sizeof flag, "--%s %s", options[i].key,
                            s_metavar (&options[i]));
        width = len > width ? len : width;
    }
    for (size_t i = 0; i < count; i++) {
        snprintf (flag, sizeof flag, "--%s %s", options[i].key,
                  s_metavar (&options[i]));
        fprintf (stream, "  %-*s %s\n", width, flag,
                 options[i].help ? options[i].help : "");
    }
}

/* ---- command line ----------------------------------------------------- */

/* getopt_long returns OPTION_BASE + index for the table's options. */
#define OPTION_BASE 1000

/* The table's keys as long options, plus config, help and version. Returns
 * a calloc'd array the caller frees, or NULL. */
static struct option *
s_long_options (const config_option_t *options, size_t count)
{
    struct option *longs = calloc (count + 4, sizeof *longs);
    if (!longs) {
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        longs[i] = (struct option){options[i].key, required_argument, NULL,
                                   OPTION_BASE + (int) i};
    }
    longs[count] = (struct option){"config", required_argument, NULL, 'c'};
    longs[count + 1] = (struct option){"help", no_argument, NULL, 'h'};
    longs[count + 2] = (struct option){"version", no_argument, NULL, 'V'};
    return longs;
}

/* Explains what getopt_long refused: the argument at optind - 1. */
static void
s_bad_flag (int opt, char **argv, char *err)
{
    const char *arg = argv[optind - 1];
    if (opt == ':') {
        snprintf (err, CONFIG_ERROR_LEN, "%s needs a value", arg);
    } else if (optopt && optopt < OPTION_BASE) {
        snprintf (err, CONFIG_ERROR_LEN, "unknown option -%c", optopt);
    } else {
        snprintf (err, CONFIG_ERROR_LEN, "unknown option %s", arg);
    }
}

/* First pass: finds the config file, help and version; returns RUN, HELP,
 * VERSION or ERROR (err set). */
static config_args_t
s_scan_args (int argc, char **argv, const struct option *longs,
             const char **path, char *err)
{
    int opt;
    opterr = 0;
    optind = 0;
    while ((opt = getopt_long (argc, argv, ":c:hV", longs, NULL)) != -1) {
        if (opt == 'h' || opt == 'V') {
            return opt == 'h' ? CONFIG_ARGS_HELP : CONFIG_ARGS_VERSION;
        }
        if (opt == '?' || opt == ':') {
            s_bad_flag (opt, argv, err);
            return CONFIG_ARGS_ERROR;
        }
        if (opt == 'c') {
            *path = optarg;
        }
    }
    if (optind < argc) {
        snprintf (err, CONFIG_ERROR_LEN, "unexpected argument '%s'",
                  argv[optind]);
        return CONFIG_ARGS_ERROR;
    }
    return CONFIG_ARGS_RUN;
}

/* Second pass: applies every table flag. Returns 0, or -1 with err set. */
static int
s_apply_flags (const config_option_t *options, size_t count, int argc,
               char **argv, const struct option *longs, char *err)
{
    bool *cleared = calloc (count ? count : 1, sizeof *cleared);
    int opt, rc = cleared ? 0 : -1;
    optind = 0;
    while (rc == 0 &&
           (opt = getopt_long (argc, argv, ":c:hV", longs, NULL)) != -1) {
        if (opt < OPTION_BASE) {
            continue;
        }
        const config_option_t *option = &options[opt - OPTION_BASE];
        s_replace_queues (options, count, cleared, option);
        char where[96];
        snprintf (where, sizeof where, "flag --%s", option->key);
        rc = config_set (options, count, option->key, optarg, where, err);
    }
    free (cleared);
    return rc;
}

config_args_t
config_load_args (const config_option_t *options, size_t count, int argc,
                  char **argv, char *err)
{
    const char *path = NULL;
    struct option *longs = s_long_options (options, count);
    if (!longs) {
        snprintf (err, CONFIG_ERROR_LEN, "out of memory");
        return CONFIG_ARGS_ERROR;
    }
    config_args_t found = s_scan_args (argc, argv, longs, &path, err);
    if (found == CONFIG_ARGS_RUN &&
        ((path && config_load_file (options, count, path, err) != 0) ||
         config_load_env (options, count, err) != 0 ||
         s_apply_flags (options, count, argc, argv, longs, err) != 0)) {
        found = CONFIG_ARGS_ERROR;
    }
    free (longs);
    return found;
}
