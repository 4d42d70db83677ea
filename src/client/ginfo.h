/*
 * The one thing the client reads out of a GroupInfo itself: at which leaf
 * of the group's ratchet tree a signature key sits.  A member that lost
 * its state of a group rejoins by an external commit that also removes
 * its old leaf (RFC 9420 §12.4.3.2), and without that state the only
 * place its old leaf index is written is the ratchet tree the GroupInfo
 * carries.  This is a locator, not a validator: mls_group_external_join
 * verifies the GroupInfo and the whole tree afterwards.
 */
#ifndef CLI_GINFO_H
#define CLI_GINFO_H

#include <stdint.h>

#include "mls/mls.h"

/* group_info is an MLSMessage (wire_format mls_group_info) whose
 * GroupInfo has a ratchet_tree extension.  Returns 0 and sets *leaf when
 * a leaf holds signature_key, 1 when none does, -1 when the bytes do not
 * parse (or carry no ratchet tree). */
int cli_group_info_find_leaf(mls_bytes group_info, mls_bytes signature_key, uint32_t *leaf);

#endif
