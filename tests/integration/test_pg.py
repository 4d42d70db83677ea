#!/usr/bin/env python3
"""Several server processes over one PostgreSQL database (issue 14): live
delivery between them in one order, first commit wins per epoch across
them, idempotent retries across them, real ./client processes on
different processes chatting, inviting and racing a commit, and a process
killed under load with nothing acknowledged lost.

Needs MLSCHAT_TEST_PG (a libpq URI of a cluster without a database name);
tests/integration/pg_test.sh makes one.
Usage: test_pg.py SERVER CLIENT [test-name-substring]"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clientlib  # noqa: E402
import mlsmember  # noqa: E402
from dsclient import Server, WSClosed, b64, pg_database, private_message  # noqa: E402
from mlsmember import (add_member, commit, commit_request, forge, forge_json, join,  # noqa: E402
                       make_group, member)

SERVER = os.path.abspath(sys.argv[1])
CLIENT = os.path.abspath(sys.argv[2])
ONLY = sys.argv[3] if len(sys.argv) > 3 else ""
FAST = ["--rate", "100000", "--user-rate", "100000"]


Fail, expect, ok = mlsmember.Fail, mlsmember.expect, mlsmember.ok


def pair(args=()):
    """Two server processes over one fresh database."""
    db = pg_database()
    return Server(SERVER, db=db, args=args).start(), Server(SERVER, db=db, args=args).start()


def log_events(c, group, upto, timeout=30):
    """The seqs of the log events c received for group until one for upto."""
    seqs = []
    deadline = time.time() + timeout
    while not seqs or seqs[-1] < upto:
        if time.time() > deadline:
            raise Fail("%s: no event for seq %d; got %s" % (c.id.username, upto, seqs))
        e = c.wait_event(lambda e: e["event"] == "log" and e["group"] == group,
                         max(0.1, deadline - time.time()))
        seqs.append(e["seq"])
    return seqs


def fetch_all(c, group, after=0):
    entries = []
    while True:
        page = ok(c.request("log.fetch", group=group, after=after, limit=500))
        entries += page["entries"]
        if not page["more"]:
            return entries
        after = entries[-1]["seq"]


# ---------------------------------------------------------------- protocol clients

def test_cross_process_delivery():
    """alice on one process, bob and carol on the other: invitations reach
    the other process live (inbox events), and every member receives every
    entry once, in the one log order, whichever process accepted it."""
    a_srv, b_srv = pair(FAST)
    try:
        a, ca = member(a_srv, "alice")
        _, cb = member(b_srv, "bob")
        _, cc = member(b_srv, "carol")
        gid = make_group(ca, "lobby")
        joined = ok(add_member(ca, "lobby", ["bob", "carol"]))["seq"]
        for c in (cb, cc):
            ev = c.wait_event(lambda e: e["event"] == "inbox")
            expect(ev["group"] == "lobby" and ev["seq"] == joined, "live inbox event across")
        # Every member sends from its own thread at once.
        results = {}

        def talk(c, n):
            results[c.id.username] = [
                ok(c.request("group.send", group="lobby",
                             message=b64(private_message(gid, 1))))["seq"] for _ in range(n)]

        threads = [threading.Thread(target=talk, args=(c, 15)) for c in (ca, cb, cc)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        last = max(max(v) for v in results.values())
        expect(sorted(sum(results.values(), [])) == list(range(joined + 1, last + 1)),
               "gap-free seqs across processes: %s" % results)
        want = list(range(joined + 1, last + 1))
        for c in (ca, cb, cc):
            # alice also saw the commit that added the others.
            got = [s for s in log_events(c, "lobby", last) if s > joined]
            expect(got == want, "%s got every entry once, in order: %s" % (c.id.username, got))
        ents = fetch_all(cb, "lobby", joined)
        expect([e["seq"] for e in ents] == want, "the log is the order pushed")
        # alice (A) removes carol (B): carol gets the removal and nothing
        # after it, bob (B) gets both.
        gone = ok(commit(ca, "lobby", "--remove", a.leaf_of("lobby", "carol")))["seq"]
        after = ok(ca.request("group.send", group="lobby",
                              message=b64(private_message(gid, 2))))["seq"]
        expect(log_events(cb, "lobby", after) == [gone, after], "bob sees both")
        expect(log_events(cc, "lobby", gone) == [gone], "carol sees her removal")
        ok(cc.request("ping"))
        time.sleep(0.5)
        ok(cc.request("ping"))
        expect(not [e for e in cc.events if e.get("event") == "log"],
               "carol sees nothing after her removal: %s" % cc.events)
    finally:
        a_srv.stop()
        b_srv.stop()


def test_first_commit_wins_across_processes():
    """Members on two processes commit on one epoch at once, three times
    (after each round everyone processes the winner's commit): each time
    exactly one commit is accepted; a retry by msg_id on the other process
    gets the original answer."""
    a_srv, b_srv = pair(FAST)
    try:
        _, ca = member(a_srv, "alice")
        gid = make_group(ca, "race")
        members = [member(a_srv if i % 2 else b_srv, "m%d" % i) for i in range(6)]
        ok(add_member(ca, "race", [ident for ident, _ in members]))
        for ident, c in members:
            join(c, "race")
        epoch = 1
        for _ in range(3):
            outs = [forge_json("commit", ident.state("race")) for ident, _ in members]
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
            winners = [i for i, r in enumerate(results) if r.get("ok")]
            expect(len(winners) == 1, "exactly one commit wins: %s" % results)
            for r in results:
                if not r.get("ok"):
                    expect(r.get("error") == "stale_epoch" and r["current_epoch"] == epoch + 1,
                           "the others are stale: %s" % r)
            w = winners[0]
            for i, (ident, _) in enumerate(members):
                nxt = ident.state("race") + ".next"
                if i == w:
                    os.replace(nxt, ident.state("race"))
                else:
                    if os.path.exists(nxt):
                        os.unlink(nxt)
                    forge("process", ident.state("race"), outs[w]["commit"])
            epoch += 1
        ents = fetch_all(ca, "race")
        commits = [e["epoch"] for e in ents if e["kind"] == "commit"]
        expect(commits == list(range(epoch)), "one commit per epoch: %s" % commits)
        # An idempotent retry lands on the other process.
        mid = b64(os.urandom(16))
        msg = b64(private_message(gid, epoch))
        ident, c0 = members[0]
        first = ok(c0.request("group.send", group="race", message=msg, msg_id=mid))
        other = (a_srv if c0.port == b_srv.port else b_srv).client(ident)
        ok(other.login())
        again = ok(other.request("group.send", group="race", message=msg, msg_id=mid))
        expect(again["seq"] == first["seq"] and again.get("duplicate") is True,
               "retry on the other process: %s" % again)
        expect(sum(1 for e in fetch_all(ca, "race") if e["message"] == msg) == 1,
               "stored once")
    finally:
        a_srv.stop()
        b_srv.stop()


def test_kill_one_process_under_load():
    """alice on process A and bob on process B send as fast as they can;
    A is killed (SIGKILL).  alice reconnects to B and resends what was not
    acknowledged with the same msg_ids: everything acknowledged is in the
    log, nothing twice, and bob's live stream has every entry in order."""
    a_srv, b_srv = pair(FAST)
    try:
        a, ca = member(a_srv, "alice")
        _, cb = member(b_srv, "bob")
        gid = make_group(ca, "load")
        joined = ok(add_member(ca, "load", ["bob"]))["seq"]
        cb.wait_event(lambda e: e["event"] == "inbox")
        acked = {}          # request id -> seq, alice's acknowledged sends
        sent = {}           # request id -> (msg_id, message)
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

        bob_seqs = []

        def bob_sends():
            for _ in range(150):
                if stop.is_set():
                    break
                r = ok(cb.request("group.send", group="load",
                                  message=b64(private_message(gid, 1))))
                bob_seqs.append(r["seq"])

        t = threading.Thread(target=reader)
        tb = threading.Thread(target=bob_sends)
        t.start()
        tb.start()
        for i in range(1, 600):
            rid = 1000 + i
            sent[rid] = (b64(os.urandom(16)), b64(private_message(gid, 1)))
            try:
                ca.send({"id": rid, "type": "group.send", "group": "load",
                         "msg_id": sent[rid][0], "message": sent[rid][1]})
            except OSError:
                break
            if i == 300:
                deadline = time.time() + 30
                while len(acked) < 100 and time.time() < deadline:
                    time.sleep(0.01)
                a_srv.kill9()
                break
        stop.set()
        t.join()
        tb.join()
        expect(len(acked) >= 100, "some of alice's sends acknowledged before the kill")
        # alice comes back through process B and retries everything she has
        # no answer for, with the same msg_ids.
        c2 = b_srv.client(a)
        ok(c2.login())
        for rid in sorted(sent):
            if rid in acked:
                continue
            mid, msg = sent[rid]
            acked[rid] = ok(c2.request("group.send", group="load", msg_id=mid,
                                       message=msg))["seq"]
        ents = fetch_all(c2, "load", joined)
        by_seq = {e["seq"]: e for e in ents}
        last = ents[-1]["seq"]
        expect([e["seq"] for e in ents] == list(range(joined + 1, last + 1)), "gap-free log")
        for rid, seq in acked.items():
            expect(seq in by_seq and by_seq[seq]["message"] == sent[rid][1],
                   "alice's request %d (seq %d) is in the log" % (rid, seq))
        expect(len(set(e["message"] for e in ents)) == len(ents), "nothing stored twice")
        for s in bob_seqs:
            expect(s in by_seq and by_seq[s]["sender"] == "bob", "bob's acknowledged sends")
        got = log_events(cb, "load", last, timeout=60)
        expect(got == list(range(joined + 1, last + 1)),
               "bob's live stream: every entry once, in order (%d events)" % len(got))
    finally:
        a_srv.stop()
        b_srv.stop()


def test_database_connections_lost():
    """Every database connection of both processes is terminated (as a
    restart or failover of PostgreSQL would): the next request reconnects
    without an error, and a process that lost its LISTEN connection
    catches up from the log: alice, on A, gets bob's messages sent on B
    meanwhile, in order."""
    a_srv, b_srv = pair(FAST)
    try:
        _, ca = member(a_srv, "alice")
        _, cb = member(b_srv, "bob")
        gid = make_group(ca, "net")
        joined = ok(add_member(ca, "net", ["bob"]))["seq"]
        cb.wait_event(lambda e: e["event"] == "inbox")
        first = ok(cb.request("group.send", group="net", message=b64(private_message(gid, 1))))
        log_events(ca, "net", first["seq"])
        dbname = a_srv.db.rsplit("/", 1)[1]
        subprocess.run(["psql", "-q", "-X", os.environ["MLSCHAT_TEST_PG"] + "/postgres", "-c",
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = '%s'" % dbname], check=True, stdout=subprocess.DEVNULL)
        seqs = [ok(cb.request("group.send", group="net", message=b64(private_message(gid, 1))),
                   "send after the connections were cut")["seq"] for _ in range(5)]
        got = log_events(ca, "net", seqs[-1])
        expect(got == list(range(first["seq"] + 1, seqs[-1] + 1)),
               "alice caught up in order: %s" % got)
        ok(ca.request("group.send", group="net", message=b64(private_message(gid, 1))))
        expect(a_srv.http("/health")[0] == 200 and b_srv.http("/health")[0] == 200, "healthy")
        expect(joined == 1, "one commit before")
    finally:
        a_srv.stop()
        b_srv.stop()


# ---------------------------------------------------------------- real clients

def test_real_clients_on_two_processes():
    """./client processes attached to two server processes: alice (A)
    creates #lobby and invites bob (B) and carol (B); they chat both ways
    in one order; bob's /update races alice's /invite on one epoch (bob's
    commit held on the wire by a proxy until alice's was accepted): B
    refuses bob's as stale, his client catches up and retries, and all
    three stay in sync."""
    tmp = tempfile.mkdtemp(prefix="mlschat-pg-clients-")
    db = pg_database()
    ta, tb = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    os.mkdir(ta)
    os.mkdir(tb)
    a_srv = clientlib.Server(SERVER, ta, database=db).start()
    b_srv = clientlib.Server(SERVER, tb, database=db).start()
    clients, proxy = [], None
    good = False

    def client(srv_url, group, name):
        c = clientlib.Client(CLIENT, srv_url, os.path.join(tmp, "cfg-" + name), group, name, tmp)
        clients.append(c)
        return c

    def talk(sender, text, *readers):
        marks = [(r, r.mark()) for r in (sender,) + readers]
        sender.say(text)
        for r, m in marks:
            r.wait_for(clientlib.msg("lobby", sender.user, text), m)

    try:
        d0 = client(b_srv.url, "elsewhere", "dave")
        d0.wait_for(r"created #elsewhere")
        expect(d0.quit() == 0, "dave quits")
        proxy = clientlib.Proxy(b_srv.port)
        a = client(a_srv.url, "lobby", "alice")
        a.wait_for(r"created #lobby; you are its administrator")
        b = client(proxy.url, "lobby", "bob")
        b.wait_for(r"an administrator must /invite bob")
        c = client(b_srv.url, "lobby", "carol")
        c.wait_for(r"an administrator must /invite carol")
        for who, other in ((b, "bob"), (c, "carol")):
            m = who.mark()
            a.say("/invite " + other)
            who.wait_for(r"you joined #lobby, invited by alice", m)
            a.wait_for(r"you invited %s to #lobby" % other)
        talk(a, "hello from process A", b, c)
        talk(b, "hello from process B", a, c)
        talk(c, "me too", a, b)
        # The race: bob's commit waits on the wire while alice's, on the
        # other process, takes the epoch.
        proxy.pause()
        b.say("/update")
        proxy.wait_held(500)
        a.say("/invite dave")
        a.wait_for(r"you invited dave to #lobby")
        proxy.resume()
        b.wait_for(r"#lobby changed meanwhile .*retrying")
        b.wait_for(r"alice invited dave to #lobby")
        b.wait_for(r"you updated your keys in #lobby")
        a.wait_for(r"bob updated their keys in #lobby")
        c.wait_for(r"bob updated their keys in #lobby")
        talk(b, "still in sync", a, c)
        talk(a, "so are we", b, c)
        # One order for everyone: the message lines as each client shows them.
        rx = re.compile(r"^#lobby <(alice|bob|carol)>  ")
        seen = [[l for l in w.snapshot() if rx.match(l)] for w in (a, b, c)]
        expect(seen[0] == seen[1] == seen[2], "one order on both processes: %s" % seen)
        for w in (a, b, c):
            expect(w.quit() == 0, w.name + " quits")
        good = True
    finally:
        for c in clients:
            c.kill()
            with open(os.path.join(tmp, "out-%s.txt" % c.name), "w") as f:
                f.write("\n".join(c.snapshot()) + "\n")
        if proxy:
            proxy.stop()
        a_srv.stop()
        b_srv.stop()
        if good:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("     files kept in %s" % tmp, flush=True)


TESTS = [v for k, v in sorted(globals().items()) if k.startswith("test_")]


def main():
    if not os.environ.get("MLSCHAT_TEST_PG"):
        print("test_pg: MLSCHAT_TEST_PG is not set (run tests/integration/pg_test.sh)")
        return 1
    failed = 0
    for t in TESTS:
        if ONLY not in t.__name__:
            continue
        start = time.time()
        try:
            t()
            print("PASS %s (%.1fs)" % (t.__name__, time.time() - start), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % t.__name__, flush=True)
            traceback.print_exc()
    mlsmember.cleanup()
    print("%d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
