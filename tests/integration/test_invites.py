#!/usr/bin/env python3
"""Invitations that need consent and the group topic (issue 11, items 4
and 5) with the real server and real clients in line mode: an invitation
to a group the user did not ask for waits (/invites) and shows nothing
until /join; /decline leaves the group and forgets it, also across a
restart; /topic set by an administrator is seen by all and on join, a
non-administrator's /topic is refused locally, and a non-administrator's
topic commit crafted through libmls (tests/tools/mlsforge) is refused by
the server and, delivered by a misbehaving server, by the client.
Usage: test_invites.py CLIENT SERVER [test-name]"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_client  # noqa: E402  (its Env, invite and talk; same argv)
from test_client import client_db, db_exec, invite, talk  # noqa: E402
from clientlib import (RewritingProxy, TestFailure, Tmux, have_tmux, msg, poll,  # noqa: E402
                       sanitizer_env)
import dsclient  # noqa: E402

ONLY = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None


def command(c, line, pattern):
    m = c.mark()
    c.say(line)
    return c.wait_for(pattern, m)


def stored(env, user, group, text):
    """1 when user's local history of group holds a line with text."""
    rows = db_exec(client_db(env, user), "SELECT text FROM history WHERE grp = ?", group)
    return any(text in (r[0] or "") for r in rows)


def second_group(env):
    """alice and bob in #one (bob asked for it); alice creates #two and
    invites bob, who did not ask for it."""
    a = env.client("one", "alice")
    a.wait_for(r"created #one")
    b = env.client("one", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "one", "bob")
    command(a, "/join --create two", r"created #two")
    m = b.mark()
    a.say("/invite bob")
    a.wait_for(r"you invited bob to #two")
    b.wait_for(r"^\*\*\* alice invited you to #two: /join two or /decline two$", m)
    return a, b


def test_invitation_waits_for_join(env):
    a, b = second_group(env)
    # Not among bob's groups; its messages are stored, not shown.
    m = b.mark()
    b.say("/groups")
    b.wait_for(r"1 #one", m)
    time.sleep(0.5)
    assert b.count(r"#two", m) == 0, b.snapshot()
    ma = a.mark()
    a.say("said before bob joined")
    a.wait_for(msg("two", "alice", "said before bob joined"), ma)
    poll(lambda: stored(env, "bob", "two", "said before bob joined"),
         "bob's client stores #two's message")
    assert b.count(r"said before bob joined") == 0, b.snapshot()
    command(b, "/invites", r"^\*\*\*   #two  from alice  \d{4}-\d\d-\d\d \d\d:\d\d$")
    m = b.mark()
    b.say("/switch two")
    b.wait_for(r"you are not a member of #two", m)
    # /join accepts: the group opens with what it stored since.
    m = b.mark()
    b.say("/join two")
    b.wait_for(msg("two", "alice", "said before bob joined"), m)
    b.wait_for(r"you joined #two, invited by alice", m)
    talk(a, "said after bob joined", "two", b)
    talk(b, "bob in two", "two", a)
    command(b, "/invites", r"no pending invitations")
    command(b, "/groups", r"2 #two  2 members")
    for who in (a, b):
        assert who.quit() == 0


def test_decline(env):
    a, b = second_group(env)
    # The invitation survives a restart (the client store).
    assert b.quit() == 0
    b2 = env.client("one", "bob", name="bob2")
    b2.wait_for(r"alice invited you to #two: /join two or /decline two")
    command(b2, "/invites", r"#two  from alice")
    ma = a.mark()
    m = b2.mark()
    b2.say("/decline two")
    b2.wait_for(r"you declined the invitation to #two from alice", m)
    # alice's client commits bob's self-remove proposal.
    a.wait_for(r"bob left #two", ma)
    b2.wait_for(r"you left #two \(the invitation you declined\)", m)
    m = a.mark()
    a.say("/list")
    a.wait_for(r"members of #two \(1\):", m)
    time.sleep(0.3)
    assert a.count(r"^\*\*\*   bob", m) == 0, a.snapshot()
    command(b2, "/invites", r"no pending invitations")
    assert b2.quit() == 0
    # Forgotten: no row, no history, nothing after a restart.
    db = client_db(env, "bob")
    assert db_exec(db, "SELECT name FROM groups WHERE name = 'two'") == []
    assert db_exec(db, "SELECT text FROM history WHERE grp = 'two'") == []
    b3 = env.client("one", "bob", name="bob3")
    b3.wait_for(r"logged in as bob")
    command(b3, "/groups", r"1 #one")
    command(b3, "/invites", r"no pending invitations")
    assert b3.count(r"#two") == 0, b3.snapshot()
    command(a, "/switch one", r"now talking in #one")
    talk(a, "one goes on", "one", b3)
    for who in (a, b3):
        assert who.quit() == 0


def test_topic(env):
    a = env.client("g", "alice")
    a.wait_for(r"created #g")
    b = env.client("g", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "g", "bob")
    command(a, "/topic", r"#g has no topic")
    m = b.mark()
    command(a, "/topic Welcome to g, be nice", r"you set the topic: Welcome to g, be nice")
    b.wait_for(r"^\*\*\* alice set the topic: Welcome to g, be nice$", m)
    command(b, "/topic", r"^\*\*\* topic of #g: Welcome to g, be nice$")
    command(b, "/topic mine now", r"^!!! only administrators of #g can set its topic$")
    command(a, "/topic " + "x" * 600, r"the topic is not set: at most 512 bytes")
    # Shown on join.
    c = env.client("g", "carol")
    c.wait_for(r"must /invite carol")
    m = c.mark()
    invite(a, c, "g", "carol")
    c.wait_for(r"topic of #g: Welcome to g, be nice", m)
    talk(b, "still here", "g", a, c)
    for who in (a, b, c):
        assert who.quit() == 0


def test_forged_topic(env):
    """mallory, a member who is not an administrator, crafts a topic
    commit through libmls: the server refuses it (invalid_commit,
    admin_required, the log unchanged); a misbehaving server (a rewriting
    proxy in front of bob) delivers it in place of her honest key update,
    and bob's client refuses it loudly."""
    forge = os.path.join(os.path.dirname(test_client.CLIENT), "mlsforge")
    if os.path.exists(forge):
        os.environ.setdefault("MLSFORGE", forge)
    import mlsmember
    forged = {}

    def rewrite(obj):
        for e in ([obj] if obj.get("event") == "log" else []) + (obj.get("entries") or []):
            if e.get("message") in forged:
                e["message"] = forged[e["message"]]
        return obj

    pb = RewritingProxy(env.server.port, rewrite)
    env.proxies.append(pb)
    a = env.client("g", "alice")
    a.wait_for(r"created #g")
    b = env.client("g", "bob", url=pb.url)
    b.wait_for(r"must /invite bob")
    invite(a, b, "g", "bob")
    mallory = mlsmember.ForgeIdentity("mallory")
    mc = dsclient.Client(env.server.port, mallory)
    mlsmember.ok(mc.register(), "register mallory")
    mlsmember.ok(mc.request("kp.upload", key_packages=[mallory.key_package_b64()]), "kp")
    command(a, "/invite mallory", r"you invited mallory to #g")
    mlsmember.join(mc, "g")
    talk(a, "mallory is in", "g", b)

    def log():
        r = mlsmember.ok(mc.request("log.fetch", group="g", after=0, limit=500), "log.fetch")
        return [(e["seq"], e["message"]) for e in r["entries"]]

    before = log()
    out = mlsmember.forge_json("commit", mallory.snapshot("g"), "--topic", "mallory rules")
    r = mlsmember.send_commit(mc, "g", out)
    mlsmember.refused_rule(r, "admin_required", "mallory's topic")
    assert log() == before, "the log changed"
    # The same forged commit, delivered to bob by a misbehaving server in
    # place of the honest commit of the same epoch.
    snap = mallory.snapshot("g")
    out = mlsmember.forge_json("commit", snap, "--topic", "mallory rules")
    honest = mlsmember.forge_json("commit", mallory.state("g"))
    forged[honest["commit"]] = out["commit"]
    ma, mb = a.mark(), b.mark()
    mlsmember.ok(mlsmember.send_commit(mc, "g", honest), "mallory's key update")
    b.wait_for(r"^!!! REFUSED: a commit to #g by mallory \(log \d+\) breaks rule admin_required: ",
               mb)
    a.wait_for(r"mallory updated their keys in #g", ma)
    assert b.count(r"mallory rules") == 0 and a.count(r"mallory rules") == 0
    command(a, "/topic", r"#g has no topic")
    mc.close()
    for who in (a, b):
        who.quit()


def test_curses_topic_and_invitation(env):
    """On the full screen: the topic in the status line; an invitation
    to another group is a notice, not a group, until /join opens it with
    its history."""
    if not have_tmux():
        raise TestFailure("tmux is not installed (scripts/deps.sh installs it)")
    env.tmux = t = Tmux(env.tmp)
    a = env.client("g", "alice")
    a.wait_for(r"created #g")
    cfg = os.path.join(env.tmp, "cfg-bob")
    t.start("b", [test_client.CLIENT, "--server", env.server.url, "--config", cfg, "g", "bob"],
            env=dict({"LANG": "C.UTF-8", "TERM": "xterm-256color"}, **sanitizer_env(env.tmp)))
    t.wait_screen("b", r"an administrator must /invite bob")
    a.say("/invite bob")
    t.wait_screen("b", r"you joined #g, invited by alice")
    command(a, "/topic Plans for the week", r"you set the topic: Plans for the week")
    t.wait_screen("b", r"-- alice set the topic: Plans for the week$")
    t.wait_screen("b", r"bob \| #g \| 2 members \| connected.* \| Plans for the week")
    command(a, "/join --create other", r"created #other")
    command(a, "/invite bob", r"you invited bob to #other")
    t.wait_screen("b", r"-- alice invited you to #other: /join other or /decline other$")
    a.say("waiting for bob")
    poll(lambda: stored(env, "bob", "other", "waiting for bob"), "bob stores #other's message")
    s = t.screen("b")
    assert "waiting for bob" not in s and "#other(" not in s and ":#other" not in s, s
    t.type("b", "/join other")
    t.wait_screen("b", r"#other <alice>  waiting for bob$")
    t.wait_screen("b", r"bob \| #other \| 2 members")
    t.type("b", "/quit")
    poll(lambda: t.dead("b"), "bob's client to exit")
    assert a.quit() == 0


TESTS = [test_invitation_waits_for_join, test_decline, test_topic, test_forged_topic,
         test_curses_topic_and_invitation]


def main():
    return test_client.run_tests(TESTS, ONLY, "invitation and topic tests")


if __name__ == "__main__":
    sys.exit(main())
