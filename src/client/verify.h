/*
 * Out-of-band verification (DESIGN Decision 2): pure functions, no
 * session, no store.
 *
 *  - the safety number of two users: what both read to each other to
 *    check that each holds the other's real signature key;
 *  - the epoch code: what the members of a group compare to check that
 *    they are in the same epoch of the same group (RFC 9420 §8.7: the
 *    epoch_authenticator is equal for all members and secret);
 *  - the verdict on a key against the one pinned for its user (trust on
 *    first use).
 */
#ifndef CLI_VERIFY_H
#define CLI_VERIFY_H

#include "mls/mls.h"

/* 60 decimal digits in 12 groups of 5 separated by a space. */
#define CLI_SAFETY_NUMBER_LEN (60 + 11)
/* 24 decimal digits in 6 groups of 4 separated by a space. */
#define CLI_EPOCH_CODE_LEN (24 + 5)

/* The safety number of (user_a, key_a) and (user_b, key_b): the same
 * whichever user is a; it changes when either key or name changes.
 * 0, or -1 (out of memory, a name too long). */
int cli_safety_number(const char *user_a, mls_bytes key_a, const char *user_b, mls_bytes key_b,
                      char out[CLI_SAFETY_NUMBER_LEN + 1]);

/* The code of an epoch from its epoch_authenticator.  0, or -1. */
int cli_epoch_code(mls_bytes authenticator, char out[CLI_EPOCH_CODE_LEN + 1]);

enum cli_pin_verdict {
    CLI_PIN_FIRST = 1, /* nothing pinned yet: pin this key */
    CLI_PIN_SAME,      /* the pinned key */
    CLI_PIN_CHANGED    /* another key: refused until the user accepts it */
};
/* pinned is the user's pinned key (n == 0: none). */
enum cli_pin_verdict cli_pin_judge(mls_bytes pinned, mls_bytes key);

/*
 * A member's credential changes its name (a /nick: PROTOCOL.md §5.1, the
 * committer's path leaf or an Update, RFC 9420 §12.4.2): allowed only
 * when the signature key stays the same (old_key, new_key), the new name
 * is valid and no other member's, and the pins agree: the key pinned for
 * the old name, and the one for the new name if any, is that key.
 */
enum cli_rename_verdict {
    CLI_RENAME_OK = 0,
    CLI_RENAME_KEY_CHANGED,  /* another signature key: a new member, not a rename */
    CLI_RENAME_BAD_NAME,     /* not a valid username */
    CLI_RENAME_NAME_IN_USE,  /* another member has that name */
    CLI_RENAME_PIN_MISMATCH  /* a pin holds another key for either name */
};
enum cli_rename_verdict cli_rename_judge(mls_bytes old_key, mls_bytes new_key, int name_valid,
                                         int name_in_use, mls_bytes pin_old, mls_bytes pin_new);

#endif
