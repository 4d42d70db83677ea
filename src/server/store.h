/*
 * The server's storage interface.  The delivery logic talks only to this
 * table of operations; store_sqlite.c implements it on SQLite, and a
 * PostgreSQL implementation can sit beside it (DESIGN Decision 8).
 *
 * Transactions: the caller opens one batch per event-loop turn
 * (batch_begin .. batch_commit) and wraps each logical change in
 * change_begin .. change_end, so a refused request rolls back only its own
 * writes while the turn's accepted changes become durable together.
 *
 * Every operation returns SRV_OK, SRV_NOT_FOUND, SRV_CONFLICT (a uniqueness
 * or compare-and-set rule refused the change) or SRV_STORE_ERR (the
 * storage failed; the caller answers "internal").  Outputs are written only
 * on SRV_OK.  Rows handed to a callback are valid only during the call.
 */
#ifndef SRV_STORE_H
#define SRV_STORE_H

#include <stdint.h>
#include <stddef.h>

#include "mls/mls.h"

enum { SRV_OK = 0, SRV_NOT_FOUND = 1, SRV_CONFLICT = 2, SRV_STORE_ERR = 3 };
/* A row callback's way to end an iteration early (a page is full): the
 * store stops and returns SRV_OK. */
#define SRV_STOP 4

#define SRV_NAME_MAX 64       /* group names; usernames are shorter */
#define SRV_GROUP_ID_MAX 255
#define SRV_SIG_KEY_MAX 133
#define SRV_MSG_ID_MAX 64     /* client-chosen idempotency key */

enum srv_role { SRV_ROLE_MEMBER = 0, SRV_ROLE_ADMIN = 1 };
enum srv_kind { SRV_KIND_COMMIT = 1, SRV_KIND_MESSAGE = 2, SRV_KIND_PROPOSAL = 3 };

typedef struct srv_user {
    int64_t id;
    char name[SRV_NAME_MAX + 1];
    uint16_t suite;
    uint8_t key[SRV_SIG_KEY_MAX];
    size_t key_len;
} srv_user;

typedef struct srv_group {
    int64_t ref; /* the store's row id */
    char name[SRV_NAME_MAX + 1];
    uint8_t gid[SRV_GROUP_ID_MAX];
    size_t gid_len;
    uint64_t epoch;
    uint64_t last_seq;
    int64_t admin_id;
} srv_group;

typedef struct srv_member {
    int64_t user_id;
    char username[SRV_NAME_MAX + 1];
    enum srv_role role;
    uint64_t joined_seq; /* sees entries with seq > joined_seq */
    int left;            /* 1 when no longer on the roster */
    uint64_t left_seq;   /* and then sees entries up to this seq */
} srv_member;

typedef struct srv_log_entry {
    uint64_t seq;
    uint64_t epoch;
    enum srv_kind kind;
    int64_t sender_id;
    const char *sender; /* the sender's current username */
    int64_t time;
    mls_bytes data;
    const char *meta; /* JSON object text or NULL */
} srv_log_entry;

/* Where an accepted message sits in its group's log. */
typedef struct srv_log_ref {
    uint64_t seq;
    uint64_t epoch; /* the epoch in the message header */
    enum srv_kind kind;
} srv_log_ref;

typedef struct srv_inbox_entry {
    int64_t id;
    const srv_group *group;
    uint64_t seq;
    uint64_t epoch;
    int64_t sender_id;
    const char *sender;
    int64_t time;
    mls_bytes welcome;
    mls_bytes group_info; /* n == 0 when absent */
} srv_inbox_entry;

typedef struct srv_purge_counts {
    int64_t log_entries;
    int64_t key_packages;
    int64_t inbox_entries;
} srv_purge_counts;

/* A recipient's inbox as it stands: entries and the bytes they hold
 * (Welcome plus GroupInfo, counted for each recipient). */
typedef struct srv_inbox_stats {
    int64_t entries;
    int64_t bytes;
} srv_inbox_stats;

/* An invitation the server keeps for a user who cannot be added yet. */
typedef struct srv_pending {
    int64_t group_ref;
    char group[SRV_NAME_MAX + 1];
    char username[SRV_NAME_MAX + 1];
    char inviter[SRV_NAME_MAX + 1]; /* "" if unknown */
    int64_t time;
} srv_pending;

typedef int (*srv_member_cb)(void *ctx, const srv_member *m);
typedef int (*srv_pending_cb)(void *ctx, const srv_pending *p);

/* What another server process over the same database accepted
 * (store_pg.c: LISTEN/NOTIFY), or that such news may have been missed. */
enum srv_notice_kind {
    SRV_NOTICE_LOG = 1,   /* ref, seq: a log entry was committed */
    SRV_NOTICE_INBOX = 2, /* user_id, inbox_id: an inbox entry was committed */
    SRV_NOTICE_RESYNC = 3 /* notices may have been lost: catch up from the log */
};

typedef struct srv_notice {
    enum srv_notice_kind kind;
    int64_t ref;
    uint64_t seq;
    int64_t user_id;
    int64_t inbox_id;
} srv_notice;

typedef int (*srv_member_cb)(void *ctx, const srv_member *m);
typedef void (*srv_notice_cb)(void *ctx, const srv_notice *n);
typedef int (*srv_group_cb)(void *ctx, const srv_group *g, const srv_member *m);
typedef int (*srv_log_cb)(void *ctx, const srv_log_entry *e);
typedef int (*srv_inbox_cb)(void *ctx, const srv_inbox_entry *e);

typedef struct srv_store srv_store;

struct srv_store_ops {
    void (*close)(srv_store *st);

    int (*batch_begin)(srv_store *st);
    int (*batch_commit)(srv_store *st);
    int (*batch_rollback)(srv_store *st);
    /* NULL when batch_commit is durable when it returns (PostgreSQL).
     * Otherwise batch_commit makes a batch atomic and visible to the next
     * one but not yet durable, and sync, called from the database thread
     * (never two at once, and touching nothing batch_begin .. batch_commit
     * use), makes every batch committed before it started durable; a
     * failure is final: health reports it and no batch begins again.
     * With checkpoint = 1 it then also checkpoints the WAL, and no batch
     * may begin until it returned (so that the WAL can start over from
     * its beginning at the next one); checkpoint_due, on the loop, says
     * when that is wanted. */
    int (*sync)(srv_store *st, int checkpoint);
    int (*checkpoint_due)(srv_store *st);
    int (*change_begin)(srv_store *st);
    /* keep = 1 keeps the change in the batch, 0 undoes it. */
    int (*change_end)(srv_store *st, int keep);

    int (*user_create)(srv_store *st, const char *name, uint16_t suite, mls_bytes key,
                       int64_t now, int64_t *id);
    int (*user_by_name)(srv_store *st, const char *name, srv_user *out);
    int (*user_by_id)(srv_store *st, int64_t id, srv_user *out);
    int (*user_by_key)(srv_store *st, mls_bytes key, srv_user *out);
    int (*user_rename)(srv_store *st, int64_t id, const char *name);
    /* Registered renames (docs/PROTOCOL.md §5.1): the user gave up
     * old_name; rename_known is SRV_OK if it did, else SRV_NOT_FOUND. */
    int (*rename_record)(srv_store *st, int64_t id, const char *old_name, int64_t now);
    int (*rename_known)(srv_store *st, int64_t id, const char *old_name);
    /* SRV_OK and *user_id when a user gave up `name` by a rename at or
     * after `since` (the name stays reserved to it), else SRV_NOT_FOUND. */
    int (*rename_reserved)(srv_store *st, const char *name, int64_t since, int64_t *user_id);

    int (*kp_add)(srv_store *st, int64_t user_id, mls_bytes kp, int last_resort,
                  uint64_t not_after, int64_t now);
    /* Drops the user's last-resort KeyPackage (before storing a new one). */
    int (*kp_drop_last_resort)(srv_store *st, int64_t user_id);
    int (*kp_count)(srv_store *st, int64_t user_id, int64_t now, int64_t *count,
                    int *has_last_resort);
    /* Removes and returns the oldest unexpired one-time KeyPackage, or
     * returns (keeping it) the last-resort one; SRV_NOT_FOUND if none. */
    int (*kp_claim)(srv_store *st, int64_t user_id, int64_t now, mls_buf *out,
                    int *last_resort);
    int (*kp_delete_user)(srv_store *st, int64_t user_id);

    int (*group_create)(srv_store *st, const char *name, mls_bytes gid, uint64_t epoch,
                        int64_t admin_id, int64_t now, int64_t *ref);
    int (*group_by_name)(srv_store *st, const char *name, srv_group *out);
    int (*group_by_gid)(srv_store *st, mls_bytes gid, srv_group *out);
    /* Compare-and-set: epoch becomes expected + 1 only if it is expected
     * now; SRV_CONFLICT otherwise.  This is the first-commit-wins rule. */
    int (*group_advance_epoch)(srv_store *st, int64_t ref, uint64_t expected);
    int (*group_set_info)(srv_store *st, int64_t ref, mls_bytes group_info);
    int (*group_get_info)(srv_store *st, int64_t ref, mls_buf *out);
    /* The group's serialized libmls public view (mls_public_group_serialize),
     * replaced with each accepted commit or proposal. */
    int (*group_set_view)(srv_store *st, int64_t ref, mls_bytes view);
    int (*group_get_view)(srv_store *st, int64_t ref, mls_buf *out);
    int (*groups_of_user)(srv_store *st, int64_t user_id, srv_group_cb cb, void *ctx);

    int (*member_get)(srv_store *st, int64_t ref, int64_t user_id, srv_member *out);
    /* Current roster, ordered by user id. */
    int (*member_list)(srv_store *st, int64_t ref, srv_member_cb cb, void *ctx);
    /* Puts the user on the roster (again) with this role. */
    int (*member_add)(srv_store *st, int64_t ref, int64_t user_id, enum srv_role role,
                      uint64_t joined_seq);
    int (*member_remove)(srv_store *st, int64_t ref, int64_t user_id, uint64_t left_seq);

    /* Appends with seq = last_seq + 1 and returns it.  msg_id (n == 0:
     * none) is the sender's idempotency key, unique per (group, sender):
     * SRV_CONFLICT if it is stored already, after which the caller undoes
     * the change (PostgreSQL's store bumped the sequence first; SQLite's
     * writes the row first and changed nothing). */
    int (*log_append)(srv_store *st, int64_t ref, uint64_t epoch, enum srv_kind kind,
                      int64_t sender_id, mls_bytes data, const char *meta, mls_bytes msg_id,
                      int64_t now, uint64_t *seq);
    /* The retained entry the sender stored under msg_id. */
    int (*log_find_msg_id)(srv_store *st, int64_t ref, int64_t sender_id, mls_bytes msg_id,
                           srv_log_ref *out);
    /* The retained commit for epoch if the sender sent exactly data. */
    int (*log_find_commit)(srv_store *st, int64_t ref, uint64_t epoch, int64_t sender_id,
                           mls_bytes data, srv_log_ref *out);
    /* Entries with after < seq <= upto, in order, at most limit. */
    int (*log_fetch)(srv_store *st, int64_t ref, uint64_t after, uint64_t upto, int limit,
                     srv_log_cb cb, void *ctx);
    /* Smallest retained seq (last_seq + 1 when the log is empty). */
    int (*log_first_seq)(srv_store *st, int64_t ref, uint64_t *first);

    /* Stores a Welcome (and the GroupInfo beside it) once; each recipient's
     * inbox entry refers to it, and it goes with the last such entry. */
    int (*welcome_add)(srv_store *st, mls_bytes welcome, mls_bytes group_info, int64_t now,
                       int64_t *welcome_id);
    int (*inbox_add)(srv_store *st, int64_t user_id, int64_t ref, uint64_t seq, uint64_t epoch,
                     int64_t sender_id, int64_t welcome_id, int64_t now, int64_t *id);
    int (*inbox_stats)(srv_store *st, int64_t user_id, srv_inbox_stats *out);
    /* The user's entries with id > after, in order, at most limit. */
    int (*inbox_list)(srv_store *st, int64_t user_id, int64_t after, int limit, srv_inbox_cb cb,
                      void *ctx);
    /* *deleted = 1 if the entry existed and belonged to the user. */
    int (*inbox_ack)(srv_store *st, int64_t user_id, int64_t id, int *deleted);

    /* Deletes log entries created before log_before (0 = none), KeyPackages
     * stored before kp_before (0 = none), KeyPackages expired at now, and
     * inbox entries created before inbox_before (0 = none). */
    int (*purge)(srv_store *st, int64_t log_before, int64_t kp_before, int64_t inbox_before,
                 int64_t now, srv_purge_counts *counts);
    /* Bytes used on disk (database plus WAL), or -1; *wal the WAL's part. */
    int64_t (*size_bytes)(srv_store *st, int64_t *wal);
    /* SRV_OK while the store can be trusted with writes; SRV_STORE_ERR with
     * *why when its file was moved or deleted under it, or its last
     * commit failed.  Checked before every batch. */
    int (*health)(srv_store *st, const char **why);
    /* Copies the WAL into the database and truncates it (outside a batch). */
    int (*checkpoint)(srv_store *st);

    /* Pending invitations (docs/PROTOCOL.md §7.8), one per (group,
     * username); adding one that exists changes nothing. */
    int (*pending_add)(srv_store *st, int64_t ref, const char *username, int64_t inviter_id,
                       int64_t now);
    int (*pending_count)(srv_store *st, int64_t ref, int64_t *count);
    int (*pending_delete)(srv_store *st, int64_t ref, const char *username);
    /* Those of the groups where admin_id is an administrator on the
     * roster, by group and username. */
    int (*pending_for_admin)(srv_store *st, int64_t admin_id, srv_pending_cb cb, void *ctx);
    /* Those naming username, by group. */
    int (*pending_for_user)(srv_store *st, const char *username, srv_pending_cb cb, void *ctx);

    /* Shared stores only (several server processes over one database;
     * NULL in a store only one process uses, such as SQLite): */
    /* The group by its row id, without locking it. */
    int (*group_by_ref)(srv_store *st, int64_t ref, srv_group *out);
    /* Members who may see entries with seq > after: on the roster, or
     * left at a later seq (srv_member.left / left_seq say which). */
    int (*audience)(srv_store *st, int64_t ref, uint64_t after, srv_member_cb cb, void *ctx);
    /* Calls cb for each notice from other processes that arrived since the
     * last call, without blocking (outside a batch); a lost notice
     * connection is re-established and reported as SRV_NOTICE_RESYNC. */
    int (*notices)(srv_store *st, srv_notice_cb cb, void *ctx);
};

struct srv_store {
    const struct srv_store_ops *ops;
};

/* Opens (creating and migrating) a SQLite database in WAL mode; the files
 * it creates (database, WAL, shared memory) are mode 0600, and the WAL is
 * truncated to SRV_WAL_LIMIT bytes after each checkpoint. */
#define SRV_WAL_LIMIT (64 << 20)
int srv_store_sqlite_open(const char *path, srv_store **out);

/* Opens (creating and migrating) a PostgreSQL database named by a libpq
 * connection URI (postgresql://... or postgres://...), shared by any
 * number of server processes (store_pg.c, docs/DEPLOYMENT.md). */
int srv_store_pg_open(const char *uri, srv_store **out);
/* 1 if a --database value names PostgreSQL rather than a SQLite file. */
int srv_store_is_pg_uri(const char *database);

#endif
