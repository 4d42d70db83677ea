/*
 * libmls protocol constants (RFC 9420 §17 IANA registries), for
 * applications that look at MLS objects: the wire format, content type and
 * sender type of messages (mls_message_inspect, include/mls/inspect.h),
 * proposal types, leaf node sources, credential and extension types.
 * The values are the registries' code points, so they can be compared
 * with what is on the wire.
 */
#ifndef MLS_TYPES_H
#define MLS_TYPES_H

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 9420 §6 ProtocolVersion */
enum { MLS_VERSION_MLS10 = 1 };

/* RFC 9420 §17.2 MLS Wire Formats */
enum mls_wire_format {
    MLS_WIRE_PUBLIC_MESSAGE = 1,
    MLS_WIRE_PRIVATE_MESSAGE = 2,
    MLS_WIRE_WELCOME = 3,
    MLS_WIRE_GROUP_INFO = 4,
    MLS_WIRE_KEY_PACKAGE = 5
};

/* RFC 9420 §6 ContentType */
enum mls_content_type {
    MLS_CONTENT_APPLICATION = 1,
    MLS_CONTENT_PROPOSAL = 2,
    MLS_CONTENT_COMMIT = 3
};

/* RFC 9420 §6 SenderType */
enum mls_sender_type {
    MLS_SENDER_MEMBER = 1,
    MLS_SENDER_EXTERNAL = 2,
    MLS_SENDER_NEW_MEMBER_PROPOSAL = 3,
    MLS_SENDER_NEW_MEMBER_COMMIT = 4
};

/* RFC 9420 §7.2 LeafNodeSource */
enum mls_leaf_node_source {
    MLS_LEAF_SOURCE_KEY_PACKAGE = 1,
    MLS_LEAF_SOURCE_UPDATE = 2,
    MLS_LEAF_SOURCE_COMMIT = 3
};

/* RFC 9420 §17.4 MLS Proposal Types */
enum mls_proposal_type {
    MLS_PROPOSAL_ADD = 1,
    MLS_PROPOSAL_UPDATE = 2,
    MLS_PROPOSAL_REMOVE = 3,
    MLS_PROPOSAL_PSK = 4,
    MLS_PROPOSAL_REINIT = 5,
    MLS_PROPOSAL_EXTERNAL_INIT = 6,
    MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS = 7
};

/* RFC 9420 §17.3 extension types the library understands. */
enum {
    MLS_EXTENSION_APPLICATION_ID = 0x0001,
    MLS_EXTENSION_RATCHET_TREE = 0x0002,
    MLS_EXTENSION_REQUIRED_CAPABILITIES = 0x0003,
    MLS_EXTENSION_EXTERNAL_PUB = 0x0004,
    MLS_EXTENSION_EXTERNAL_SENDERS = 0x0005,
    /* IANA "MLS Extension Types" 0x000A last_resort (draft-ietf-mls-
     * extensions): an empty KeyPackage extension marking a KeyPackage the
     * Delivery Service may hand out more than once. */
    MLS_EXTENSION_LAST_RESORT = 0x000A
};

/* Extension types in 0xF000..0xFFFF are reserved for private use
 * (RFC 9420 §17.1); applications put their own GroupContext extensions
 * there (e.g. a group name, administrator roles). */
#define MLS_EXTENSION_PRIVATE_MIN 0xF000u

/* RFC 9420 §17.5 credential types. */
enum { MLS_CREDENTIAL_TYPE_BASIC = 1, MLS_CREDENTIAL_TYPE_X509 = 2 };

#ifdef __cplusplus
}
#endif
#endif
