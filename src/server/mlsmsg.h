/*
 * What the server reads from MLS objects: only what MLS leaves in clear
 * (DESIGN Decision 1).  Every object is decoded completely and strictly by
 * libmls (mls_message_inspect, include/mls/inspect.h); of a PublicMessage / PrivateMessage the server
 * keeps the group_id, epoch and content_type (RFC 9420 §6), of a GroupInfo
 * its group_id and epoch, of a Welcome only that it is well formed.
 * KeyPackages: kpcheck.h.
 */
#ifndef SRV_MLSMSG_H
#define SRV_MLSMSG_H

#include "mls/inspect.h"
#include "store.h"

typedef struct srv_mls_header {
    uint16_t wire_format;  /* enum mls_wire_format */
    uint8_t content_type;  /* enum mls_content_type */
    uint64_t epoch;
    /* A copy of the group_id; a group_id longer than any group's is
     * flagged instead (it matches no group). */
    uint8_t group_id[SRV_GROUP_ID_MAX];
    size_t group_id_len;
    int group_id_too_long;
} srv_mls_header;

/* 1 if the header's group_id is gid. */
int srv_mls_header_group_is(const srv_mls_header *h, mls_bytes gid);

/* Decodes an MLSMessage holding a PublicMessage or PrivateMessage and
 * returns its clear header.  Returns MLS_ERR_MALFORMED / MLS_ERR_UNSUPPORTED
 * (or another decode error) with *why set to a readable reason. */
int srv_mls_read_header(mls_bytes msg, srv_mls_header *h, const char **why);

/* An MLSMessage holding a Welcome (RFC 9420 §12.4.3.1) of a supported
 * suite with at least one recipient. */
int srv_mls_check_welcome(mls_bytes msg, const char **why);

/* An MLSMessage holding a GroupInfo (RFC 9420 §12.4.3) of version mls10
 * and a supported suite; returns its group_id and epoch in *h
 * (content_type 0). */
int srv_mls_check_group_info(mls_bytes msg, srv_mls_header *h, const char **why);

#endif
