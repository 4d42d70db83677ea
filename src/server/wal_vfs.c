/* The WAL-gathering VFS (wal_vfs.h). */
#include "wal_vfs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* A commit that writes more than this is written in pieces of it: the
 * default VFS takes under 128 KiB per write (its seekAndWriteFd masks the
 * length with 0x1ffff); one frame of the largest page (64 KiB) fits. */
#define PENDING_MAX (96u << 10)

/* SQLite's WAL file format: a frame header is 24 bytes and written by one
 * xWrite of exactly that size; its bytes 4..7 are the database size in
 * pages after a commit, non-zero only in a transaction's commit frame. */
#define FRAME_HEADER 24

/* SQLite's WAL header, written at offset 0 when the WAL starts over. */
#define WAL_HEADER 32

typedef struct wfile {
    sqlite3_file base;
    sqlite3_file *real; /* the default VFS's file, right after this struct */
    int is_wal;
    int commit_next;   /* the next write is the commit frame's page */
    sqlite3_int64 hi;  /* the end of what was appended since the WAL began */
    sqlite3_int64 off; /* where the pending bytes go */
    unsigned char *buf;
    size_t n, cap;
} wfile;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs wal_vfs;
static atomic_ulong n_writes, n_flushes, n_overwrites;

static sqlite3_file *R(sqlite3_file *f)
{
    return ((wfile *)f)->real;
}

/* Writes what is pending; on an error it is dropped (the transaction it
 * belonged to fails with that error). */
static int flush(wfile *w)
{
    if (!w->n)
        return SQLITE_OK;
    int rc = w->real->pMethods->xWrite(w->real, w->buf, (int)w->n, w->off);
    atomic_fetch_add(&n_flushes, 1);
    w->n = 0;
    return rc;
}

static int x_close(sqlite3_file *f)
{
    wfile *w = (wfile *)f;
    int rc = flush(w);
    int rc2 = w->real->pMethods->xClose(w->real);
    free(w->buf);
    w->buf = NULL;
    w->cap = 0;
    return rc != SQLITE_OK ? rc : rc2;
}

static int x_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off)
{
    int rc = flush((wfile *)f);
    return rc != SQLITE_OK ? rc : R(f)->pMethods->xRead(R(f), p, amt, off);
}

static int x_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
    wfile *w = (wfile *)f;
    if (!w->is_wal)
        return R(f)->pMethods->xWrite(R(f), p, amt, off);
    atomic_fetch_add(&n_writes, 1);
    size_t k = (size_t)amt;
    if (off == 0 && k == WAL_HEADER)
        w->hi = 0; /* the WAL starts over */
    /* Only appends wait.  A write below what was appended (SQLite
     * rewriting a page it wrote earlier in the same transaction, or the
     * frame headers whose checksums that changed, after the commit
     * frame) goes to the file at once, after what is pending. */
    int append = off >= w->hi;
    if (w->n && (!append || off != w->off + (sqlite3_int64)w->n || w->n + k > PENDING_MAX)) {
        int rc = flush(w);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (!append)
        atomic_fetch_add(&n_overwrites, 1);
    if (!append || k > PENDING_MAX)
        return R(f)->pMethods->xWrite(R(f), p, amt, off);
    w->hi = off + (sqlite3_int64)k;
    if (w->n + k > w->cap) {
        size_t cap = w->cap ? w->cap : 65536;
        while (cap < w->n + k)
            cap *= 2;
        unsigned char *b = realloc(w->buf, cap);
        if (!b) {
            int rc = flush(w);
            w->commit_next = 0;
            return rc != SQLITE_OK ? rc : R(f)->pMethods->xWrite(R(f), p, amt, off);
        }
        w->buf = b;
        w->cap = cap;
    }
    if (!w->n)
        w->off = off;
    memcpy(w->buf + w->n, p, k);
    w->n += k;
    if (w->commit_next) {
        /* The commit frame is whole: to the file before SQLite publishes
         * it in the WAL index. */
        w->commit_next = 0;
        return flush(w);
    }
    if (k == FRAME_HEADER) {
        const unsigned char *h = p;
        w->commit_next = (h[4] | h[5] | h[6] | h[7]) != 0;
    }
    return SQLITE_OK;
}

static int x_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    int rc = flush((wfile *)f);
    return rc != SQLITE_OK ? rc : R(f)->pMethods->xTruncate(R(f), size);
}

static int x_sync(sqlite3_file *f, int flags)
{
    int rc = flush((wfile *)f);
    return rc != SQLITE_OK ? rc : R(f)->pMethods->xSync(R(f), flags);
}

static int x_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    int rc = flush((wfile *)f);
    return rc != SQLITE_OK ? rc : R(f)->pMethods->xFileSize(R(f), size);
}

static int x_lock(sqlite3_file *f, int lock)
{
    int rc = flush((wfile *)f);
    return rc != SQLITE_OK ? rc : R(f)->pMethods->xLock(R(f), lock);
}

static int x_unlock(sqlite3_file *f, int lock)
{
    int rc = flush((wfile *)f);
    return rc != SQLITE_OK ? rc : R(f)->pMethods->xUnlock(R(f), lock);
}

static int x_check_reserved(sqlite3_file *f, int *out)
{
    return R(f)->pMethods->xCheckReservedLock(R(f), out);
}

static int x_file_control(sqlite3_file *f, int op, void *arg)
{
    int rc = flush((wfile *)f);
    return rc != SQLITE_OK ? rc : R(f)->pMethods->xFileControl(R(f), op, arg);
}

static int x_sector_size(sqlite3_file *f)
{
    return R(f)->pMethods->xSectorSize(R(f));
}

static int x_device(sqlite3_file *f)
{
    return R(f)->pMethods->xDeviceCharacteristics(R(f));
}

static int x_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return R(f)->pMethods->xShmMap(R(f), pg, pgsz, extend, pp);
}

static int x_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return R(f)->pMethods->xShmLock(R(f), offset, n, flags);
}

static void x_shm_barrier(sqlite3_file *f)
{
    R(f)->pMethods->xShmBarrier(R(f));
}

static int x_shm_unmap(sqlite3_file *f, int del)
{
    return R(f)->pMethods->xShmUnmap(R(f), del);
}

static int x_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
    int rc = flush((wfile *)f);
    return rc != SQLITE_OK ? rc : R(f)->pMethods->xFetch(R(f), off, amt, pp);
}

static int x_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return R(f)->pMethods->xUnfetch(R(f), off, p);
}

static const sqlite3_io_methods methods = {
    .iVersion = 3,
    .xClose = x_close,
    .xRead = x_read,
    .xWrite = x_write,
    .xTruncate = x_truncate,
    .xSync = x_sync,
    .xFileSize = x_file_size,
    .xLock = x_lock,
    .xUnlock = x_unlock,
    .xCheckReservedLock = x_check_reserved,
    .xFileControl = x_file_control,
    .xSectorSize = x_sector_size,
    .xDeviceCharacteristics = x_device,
    .xShmMap = x_shm_map,
    .xShmLock = x_shm_lock,
    .xShmBarrier = x_shm_barrier,
    .xShmUnmap = x_shm_unmap,
    .xFetch = x_fetch,
    .xUnfetch = x_unfetch,
};

static int x_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                  int *out_flags)
{
    (void)vfs;
    wfile *w = (wfile *)f;
    memset(w, 0, sizeof *w);
    w->real = (sqlite3_file *)(w + 1);
    memset(w->real, 0, (size_t)real_vfs->szOsFile);
    int rc = real_vfs->xOpen(real_vfs, name, w->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (w->real->pMethods)
            w->real->pMethods->xClose(w->real);
        w->base.pMethods = NULL;
        return rc;
    }
    /* The default VFS's files all have version 3 methods (shared memory
     * and memory-mapped reads); a lesser one is not wrapped. */
    if (w->real->pMethods->iVersion < 3) {
        w->real->pMethods->xClose(w->real);
        w->base.pMethods = NULL;
        return SQLITE_CANTOPEN;
    }
    w->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    w->base.pMethods = &methods;
    return SQLITE_OK;
}

static int x_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
    (void)v;
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int x_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int x_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *x_dlopen(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return real_vfs->xDlOpen(real_vfs, name);
}

static void x_dlerror(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    real_vfs->xDlError(real_vfs, n, out);
}

static void (*x_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return real_vfs->xDlSym(real_vfs, h, sym);
}

static void x_dlclose(sqlite3_vfs *v, void *h)
{
    (void)v;
    real_vfs->xDlClose(real_vfs, h);
}

static int x_randomness(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int x_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return real_vfs->xSleep(real_vfs, us);
}

static int x_current_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int x_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs->xGetLastError(real_vfs, n, out);
}

static int x_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int register_rc = SQLITE_ERROR;

static void do_register(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs || real_vfs->iVersion < 2)
        return;
    wal_vfs.iVersion = 2;
    wal_vfs.szOsFile = (int)sizeof(wfile) + real_vfs->szOsFile;
    wal_vfs.mxPathname = real_vfs->mxPathname;
    wal_vfs.zName = SRV_WAL_VFS_NAME;
    wal_vfs.xOpen = x_open;
    wal_vfs.xDelete = x_delete;
    wal_vfs.xAccess = x_access;
    wal_vfs.xFullPathname = x_full_pathname;
    wal_vfs.xDlOpen = x_dlopen;
    wal_vfs.xDlError = x_dlerror;
    wal_vfs.xDlSym = x_dlsym;
    wal_vfs.xDlClose = x_dlclose;
    wal_vfs.xRandomness = x_randomness;
    wal_vfs.xSleep = x_sleep;
    wal_vfs.xCurrentTime = x_current_time;
    wal_vfs.xGetLastError = x_last_error;
    wal_vfs.xCurrentTimeInt64 = x_current_time64;
    register_rc = sqlite3_vfs_register(&wal_vfs, 0);
}

int srv_wal_vfs_register(void)
{
    pthread_once(&once, do_register);
    return register_rc;
}

void srv_wal_vfs_counts(unsigned long *writes, unsigned long *flushes, unsigned long *overwrites)
{
    *writes = atomic_load(&n_writes);
    *flushes = atomic_load(&n_flushes);
    *overwrites = atomic_load(&n_overwrites);
}
