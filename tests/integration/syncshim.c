/* Test shim, loaded with LD_PRELOAD into the broker: after every fsync or
 * fdatasync that succeeds on a regular file, appends "SIZE PATH" to the
 * file named by $ZJOB_SYNC_LOG. A test that SIGKILLs the broker can then
 * cut each journal file back to the size last made durable, which is the
 * most a machine crash (power loss) may leave of it, and so check what an
 * acknowledgement was worth under each --fsync mode. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (sync_fn) (int);

/* Appends the size and path of fd to the log, when there is one. */
static void
s_record (int fd)
{
    const char *log = getenv ("ZJOB_SYNC_LOG");
    struct stat st;
    if (!log || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
        return;
    }
    char link[64], path[4096], line[4200];
    snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink (link, path, sizeof path - 1);
    if (n <= 0) {
        return;
    }
    path[n] = '\0';
    int len =
        snprintf (line, sizeof line, "%lld %s\n", (long long) st.st_size, path);
    int out = open (log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (out >= 0) {
        ssize_t rc = write (out, line, (size_t) len); /* one line, atomic */
        (void) rc;
        close (out);
    }
}

/* Calls the real function called name, then records fd on success. */
static int
s_sync (const char *name, sync_fn **real, int fd)
{
    if (!*real) {
        *real = (sync_fn *) dlsym (RTLD_NEXT, name);
    }
    int rc = *real ? (*real) (fd) : -1;
    if (rc == 0) {
        s_record (fd);
    }
    return rc;
}

int
fdatasync (int fd)
{
    static sync_fn *real;
    return s_sync ("fdatasync", &real, fd);
}

int
fsync (int fd)
{
    static sync_fn *real;
    return s_sync ("fsync", &real, fd);
}
