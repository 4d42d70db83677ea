"""The hostile-client suite: valid requests used as weapons against the real
./server (issue 10), each replayed and shown refused or bounded.  After
each case honest clients are still served, the database passes
`PRAGMA integrity_check` and every acknowledged message is in it.

Bounds are measured in bytes and counts, never in seconds; waits for the
server to act (a deadline, a ping) poll with a generous upper limit.

Usage: python3 tests/integration/test_hostile.py ./server [test-name-substring]
"""

import json
import os
import signal
import sqlite3
import stat
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dsclient import (Client, Identity, Server, WebSocket, WSClosed, b64,  # noqa
                      private_message, public_commit, u16, vec)
import mlsmember  # noqa: E402

BINARY = None


class Fail(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Fail(what)


def ok(resp, what=""):
    expect(resp.get("ok") is True, "%s: expected ok, got %s" % (what, str(resp)[:300]))
    return resp


def refused(resp, code, what=""):
    expect(resp.get("ok") is False and resp.get("error") == code,
           "%s: expected error %s, got %s" % (what, code, str(resp)[:300]))
    return resp


def poll(fn, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise Fail("timed out waiting for " + what)


class Ledger:
    """Every message the server acknowledged, to find in the database."""

    def __init__(self):
        self.acked = []  # (group, seq)

    def send(self, c, group, gid, epoch=0, size=64):
        r = ok(c.request("group.send", group=group,
                         message=b64(private_message(gid, epoch, size=size))), "send")
        self.acked.append((group, r["seq"]))
        return r

    def check(self, db):
        """integrity_check and every acknowledged entry present (the
        server has stopped or checkpointed)."""
        con = sqlite3.connect(db)
        try:
            expect(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok",
                   "integrity_check")
            for group, seq in self.acked:
                row = con.execute("SELECT count(*) FROM log l JOIN groups g ON g.id = l.group_ref"
                                  " WHERE g.name = ? AND l.seq = ?", (group, seq)).fetchone()
                expect(row[0] == 1, "acknowledged %s/%d is stored" % (group, seq))
        finally:
            con.close()


def user(srv, name, keep=True):
    """A registered user whose MLS objects are real (tests/tools/mlsforge):
    the server validates every commit (docs/PROTOCOL.md section 7.4)."""
    return mlsmember.member(srv, name, keep)


def make_group(c, name):
    return mlsmember.make_group(c, name)


def invite(admin, group, names):
    """The administrator's real commit adding these users, with one Welcome."""
    return mlsmember.add_member(admin, group, names)


def honest_round(srv, ledger, tag):
    """Two honest users: one creates a group, invites the other, both talk."""
    a, ca = user(srv, "hon-a-" + tag)
    b, cb = user(srv, "hon-b-" + tag)
    gid = make_group(ca, "hon-" + tag)
    ok(invite(ca, "hon-" + tag, [b.username]), "honest invite")
    page = ok(cb.request("inbox.fetch"))
    expect(len(page["entries"]) == 1, "honest Welcome arrives")
    ok(cb.request("inbox.ack", ids=[page["entries"][0]["inbox_id"]]))
    ledger.send(ca, "hon-" + tag, gid, 1)
    ledger.send(cb, "hon-" + tag, gid, 1)
    ca.close()
    cb.close()


def metric(srv, name):
    status, body = srv.http("/metrics")
    expect(status == 200, "/metrics answers")
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return line
    return None


def finish(srv, ledger):
    expect(srv.stop(signal.SIGTERM) == 0, "clean exit")
    ledger.check(srv.db)


# ---------------------------------------------------------------- 1. bounded work

def test_inbox_flood():
    """Issue 10: 20 Welcomes of 760 KB to one victim put its inbox.fetch
    past the 16 MiB output cap and locked it out at every login.  Now the
    inbox holds at most --inbox-max-bytes for the victim (the rest is
    inbox_full), and the victim reads it page by page, each reply within
    --page-bytes.  The Welcomes are real (the server routes a Welcome only
    to the members its commit adds), so the inbox limit is scaled to their
    size: room for 13 of them; they fit one page of the smallest budget
    (test_log_fetch_budget splits pages)."""
    probe = Server(BINARY).start()
    try:
        pv, _ = user(probe, "victim", keep=False)
        pm, cpm = user(probe, "mallory")
        make_group(cpm, "probe")
        ok(invite(cpm, "probe", ["victim"]), "probe invitation")
        cpv = probe.client(pv)
        ok(cpv.login())
        e = ok(cpv.request("inbox.fetch"))["entries"][0]
        size = len(mlsmember.unb64(e["welcome"])) + len(mlsmember.unb64(e["group_info"]))
    finally:
        probe.stop()
    page_bytes = 1 << 20
    srv = Server(BINARY, args=["--inbox-max-bytes", str(13 * size + size // 2),
                               "--page-bytes", str(page_bytes)]).start()
    ledger = Ledger()
    try:
        v, _ = user(srv, "victim", keep=False)
        m, cm = user(srv, "mallory")
        accepted = full = 0
        for i in range(20):
            make_group(cm, "flood%d" % i)
            r = invite(cm, "flood%d" % i, ["victim"])
            if r.get("ok"):
                accepted += 1
            else:
                refused(r, "inbox_full", "flood %d" % i)
                full += 1
        expect(accepted == 13 and full == 7,
               "the inbox holds 13 Welcomes of %d bytes: %d accepted, %d refused" %
               (size, accepted, full))
        # The victim logs in and pages through its inbox.
        cv = srv.client(v)
        ok(cv.login(), "victim logs in")
        got, after, pages = [], 0, 0
        while True:
            rid = cv.next_id
            cv.next_id += 1
            cv.send({"id": rid, "type": "inbox.fetch", "after": after, "limit": 500})
            text = cv.ws.recv_text(30)
            while text is not None and '"event"' in text[:40]:
                text = cv.ws.recv_text(30)
            expect(text is not None, "inbox page arrives")
            expect(len(text) <= page_bytes + 4096,
                   "inbox page of %d bytes within the budget" % len(text))
            page = ok(json.loads(text), "inbox page")
            pages += 1
            got += page["entries"]
            if not page["more"]:
                break
            after = page["entries"][-1]["inbox_id"]
        expect(len(got) == accepted and pages >= 1,
               "%d entries in %d pages" % (len(got), pages))
        expect(len({e["inbox_id"] for e in got}) == len(got), "no entry twice")
        ok(cv.request("inbox.ack", ids=[e["inbox_id"] for e in got]))
        expect(ok(cv.request("inbox.fetch"))["entries"] == [], "inbox empty after ack")
        expect(metric(srv, 'mlschat_requests_refused_total{reason="inbox_full"}'),
               "inbox_full counted in /metrics")
        expect(metric(srv, "mlschat_send_queue_bytes") is not None, "send queue gauge")
        cv.close()
        cm.close()
        honest_round(srv, ledger, "flood")
        finish(srv, ledger)
        con = sqlite3.connect(srv.db)
        left = con.execute("SELECT count(*) FROM welcomes").fetchone()[0]
        con.close()
        expect(left == 0, "acked Welcomes are deleted (%d left)" % left)
    finally:
        srv.stop()


def test_log_fetch_budget():
    """One log.fetch with limit 500 over ~1 MB entries built the whole reply
    (1.5 GB peak).  Now a page stops at --page-bytes and says more."""
    page_bytes = 2 << 20
    srv = Server(BINARY, args=["--page-bytes", str(page_bytes)]).start()
    ledger = Ledger()
    try:
        a, ca = user(srv, "alice")
        gid = make_group(ca, "big")
        for _ in range(9):
            ledger.send(ca, "big", gid, size=700000)
        seqs, after, pages = [], 0, 0
        while True:
            rid = ca.next_id
            ca.next_id += 1
            ca.send({"id": rid, "type": "log.fetch", "group": "big", "after": after, "limit": 500})
            text = ca.ws.recv_text(30)
            expect(text is not None, "page arrives")
            expect(len(text) <= page_bytes + 4096, "page of %d bytes within budget" % len(text))
            page = ok(json.loads(text))
            pages += 1
            seqs += [e["seq"] for e in page["entries"]]
            if not page["more"]:
                break
            after = seqs[-1]
        expect(seqs == [s for _, s in ledger.acked], "every entry once, in order")
        expect(pages >= 4, "9 entries of ~930 KB base64 need several 2 MiB pages: %d" % pages)
        ca.close()
        honest_round(srv, ledger, "fetch")
        finish(srv, ledger)
    finally:
        srv.stop()


def test_welcome_stored_once_and_invite_rate():
    """A commit welcoming many users stored a copy per recipient; now one
    copy.  Invitations are limited per inviter (--invite-rate), counted
    from the KeyPackageRefs of the Welcomes."""
    srv = Server(BINARY, args=["--invite-rate", "12"]).start()
    ledger = Ledger()
    try:
        names = []
        for i in range(10):
            ident, _ = user(srv, "guest%d" % i, keep=False)
            names.append(ident.username)
        a, ca = user(srv, "alice")
        make_group(ca, "party")
        ok(invite(ca, "party", names), "one commit, 10 recipients")
        con = sqlite3.connect(srv.db)
        n_w, w_bytes = con.execute("SELECT count(*), sum(length(data)) FROM welcomes").fetchone()
        n_i = con.execute("SELECT count(*) FROM inbox").fetchone()[0]
        con.close()
        expect(n_w == 1 and w_bytes > 0 and n_i == 10,
               "one Welcome of %s bytes for 10 entries: %s %s" % (w_bytes, n_w, n_i))
        # 10 of 12 invitations used: 5 more are refused, with retry_after.
        more = []
        for i in range(5):
            ident, _ = user(srv, "late%d" % i, keep=False)
            more.append(ident.username)
        r = refused(invite(ca, "party", more), "rate_limited", "invite rate")
        expect(r.get("retry_after", 0) >= 1, "retry_after given")
        # More than a minute's worth in one commit can never pass.
        others = []
        for i in range(8):
            ident, _ = user(srv, "crowd%d" % i, keep=False)
            others.append(ident.username)
        refused(invite(ca, "party", more + others), "too_large", "more than the burst")
        ok(invite(ca, "party", more[:2]), "within the rate")
        ca.close()
        honest_round(srv, ledger, "invite")
        finish(srv, ledger)
    finally:
        srv.stop()


# ---------------------------------------------------------------- 2. connections

def test_login_deadline():
    """Idle WebSockets that never log in held their slots forever."""
    srv = Server(BINARY, args=["--login-timeout", "1"]).start()
    ledger = Ledger()
    try:
        ws = WebSocket(srv.port)
        first = json.loads(ws.recv_text())
        expect(first.get("event") == "challenge", "challenge")
        closed = None
        deadline = time.time() + 20
        seen = []
        while time.time() < deadline and closed is None:
            try:
                t = ws.recv_text(1)
                if t:
                    seen.append(json.loads(t))
            except WSClosed as e:
                closed = str(e)
        expect(closed is not None, "unauthenticated connection closed")
        expect(any(m.get("error") == "login_timeout" for m in seen), "told why: %s" % seen)
        expect("\\x03\\xf0" in closed or "1008" in closed or "x03\\xf0" in closed,
               "close frame 1008 (policy): %s" % closed)
        expect(metric(srv, 'mlschat_connections_closed_total{reason="login_timeout"}'),
               "counted in /metrics")
        honest_round(srv, ledger, "deadline")
        finish(srv, ledger)
    finally:
        srv.stop()


def test_per_address_limits():
    """Connections and registrations per peer address."""
    srv = Server(BINARY, args=["--max-per-address", "3", "--register-rate", "3"]).start()
    ledger = Ledger()
    try:
        a, ca = user(srv, "alice")
        b, cb = user(srv, "bob")
        c3 = srv.client(Identity("carol"))
        ws = WebSocket(srv.port)
        first = json.loads(ws.recv_text())
        refused(first, "too_many_connections", "fourth connection from one address")
        ws.close()

        def count_is(n):
            return lambda: metric(srv, "mlschat_connections").endswith(" %d" % n)
        poll(count_is(3), 20, "the refused connection closed")
        ok(c3.register(), "third registration")
        c3.close()
        poll(count_is(2), 20, "carol's connection closed")
        c4 = srv.client(Identity("dave"))
        r = refused(c4.register(), "rate_limited", "fourth registration")
        expect(r.get("retry_after", 0) >= 1, "retry_after")
        c4.close()
        # Logged-in users are still served.
        gid = make_group(ca, "still")
        ledger.send(ca, "still", gid)
        ok(cb.request("ping"))
        ca.close()
        cb.close()
        finish(srv, ledger)
    finally:
        srv.stop()


# ---------------------------------------------------------------- 3. KeyPackages

def test_key_package_draining():
    """Fresh accounts drained a user's one-time KeyPackages and then got the
    last-resort one over and over."""
    srv = Server(BINARY, args=["--last-resort-rate", "2", "--claim-target-rate", "8"]).start()
    ledger = Ledger()
    try:
        v = Identity("victim")
        cv = srv.client(v)
        ok(cv.register())
        ok(cv.request("kp.upload", key_packages=[b64(v.key_package()) for _ in range(3)]))
        ok(cv.request("kp.upload", key_packages=[b64(v.key_package())], last_resort=True))
        one_time = last_resort = limited = 0
        for i in range(12):
            # One fresh account per claim: the per-requester limit never bites.
            c = srv.client(Identity("drain%d" % i))
            if not c.register().get("ok"):
                c.close()
                continue
            r = c.request("kp.claim", username="victim")
            if r.get("ok"):
                if r["last_resort"]:
                    last_resort += 1
                else:
                    one_time += 1
            else:
                refused(r, "rate_limited", "claim %d" % i)
                expect(r.get("retry_after", 0) >= 1, "retry_after")
                limited += 1
            c.close()
        expect(one_time == 3 and last_resort == 2 and limited >= 5,
               "3 one-time, last resort twice, then refused: %d %d %d" %
               (one_time, last_resort, limited))
        r = ok(cv.request("kp.count"))
        expect(r["count"] == 0 and r["last_resort"] is True, "last resort kept")
        cv.close()
        honest_round(srv, ledger, "kp")
        finish(srv, ledger)
    finally:
        srv.stop()


# ---------------------------------------------------------------- 4. bounds

def test_epoch_bounds_and_privacy():
    """A group created at epoch 2^63-1 then committed made the epoch a float
    (-2^63 in the response); non-members learned the administrator, epoch
    and sequence numbers; the database was world-readable."""
    srv = Server(BINARY).start()
    ledger = Ledger()
    try:
        top = (1 << 63) - 1
        a, ca = user(srv, "alice")
        b, cb = user(srv, "bob")
        # A group's epoch comes from its creator's GroupInfo now (PROTOCOL
        # section 7.1), so no group starts at 2^63-1; a commit claiming that
        # epoch is refused before anything else.
        gid = make_group(ca, "edge")
        r = refused(ca.request("group.commit", group="edge", epoch=top,
                               commit=b64(public_commit(gid, top))), "out_of_range")
        expect("2^63" in r["message"], "a clear message: %s" % r["message"])
        info = ok(ca.request("group.info", name="edge"))
        expect(info["epoch"] == 0, "epoch unchanged and an integer: %s" % info["epoch"])
        ca.send({"id": 99, "type": "group.create", "name": "edge2",
                 "group_id": b64(os.urandom(8)), "epoch": 1 << 63})
        r = ca.wait_response(99)
        expect(r.get("ok") is False and r.get("error") in ("bad_json", "bad_request"),
               "epoch 2^63 refused: %s" % r)
        refused(ca.request("group.send", group="edge",
                           message=b64(private_message(gid, (1 << 64) - 1))), "wrong_epoch")
        ok(ca.request("log.fetch", group="edge", after=top), "cursor 2^63-1 is valid")
        # Non-members learn that the name is taken, nothing more.
        r = ok(cb.request("group.info", name="edge"))
        expect(set(r) - {"id", "type", "ok"} == {"exists", "member"} and r["exists"] is True,
               "non-member view: %s" % r)
        refused(cb.request("log.fetch", group="edge", after=0), "not_member")
        refused(cb.request("group.send", group="edge",
                           message=b64(private_message(gid, top))), "not_member")
        # The database and its WAL and shared-memory files: mode 0600.
        ledger.send(ca, "edge", gid, 0)
        for suffix in ("", "-wal", "-shm"):
            path = srv.db + suffix
            expect(os.path.exists(path), path + " exists")
            mode = stat.S_IMODE(os.stat(path).st_mode)
            expect(mode & 0o077 == 0, "%s is mode %o" % (path, mode))
        ca.close()
        cb.close()
        honest_round(srv, ledger, "bounds")
        finish(srv, ledger)
    finally:
        srv.stop()


# ---------------------------------------------------------------- 5. faults

def test_database_moved_and_deleted():
    """The database files deleted under the running server went unnoticed:
    320 more acknowledgements, all lost; /health said 200."""
    srv = Server(BINARY).start()
    ledger = Ledger()
    try:
        a, ca = user(srv, "alice")
        gid = make_group(ca, "g")
        for _ in range(5):
            ledger.send(ca, "g", gid)
        expect(srv.http("/health")[0] == 200, "healthy")
        moved = srv.db + ".moved"
        for suffix in ("", "-wal", "-shm"):
            os.rename(srv.db + suffix, moved + suffix)
        r = ca.request("group.send", group="g", message=b64(private_message(gid, 0)))
        refused(r, "unavailable", "write after the move")
        status, body = srv.http("/health")
        expect(status == 503 and b"moved" in body, "/health 503: %s %s" % (status, body))
        expect(metric(srv, "mlschat_store_healthy").endswith(" 0"), "store_healthy 0")
        ca.close()
        expect(srv.stop(signal.SIGTERM) == 0, "clean exit")
        srv.db, db = moved, srv.db
        ledger.check(moved)
        # Deleted outright: the same refusal, nothing acknowledged after.
        srv.db = db
        srv.start()
        c = srv.client(a)
        refused(c.login(), "unknown_user", "a fresh database")
        ident, c2 = user(srv, "bob")
        gid2 = make_group(c2, "h")
        ledger2 = Ledger()
        ledger2.send(c2, "h", gid2)
        for suffix in ("", "-wal", "-shm"):
            os.unlink(srv.db + suffix)
        refused(c2.request("group.send", group="h", message=b64(private_message(gid2, 0))),
                "unavailable", "write after the delete")
        expect(srv.http("/health")[0] == 503, "/health 503 after delete")
        c.close()
        c2.close()
    finally:
        srv.stop()


def test_wal_checkpointed():
    """The WAL grew until SQLite's default checkpoint; now it is truncated
    every purge interval."""
    srv = Server(BINARY, args=["--purge-interval", "1"]).start()
    ledger = Ledger()
    try:
        a, ca = user(srv, "alice")
        gid = make_group(ca, "w")
        for _ in range(6):
            ledger.send(ca, "w", gid, size=500000)

        def small():
            line = metric(srv, "mlschat_wal_bytes")
            return line is not None and int(line.split()[-1]) == 0
        poll(small, 20, "WAL truncated by the periodic checkpoint")
        ca.close()
        honest_round(srv, ledger, "wal")
        finish(srv, ledger)
    finally:
        srv.stop()


def test_vanished_peer():
    """A peer that vanished without closing was never freed; now a peer
    that answers no PING is hung up on, one that does stays."""
    srv = Server(BINARY, args=["--ping-interval", "1", "--idle-timeout", "3"]).start()
    ledger = Ledger()
    try:
        a, ca = user(srv, "alice")
        g, gone = user(srv, "ghost")
        # The ghost never reads again: its PINGs go unanswered.
        expect(metric(srv, "mlschat_connections").endswith(" 2"), "two connections")
        end = time.time() + 6
        while time.time() < end:
            try:
                ca.ws.recv_text(0.3)  # alice answers PINGs as any client does
            except TimeoutError:
                pass
        poll(lambda: metric(srv, "mlschat_connections").endswith(" 1"), 30,
             "the silent peer freed")
        gid = make_group(ca, "alive")
        ledger.send(ca, "alive", gid)
        gone.ws.sock.close()
        ca.close()
        finish(srv, ledger)
    finally:
        srv.stop()


def test_sigterm_flushes_and_closes():
    """On SIGTERM the last answers were never flushed and no close frame was
    sent.  Now every answer earned is sent, then a close frame 1001."""
    srv = Server(BINARY).start()
    ledger = Ledger()
    try:
        a, ca = user(srv, "alice")
        gid = make_group(ca, "t")
        ledger.send(ca, "t", gid)
        ids = []
        for _ in range(30):
            rid = ca.next_id
            ca.next_id += 1
            ids.append(rid)
            ca.send({"id": rid, "type": "group.send", "group": "t",
                     "message": b64(private_message(gid, 0))})
        # Wait for the first answer so the server is in the middle of them.
        answers = {}
        t = ca.ws.recv_text(10)
        while t is not None:
            o = json.loads(t)
            if o.get("id") in ids:
                answers[o["id"]] = o
                break
            t = ca.ws.recv_text(10)
        srv.proc.send_signal(signal.SIGTERM)
        closed = None
        try:
            while True:
                t = ca.ws.recv_text(20)
                if t is None:
                    break
                o = json.loads(t)
                if o.get("id") in ids:
                    answers[o["id"]] = o
        except WSClosed as e:
            closed = str(e)
        expect(closed is not None and "\\x03\\xe9" in closed,
               "close frame 1001 going away: %s" % closed)
        for o in answers.values():
            if o.get("ok"):
                ledger.acked.append(("t", o["seq"]))
        expect(srv.proc.wait(20) == 0, "exit 0")
        ledger.check(srv.db)
        srv.start()
        honest_round(srv, ledger, "after")
        finish(srv, ledger)
    finally:
        srv.stop()


TESTS = [v for k, v in sorted(globals().items()) if k.startswith("test_")]


def main():
    global BINARY
    BINARY = sys.argv[1]
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    failed = 0
    for t in TESTS:
        if only not in t.__name__:
            continue
        start = time.time()
        try:
            t()
            print("PASS %s (%.1fs)" % (t.__name__, time.time() - start), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % t.__name__, flush=True)
            traceback.print_exc()
    print("%d failed" % failed)
    mlsmember.cleanup()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
