/*
 * The user's account: the identity (signature key pair, kept in the
 * store), registration and login (PROTOCOL.md §3), and the pool of
 * KeyPackages on the server (PROTOCOL.md §6), topped up when low.
 */
#ifndef CLI_ACCOUNT_H
#define CLI_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

struct cli_session;

/* Loads the identity of username from the store, or makes and saves a
 * new one.  0, or -1 with a reason in err. */
int cli_account_setup(struct cli_session *s, const char *username, char *err, size_t errlen);
/* Answers the server's challenge (register or login). */
void cli_account_auth(struct cli_session *s, const char *nonce_b64, uint64_t timestamp);
/* Checks the KeyPackage pool now and every 10 minutes. */
void cli_account_kp_check(struct cli_session *s);

#endif
