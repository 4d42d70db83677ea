#!/usr/bin/env python3
"""make bench-abuse: the real server's peak memory under one abusive client
that does the worst valid things the limits allow, against the same
server's memory under honest load only, in the same run (issue 10, "Must
show").  Not a test: figures are printed, nothing is asserted.

    python3 scripts/bench-abuse.py SERVER [--seconds 20] [--honest 8]
        [--rate 10] [--entries 24] [--recipients 300] [--flood 20]
        [--out build/bench]

The server runs with its default limits (docs/PROTOCOL.md section 11).
Phase 1, honest load only: HONEST users each send RATE small messages a
second into their own group (one request in flight, ack latency recorded).
Phase 2, the same honest load plus one abusive client, all of whose
connections come from one address (127.0.0.2, so they count against one
--max-per-address), using as many accounts as --register-rate lets it make:
  - fetchers: log.fetch with limit 500 from the start of a group holding
    ENTRIES entries of the largest size --max-message admits, read as fast
    as the server sends them, page after page, over and over;
  - slow readers: the same requests on connections that never read their
    socket, so the server's send queue for them fills (it closes them past
    16 MiB) and they reconnect;
  - one group.commit adding RECIPIENTS users (the --invite-rate burst),
    with one Welcome for all of them;
  - an inbox flood: FLOOD groups each inviting one victim, who pages its
    inbox over and over without acknowledging it;
  - idle WebSockets that never log in, up to the per-address limit.
The server's VmHWM (/proc/PID/status) is read after each phase: after
phase 1 it is the honest peak, after phase 2 the peak with the abuser.
Honest clients' ack latency p50/p99 is reported for each phase.  The
summary goes to stdout and OUT/abuse.md.

MLSFORGE names tests/tools/mlsforge (default build/rel/bin/mlsforge).
"""

import argparse
import json
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import dsclient  # noqa: E402
from dsclient import Client, Server, WebSocket, b64, private_message  # noqa: E402
import mlsmember  # noqa: E402

ABUSER_ADDR = "127.0.0.2"
VICTIM_ADDR = "127.0.0.3"

# Connections of a thread come from the address it names here (the server
# counts connections and registrations per peer address).
_source = threading.local()
_create_connection = socket.create_connection


def _connect_from(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):
    src = getattr(_source, "addr", None)
    return _create_connection(address, timeout, source_address=(src, 0) if src else source_address)


dsclient.socket.create_connection = _connect_from


def from_addr(addr):
    _source.addr = addr


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def ok(r, what):
    if r.get("ok") is not True:
        raise RuntimeError("%s: %s" % (what, str(r)[:200]))
    return r


class Honest(threading.Thread):
    def __init__(self, srv, name, rate):
        super().__init__(daemon=True)
        self.user, c = mlsmember.member(srv, name)
        self.gid = mlsmember.make_group(c, "h-" + name)
        self.c = c
        self.rate = rate
        self.lat = []
        self.errors = 0
        self.phase = None
        self.stop = threading.Event()

    def run(self):
        period = 1.0 / self.rate
        nxt = time.time()
        while not self.stop.is_set():
            lat = self.lat
            t0 = time.time()
            try:
                r = self.c.request("group.send", group="h-" + self.user.username,
                                   message=b64(private_message(self.gid, 0, size=200)))
                if r.get("ok"):
                    lat.append(time.time() - t0)
                else:
                    self.errors += 1
            except (OSError, TimeoutError, ValueError, dsclient.WSClosed):
                self.errors += 1
                return
            nxt += period
            time.sleep(max(0.0, nxt - time.time()))


class Abuser:
    def __init__(self, srv, args):
        self.srv = srv
        self.args = args
        self.stop = threading.Event()
        self.stats = {"pages": 0, "page_bytes": 0, "slow_reconnects": 0, "inbox_pages": 0,
                      "refused": {}, "idle": 0, "pushed": 0}
        self.lock = threading.Lock()
        self.threads = []

    def count(self, key, n=1):
        with self.lock:
            self.stats[key] += n

    def refused(self, err):
        with self.lock:
            self.stats["refused"][err] = self.stats["refused"].get(err, 0) + 1

    def setup(self):
        a = self.args
        from_addr(ABUSER_ADDR)
        self.admin, ca = mlsmember.member(self.srv, "abuser")
        gid = mlsmember.make_group(ca, "big")
        self.accounts = []
        for i in range(a.fetchers + a.slow):
            ident, _ = mlsmember.member(self.srv, "abuser%d" % i, keep=False)
            self.accounts.append(ident)
        ok(mlsmember.add_member(ca, "big", self.accounts), "abusers join big")
        # The largest group.send the request limit admits: base64 of the
        # message plus the JSON around it within --max-message (1 MiB).
        size = (1 << 20) * 3 // 4 - 2048
        for _ in range(a.entries):
            ok(ca.request("group.send", group="big",
                          message=b64(private_message(gid, 1, size=size))), "big entry")
        self.entry_size = size
        self.big_gid = gid
        # The invitation burst: RECIPIENTS users registered from addresses
        # of their own (as many people would), one commit adding them all.
        self.recipients = []
        for i in range(a.recipients):
            from_addr("127.0.3.%d" % (1 + i // 50))
            ident, _ = mlsmember.member(self.srv, "r%d" % i, keep=False)
            self.recipients.append(ident)
        from_addr(ABUSER_ADDR)
        mlsmember.make_group(ca, "crowd")
        opts = []
        for ident in self.recipients:
            opts += ["--add", ident.key_package_b64()]
        self.crowd_commit = mlsmember.forge_json("commit", self.admin.state("crowd"), *opts)
        # The victim, and FLOOD groups ready to invite it.
        from_addr(VICTIM_ADDR)
        self.victim, _ = mlsmember.member(self.srv, "victim", keep=False)
        from_addr(ABUSER_ADDR)
        self.flood = []
        for i in range(a.flood):
            mlsmember.make_group(ca, "flood%d" % i)
            out = mlsmember.forge_json("commit", self.admin.state("flood%d" % i),
                                       "--add", self.victim.key_package_b64())
            self.flood.append(("flood%d" % i, out))
        self.ca = ca

    def fetcher(self, ident):
        from_addr(ABUSER_ADDR)
        c = None
        while not self.stop.is_set():
            try:
                if c is None:
                    c = Client(self.srv.port, ident)
                    ok(c.login(), "fetcher login")
                after = 0
                while not self.stop.is_set():
                    rid = c.next_id
                    c.next_id += 1
                    c.send({"id": rid, "type": "log.fetch", "group": "big", "after": after,
                            "limit": 500})
                    text = c.ws.recv_text(30)
                    obj = json.loads(text) if text is not None else None
                    while obj is not None and "event" in obj:  # the pusher's
                        text = c.ws.recv_text(30)
                        obj = json.loads(text) if text is not None else None
                    if obj is None:
                        break
                    if not obj.get("ok"):
                        self.refused(obj.get("error", "?"))
                        time.sleep(obj.get("retry_after", 0.1))
                        continue
                    self.count("pages")
                    self.count("page_bytes", len(text))
                    if not obj.get("more"):
                        break
                    after = obj["entries"][-1]["seq"]
            except (OSError, TimeoutError, ValueError, RuntimeError, AssertionError, KeyError,
                    dsclient.WSClosed):
                c = None
                time.sleep(0.1)

    def slow_reader(self, ident):
        from_addr(ABUSER_ADDR)
        while not self.stop.is_set():
            try:
                c = Client(self.srv.port, ident)
                ok(c.login(), "slow reader login")
                c.ws.sock.settimeout(5)
                # A page request 40 times a second (under --rate), never
                # reading a byte of the answers.
                while not self.stop.is_set():
                    c.send({"id": c.next_id, "type": "log.fetch", "group": "big", "after": 0,
                            "limit": 500})
                    c.next_id += 1
                    time.sleep(0.025)
            except (OSError, TimeoutError, ValueError, RuntimeError, AssertionError, KeyError,
                    dsclient.WSClosed):
                self.count("slow_reconnects")
                time.sleep(0.1)

    def invite_and_flood(self):
        from_addr(ABUSER_ADDR)
        r = mlsmember.send_commit(self.ca, "crowd", self.crowd_commit)
        self.crowd_result = r.get("ok") or r.get("error")
        for name, out in self.flood:
            r = mlsmember.send_commit(self.ca, name, out)
            if not r.get("ok"):
                self.refused(r.get("error", "?"))

    def pusher(self):
        """Messages of the largest size into the group every abusive
        connection is in: each becomes an event queued for all of them,
        so the slow readers' send queues fill with events too."""
        from_addr(ABUSER_ADDR)
        try:
            c = Client(self.srv.port, self.admin)
            ok(c.login(), "pusher login")
        except (OSError, RuntimeError, AssertionError, dsclient.WSClosed):
            return
        while not self.stop.is_set():
            try:
                r = c.request("group.send", group="big", message=b64(
                    private_message(self.big_gid, 1, size=self.entry_size)))
                c.events.clear()
                if r.get("ok"):
                    self.count("pushed")
                else:
                    self.refused(r.get("error", "?"))
            except (OSError, TimeoutError, ValueError, dsclient.WSClosed):
                return
            time.sleep(1.0 / self.args.push_rate)

    def victim_reader(self):
        from_addr(VICTIM_ADDR)
        c = None
        while not self.stop.is_set():
            try:
                if c is None:
                    c = Client(self.srv.port, self.victim)
                    ok(c.login(), "victim login")
                r = c.request("inbox.fetch", limit=500)
                if r.get("ok"):
                    self.count("inbox_pages")
                time.sleep(0.05)
            except (OSError, TimeoutError, ValueError, RuntimeError, AssertionError, KeyError,
                    dsclient.WSClosed):
                c = None
                time.sleep(0.1)

    def idle(self, n, held):
        from_addr(ABUSER_ADDR)
        for _ in range(n):
            try:
                held.append(WebSocket(self.srv.port))
                self.count("idle")
            except (OSError, dsclient.WSClosed):
                break

    def start(self):
        self.held = []
        targets = [(self.fetcher, (i,)) for i in self.accounts[:self.args.fetchers]]
        targets += [(self.slow_reader, (i,)) for i in self.accounts[self.args.fetchers:]]
        targets += [(self.invite_and_flood, ()), (self.victim_reader, ()), (self.pusher, ())]
        for fn, args in targets:
            t = threading.Thread(target=fn, args=args, daemon=True)
            t.start()
            self.threads.append(t)
        # Idle connections fill what the address has left: its limit less
        # the admin's two connections and those of the threads above.
        left = self.args.max_per_address - 3 - self.args.fetchers - self.args.slow
        t = threading.Thread(target=self.idle, args=(left, self.held), daemon=True)
        t.start()
        self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(10)
        for ws in self.held:
            try:
                ws.sock.close()
            except OSError:
                pass


def phase(srv, honest, seconds, abuser=None):
    for h in honest:
        h.lat = []
    samples = []
    end = time.time() + seconds
    while time.time() < end:
        samples.append(status_kib(srv.proc.pid, "VmRSS"))
        time.sleep(0.2)
    lat = [x for h in honest for x in h.lat]
    return {"hwm": status_kib(srv.proc.pid, "VmHWM"), "rss_max": max(samples),
            "sent": len(lat), "p50": pct(lat, 50) * 1000, "p99": pct(lat, 99) * 1000}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--honest", type=int, default=8)
    ap.add_argument("--rate", type=float, default=10)
    ap.add_argument("--entries", type=int, default=24)
    ap.add_argument("--recipients", type=int, default=300)
    ap.add_argument("--flood", type=int, default=20)
    ap.add_argument("--fetchers", type=int, default=6)
    ap.add_argument("--slow", type=int, default=16)
    ap.add_argument("--push-rate", type=float, default=5)
    ap.add_argument("--max-per-address", type=int, default=64)
    ap.add_argument("--out", default="build/bench")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    srv = Server(a.server).start()
    try:
        t0 = time.time()
        from_addr("127.0.0.1")
        honest = [Honest(srv, "honest%d" % i, a.rate) for i in range(a.honest)]
        ab = Abuser(srv, a)
        ab.setup()
        from_addr("127.0.0.1")
        setup_s = time.time() - t0
        base = status_kib(srv.proc.pid, "VmHWM")
        for h in honest:
            h.start()
        p1 = phase(srv, honest, a.seconds)
        # The abuser runs in a process of its own, so that its threads do
        # not take the honest clients' interpreter time.
        rd, wr = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(rd)
            code = 1
            try:
                ab.start()
                time.sleep(a.seconds + 1)
                ab.finish()
                os.write(wr, json.dumps(dict(ab.stats, crowd=getattr(ab, "crowd_result",
                                                                     "not sent"))).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(wr)
        time.sleep(1)
        p2 = phase(srv, honest, a.seconds, ab)
        with os.fdopen(rd) as f:
            got = f.read()
        os.waitpid(child, 0)
        ab.stats = json.loads(got) if got else dict(ab.stats, crowd="abuser failed")
        for h in honest:
            h.stop.set()
        errors = sum(h.errors for h in honest)
        mib = 1024.0
        lines = [
            "## Peak RSS under one abusive client (make bench-abuse)",
            "",
            "Server defaults (--max-message 1 MiB, --page-bytes 4 MiB, send queue 16 MiB,"
            " --max-per-address %d); %d honest users at %g msg/s each, %g s per phase;"
            " setup %.0f s (after setup: VmHWM %.1f MiB)." % (
                a.max_per_address, a.honest, a.rate, a.seconds, setup_s, base / mib),
            "",
            "| phase | server VmHWM (MiB) | max VmRSS seen (MiB) | honest acks | honest p50 (ms)"
            " | honest p99 (ms) |",
            "|---|---|---|---|---|---|",
            "| honest only | %.1f | %.1f | %d | %.1f | %.1f |" % (
                p1["hwm"] / mib, p1["rss_max"] / mib, p1["sent"], p1["p50"], p1["p99"]),
            "| honest + abuser | %.1f | %.1f | %d | %.1f | %.1f |" % (
                p2["hwm"] / mib, p2["rss_max"] / mib, p2["sent"], p2["p50"], p2["p99"]),
            "",
            "Abuser (one address, %d connections): %d messages of %d bytes pushed to all of"
            " them, %d log.fetch pages read (%.0f MiB),"
            " %d slow-reader connections closed and reopened, %d idle WebSockets,"
            " commit adding %d recipients: %s, inbox flood of %d groups, victim read %d"
            " inbox pages; refusals: %s.  Honest request errors: %d." % (
                2 + a.fetchers + a.slow + ab.stats["idle"], ab.stats["pushed"], ab.entry_size,
                ab.stats["pages"],
                ab.stats["page_bytes"] / (1 << 20), ab.stats["slow_reconnects"],
                ab.stats["idle"], a.recipients, ab.stats.get("crowd"),
                a.flood, ab.stats["inbox_pages"],
                json.dumps(ab.stats["refused"], sort_keys=True), errors),
        ]
        text = "\n".join(lines) + "\n"
        print(text)
        with open(os.path.join(a.out, "abuse.md"), "w") as f:
            f.write(text)
    finally:
        srv.stop()
        mlsmember.cleanup()


if __name__ == "__main__":
    main()
