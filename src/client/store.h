/*
 * The client's local store: one SQLite database per (username, server) in
 * the config directory, holding the user's identity (signature key pair),
 * KeyPackage private bundles, each joined group (serialized MLS state and
 * log cursor, saved together), message history and the outbox of typed
 * messages not yet accepted by the server.
 *
 * The session layer groups several writes into one transaction with
 * cli_store_begin / cli_store_commit so that the MLS state, the cursor and
 * the history row of one log entry land together or not at all (DESIGN
 * Decision 4).  Functions return 0 on success, -1 on a database error
 * (logged) and, where documented, 1 for "not found".
 *
 * The fields that hold secret key material (the signature private key,
 * KeyPackage private bundles, group states and pending states) are
 * sealed with the data key (seal.h), each bound to its row; the callers
 * see clear values.  A field that does not open (altered, moved from
 * another row, or sealed under another key) makes the read return
 * CLI_STORE_TAMPERED.
 */
#ifndef CLI_STORE_H
#define CLI_STORE_H

#include <stdint.h>

#include "mls/mls.h"

struct cli_store;
struct cli_seal_key;

#define CLI_STORE_TAMPERED (-2)

/* Opens (creating with mode 0600) the database at path, sealing with key
 * (copied).  An exclusive lock on path + ".lock" keeps a second client
 * for the same user and server from running on the same files; *locked
 * is set to 1 when that is why opening failed.  A database of an older
 * client, with secrets in clear, is sealed in place in one transaction. */
int cli_store_open(const char *path, const struct cli_seal_key *key, struct cli_store **out,
                   int *locked);
void cli_store_close(struct cli_store *st);

int cli_store_begin(struct cli_store *st);
int cli_store_commit(struct cli_store *st);
void cli_store_rollback(struct cli_store *st);

/* ---- identity */
struct cli_identity {
    char username[33];
    uint16_t suite;
    mls_buf sig_sk; /* secret */
    mls_buf sig_pk;
    int registered;  /* the server accepted `register` with this key */
};
void cli_identity_clear(struct cli_identity *id);
/* 1 if there is no identity yet; CLI_STORE_TAMPERED. */
int cli_store_identity_load(struct cli_store *st, struct cli_identity *id);
int cli_store_identity_save(struct cli_store *st, const struct cli_identity *id);

/* ---- KeyPackage private bundles, keyed by KeyPackageRef */
int cli_store_kp_add(struct cli_store *st, mls_bytes ref, mls_bytes bundle, int last_resort);
/* 1 if not found; CLI_STORE_TAMPERED. */
int cli_store_kp_get(struct cli_store *st, mls_bytes ref, mls_buf *bundle, int *last_resort);
int cli_store_kp_delete(struct cli_store *st, mls_bytes ref);
/* Deletes last-resort bundles other than keep (after a new one is
 * uploaded the server forgets the old one). */
int cli_store_kp_delete_old_last_resort(struct cli_store *st, mls_bytes keep);

/* ---- groups */
/* BROKEN: out of sync (a commit it cannot process, state lost or
 * unreadable): the client rejoins by an external commit.  REFUSED: a
 * member broke the chat's rules (a change only administrators may make);
 * the client stops following the group and does not rejoin it. */
enum cli_group_status {
    CLI_GROUP_JOINED = 1,
    CLI_GROUP_REMOVED = 2,
    CLI_GROUP_BROKEN = 3,
    CLI_GROUP_REFUSED = 4
};
/* Whether the user wants the group (README "Invitations"): a Welcome to a
 * group the user did not ask for makes an MLS member whose group is
 * INVITED (followed, nothing shown) until /join (ACCEPTED) or /decline
 * (DECLINED: leaving, then forgotten). */
enum cli_consent { CLI_CONSENT_ACCEPTED = 0, CLI_CONSENT_INVITED = 1, CLI_CONSENT_DECLINED = 2 };
struct cli_group_rec {
    char name[65];
    mls_buf group_id;
    mls_buf state;          /* serialized MLS group state (secret) */
    int64_t cursor;         /* last processed log seq */
    int status;             /* enum cli_group_status */
    int64_t unread;
    int64_t joined_at;      /* order of joining, for Alt+N */
    mls_buf pending_commit; /* our commit in flight (empty if none) */
    mls_buf pending_state;  /* our state after that commit merges */
    int consent;            /* enum cli_consent */
    char inviter[33];       /* who invited us (INVITED, DECLINED) */
    int64_t invited_at;     /* when the invitation was taken (wall clock seconds) */
};
void cli_group_rec_clear(struct cli_group_rec *g);
/* Inserts or replaces the row. */
int cli_store_group_put(struct cli_store *st, const struct cli_group_rec *g);
int cli_store_group_delete(struct cli_store *st, const char *name);
int cli_store_group_set_unread(struct cli_store *st, const char *name, int64_t unread);
typedef void (*cli_store_group_cb)(void *ctx, struct cli_group_rec *g);
/* Calls cb for every group in joining order; cb takes ownership of *g's
 * buffers (it may move them out, the store clears what is left).
 * CLI_STORE_TAMPERED (and no more calls) at a state that does not open. */
int cli_store_group_each(struct cli_store *st, cli_store_group_cb cb, void *ctx);

/* ---- history */
/* seq < 0 for a system line; sender NULL for a system line.  Returns 1
 * when a message with this (group, seq) is already there (nothing
 * written), 0 when inserted. */
int cli_store_history_add(struct cli_store *st, const char *group, int64_t seq, int64_t time,
                          const char *sender, const char *text);
typedef void (*cli_store_history_cb)(void *ctx, int64_t seq, int64_t time, const char *sender,
                                     const char *text);
/* Forgets a group's history (a declined invitation). */
int cli_store_history_delete(struct cli_store *st, const char *group);
/* The last `limit` lines of a group, oldest first. */
int cli_store_history_recent(struct cli_store *st, const char *group, int limit,
                             cli_store_history_cb cb, void *ctx);

/* A page of a group's history by row id, oldest first, for scrolling
 * back over all of it: older 1, the `limit` lines just before row `id`;
 * older 0, the `limit` lines just after row `id` and before row `bound`.
 * cb gets each row's id.  The count, or -1. */
typedef void (*cli_store_page_cb)(void *ctx, int64_t id, int64_t time, const char *sender,
                                  const char *text);
int cli_store_history_page(struct cli_store *st, const char *group, int older, int64_t id,
                           int64_t bound, int limit, cli_store_page_cb cb, void *ctx);

/* The last `limit` messages of a group whose text contains `text`
 * (ASCII letters in any case), oldest first. */
int cli_store_history_search(struct cli_store *st, const char *group, const char *text,
                             int limit, cli_store_history_cb cb, void *ctx);

/* ---- outbox */
/* msg_id names the entry for its whole life (PROTOCOL.md §7.7). */
int cli_store_outbox_add(struct cli_store *st, const char *group, const char *text,
                         mls_bytes msg_id, int64_t *id);
/* The entry's msg_id: 0, 1 if it has none (made by an older version) or
 * is gone, -1 on error. */
int cli_store_outbox_msg_id(struct cli_store *st, int64_t id, mls_buf *msg_id);
int cli_store_outbox_set_msg_id(struct cli_store *st, int64_t id, mls_bytes msg_id);
/* The entry of group with msg_id: 0 (*text malloc'd), 1 if none, -1. */
int cli_store_outbox_find(struct cli_store *st, const char *group, mls_bytes msg_id,
                          int64_t *id, char **text);
/* Records the ciphertext last sent for the entry (empty: not sent). */
int cli_store_outbox_set_ct(struct cli_store *st, int64_t id, mls_bytes ct);
int cli_store_outbox_delete(struct cli_store *st, int64_t id);
typedef void (*cli_store_outbox_cb)(void *ctx, int64_t id, const char *group, const char *text,
                                    mls_bytes ct);
/* All entries in typing order. */
int cli_store_outbox_each(struct cli_store *st, cli_store_outbox_cb cb, void *ctx);

/* ---- directory cache: the signature key the server's directory gave */
int cli_store_dir_put(struct cli_store *st, const char *username, mls_bytes key);
/* 1 if not cached. */
int cli_store_dir_get(struct cli_store *st, const char *username, mls_buf *key);

/* ---- pins: each user's signature key as first seen (trust on first
 * use); a different key seen later is kept apart as "offered" until the
 * user accepts it (/verify user accept). */
struct cli_pin {
    mls_buf key;
    int64_t pinned_at;
    char source[96];  /* where it was first seen */
    int verified;     /* /verify user ok */
    mls_buf offered;  /* a different key seen since (empty: none) */
    int64_t offered_at;
    char offered_source[96];
};
void cli_pin_clear(struct cli_pin *p);
/* 1 if nothing is pinned for username. */
int cli_store_pin_get(struct cli_store *st, const char *username, struct cli_pin *p);
/* Pins key unless username has a pin already (then 1, nothing written). */
int cli_store_pin_add(struct cli_store *st, const char *username, mls_bytes key,
                      const char *source, int64_t time);
/* Records key as offered for username (a pin other than key must exist;
 * the pin itself is not touched). */
int cli_store_pin_offer(struct cli_store *st, const char *username, mls_bytes key,
                        const char *source, int64_t time);
/* Pins the offered key instead (not verified); 1 if none was offered. */
int cli_store_pin_accept(struct cli_store *st, const char *username, int64_t time);
/* 1 if nothing is pinned for username. */
int cli_store_pin_set_verified(struct cli_store *st, const char *username, int verified);
/* Moves from's pin to the name to (an authenticated rename); 1 if from
 * has no pin or to has one already. */
int cli_store_pin_rename(struct cli_store *st, const char *from, const char *to);

#endif
