/*
 * Pinned keys and verification (DESIGN Decision 2): every user's
 * signature key is pinned the first time it is seen (from the directory,
 * a claimed KeyPackage, a member's credential); a different key later,
 * from any of them, is refused and shown loudly until the user accepts
 * it (/verify user accept).  /whois, /verify and /code are here.
 */
#ifndef CLI_PINS_H
#define CLI_PINS_H

#include "mls/mls.h"
#include "verify.h"

struct cli_session;

/* A key seen for user (source says where, for the user: "a KeyPackage
 * the server gave", ...): pinned if it is the first, warned about loudly
 * (in group's window, NULL for none) if it is not the pinned one.  Our
 * own name is checked against our own key.  CLI_PIN_CHANGED also when
 * the store cannot be read (a key is never trusted by default). */
enum cli_pin_verdict cli_pins_see(struct cli_session *s, const char *group, const char *user,
                                  mls_bytes key, const char *source);

/* For /list: the pin state of user's key: 1 the pinned key, -1 NOT the
 * pinned key, 0 nothing pinned; *verified is set when the pin is
 * verified. */
int cli_pins_state(struct cli_session *s, const char *user, mls_bytes key, int *verified);

struct cli_grp;
/* A member of g renamed from old to new under key (a commit already
 * applied to g: the tree holds the new name at leaf): judged by
 * cli_rename_judge; when allowed, the pin of old moves to new.  Returns
 * the verdict (the caller refuses the commit unless CLI_RENAME_OK). */
enum cli_rename_verdict cli_pins_rename(struct cli_session *s, struct cli_grp *g, uint32_t leaf,
                                        const char *old, const char *new_name, mls_bytes old_key,
                                        mls_bytes key);

/* /nick newname: the server renames us (PROTOCOL.md §5.1), then a commit
 * in each of our groups carries the new name in our leaf. */
void cli_session_nick(struct cli_session *s, const char *newname);

/* /whois user: fingerprint, pinned since, verified, groups shared (asks
 * the directory first when nothing is pinned yet). */
void cli_session_whois(struct cli_session *s, const char *user);
/* /verify user [ok|accept]: what is NULL (show the safety number), "ok"
 * (mark the pinned key verified) or "accept" (pin the key offered since). */
void cli_session_verify(struct cli_session *s, const char *user, const char *what);
/* /code: the current epoch's code of group. */
void cli_session_code(struct cli_session *s, const char *group);

#endif
