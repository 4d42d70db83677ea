/* Finding our leaf in a GroupInfo's ratchet tree (see ginfo.h), by
 * libmls's tree view (mls_tree_view_from_group_info, include/mls/inspect.h). */
#include "ginfo.h"

#include "mls/inspect.h"

int cli_group_info_find_leaf(mls_bytes group_info, mls_bytes signature_key, uint32_t *leaf)
{
    mls_tree_view *t = NULL;
    uint32_t at;
    int rc = -1;

    if (mls_tree_view_from_group_info(group_info, &t) != MLS_OK)
        return -1;
    if (signature_key.n == 0)
        rc = 1;
    else if (mls_tree_view_find(t, signature_key, mls_bytes_of(NULL, 0), &at) == MLS_OK) {
        *leaf = at;
        rc = 0;
    } else
        rc = 1;
    mls_tree_view_free(t);
    return rc;
}
