/*
 * Directory checks (DESIGN Decision 2): the signature key of every
 * member's credential must be the key the server's directory holds for
 * that username.  Keys seen once are cached in the store; a mismatch is
 * shown as a warning, never silently accepted.  Every key seen here is
 * also held against the key pinned for its user (pins.h): a KeyPackage
 * with another key is refused, a member with another key is warned about.
 */
#ifndef CLI_DIRECTORY_H
#define CLI_DIRECTORY_H

#include "mls/mls.h"

struct cli_session;
struct cli_grp;

/* Checks user's key in g, from the cache or by asking the server. */
void cli_dir_verify_member(struct cli_session *s, struct cli_grp *g, const char *user,
                           mls_bytes key);
/* Checks every other member of g. */
void cli_dir_verify_all(struct cli_session *s, struct cli_grp *g);
/* A KeyPackage claimed for name, before inviting: valid (RFC 9420 §10.1),
 * for name, signed by dir_key (the directory's key, then cached) and by
 * the key pinned for name (pinned now if none was).  0, or
 * -1 after telling the user why not. */
int cli_dir_check_key_package(struct cli_session *s, struct cli_grp *g, const char *name,
                              mls_bytes key_package, mls_bytes dir_key);

#endif
