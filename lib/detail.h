/*
 * Error detail: which rule a failing call broke.  The failure points of the
 * validation code (KeyPackages, signatures, membership and confirmation
 * tags, the proposal and commit rules of RFC 9420 §12.2, tree validation)
 * record the function and the RFC rule here through MLS_DETAIL; the
 * application reads it with mls_error_detail() (include/mls/mls.h).
 */
#ifndef MLS_DETAIL_H
#define MLS_DETAIL_H

#include "mls/mls.h"

/* Records `rule` (a string literal citing the RFC section) as the reason
 * of the current failure of function `where`, for this thread. */
void mls_detail_set(const char *where, const char *rule);

/* The detail recorded on this thread (either may be NULL): the executor
 * (lib/executor.c) carries an item's detail from the thread that ran it
 * to the caller's. */
void mls_detail_get(const char **where, const char **rule);

/* Evaluates to err after recording where it failed:
 *     return MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §12.2: ...");  */
#define MLS_DETAIL(err, rule) (mls_detail_set(__func__, (rule)), (err))

#endif
