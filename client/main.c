/* zjob: the command line client of the zjob job cluster. */
#include <stdio.h>
#include <string.h>

#include "client/cli_args.h"
#include "client/cli_commands.h"

static void
s_help (FILE *stream)
{
    fprintf (stream,
             "usage: zjob [-b EP] COMMAND [ARGS...]\n"
             "       zjob --help | --version\n\n"
             "Options:\n"
             "  -b, --broker EP  broker endpoint (default $ZJOB_BROKER, "
             "else %s)\n"
             "  -h, --help       this help; COMMAND --help for a command's\n"
             "  -V, --version    print the version\n\n"
             "Commands:\n",
             ZJOB_DEFAULT_ENDPOINT);
    for (const client_command_t *command = client_commands; command->name;
         command++) {
        fprintf (stream, "  %-8s %s\n", command->name, command->summary);
    }
    fprintf (stream,
             "\nDurations read like 250ms, 30s, 5m.\n"
             "A broker that goes silent after answering (a restart) is "
             "waited for up to\n$ZJOB_DOWN_TIMEOUT (default 60s); "
             "requests and waits are then sent again.\nwait, map and "
             "submit --wait also wait that long for a broker that has not\n"
             "answered yet; the other commands give it 3s.\n\n"
             "Exit codes:\n"
             "  0  success\n"
             "  1  a job failed (failed, cancelled, timed_out, dead), was\n"
             "     refused, is unknown or is not finished\n"
             "  2  usage or configuration error\n"
             "  3  broker unreachable, timed out, or busy (try later)\n");
}

/* Reads the global options before the command; returns the index of the
 * command, or -1 after printing help/version/usage (exit code in *code). */
static int
s_globals (int argc, char **argv, const char **endpoint, int *code)
{
    static const client_flag_t flags[] = {{"broker", 'b', true, 1},
                                          {"help", 'h', false, 2},
                                          {"version", 'V', false, 3},
                                          {NULL, 0, false, 0}};
    client_args_t scan = {.argc = argc, .argv = argv, .index = 1};
    const char *value;
    char err[128];
    while (true) {
        int at = scan.index;
        int id = client_args_next (&scan, flags, &value, err, sizeof err);
        if (id == 1) {
            *endpoint = value;
            continue;
        }
        *code = id == 2 || id == 3 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        if (id == 2) {
            s_help (stdout);
        } else if (id == 3) {
            printf ("zjob %s\n", ZJOB_VERSION);
        } else if (id == CLIENT_ARG_OPERAND) {
            return at;
        } else {
            fprintf (stderr, "zjob: %s\n",
                     id == CLIENT_ARG_END ? "missing COMMAND" : err);
            s_help (stderr);
        }
        return -1;
    }
}

int
main (int argc, char **argv)
{
    const char *endpoint = NULL;
    int code = CLI_EXIT_USAGE;
    int at = s_globals (argc, argv, &endpoint, &code);
    if (at < 0) {
        return code;
    }
    const client_command_t *command = client_command_find (argv[at]);
    if (!command) {
        fprintf (stderr, "zjob: unknown command '%s' (see zjob --help)\n",
                 argv[at]);
        return CLI_EXIT_USAGE;
    }
    return command->run (endpoint, argc - at, argv + at);
}
