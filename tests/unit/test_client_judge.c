/*
 * Judging real staged commits (src/client/judge.c): a chat group of
 * alice (administrator), bob and carol built through libmls exactly as
 * the client builds it (name and administrators extensions), then commits
 * that the server should refuse (PROTOCOL.md §7.4) made directly through
 * libmls, as a hostile member or a hostile server would: each is staged by
 * the other members, judged, refused by the rule it breaks, and leaves
 * their state byte-identical.  Honest commits are judged allowed.
 */
#include <string.h>

#include "judge.h"
#include "mls/group.h"
#include "mls/mls.h"
#include "rules.h"
#include "test.h"

#define SUITE MLS_SUITE_X25519_AES128GCM_SHA256_ED25519

struct who {
    mls_identity *id;
    mls_group *g;
};

static const mls_env *env;
static struct who A, Bb, C;

static mls_bytes S(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

static void who_make(struct who *w, const char *name)
{
    static const uint16_t exts[2] = {CLI_EXT_GROUP_NAME, CLI_EXT_ADMINS};
    memset(w, 0, sizeof *w);
    CHECK_OK(mls_identity_generate(env, SUITE, S(name), &w->id));
    CHECK_OK(mls_identity_support_extensions(w->id, exts, 2));
}

static void who_clear(struct who *w)
{
    mls_group_free(w->g);
    mls_identity_free(w->id);
    memset(w, 0, sizeof *w);
}

/* w joins through the Welcome of sc, made for its KeyPackage. */
static void join_by(struct who *w, mls_bytes welcome, mls_buf *bundle)
{
    mls_bytes b = mls_buf_view(bundle);
    CHECK_OK(mls_group_join(env, w->id, welcome, &b, 1, NULL, NULL, &w->g));
}

static void group_setup(const char *const *admins, size_t n_admins)
{
    mls_buf name, adm, kp[2], bundle[2];
    mls_ext ext[2];
    mls_bytes kps[2];
    mls_staged_commit *sc = NULL;
    size_t i;

    who_make(&A, "alice");
    who_make(&Bb, "bob");
    who_make(&C, "carol");
    mls_buf_init(&name);
    mls_buf_init(&adm);
    CHECK(cli_ext_name_encode("lobby", &name) == 0);
    CHECK(cli_ext_admins_encode((const char *const *)admins, n_admins, &adm) == 0);
    ext[0].type = CLI_EXT_GROUP_NAME;
    ext[0].data = mls_buf_view(&name);
    ext[1].type = CLI_EXT_ADMINS;
    ext[1].data = mls_buf_view(&adm);
    CHECK_OK(mls_group_create(env, A.id, mls_bytes_of(NULL, 0), ext, 2, NULL, &A.g));
    for (i = 0; i < 2; i++) {
        mls_buf_init(&kp[i]);
        mls_buf_init(&bundle[i]);
        CHECK_OK(mls_key_package_create(env, i ? C.id : Bb.id, NULL, &kp[i], &bundle[i]));
        kps[i] = mls_buf_view(&kp[i]);
    }
    CHECK_OK(mls_group_add_members(A.g, kps, 2, &sc));
    join_by(&Bb, mls_staged_commit_welcome(sc), &bundle[0]);
    join_by(&C, mls_staged_commit_welcome(sc), &bundle[1]);
    CHECK_OK(mls_group_merge_staged(A.g, sc));
    mls_staged_commit_free(sc);
    for (i = 0; i < 2; i++) {
        mls_buf_clear(&kp[i]);
        mls_buf_clear(&bundle[i]);
    }
    mls_buf_clear(&name);
    mls_buf_clear(&adm);
}

static void group_teardown(void)
{
    who_clear(&A);
    who_clear(&Bb);
    who_clear(&C);
}

/* The receiver stages msg, judges it, discards it; its state is
 * unchanged.  Returns the verdict. */
static enum cli_verdict judge_at(struct who *r, mls_bytes msg, char *committer, size_t max)
{
    mls_process_result res;
    mls_staged_commit *sc = NULL;
    struct cli_judgement j;
    mls_buf before, after;
    enum cli_verdict v = CLI_RULE_OK;

    memset(&res, 0, sizeof res);
    memset(&j, 0, sizeof j);
    mls_buf_init(&before);
    mls_buf_init(&after);
    CHECK_OK(mls_group_serialize(r->g, &before));
    CHECK_OK(mls_group_process_staged(r->g, msg, &res, &sc));
    CHECK(sc != NULL);
    if (sc) {
        CHECK(cli_judge_commit(r->g, sc, NULL, NULL, &j) == 0);
        v = j.verdict;
        if (committer)
            snprintf(committer, max, "%s", j.committer);
    }
    mls_staged_commit_free(sc);
    mls_process_result_clear(&res);
    CHECK_OK(mls_group_serialize(r->g, &after));
    CHECK(before.n == after.n && memcmp(before.p, after.p, before.n) == 0);
    mls_buf_clear(&before);
    mls_buf_clear(&after);
    return v;
}

/* sender commits opt (not merged); alice/bob/carol other than sender
 * judge it; every one must give want. */
static void expect(struct who *sender, const mls_commit_options *opt, enum cli_verdict want,
                   const char *committer)
{
    mls_staged_commit *sc = NULL;
    struct who *all[3] = {&A, &Bb, &C};
    char name[64];
    size_t i;
    CHECK_OK(mls_group_commit(sender->g, opt, &sc));
    if (!sc)
        return;
    for (i = 0; i < 3; i++) {
        if (all[i] == sender)
            continue;
        CHECK(judge_at(all[i], mls_staged_commit_message(sc), name, sizeof name) == want);
        CHECK(strcmp(name, committer) == 0);
    }
    mls_staged_commit_free(sc);
}

static void set_admins(mls_commit_options *o, mls_ext *e, mls_buf *b, const char *const *names,
                       size_t n)
{
    CHECK(cli_ext_admins_encode(names, n, b) == 0);
    e->type = CLI_EXT_ADMINS;
    e->data = mls_buf_view(b);
    o->set_extensions = e;
    o->n_set_extensions = 1;
}

/* A non-administrator's add, remove, administrators change, name change
 * and ReInit: refused by every other member (admin_required); the same
 * commits by the administrator: allowed, or refused by the rule they
 * break (extensions, last_admin). */
static void test_member_commits(void)
{
    const char *a_only[] = {"alice"}, *b_only[] = {"bob"}, *nobody[] = {"mallory"};
    const char *ab[] = {"alice", "bob"};
    mls_commit_options o;
    mls_ext e;
    mls_buf b, kp, bundle, nm;
    mls_reinit_params rp;
    mls_identity *dave = NULL;
    uint32_t leaf;
    static const uint16_t exts[2] = {CLI_EXT_GROUP_NAME, CLI_EXT_ADMINS};
    mls_bytes kpv;

    group_setup(a_only, 1);
    mls_buf_init(&b);
    mls_buf_init(&kp);
    mls_buf_init(&bundle);
    mls_buf_init(&nm);
    CHECK_OK(mls_identity_generate(env, SUITE, S("dave"), &dave));
    CHECK_OK(mls_identity_support_extensions(dave, exts, 2));
    CHECK_OK(mls_key_package_create(env, dave, NULL, &kp, &bundle));
    kpv = mls_buf_view(&kp);

    /* A key update: anyone. */
    expect(&Bb, NULL, CLI_RULE_OK, "bob");
    expect(&A, NULL, CLI_RULE_OK, "alice");
    /* Add. */
    memset(&o, 0, sizeof o);
    o.add = &kpv;
    o.n_add = 1;
    expect(&Bb, &o, CLI_RULE_NOT_ADMIN, "bob");
    expect(&A, &o, CLI_RULE_OK, "alice");
    /* bob removes alice, the administrator (the first attack of issue 9). */
    memset(&o, 0, sizeof o);
    CHECK_OK(mls_group_find_member(Bb.g, S("alice"), &leaf));
    o.remove = &leaf;
    o.n_remove = 1;
    expect(&Bb, &o, CLI_RULE_NOT_ADMIN, "bob");
    CHECK_OK(mls_group_find_member(A.g, S("carol"), &leaf));
    expect(&A, &o, CLI_RULE_OK, "alice");
    /* Administrators list. */
    memset(&o, 0, sizeof o);
    set_admins(&o, &e, &b, b_only, 1);
    expect(&Bb, &o, CLI_RULE_NOT_ADMIN, "bob");
    expect(&A, &o, CLI_RULE_OK, "alice");       /* handing over */
    set_admins(&o, &e, &b, ab, 2);
    expect(&A, &o, CLI_RULE_OK, "alice");       /* /op bob */
    set_admins(&o, &e, &b, nobody, 1);
    expect(&A, &o, CLI_RULE_LAST_ADMIN, "alice"); /* names no member */
    set_admins(&o, &e, &b, ab, 0);
    expect(&A, &o, CLI_RULE_EXTENSIONS, "alice"); /* empty */
    /* The name never changes, not even by the administrator. */
    memset(&o, 0, sizeof o);
    CHECK(cli_ext_name_encode("other", &nm) == 0);
    e.type = CLI_EXT_GROUP_NAME;
    e.data = mls_buf_view(&nm);
    o.set_extensions = &e;
    o.n_set_extensions = 1;
    expect(&A, &o, CLI_RULE_EXTENSIONS, "alice");
    expect(&Bb, &o, CLI_RULE_NOT_ADMIN, "bob");
    /* ReInit. */
    memset(&o, 0, sizeof o);
    memset(&rp, 0, sizeof rp);
    rp.suite = SUITE;
    o.reinit = &rp;
    expect(&Bb, &o, CLI_RULE_NOT_ADMIN, "bob");
    expect(&A, &o, CLI_RULE_OK, "alice");

    mls_identity_free(dave);
    mls_buf_clear(&b);
    mls_buf_clear(&kp);
    mls_buf_clear(&bundle);
    mls_buf_clear(&nm);
    group_teardown();
}

/* A member's own departure (/leave): its Remove proposal committed by
 * reference, by a non-administrator too; a non-administrator's proposal
 * to remove someone else is not a departure. */
static void test_self_remove(void)
{
    const char *a_only[] = {"alice"};
    mls_process_result res;
    mls_commit_options o;
    mls_buf prop;
    uint32_t leaf;

    group_setup(a_only, 1);
    mls_buf_init(&prop);
    memset(&o, 0, sizeof o);
    o.include_pending_proposals = 1;
    /* bob proposes to leave; carol (not an administrator) commits it. */
    CHECK_OK(mls_group_propose_remove(Bb.g, mls_group_own_leaf(Bb.g), &prop));
    memset(&res, 0, sizeof res);
    CHECK_OK(mls_group_process(C.g, mls_buf_view(&prop), &res));
    mls_process_result_clear(&res);
    memset(&res, 0, sizeof res);
    CHECK_OK(mls_group_process(A.g, mls_buf_view(&prop), &res));
    mls_process_result_clear(&res);
    {
        mls_staged_commit *sc = NULL;
        CHECK_OK(mls_group_commit(C.g, &o, &sc));
        if (sc) {
            CHECK(judge_at(&A, mls_staged_commit_message(sc), NULL, 0) == CLI_RULE_OK);
            mls_staged_commit_free(sc);
        }
    }
    mls_group_clear_pending_proposals(A.g);
    mls_group_clear_pending_proposals(C.g);
    /* carol proposes bob's removal and commits it herself. */
    CHECK_OK(mls_group_find_member(C.g, S("bob"), &leaf));
    mls_buf_reset(&prop);
    CHECK_OK(mls_group_propose_remove(C.g, leaf, &prop));
    memset(&res, 0, sizeof res);
    CHECK_OK(mls_group_process(A.g, mls_buf_view(&prop), &res));
    mls_process_result_clear(&res);
    {
        mls_staged_commit *sc = NULL;
        CHECK_OK(mls_group_commit(C.g, &o, &sc));
        if (sc) {
            CHECK(judge_at(&A, mls_staged_commit_message(sc), NULL, 0) == CLI_RULE_NOT_ADMIN);
            mls_staged_commit_free(sc);
        }
    }
    mls_buf_clear(&prop);
    group_teardown();
}

/* External commits: a member's resync is allowed; a stranger joining by
 * the GroupInfo (what a server serving its own GroupInfo could do) is
 * not. */
static void test_external(void)
{
    const char *a_only[] = {"alice"};
    static const uint16_t exts[2] = {CLI_EXT_GROUP_NAME, CLI_EXT_ADMINS};
    mls_external_join_options jo;
    mls_identity *eve = NULL;
    mls_group *joined = NULL;
    mls_buf gi, commit;
    uint32_t leaf;

    group_setup(a_only, 1);
    mls_buf_init(&gi);
    mls_buf_init(&commit);
    CHECK_OK(mls_group_group_info(A.g, 1, &gi));
    /* bob lost his state: rejoins, removing his old leaf. */
    memset(&jo, 0, sizeof jo);
    CHECK_OK(mls_group_find_member(A.g, S("bob"), &leaf));
    jo.remove_old_leaf = 1;
    jo.old_leaf = leaf;
    CHECK_OK(mls_group_external_join(env, Bb.id, mls_buf_view(&gi), &jo, &commit, &joined));
    CHECK(judge_at(&A, mls_buf_view(&commit), NULL, 0) == CLI_RULE_OK);
    CHECK(judge_at(&C, mls_buf_view(&commit), NULL, 0) == CLI_RULE_OK);
    mls_group_free(joined);
    joined = NULL;
    /* eve, a stranger, joins by the GroupInfo (her own leaf, no
     * invitation). */
    CHECK_OK(mls_identity_generate(env, SUITE, S("eve"), &eve));
    CHECK_OK(mls_identity_support_extensions(eve, exts, 2));
    mls_buf_reset(&commit);
    memset(&jo, 0, sizeof jo);
    CHECK_OK(mls_group_external_join(env, eve, mls_buf_view(&gi), &jo, &commit, &joined));
    CHECK(judge_at(&A, mls_buf_view(&commit), NULL, 0) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    CHECK(judge_at(&Bb, mls_buf_view(&commit), NULL, 0) == CLI_RULE_EXTERNAL_NOT_RESYNC);
    mls_group_free(joined);
    mls_identity_free(eve);
    mls_buf_clear(&gi);
    mls_buf_clear(&commit);
    group_teardown();
}

/* The facts a rejoin is judged on, read from a live group. */
static void test_group_facts(void)
{
    const char *a_only[] = {"alice"};
    struct cli_group_facts fa, fb;
    group_setup(a_only, 1);
    CHECK(cli_group_facts_of(A.g, &fa) == 0);
    CHECK(cli_group_facts_of(Bb.g, &fb) == 0);
    CHECK(fa.n_members == 3 && fa.has_admins && fa.has_name);
    CHECK(cli_rule_rejoin(&fa, &fb, mls_identity_signature_key(A.id), S("bob")) == CLI_RULE_OK);
    CHECK(cli_rule_rejoin(&fa, &fb, mls_identity_signature_key(C.id), S("bob")) == CLI_RULE_OK);
    cli_group_facts_clear(&fa);
    cli_group_facts_clear(&fb);
    cli_group_facts_clear(&fb); /* twice is safe */
    group_teardown();
}

int main(void)
{
    env = mls_env_default();
    test_member_commits();
    test_self_remove();
    test_external();
    test_group_facts();
    TEST_MAIN_END("client judge");
}
