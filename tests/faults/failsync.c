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

static int failing(void)
{
    const char *flag = getenv("FAILSYNC_FLAG");
    return flag && access(flag, F_OK) == 0;
}

int fdatasync(int fd)
{
    if (failing()) {
        errno = EIO;
        return -1;
    }
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real ? real(fd) : (errno = ENOSYS, -1);
}

int fsync(int fd)
{
    if (failing()) {
        errno = EIO;
        return -1;
    }
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return real ? real(fd) : (errno = ENOSYS, -1);
}
