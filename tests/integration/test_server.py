"""Acceptance tests of the mlschat server: the real ./server binary on a free
port with a temporary database, driven over HTTP and WebSocket.

Group members build real MLS objects through tests/tools/mlsforge (the
server validates every commit with its public view of the group,
docs/PROTOCOL.md section 7.4).

Usage: python3 tests/integration/test_server.py ./server [test-name-substring]
       (MLSFORGE=path/to/mlsforge, default build/rel/bin/mlsforge)
"""

import http.client
import json
import os
import signal
import ssl
import subprocess
import tempfile
import sys
import threading
import time
import traceback
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dsclient import (Client, Identity, Server, WebSocket, WSClosed, b64, free_port,  # noqa
                      private_message, public_commit, unb64, welcome)
import mlsmember  # noqa: E402
from mlsmember import (add_member, commit, commit_request, forge, forge_json, join,  # noqa
                       make_group, member, refused_rule, send_commit)

BINARY = None


class Fail(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Fail(what)


def ok(resp, what=""):
    expect(resp.get("ok") is True, "%s: expected ok, got %s" % (what, resp))
    return resp


def refused(resp, code, what=""):
    expect(resp.get("ok") is False and resp.get("error") == code,
           "%s: expected error %s, got %s" % (what, code, resp))
    expect(isinstance(resp.get("message"), str) and resp["message"], "error has a message")
    return resp


def user(srv, name):
    ident = Identity(name)
    c = srv.client(ident)
    ok(c.register(), "register " + name)
    return ident, c


def poll(fn, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise Fail("timed out waiting for " + what)


# ---------------------------------------------------------------- tests

def test_http_endpoints():
    srv = Server(BINARY).start()
    try:
        st, body = srv.http("/health")
        expect(st == 200 and json.loads(body)["status"] == "ok", "health")
        st, body = srv.http("/v1/users/nobody")
        expect(st == 404 and json.loads(body)["error"] == "unknown_user", "lookup 404")
        st, body = srv.http("/v1/users/Bad%20Name")
        expect(st == 400 and json.loads(body)["error"] == "bad_username", "lookup 400")
        st, body = srv.http("/nowhere")
        expect(st == 404 and json.loads(body)["error"] == "not_found", "unknown path")
        a, ca = user(srv, "alice")
        st, body = srv.http("/v1/users/alice")
        info = json.loads(body)
        expect(st == 200 and unb64(info["signature_key"]) == a.pk, "lookup key")
        expect(len(info["fingerprint"]) == 79 and info["cipher_suite"] == 1, "fingerprint")
        r = ok(ca.request("user.lookup", username="alice"))
        expect(r["user_id"] == info["user_id"], "ws lookup")
        st, body = srv.http("/metrics")
        text = body.decode()
        for name in ("mlschat_connections 1", "mlschat_request_duration_seconds_bucket",
                     "mlschat_database_bytes", "mlschat_requests_refused_total",
                     "mlschat_messages_accepted_total"):
            expect(name in text, "metrics has " + name)
        expect('reason="unknown_user"' in text, "refusals counted by reason")
    finally:
        srv.stop()


def test_auth():
    srv = Server(BINARY).start()
    try:
        a = Identity("alice")
        c = srv.client(a)
        refused(c.request("kp.count"), "unauthenticated")
        refused(c.register(Identity("Alice!")), "bad_username")
        refused(c.register(Identity("x" * 33)), "bad_username")
        refused(c.register(a, cipher_suite=9), "unsupported_suite")
        refused(c.register(a, signature_key=b64(b"short")), "bad_key")
        refused(c.register(a, signature=b64(Identity("alice").auth_signature(
            "register", c.nonce, int(time.time())))), "bad_signature")
        refused(c.register(a, timestamp=int(time.time()) - 3600), "bad_timestamp")
        refused(c.register(a, nonce=b64(os.urandom(32))), "bad_challenge")
        refused(c.register(a, signature="!!!"), "bad_base64")
        ok(c.register(a))
        refused(c.login(a), "already_authenticated")
        c2 = srv.client(Identity("alice"))
        refused(c2.register(), "username_taken")
        c3 = srv.client(Identity("bob"))
        refused(c3.register(c3.id, signature_key=b64(a.pk),
                            signature=b64(a.auth_signature("register", c3.nonce, int(time.time()),
                                                           username="bob"))), "bad_key")
        # Login: the right key works; another key, an unknown user, a replay do not.
        d = srv.client(a)
        used = {"nonce": b64(d.nonce)}
        ts = int(time.time())
        sig = b64(a.auth_signature("login", d.nonce, ts))
        ok(d.request("login", username="alice", nonce=used["nonce"], timestamp=ts, signature=sig))
        e = srv.client(a)
        refused(e.request("login", username="alice", nonce=used["nonce"], timestamp=ts,
                          signature=sig), "replay")
        impostor = Identity("alice")
        refused(e.login(impostor), "bad_signature")
        refused(e.login(Identity("carol")), "unknown_user")
        ok(e.login(a), "login after refusals with the fresh nonce")
        ok(e.request("user.rename", username="alice2"))
        st, body = srv.http("/v1/users/alice2")
        expect(st == 200 and json.loads(body)["user_id"] == 1, "rename keeps user id")
        expect(srv.http("/v1/users/alice")[0] == 404, "old name no longer a user")
        # The old name stays reserved to alice (--name-reserve, default 30
        # days): another key cannot register it, alice can take it back.
        f = srv.client(Identity("alice"))
        refused(f.register(Identity("alice")), "username_taken")
        g = srv.client(Identity("mallory"))
        ok(g.register(Identity("mallory")))
        refused(g.request("user.rename", username="alice"), "username_taken")
        ok(e.request("user.rename", username="alice"), "alice takes her old name back")
    finally:
        srv.stop()


def test_json_reader_edges():
    """Hand-written requests at the edges of the server's own JSON reader
    (src/common/json_plain.c): each is answered as jansson reads it, since
    the reader takes only plain texts and leaves the rest to jansson."""
    srv = Server(BINARY).start()
    try:
        a, ca = member(srv, "alice")
        cases = [
            ('{"type":"ping","id":1}', 1, None),
            ('  {"type" : "ping" , "id" : 2 }  ', 2, None),
            ('{"\\u0074ype":"ping","id":3}', 3, None),           # escaped key
            ('{"type":"ping","id":1234567890123456789}', 1234567890123456789, None),
            ('{"type":"ping","id":-0}', 0, None),
            ('{"type":"ping","id":4,"x":' + "[" * 40 + "]" * 40 + "}", 4, None),
            ('{"type":"p\u00e9ng","id":5}', 5, "unknown_type"),  # a type in UTF-8
            ('{"type":"ping","type":"group.send","id":6}', None, "bad_json"),
            ('{"type":"ping","id":99999999999999999999999}', None, "bad_json"),
            ('{"type":"ping","id":7,"x":"\\u0000"}', None, "bad_json"),
            ('{"type":"ping","id":8,}', None, "bad_json"),
            ('{"type":"ping","id":9}\x00', None, "bad_json"),
        ]
        for text, rid, err in cases:
            ca.ws.send_text(text)
            r = ca.wait_response(rid)
            expect(r.get("id") == rid, "%r: answered for id %r: %s" % (text, rid, r))
            if err:
                refused(r, err)
            else:
                expect(r.get("ok") is True and r.get("type") == "ping", "%r: %s" % (text, r))
        ok(ca.request("ping"), "the connection still serves")
    finally:
        srv.stop()


def test_hostile_input():
    srv = Server(BINARY, args=["--max-message", "4096"]).start()
    try:
        a, ca = member(srv, "alice")
        ca.ws.send_text("{not json")
        refused(ca.wait_response(None), "bad_json")
        ca.ws.send_text("[1,2]")
        refused(ca.wait_response(None), "bad_json")
        ca.send({"type": "ping"})
        refused(ca.wait_response(None), "bad_request")
        refused(ca.request("no.such"), "unknown_type")
        refused(ca.request("group.create", name="g", group_id="a=b="), "bad_base64")
        refused(ca.request("group.create", name="g"), "bad_request")
        refused(ca.request("group.send", group="nope", message=b64(b"x")), "unknown_group")
        gid = make_group(ca, "g")
        refused(ca.request("group.send", group="g", message=b64(b"\x00\x01\x00\x02")),
                "malformed_mls")
        big = srv.client(Identity("big"))
        big.send({"id": 1, "type": "ping", "pad": "x" * 10000})
        refused(big.wait_response(1), "too_large")
        closed = False
        try:
            big.ws.recv_text(10)
        except (WSClosed, OSError):
            closed = True
        expect(closed, "oversized message closes the connection")
        # Everyone else is still served.
        ok(ca.request("group.send", group="g", message=b64(private_message(gid, 0))))
        expect(srv.http("/health")[0] == 200, "still healthy")
    finally:
        srv.stop()


def test_key_packages():
    srv = Server(BINARY, args=["--claim-rate", "6"]).start()
    try:
        a, ca = user(srv, "alice")
        b, cb = user(srv, "bob")
        other = Identity("zed")
        bad = [
            ("identity", a.key_package(identity="bob"), "invalid_key_package"),
            ("signature key", a.key_package(sig_sk=other.sk), "invalid_key_package"),
            ("signature", a.key_package(corrupt_sig=True), "invalid_key_package"),
            ("leaf signature", a.key_package(corrupt_leaf_sig=True), "invalid_key_package"),
            ("init_key", a.key_package(same_init=True), "invalid_key_package"),
            ("version", a.key_package(version=2), "invalid_key_package"),
            ("bare, bad", a.key_package(wrap=False, corrupt_sig=True), "invalid_key_package"),
            ("not a KeyPackage", welcome(), "malformed_mls"),
            ("trailing", a.key_package() + b"\x00", "malformed_mls"),
            ("expired", a.key_package(not_after=int(time.time()) - 10), "invalid_key_package"),
            ("not yet", a.key_package(not_before=int(time.time()) + 3600), "invalid_key_package"),
            ("suite", a.key_package(suite=3), "invalid_key_package"),
            ("truncated", a.key_package()[:-5], "malformed_mls"),
        ]
        for what, kp, code in bad:
            r = refused(ca.request("kp.upload", key_packages=[b64(kp)]), code, what)
            expect(r.get("index") == 0, "index of the bad KeyPackage")
        r = refused(ca.request("kp.upload", key_packages=[b64(a.key_package()),
                                                         b64(a.key_package(identity="x"))]),
                    "invalid_key_package", "batch")
        expect(r["index"] == 1, "batch index")
        expect(ok(ca.request("kp.count"))["count"] == 0, "a refused batch stores nothing")
        refused(ca.request("kp.upload", key_packages=[b64(a.key_package())] * 2, last_resort=True),
                "bad_request")
        ok(ca.request("kp.upload", key_packages=[b64(a.key_package()), b64(a.key_package(wrap=False))]))
        r = ok(ca.request("kp.upload", key_packages=[b64(a.key_package())], last_resort=True))
        expect(r["count"] == 2 and r["last_resort"] is True, "count after upload")
        refused(cb.request("kp.claim", username="nobody"), "unknown_user")
        refused(ca.request("kp.claim", username="bob"), "no_key_package")
        got = [ok(cb.request("kp.claim", username="alice")) for _ in range(4)]
        expect([g["last_resort"] for g in got] == [False, False, True, True], "last resort last")
        expect(got[0]["key_package"] != got[1]["key_package"], "one-time packages differ")
        expect(got[2]["key_package"] == got[3]["key_package"], "last resort kept")
        r = ok(ca.request("kp.count"))
        expect(r["count"] == 0 and r["last_resort"] is True and r["low_water"] > 0, "count")
        for _ in range(2):
            cb.request("kp.claim", username="alice")
        r = refused(cb.request("kp.claim", username="alice"), "rate_limited")
        expect(r["retry_after"] >= 1, "retry_after")
        # Another connection of the same user shares the limit.
        cb2 = srv.client(b)
        ok(cb2.login())
        refused(cb2.request("kp.claim", username="alice"), "rate_limited", "per user")
    finally:
        srv.stop()


def test_groups_and_roles():
    srv = Server(BINARY).start()
    try:
        a, ca = member(srv, "alice")
        b, cb = member(srv, "bob")
        c, cc = member(srv, "carol")
        r = ok(ca.request("group.info", name="lobby"))
        expect(r["exists"] is False, "no group yet")
        refused(ca.request("group.create", name="lobby", group_id=b64(os.urandom(8)), epoch=0),
                "bad_request", "group.create without group_info")
        # A GroupInfo that is not the caller's new group.
        other = forge_json("create", b.keyfile, os.path.join(b.dir, "x.state"), "lobby")
        refused_rule(ca.request("group.create", name="lobby", group_id=other["group_id"],
                                group_info=other["group_info"]), "identity", "bob's group")
        gid = make_group(ca, "lobby")
        junk_gi = b64(b"\x00\x01\x00\x04")
        refused(cb.request("group.create", name="lobby", group_id=b64(os.urandom(8)),
                           group_info=junk_gi), "group_exists")
        refused(cb.request("group.create", name="other", group_id=b64(gid), group_info=junk_gi),
                "group_exists")
        refused(cb.request("group.create", name="Bad Name", group_id=b64(os.urandom(8)),
                           group_info=junk_gi), "bad_group_name")
        r = ok(cb.request("group.info", name="lobby"))
        expect(r["exists"] and r["member"] is False and "admin" not in r and "epoch" not in r
               and "last_seq" not in r and "members" not in r, "non-member view: the name only")
        refused(cb.request("group.send", group="lobby", message=b64(private_message(gid, 0))),
                "not_member")
        refused(cb.request("log.fetch", group="lobby", after=0), "not_member")
        refused(ca.request("group.commit", group="lobby", epoch=0,
                           commit=b64(public_commit(os.urandom(16), 0))), "wrong_group")
        refused(ca.request("group.commit", group="lobby", epoch=0,
                           commit=b64(b"\x00\x01\x00\x03garbage")), "malformed_mls")
        # A PublicMessage commit that decodes but that libmls refuses.
        refused_rule(ca.request("group.commit", group="lobby", epoch=0,
                                commit=b64(public_commit(gid, 0))), "mls", "random signature")
        out = forge_json("commit", a.state("lobby"), "--add", b.key_package_b64())
        bad = commit_request(ca, "lobby", out)
        bad["welcomes"] = [{"welcome": b64(b"\x00\x01\x00\x03")}]
        refused(ca.request("group.commit", **bad), "malformed_mls")
        bad = commit_request(ca, "lobby", out)
        bad["welcomes"][0]["recipients"] = ["carol"]
        refused_rule(ca.request("group.commit", **bad), "welcome", "recipients differ")
        bad = commit_request(ca, "lobby", out)
        del bad["welcomes"]
        refused_rule(ca.request("group.commit", **bad), "welcome", "no Welcome")
        bad = commit_request(ca, "lobby", out)
        del bad["group_info"]
        refused_rule(ca.request("group.commit", **bad), "group_info", "no GroupInfo")
        old = a.snapshot("lobby")
        r = ok(send_commit(ca, "lobby", out), "alice adds bob")
        ents = ok(ca.request("log.fetch", group="lobby", after=0))["entries"]
        expect(ents[-1]["add"] == ["bob"] and ents[-1]["remove"] == [], "derived roster change")
        join(cb, "lobby")
        # Another commit for the epoch that is gone.
        r = refused(commit(ca, "lobby", "--add", c.key_package_b64(), state=old), "stale_epoch")
        expect(r["current_epoch"] == 1, "stale epoch carries the current epoch")
        refused_rule(commit(cb, "lobby", "--add", c.key_package_b64()), "admin_required",
                     "member adds")
        refused_rule(commit(cb, "lobby", "--remove", b.leaf_of("lobby", "alice")),
                     "admin_required", "member removes admin")
        refused_rule(commit(cb, "lobby", "--admins", "alice,bob"), "admin_required",
                     "member makes itself admin")
        refused_rule(commit(cb, "lobby", "--private"), "not_public", "PrivateMessage commit")
        r = ok(cb.request("group.info", name="lobby"))
        expect([m["username"] for m in r["members"]] == ["alice", "bob"], "roster")
        expect([m["role"] for m in r["members"]] == ["admin", "member"], "roles")
        expect(r["role"] == "member" and r["group_info"], "role and group info")
        refused(cb.request("group.send", group="lobby", message=b64(private_message(gid, 3))),
                "wrong_epoch")
        ok(cb.request("group.send", group="lobby", message=b64(private_message(gid, 0))),
           "previous epoch within the window")
        refused(cb.request("group.send", group="lobby",
                           message=b64(public_commit(gid, 1))), "bad_request", "commit via send")
        refused_rule(cb.request("group.send", group="lobby",
                                message=forge("propose-remove", b.state("lobby"),
                                              b.leaf_of("lobby", "alice"))),
                     "admin_required", "member proposes removing the admin")
        # A member leaves: its self-remove proposal, committed by the admin.
        ok(cb.request("group.send", group="lobby",
                      message=forge("propose-remove", b.state("lobby"),
                                    b.leaf_of("lobby", "bob"))), "self-remove proposal")
        ents = ok(ca.request("log.fetch", group="lobby", after=r["last_seq"]))["entries"]
        for e in ents:
            if e["kind"] == "proposal":
                forge("process", a.state("lobby"), e["message"])
        r = ok(commit(ca, "lobby", "--pending"), "admin commits the self-remove")
        refused(cb.request("group.send", group="lobby", message=b64(private_message(gid, 2))),
                "not_member", "after leaving")
        ents = ok(cb.request("log.fetch", group="lobby", after=0))["entries"]
        expect(ents[-1]["seq"] == r["seq"] and ents[-1]["remove"] == ["bob"],
               "a removed member sees its removal and nothing after")
        ok(ca.request("group.send", group="lobby", message=b64(private_message(gid, 2))))
        ents2 = ok(cb.request("log.fetch", group="lobby", after=0))["entries"]
        expect(len(ents2) == len(ents), "nothing after removal")
        lst = ok(cb.request("group.list"))["groups"]
        expect(lst == [], "group.list after leaving")
    finally:
        srv.stop()


def test_concurrent_commits():
    srv = Server(BINARY).start()
    try:
        a, ca = member(srv, "alice")
        make_group(ca, "race")
        members = []
        for i in range(6):
            ident, c = member(srv, "m%d" % i)
            members.append((ident, c))
        ok(add_member(ca, "race", [ident for ident, _ in members]))
        epoch = 1
        outs = []
        for ident, c in members:
            join(c, "race")
            outs.append(forge_json("commit", ident.state("race")))
        results = [None] * len(members)
        barrier = threading.Barrier(len(members))

        def run(i):
            c = members[i][1]
            barrier.wait()
            results[i] = c.request("group.commit", **commit_request(c, "race", outs[i]))

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(members))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [r for r in results if r.get("ok")]
        losers = [r for r in results if not r.get("ok")]
        expect(len(winners) == 1, "exactly one commit wins: %s" % results)
        for r in losers:
            refused(r, "stale_epoch")
            expect(r["current_epoch"] == epoch + 1, "loser learns the new epoch")
        info = ok(ca.request("group.info", name="race"))
        expect(info["epoch"] == epoch + 1, "epoch advanced once")
        ents = ok(ca.request("log.fetch", group="race", after=0, limit=500))["entries"]
        expect(sum(1 for e in ents if e["kind"] == "commit" and e["epoch"] == epoch) == 1,
               "one commit in the log for the epoch")
    finally:
        srv.stop()


def test_offline_catch_up_and_inbox():
    srv = Server(BINARY).start()
    try:
        a, ca = member(srv, "alice")
        b, cb = member(srv, "bob")
        c, cc = member(srv, "carol")
        d, cd = member(srv, "dave")
        d_kp = d.key_package_b64()
        cd.close()  # dave is offline when invited
        gid = make_group(ca, "lobby")
        ok(add_member(ca, "lobby", [b, c]))
        ev = cb.wait_event(lambda e: e["event"] == "inbox")
        cursor = ev["seq"]
        ok(cb.request("inbox.ack", ids=[ev["inbox_id"]]))
        ok(cb.request("group.send", group="lobby", message=b64(private_message(gid, 1))))
        got = cc.wait_event(lambda e: e["event"] == "log" and e["sender"] == "bob")
        expect(got["seq"] == cursor + 1, "live push in order")
        cursor = got["seq"]
        cb.wait_event(lambda e: e["event"] == "log" and e["seq"] == cursor)
        cb.close()  # bob goes offline with cursor
        # Two membership changes and traffic while bob is away.
        r1 = ok(commit(ca, "lobby", "--add", d_kp))
        old = a.snapshot("lobby")
        r2 = ok(commit(ca, "lobby", "--remove", a.leaf_of("lobby", "carol")))
        sent = [ok(ca.request("group.send", group="lobby",
                              message=b64(private_message(gid, 3))))["seq"] for _ in range(3)]
        cb = srv.client(b)
        ok(cb.login())
        groups = ok(cb.request("group.list"))["groups"]
        expect(groups[0]["name"] == "lobby" and groups[0]["last_seq"] == sent[-1], "group.list")
        seen, after = [], cursor
        while True:
            page = ok(cb.request("log.fetch", group="lobby", after=after, limit=2))
            seen += page["entries"]
            if not page["more"]:
                break
            after = page["entries"][-1]["seq"]
        seqs = [e["seq"] for e in seen]
        expect(seqs == list(range(cursor + 1, sent[-1] + 1)), "every entry once, in order")
        expect(seen[0]["seq"] == r1["seq"] and seen[0]["add"] == ["dave"], "first change")
        expect(seen[1]["seq"] == r2["seq"] and seen[1]["remove"] == ["carol"], "second change")
        # Dave comes online later: the Welcome waits in his inbox until acked.
        cd = srv.client(d)
        ok(cd.login())
        inbox = ok(cd.request("inbox.fetch"))["entries"]
        expect(len(inbox) == 1 and inbox[0]["group"] == "lobby" and inbox[0]["seq"] == r1["seq"],
               "welcome in inbox")
        expect(inbox[0]["welcome"] and inbox[0]["group_info"], "welcome and group info")
        ents = ok(cd.request("log.fetch", group="lobby", after=0))["entries"]
        expect(ents and ents[0]["seq"] == r1["seq"] + 1, "new member reads from its join")
        cd.close()
        cd = srv.client(d)
        ok(cd.login())
        expect(len(ok(cd.request("inbox.fetch"))["entries"]) == 1, "still there after reconnect")
        r = ok(cd.request("inbox.ack", ids=[inbox[0]["inbox_id"], 999999]))
        expect(r["acked"] == 1, "ack counts")
        expect(ok(cd.request("inbox.fetch"))["entries"] == [], "acked entries are gone")
        # A commit that changed nothing is refused without side effects.
        e, ce = member(srv, "erin")
        refused(commit(ca, "lobby", "--add", e.key_package_b64(), state=old), "stale_epoch")
        expect(ok(ce.request("inbox.fetch"))["entries"] == [], "no Welcome from a refused commit")
        cc2 = srv.client(c)
        ok(cc2.login())
        expect(len(ok(cc2.request("inbox.fetch"))["entries"]) == 1, "only the first invitation")
    finally:
        srv.stop()


def test_kill9_durability():
    srv = Server(BINARY, args=["--rate", "100000", "--user-rate", "100000"]).start()
    try:
        a, ca = member(srv, "alice")
        gid = make_group(ca, "durable")
        acked = {}
        stop = threading.Event()

        def reader():
            try:
                while not stop.is_set():
                    text = ca.ws.recv_text(1)
                    if text is None:
                        continue
                    obj = json.loads(text)
                    if obj.get("ok") and obj.get("type") == "group.send":
                        acked[obj["id"]] = obj["seq"]
            except (WSClosed, OSError, ValueError):
                pass

        t = threading.Thread(target=reader)
        t.start()
        payloads = {}
        for i in range(1, 400):
            msg = private_message(gid, 0)
            payloads[i + 1000] = msg
            try:
                ca.send({"id": i + 1000, "type": "group.send", "group": "durable",
                         "message": b64(msg)})
            except OSError:
                break
            if i == 250:
                poll(lambda: len(acked) >= 100, what="acks before kill")
                srv.kill9()
                break
        stop.set()
        t.join()
        expect(len(acked) >= 100, "some sends acknowledged")
        srv.start()
        c2 = srv.client(a)
        ok(c2.login())
        entries, after = [], 0
        while True:
            page = ok(c2.request("log.fetch", group="durable", after=after, limit=500))
            entries += page["entries"]
            if not page["more"]:
                break
            after = entries[-1]["seq"]
        by_seq = {e["seq"]: e for e in entries}
        expect([e["seq"] for e in entries] == list(range(1, len(entries) + 1)),
               "contiguous log after restart")
        for rid, seq in acked.items():
            expect(seq in by_seq, "acknowledged seq %d survives kill -9" % seq)
            expect(unb64(by_seq[seq]["message"]) == payloads[rid], "content of seq %d" % seq)
        expect(len(set(e["message"] for e in entries)) == len(entries), "no duplicates")
        # Send order is log order.
        order = [rid for rid, _ in sorted(acked.items(), key=lambda kv: kv[1])]
        expect(order == sorted(order), "log order is send order")
    finally:
        srv.stop()


def test_close_while_answers_wait_for_sync():
    """Clients that hang up with answers still waiting for the WAL sync
    (batch.c: output of batches committed, not yet synced): the server
    forgets them, keeps serving the others (under ASan this is where a
    freed connection would be written to), and loses nothing acknowledged."""
    srv = Server(BINARY, args=["--rate", "100000", "--user-rate", "100000"]).start()
    try:
        members = [member(srv, "hang%d" % i) for i in range(4)]
        gids = [make_group(c, "hang%d" % i) for i, (_, c) in enumerate(members)]
        errors = []

        def hang_up(i):
            ident = members[i][0]
            try:
                for _ in range(25):
                    c = srv.client(ident)
                    ok(c.login(), "login")
                    for k in range(20):
                        c.send({"id": 10 + k, "type": "group.send", "group": "hang%d" % i,
                                "message": b64(private_message(gids[i], 0))})
                    c.ws.sock.close()
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(repr(e))

        threads = [threading.Thread(target=hang_up, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        expect(not errors, "hang-up loops: %s" % errors[:3])
        expect(srv.proc.poll() is None, "server still running")
        expect(srv.http("/health")[0] == 200, "healthy")
        _, c = members[0]
        r = ok(c.request("group.send", group="hang0", message=b64(private_message(gids[0], 0))))
        seqs = []
        while True:
            page = ok(c.request("log.fetch", group="hang0", after=seqs[-1] if seqs else 0,
                                limit=500))
            seqs += [e["seq"] for e in page["entries"]]
            if not page["more"]:
                break
        expect(seqs == list(range(1, len(seqs) + 1)) and r["seq"] == seqs[-1],
               "contiguous log ending with the last send")
    finally:
        srv.stop()


def test_tls():
    d = tempfile.mkdtemp(prefix="mlschat-tls-")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srv = Server(BINARY, tls=(cert, key)).start()
    try:
        st, body = srv.http("/health")
        expect(st == 200 and json.loads(body)["status"] == "ok", "health over HTTPS")
        a, ca = member(srv, "alice")
        expect(isinstance(ca.ws.sock, ssl.SSLSocket), "WSS socket")
        ok(ca.request("ping"), "request over WSS")
        c2 = srv.client(a)
        ok(c2.login(), "login over WSS")
        gid = make_group(c2, "tls")
        ok(c2.request("group.send", group="tls", message=b64(private_message(gid, 0))))
        ev = ca.wait_event(lambda e: e["event"] == "log")
        expect(ev["group"] == "tls", "push over WSS")
        # Plain HTTP on the TLS port gets no answer.
        plain = False
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/health" % srv.port, timeout=5)
            plain = True
        except (OSError, http.client.HTTPException):
            pass
        expect(not plain, "no plain HTTP on a TLS port")
    finally:
        srv.stop()


def test_idempotent_retries():
    srv = Server(BINARY).start()
    try:
        a, ca = member(srv, "alice")
        b, cb = member(srv, "bob")
        gid = make_group(ca, "retry")
        mid = b64(os.urandom(16))
        old = a.snapshot("retry")
        out = forge_json("commit", a.state("retry"), "--add", b.key_package_b64())
        req = commit_request(ca, "retry", out)
        first = ok(ca.request("group.commit", msg_id=mid, **req))
        os.replace(a.state("retry") + ".next", a.state("retry"))
        expect("duplicate" not in first, "first commit is not a duplicate")
        again = ok(ca.request("group.commit", msg_id=mid, **req), "commit retry by msg_id")
        expect(again["duplicate"] is True and again["seq"] == first["seq"] and
               again["epoch"] == first["epoch"] == 1, "original commit result: %s" % again)
        again = ok(ca.request("group.commit", **req), "commit retry without msg_id")
        expect(again["duplicate"] is True and again["seq"] == first["seq"], "same bytes")
        refused(commit(ca, "retry", state=old), "stale_epoch", "another commit")
        expect(len(ok(cb.request("inbox.fetch"))["entries"]) == 1, "one Welcome")
        refused(ca.request("group.send", group="retry", message=b64(private_message(gid, 1)),
                           msg_id=mid), "bad_request", "msg_id of a commit on send")
        refused(ca.request("group.send", group="retry", message=b64(private_message(gid, 1)),
                           msg_id="!!"), "bad_base64")
        refused(ca.request("group.send", group="retry", message=b64(private_message(gid, 1)),
                           msg_id=b64(os.urandom(65))), "bad_request", "msg_id too long")
        # Sends: a retry stores nothing and pushes nothing.
        mid2 = b64(os.urandom(16))
        msg = b64(private_message(gid, 1))
        s1 = ok(cb.request("group.send", group="retry", message=msg, msg_id=mid2))
        s2 = ok(cb.request("group.send", group="retry", message=msg, msg_id=mid2))
        expect(s2["duplicate"] is True and s2["seq"] == s1["seq"] and s2["epoch"] == 1, "send retry")
        s3 = ok(ca.request("group.send", group="retry", message=msg, msg_id=mid2))
        expect("duplicate" not in s3 and s3["seq"] == s1["seq"] + 1, "msg_id is per sender")
        ca.wait_event(lambda e: e["event"] == "log" and e["seq"] == s3["seq"])
        expect(len([e for e in ca.events if e.get("seq") == s1["seq"]]) == 1 and
               not [e for e in ca.events if e.get("seq", 0) > s3["seq"]], "one event per message")
        ents = ok(ca.request("log.fetch", group="retry", after=0))["entries"]
        expect([e["seq"] for e in ents] == [first["seq"], s1["seq"], s3["seq"]], "log: %s" % ents)
        # The server stops right after COMMIT: the retry after restart is
        # still recognised, for a send and for a commit.
        mid3 = b64(os.urandom(16))
        s4 = ok(cb.request("group.send", group="retry", message=msg, msg_id=mid3))
        out2 = forge_json("commit", a.state("retry"), "--remove", a.leaf_of("retry", "bob"))
        req2 = commit_request(ca, "retry", out2)
        mid4 = b64(os.urandom(16))
        k1 = ok(ca.request("group.commit", msg_id=mid4, **req2))
        srv.kill9()
        srv.start()
        ca = srv.client(a)
        ok(ca.login())
        cb = srv.client(b)
        ok(cb.login())
        r = ok(cb.request("group.send", group="retry", message=msg, msg_id=mid3),
               "retry by a member removed since")
        expect(r["duplicate"] is True and r["seq"] == s4["seq"], "send retry after kill -9")
        r = ok(ca.request("group.commit", msg_id=mid4, **req2))
        expect(r["duplicate"] is True and r["seq"] == k1["seq"] and r["epoch"] == 2,
               "commit retry after kill -9")
        ents = ok(ca.request("log.fetch", group="retry", after=0))["entries"]
        expect(len(ents) == 5 and ents[-1]["seq"] == k1["seq"], "nothing duplicated")
    finally:
        srv.stop()


def test_sigterm_clean_shutdown():
    srv = Server(BINARY).start()
    try:
        a, ca = member(srv, "alice")
        gid = make_group(ca, "g")
        seqs = [ok(ca.request("group.send", group="g", message=b64(private_message(gid, 0))))["seq"]
                for _ in range(20)]
        rc = srv.stop(signal.SIGTERM)
        expect(rc == 0, "SIGTERM exits 0, got %s" % rc)
        srv.start()
        c = srv.client(a)
        ok(c.login())
        ents = ok(c.request("log.fetch", group="g", after=0))["entries"]
        expect([e["seq"] for e in ents] == seqs, "everything acknowledged is there")
        rc = srv.stop(signal.SIGINT)
        expect(rc == 0, "SIGINT exits 0")
    finally:
        srv.stop()


def responses(c, n, timeout=20):
    """The next n responses on c, in the order they came (events kept)."""
    out = []
    deadline = time.time() + timeout
    while len(out) < n and time.time() < deadline:
        text = c.ws.recv_text(max(0.1, deadline - time.time()))
        if text is None:
            continue
        obj = json.loads(text)
        if "event" in obj:
            c.events.append(obj)
        else:
            out.append(obj)
    expect(len(out) == n, "%d responses, got %d" % (n, len(out)))
    return out


def send_at_once(c, msgs):
    """msgs as masked text frames in one TCP write, so that they arrive
    together (while the first, a login, is being checked)."""
    out = b""
    for m in msgs:
        payload = json.dumps(m).encode()
        n = len(payload)
        expect(n < 65536, "small messages only")
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                bytes([0x80 | 126]) + n.to_bytes(2, "big"))
        mask = os.urandom(4)
        out += head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    c.ws.sock.sendall(out)


def login_msg(c, ident, rid, signer=None):
    ts = int(time.time())
    return {"id": rid, "type": "login", "username": ident.username, "nonce": b64(c.nonce),
            "timestamp": ts,
            "signature": b64((signer or ident).auth_signature("login", c.nonce, ts))}


def test_requests_wait_for_their_login():
    """Login signatures are checked on a thread beside the event loop
    (verifier.c).  What a connection sends while its login is checked waits
    for it and is answered after it, in order, as the connection it then
    is; connections that close meanwhile cost nothing."""
    srv = Server(BINARY).start()
    try:
        a, ca = member(srv, "alice")
        gid = make_group(ca, "pipe")
        c = srv.client(a)
        send_at_once(c, [login_msg(c, a, 1), {"id": 2, "type": "ping"},
                         {"id": 3, "type": "group.list"},
                         {"id": 4, "type": "group.send", "group": "pipe",
                          "message": b64(private_message(gid, 0))},
                         login_msg(c, a, 5)])
        rs = responses(c, 5)
        expect([r["id"] for r in rs] == [1, 2, 3, 4, 5], "in order: %s" % [r["id"] for r in rs])
        expect(rs[0]["ok"] and rs[0]["username"] == "alice", "logged in: %s" % rs[0])
        expect(rs[1]["ok"] and rs[3]["ok"], "ping and group.send as alice")
        expect([g["name"] for g in rs[2]["groups"]] == ["pipe"], "alice's groups: %s" % rs[2])
        expect(rs[4].get("error") == "already_authenticated", "a second login: %s" % rs[4])
        # A login that fails: what follows it is answered as for a
        # connection that is not logged in, and the fresh nonce works.
        d = srv.client(a)
        send_at_once(d, [login_msg(d, a, 1, signer=Identity("alice")),
                         {"id": 2, "type": "kp.count"}])
        rs = responses(d, 2)
        expect(rs[0].get("error") == "bad_signature" and "nonce" in rs[0], "refused: %s" % rs[0])
        expect(rs[1].get("error") == "unauthenticated", "then unauthenticated: %s" % rs[1])
        d.nonce = unb64(rs[0]["nonce"])
        ok(d.login(a), "a login with the fresh nonce")
        # Connections that close while their login is checked.
        for _ in range(50):
            e = srv.client(a)
            send_at_once(e, [login_msg(e, a, 1), {"id": 2, "type": "ping"}])
            e.close()
        ok(ca.request("ping"), "the server serves on")
        expect(srv.http("/health")[0] == 200, "healthy")
    finally:
        srv.stop()


def log_events(c, group, settle=0.5):
    """The seqs of the log events of group that c received (waits settle s)."""
    end = time.time() + settle
    while time.time() < end:
        text = c.ws.recv_text(0.1)
        if text is not None:
            obj = json.loads(text)
            if "event" in obj:
                c.events.append(obj)
    seqs = [e["seq"] for e in c.events if e.get("event") == "log" and e.get("group") == group]
    c.events = [e for e in c.events if not (e.get("event") == "log" and e.get("group") == group)]
    return seqs


def metric_value(srv, key, default=None):
    """The value of the /metrics line for key (a name, with its labels if
    any), or default when there is none (Fail if default is None)."""
    body = srv.http("/metrics")[1].decode()
    for line in body.splitlines():
        if line.startswith(key + " "):
            return int(float(line[len(key) + 1:]))
    if default is None:
        raise Fail("no %s in /metrics" % key)
    return default


def authenticated(srv):
    """The server's count of authenticated connections (/metrics)."""
    return metric_value(srv, "mlschat_authenticated_connections")


def close_and_wait(srv, c):
    """Closes c and waits until the server has dropped it."""
    before = authenticated(srv)
    c.close()
    poll(lambda: authenticated(srv) < before, what="the server noticing a close")


def test_events_follow_online_members():
    """A message goes to the connections of the group's online members
    (online.c keeps them per group): one who comes online after the
    group's list was made gets the next event, each of a user's
    connections gets it once, one who went offline and came back gets it
    again, and a removed member no longer does."""
    srv = Server(BINARY).start()
    try:
        a, ca = member(srv, "alice")
        b, cb = member(srv, "bob")
        c, cc = member(srv, "carol")
        gid = make_group(ca, "party")
        ok(add_member(ca, "party", ["bob", "carol"]), "alice adds bob and carol")
        join(cb, "party")
        join(cc, "party")

        def say():
            return ok(ca.request("group.send", group="party",
                                 message=b64(private_message(gid, 1))))["seq"]

        log_events(cb, "party")
        log_events(cc, "party")
        close_and_wait(srv, cc)  # carol goes offline
        s1 = say()  # the group's list of online members is made: alice, bob
        expect(log_events(cb, "party") == [s1], "bob gets it")
        # carol comes back with two connections: both get the next one, once.
        cc = srv.client(c)
        ok(cc.login())
        cc2 = srv.client(c)
        ok(cc2.login())
        s2 = say()
        expect(log_events(cc, "party") == [s2], "carol's first connection gets it once")
        expect(log_events(cc2, "party") == [s2], "carol's second connection gets it once")
        expect(log_events(cb, "party", 0.1) == [s2], "bob too")
        # bob leaves and comes back between two messages.
        close_and_wait(srv, cb)
        s3 = say()
        cb = srv.client(b)
        ok(cb.login())
        s4 = say()
        expect(log_events(cb, "party") == [s4], "bob gets what was sent after he came back")
        expect(log_events(cc, "party", 0.1) == [s3, s4], "carol gets both")
        # bob leaves and comes back with nothing sent between: still once.
        close_and_wait(srv, cb)
        cb = srv.client(b)
        ok(cb.login())
        s4b = say()
        expect(log_events(cb, "party") == [s4b], "bob gets it once")
        expect(log_events(cc, "party", 0.1) == [s4b], "carol too")
        # alice removes carol: carol gets that commit, then nothing more.
        ok(commit(ca, "party", "--remove", a.leaf_of("party", "carol")), "alice removes carol")
        s5 = say()
        got = [e for e in log_events(cc, "party")]
        expect(got == [s5 - 1], "carol gets the commit removing her, then nothing: %s" % got)
        expect(log_events(cc2, "party", 0.1) == [s3, s4, s4b, s5 - 1], "on both connections")
        expect(log_events(cb, "party", 0.1) == [s5 - 1, s5], "bob gets both")
    finally:
        srv.stop()


def test_frames_of_one_turn_leave_together():
    """What one loop turn queues for a connection leaves in one write
    (transport.c gathers the frames, headers written by the server): a
    pipeline of requests whose answers and events are of every header
    form (under 126 bytes, 16-bit lengths, one past the gathering size)
    arrives whole, each frame intact, answers in request order, each
    event before its answer; a second connection of the same user gets
    every event once, in log order."""
    srv = Server(BINARY).start()
    try:
        a, ca = member(srv, "alice")
        gid = make_group(ca, "burst")
        cb = srv.client(a)
        ok(cb.login(a), "alice's second connection")
        sizes = [3, 40, 60, 9000, 20, 13000, 1, 80]
        reqs = []
        for i, n in enumerate(sizes):
            reqs.append({"id": 100 + 2 * i, "type": "ping"})
            reqs.append({"id": 101 + 2 * i, "type": "group.send", "group": "burst",
                         "message": b64(private_message(gid, 0, size=n))})
        send_at_once(ca, reqs)
        order = []
        deadline = time.time() + 20
        while len([x for x in order if x[0] == "r"]) < len(reqs) and time.time() < deadline:
            text = ca.ws.recv_text(1)
            if text is None:
                continue
            obj = json.loads(text)
            if obj.get("event") == "log":
                order.append(("e", obj["seq"], len(unb64(obj["message"]))))
            elif "id" in obj:
                expect(obj["ok"], "answered: %s" % obj)
                order.append(("r", obj["id"], obj.get("seq")))
        answers = [x[1] for x in order if x[0] == "r"]
        expect(answers == [r["id"] for r in reqs], "answers in order: %s" % answers)
        events = [x for x in order if x[0] == "e"]
        expect(len(events) == len(sizes), "one event per message: %s" % events)
        seqs = [x[1] for x in events]
        expect(seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "events in log order")
        for x in order:
            if x[0] == "r" and x[2] is not None:
                at = order.index(x)
                expect(("e", x[2]) in [(y[0], y[1]) for y in order[:at]],
                       "event %d before its answer" % x[2])
        got = [x[2] for x in events]
        want = [len(private_message(gid, 0, size=n)) for n in sizes]
        expect(got == want, "each message whole: %s vs %s" % (got, want))
        expect(log_events(cb, "burst", settle=1.0) == seqs, "the other connection: every event once")
        ok(ca.request("ping"), "the connection serves on")
    finally:
        srv.stop()


def closed_for(srv, reason):
    """The server's count of connections it closed for reason (/metrics)."""
    return metric_value(srv, 'mlschat_connections_closed_total{reason="%s"}' % reason, 0)


def test_a_connection_that_does_not_read_is_dropped():
    """Output is written at the end of the turn that made it, not in the
    writable callback, but a peer that does not read still gets no more
    than its send queue's bound: what the socket does not take stays in
    the server's queue (counted), not in libwebsockets' buffer, and past
    16 MiB the connection is closed (reason send_queue) while the
    sender is served on."""
    srv = Server(BINARY).start()
    try:
        a, ca = member(srv, "alice")
        b, cb = member(srv, "bob")
        gid = make_group(ca, "flood")
        ok(add_member(ca, "flood", ["bob"]), "alice adds bob")
        join(cb, "flood")
        # bob's second connection never reads a byte from here on.
        mute = srv.client(b)
        ok(mute.login(b), "bob's silent connection")
        before = closed_for(srv, "send_queue")
        blob = b64(private_message(gid, 1, size=200000))
        sent = 0
        while sent < 160 and closed_for(srv, "send_queue") == before:
            for _ in range(10):
                ok(ca.request("group.send", group="flood", message=blob), "alice sends")
                sent += 1
            cb.events = []
            log_events(cb, "flood", settle=0.05)
        expect(closed_for(srv, "send_queue") == before + 1,
               "the silent connection closed by its bound after %d messages" % sent)
        expect(sent * 200000 < 64 << 20, "closed near 16 MiB queued: %d messages" % sent)
        ok(ca.request("ping"), "alice is served on")
        ok(cb.request("ping"), "bob's reading connection too")
    finally:
        srv.stop()


def test_one_process_per_sqlite_database():
    """The server keeps groups, rosters and users in memory (store_cache.c),
    right only while it is the one process writing its SQLite database: a
    second server on the same file refuses to start and changes nothing,
    and the first one serves on."""
    srv = Server(BINARY).start()
    if "://" in srv.db:
        srv.stop()
        return  # PostgreSQL is shared by design (test_pg.py)
    try:
        a, ca = member(srv, "alice")
        gid = make_group(ca, "solo")
        ok(ca.request("group.send", group="solo", message=b64(private_message(gid, 0))))
        before = open(srv.db, "rb").read()
        r = subprocess.run([srv.binary, "--port", str(free_port()), "--database", srv.db, "--listen",
                            "127.0.0.1"], capture_output=True, timeout=20)
        expect(r.returncode != 0, "a second server on the same database exits non-zero")
        expect(b"in use by another server process" in r.stderr,
               "and says why: %r" % r.stderr[-300:])
        expect(open(srv.db, "rb").read() == before, "the database file is unchanged")
        seq = ok(ca.request("group.send", group="solo",
                            message=b64(private_message(gid, 0))))["seq"]
        expect(seq == 2, "the first server serves on (seq %s)" % seq)
        # Once it stopped, a new server opens the database.
        srv.stop()
        srv.start()
        c = srv.client(a)
        ok(c.login())
        ents = ok(c.request("log.fetch", group="solo", after=0))["entries"]
        expect([e["seq"] for e in ents] == [1, 2], "both messages are there")
    finally:
        srv.stop()


def test_limits():
    srv = Server(BINARY, args=["--rate", "5", "--max-connections", "3"]).start()
    try:
        a, ca = user(srv, "alice")
        codes = [ca.request("ping").get("error") for _ in range(40)]
        expect("rate_limited" in codes, "per-connection rate limit")
        c2 = srv.client(Identity("x"))
        c3 = srv.client(Identity("y"))
        c4 = Client.__new__(Client)
        c4.ws = WebSocket(srv.port)
        first = json.loads(c4.ws.recv_text())
        expect(first.get("error") == "too_many_connections", "connection limit: %s" % first)
        c2.close()
        c3.close()
        expect(srv.http("/health")[0] == 200, "still serving")
    finally:
        srv.stop()


def test_retention():
    srv = Server(BINARY, args=["--retention", "1", "--purge-interval", "1"]).start()
    try:
        a, ca = member(srv, "alice")
        gid = make_group(ca, "old")
        ok(ca.request("group.send", group="old", message=b64(private_message(gid, 0))))

        def expired():
            time.sleep(0.3)
            r = ca.request("log.fetch", group="old", after=0)
            return r if r.get("error") == "cursor_expired" else None
        r = poll(expired, what="retention purge")
        expect(r["first_seq"] == 2, "first_seq after purge")
        ok(ca.request("group.send", group="old", message=b64(private_message(gid, 0))))
        page = ok(ca.request("log.fetch", group="old", after=1))
        expect(page["entries"][0]["seq"] == 2, "sequence numbers continue after a purge")
    finally:
        srv.stop()


TESTS = [v for k, v in sorted(globals().items()) if k.startswith("test_")]


def main():
    global BINARY
    BINARY = sys.argv[1]
    if not os.path.exists(mlsmember.FORGE):
        print("mlsforge not found at %s (set MLSFORGE)" % mlsmember.FORGE)
        sys.exit(1)
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
