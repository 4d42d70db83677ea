/* tree-math.json: node width, root, and left/right/parent/sibling of every
 * node; a JSON null means the node has no such relative. */
#include "vec.h"

#include "tree_math.h"

typedef int (*relative_fn)(uint32_t n_leaves, uint32_t x, uint32_t *out);

static int check_relation(json_t *entry, const char *key, uint32_t n_leaves, uint32_t width,
                          relative_fn fn)
{
    json_t *arr = json_object_get(entry, key);
    if (!json_is_array(arr) || json_array_size(arr) != width) {
        vec_fail("%s: not an array of %u entries", key, width);
        return -1;
    }
    for (uint32_t i = 0; i < width; i++) {
        json_t *v = json_array_get(arr, i);
        uint32_t got = 0;
        int err = fn(n_leaves, i, &got);
        if (json_is_null(v)) {
            if (err != MLS_ERR_NOT_FOUND) {
                vec_fail("%s[%u]: want none, got %u (%s)", key, i, got, mls_errname(err));
                return -1;
            }
            continue;
        }
        if (!json_is_integer(v)) {
            vec_fail("%s[%u]: not an integer or null", key, i);
            return -1;
        }
        if (err || (json_int_t)got != json_integer_value(v)) {
            vec_fail("%s[%u]: want %lld, got %u (%s)", key, i, (long long)json_integer_value(v),
                     got, mls_errname(err));
            return -1;
        }
    }
    return 0;
}

int vec_tree_math(json_t *entry)
{
    uint64_t n_leaves, n_nodes, root;
    if (vec_uint(entry, "n_leaves", &n_leaves) || vec_uint(entry, "n_nodes", &n_nodes) ||
        vec_uint(entry, "root", &root))
        return -1;
    if (n_leaves > MLS_TREE_MAX_LEAVES || !mls_tm_valid_leaves((uint32_t)n_leaves)) {
        vec_fail("n_leaves %llu is not a valid tree size", (unsigned long long)n_leaves);
        return -1;
    }
    uint32_t n = (uint32_t)n_leaves;
    uint32_t width = mls_tm_node_width(n);
    if (width != n_nodes) {
        vec_fail("n_nodes: want %llu, got %u", (unsigned long long)n_nodes, width);
        return -1;
    }
    if (mls_tm_root(n) != root) {
        vec_fail("root: want %llu, got %u", (unsigned long long)root, mls_tm_root(n));
        return -1;
    }
    if (check_relation(entry, "left", n, width, mls_tm_left) ||
        check_relation(entry, "right", n, width, mls_tm_right) ||
        check_relation(entry, "parent", n, width, mls_tm_parent) ||
        check_relation(entry, "sibling", n, width, mls_tm_sibling))
        return -1;
    return 0;
}
