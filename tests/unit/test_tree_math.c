/* Unit tests for lib/tree_math.c (RFC 9420 Appendix C). */
#include "test.h"

#include "tree_math.h"

/* Eight-leaf tree of RFC 9420 Appendix C:
 *                7
 *        3               11
 *    1       5       9       13
 *  0   2   4   6   8   10  12  14      */
static void test_basics(void)
{
    CHECK(mls_tm_log2(0) == 0);
    CHECK(mls_tm_log2(1) == 0);
    CHECK(mls_tm_log2(15) == 3);
    CHECK(mls_tm_log2(0xffffffffu) == 31);
    CHECK(mls_tm_level(0) == 0);
    CHECK(mls_tm_level(5) == 1);
    CHECK(mls_tm_level(11) == 2);
    CHECK(mls_tm_level(7) == 3);
    CHECK(mls_tm_is_leaf(6) && !mls_tm_is_leaf(7));
    CHECK(mls_tm_node_width(0) == 0);
    CHECK(mls_tm_node_width(1) == 1);
    CHECK(mls_tm_node_width(8) == 15);
    CHECK(mls_tm_node_width(MLS_TREE_MAX_LEAVES) == 0xffffffffu);
    CHECK(mls_tm_root(1) == 0);
    CHECK(mls_tm_root(8) == 7);
    CHECK(mls_tm_root(MLS_TREE_MAX_LEAVES) == 0x7fffffffu);

    CHECK(mls_tm_valid_leaves(1) && mls_tm_valid_leaves(2) && mls_tm_valid_leaves(1024));
    CHECK(mls_tm_valid_leaves(MLS_TREE_MAX_LEAVES));
    CHECK(!mls_tm_valid_leaves(0) && !mls_tm_valid_leaves(3) && !mls_tm_valid_leaves(12));
}

static void test_relatives(void)
{
    uint32_t v = 99;
    CHECK_OK(mls_tm_left(8, 7, &v));
    CHECK(v == 3);
    CHECK_OK(mls_tm_right(8, 7, &v));
    CHECK(v == 11);
    CHECK_OK(mls_tm_right(8, 9, &v));
    CHECK(v == 10);
    CHECK_OK(mls_tm_parent(8, 10, &v));
    CHECK(v == 9);
    CHECK_OK(mls_tm_parent(8, 11, &v));
    CHECK(v == 7);
    CHECK_OK(mls_tm_sibling(8, 10, &v));
    CHECK(v == 8);
    CHECK_OK(mls_tm_sibling(8, 3, &v));
    CHECK(v == 11);

    /* No such relative: outputs untouched. */
    v = 99;
    CHECK_ERR(mls_tm_left(8, 4, &v), MLS_ERR_NOT_FOUND);
    CHECK_ERR(mls_tm_right(8, 0, &v), MLS_ERR_NOT_FOUND);
    CHECK_ERR(mls_tm_parent(8, 7, &v), MLS_ERR_NOT_FOUND);
    CHECK_ERR(mls_tm_sibling(8, 7, &v), MLS_ERR_NOT_FOUND);
    CHECK_ERR(mls_tm_parent(1, 0, &v), MLS_ERR_NOT_FOUND);
    CHECK(v == 99);

    /* Bad tree sizes and nodes outside the tree. */
    CHECK_ERR(mls_tm_left(8, 15, &v), MLS_ERR_ARG);
    CHECK_ERR(mls_tm_parent(3, 1, &v), MLS_ERR_ARG);
    CHECK_ERR(mls_tm_parent(0, 0, &v), MLS_ERR_ARG);
    CHECK_ERR(mls_tm_sibling(4, 7, &v), MLS_ERR_ARG);
    CHECK(v == 99);

    CHECK_OK(mls_tm_leaf_to_node(8, 5, &v));
    CHECK(v == 10);
    CHECK_ERR(mls_tm_leaf_to_node(8, 8, &v), MLS_ERR_ARG);
    CHECK_ERR(mls_tm_leaf_to_node(6, 1, &v), MLS_ERR_ARG);
    CHECK_OK(mls_tm_node_to_leaf(8, 14, &v));
    CHECK(v == 7);
    CHECK_ERR(mls_tm_node_to_leaf(8, 13, &v), MLS_ERR_ARG);
    CHECK_ERR(mls_tm_node_to_leaf(8, 16, &v), MLS_ERR_ARG);
}

static void test_paths(void)
{
    uint32_t p[MLS_TREE_MAX_DEPTH];
    size_t n = 99;

    CHECK_OK(mls_tm_direct_path(8, 4, p, &n));
    CHECK(n == 3 && p[0] == 5 && p[1] == 3 && p[2] == 7);
    CHECK_OK(mls_tm_copath(8, 4, p, &n));
    CHECK(n == 3 && p[0] == 6 && p[1] == 1 && p[2] == 11);
    CHECK_OK(mls_tm_direct_path(8, 9, p, &n));
    CHECK(n == 2 && p[0] == 11 && p[1] == 7);
    CHECK_OK(mls_tm_copath(8, 9, p, &n));
    CHECK(n == 2 && p[0] == 13 && p[1] == 3);
    CHECK_OK(mls_tm_direct_path(8, 7, p, &n));
    CHECK(n == 0);
    CHECK_OK(mls_tm_copath(1, 0, p, &n));
    CHECK(n == 0);
    n = 99;
    CHECK_ERR(mls_tm_direct_path(8, 20, p, &n), MLS_ERR_ARG);
    CHECK_ERR(mls_tm_copath(5, 0, p, &n), MLS_ERR_ARG);
    CHECK(n == 99);

    /* The deepest tree: 31 steps from the first leaf to the root. */
    CHECK_OK(mls_tm_direct_path(MLS_TREE_MAX_LEAVES, 0, p, &n));
    CHECK(n == 31 && p[30] == 0x7fffffffu && p[0] == 1);
    CHECK_OK(mls_tm_copath(MLS_TREE_MAX_LEAVES, 0xfffffffeu, p, &n));
    CHECK(n == 31 && p[0] == 0xfffffffcu && p[30] == 0x3fffffffu);
}

static void test_common_ancestor(void)
{
    uint32_t v = 99;
    CHECK_OK(mls_tm_common_ancestor(8, 0, 2, &v));
    CHECK(v == 1);
    CHECK_OK(mls_tm_common_ancestor(8, 0, 14, &v));
    CHECK(v == 7);
    CHECK_OK(mls_tm_common_ancestor(8, 8, 12, &v));
    CHECK(v == 11);
    CHECK_OK(mls_tm_common_ancestor(8, 4, 4, &v));
    CHECK(v == 4);
    CHECK_OK(mls_tm_common_ancestor(8, 4, 3, &v));
    CHECK(v == 3);
    CHECK_OK(mls_tm_common_ancestor(8, 11, 12, &v));
    CHECK(v == 11);
    CHECK_OK(mls_tm_common_ancestor(MLS_TREE_MAX_LEAVES, 0, 0xfffffffeu, &v));
    CHECK(v == 0x7fffffffu);
    v = 99;
    CHECK_ERR(mls_tm_common_ancestor(8, 0, 15, &v), MLS_ERR_ARG);
    CHECK(v == 99);

    /* Against the semantic definition: the lowest node on both paths. */
    for (uint32_t x = 0; x < 31; x++) {
        for (uint32_t y = 0; y < 31; y++) {
            uint32_t px[MLS_TREE_MAX_DEPTH + 1], py[MLS_TREE_MAX_DEPTH + 1];
            size_t nx, ny;
            uint32_t want = 0xffffffffu, got;
            CHECK_OK(mls_tm_direct_path(16, x, px + 1, &nx));
            CHECK_OK(mls_tm_direct_path(16, y, py + 1, &ny));
            px[0] = x;
            py[0] = y;
            for (size_t i = 0; i <= nx && want == 0xffffffffu; i++)
                for (size_t j = 0; j <= ny; j++)
                    if (px[i] == py[j]) {
                        want = px[i];
                        break;
                    }
            CHECK_OK(mls_tm_common_ancestor(16, x, y, &got));
            CHECK(got == want);
        }
    }
}

/* Parent/child/sibling consistency over every node of several trees. */
static void test_consistency(void)
{
    for (uint32_t n = 1; n <= 256; n *= 2) {
        uint32_t w = mls_tm_node_width(n);
        for (uint32_t x = 0; x < w; x++) {
            uint32_t l, r, p, s, pl, pr;
            if (mls_tm_left(n, x, &l) == MLS_OK) {
                CHECK_OK(mls_tm_right(n, x, &r));
                CHECK_OK(mls_tm_parent(n, l, &pl));
                CHECK_OK(mls_tm_parent(n, r, &pr));
                CHECK(pl == x && pr == x && l < x && x < r);
                CHECK_OK(mls_tm_sibling(n, l, &s));
                CHECK(s == r);
            } else {
                CHECK(mls_tm_is_leaf(x));
            }
            if (mls_tm_parent(n, x, &p) != MLS_OK)
                CHECK(x == mls_tm_root(n));
        }
    }
}

int main(void)
{
    test_basics();
    test_relatives();
    test_paths();
    test_common_ancestor();
    test_consistency();
    TEST_MAIN_END("test_tree_math");
}
