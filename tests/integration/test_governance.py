"""Governance acceptance tests (issue 9, "test as the attacker would"): the
real ./server binary, and group members whose MLS objects are crafted
directly through libmls by tests/tools/mlsforge, not by the honest client.

A group with an administrator (alice) and two members (bob, honest;
mallory, hostile).  Each attack of issue 9 is replayed against the server;
for each: the server refuses it with `invalid_commit` and the rule of
docs/PROTOCOL.md section 7, and nothing changed (epoch, log, roster,
stored GroupInfo, SQLite integrity); then an honest commit by the
administrator is still accepted and every member agrees on the epoch
authenticator.  The honest paths (admin adds and removes, self-update,
resync external commit, leave by self-remove proposal) are accepted.

Usage: python3 tests/integration/test_governance.py ./server build/rel/bin/mlsforge ./client
       [name-substring]
"""

import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dsclient import Identity, Server, b64, u16, u64, unb64, vec  # noqa: E402
import clientlib  # noqa: E402

BINARY = None
FORGE = None
CLIENT = None


class Fail(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Fail(what)


def ok(resp, what=""):
    expect(resp.get("ok") is True, "%s: expected ok, got %s" % (what, resp))
    return resp


def forge(*args):
    """mlsforge's stdout (stripped); a failure is a test failure."""
    r = subprocess.run([FORGE] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise Fail("mlsforge %s failed: %s" % (args[0], r.stderr.strip()))
    return r.stdout.strip()


def forge_json(*args):
    return json.loads(forge(*args))


class ForgeIdentity(Identity):
    """A user whose Ed25519 key lives in an mlsforge identity file; the
    login challenge is signed by mlsforge (docs/PROTOCOL.md section 3)."""

    def __init__(self, username, keyfile):
        self.username = username
        self.suite = 1
        self.keyfile = keyfile
        self.pk = unb64(forge("identity", username, keyfile))

    def auth_signature(self, action, nonce, timestamp, username=None):
        content = (vec(action.encode()) + vec(nonce) + u64(timestamp) +
                   vec((username or self.username).encode()) + u16(self.suite) + vec(self.pk))
        return unb64(forge("sign", self.keyfile, "mlschat auth v1", b64(content)))


class Member:
    """One user: a server connection and, once in the group, an MLS state
    file with a log cursor."""

    def __init__(self, srv, tmp, name):
        self.name = name
        self.tmp = tmp
        self.ident = ForgeIdentity(name, os.path.join(tmp, name + ".key"))
        self.c = srv.client(self.ident)
        ok(self.c.register(), "register " + name)
        self.state = os.path.join(tmp, name + ".state")
        self.cursor = 0
        self.bundle = None
        self.texts = []  # application messages received, (sender, text)

    def key_package(self):
        self.bundle = os.path.join(self.tmp, self.name + ".bundle")
        return forge("kp", self.ident.keyfile, self.bundle)

    def info(self):
        return forge_json("info", self.state)

    def epoch(self):
        return self.info()["epoch"]

    def leaf(self):
        return self.info()["leaf"]

    def leaf_of(self, name):
        return [m["leaf"] for m in self.info()["members"] if m["identity"] == name][0]

    def epoch_auth(self):
        return forge("epoch-auth", self.state)

    def request(self, type_, **fields):
        return self.c.request(type_, **fields)

    def send_commit(self, out, group="lobby", epoch=None, add=None, remove=None):
        """Sends mlsforge commit output; on acceptance adopts the next
        state.  add / remove: the roster changes declared in the request
        (recipients, add, remove), which the server must find equal to what
        it derives from the commit (docs/PROTOCOL.md section 7.4); by
        default nothing is declared."""
        req = dict(group=group, epoch=self.epoch() if epoch is None else epoch,
                   commit=out["commit"])
        if out["welcomes"]:
            req["welcomes"] = [{"welcome": w} for w in out["welcomes"]]
            if add:
                req["welcomes"][0]["recipients"] = add
        if add:
            req["add"] = add
        if remove:
            req["remove"] = remove
        if out.get("group_info") is not None:
            req["group_info"] = out["group_info"]
        r = self.c.request("group.commit", **req)
        nxt = self.state + ".next"
        if r.get("ok") and os.path.exists(nxt):
            os.replace(nxt, self.state)
            self.cursor = r["seq"]
        elif os.path.exists(nxt):
            os.unlink(nxt)
        return r

    def commit(self, *opts, group="lobby", add=None, remove=None):
        return self.send_commit(forge_json("commit", self.state, *opts), group=group, add=add,
                                remove=remove)

    def join_from_inbox(self, group="lobby"):
        r = ok(self.c.request("inbox.fetch"), "inbox.fetch")
        entries = [e for e in r["entries"] if e["group"] == group]
        expect(len(entries) == 1, "%s has one invitation to %s: %s" % (self.name, group, r))
        e = entries[0]
        forge("join", self.ident.keyfile, self.bundle, e["welcome"], self.state)
        self.cursor = e["seq"]
        ok(self.c.request("inbox.ack", ids=[e["inbox_id"]]), "inbox.ack")

    def catch_up(self, group="lobby"):
        """Processes the log after the cursor (own entries were adopted
        when the server accepted them)."""
        while True:
            r = ok(self.c.request("log.fetch", group=group, after=self.cursor, limit=100),
                   self.name + " log.fetch")
            for e in r["entries"]:
                if e["sender"] != self.name:
                    res = forge_json("process", self.state, e["message"])
                    if res["kind"] == "application":
                        self.texts.append((e["sender"], unb64(res["data"]).decode()))
                self.cursor = e["seq"]
            if not r["more"]:
                return


    def say(self, text, group="lobby"):
        ok(self.c.request("group.send", group=group,
                          message=forge("protect", self.state, text)), self.name + " says")


def whole_log(member, group="lobby"):
    entries, after = [], 0
    while True:
        r = ok(member.request("log.fetch", group=group, after=after, limit=500), "log.fetch")
        entries += r["entries"]
        if not r["more"]:
            return entries
        after = entries[-1]["seq"]


def integrity(srv):
    db = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True, timeout=10)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def snapshot(srv, admin, group="lobby"):
    """What a refused commit must leave as it was: group.info (epoch,
    roster with roles, stored GroupInfo, last_seq) and the whole log."""
    info = ok(admin.request("group.info", name=group), "group.info")
    info.pop("id", None)
    return {"info": info, "log": whole_log(admin, group)}


class Group:
    """A server, alice (creator, the only administrator), bob and mallory
    (members), carol and dave (registered, not in the group)."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="mlschat-gov-")
        self.srv = Server(BINARY).start()
        try:
            self.alice = Member(self.srv, self.tmp, "alice")
            self.bob = Member(self.srv, self.tmp, "bob")
            self.mallory = Member(self.srv, self.tmp, "mallory")
            self.carol = Member(self.srv, self.tmp, "carol")
            self.dave = Member(self.srv, self.tmp, "dave")
            a = self.alice
            out = forge_json("create", a.ident.keyfile, a.state, "lobby")
            ok(a.request("group.create", name="lobby", group_id=out["group_id"], epoch=0,
                         group_info=out["group_info"]), "group.create")
            self.group_id = out["group_id"]
            # Honest path: the administrator adds two members.
            ok(a.commit("--add", self.bob.key_package(), "--add", self.mallory.key_package(),
                        add=["bob", "mallory"]), "alice adds bob and mallory")
            self.bob.join_from_inbox()
            self.mallory.join_from_inbox()
            self.members = [self.alice, self.bob, self.mallory]
            self.agree()
            self.roster({"alice": "admin", "bob": "member", "mallory": "member"})
        except BaseException:
            self.close()
            raise

    def close(self):
        self.srv.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def roster(self, want):
        info = ok(self.alice.request("group.info", name="lobby"), "group.info")
        got = {m["username"]: m["role"] for m in info["members"]}
        expect(got == want, "roster %s, expected %s" % (got, want))
        expect(info["epoch"] == self.alice.epoch(), "server epoch %s, alice's %s"
               % (info["epoch"], self.alice.epoch()))
        return info

    def agree(self):
        """Every member processes the log; all share one epoch and epoch
        authenticator (RFC 9420 section 8.7)."""
        for m in self.members:
            m.catch_up()
        auths = {m.name: (m.epoch(), m.epoch_auth()) for m in self.members}
        expect(len(set(auths.values())) == 1, "members disagree: %s" % auths)
        return auths[self.members[0].name]

    def refused(self, member, resp, rules, before, commit=None, what=""):
        """The commit was refused with invalid_commit and one of `rules`,
        and nothing changed; then the administrator still commits and all
        agree."""
        rules = {rules} if isinstance(rules, str) else set(rules)
        expect(resp.get("ok") is False and resp.get("error") == "invalid_commit",
               "%s: expected invalid_commit, got %s" % (what, resp))
        expect(resp.get("rule") in rules,
               "%s: expected rule %s, got %s" % (what, "/".join(sorted(rules)), resp))
        expect(isinstance(resp.get("message"), str) and resp["message"],
               "%s: the refusal has a message" % what)
        if os.environ.get("GOVERNANCE_VERBOSE"):
            print("  refused %s: %s: %s" % (what, resp["rule"], resp["message"]), flush=True)
        after = snapshot(self.srv, self.alice)
        expect(after["info"] == before["info"],
               "%s: group.info changed:\n%s\n%s" % (what, before["info"], after["info"]))
        expect(after["log"] == before["log"], "%s: the log changed" % what)
        if commit is not None:
            expect(all(e["message"] != commit for e in after["log"]),
                   "%s: the refused commit is in the log" % what)
        expect(integrity(self.srv) == "ok", "%s: database integrity" % what)
        epoch = before["info"]["epoch"]
        ok(self.alice.commit(), "%s: alice's self-update after the refusal" % what)
        expect(self.alice.epoch() == epoch + 1, "alice's epoch advanced")
        self.agree()

    def attack(self, member, opts, rules, what):
        """member commits `mlsforge commit <state> opts...` and sends it."""
        before = snapshot(self.srv, self.alice)
        out = forge_json("commit", member.state, *opts)
        r = member.send_commit(out)
        self.refused(member, r, rules, before, out["commit"], what)


def with_group(fn):
    def run():
        g = Group()
        try:
            fn(g)
        finally:
            g.close()
    run.__name__ = fn.__name__
    return run


# ---------------------------------------------------------------- attacks

@with_group
def test_nonadmin_removes_admin(g):
    # An MLS Remove of the administrator; the JSON "remove" list is absent
    # (it is no longer read).
    g.attack(g.mallory, ["--remove", g.mallory.leaf_of("alice")], "admin_required",
             "mallory removes alice")
    # Declaring nothing and removing bob is refused the same way.
    g.attack(g.mallory, ["--remove", g.mallory.leaf_of("bob")], "admin_required",
             "mallory removes bob")
    g.roster({"alice": "admin", "bob": "member", "mallory": "member"})


@with_group
def test_nonadmin_renames_credential(g):
    # Her path leaf says "bob" (same key), alone...
    g.attack(g.mallory, ["--rename", "bob"], "identity", "mallory renames her leaf to bob")
    # ...and together with an administrator list naming "bob" (both rules
    # are broken; docs/PROTOCOL.md does not order them).
    g.attack(g.mallory, ["--rename", "bob", "--admins", "alice,bob"],
             ("identity", "admin_required"), "mallory renames to bob and makes bob admin")
    g.roster({"alice": "admin", "bob": "member", "mallory": "member"})


@with_group
def test_junk_commit_with_group_info(g):
    # A self-update whose membership tag does not verify, with her own
    # (valid) GroupInfo of the epoch it claims to start.
    g.attack(g.mallory, ["--junk"], "mls", "mallory's junk commit with GroupInfo")


@with_group
def test_junk_commit_without_group_info(g):
    # Both the commit and the missing GroupInfo are wrong; either rule.
    g.attack(g.mallory, ["--junk", "--no-group-info"], ("mls", "group_info"),
             "mallory's junk commit without GroupInfo")
    # The administrator's junk commit is refused too.
    g.attack(g.alice, ["--junk"], "mls", "alice's junk commit")


@with_group
def test_nonadmin_add(g):
    g.attack(g.mallory, ["--add", g.dave.key_package()], "admin_required", "mallory adds dave")
    expect(not ok(g.dave.request("inbox.fetch"))["entries"], "dave got no Welcome")
    g.roster({"alice": "admin", "bob": "member", "mallory": "member"})


@with_group
def test_nonadmin_admin_list_change(g):
    g.attack(g.mallory, ["--admins", "alice,mallory"], "admin_required",
             "mallory makes herself admin")
    g.attack(g.mallory, ["--admins", "mallory"], "admin_required",
             "mallory replaces the admin list")
    g.roster({"alice": "admin", "bob": "member", "mallory": "member"})


@with_group
def test_nonadmin_topic(g):
    # The topic (GroupContext extension 0xF002) is an administrator's, as
    # every GroupContext extension is.
    g.attack(g.mallory, ["--topic", "mallory rules"], "admin_required", "mallory sets the topic")
    g.roster({"alice": "admin", "bob": "member", "mallory": "member"})


@with_group
def test_non_resync_external_commit(g):
    gi = ok(g.alice.request("group.info", name="lobby"))["group_info"]
    # A joiner not on the roster (carol is a registered user).
    before = snapshot(g.srv, g.alice)
    out = forge_json("external", g.carol.ident.keyfile, gi, g.carol.state)
    r = g.carol.send_commit(out, epoch=before["info"]["epoch"])
    g.refused(g.carol, r, "external", before, out["commit"], "carol's external commit")
    # Mallory rejoins under her name, removing her own leaf, but with a
    # key that is not her directory key.
    gi = ok(g.alice.request("group.info", name="lobby"))["group_info"]
    before = snapshot(g.srv, g.alice)
    other = os.path.join(g.tmp, "mallory-other.key")
    forge("identity", "mallory", other)
    out = forge_json("external", other, gi, os.path.join(g.tmp, "mallory-other.state"),
                     "--remove", g.alice.leaf_of("mallory"))
    r = g.mallory.send_commit(out, epoch=before["info"]["epoch"])
    g.refused(g.mallory, r, ("external", "identity"), before, out["commit"],
              "mallory's external commit with another key")
    g.roster({"alice": "admin", "bob": "member", "mallory": "member"})


@with_group
def test_nonadmin_reinit(g):
    g.attack(g.mallory, ["--reinit"], "admin_required", "mallory's ReInit")


@with_group
def test_private_message_commit(g):
    # Otherwise honest commits, but as PrivateMessage (RFC 9420 section 6.3).
    g.attack(g.mallory, ["--private"], "not_public", "mallory's PrivateMessage self-update")
    g.attack(g.alice, ["--private", "--add", g.dave.key_package()], "not_public",
             "alice's PrivateMessage add")


@with_group
def test_commit_by_another_member(g):
    # Mallory submits a commit bob signed (a replay over her connection).
    before = snapshot(g.srv, g.alice)
    out = forge_json("commit", g.bob.state)
    os.unlink(g.bob.state + ".next")
    r = g.mallory.send_commit(out)
    g.refused(g.mallory, r, "sender", before, out["commit"], "bob's commit sent by mallory")


@with_group
def test_group_info_required(g):
    # An honest self-update, but no GroupInfo, or the GroupInfo of the
    # epoch before (not the commit's new GroupContext).
    g.attack(g.mallory, ["--no-group-info"], "group_info", "self-update without GroupInfo")
    before = snapshot(g.srv, g.alice)
    out = forge_json("commit", g.mallory.state)
    out["group_info"] = forge("group-info", g.mallory.state)
    r = g.mallory.send_commit(out)
    g.refused(g.mallory, r, "group_info", before, out["commit"], "self-update with a stale GroupInfo")


@with_group
def test_nonadmin_proposals(g):
    # A standalone Remove proposal of the administrator (group.send).
    for victim in ("alice", "bob"):
        before = snapshot(g.srv, g.alice)
        prop = forge("propose-remove", g.mallory.state, g.mallory.leaf_of(victim))
        r = g.mallory.request("group.send", group="lobby", message=prop)
        g.refused(g.mallory, r, "admin_required", before, prop,
                  "mallory proposes to remove " + victim)


@with_group
def test_admin_bad_adds(g):
    # Even the administrator cannot add a user the directory does not
    # know, a user under a key that is not the directory's, or a member
    # without a Welcome.
    zed = os.path.join(g.tmp, "zed.key")
    forge("identity", "zed", zed)
    kp = forge("kp", zed, os.path.join(g.tmp, "zed.bundle"))
    g.attack(g.alice, ["--add", kp], "identity", "alice adds unregistered zed")
    fake = os.path.join(g.tmp, "dave-fake.key")
    forge("identity", "dave", fake)
    kp = forge("kp", fake, os.path.join(g.tmp, "dave-fake.bundle"))
    g.attack(g.alice, ["--add", kp], "identity", "alice adds dave under another key")
    before = snapshot(g.srv, g.alice)
    out = forge_json("commit", g.alice.state, "--add", g.dave.key_package())
    out["welcomes"] = []
    r = g.alice.send_commit(out)
    g.refused(g.alice, r, "welcome", before, out["commit"], "alice adds dave without Welcome")
    expect(not ok(g.dave.request("inbox.fetch"))["entries"], "dave got no Welcome")


@with_group
def test_admin_extension_rules(g):
    # The administrator cannot rename the group (its name extension), empty
    # the administrator list or name a non-member.
    g.attack(g.alice, ["--name", "other"], "extensions", "alice changes the group name")
    g.attack(g.alice, ["--admins", ""], ("extensions", "last_admin"),
             "alice empties the admin list")
    g.attack(g.alice, ["--admins", "alice,carol"], "extensions", "alice names carol admin")
    # Handing the role over to bob while removing him leaves nobody.
    g.attack(g.alice, ["--admins", "bob", "--remove", g.alice.leaf_of("bob")],
             ("extensions", "last_admin"), "alice hands over to bob and removes him")
    g.roster({"alice": "admin", "bob": "member", "mallory": "member"})


@with_group
def test_admin_topic_bounds(g):
    # The server bounds the topic (512 bytes) and wants it well formed; an
    # administrator's topic within the bound is accepted and all agree.
    g.attack(g.alice, ["--topic", "x" * 513], "extensions", "alice's oversized topic")
    ok(g.alice.commit("--topic", "y" * 512), "alice sets a 512-byte topic")
    g.agree()
    ok(g.alice.commit("--topic", "welcome"), "alice changes the topic")
    g.agree()


# ---------------------------------------------------------------- honest paths

@with_group
def test_registered_rename(g):
    # Bob renames himself in the directory (same user id, same key), then
    # commits his leaf under the new name: allowed.
    ok(g.bob.request("user.rename", username="robert"), "bob renames to robert")
    ok(g.bob.commit("--rename", "robert"), "robert's leaf under his new name")
    g.bob.name = "robert"
    g.agree()
    g.roster({"alice": "admin", "robert": "member", "mallory": "member"})
    # Mallory cannot take the name bob left behind without the directory.
    g.attack(g.mallory, ["--rename", "bob"], "identity", "mallory takes the old name bob")


@with_group
def test_member_commits_self_remove_proposal(g):
    # A non-administrator may commit another member's own removal proposal
    # (by reference): bob leaves, mallory commits it.
    prop = forge("propose-remove", g.bob.state, g.bob.leaf())
    ok(g.bob.request("group.send", group="lobby", message=prop), "bob's self-remove proposal")
    g.alice.catch_up()
    g.mallory.catch_up()
    ok(g.mallory.commit("--pending"), "mallory commits bob's leave")
    g.members.remove(g.bob)
    g.bob.catch_up()
    expect(g.bob.info()["active"] is False, "bob has left")
    g.agree()
    g.roster({"alice": "admin", "mallory": "member"})


@with_group
def test_honest_paths(g):
    # A member's self-update.
    ok(g.bob.commit(), "bob's self-update")
    g.agree()
    # The administrator adds and removes.
    # Recipients undeclared: the server derives them from the Welcome.
    ok(g.alice.commit("--add", g.dave.key_package()), "alice adds dave")
    g.dave.join_from_inbox()
    g.members.append(g.dave)
    g.agree()
    g.roster({"alice": "admin", "bob": "member", "mallory": "member", "dave": "member"})
    # Declared lists, if present, must be right.
    ok(g.alice.commit("--remove", g.alice.leaf_of("dave"), remove=["dave"]), "alice removes dave")
    g.members.remove(g.dave)
    g.dave.catch_up()
    expect(g.dave.info()["active"] is False, "dave knows he was removed")
    g.agree()
    g.roster({"alice": "admin", "bob": "member", "mallory": "member"})
    # The administrator shares the role, then the new administrator adds.
    ok(g.alice.commit("--admins", "alice,bob"), "alice makes bob admin")
    g.agree()
    g.roster({"alice": "admin", "bob": "admin", "mallory": "member"})
    ok(g.bob.commit("--add", g.carol.key_package(), add=["carol"]), "bob (admin) adds carol")
    g.carol.join_from_inbox()
    g.members.append(g.carol)
    g.agree()


@with_group
def test_resync_external_commit(g):
    # Bob lost his state: an external commit from the stored GroupInfo that
    # removes his own old leaf.  The roster does not change.
    gi = ok(g.bob.request("group.info", name="lobby"))["group_info"]
    epoch = g.bob.epoch()
    out = forge_json("commit", g.bob.state, "--external-from", gi, "--resync")
    r = ok(g.bob.send_commit(out, epoch=epoch), "bob's resync")
    expect(r["epoch"] == epoch + 1, "the resync starts the next epoch")
    g.agree()
    g.roster({"alice": "admin", "bob": "member", "mallory": "member"})
    ok(g.alice.commit(), "alice's self-update after the resync")
    g.agree()


@with_group
def test_leave_by_self_remove(g):
    # Bob proposes his own removal (allowed to a member); alice commits it
    # by reference.
    prop = forge("propose-remove", g.bob.state, g.bob.leaf())
    ok(g.bob.request("group.send", group="lobby", message=prop), "bob's self-remove proposal")
    g.alice.catch_up()
    g.mallory.catch_up()
    ok(g.alice.commit("--pending"), "alice commits bob's leave")
    g.members.remove(g.bob)
    g.bob.catch_up()
    expect(g.bob.info()["active"] is False, "bob has left")
    g.agree()
    g.roster({"alice": "admin", "mallory": "member"})


@with_group
def test_create_checked(g):
    # group.create with a GroupInfo whose administrator is someone else, or
    # whose name differs from the request's, is refused.
    k = g.mallory.ident.keyfile
    st = os.path.join(g.tmp, "evil.state")
    out = forge_json("create", k, st, "other")
    r = g.mallory.request("group.create", name="evil", group_id=out["group_id"], epoch=0,
                          group_info=out["group_info"])
    expect(r.get("error") == "invalid_commit" and r.get("rule") == "extensions",
           "group.create with another name: %s" % r)
    # The GroupInfo of alice's group, claimed by mallory.
    gi = ok(g.alice.request("group.info", name="lobby"))["group_info"]
    r = g.mallory.request("group.create", name="evil2", group_id=g.group_id,
                          epoch=g.alice.epoch(), group_info=gi)
    expect(r.get("ok") is False, "group.create with another group's GroupInfo: %s" % r)
    r = g.mallory.request("group.create", name="evil3", group_id=out["group_id"], epoch=0)
    expect(r.get("ok") is False, "group.create without GroupInfo: %s" % r)
    expect(ok(g.mallory.request("group.info", name="evil"))["exists"] is False, "no group evil")
    expect(integrity(g.srv) == "ok", "database integrity")


@with_group
def test_real_client_follows(g):
    # An honest real ./client (line mode) is added by alice, sees the
    # attacks refused without noticing anything, and keeps exchanging
    # messages with the mlsforge members.
    cfg = os.path.join(g.tmp, "cfg-rob")
    rob = clientlib.Client(CLIENT, "http://127.0.0.1:%d" % g.srv.port, cfg, "lobby", "rob",
                           g.tmp)
    try:
        def claim():
            r = g.alice.request("kp.claim", username="rob")
            return r if r.get("ok") else None
        kp = clientlib.poll(claim, "rob's KeyPackages on the server")["key_package"]
        kp = b64(u16(1) + u16(5) + unb64(kp))  # MLSMessage of a bare KeyPackage
        ok(g.alice.commit("--add", kp, add=["rob"]), "alice adds rob")
        g.agree()
        g.alice.say("hello-1")
        rob.wait_for(clientlib.msg("lobby", "alice", "hello-1"))
        for opts, rules, what in (
                (["--remove", g.mallory.leaf_of("alice")], "admin_required",
                 "mallory removes alice"),
                (["--junk"], "mls", "mallory's junk commit"),
                (["--admins", "mallory"], "admin_required", "mallory takes the admin role")):
            g.attack(g.mallory, opts, rules, what)
        g.alice.say("hello-2")
        rob.wait_for(clientlib.msg("lobby", "alice", "hello-2"))
        rob.say("hi from rob")
        clientlib.poll(lambda: (g.alice.catch_up() or ("rob", "hi from rob") in g.alice.texts),
                       "alice reads rob's message")
        expect(rob.find("misbehav|cannot|refus") is None,
               "rob saw no error: %s" % "\n".join(rob.snapshot()))
        g.roster({"alice": "admin", "bob": "member", "mallory": "member", "rob": "member"})
    finally:
        rob.kill()


@with_group
def test_welcome_into_known_group(g):
    # A misbehaving server (a rewriting proxy in front of rob) hands rob a
    # Welcome into *another* MLS group under the name of the group he is
    # in, then was removed from: mallory made that group herself, named it
    # "lobby" in its GroupContext and added rob with a KeyPackage of his
    # she claimed.  The server really stored a Welcome of mallory's decoy
    # group for rob; the proxy renames it.  rob ignores it while he is in
    # lobby, refuses it after his removal (issue 9, safe rejoin: "the same
    # for a Welcome into a group the client was in"), and his stored group
    # stays the one he knew.
    fake = {}

    def rewrite(obj):
        for e in [obj] + list(obj.get("entries") or []):
            if e.get("group") in fake and e.get("welcome"):
                e["welcome"], e["group_id"] = fake[e["group"]]
                e["group"] = "lobby"
        return obj

    proxy = clientlib.RewritingProxy(g.srv.port, rewrite)
    cfg = os.path.join(g.tmp, "cfg-rob")
    rob = clientlib.Client(CLIENT, proxy.url, cfg, "lobby", "rob", g.tmp)

    def rob_kp():
        r = clientlib.poll(lambda: (lambda r: r if r.get("ok") else None)(
            g.mallory.request("kp.claim", username="rob")), "rob's KeyPackages")
        return b64(u16(1) + u16(5) + unb64(r["key_package"]))

    def decoy(name):
        # The fake "lobby" (never on the server) and the real decoy group
        # whose Welcome for rob the proxy replaces with the fake one.
        st = os.path.join(g.tmp, name + "-fake.state")
        out = forge_json("create", g.mallory.ident.keyfile, st, "lobby")
        fw = forge_json("commit", st, "--add", rob_kp())["welcomes"][0]
        fake[name] = (fw, out["group_id"])
        st2 = os.path.join(g.tmp, name + ".state")
        out2 = forge_json("create", g.mallory.ident.keyfile, st2, name)
        ok(g.mallory.request("group.create", name=name, group_id=out2["group_id"], epoch=0,
                             group_info=out2["group_info"]), "group.create " + name)
        dm = Member.__new__(Member)
        dm.__dict__.update(g.mallory.__dict__)
        dm.state = st2
        ok(dm.commit("--add", rob_kp(), group=name, add=["rob"]), "mallory adds rob to " + name)

    try:
        r = clientlib.poll(lambda: (lambda r: r if r.get("ok") else None)(
            g.alice.request("kp.claim", username="rob")), "rob's KeyPackages on the server")
        ok(g.alice.commit("--add", b64(u16(1) + u16(5) + unb64(r["key_package"])),
                          add=["rob"]), "alice adds rob")
        g.agree()
        rob.wait_for(r"you joined #lobby, invited by alice")
        db = glob.glob(os.path.join(cfg, "rob@*.db"))[0]

        def stored():
            con = sqlite3.connect(db, timeout=10)
            try:
                return con.execute("SELECT group_id FROM groups WHERE name = 'lobby'").fetchall()
            finally:
                con.close()

        known = stored()
        expect(len(known) == 1 and known[0][0] == unb64(g.group_id), "rob stored lobby")
        m = rob.mark()
        decoy("decoy1")
        rob.wait_for(r"an invitation to another group named #lobby was ignored", m)
        g.alice.say("still-1")
        rob.wait_for(clientlib.msg("lobby", "alice", "still-1"), m)
        expect(stored() == known, "rob's lobby unchanged while a member")

        m = rob.mark()
        ok(g.alice.commit("--remove", g.alice.leaf_of("rob"), remove=["rob"]), "alice removes rob")
        g.agree()
        rob.wait_for(r"you were removed from #lobby by alice", m)
        decoy("decoy2")
        rob.wait_for(r"REFUSED: the invitation to #lobby from mallory is for another MLS group "
                     r"than the #lobby this client was in; ignored", m)
        expect(rob.count(r"you joined #lobby, invited by mallory") == 0, "rob did not join")
        expect(stored() == known, "rob's stored lobby is still the group he knew")
        g.alice.say("after")
        time.sleep(0.5)
        expect(rob.count(r"after") == 0, "rob reads nothing after his removal")
    finally:
        rob.kill()
        proxy.stop()


TESTS = [v for k, v in sorted(globals().items()) if k.startswith("test_")]


def main():
    global BINARY, FORGE, CLIENT
    BINARY = sys.argv[1]
    FORGE = os.path.abspath(sys.argv[2])
    CLIENT = os.path.abspath(sys.argv[3])
    only = sys.argv[4] if len(sys.argv) > 4 else ""
    failed = []
    for t in TESTS:
        if only not in t.__name__:
            continue
        start = time.time()
        try:
            t()
            print("PASS %s (%.1fs)" % (t.__name__, time.time() - start), flush=True)
        except Exception:
            failed.append(t.__name__)
            print("FAIL %s" % t.__name__, flush=True)
            traceback.print_exc()
    print("%d failed%s" % (len(failed), (": " + " ".join(failed)) if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
