/* A program outside the tree that uses the installed libzjob: it submits
 * one sha256 job, waits for it and prints the digest. test_install.sh
 * builds it with the flags `pkg-config zjob` gives. */
#include <stdio.h>
#include <string.h>
#include <zjob/zjob.h>

static void
s_print (const zjob_info_t *info, void *arg)
{
    int *failed = arg;
    if (info->state == ZJOB_STATE_SUCCEEDED) {
        printf ("%.*s\n", (int) info->result_len, (const char *) info->result);
    } else {
        *failed = 1;
        fprintf (stderr, "job %llu: %s\n", (unsigned long long) info->id,
                 zjob_state_name (info->state));
    }
}

int
main (int argc, char **argv)
{
    if (argc != 3) {
        fprintf (stderr, "usage: install_example ENDPOINT TEXT\n");
        return 2;
    }
    zjob_client_t *client = zjob_client_new (argv[1]);
    zjob_spec_t spec = {
        .queue = "sha256", .payload = argv[2], .payload_len = strlen (argv[2])};
    uint64_t id = 0;
    int failed = 0;
    zjob_err_t err =
        client ? zjob_submit (client, &spec, 1, &id, NULL) : ZJOB_EINVAL;
    if (err == ZJOB_OK) {
        err = zjob_wait (client, &id, 1, 10000, s_print, &failed);
    }
    if (err != ZJOB_OK) {
        fprintf (stderr, "install_example: %s\n", zjob_strerror (err));
    }
    zjob_client_destroy (&client);
    return err != ZJOB_OK || failed;
}
