/*
 * A SQLite VFS over the default one that gathers a commit's writes to
 * the WAL into one write.  SQLite writes each WAL frame as two pwrite
 * calls (its 24-byte header, then the page), so a batch of 25 messages
 * cost the event loop about 150 system calls; here the frames of one
 * transaction collect in a buffer and go to the file in one pwrite (or
 * a few, under 96 KiB each) when the commit frame's page has been added
 * (the frame whose header carries a non-zero database size: SQLite's WAL
 * file format, sqlite.org/fileformat2.html#walformat), before SQLite
 * publishes the commit in the WAL index.  Only appends wait: SQLite
 * rewriting, in a long transaction, a page it already put in the WAL,
 * and then the frame headers whose checksums that changed, writes below
 * the end, and those go to the file at once.  Every
 * other operation on the WAL (a read, a sync, a truncation, its size,
 * a lock, closing it) first writes what is pending, so SQLite, the
 * checkpointer and other processes (`sqlite3 .backup`) never see a
 * published frame that is not in the file.  An error writing the buffer
 * is the error of the xWrite that completed the commit, so the COMMIT
 * fails as it would have without the buffer.
 *
 * Only the loop's connection uses it (store_sqlite.c); the checkpoint
 * connection on the database thread opens the database with the default
 * VFS.
 */
#ifndef SRV_WAL_VFS_H
#define SRV_WAL_VFS_H

#define SRV_WAL_VFS_NAME "mlschat-wal"

/* Registers the VFS (once per process; thread-safe).  SQLITE_OK or an
 * SQLite error code. */
int srv_wal_vfs_register(void);

/* Counters since the process started, for tests: xWrite calls on WAL
 * files, the gathered writes that reached the file, and the writes below
 * what was appended that went to it at once. */
void srv_wal_vfs_counts(unsigned long *writes, unsigned long *flushes, unsigned long *overwrites);

#endif
