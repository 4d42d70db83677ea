"""The fault suite (issue 10, item 9): the real ./server under faults, with
real protocol clients (tests/integration/dsclient.py, users whose MLS
objects come from mlsforge), each case printing its figures on one line:

  kill9       SIGKILLs of the server under load from several senders that
              pipeline group.send with msg_id and resend what was not
              acknowledged after each reconnect (as ./client does); after a
              final restart every acknowledged message is in the log exactly
              once and `PRAGMA integrity_check` is ok.
  disk_full   the database on a size-limited tmpfs filled to the last
              byte: writes refused with a clear error, /health 503, nothing
              acknowledged lost, service resumes once space returns.
  vanished    peers behind a TCP proxy that stops forwarding both ways
              without closing: seconds until the server frees them
              (--ping-interval / --idle-timeout, src/server/transport.c).
  db_moved    the database renamed, then (a second run) deleted under the
              running server: seconds until /health says 503, writes refused
              meanwhile, no acknowledged message lost.
  sync_fails  fdatasync/fsync start failing with EIO under load (an
              LD_PRELOAD shim, tests/faults/failsync.c): nothing made after
              that is acknowledged, /health says 503, writes stay refused
              after the disk "recovers" (the failure is final, store.h
              "sync"), and after a restart every acknowledged message is
              there.
  wal_bounded 64 senders of the C load generator for a few seconds: the
              WAL is checkpointed and started over while they send (its
              size stays near 4,000 pages instead of growing with the log).
  stalled     a link that holds a client's requests, breaks for the client,
              then delivers them late after the client resent them on a
              new connection: no duplicate, thanks to msg_id (PROTOCOL 7.7).

The full form kills the server 30 times and runs each other case three
times; FAULTS_SHORT=1 runs the short form (5 kills, each other case once).  The
exit status is non-zero if any figure is wrong: lost > 0, duplicated > 0,
a peer not freed or a move not detected within the bound printed beside
it.  Seconds are figures printed, and bounds generous enough for a loaded
machine; they are not benchmarks.

Usage: python3 tests/faults/faults.py ./server [case-name-substring]
"""

import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from dsclient import Client, Server, WSClosed, b64, private_message  # noqa: E402
import clientlib  # noqa: E402
import mlsmember  # noqa: E402
from mlsmember import Fail, expect, ok  # noqa: E402

BINARY = None
SHORT = os.environ.get("FAULTS_SHORT", "") not in ("", "0")
FAST = ["--rate", "100000", "--user-rate", "100000"]


def poll(fn, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise Fail("timed out waiting for " + what)


def report(case, **figures):
    print("FAULT %-9s " % case + " ".join("%s=%s" % kv for kv in figures.items()), flush=True)


def metric(srv, name):
    """The value of a metric line, `name` with its labels if any."""
    status, body = srv.http("/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[-1]))
    return None


def stop_proxy(proxy):
    """clientlib.Proxy.stop closes its listening socket under the thread
    blocked in accept(), which then takes the connections of the next
    proxy to get that descriptor number (and refuses them); shutting the
    socket down first wakes that thread."""
    proxy.stopped = True
    try:
        proxy.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    time.sleep(0.1)
    proxy.stop()


def integrity(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def log_counts(db, group):
    """payload bytes -> how many times it is in the group's log, read from
    the database file itself (the server has stopped)."""
    con = sqlite3.connect(db)
    try:
        cols = [r[1] for r in con.execute("PRAGMA table_info(log)")]
        col = "message" if "message" in cols else "data"
        counts = {}
        for (m,) in con.execute("SELECT l.%s FROM log l JOIN groups g ON g.id = l.group_ref"
                                " WHERE g.name = ?" % col, (group,)):
            m = bytes(m)
            counts[m] = counts.get(m, 0) + 1
        return counts
    finally:
        con.close()


class Sender:
    """One user sending into its own group as a real client does: up to
    `window` group.send requests in flight, each with a msg_id; when the
    connection breaks it reconnects (the server may be down for a while)
    and sends again everything not acknowledged, with the same msg_id."""

    def __init__(self, srv, name, size=200, window=16, direct_port=None):
        self.srv = srv
        self.group = "g-" + name
        self.ident, c = mlsmember.member(srv, name)
        self.gid = mlsmember.make_group(c, self.group)
        c.close()
        self.size = size
        self.window = window
        self.port = direct_port
        self.acked = {}       # msg_id -> payload
        self.made = {}        # msg_id -> time.time() when first made
        self.refused = {}     # error code -> count
        self.queue = []       # (msg_id, payload) not yet acknowledged, in order
        self.inflight = {}    # request id -> (msg_id, payload)
        self.conn = None
        self.reconnects = 0
        self.stop = threading.Event()
        self.drain = threading.Event()
        self.lock = threading.Lock()
        self.thread = None

    def new_message(self):
        mid = b64(os.urandom(16))
        self.made[mid] = time.time()
        return (mid, private_message(self.gid, 0, size=self.size))

    def acked_made_after(self, t):
        """How many messages first made after time t were acknowledged."""
        with self.lock:
            return sum(1 for mid in self.acked if self.made[mid] > t)

    def connect(self):
        port = self.port or self.srv.port
        c = Client(port, self.ident)
        ok(c.login(), "login " + self.ident.username)
        return c

    def disconnect(self):
        if self.conn:
            try:
                self.conn.ws.sock.close()
            except OSError:
                pass
        self.conn = None
        # What was in flight goes back to the front of the queue, in order.
        back = [v for _, v in sorted(self.inflight.items())]
        self.inflight = {}
        self.queue = back + self.queue

    def run(self):
        while not self.stop.is_set():
            if self.drain.is_set() and not self.queue and not self.inflight:
                return
            try:
                if self.conn is None:
                    self.conn = self.connect()
                    self.reconnects += 1
                while len(self.inflight) < self.window:
                    if not self.queue:
                        if self.drain.is_set():
                            break
                        self.queue.append(self.new_message())
                    mid, payload = self.queue.pop(0)
                    rid = self.conn.next_id
                    self.conn.next_id += 1
                    self.inflight[rid] = (mid, payload)
                    self.conn.send({"id": rid, "type": "group.send", "group": self.group,
                                    "message": b64(payload), "msg_id": mid})
                text = self.conn.ws.recv_text(1)
                while text is not None:
                    obj = json.loads(text)
                    rid = obj.get("id")
                    if rid in self.inflight:
                        mid, payload = self.inflight.pop(rid)
                        if obj.get("ok"):
                            with self.lock:
                                self.acked[mid] = payload
                        else:
                            err = obj.get("error", "?")
                            with self.lock:
                                self.refused[err] = self.refused.get(err, 0) + 1
                            self.queue.insert(0, (mid, payload))
                            if err in ("unavailable", "internal"):
                                time.sleep(0.2)
                            break
                    if not self.conn.ws.buf:
                        break
                    text = self.conn.ws.recv_text(0)
            except (WSClosed, OSError, ValueError, TimeoutError, Fail):
                self.disconnect()
                time.sleep(0.05)

    def start(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def finish(self, timeout=60):
        """Stops making new messages and waits until every one made is
        acknowledged."""
        self.drain.set()
        self.thread.join(timeout)
        self.stop.set()
        self.thread.join(5)
        expect(not self.thread.is_alive(), "%s drained" % self.ident.username)
        if self.conn:
            self.conn.close()
            self.conn = None

    def count_acked(self):
        with self.lock:
            return len(self.acked)

    def tally(self, db):
        """(acknowledged, lost, duplicated) against the database file."""
        counts = log_counts(db, self.group)
        with self.lock:
            acked = dict(self.acked)
        lost = sum(1 for p in acked.values() if counts.get(p, 0) == 0)
        dup = sum(n - 1 for n in counts.values() if n > 1)
        return len(acked), lost, dup


# ---------------------------------------------------------------- cases

def case_kill9():
    kills = 5 if SHORT else 30
    srv = Server(BINARY, args=FAST).start()
    try:
        senders = [Sender(srv, "k%d" % i).start() for i in range(4)]
        for k in range(kills):
            base = sum(s.count_acked() for s in senders)
            # Kill once some work was acknowledged since the last restart,
            # at a random point of it.
            poll(lambda: sum(s.count_acked() for s in senders) >= base + 50, 60,
                 "acknowledgements before kill %d" % (k + 1))
            time.sleep(random.uniform(0, 0.3))
            srv.kill9()
            time.sleep(random.uniform(0, 0.3))
            srv.start()
        for s in senders:
            s.finish()
        srv.kill9()  # the final restart reads what a SIGKILL left
        srv.start()
        srv.stop(signal.SIGTERM)
        acked = lost = dup = 0
        for s in senders:
            a, l, d = s.tally(srv.db)
            acked, lost, dup = acked + a, lost + l, dup + d
        check = integrity(srv.db)
        report("kill9", kills=kills, senders=len(senders), acknowledged=acked, lost=lost,
               duplicated=dup, integrity=check)
        expect(acked > 0 and lost == 0 and dup == 0 and check == "ok", "kill9 figures")
    finally:
        srv.stop()


def case_disk_full():
    tmp = tempfile.mkdtemp(prefix="mlschat-faults-disk-")
    mnt = os.path.join(tmp, "disk")
    os.mkdir(mnt)
    # A tmpfs of 16 MiB: a real filesystem that says ENOSPC, with no
    # shim between SQLite and the kernel.  Needs the right to mount.
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        report("disk_full", skipped="cannot mount a tmpfs (%s)" % r.stderr.strip()[:80])
        shutil.rmtree(tmp, ignore_errors=True)
        return
    srv = None
    try:
        db = os.path.join(mnt, "server.db")
        srv = Server(BINARY, db=db, args=FAST).start()
        s = Sender(srv, "disk", size=2000, window=4)
        s.start()
        poll(lambda: s.count_acked() >= 100, 60, "acknowledgements before the disk fills")
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        # Every write path is refused from now on; the sender retries.
        full_at = s.count_acked()
        before = sum(s.refused.values())
        poll(lambda: sum(s.refused.values()) >= before + 5, 60, "writes refused on a full disk")
        during = s.count_acked() - full_at
        codes = ",".join(sorted(s.refused))
        status, body = srv.http("/health")
        with open(os.path.join(srv.dir, "server.log"), errors="replace") as fh:
            logged = "database or disk is full" in fh.read()
        os.unlink(filler)
        resumed_at = s.count_acked()
        t0 = time.time()
        poll(lambda: s.count_acked() >= resumed_at + 50, 60, "service resumed with space")
        resume_s = time.time() - t0
        s.finish()
        srv.kill9()
        srv.start()
        srv.stop(signal.SIGTERM)
        acked, lost, dup = s.tally(db)
        check = integrity(db)
        report("disk_full", method="tmpfs", acknowledged=acked, refused=sum(s.refused.values()),
               errors=codes, acked_while_full=during, health=status,
               error_logged="yes" if logged else "no", lost=lost, duplicated=dup,
               health_says=json.loads(body).get("reason", body.decode()[:60]).replace(" ", "_"),
               resumed_s="%.1f" % resume_s, integrity=check)
        expect(lost == 0 and dup == 0 and check == "ok", "disk full: nothing lost")
        expect(status == 503 and logged, "disk full: /health 503 (%s) and the error logged"
               % body[:100])
        expect(set(s.refused) <= {"unavailable", "internal"}, "disk full: refusal %s" % codes)
    finally:
        if srv:
            srv.stop()
        subprocess.run(["umount", mnt])
        shutil.rmtree(tmp, ignore_errors=True)


def case_vanished():
    ping, idle, n = 1, 3, 8
    bound = idle + ping + 5
    srv = Server(BINARY, args=["--ping-interval", str(ping), "--idle-timeout", str(idle)]).start()
    proxy = clientlib.Proxy(srv.port)
    try:
        live_ident, _ = mlsmember.member(srv, "live", keep=False)
        live = srv.client(live_ident)
        ok(live.login())
        ghosts = []
        for i in range(n):
            ident, _ = mlsmember.member(srv, "ghost%d" % i, keep=False)
            c = Client(proxy.port, ident)
            ok(c.login(), "ghost login through the proxy")
            ghosts.append(c)
        poll(lambda: metric(srv, "mlschat_connections") == n + 1, 20, "all connected")
        proxy.pause()  # no byte either way, nothing closed
        t0 = time.time()
        freed_s = None
        while time.time() - t0 < bound + 30:
            try:
                live.ws.recv_text(0.2)  # the live client answers its PINGs
            except TimeoutError:
                pass
            if metric(srv, "mlschat_connections") == 1:
                freed_s = time.time() - t0
                break
        left = metric(srv, "mlschat_connections") - 1
        ok(live.request("ping"), "the live client is still served")
        report("vanished", peers=n, freed=n - left, seconds="%.1f" % (freed_s or -1),
               bound_s=bound, ping_interval=ping, idle_timeout=idle)
        expect(left == 0 and freed_s is not None and freed_s <= bound,
               "vanished peers freed within %d s" % bound)
        live.close()
    finally:
        stop_proxy(proxy)
        srv.stop()


def case_db_moved():
    bound = 5
    for how in ("moved", "deleted"):
        srv = Server(BINARY, args=FAST).start()
        try:
            s = Sender(srv, "mv-" + how, window=4).start()
            poll(lambda: s.count_acked() >= 100, 60, "acknowledgements before the " + how)
            expect(srv.http("/health")[0] == 200, "healthy before")
            for suffix in ("", "-wal", "-shm"):
                if how == "moved":
                    os.rename(srv.db + suffix, srv.db + ".moved" + suffix)
                else:
                    os.unlink(srv.db + suffix)
            t0 = time.time()
            poll(lambda: srv.http("/health")[0] == 503, bound + 30, "/health 503")
            detect_s = time.time() - t0
            before = sum(s.refused.values())
            poll(lambda: sum(s.refused.values()) >= before + 10, 30, "writes refused")
            # Requests made before the move may be answered after it; none
            # made after it may be acknowledged.
            after = s.acked_made_after(t0)
            s.stop.set()
            s.thread.join(10)
            srv.stop(signal.SIGTERM)
            if how == "moved":
                acked, lost, dup = s.tally(srv.db + ".moved")
                check = integrity(srv.db + ".moved")
            else:
                # The acknowledged messages went with the file the operator
                # deleted; what counts is that none was acknowledged after.
                acked, lost, dup, check = s.count_acked(), 0, 0, "n/a"
            report("db_" + how, acknowledged=acked, seconds_to_detect="%.2f" % detect_s,
                   bound_s=bound, refused=sum(s.refused.values()), acked_after=after,
                   lost=lost, duplicated=dup, integrity=check)
            expect(detect_s <= bound and after == 0 and lost == 0 and dup == 0
                   and check in ("ok", "n/a"), "database %s figures" % how)
        finally:
            srv.stop()


def case_sync_fails():
    lib = os.environ.get("FAILSYNC_LIB", "")
    expect(os.path.exists(lib), "FAILSYNC_LIB (make faults builds it): %r" % lib)
    tmp = tempfile.mkdtemp(prefix="mlschat-faults-sync-")
    flag = os.path.join(tmp, "fail")
    env = {"LD_PRELOAD": os.path.abspath(lib), "FAILSYNC_FLAG": flag,
           "ASAN_OPTIONS": "verify_asan_link_order=0"}
    srv = Server(BINARY, args=FAST, env=env).start()
    try:
        s = Sender(srv, "sync", window=4).start()
        poll(lambda: s.count_acked() >= 100, 60, "acknowledgements before the failure")
        expect(srv.http("/health")[0] == 200, "healthy before")
        open(flag, "w").close()
        t0 = time.time()
        poll(lambda: srv.http("/health")[0] == 503, 30, "/health 503")
        detect_s = time.time() - t0
        says = json.loads(srv.http("/health")[1]).get("reason", "")
        before = sum(s.refused.values())
        poll(lambda: sum(s.refused.values()) >= before + 10, 30, "writes refused")
        # The disk works again: the server still refuses (a failed fsync
        # may have lost pages the kernel then marked clean).
        os.unlink(flag)
        time.sleep(1.0)
        still = srv.http("/health")[0]
        refused_before = sum(s.refused.values())
        poll(lambda: sum(s.refused.values()) >= refused_before + 5, 30,
             "writes still refused after the disk came back")
        after = s.acked_made_after(t0)
        s.stop.set()
        s.thread.join(10)
        srv.stop(signal.SIGTERM)
        srv.env = None  # restarted without the shim
        srv.start()
        healthy_again = srv.http("/health")[0]
        srv.stop(signal.SIGTERM)
        acked, lost, dup = s.tally(srv.db)
        check = integrity(srv.db)
        report("sync_fails", acknowledged=acked, seconds_to_detect="%.2f" % detect_s,
               health_says="_".join(says.split()[:6]) or "?", acked_after=after,
               health_after_recovery=still, refused=sum(s.refused.values()),
               restarted_health=healthy_again, lost=lost, duplicated=dup, integrity=check)
        expect(after == 0 and still == 503 and healthy_again == 200 and lost == 0 and dup == 0
               and check == "ok" and "sync" in says, "sync failure figures")
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def case_wal_bounded():
    """The C load generator (bench/loadgen.c, 64 senders pipelining) for
    a few seconds: a Python client is too slow to show a WAL that grows."""
    loadgen = os.environ.get("LOADGEN", "")
    expect(os.path.exists(loadgen), "LOADGEN (make faults builds it): %r" % loadgen)
    seconds = 3 if SHORT else 10
    bound = 40 << 20  # the WAL restarts near 16 MiB (4,000 frames, store_sqlite.c)
    srv = Server(BINARY, args=FAST + ["--register-rate", "0", "--max-per-address", "1000"]).start()
    try:
        proc = subprocess.Popen([loadgen, str(srv.port), "ingest", "64", str(seconds)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        largest = 0
        while proc.poll() is None:
            try:
                largest = max(largest, os.path.getsize(srv.db + "-wal"))
            except OSError:
                pass
            time.sleep(0.02)
        out, err = proc.communicate()
        expect(proc.returncode == 0, "loadgen: %s" % err.strip()[-300:])
        rate = float(out.split()[2])
        srv.stop(signal.SIGTERM)
        report("wal_bounded", senders=64, seconds=seconds, msg_per_s="%.0f" % rate,
               largest_wal_bytes=largest, bound_bytes=bound, integrity=integrity(srv.db))
        expect(rate > 0 and 0 < largest <= bound and integrity(srv.db) == "ok", "WAL size figures")
    finally:
        srv.stop()


def case_stalled():
    srv = Server(BINARY, args=FAST).start()
    proxy = clientlib.Proxy(srv.port)
    try:
        s = Sender(srv, "stall", window=8, direct_port=proxy.port)
        c = s.connect()
        proxy.hold()
        msgs = [s.new_message() for _ in range(20)]
        for i, (mid, payload) in enumerate(msgs):
            c.send({"id": 100 + i, "type": "group.send", "group": s.group,
                    "message": b64(payload), "msg_id": mid})
        clientlib.poll(lambda: proxy.held_bytes() > 20 * 200, "requests held by the proxy")
        proxy.strand()
        # The client sees its link break without any answer; it reconnects
        # (directly) and sends the same requests again, same msg_id.
        try:
            expect(c.ws.recv_text(5) is None, "no answer through the held link")
        except (WSClosed, OSError):
            pass
        s.port = srv.port
        s.queue = list(msgs)
        s.drain.set()
        s.start()
        s.finish()
        sends = 'mlschat_requests_total{type="group.send"}'
        expect(metric(srv, sends) == len(msgs), "only the resent copies arrived so far")
        proxy.release()  # the late copies reach the server now
        poll(lambda: metric(srv, sends) == 2 * len(msgs), 30, "the late copies handled")
        srv.stop(signal.SIGTERM)
        acked, lost, dup = s.tally(srv.db)
        report("stalled", held_requests=len(msgs), late_copies=len(msgs), acknowledged=acked, lost=lost,
               duplicated=dup, integrity=integrity(srv.db))
        expect(acked == len(msgs) and lost == 0 and dup == 0, "stalled link figures")
    finally:
        stop_proxy(proxy)
        srv.stop()


CASES = [("kill9", case_kill9), ("disk_full", case_disk_full), ("vanished", case_vanished),
         ("db_moved", case_db_moved), ("sync_fails", case_sync_fails),
         ("wal_bounded", case_wal_bounded), ("stalled", case_stalled)]


def main():
    global BINARY
    BINARY = sys.argv[1]
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    failed = 0
    for name, fn in CASES:
        if only not in name:
            continue
        start = time.time()
        try:
            for _ in range(1 if SHORT or name == "kill9" else 3):
                fn()
            print("PASS %s (%.1fs)" % (name, time.time() - start), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % name, flush=True)
            traceback.print_exc()
    print("%d failed" % failed)
    mlsmember.cleanup()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
