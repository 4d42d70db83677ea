/*
 * LD_PRELOAD shim for the fault suite's sync_fails case
 * (tests/faults/faults.py): fdatasync() and fsync() fail with EIO while
 * the file named by $FAILSYNC_FLAG exists, as on a disk that stopped
 * writing, and behave normally otherwise.  The server then has to refuse
 * what it cannot make durable and stop taking writes (store.h "sync").
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* The real function `name` on fd, or EIO while the flag file exists. */
static int sync_or_fail(const char *name, int fd)
{
    const char *flag = getenv("FAILSYNC_FLAG");
    if (flag && access(flag, F_OK) == 0) {
        errno = EIO;
        return -1;
    }
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, name);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    return real(fd);
}

int fdatasync(int fd)
{
    return sync_or_fail("fdatasync", fd);
}

int fsync(int fd)
{
    return sync_or_fail("fsync", fd);
}
