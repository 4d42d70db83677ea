#!/usr/bin/env python3
"""Acceptance tests of ./client against the real ./server (issue 5, item 9
and the seed's story).  Usage: test_client.py CLIENT SERVER [test-name]"""

import glob
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clientlib import (Client, Proxy, RewritingProxy, Server, TestFailure, Tmux, have_tmux,
                       data_key, msg, poll, sanitizer_env, sanitizer_reports, unseal)
import dsclient

CLIENT = os.path.abspath(sys.argv[1])
SERVER = os.path.abspath(sys.argv[2])
ONLY = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None


class Env:
    """One scenario: a temporary directory, a server, clients."""

    def __init__(self, name):
        self.tmp = tempfile.mkdtemp(prefix="mlschat-client-%s-" % name)
        self.server = Server(SERVER, self.tmp).start()
        self.clients = []
        self.proxies = []
        self.tmux = None

    def client(self, group, user, config=None, url=None, name=None, extra=(), create=True):
        c = Client(CLIENT, url or self.server.url, config or os.path.join(self.tmp, "cfg-" + user),
                   group, user, self.tmp, name=name, extra=extra, create=create)
        self.clients.append(c)
        return c

    def proxy(self):
        p = Proxy(self.server.port)
        self.proxies.append(p)
        return p

    def close(self, ok):
        for c in self.clients:
            c.kill()
            with open(os.path.join(self.tmp, "out-%s.txt" % c.name), "w") as f:
                f.write("\n".join(c.snapshot()) + "\n")
        for p in self.proxies:
            p.stop()
        if self.tmux:
            self.tmux.stop()
        self.server.stop()
        if ok and not os.environ.get("CLIENT_TEST_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)


def invite(admin, member, group, user):
    """admin invites user, who is waiting; both see it."""
    m = member.mark()
    admin.say("/invite " + user)
    member.wait_for(r"you joined #%s, invited by %s" % (group, admin.user), m)
    admin.wait_for(r"you invited %s to #%s" % (user, group))


def msg_line(group, user, text):
    return "#%s <%s>  %s" % (group, user, text)


def talk(sender, text, group, *readers):
    """sender says text; every reader (and the sender) shows it once."""
    marks = [(r, r.mark()) for r in (sender,) + readers]
    sender.say(text)
    for r, m in marks:
        r.wait_for(msg(group, sender.user, text), m)


# ---------------------------------------------------------------- scenarios

def test_story(env):
    """The seed's story in line mode (the tmux test repeats it on
    terminals)."""
    # carol has used the client once (so the server has her KeyPackages),
    # and is offline for the rest of the story until she comes back.
    c0 = env.client("elsewhere", "carol")
    c0.wait_for(r"created #elsewhere")
    assert c0.quit() == 0

    a = env.client("lobby", "alice")
    # Typed before the login and before the group exists: sent once it does.
    a.say("first words")
    a.wait_for(r"created #lobby; you are its administrator")
    a.wait_for(msg("lobby", "alice", "first words"))
    # Nothing in the history yet: no history markers.
    assert a.count(r"history (begins|ends)") == 0
    b = env.client("lobby", "bob")
    b.wait_for(r"#lobby exists.*an administrator must /invite bob")
    # Typed while waiting for the invitation: kept, sent in order once
    # bob has joined.
    m = b.mark()
    b.say("early bird 1")
    b.wait_for(r"you are not a member of #lobby yet: the message is kept and sent once", m)
    b.say("early bird 2")
    invite(a, b, "lobby", "bob")
    for who in (a, b):
        who.wait_for(msg("lobby", "bob", "early bird 2"))
    early = [l for l in a.snapshot() if "early bird" in l]
    assert early == ["#lobby <bob>  early bird 1", "#lobby <bob>  early bird 2"], early
    talk(a, "hello bob", "lobby", b)
    talk(b, "hello alice, ünïcödé ✓", "lobby", a)
    assert b.quit() == 0

    talk(a, "bob is away", "lobby")
    a.say("/invite carol")
    a.wait_for(r"you invited carol to #lobby")
    talk(a, "carol is invited", "lobby")

    c = env.client("lobby", "carol")
    c.wait_for(r"you joined #lobby, invited by alice")
    c.wait_for(msg("lobby", "alice", "carol is invited"))
    # She sees nothing from before she joined.
    assert c.count(re.escape("bob is away")) == 0

    b2 = env.client("lobby", "bob", name="bob2")
    end = b2.wait_for(r"history ends")
    # History first: what he saw before leaving.
    assert b2.find(re.escape("hello alice"), 0) < end
    # Then what was said while he was away, once each.
    b2.wait_for(msg("lobby", "alice", "bob is away"), end)
    b2.wait_for(r"alice invited carol to #lobby", end)
    b2.wait_for(msg("lobby", "alice", "carol is invited"), end)
    talk(b2, "back again", "lobby", a, c)
    talk(c, "hi everyone", "lobby", a, b2)
    for who in (a, b2, c):
        assert who.count(msg("lobby", "alice", "carol is invited")) == 1, who.name

    m = a.mark()
    a.say("/list")
    a.wait_for(r"members of #lobby \(3\)", m)
    for user in ("alice", "bob", "carol"):
        a.wait_for(r"^\*\*\*   %s .*[0-9a-f]{4}(:[0-9a-f]{4}){15}  \(key matches the directory\)" % user, m)

    # Someone else claims alice's name with a new key and types at once:
    # refused, sees nothing, and the refusal is the only message (nothing
    # is judged about membership before a login).
    x = env.client("lobby", "alice", config=os.path.join(env.tmp, "cfg-impostor"),
                   name="impostor")
    x.say("typed before the login")
    x.wait_for(r"refused to register alice")
    x.proc.wait(30)
    assert x.proc.returncode != 0
    assert x.count(r"^#lobby <") == 0
    assert x.count(r"joined #lobby|created #lobby") == 0
    assert x.count(r"member") == 0, x.snapshot()
    errors = [l for l in x.snapshot() if l.startswith("!!!")]
    assert len(errors) == 1 and "refused to register alice" in errors[0], errors
    for who in (a, b2, c):
        assert who.quit() == 0


def test_live_invite_and_offline_invite(env):
    """Live invite (the invitee is connected and waiting) and invite while
    the invitee is offline (joins through the waiting invitation)."""
    d0 = env.client("solo", "dave")
    d0.wait_for(r"created #solo")
    d0.quit()
    a = env.client("team", "alice")
    a.wait_for(r"created #team")
    b = env.client("team", "bob")
    b.wait_for(r"an administrator must /invite bob")
    invite(a, b, "team", "bob")
    a.say("/invite dave")
    a.wait_for(r"you invited dave to #team")
    b.wait_for(r"alice invited dave to #team")
    talk(a, "dave will read this", "team", b)
    d = env.client("team", "dave", name="dave2")
    d.wait_for(r"you joined #team, invited by alice")
    d.wait_for(msg("team", "alice", "dave will read this"))
    talk(d, "hello from dave", "team", a, b)
    # A member who is not an administrator cannot invite.
    m = b.mark()
    b.say("/invite carol")
    b.wait_for(r"only administrators of #team can invite", m)
    # A user with no account yet: the server keeps the invitation
    # (issue 11); an existing member is refused with a reason.
    m = a.mark()
    a.say("/invite nosuchuser")
    a.wait_for(r"^\*\*\* nosuchuser cannot be added to #team yet \(no account on the server "
               r"yet\)$", m)
    a.wait_for(r"the server keeps the invitation of nosuchuser to #team", m)
    a.say("/invite bob")
    a.wait_for(r"bob is already a member of #team", m)
    # A user registered without any KeyPackage (another client program).
    ds = dsclient.Client(env.server.port, dsclient.Identity("erin"))
    assert ds.register()["ok"]
    ds.close()
    m = a.mark()
    a.say("/invite erin")
    a.wait_for(r"^\*\*\* erin cannot be added to #team yet \(no KeyPackage left on the "
               r"server\)$", m)
    a.wait_for(r"the server keeps the invitation of erin to #team", m)
    # A non-administrator cannot have one kept either.
    m = b.mark()
    b.say("/invite frank")
    b.wait_for(r"only administrators of #team can invite", m)
    for who in (a, b, d):
        assert who.quit() == 0


def test_offline_across_membership_change(env):
    """A member offline while the membership changes catches up, then
    sends, and is read."""
    for u in ("carol", "dave"):
        c = env.client("own-" + u, u)
        c.wait_for(r"created #own-" + u)
        c.quit()
    a = env.client("g", "alice")
    a.wait_for(r"created #g")
    b = env.client("g", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "g", "bob")
    b.quit()
    a.say("/invite carol")
    a.wait_for(r"you invited carol to #g")
    talk(a, "epoch moved once", "g")
    a.say("/invite dave")
    a.wait_for(r"you invited dave to #g")
    talk(a, "epoch moved twice", "g")
    b2 = env.client("g", "bob", name="bob2")
    end = b2.wait_for(r"history ends")
    b2.wait_for(r"alice invited carol to #g", end)
    b2.wait_for(msg("g", "alice", "epoch moved once"), end)
    b2.wait_for(r"alice invited dave to #g", end)
    b2.wait_for(msg("g", "alice", "epoch moved twice"), end)
    talk(b2, "caught up", "g", a)
    for who in (a, b2):
        assert who.quit() == 0


def test_restart_persisted(env):
    """State, cursor and history survive a restart; nothing is shown
    twice; the restarted member can talk."""
    a = env.client("p", "alice")
    a.wait_for(r"created #p")
    b = env.client("p", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "p", "bob")
    for i in range(3):
        talk(a, "before restart %d" % i, "p", b)
    assert a.quit() == 0
    talk(b, "while alice restarts", "p")
    a2 = env.client("p", "alice", name="alice2")
    end = a2.wait_for(r"history ends")
    for i in range(3):
        i_hist = a2.find(re.escape("before restart %d" % i))
        assert i_hist is not None and i_hist < end
    a2.wait_for(msg("p", "bob", "while alice restarts"), end)
    talk(a2, "after restart", "p", b)
    time.sleep(0.5)
    for i in range(3):
        assert a2.count(re.escape("before restart %d" % i)) == 1
    assert a2.count(msg("p", "bob", "while alice restarts")) == 1
    # A second client for the same user and config directory is refused.
    dup = env.client("p", "alice", name="alice-dup")
    dup.proc.wait(30)
    assert dup.proc.returncode != 0
    assert dup.count(r"another client is already running for alice") == 1
    # kill -9 in the middle of a conversation: state and cursor were saved
    # together, so bob resumes where he was.
    b.say("right before the crash")
    a2.wait_for(msg("p", "bob", "right before the crash"))
    b.kill()
    talk(a2, "while bob was dead", "p")
    b2 = env.client("p", "bob", name="bob2")
    end = b2.wait_for(r"history ends")
    b2.wait_for(msg("p", "alice", "while bob was dead"), end)
    talk(b2, "alive again", "p", a2)
    time.sleep(0.5)
    assert b2.count(msg("p", "alice", "while bob was dead")) == 1
    for who in (a2, b2):
        assert who.quit() == 0
    # Private keys stay private.
    cfg = os.path.join(env.tmp, "cfg-alice")
    assert (os.stat(cfg).st_mode & 0o777) == 0o700
    for f in os.listdir(cfg):
        if f.endswith(".db"):
            assert (os.stat(os.path.join(cfg, f)).st_mode & 0o777) == 0o600, f


def test_group_switching(env):
    """/join a second group, /switch between them, /groups with unread
    counts; messages go to the current group."""
    a = env.client("one", "alice")
    a.wait_for(r"created #one")
    b = env.client("one", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "one", "bob")
    m = a.mark()
    a.say("/join --create two")
    a.wait_for(r"created #two", m)
    a.wait_for(r"now talking in #two", m)
    m = b.mark()
    a.say("/invite bob")
    # bob did not ask for #two: it waits for his consent (test_invites.py).
    b.wait_for(r"alice invited you to #two: /join two or /decline two", m)
    b.say("/join two")
    b.wait_for(r"you joined #two, invited by alice", m)
    talk(a, "in two", "two", b)
    b.say("/switch one")
    b.wait_for(r"now talking in #one")
    talk(b, "in one", "one", a)
    m = a.mark()
    a.say("/groups")
    a.wait_for(r"^\*\*\* . 1 #one  2 members, 0 unread, administrator", m)
    a.wait_for(r"^\*\*\* \* 2 #two  2 members, 0 unread, administrator", m)
    a.say("/switch one")
    a.wait_for(r"now talking in #one")
    talk(a, "back in one", "one", b)
    m = a.mark()
    a.say("/switch nosuch")
    a.wait_for(r"you are not a member of #nosuch", m)
    a.say("/frobnicate")
    a.wait_for(r"unknown command /frobnicate; /help lists the commands", m)
    n = a.mark()
    a.say("")
    a.say("/help")
    a.wait_for(r"/invite user", n)
    assert a.count(r"^#", n) == 0  # the empty line sent nothing
    for who in (a, b):
        assert who.quit() == 0


def test_concurrent_commits(env):
    """Two members commit in the same epoch: the server takes one, the
    other gets stale_epoch, catches up and retries by itself."""
    d0 = env.client("x", "dave")
    d0.wait_for(r"created #x")
    d0.quit()
    proxy = env.proxy()
    a = env.client("race", "alice")
    a.wait_for(r"created #race")
    b = env.client("race", "bob", url=proxy.url)
    b.wait_for(r"must /invite bob")
    invite(a, b, "race", "bob")
    # bob's own message comes back on his connection after every answer
    # to what he asked when joining (directory lookup, inbox ack), and he
    # sends only once caught up; alice's message then shows that no
    # log.fetch of his is out when the proxy pauses.
    talk(b, "ready", "race", a)
    talk(a, "you are", "race", b)
    # bob's commit is built now but held on the wire ...
    proxy.pause()
    b.say("/update")
    proxy.wait_held(500)
    # ... while alice's commit for the same epoch is accepted.
    a.say("/invite dave")
    a.wait_for(r"you invited dave to #race")
    proxy.resume()
    b.wait_for(r"#race changed meanwhile .*retrying")
    b.wait_for(r"alice invited dave to #race")
    b.wait_for(r"you updated your keys in #race")
    a.wait_for(r"bob updated their keys in #race")
    talk(b, "still in sync", "race", a)
    talk(a, "me too", "race", b)
    for who in (a, b):
        assert who.quit() == 0


def test_reconnect_outbox(env):
    """Connection loss: reconnect with backoff, catch up, and send what was
    typed meanwhile, in order, none lost, none twice."""
    proxy = env.proxy()
    a = env.client("net", "alice")
    a.wait_for(r"created #net")
    b = env.client("net", "bob", url=proxy.url)
    b.wait_for(r"must /invite bob")
    invite(a, b, "net", "bob")
    talk(b, "before the cut", "net", a)
    proxy.cut()
    b.wait_for(r"connection to .* lost")
    talk(a, "said during the cut", "net")
    for i in range(5):
        b.say("typed offline %d" % i)
    b.wait_for(r"will be sent after reconnecting")
    proxy.restore()
    for i in range(5):
        a.wait_for(msg("net", "bob", "typed offline %d" % i))
        b.wait_for(msg("net", "bob", "typed offline %d" % i))
    b.wait_for(msg("net", "alice", "said during the cut"))
    time.sleep(1)
    order = [l for l in a.snapshot() if "typed offline" in l]
    assert order == ["#net <bob>  typed offline %d" % i for i in range(5)], order
    assert [l for l in b.snapshot() if "typed offline" in l] == order
    # A cut while messages are in flight: none lost, none duplicated.
    for i in range(5):
        b.say("in flight %d" % i)
    proxy.cut()
    time.sleep(0.3)
    proxy.restore()
    for i in range(5):
        a.wait_for(msg("net", "bob", "in flight %d" % i))
    time.sleep(1)
    for i in range(5):
        assert a.count(msg("net", "bob", "in flight %d" % i)) == 1
        assert b.count(msg("net", "bob", "in flight %d" % i)) == 1
    for who in (a, b):
        assert who.quit() == 0


def test_late_copy_and_server_failure(env):
    """Issue 11: a link that delivers its held bytes after the client
    reconnected: the late copy of a message (sent with the same msg_id)
    is answered as a duplicate, so every line arrives once; a temporary
    refusal (the server's database locked: internal/unavailable) keeps the
    entry and it is sent again, in order."""
    proxy = env.proxy()
    a = env.client("late", "alice")
    a.wait_for(r"created #late")
    b = env.client("late", "bob", url=proxy.url)
    b.wait_for(r"must /invite bob")
    invite(a, b, "late", "bob")
    talk(b, "before the hold", "late", a)
    proxy.hold()
    lines = ["held %d" % i for i in range(6)]
    for t in lines:
        b.say(t)
    poll(lambda: proxy.held_bytes() > 300, "bob's group.send held by the proxy")
    m = b.mark()
    proxy.strand()
    b.wait_for(r"connection to .* lost", m)
    for t in lines:
        a.wait_for(msg("late", "bob", t))
    proxy.release()
    talk(a, "after the late copy", "late", b)
    time.sleep(1)
    got = [l for l in a.snapshot() if l.startswith("#late <bob>  held")]
    assert got == [msg_line("late", "bob", t) for t in lines], got
    got = [l for l in b.snapshot() if l.startswith("#late <bob>  held")]
    assert got == [msg_line("late", "bob", t) for t in lines], got
    assert b.count(r"refused") == 0, "\n".join(b.snapshot())

    # The server's database refuses writes for a while: nothing is lost.
    con = sqlite3.connect(os.path.join(env.tmp, "server.db"), timeout=30, isolation_level=None)
    try:
        con.execute("BEGIN EXCLUSIVE")
        for i in range(3):
            b.say("while locked %d" % i)
        time.sleep(8)
    finally:
        con.execute("ROLLBACK")
        con.close()
    for i in range(3):
        a.wait_for(msg("late", "bob", "while locked %d" % i), timeout=90)
    got = [l for l in a.snapshot() if "while locked" in l]
    assert got == [msg_line("late", "bob", "while locked %d" % i) for i in range(3)], got
    assert b.count(r"dropped") == 0, "\n".join(b.snapshot())
    for who in (a, b):
        assert who.quit() == 0


def test_register_answer_lost(env):
    """Issue 11: the server saved a registration whose answer never came
    back; the next start is not locked out: it logs in with the same key."""
    a = env.client("reg", "alice")
    a.wait_for(r"created #reg")
    assert a.quit() == 0
    con = sqlite3.connect(client_db(env, "alice"), timeout=30, isolation_level=None)
    try:
        con.execute("UPDATE identity SET registered = 0")
    finally:
        con.close()
    a2 = env.client("reg", "alice", name="alice2")
    a2.wait_for(r"registered already: logging in with our key")
    a2.wait_for(r"registered alice")
    talk(a2, "still me", "reg")
    assert a2.quit() == 0
    a3 = env.client("reg", "alice", name="alice3")
    a3.wait_for(r"logged in as alice")
    assert a3.count(r"registered already") == 0
    assert a3.quit() == 0


def test_invite_before_first_start(env):
    """Issue 11, the seed's story: an administrator invites carol before
    she ever ran the client; the server keeps the invitation; carol's
    first start says an invitation is waiting and she joins, added by
    alice's client.  dave is invited the same way, but alice is offline
    when he first starts: her next start adds him."""
    a = env.client("lobby", "alice")
    a.wait_for(r"created #lobby")
    b = env.client("lobby", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "lobby", "bob")
    a.say("/invite carol")
    a.wait_for(r"carol cannot be added to #lobby yet \(no account on the server yet\)")
    a.wait_for(r"the server keeps the invitation of carol to #lobby")
    a.say("/invite dave")
    a.wait_for(r"the server keeps the invitation of dave to #lobby")
    c = env.client("lobby", "carol")
    c.wait_for(r"an invitation to #lobby from alice is waiting")
    c.wait_for(r"you joined #lobby, invited by alice")
    a.wait_for(r"you invited carol to #lobby")
    b.wait_for(r"alice invited carol to #lobby")
    talk(c, "hi, I am new here", "lobby", a, b)
    assert a.quit() == 0
    d = env.client("lobby", "dave")
    d.wait_for(r"an invitation to #lobby from alice is waiting")
    a2 = env.client("lobby", "alice", name="alice2")
    d.wait_for(r"you joined #lobby, invited by alice")
    talk(d, "dave too", "lobby", a2, b, c)
    # Nothing is pending any more: a new start adds nobody.
    assert a2.quit() == 0
    a3 = env.client("lobby", "alice", name="alice3")
    a3.wait_for(r"logged in as alice")
    time.sleep(1)
    assert a3.count(r"has started the client") == 0, "\n".join(a3.snapshot())
    for who in (a3, b, c, d):
        assert who.quit() == 0


def test_line_mode_input(env):
    """Issue 11: a mistyped command gets a "did you mean"; a line longer
    than any message may be is refused whole with an error, never cut into
    pieces that are sent; /help says /quit exits the program."""
    a = env.client("inp", "alice")
    a.wait_for(r"created #inp")
    m = a.mark()
    a.say("/invte bob")
    a.wait_for(r"^!!! unknown command /invte; did you mean /invite\?", m)
    a.say("/gr")
    a.wait_for(r"^!!! unknown command /gr; did you mean /groups\?", m)
    a.say("/help")
    a.wait_for(r"/quit +exit the program", m)
    a.say("x" * 70000)
    a.wait_for(r"^!!! line too long \(more than 65536 bytes\): not sent$", m)
    a.say("y" * 17000)
    a.wait_for(r"^!!! message too long \(17000 bytes, at most 16000\)$", m)
    talk(a, "short again", "inp")
    talk(a, "Hello World 100%", "inp")
    talk(a, "nothing here", "inp")
    m2 = a.mark()
    a.say("/search hello")
    a.wait_for(r"^\*\*\* 1 line found$", m2)
    assert a.count(r"^\*\*\*   \d{4}-\d\d-\d\d \d\d:\d\d <alice>  Hello World 100%$", m2) == 1
    m3 = a.mark()
    a.say("/search 100%")
    a.wait_for(r"^\*\*\*   .*<alice>  Hello World 100%$", m3)
    a.say("/serch x")
    a.wait_for(r"did you mean /search\?", m2)
    time.sleep(0.5)
    assert a.count(r"^#inp <alice>  x", m) == 0 and a.count(r"^#inp <alice>  y", m) == 0
    assert a.quit() == 0
    out = subprocess.run([CLIENT, "--help"], capture_output=True, text=True).stdout
    for word in ("--server", "--config", "--ca-file", "--help", "--version", "PgUp", "Alt+1..9",
                 "/quit"):
        assert word in out, (word, out)


def test_tls(env):
    """https:// URLs use TLS: a client that trusts the server's certificate
    talks; one that does not never connects and says why."""
    cert = os.path.join(env.tmp, "cert.pem")
    key = os.path.join(env.tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    env.server.stop()
    env.server = Server(SERVER, env.tmp, tls=(cert, key)).start()
    a = env.client("secure", "alice", extra=("--ca-file", cert))
    a.wait_for(r"created #secure")
    b = env.client("secure", "bob", extra=("--ca-file", cert))
    b.wait_for(r"must /invite bob")
    invite(a, b, "secure", "bob")
    talk(b, "over TLS", "secure", a)
    m = env.client("secure", "mallory")
    m.say("never sent")
    m.wait_for(r"cannot connect to localhost:\d+ .*retrying")
    time.sleep(1)
    assert m.count(r"registered|created|joined") == 0
    # End of input: it gives up after a bounded wait, with a clear error
    # and a non-zero exit status.
    m.eof()
    assert m.wait_exit(30) == 1
    m.wait_for(r"^!!! not connected to the server: 1 message for #secure not sent yet; kept, "
               r"and sent next time$")
    for who in (a, b):
        assert who.quit() == 0


def test_line_mode_eof(env):
    """Line mode at the end of input: what was typed is sent and in the
    log before the client exits 0; lines for a group the user is not in
    yet are kept (exit 1, with the reason) and sent once invited."""
    a = env.client("eof", "alice")
    a.wait_for(r"created #eof")
    b = env.client("eof", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "eof", "bob")
    assert b.quit() == 0
    # Typed at once, then end of input (before even logging in).
    b2 = env.client("eof", "bob", name="bob2")
    b2.say("typed then eof 1")
    b2.say("typed then eof 2")
    b2.eof()
    assert b2.wait_exit(30) == 0
    for i in (1, 2):
        b2.wait_for(msg("eof", "bob", "typed then eof %d" % i))
        a.wait_for(msg("eof", "bob", "typed then eof %d" % i))
    # History exists now: shown between markers.
    b3 = env.client("eof", "bob", name="bob3")
    b3.wait_for(r"^\*\*\* history begins$")
    b3.wait_for(r"^\*\*\* history ends$")
    # The lead's case: (sleep; echo hi; sleep) | ./client ...
    b3.wait_for(r"logged in as bob")
    time.sleep(0.5)
    b3.say("hi after login")
    time.sleep(1)
    b3.eof()
    assert b3.wait_exit(20) == 0
    a.wait_for(msg("eof", "bob", "hi after login"))
    # dave is not invited: his line is kept, the exit status says so.
    d = env.client("eof", "dave")
    d.wait_for(r"must /invite dave")
    assert d.count(r"history (begins|ends)") == 0
    d.say("dave was early")
    d.eof()
    assert d.wait_exit(20) == 1
    d.wait_for(r"^!!! 1 message for #eof not sent: you are not a member yet; kept, and sent "
               r"once you are$")
    a.say("/invite dave")
    a.wait_for(r"you invited dave to #eof")
    # Next run, no input at all: joins through the invitation, sends the
    # kept line, exits 0.
    d2 = env.client("eof", "dave", name="dave2")
    d2.eof()
    assert d2.wait_exit(20) == 0
    d2.wait_for(r"you joined #eof, invited by alice")
    d2.wait_for(msg("eof", "dave", "dave was early"))
    a.wait_for(msg("eof", "dave", "dave was early"))
    assert a.quit() == 0


def client_db(env, user):
    dbs = glob.glob(os.path.join(env.tmp, "cfg-" + user, user + "@*.db"))
    assert len(dbs) == 1, dbs
    return dbs[0]


def db_exec(path, sql, *args):
    con = sqlite3.connect(path)
    try:
        with con:
            rows = con.execute(sql, args).fetchall()
    finally:
        con.close()
    return rows


def test_burst_order(env):
    """A burst larger than the server's per-connection rate limit (issue
    11): a script pipes 300 lines into a group; the other member receives
    every one once, in the order typed, and the sender exits 0 by itself."""
    env.server.stop()
    env.server = Server(SERVER, env.tmp, extra=["--rate", "10"]).start()
    a = env.client("burst", "alice")
    a.wait_for(r"created #burst")
    b = env.client("burst", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "burst", "bob")
    assert a.quit() == 0
    m = b.mark()
    a2 = env.client("burst", "alice", name="alice2")
    lines = ["burst line %03d" % i for i in range(300)]
    a2.proc.stdin.write(("\n".join(lines) + "\n").encode())
    a2.proc.stdin.flush()
    a2.eof()
    assert a2.wait_exit(300) == 0, "\n".join(a2.snapshot()[-20:])
    b.wait_for(msg("burst", "alice", lines[-1]), m, timeout=120)
    rx = re.compile(r"^#burst <alice>  (burst line \d+)$")
    got = [mt.group(1) for mt in (rx.match(l) for l in b.snapshot()[m:]) if mt]
    assert got == lines, "received %d lines, first difference at %s" % (
        len(got), next((i for i, (x, y) in enumerate(zip(got, lines)) if x != y), len(got)))
    assert b.quit() == 0


def test_burst_1000_default_rate(env):
    """Issue 11, must show: a 1,000-line paste at full speed, with the
    server's default rate limit, arrives complete and in order at every
    member, once, with no manual nudge."""
    a = env.client("paste", "alice")
    a.wait_for(r"created #paste")
    b = env.client("paste", "bob")
    b.wait_for(r"must /invite bob")
    c = env.client("paste", "carol")
    c.wait_for(r"must /invite carol")
    invite(a, b, "paste", "bob")
    invite(a, c, "paste", "carol")
    marks = [(r, r.mark()) for r in (a, b, c)]
    lines = ["paste line %04d" % i for i in range(1000)]
    a.proc.stdin.write(("\n".join(lines) + "\n").encode())
    a.proc.stdin.flush()
    rx = re.compile(r"^#paste <alice>  (paste line \d+)$")
    for r, m in marks:
        r.wait_for(msg("paste", "alice", lines[-1]), m, timeout=300)
        got = [mt.group(1) for mt in (rx.match(l) for l in r.snapshot()[m:]) if mt]
        assert got == lines, "%s received %d lines, first difference at %s" % (
            r.user, len(got),
            next((i for i, (x, y) in enumerate(zip(got, lines)) if x != y), len(got)))
    for who in (a, b, c):
        assert who.quit() == 0


def test_catchup_pages(env):
    """Issue 13 item 4: bob catches up 1,200 entries in pages of 500 (the
    next one asked for before the current one is processed), with a
    commit in the middle (carol invited: judged, shown in its place) and
    his own messages sent before he went away: every line once, in log
    order; after a restart nothing is shown again and the chat goes on."""
    env.server.stop()
    env.server = Server(SERVER, env.tmp, extra=["--rate", "100000", "--user-rate", "100000"]).start()
    a = env.client("pages", "alice")
    a.wait_for(r"created #pages")
    b = env.client("pages", "bob")
    b.wait_for(r"must /invite bob")
    c = env.client("pages", "carol")
    c.wait_for(r"must /invite carol")
    invite(a, b, "pages", "bob")
    talk(b, "bob before leaving", "pages", a)
    assert b.quit() == 0
    first = ["page line %04d" % i for i in range(600)]
    second = ["page line %04d" % i for i in range(600, 1200)]
    a.proc.stdin.write(("\n".join(first) + "\n").encode())
    a.proc.stdin.flush()
    a.wait_for(msg("pages", "alice", first[-1]), timeout=120)
    invite(a, c, "pages", "carol")
    a.proc.stdin.write(("\n".join(second) + "\n").encode())
    a.proc.stdin.flush()
    a.wait_for(msg("pages", "alice", second[-1]), timeout=120)
    b2 = env.client("pages", "bob", name="bob2")
    b2.wait_for(msg("pages", "alice", second[-1]), timeout=120)
    lines = b2.snapshot()
    rx = re.compile(r"^#pages <alice>  (page line \d+)$")
    got = [mt.group(1) for mt in (rx.match(l) for l in lines) if mt]
    assert got == first + second, "received %d lines, first difference at %s" % (
        len(got), next((i for i, (x, y) in enumerate(zip(got, first + second)) if x != y),
                       len(got)))
    inv = [i for i, l in enumerate(lines) if re.search(r"alice invited carol to #pages", l)]
    last_first = lines.index(msg_line("pages", "alice", first[-1]))
    first_second = lines.index(msg_line("pages", "alice", second[0]))
    assert len(inv) == 1 and last_first < inv[0] < first_second, lines[last_first:first_second + 1]
    talk(b2, "bob is back", "pages", a, c)
    assert b2.quit() == 0
    b3 = env.client("pages", "bob", name="bob3")
    start = b3.wait_for(r"connecting \.\.\.")  # stored history is shown before it
    talk(a, "after the restart", "pages", b3)
    assert b3.count(r"page line", start) == 0, b3.snapshot()[start:]
    for who in (a, c, b3):
        assert who.quit() == 0


def test_catchup_killed(env):
    """Issue 13 item 4: the last piece of a page is carried into the next
    page's transaction while it is verified (src/client/sync.c).  bob is
    killed in the middle of catching up 1,500 entries; started again, he
    reads on from his saved cursor: nothing fails to decrypt (the saved
    state matches the saved cursor), every entry is in his history once,
    and the chat goes on."""
    env.server.stop()
    env.server = Server(SERVER, env.tmp, extra=["--rate", "100000", "--user-rate", "100000"]).start()
    a = env.client("kill", "alice")
    a.wait_for(r"created #kill")
    b = env.client("kill", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "kill", "bob")
    assert b.quit() == 0
    lines = ["kill line %04d" % i for i in range(1500)]
    a.proc.stdin.write(("\n".join(lines) + "\n").encode())
    a.proc.stdin.flush()
    a.wait_for(msg("kill", "alice", lines[-1]), timeout=120)
    b2 = env.client("kill", "bob", name="bob2")
    b2.wait_for(msg("kill", "alice", lines[300]), timeout=120)
    b2.kill()
    b3 = env.client("kill", "bob", name="bob3")
    b3.wait_for(msg("kill", "alice", lines[-1]), timeout=120)
    assert b3.count(r"cannot be read|out of sync|rejoin") == 0, b3.snapshot()
    # Entries in the history once each (UNIQUE), none missing between.
    rows = db_exec(client_db(env, "bob"), "SELECT count(*), max(seq) - min(seq) + 1 FROM history "
                   "WHERE grp = 'kill' AND seq IS NOT NULL")
    assert rows[0][0] == rows[0][1] and rows[0][0] >= len(lines), rows
    talk(b3, "bob after the kill", "kill", a)
    for who in (a, b3):
        assert who.quit() == 0


def test_key_package_deleted_after_join(env):
    """Forward secrecy at rest (issue 10): once joined through a Welcome,
    the private bundle of the KeyPackage it was for is gone from the
    client's database (the last-resort one excepted)."""
    a = env.client("fs", "alice")
    a.wait_for(r"created #fs")
    b = env.client("fs", "bob")
    b.wait_for(r"must /invite bob")
    db = client_db(env, "bob")
    # The one-time KeyPackages are stored in one transaction, after the
    # last-resort one; bundles are stored before they are uploaded.
    poll(lambda: db_exec(db, "SELECT count(*) FROM key_packages WHERE last_resort = 0")[0][0],
         "bob's KeyPackages")
    before = set(r[0] for r in db_exec(
        db, "SELECT ref FROM key_packages WHERE last_resort = 0"))
    last_resort = db_exec(db, "SELECT ref FROM key_packages WHERE last_resort = 1")
    assert len(last_resort) == 1
    invite(a, b, "fs", "bob")
    after = set(r[0] for r in db_exec(
        db, "SELECT ref FROM key_packages WHERE last_resort = 0"))
    # Exactly the one the Welcome was for is deleted (new ones may have
    # been uploaded since); the last-resort one stays.
    assert len(before - after) == 1, (len(before), len(after))
    assert db_exec(db, "SELECT ref FROM key_packages WHERE last_resort = 1") == last_resort
    assert b.quit() == 0 and a.quit() == 0


def test_store_failure_during_commit(env):
    """The client's database refuses a write while a commit is processed
    (issue 8): memory goes back to the state and cursor the database still
    holds, so once the database works again the same commit is processed
    again and the group goes on, with no rejoin."""
    a = env.client("sf", "alice")
    a.wait_for(r"created #sf")
    b = env.client("sf", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "sf", "bob")
    talk(b, "before", "sf", a)
    con = sqlite3.connect(client_db(env, "bob"), timeout=30, isolation_level=None)
    try:
        con.execute("BEGIN EXCLUSIVE")
        m = b.mark()
        a.say("/update")
        a.wait_for(r"you updated your keys in #sf")
        b.wait_for(r"cannot save the state of #sf; stopping", m, timeout=60)
    finally:
        con.execute("ROLLBACK")
        con.close()
    talk(a, "after the failure", "sf", b)
    b.wait_for(r"alice updated their keys in #sf", m)
    talk(b, "still in sync", "sf", a)
    assert b.count(r"out of sync|rejoin", m) == 0, "\n".join(b.snapshot()[m:])
    for who in (a, b):
        assert who.quit() == 0


def test_rejoin(env):
    """A member whose state of a group is lost or out of sync rejoins by an
    external commit (RFC 9420 §12.4.3.2) removing its old leaf, and talks
    again; the others see that it rejoined."""
    a = env.client("g", "alice")
    a.wait_for(r"created #g")
    b = env.client("g", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "g", "bob")
    c = env.client("g", "carol")
    c.wait_for(r"must /invite carol")
    invite(a, c, "g", "carol")
    talk(a, "all three", "g", b, c)

    # 1. bob's group row is lost while he is stopped (identity kept).
    assert b.quit() == 0
    db_exec(client_db(env, "bob"), "DELETE FROM groups WHERE name = 'g'")
    talk(a, "said while bob had no state", "g", c)
    ma, mc = a.mark(), c.mark()
    b2 = env.client("g", "bob", name="bob2")
    b2.wait_for(r"you are a member of #g but this client has no usable state of it: rejoining")
    # Nothing verified to compare the server's GroupInfo with: said so.
    b2.wait_for(r"this client has no earlier state of #g to check the server's GroupInfo against")
    b2.wait_for(r"you rejoined #g")
    a.wait_for(r"^\*\*\* bob rejoined #g \(their client had lost its state of the group\)$", ma)
    c.wait_for(r"bob rejoined #g", mc)
    talk(b2, "bob is back", "g", a, c)
    talk(a, "welcome back bob", "g", b2, c)
    talk(c, "hi bob", "g", a, b2)
    m = a.mark()
    a.say("/list")
    a.wait_for(r"members of #g \(3\)", m)
    for user in ("alice", "bob", "carol"):
        a.wait_for(r"^\*\*\*   %s .*\(key matches the directory\)" % user, m)

    # 2. carol's state goes back to an older epoch (a restored backup):
    # the next commit cannot be processed; she rejoins by herself.
    assert c.quit() == 0
    cdb = client_db(env, "carol")
    old_state = db_exec(cdb, "SELECT state FROM groups WHERE name = 'g'")[0][0]
    c2 = env.client("g", "carol", name="carol2")
    c2.wait_for(r"logged in as carol")
    a.say("/update")
    a.wait_for(r"you updated your keys in #g")
    c2.wait_for(r"alice updated their keys in #g")
    assert c2.quit() == 0
    db_exec(cdb, "UPDATE groups SET state = ? WHERE name = 'g'", old_state)
    a.say("/update")
    a.wait_for(r"you updated your keys in #g \(epoch")
    ma = a.mark()
    c3 = env.client("g", "carol", name="carol3")
    c3.wait_for(r"#g is out of sync \(a commit could not be processed\): rejoining it")
    c3.wait_for(r"you rejoined #g")
    a.wait_for(r"carol rejoined #g", ma)
    talk(c3, "carol is back", "g", a, b2)

    # 3. A group not named on the command line: found on the server's
    # roster after logging in, rejoined in the background.
    assert b2.quit() == 0
    db_exec(client_db(env, "bob"), "DELETE FROM groups WHERE name = 'g'")
    ma = a.mark()
    b3 = env.client("other", "bob", name="bob3")
    b3.wait_for(r"created #other")
    b3.wait_for(r"you are a member of #g but this client has no usable state of it: rejoining")
    b3.wait_for(r"you rejoined #g")
    a.wait_for(r"bob rejoined #g", ma)
    b3.say("/switch g")
    b3.wait_for(r"now talking in #g")
    talk(b3, "bob in g again", "g", a, c3)

    # 4. The group moves on while the external commit is on its way (held
    # by a proxy): stale_epoch, a newer GroupInfo, a new external commit.
    # (The hold starts when bob says he is rejoining; if the hold came
    # before his group.info even left, there is nothing stale to see.)
    assert b3.quit() == 0
    proxy = env.proxy()
    # The database is per server address: bob's moves to the proxy's.
    bdb = client_db(env, "bob")
    db_exec(bdb, "DELETE FROM groups WHERE name = 'g'")
    src = sqlite3.connect(bdb)
    dst = sqlite3.connect(os.path.join(os.path.dirname(bdb), "bob@127.0.0.1_%d.db" % proxy.port))
    src.backup(dst)
    src.close()
    dst.close()
    os.unlink(bdb)
    ma = a.mark()
    b4 = env.client("g", "bob", name="bob4", url=proxy.url)
    b4.wait_for(r"no usable state of it: rejoining")
    proxy.pause()
    a.say("/update")
    a.wait_for(r"you updated your keys in #g", ma)
    proxy.resume()
    b4.wait_for(r"you rejoined #g")
    a.wait_for(r"bob rejoined #g", ma)
    talk(b4, "bob after the race", "g", a, c3)
    talk(a, "alice after the race", "g", b4, c3)
    for who in (a, b4, c3):
        assert who.quit() == 0


def test_kick_and_leave(env):
    """/kick: the removed member says so, reads nothing after, keeps its
    history and drops what it had not sent; /leave: a member's self-remove
    proposal, committed by the administrator's client."""
    a = env.client("g", "alice")
    a.wait_for(r"created #g")
    b = env.client("g", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "g", "bob")
    c = env.client("g", "carol")
    c.wait_for(r"must /invite carol")
    invite(a, c, "g", "carol")
    talk(a, "before the kick", "g", b, c)

    # Not an administrator: refused by bob's own client.
    m = b.mark()
    b.say("/kick carol")
    b.wait_for(r"only administrators of #g can remove members", m)
    m = a.mark()
    a.say("/kick alice")
    a.wait_for(r"you cannot remove members yourself \(/leave", m)

    mb, mc = b.mark(), c.mark()
    a.say("/kick carol")
    a.wait_for(r"you removed carol from #g")
    c.wait_for(r"you were removed from #g by alice", mc)
    b.wait_for(r"alice removed carol from #g", mb)
    talk(a, "after the kick", "g", b)
    # carol sees nothing said after her removal, and cannot send.
    mc = c.mark()
    c.say("carol tries to talk")
    c.wait_for(r"you are no longer a member of #g", mc)
    talk(b, "still after the kick", "g", a)
    assert c.count(re.escape("after the kick")) == 0, c.snapshot()
    assert c.count(re.escape("carol tries to talk")) == 0 or \
        a.count(re.escape("carol tries to talk")) == 0
    assert a.count(re.escape("carol tries to talk")) == 0
    # Her history is kept.
    assert c.quit() == 0
    c2 = env.client("g", "carol", name="carol2")
    end = c2.wait_for(r"history ends")
    assert c2.find(re.escape("before the kick"), 0) < end
    assert c2.count(re.escape("after the kick")) == 0

    # bob leaves: his proposal, alice's client commits it.
    ma, mb = a.mark(), b.mark()
    b.say("/leave")
    b.wait_for(r"leaving #g: an administrator's client completes it", mb)
    b.wait_for(r"you left #g \(your departure was committed by alice\)", mb)
    a.wait_for(r"bob left #g \(you committed it\)", ma)
    m = a.mark()
    a.say("/list")
    a.wait_for(r"members of #g \(1\)", m)
    talk(a, "alone now", "g")
    assert b.count(re.escape("alone now")) == 0
    # The last administrator cannot leave.
    m = a.mark()
    a.say("/leave")
    a.wait_for(r"you are the last administrator of #g", m)
    for who in (a, b, c2):
        assert who.quit() == 0


def test_op_deop(env):
    """/op and /deop: GroupContextExtensions commits of the administrators
    extension; the last administrator cannot drop itself; a new
    administrator can invite, remove and hand the role back."""
    a = env.client("g", "alice")
    a.wait_for(r"created #g")
    b = env.client("g", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "g", "bob")

    m = a.mark()
    a.say("/deop alice")
    a.wait_for(r"you are the last administrator of #g", m)
    m = b.mark()
    b.say("/op bob")
    b.wait_for(r"only administrators of #g can make administrators", m)
    m = a.mark()
    a.say("/op carol")
    a.wait_for(r"carol is not a member of #g", m)

    mb = b.mark()
    a.say("/op bob")
    a.wait_for(r"you made bob an administrator of #g")
    b.wait_for(r"alice made bob an administrator of #g", mb)
    m = a.mark()
    a.say("/list")
    a.wait_for(r"^\*\*\*   bob \[admin\]", m)
    m = b.mark()
    b.say("/groups")
    b.wait_for(r"#g .*administrator", m)

    # Now alice may drop her own role; bob stays.
    mb = b.mark()
    a.say("/deop alice")
    a.wait_for(r"you are no longer an administrator of #g")
    b.wait_for(r"alice is no longer an administrator of #g \(by alice\)", mb)
    m = b.mark()
    b.say("/deop bob")
    b.wait_for(r"you are the last administrator of #g", m)
    m = a.mark()
    a.say("/kick bob")
    a.wait_for(r"only administrators of #g can remove members", m)
    ma = a.mark()
    b.say("/op alice")
    b.wait_for(r"you made alice an administrator of #g")
    a.wait_for(r"bob made alice an administrator of #g", ma)
    talk(a, "two administrators", "g", b)
    # The new administrator invites (the server derives roles from the
    # administrators extension, PROTOCOL.md §7.4).
    c = env.client("g", "carol")
    c.wait_for(r"must /invite carol")
    invite(b, c, "g", "carol")
    # An administrator leaves once another is a member: bob's client
    # commits her proposal and drops her from the administrators.
    ma, mb, mc = a.mark(), b.mark(), c.mark()
    a.say("/leave")
    a.wait_for(r"you left #g \(your departure was committed by bob\)", ma)
    b.wait_for(r"alice left #g \(you committed it\)", mb)
    c.wait_for(r"alice left #g", mc)
    m = b.mark()
    b.say("/list")
    b.wait_for(r"members of #g \(2\)", m)
    b.wait_for(r"^\*\*\*   bob \[admin\]", m)
    talk(b, "after alice", "g", c)
    assert a.count(re.escape("after alice")) == 0
    for who in (a, b, c):
        assert who.quit() == 0


def test_rejoin_refused(env):
    """Safe rejoin (issue 9): a client whose state is out of sync rejoins
    only into the group it last verified.  bob's state goes back to an
    epoch before carol joined (a restored backup): the server's GroupInfo
    names a member bob never saw added, so he refuses to rejoin from it
    and says why; the others go on."""
    a = env.client("g", "alice")
    a.wait_for(r"created #g")
    b = env.client("g", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "g", "bob")
    talk(a, "two of us", "g", b)
    assert b.quit() == 0
    bdb = client_db(env, "bob")
    old_state = db_exec(bdb, "SELECT state FROM groups WHERE name = 'g'")[0][0]
    b1 = env.client("g", "bob", name="bob1")
    b1.wait_for(r"logged in as bob")
    c = env.client("g", "carol")
    c.wait_for(r"must /invite carol")
    invite(a, c, "g", "carol")
    b1.wait_for(r"alice invited carol to #g")
    assert b1.quit() == 0
    db_exec(bdb, "UPDATE groups SET state = ? WHERE name = 'g'", old_state)
    a.say("/update")
    a.wait_for(r"you updated your keys in #g \(epoch")
    b2 = env.client("g", "bob", name="bob2")
    b2.wait_for(r"#g is out of sync \(a commit could not be processed\): rejoining it")
    b2.wait_for(r"cannot rejoin #g: REFUSED: the server's GroupInfo of #g is not the group as "
                r"this client last verified it")
    assert b2.count(r"you rejoined #g") == 0
    talk(a, "still going", "g", c)
    assert b2.count(re.escape("still going")) == 0
    for who in (a, b2, c):
        assert who.quit() == 0


def test_log_gap(env):
    """A server whose log has a hole (a proxy in front of bob drops one
    entry from every answer and event): bob says so as a protocol error and
    reads again with a doubling delay instead of re-fetching in a busy
    loop; once the entry is served again he shows both lines, in order."""
    state = {"drop": None, "arm": False, "max": 0, "fetches": 0}

    def keep(entry):
        if entry.get("group") != "gap":
            return True
        seq = entry.get("seq") or 0
        if state["arm"] and state["drop"] is None and seq > state["max"]:
            state["drop"] = seq
        state["max"] = max(state["max"], seq)
        return seq != state["drop"]

    def rewrite(obj):
        if obj.get("event") == "log" and not keep(obj):
            obj["group"] = "not-followed"  # the client ignores it
            return obj
        if "entries" in obj:
            state["fetches"] += 1
            obj["entries"] = [e for e in obj["entries"] if keep(e)]
        return obj

    proxy = RewritingProxy(env.server.port, rewrite)
    env.proxies.append(proxy)
    a = env.client("gap", "alice")
    a.wait_for(r"created #gap")
    b = env.client("gap", "bob", url=proxy.url)
    b.wait_for(r"must /invite bob")
    invite(a, b, "gap", "bob")
    talk(a, "before", "gap", b)
    m = b.mark()
    state["arm"] = True
    a.say("two")
    a.wait_for(msg("gap", "alice", "two"))
    a.say("three")
    a.wait_for(msg("gap", "alice", "three"))
    b.wait_for(r"the server's log of #gap skips from \d+ to \d+ \(a protocol error\); "
               r"reading it again in 1 s", m)
    b.wait_for(r"reading it again in 4 s", m)
    # Delays 1, 2, 4 s: a handful of reads, where a busy loop makes
    # hundreds in the same time.
    assert state["fetches"] < 10, state["fetches"]
    assert b.count(msg("gap", "alice", "two"), m) == 0
    state["drop"] = -1  # the server serves the entry again
    b.wait_for(msg("gap", "alice", "three"), m)
    lines = b.snapshot()[m:]
    two = [i for i, l in enumerate(lines) if l == msg_line("gap", "alice", "two")]
    three = [i for i, l in enumerate(lines) if l == msg_line("gap", "alice", "three")]
    assert len(two) == 1 and len(three) == 1 and two[0] < three[0], lines
    for who in (a, b):
        assert who.quit() == 0


def test_server_forges_membership(env):
    """A misbehaving server (a proxy in front of bob rewrites what the
    server says) replaces a commit with bytes bob cannot process, then
    serves a GroupInfo with a member bob never saw added: the attack of
    issue 9 where the server slips in its own member.  bob refuses to rejoin
    from it, says why, and never reads the group again; alice and carol go
    on."""
    import base64
    junk = base64.b64encode(b"\x00\x01" + b"\x42" * 80).decode()
    state = {"armed": False, "victim": None}

    def spoil(entry):
        if entry.get("group") != "g" or entry.get("kind") != "commit":
            return
        if state["victim"] is None:
            state["victim"] = entry.get("seq")
        if entry.get("seq") == state["victim"]:
            entry["message"] = junk

    def rewrite(obj):
        if state["armed"]:
            if obj.get("event") == "log":
                spoil(obj)
            for e in obj.get("entries") or []:
                spoil(e)
        return obj

    proxy = RewritingProxy(env.server.port, rewrite)
    env.proxies.append(proxy)
    a = env.client("g", "alice")
    a.wait_for(r"created #g")
    b = env.client("g", "bob", url=proxy.url)
    b.wait_for(r"must /invite bob")
    invite(a, b, "g", "bob")
    talk(a, "before", "g", b)
    c = env.client("g", "carol")
    c.wait_for(r"must /invite carol")
    state["armed"] = True
    mb = b.mark()
    invite(a, c, "g", "carol")
    b.wait_for(r"#g is out of sync \(a commit could not be processed\): rejoining it", mb)
    b.wait_for(r"cannot rejoin #g: REFUSED: the server's GroupInfo of #g is not the group as "
               r"this client last verified it \(epoch 1\)", mb)
    assert b.count(r"you rejoined #g") == 0
    talk(a, "after", "g", c)
    assert b.count(re.escape("after")) == 0
    m = b.mark()
    b.say("/list")
    b.wait_for(r"you are no longer a member of #g|members of #g \(2\)", m)
    for who in (a, b, c):
        assert who.quit() == 0


def test_client_refuses_forged_commits(env):
    """A hostile member crafts commits through libmls (tests/tools/mlsforge)
    that the real server refuses; a misbehaving server (a rewriting proxy in
    front of a client) delivers them in place of an honest commit of the
    same member.  Each client refuses loudly, naming the rule and the
    committer, keeps its state of the group unchanged, and is no longer
    following it; a client behind the honest server follows the honest
    commit."""
    forge = os.path.join(os.path.dirname(CLIENT), "mlsforge")
    if os.path.exists(forge):
        os.environ.setdefault("MLSFORGE", forge)
    import mlsmember
    forged = {}

    def swap(who):
        def rewrite(obj):
            for e in ([obj] if obj.get("event") == "log" else []) + (obj.get("entries") or []):
                if e.get("message") in forged.get(who, {}):
                    e["message"] = forged[who][e["message"]]
            return obj
        return rewrite

    pa = RewritingProxy(env.server.port, swap("alice"))
    pc = RewritingProxy(env.server.port, swap("carol"))
    env.proxies += [pa, pc]
    a = env.client("g", "alice", url=pa.url)
    a.wait_for(r"created #g")
    c = env.client("g", "carol", url=pc.url)
    c.wait_for(r"must /invite carol")
    invite(a, c, "g", "carol")
    b = env.client("g", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "g", "bob")
    # mallory: a member whose MLS objects are made by mlsforge.
    mallory = mlsmember.ForgeIdentity("mallory")
    mc = dsclient.Client(env.server.port, mallory)
    mlsmember.ok(mc.register(), "register mallory")
    mlsmember.ok(mc.request("kp.upload", key_packages=[mallory.key_package_b64()]), "kp")
    invite_line = a.mark()
    a.say("/invite mallory")
    a.wait_for(r"you invited mallory to #g", invite_line)
    mlsmember.join(mc, "g")
    talk(a, "mallory is in", "g", b, c)

    # The forged commits, from mallory's state now, and the honest one of
    # the same epoch that the server accepts (a key update).
    snap = mallory.snapshot("g")
    forged["alice"] = {}
    forged["carol"] = {}
    admins = mlsmember.forge_json("commit", snap, "--admins", "mallory")
    renamed = mlsmember.forge_json("commit", snap, "--rename", "alice")
    honest = mlsmember.forge_json("commit", mallory.state("g"))
    forged["alice"][honest["commit"]] = admins["commit"]
    forged["carol"][honest["commit"]] = renamed["commit"]
    db_a, db_c = client_db(env, "alice"), client_db(env, "carol")
    sql = "SELECT state FROM groups WHERE name = 'g'"
    state_a, state_c = db_exec(db_a, sql)[0][0], db_exec(db_c, sql)[0][0]
    ma, mb, mc_ = a.mark(), b.mark(), c.mark()
    mlsmember.ok(mlsmember.send_commit(mc, "g", honest), "mallory's key update")
    a.wait_for(r"^!!! REFUSED: a commit to #g by mallory \(log \d+\) breaks rule admin_required: "
               r".*the server is misbehaving", ma)
    c.wait_for(r"^!!! REFUSED: a commit to #g by mallory \(log \d+\) breaks rule identity: ", mc_)
    b.wait_for(r"mallory updated their keys in #g", mb)
    # Nothing of the forged commits was taken: the saved states are the
    # same bytes (in clear: each write is sealed with a fresh nonce), and
    # the clients say so in /list.
    for db, before, user in ((db_a, state_a, "alice"), (db_c, state_c, "carol")):
        key = data_key(os.path.dirname(db))
        assert unseal(key, b"groups.state", b"g", db_exec(db, sql)[0][0]) == \
            unseal(key, b"groups.state", b"g", before), user
    m = a.mark()
    a.say("/list")
    a.wait_for(r"#g is NOT followed: this client refused a commit by mallory \(rule "
               r"admin_required", m)
    m = a.mark()
    a.say("/groups")
    a.wait_for(r"#g .*no longer followed", m)
    # The honest group goes on; alice's client reads nothing of it.
    talk(b, "bob goes on", "g")
    assert a.count(re.escape("bob goes on")) == 0
    assert a.count(r"REFUSED") == 1 and c.count(r"REFUSED") == 1
    # Still running: another group works.
    m = a.mark()
    a.say("/join --create other")
    a.wait_for(r"created #other", m)
    talk(a, "alice elsewhere", "other")
    mc.close()
    for who in (a, b, c):
        who.quit()


def test_curses_story(env):
    """The seed's story typed into real terminals (tmux): alice, bob and
    carol in the curses UI."""
    if not have_tmux():
        raise TestFailure("tmux is not installed (scripts/deps.sh installs it)")
    env.tmux = t = Tmux(env.tmp)
    cfg = lambda u: os.path.join(env.tmp, "cfg-" + u)
    envv = {"LANG": "C.UTF-8", "TERM": "xterm-256color"}

    def run(name, group, user):
        t.start(name, [CLIENT, "--server", env.server.url, "--config", cfg(user), group, user],
                env=dict(envv, MLSCHAT_DEBUG=os.path.join(env.tmp, "debug-tmux-%s.log" % name),
                         **sanitizer_env(env.tmp)))

    # carol has never run the client: alice invites her by name before
    # she starts (the server keeps the invitation, issue 11).
    run("a", "lobby", "alice")
    # The group does not exist yet: creating it needs alice's yes.
    t.wait_screen("a", r"^#lobby does not exist: create it\? \[y/N\]")
    t.keys("a", "y")
    # System lines carry the time; message lines are exactly the seed's
    # "#groupname <username>  message..." (checked whole, anchored, below).
    t.wait_screen("a", r"^\d\d:\d\d -- created #lobby")
    t.wait_screen("a", r"alice \| #lobby \| 1 member \| connected")
    run("b", "lobby", "bob")
    t.wait_screen("b", r"an administrator must /invite bob")
    t.type("a", "/invite bob")
    t.wait_screen("b", r"you joined #lobby, invited by alice")
    t.wait_screen("a", r"alice \| #lobby \| 2 members \| connected")
    t.type("a", "hello bob")
    t.wait_screen("b", r"^\d\d:\d\d #lobby <alice>  hello bob$")
    t.wait_screen("a", r"^\d\d:\d\d #lobby <alice>  hello bob$")
    # Line editing: type, move left, insert, history recall with Up.
    t.keys("b", "-l", "hi alce")
    t.keys("b", "Left", "Left")
    t.keys("b", "-l", "i")
    t.keys("b", "Enter")
    t.wait_screen("a", r"^\d\d:\d\d #lobby <bob>  hi alice$")
    t.wait_screen("b", r"^\d\d:\d\d #lobby <bob>  hi alice$")
    t.type("b", "/quit")
    poll(lambda: t.dead("b"), "bob's client to exit")

    t.type("a", "bob is away")
    t.wait_screen("a", r"^\d\d:\d\d #lobby <alice>  bob is away$")
    t.type("a", "/invite carol")
    t.wait_screen("a", r"the server keeps the invitation of carol to #lobby")
    run("c", "lobby", "carol")
    t.wait_screen("c", r"an invitation to #lobby from alice is waiting")
    t.wait_screen("c", r"you joined #lobby, invited by alice")
    t.wait_screen("a", r"you invited carol to #lobby")
    run("b2", "lobby", "bob")
    t.wait_screen("b2", r"^\d\d:\d\d #lobby <alice>  bob is away$")
    t.wait_screen("b2", r"alice invited carol to #lobby")
    t.type("b2", "back again")
    for w in ("a", "c", "b2"):
        t.wait_screen(w, r"^\d\d:\d\d #lobby <bob>  back again$")
    t.type("c", "hi from carol ✓")
    for w in ("a", "b2"):
        t.wait_screen(w, r"^\d\d:\d\d #lobby <carol>  hi from carol ✓$")
    t.type("a", "/list")
    s = t.wait_screen("a", r"carol .*key matches the directory")
    for u in ("alice", "bob"):
        assert re.search(r"%s .*key matches the directory" % u, s), s
    # Resize, scrollback and Alt+1 keep working.
    t.resize("a", 90, 20)
    t.wait_screen("a", r"alice \| #lobby \| 3 members")
    t.type("a", "/help")
    t.type("a", "/help")
    t.wait_screen("a", r"any other line is a message")
    # Wrapped at 90 columns at a space, the rest indented under the text:
    # the client has taken the new size.
    t.wait_screen("a", r"^ {9}beginning with /\)$")
    t.keys("a", "PageUp")
    t.wait_screen("a", r"scrolled back")
    t.keys("a", "PageDown")
    t.type("a", "/join second")
    t.wait_screen("a", r"^#second does not exist: create it\? \[y/N\]")
    t.keys("a", "y")
    t.wait_screen("a", r"alice \| #second \| 1 member \| connected \| 1:#lobby")
    # A message to #lobby while alice looks at #second counts as unread.
    t.type("c", "unread one")
    t.wait_screen("a", r"1:#lobby\(1\)")
    t.keys("a", "M-1")
    t.wait_screen("a", r"alice \| #lobby \| 3 members \| connected \| 2:#second")
    t.wait_screen("a", r"^\d\d:\d\d #lobby <carol>  unread one$")
    # Input history: Up recalls the last line typed.
    t.keys("a", "Up")
    t.wait_screen("a", r"^#lobby> /join second")
    t.keys("a", "C-u")
    t.type("a", "/quit")
    t.type("b2", "/quit")
    t.type("c", "/quit")
    for w in ("a", "b2", "c"):
        poll(lambda w=w: t.dead(w), "%s to exit" % w)


def test_curses_scripts(env):
    """Full screen, typed into tmux: Devanagari, Thai, Vietnamese and a
    decomposed accent arrive whole on the other screen; the input line
    edits by cluster; each group keeps its system lines, a notice of
    another group marks it, a marker shows the first unread message;
    /quit with an unsent message says so on the normal terminal and
    exits 1."""
    if not have_tmux():
        raise TestFailure("tmux is not installed (scripts/deps.sh installs it)")
    env.tmux = t = Tmux(env.tmp)
    cfg = lambda u: os.path.join(env.tmp, "cfg-" + u)
    envv = {"LANG": "C.UTF-8", "TERM": "xterm-256color"}

    def run(name, group, user):
        # The shell says the exit status on the terminal once the client
        # has left it.
        argv = [CLIENT, "--server", env.server.url, "--config", cfg(user), "--create", group,
                user]
        t.start(name, ["sh", "-c", '"$@"; echo "exit status $?"', "sh"] + argv,
                env=dict(envv, MLSCHAT_DEBUG=os.path.join(env.tmp, "debug-tmux-%s.log" % name),
                         **sanitizer_env(env.tmp)))

    ts = r"^\d\d:\d\d "
    run("a", "lobby", "alice")
    t.wait_screen("a", ts + r"-- created #lobby")
    run("b", "lobby", "bob")
    t.wait_screen("b", r"an administrator must /invite bob")
    t.type("a", "/invite bob")
    t.wait_screen("b", r"you joined #lobby, invited by alice")
    hindi = "नमस्ते दुनिया"
    thai = "สวัสดีครับ"
    viet = "Tiếng Việt có dấu"
    cafe = "cafe\u0301 au lait"  # e + COMBINING ACUTE ACCENT
    for text in (hindi, thai, viet, cafe):
        t.type("a", text)
        t.wait_screen("b", ts + re.escape("#lobby <alice>  " + text) + "$")
        t.wait_screen("a", ts + re.escape("#lobby <alice>  " + text) + "$")
    # Typing e then U+0301 shows é; Backspace takes the accent back off.
    t.keys("b", "-l", "cafe\u0301")
    t.wait_screen("b", r"^#lobby> cafe\u0301$")
    t.keys("b", "BSpace")
    t.wait_screen("b", r"^#lobby> cafe$")
    # Left steps over a whole cluster: "स्" is one cell, so the cursor
    # goes before it and "x" lands between न and स.
    t.keys("b", "C-u")
    t.keys("b", "-l", "नस्")
    t.keys("b", "Left")
    t.keys("b", "-l", "x")
    t.keys("b", "Enter")
    t.wait_screen("a", ts + re.escape("#lobby <bob>  नxस्") + "$")

    # System lines stay with their group.
    t.type("a", "/list")
    t.wait_screen("a", r"-- members of #lobby \(2\):")
    t.type("a", "/join --create second")
    t.wait_screen("a", r"alice \| #second \| 1 member \| connected \| 1:#lobby")
    s = t.screen("a")
    assert "members of #lobby" not in s, s
    t.type("a", "/groups")
    t.wait_screen("a", r"-- \* 2 #second")
    # A notice of #lobby marks it instead of showing in #second.
    t.type("b", "/update")
    t.wait_screen("a", r"1:#lobby\*")
    assert "updated their keys" not in t.screen("a")
    t.type("b", "while you were away")
    t.wait_screen("a", r"1:#lobby\(1\)\*")
    t.keys("a", "M-1")
    s = t.wait_screen("a", r"alice \| #lobby \| 2 members")
    s = t.wait_screen("a", r"-- bob updated their keys in #lobby")
    assert "members of #lobby (2):" in s, s          # /list is still there
    assert len(re.findall(r"bob updated their keys", s)) == 1, s
    assert "* 2 #second" not in s, s                 # /groups stayed in #second
    lines = s.splitlines()
    marker = [i for i, l in enumerate(lines) if "new since you left" in l]
    away = [i for i, l in enumerate(lines) if l.endswith("<bob>  while you were away")]
    assert len(marker) == 1 and len(away) == 1 and marker[0] < away[0], s
    t.keys("a", "M-2")
    t.wait_screen("a", r"-- \* 2 #second")
    t.type("b", "/quit")
    t.wait_screen("b", r"^exit status 0$", history=True)

    # The server goes away; what alice types cannot be sent.
    t.keys("a", "M-1")
    t.wait_screen("a", r"alice \| #lobby")
    env.server.stop()
    t.wait_screen("a", r"alice \| #lobby .*\| (connecting|disconnected|offline|reconnect)")
    t.type("a", "never sent")
    t.type("a", "/quit")
    # After endwin(), on the normal terminal (stderr), and the status.
    h = t.wait_screen("a", r"^exit status 1$", history=True)
    assert re.search(r"^client: 1 message for #lobby not sent yet; kept, and sent next time$",
                     h, re.M), h


class HostileServer:
    """A WebSocket endpoint posing as the server: it sends the challenge
    and refuses the registration with a reason full of terminal escape
    sequences, bidi overrides and invisible characters."""

    REASON = "\x1b[2J\x1b]0;pwned\x07 \u202eexe.txt\u200b \x9b31m dangling\x01\u0301"

    def __init__(self):
        import socket
        import threading
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _frame(self, text):
        data = text.encode()
        n = len(data)
        head = bytes([0x81]) + (bytes([n]) if n < 126 else bytes([126]) + n.to_bytes(2, "big"))
        return head + data

    def _read_frame(self, c, buf):
        while len(buf) < 2:
            buf += c.recv(4096)
        n = buf[1] & 0x7F
        off = 2
        if n == 126:
            while len(buf) < 4:
                buf += c.recv(4096)
            n = int.from_bytes(buf[2:4], "big")
            off = 4
        while len(buf) < off + 4 + n:
            buf += c.recv(4096)
        mask = buf[off:off + 4]
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(buf[off + 4:off + 4 + n]))
        return buf[0] & 0x0F, payload, buf[off + 4 + n:]

    def _serve(self):
        import base64
        import hashlib
        import json
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            try:
                buf = b""
                while b"\r\n\r\n" not in buf:
                    buf += c.recv(4096)
                head, buf = buf.split(b"\r\n\r\n", 1)
                key = re.search(rb"Sec-WebSocket-Key: *(\S+)", head, re.I).group(1)
                accept = base64.b64encode(hashlib.sha1(
                    key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()).decode()
                c.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                           "Sec-WebSocket-Protocol: mlschat.v1\r\n\r\n" % accept).encode())
                c.sendall(self._frame(json.dumps({
                    "event": "challenge", "nonce": base64.b64encode(os.urandom(32)).decode(),
                    "server_time": int(time.time()), "protocol": 1, "max_message": 1048576})))
                while True:
                    op, payload, buf = self._read_frame(c, buf)
                    if op != 1:
                        continue
                    req = json.loads(payload)
                    c.sendall(self._frame(json.dumps({
                        "id": req.get("id"), "type": req.get("type"), "ok": False,
                        "error": "username_taken", "message": self.REASON})))
            except (OSError, ValueError, AttributeError):
                pass

    def stop(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_curses_outgoing(env):
    """Issue 11, typed into tmux: your own message shows at once, marked
    "(sending)", also with no connection; the status line counts what is
    queued; once the server's log has it, it is an ordinary line."""
    if not have_tmux():
        raise TestFailure("tmux is not installed (scripts/deps.sh installs it)")
    env.tmux = t = Tmux(env.tmp)
    proxy = env.proxy()
    cfg = lambda u: os.path.join(env.tmp, "cfg-" + u)
    envv = {"LANG": "C.UTF-8", "TERM": "xterm-256color"}
    t.start("a", [CLIENT, "--server", proxy.url, "--config", cfg("alice"), "--create", "out",
                  "alice"],
            env=dict(envv, MLSCHAT_DEBUG=os.path.join(env.tmp, "debug-tmux-a.log"),
                     **sanitizer_env(env.tmp)))
    ts = r"^\d\d:\d\d "
    t.wait_screen("a", ts + r"-- created #out")
    t.type("a", "first line")
    t.wait_screen("a", ts + r"#out <alice>  first line$")
    proxy.cut()
    t.wait_screen("a", r"connection to .* lost")
    t.type("a", "typed offline")
    t.type("a", "and another")
    t.wait_screen("a", ts + r"#out <alice>  typed offline  \(sending\)$")
    t.wait_screen("a", ts + r"#out <alice>  and another  \(sending\)$")
    t.wait_screen("a", r"alice \| #out \| 1 member \| .* \| 2 queued")
    proxy.restore()
    t.wait_screen("a", ts + r"#out <alice>  and another$", timeout=60)
    s = t.wait_screen("a", ts + r"#out <alice>  typed offline$")
    assert "(sending)" not in s and "queued" not in s, s
    # A message naming alice counts as a mention in her status line
    # until she types; "malice" does not.
    b = env.client("out", "bob")
    b.wait_for(r"must /invite bob")
    t.type("a", "/invite bob")
    b.wait_for(r"you joined #out")
    b.say("no mention of malice")
    t.wait_screen("a", ts + r"#out <bob>  no mention of malice$")
    s = t.screen("a")
    assert "mention" not in s.splitlines()[-2], s
    b.say("hey alice, look")
    t.wait_screen("a", ts + r"#out <bob>  hey alice, look$")
    t.wait_screen("a", r"alice \| #out \| 2 members \| .* \| 1 mention")
    t.type("a", "seen")
    s = t.wait_screen("a", ts + r"#out <alice>  seen$")
    assert "mention" not in s.splitlines()[-2], s
    # Tab completes commands, members and group names.
    # (/inv is /invite and /invites: the common beginning and the list.)
    t.keys("a", "-l", "/inv")
    t.keys("a", "Tab")
    t.wait_screen("a", r"#out> /invite\s*$")
    t.keys("a", "C-u")
    t.keys("a", "-l", "/wh")
    t.keys("a", "Tab")
    t.keys("a", "-l", "bo")
    t.keys("a", "Tab")
    t.wait_screen("a", r"#out> /whois bob\s*$")
    t.keys("a", "C-u")
    t.keys("a", "-l", "/switch o")
    t.keys("a", "Tab")
    t.wait_screen("a", r"#out> /switch out\s*$")
    t.keys("a", "C-u")
    # /me: an action on the full screen, the plain text in line mode.
    t.type("a", "/me waves")
    t.wait_screen("a", ts + r"#out \* alice waves$")
    b.wait_for(msg("out", "alice", "/me waves"))
    assert b.quit() == 0
    t.type("a", "/quit")
    poll(lambda: t.dead("a"), "alice's client to exit")


def test_hostile_text_neutralized(env):
    """Line mode: what another member sends (a bidi override, invisible
    characters) and what a server says (escape sequences in a refusal)
    reach stdout and stderr neutralized, shown visibly."""
    a = env.client("lobby", "alice")
    a.wait_for(r"created #lobby")
    b = env.client("lobby", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "lobby", "bob")
    m = b.mark()
    a.say("invoice\u202egnp.exe \u2066x\u2069 zero\u200bwidth \ufeff")
    b.wait_for(msg("lobby", "alice",
                   "invoice<U+202E>gnp.exe <U+2066>x<U+2069> zero<U+200B>width <U+FEFF>"), m)
    # Scripts in every language pass unchanged.
    talk(a, "नमस्ते दुनिया · café · Tiếng Việt · สวัสดี · مرحبا · 你好 · 👨‍👩‍👧", "lobby", b)
    for who in (a, b):
        assert who.quit() == 0

    evil = HostileServer()
    try:
        c = env.client("lobby", "mallory", url="http://127.0.0.1:%d" % evil.port)
        assert c.wait_exit() == 1
    finally:
        evil.stop()
    out = "\n".join(c.snapshot())
    want = "^[[2J^[]0;pwned^G <U+202E>exe.txt<U+200B> <U+009B>31m dangling^A\u25cc\u0301"
    assert re.search(r"^!!! the server refused to register mallory: " + re.escape(want), out,
                     re.M), out
    assert re.search(r"^client: the server refused to register mallory: " + re.escape(want),
                     out, re.M), out
    for bad in ("\x1b", "\x07", "\x9b", "\u202e", "\u200b"):
        assert bad not in out, (bad, out)


def server_groups(env, name):
    """How many groups of that name the server's database holds."""
    db = sqlite3.connect("file:%s?mode=ro" % env.server.database, uri=True)
    try:
        return db.execute("SELECT count(*) FROM groups WHERE name = ?", (name,)).fetchone()[0]
    finally:
        db.close()


def test_create_needs_consent(env):
    """Line mode: a group name the server does not know is refused without
    --create (exit status 1, a clear message, no group on the server);
    --create of an existing group just opens it; /join of an unknown name
    needs /join --create."""
    t = env.client("typo", "alice", create=False)
    rc = t.wait_exit()
    out = "\n".join(t.snapshot())
    assert rc == 1, (rc, out)
    assert re.search(r"^!!! #typo does not exist on the server; start with --create to create "
                     r"it$", out, re.M), out
    assert re.search(r"^client: #typo does not exist on the server; start with --create", out,
                     re.M), out
    assert "created #typo" not in out, out
    assert server_groups(env, "typo") == 0
    a = env.client("lobby", "alice")           # --create: creates
    a.wait_for(r"created #lobby")
    b = env.client("lobby", "bob")             # --create of an existing group: opens it
    b.wait_for(r"#lobby exists; an administrator must /invite bob")
    assert b.count(r"created #lobby") == 0
    assert server_groups(env, "lobby") == 1
    m = a.mark()
    a.say("/join nosuch")
    a.wait_for(r"^!!! #nosuch does not exist on the server; /join --create nosuch creates it$", m)
    assert server_groups(env, "nosuch") == 0
    a.say("/join --create made")
    a.wait_for(r"created #made", m)
    assert server_groups(env, "made") == 1
    for who in (a, b):
        who.quit()


def test_line_mode_continuation_and_limit(env):
    """Line mode: a trailing backslash continues the message (one message
    with newlines); two end it with one backslash; over the limit refused
    whole with a message, never cut."""
    a = env.client("ml", "alice")
    a.wait_for(r"created #ml")
    b = env.client("ml", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "ml", "bob")
    m = b.mark()
    a.say("first line\\")
    a.say("\tsecond, indented\\")
    a.say("third ends in a backslash\\\\")
    # The sanitizer shows the newlines as ^J in line mode (a tab as a space).
    b.wait_for(r"^#ml <alice>  first line\^J second, indented\^Jthird ends in a backslash\\$", m)
    assert b.count(r"<alice>  first line", m) == 1
    # The protocol's limit: 16000 bytes pass, one more is refused whole.
    a.say("x" * 16000)
    b.wait_for(r"^#ml <alice>  x{16000}$", m)
    ma = a.mark()
    a.say("y" * 16001)
    a.wait_for(r"^!!! message too long \(16001 bytes, at most 16000\)$", ma)
    for i in range(3):
        a.say("z" * 7000 + "\\")
    a.say("end")
    a.wait_for(r"^!!! message of 4 lines too long \(21006 bytes, at most 16000\): not sent$", ma)
    talk(a, "after the long ones", "ml", b)
    assert b.count(r"<alice>  y", m) == 0 and b.count(r"<alice>  z", m) == 0
    for who in (a, b):
        assert who.quit() == 0


def tmux_env(env, name):
    return dict({"LANG": "C.UTF-8", "TERM": "xterm-256color"},
                MLSCHAT_DEBUG=os.path.join(env.tmp, "debug-tmux-%s.log" % name),
                **sanitizer_env(env.tmp))


def tmux_run(env, t, name, group, user, extra=(), url=None):
    """A curses client in tmux; the shell says its exit status after."""
    argv = [CLIENT, "--server", url or env.server.url, "--config",
            os.path.join(env.tmp, "cfg-" + user)] + list(extra) + [group, user]
    t.start(name, ["sh", "-c", '"$@"; echo "exit status $?"', "sh"] + argv,
            env=tmux_env(env, name))


def tmux_paste(t, name, text):
    """Pastes text into a tmux pane the way a terminal does (bracketed
    when the program asked for it: paste-buffer -p)."""
    t._tmux("set-buffer", "-b", "ux", text)
    t._tmux("paste-buffer", "-p", "-d", "-b", "ux", "-t", t._target(name))


def test_curses_create_prompt(env):
    """Full screen: an unknown group name asks; n quits with status 1 and
    a clear message (no group on the server); y creates it."""
    if not have_tmux():
        raise TestFailure("tmux is not installed (scripts/deps.sh installs it)")
    env.tmux = t = Tmux(env.tmp)
    tmux_run(env, t, "n", "typo", "alice")
    t.wait_screen("n", r"^#typo does not exist: create it\? \[y/N\]")
    t.keys("n", "n")
    t.wait_screen("n", r"client: #typo does not exist on the server; not created", history=True)
    t.wait_screen("n", r"exit status 1", history=True)
    assert server_groups(env, "typo") == 0
    tmux_run(env, t, "y", "good", "alice")
    t.wait_screen("y", r"^#good does not exist: create it\? \[y/N\]")
    t.keys("y", "y")
    t.wait_screen("y", r"^\d\d:\d\d -- created #good")
    assert server_groups(env, "good") == 1
    t.type("y", "/quit")
    t.wait_screen("y", r"exit status 0", history=True)


def test_curses_paste(env):
    """Bracketed paste: a block of lines with tabs is ONE message, shown
    with its lines and tabs at another member; above 10 lines it asks
    first; the input line counts bytes near the limit and refuses more."""
    if not have_tmux():
        raise TestFailure("tmux is not installed (scripts/deps.sh installs it)")
    env.tmux = t = Tmux(env.tmp)
    tmux_run(env, t, "a", "lobby", "alice", extra=["--create"])
    t.wait_screen("a", r"-- created #lobby")
    tmux_run(env, t, "b", "lobby", "bob")
    t.wait_screen("b", r"an administrator must /invite bob")
    t.type("a", "/invite bob")
    t.wait_screen("b", r"you joined #lobby, invited by alice")
    # A small block (3 lines) goes at once.
    tmux_paste(t, "a", "small one\nsmall two\nsmall three\n")
    t.wait_screen("b", r"^\d\d:\d\d #lobby <alice>  small one\n {22}small two\n {22}small three$")
    # 30 lines with tabs: asked first.
    block = "\n".join("p%02d\tcol\tend" % i for i in range(1, 31))
    tmux_paste(t, "a", block + "\n")
    t.wait_screen("a", r"^send the pasted 30 lines \(%d bytes\) as one message\? \[y/N\]"
                  % len(block))
    time.sleep(0.5)
    assert "p01" not in t.screen("b")
    t.keys("a", "y")
    # Tabs stop every 8 columns of the text, rows indented under it.
    s = t.wait_screen("b", r"^ {22}p30     col     end$")
    rows = s.splitlines()
    first = [i for i, r in enumerate(rows) if r.endswith("#lobby <alice>  p01     col     end")]
    assert len(first) == 1, s
    for k in range(2, 31):
        row = first[0] + k - 1
        if row < len(rows):
            assert rows[row] == " " * 22 + "p%02d     col     end" % k, (k, s)
    # One message: bob's history holds it once, tabs and newlines intact.
    db = glob.glob(os.path.join(env.tmp, "cfg-bob", "bob@*.db"))[0]
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        texts = [r[0] for r in con.execute("SELECT text FROM history")
                 if isinstance(r[0], str) and "p01" in r[0]]
    finally:
        con.close()
    assert texts == [block], texts
    # A block refused at the question is not sent.
    tmux_paste(t, "a", "\n".join("no%02d" % i for i in range(12)) + "\n")
    t.wait_screen("a", r"^send the pasted 12 lines")
    t.keys("a", "n")
    t.wait_screen("a", r"-- pasted block not sent")
    # The input limit: a counter from 90 %, and nothing beyond 16000 bytes.
    tmux_paste(t, "a", "x" * 15000)
    t.wait_screen("a", r"\[15000/16000\]$")
    tmux_paste(t, "a", "y" * 1500)
    t.wait_screen("a", r"!! paste of 1500 bytes not taken: a message holds at most 16000 bytes "
                  r"\(15000 already typed\)")
    t.keys("a", "-l", "z" * 1000)
    t.wait_screen("a", r"\[16000/16000\]$")
    t.keys("a", "-l", "qqq")
    t.wait_screen("a", r"\[16000/16000 bytes: full\]$")
    t.keys("a", "Enter")
    t.wait_screen("a", r"^ {22}z+$")
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        poll(lambda: any(isinstance(r[0], str) and r[0] == "x" * 15000 + "z" * 1000
                         for r in con.execute("SELECT text FROM history")), "the long message")
    finally:
        con.close()
    for w in ("a", "b"):
        t.type(w, "/quit")
        t.wait_screen(w, r"exit status 0", history=True)


def test_reconnect_countdown(env):
    """Offline, the status line counts down to the next try; /reconnect
    (and a key) tries at once."""
    if not have_tmux():
        raise TestFailure("tmux is not installed (scripts/deps.sh installs it)")
    env.tmux = t = Tmux(env.tmp)
    proxy = env.proxy()
    tmux_run(env, t, "a", "rc", "alice", extra=["--create"], url=proxy.url)
    t.wait_screen("a", r"-- created #rc")

    def retry_in():
        m = re.search(r"offline, retry in (\d+)s \(any key: now\)", t.screen("a"))
        return int(m.group(1)) if m else None

    def offline_long():
        """Cut, and wait until the backoff puts the next try seconds away
        (so what comes next is the user's try, not the timer's); the
        count goes down while nothing else happens."""
        proxy.cut()
        poll(lambda: (retry_in() or 0) >= 8, "a next try 8 s or more away", timeout=90)
        n = retry_in()
        poll(lambda: retry_in() is not None and retry_in() < n, "the countdown to move")
        proxy.restore()
        # At least 5 s left before the timer's own try: time enough for
        # the user's on a loaded machine.
        assert (retry_in() or 0) >= 5, t.screen("a")

    offline_long()
    t.type("a", "/reconnect")
    t.wait_screen("a", r"alice \| #rc \| 1 member \| connected")
    log = open(os.path.join(env.tmp, "debug-tmux-a.log"), errors="replace").read()
    assert log.count("net: reconnecting now, asked by the user") == 1, log[-2000:]
    # Any key while offline tries at once too.
    offline_long()
    t.keys("a", "Left")
    t.wait_screen("a", r"alice \| #rc \| 1 member \| connected")
    log = open(os.path.join(env.tmp, "debug-tmux-a.log"), errors="replace").read()
    assert log.count("net: reconnecting now, asked by the user") == 2, log[-2000:]
    t.type("a", "/quit")
    t.wait_screen("a", r"exit status 0", history=True)
    # Line mode: /reconnect while connected says so.
    b = env.client("rc2", "bob")
    b.wait_for(r"created #rc2")
    m = b.mark()
    b.say("/reconnect")
    b.wait_for(r"^\*\*\* already connected$", m)
    assert b.quit() == 0


def test_help_lists_every_option(env):
    """--help names every option main.c's parser accepts, and /help says
    that /quit exits the program."""
    src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src",
                            "client", "main.c")).read()
    parsed = set(re.findall(r'opt_value\(argc, argv, &i, "(--[a-z-]+)"\)', src))
    parsed |= set(re.findall(r'strcmp\(argv\[i\], "(--?[a-z-]+)"\) == 0', src))
    assert {"--server", "--config", "--ca-file", "--create", "--help", "--version"} <= parsed, parsed
    out = subprocess.run([CLIENT, "--help"], capture_output=True, text=True).stdout
    for opt in sorted(parsed):
        assert re.search(r"(^|[\s\[,])%s\b" % re.escape(opt), out), (opt, out)
    for word in ("PgUp", "Alt+1..9", "/reconnect", "/quit (exits the program"):
        assert word in out, (word, out)
    a = env.client("h", "alice")
    a.wait_for(r"created #h")
    m = a.mark()
    a.say("/help")
    a.wait_for(r"^\*\*\*   /quit   exit the program", m)
    a.wait_for(r"^\*\*\*   /reconnect   connect to the server now", m)
    assert a.quit() == 0


def test_curses_scroll_all_history(env):
    """PgUp reads back over the whole local history, a page at a time
    from the database: 1,300 stored lines, every one seen once on the
    way up to the first, and again on the way down (past the archive's
    bound of 1,000 lines, so a dropped page is read again)."""
    if not have_tmux():
        raise TestFailure("tmux is not installed (scripts/deps.sh installs it)")
    total = 1300
    a = env.client("hist", "alice")
    a.wait_for(r"created #hist")
    a.proc.stdin.write(("".join("old %04d\n" % i for i in range(1, total + 1))).encode())
    a.proc.stdin.flush()
    a.eof()
    assert a.wait_exit(300) == 0, "\n".join(a.snapshot()[-20:])
    env.tmux = t = Tmux(env.tmp)
    tmux_run(env, t, "a", "hist", "alice")
    t.wait_screen("a", r"<alice>  old %04d$" % total)
    rx = re.compile(r"<alice>  old (\d{4})$", re.M)

    def walk(key, done):
        seen = set()
        screen = t.screen("a")
        for _ in range(200):
            seen |= set(int(x) for x in rx.findall(screen))
            if done(screen):
                return seen
            t.keys("a", key)
            before = screen
            end = time.time() + 20
            while screen == before and time.time() < end:
                time.sleep(0.05)
                screen = t.screen("a")
            if screen == before:
                break
        raise TestFailure("%s did not get there; screen:\n%s" % (key, screen))

    up = walk("PageUp", lambda s: re.search(r"<alice>  old 0001$", s, re.M))
    assert up == set(range(1, total + 1)), sorted(set(range(1, total + 1)) - up)[:20]
    down = walk("PageDown", lambda s: "scrolled back" not in s)
    assert down == set(range(1, total + 1)), sorted(set(range(1, total + 1)) - down)[:20]
    t.type("a", "/quit")
    t.wait_screen("a", r"exit status 0", history=True)


TESTS = [
    test_story,
    test_live_invite_and_offline_invite,
    test_offline_across_membership_change,
    test_restart_persisted,
    test_group_switching,
    test_concurrent_commits,
    test_reconnect_outbox,
    test_late_copy_and_server_failure,
    test_register_answer_lost,
    test_invite_before_first_start,
    test_line_mode_input,
    test_tls,
    test_line_mode_eof,
    test_rejoin,
    test_burst_order,
    test_burst_1000_default_rate,
    test_catchup_pages,
    test_catchup_killed,
    test_key_package_deleted_after_join,
    test_store_failure_during_commit,
    test_kick_and_leave,
    test_rejoin_refused,
    test_server_forges_membership,
    test_log_gap,
    test_client_refuses_forged_commits,
    test_op_deop,
    test_curses_story,
    test_curses_scripts,
    test_curses_outgoing,
    test_hostile_text_neutralized,
    test_create_needs_consent,
    test_line_mode_continuation_and_limit,
    test_curses_create_prompt,
    test_curses_paste,
    test_reconnect_countdown,
    test_help_lists_every_option,
    test_curses_scroll_all_history,
]


def run_tests(tests, only, label):
    """Runs each test of tests (those whose name contains only) in its own
    Env; prints one line each and "<label>: P/T passed"; 1 if any failed."""
    failed = 0
    run = 0
    for t in tests:
        name = t.__name__
        if only and only not in name:
            continue
        run += 1
        env = Env(name)
        ok = False
        start = time.time()
        try:
            t(env)
            for c in env.clients:
                c.kill()
            reports = sanitizer_reports(env.tmp)
            if reports:
                raise TestFailure("sanitizer reports:\n" + "\n".join(reports))
            ok = True
            print("ok   %s (%.1fs)" % (name, time.time() - start), flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure kind
            failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
            traceback.print_exc()
            print("     files kept in %s" % env.tmp, flush=True)
        finally:
            env.close(ok)
    print("%s: %d/%d passed" % (label, run - failed, run))
    return 1 if failed else 0


def main():
    return run_tests(TESTS, ONLY, "client tests")


if __name__ == "__main__":
    sys.exit(main())
