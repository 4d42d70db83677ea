/*
 * The outbox: typed messages, kept in the store until the server's log
 * has them, sent so that a group's log holds them in the order typed
 * whatever the server refuses for a while (issue 11).
 *
 *   - at most one group.send per group is out at a time; the next leaves
 *     when the server has answered;
 *   - a message is encrypted once and its ciphertext saved with the
 *     ratchet state before it is sent; after a temporary refusal
 *     (rate_limited, internal) the same ciphertext goes again, after the
 *     retry_after the server gives or a doubling backoff, before anything
 *     typed after it;
 *   - after wrong_epoch (a commit came first) it is encrypted again once
 *     the log is read;
 *   - every entry has a msg_id (16 random bytes) for its whole life,
 *     sent with group.send and carried in the message's
 *     authenticated_data: a late copy of an earlier encryption is
 *     answered as a duplicate, and whichever copy the log holds is
 *     known as ours;
 *   - only a permanent refusal drops an entry, and says so;
 *   - the entries the server accepted are remembered (the window) until
 *     the log is read past them, so they are not sent twice.
 */
#ifndef CLI_OUTBOX_H
#define CLI_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "mls/mls.h"
#include "net.h"
#include "store.h"

/* Accepted messages not yet read back from the log, at most. */
#define CLI_OUTBOX_WINDOW 64

struct cli_outbox {
    int busy;   /* a group.send is out */
    int wait;   /* waiting for timer after a temporary refusal */
    uint64_t backoff_ms;
    struct cli_timer timer;
    /* Entries the server accepted at log seq, until the cursor passes seq
     * (then the entry was read back and deleted, and the store may reuse
     * its id). */
    struct {
        int64_t id, seq;
    } acked[CLI_OUTBOX_WINDOW];
    size_t n_acked;
};

/* ---- the window (pure) */
/* Records that entry id was accepted at seq; 0, or -1 when the window is
 * full or seq is not ahead of cursor (already read back). */
int cli_outbox_accepted(struct cli_outbox *o, int64_t id, int64_t seq, int64_t cursor);
/* 1 if id was accepted and not read back at this cursor. */
int cli_outbox_is_accepted(const struct cli_outbox *o, int64_t id, int64_t cursor);
/* Forgets the accepted entries the cursor has passed. */
void cli_outbox_prune(struct cli_outbox *o, int64_t cursor);
/* 1 when no more may be sent until the log is read. */
int cli_outbox_full(const struct cli_outbox *o);
/* The wait after a temporary refusal: retry_after seconds when given,
 * else 250 ms doubling up to 30 s. */
uint64_t cli_outbox_retry_ms(struct cli_outbox *o, int64_t retry_after);

/* ---- the next entry of a group (store) */
struct cli_outbox_next {
    int64_t id;   /* -1: none */
    char *text;   /* malloc'd */
    mls_buf ct;   /* the saved ciphertext, empty if not encrypted yet */
    mls_buf msg_id; /* its name for the server (§7.7); empty: none yet */
};
/* The group's first entry the server has not accepted, in typed order.
 * 0 (next->id -1 when none), or -1 on a store error.  Free with
 * cli_outbox_next_clear. */
int cli_outbox_next(struct cli_store *st, const char *group, const struct cli_outbox *o,
                    int64_t cursor, struct cli_outbox_next *next);
void cli_outbox_next_clear(struct cli_outbox_next *next);

/* ---- driving it (session) */
struct cli_session;
struct cli_grp;
/* Sends g's next entry if nothing is out and g is caught up. */
void cli_outbox_pump(struct cli_session *s, struct cli_grp *g);
/* Keeps text for group (persisted) and sends it when possible. */
int cli_outbox_queue(struct cli_session *s, const char *group, const char *text);
/* Entries for groups, and how many of those could go out now. */
int cli_outbox_count(const struct cli_session *s, char *groups, size_t max, int *sendable);
/* After a reconnect and catch-up: what was sent and is not in the log
 * was not accepted; it is encrypted again. */
void cli_outbox_reset(struct cli_session *s, struct cli_grp *g);
/* Our own message msg read from g's log: the outbox entry it is (0, *id,
 * *text malloc'd), 1 if none, -1 on a store error. */
int cli_outbox_find_own(struct cli_session *s, struct cli_grp *g, mls_bytes msg, int64_t *id,
                        char **text);
/* Entry id was read back from the log and deleted (tells the UI). */
void cli_outbox_delivered(struct cli_session *s, struct cli_grp *g, int64_t id);
/* Tells the UI about every entry still queued (at start). */
void cli_outbox_announce(struct cli_session *s);
/* g is going away. */
void cli_outbox_clear(struct cli_outbox *o);

#endif
