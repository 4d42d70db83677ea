/* Clear-header decoding of MLS messages (RFC 9420 §6, §12.4.3). */
#include "mlsmsg.h"

#include "codec.h"
#include "suite.h"

#define MLS10 1

static int bad(const char **why, const char *text)
{
    *why = text;
    return MLS_ERR_MALFORMED;
}

/* MLSMessage prefix (RFC 9420 §6): version, wire_format. */
static int read_prefix(mls_reader *r, uint16_t *wf, const char **why)
{
    uint16_t version;
    if (mls_read_u16(r, &version) || mls_read_u16(r, wf))
        return bad(why, "truncated MLSMessage");
    if (version != MLS10) {
        *why = "protocol version is not mls10";
        return MLS_ERR_UNSUPPORTED;
    }
    return MLS_OK;
}

static int read_sender(mls_reader *r, const char **why)
{
    uint8_t type;
    uint32_t index;
    if (mls_read_u8(r, &type))
        return bad(why, "truncated sender");
    /* RFC 9420 §6: member and external senders carry an index. */
    switch (type) {
    case 1:
    case 2:
        return mls_read_u32(r, &index) ? bad(why, "truncated sender") : MLS_OK;
    case 3:
    case 4:
        return MLS_OK;
    default:
        return bad(why, "unknown sender type");
    }
}

int srv_mls_read_header(mls_bytes msg, srv_mls_header *h, const char **why)
{
    mls_reader r;
    srv_mls_header out;
    mls_bytes skip;
    mls_reader_init_bytes(&r, msg);
    int err = read_prefix(&r, &out.wire_format, why);
    if (err)
        return err;
    if (out.wire_format != SRV_WF_PUBLIC && out.wire_format != SRV_WF_PRIVATE)
        return bad(why, "not a PublicMessage or PrivateMessage");
    if (mls_read_vec_bytes(&r, &out.group_id) || mls_read_u64(&r, &out.epoch))
        return bad(why, "truncated message header");
    if (out.wire_format == SRV_WF_PUBLIC) {
        /* FramedContent: group_id, epoch, sender, authenticated_data,
         * content_type, ... */
        if ((err = read_sender(&r, why)) != 0)
            return err;
        if (mls_read_vec_bytes(&r, &skip) || mls_read_u8(&r, &out.content_type))
            return bad(why, "truncated message header");
    } else {
        /* PrivateMessage: group_id, epoch, content_type,
         * authenticated_data, encrypted_sender_data, ciphertext. */
        if (mls_read_u8(&r, &out.content_type) || mls_read_vec_bytes(&r, &skip) ||
            mls_read_vec_bytes(&r, &skip) || mls_read_vec_bytes(&r, &skip))
            return bad(why, "truncated PrivateMessage");
        if (mls_reader_done(&r))
            return bad(why, "trailing bytes after PrivateMessage");
    }
    if (out.content_type < SRV_CT_APPLICATION || out.content_type > SRV_CT_COMMIT)
        return bad(why, "unknown content type");
    if (out.group_id.n == 0)
        return bad(why, "empty group_id");
    *h = out;
    return MLS_OK;
}

int srv_mls_check_welcome(mls_bytes msg, const char **why)
{
    mls_reader r, secrets;
    uint16_t wf, suite;
    mls_bytes skip;
    mls_reader_init_bytes(&r, msg);
    int err = read_prefix(&r, &wf, why);
    if (err)
        return err;
    if (wf != SRV_WF_WELCOME)
        return bad(why, "not a Welcome");
    /* Welcome: cipher_suite, EncryptedGroupSecrets secrets<V>,
     * encrypted_group_info<V>. */
    if (mls_read_u16(&r, &suite) || mls_read_vec(&r, &secrets))
        return bad(why, "truncated Welcome");
    if (mls_suite_get(suite) == NULL) {
        *why = "Welcome cipher suite unsupported";
        return MLS_ERR_UNSUPPORTED;
    }
    size_t count = 0;
    while (mls_reader_left(&secrets) > 0) {
        /* EncryptedGroupSecrets: new_member<V>, HPKECiphertext {kem_output<V>,
         * ciphertext<V>}. */
        if (mls_read_vec_bytes(&secrets, &skip) || mls_read_vec_bytes(&secrets, &skip) ||
            mls_read_vec_bytes(&secrets, &skip))
            return bad(why, "malformed Welcome secrets");
        count++;
    }
    if (count == 0)
        return bad(why, "Welcome has no recipients");
    if (mls_read_vec_bytes(&r, &skip) || mls_reader_done(&r))
        return bad(why, "malformed Welcome");
    return MLS_OK;
}

static int skip_extensions(mls_reader *r)
{
    mls_reader ext;
    uint16_t type;
    mls_bytes data;
    if (mls_read_vec(r, &ext))
        return MLS_ERR_MALFORMED;
    while (mls_reader_left(&ext) > 0)
        if (mls_read_u16(&ext, &type) || mls_read_vec_bytes(&ext, &data))
            return MLS_ERR_MALFORMED;
    return MLS_OK;
}

int srv_mls_check_group_info(mls_bytes msg, mls_bytes *group_id, uint64_t *epoch,
                             const char **why)
{
    mls_reader r;
    uint16_t wf, version, suite;
    uint32_t signer;
    mls_bytes gid, skip;
    uint64_t ep;
    mls_reader_init_bytes(&r, msg);
    int err = read_prefix(&r, &wf, why);
    if (err)
        return err;
    if (wf != SRV_WF_GROUP_INFO)
        return bad(why, "not a GroupInfo");
    /* GroupInfo: GroupContext {version, cipher_suite, group_id<V>, epoch,
     * tree_hash<V>, confirmed_transcript_hash<V>, extensions<V>},
     * extensions<V>, confirmation_tag<V>, signer, signature<V>. */
    if (mls_read_u16(&r, &version) || mls_read_u16(&r, &suite) ||
        mls_read_vec_bytes(&r, &gid) || mls_read_u64(&r, &ep) ||
        mls_read_vec_bytes(&r, &skip) || mls_read_vec_bytes(&r, &skip) ||
        skip_extensions(&r) || skip_extensions(&r) || mls_read_vec_bytes(&r, &skip) ||
        mls_read_u32(&r, &signer) || mls_read_vec_bytes(&r, &skip) || mls_reader_done(&r))
        return bad(why, "malformed GroupInfo");
    if (version != MLS10 || mls_suite_get(suite) == NULL) {
        *why = "GroupInfo version or cipher suite unsupported";
        return MLS_ERR_UNSUPPORTED;
    }
    *group_id = gid;
    *epoch = ep;
    return MLS_OK;
}
