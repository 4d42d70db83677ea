/*
 * Delivery rules (docs/PROTOCOL.md §5-§7): directory, KeyPackages, groups,
 * first-commit-wins, the ordered log and the inbox.  Works on decoded
 * requests and the store interface; knows nothing of JSON or sockets.
 * Every function runs inside the caller's change (savepoint): on failure
 * the caller rolls it back, so a refused request changes nothing.
 */
#ifndef SRV_LOGIC_H
#define SRV_LOGIC_H

#include "srv.h"

/* A refusal: a stable code from docs/PROTOCOL.md §8, a readable message
 * and at most one extra integer field. */
typedef struct srv_err {
    const char *code;
    char message[192];
    const char *extra_key;
    int64_t extra;
} srv_err;

int srv_refuse(srv_err *e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int srv_valid_username(const char *name);
int srv_valid_group_name(const char *name);

int srv_logic_register(srv *s, const char *username, uint16_t suite, mls_bytes key,
                       srv_user *out, srv_err *e);
int srv_logic_rename(srv *s, srv_user *u, const char *username, srv_err *e);

int srv_logic_kp_upload(srv *s, const srv_user *u, const mls_bytes *kps, size_t n,
                        int last_resort, srv_err *e);
int srv_logic_kp_claim(srv *s, srv_user_state *requester, const char *username, srv_user *target,
                       mls_buf *kp, int *last_resort, srv_err *e);

int srv_logic_group_create(srv *s, const srv_user *u, const char *name, mls_bytes gid,
                           uint64_t epoch, srv_group *out, srv_err *e);
/* Finds a group by name (or by group id when name is NULL). */
int srv_logic_group_find(srv *s, const char *name, mls_bytes gid, srv_group *out, srv_err *e);

typedef struct srv_welcome_req {
    mls_bytes welcome;
    const char **recipients;
    size_t n_recipients;
} srv_welcome_req;

typedef struct srv_commit_req {
    const char *group;
    uint64_t epoch;
    mls_bytes commit;
    const srv_welcome_req *welcomes;
    size_t n_welcomes;
    mls_bytes group_info; /* n == 0 when absent */
    const char **add;
    size_t n_add;
    const char **remove;
    size_t n_remove;
    mls_bytes msg_id; /* n == 0 when absent */
} srv_commit_req;

/* *duplicate = 1 when the request repeats one already accepted
 * (docs/PROTOCOL.md §7.7): the original seq and epoch are returned and
 * nothing is stored or pushed. */
int srv_logic_commit(srv *s, const srv_user *u, const srv_commit_req *req, uint64_t *seq,
                     uint64_t *new_epoch, int *duplicate, srv_err *e);
int srv_logic_send(srv *s, const srv_user *u, const char *group, mls_bytes msg,
                   mls_bytes msg_id, uint64_t *seq, uint64_t *epoch, int *duplicate,
                   srv_err *e);

/* Checks that u may read group's log after `after`; the entries to return
 * are from < seq <= upto. */
int srv_logic_fetch_range(srv *s, const srv_user *u, const char *group, uint64_t after,
                          srv_group *g, uint64_t *from, uint64_t *upto, srv_err *e);

/* Pushes (implemented by the handlers layer, which owns the JSON form). */
void srv_push_log(srv *s, const srv_group *g, const srv_log_entry *entry, const int64_t *users,
                  size_t n_users);
void srv_push_inbox(srv *s, int64_t user_id, const srv_inbox_entry *entry);

#endif
