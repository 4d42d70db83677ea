/*
 * What the server reads from MLS objects: only what MLS leaves in clear
 * (DESIGN Decision 1).  For PublicMessage / PrivateMessage the group_id,
 * epoch and content_type (RFC 9420 §6); for Welcome and GroupInfo that they
 * are well formed; for KeyPackages everything validation needs (kpcheck.h).
 */
#ifndef SRV_MLSMSG_H
#define SRV_MLSMSG_H

#include "mls/mls.h"

/* RFC 9420 §6: WireFormat and ContentType values. */
enum {
    SRV_WF_PUBLIC = 1, SRV_WF_PRIVATE = 2, SRV_WF_WELCOME = 3, SRV_WF_GROUP_INFO = 4,
    SRV_WF_KEY_PACKAGE = 5
};
enum { SRV_CT_APPLICATION = 1, SRV_CT_PROPOSAL = 2, SRV_CT_COMMIT = 3 };

typedef struct srv_mls_header {
    uint16_t wire_format;
    mls_bytes group_id; /* borrowed from the message */
    uint64_t epoch;
    uint8_t content_type;
} srv_mls_header;

/* Decodes the clear header of an MLSMessage holding a PublicMessage or
 * PrivateMessage.  A PrivateMessage is decoded completely (no trailing
 * bytes); of a PublicMessage the header up to content_type.  Returns
 * MLS_ERR_MALFORMED / MLS_ERR_UNSUPPORTED with *why set to a readable
 * reason. */
int srv_mls_read_header(mls_bytes msg, srv_mls_header *h, const char **why);

/* An MLSMessage holding a Welcome (RFC 9420 §12.4.3.1), decoded completely. */
int srv_mls_check_welcome(mls_bytes msg, const char **why);

/* An MLSMessage holding a GroupInfo (RFC 9420 §12.4.3), decoded completely;
 * returns its group_id and epoch. */
int srv_mls_check_group_info(mls_bytes msg, mls_bytes *group_id, uint64_t *epoch,
                             const char **why);

#endif
