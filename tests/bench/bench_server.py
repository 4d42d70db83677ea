"""Load benchmark of the mlschat server (make bench-server).

Starts the real server on a free port with a temporary database, registers
N users, puts them in groups of G (one commit per group adds the members),
then for R runs of S seconds each every client sends application messages
(PrivateMessages, as clients do) to its group through group.send, keeping W
requests in flight.  Measures accepted messages per second, the latency
from sending group.send to its ok response (the ack is released only after
the batch's COMMIT, so it includes the fsync), and the delivery latency of
the `log` event to the other members of the group.  Prints a table with
the median over the runs, and the server's resident memory.

The load generator is Python (asyncio, one process per core but one): on a
small machine it, not the server, may be the bottleneck, so the numbers
are lower bounds of what the server can do.

With MLSCHAT_TEST_PG set (a PostgreSQL cluster's URI without a database;
`make bench-server` makes a temporary cluster with scripts/pg-cluster.sh
when PostgreSQL is installed), the same load runs, in the same run, on
SQLite, on PostgreSQL with one server process, and on PostgreSQL with two
server processes over one database (the clients spread over both, so half
of every fan-out crosses processes); a last table compares them.

Usage: python3 tests/bench/bench_server.py SERVER_BINARY [--clients 50]
       [--group-size 5] [--seconds 3] [--runs 5] [--window 1] [--procs P]
       [--stores sqlite,pg1,pg2]
"""

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import statistics
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from dsclient import Server, b64, pg_database, u16, u64, vec  # noqa
import mlsmember  # noqa
from mlsmember import add_member, commit as mls_commit, make_group, member  # noqa


# ---------------------------------------------------------------- asyncio WebSocket

def mask(payload, key):
    n = len(payload)
    m = int.from_bytes(key * ((n + 3) // 4), "big") >> (8 * ((-n) % 4))
    return (int.from_bytes(payload, "big") ^ m).to_bytes(n, "big")


class AWS:
    """Minimal asyncio RFC 6455 client: masked text frames out, frames in."""

    async def connect(self, port):
        self.r, self.w = await asyncio.open_connection("127.0.0.1", port)
        key = b64(os.urandom(16))
        self.w.write((f"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await self.r.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("upgrade refused")
        return self

    def send(self, text):
        data = text.encode()
        n = len(data)
        if n < 126:
            head = bytes([0x81, 0x80 | n])
        elif n < 65536:
            head = bytes([0x81, 0xFE]) + struct.pack(">H", n)
        else:
            head = bytes([0x81, 0xFF]) + struct.pack(">Q", n)
        key = os.urandom(4)
        self.w.write(head + key + mask(data, key))

    async def recv(self):
        data = b""
        while True:
            b0, b1 = await self.r.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", await self.r.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", await self.r.readexactly(8))[0]
            payload = await self.r.readexactly(n)
            op = b0 & 0x0F
            if op == 8:
                raise ConnectionError("closed")
            if op in (9, 10):
                continue
            data += payload
            if b0 & 0x80:
                return data


# ---------------------------------------------------------------- one client

def message_bytes(gid, epoch, ts_ns, size=96):
    """A PrivateMessage header + opaque body whose first 8 body bytes carry
    the sender's monotonic send time (the server never looks inside)."""
    body = struct.pack(">Q", ts_ns) + b"\0" * (size - 8)
    return (u16(1) + u16(2) + vec(gid) + u64(epoch) + bytes([1]) + vec(b"") +
            vec(b"\1" * 16) + vec(body))


def body_time(msg):
    # version, wire_format, group_id<V>, epoch, content_type, aad<V>,
    # encrypted_sender_data<V>, ciphertext<V>: walk the varints.
    off = 4

    def skip_vec(o):
        b = msg[o]
        if b >> 6 == 0:
            return o + 1, b
        if b >> 6 == 1:
            return o + 2, ((b & 0x3F) << 8) | msg[o + 1]
        return o + 4, int.from_bytes(msg[o:o + 4], "big") & 0x3FFFFFFF
    o, n = skip_vec(off)
    o += n + 8 + 1
    o, n = skip_vec(o)
    o += n
    o, n = skip_vec(o)
    o += n
    o, n = skip_vec(o)
    return struct.unpack(">Q", msg[o:o + 8])[0]


class Bench:
    def __init__(self, port, name, ident, group, gid, window, stop_at):
        self.port, self.name, self.group, self.gid = port, name, group, gid
        self.ident = ident
        self.window = window
        self.stop_at = stop_at
        self.pending = {}
        self.acks, self.fanout = [], []
        self.accepted = 0
        self.refused = 0

    async def login(self):
        self.ws = await AWS().connect(self.port)
        ch = json.loads(await self.ws.recv())
        nonce = base64.b64decode(ch["nonce"])
        ts = int(time.time())
        sig = self.ident.auth_signature("login", nonce, ts)
        self.ws.send(json.dumps({"id": 0, "type": "login", "username": self.name,
                                 "nonce": b64(nonce), "timestamp": ts, "signature": b64(sig)}))
        r = json.loads(await self.ws.recv())
        if not r.get("ok"):
            raise RuntimeError("login failed: %s" % r)

    async def reader(self):
        try:
            while True:
                obj = json.loads(await self.ws.recv())
                now = time.monotonic_ns()
                if obj.get("event") == "log":
                    if obj.get("sender") != self.name and obj.get("kind") == "message":
                        sent = body_time(base64.b64decode(obj["message"]))
                        self.fanout.append(now - sent)
                    continue
                fut = self.pending.pop(obj.get("id"), None)
                if fut:
                    fut.set_result((obj, now))
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass

    async def sender(self):
        loop = asyncio.get_running_loop()
        rid = 1
        while time.monotonic() < self.stop_at:
            t0 = time.monotonic_ns()
            msg = b64(message_bytes(self.gid, 1, t0))
            fut = loop.create_future()
            self.pending[rid] = fut
            self.ws.send('{"id":%d,"type":"group.send","group":"%s","message":"%s"}' %
                         (rid, self.group, msg))
            rid += 1
            obj, t1 = await fut
            if obj.get("ok"):
                self.accepted += 1
                self.acks.append(t1 - t0)
            else:
                self.refused += 1


async def worker_main(clients, window, start_at, seconds):
    benches = [Bench(port, name, ident, group, gid, window, start_at + seconds)
               for port, name, ident, group, gid in clients]
    await asyncio.gather(*(b.login() for b in benches))
    readers = [asyncio.ensure_future(b.reader()) for b in benches]
    while time.monotonic() < start_at:
        await asyncio.sleep(0.005)
    await asyncio.gather(*(b.sender() for b in benches for _ in range(window)))
    # Let the last events arrive.
    await asyncio.sleep(0.3)
    for r in readers:
        r.cancel()
    for b in benches:
        b.ws.w.close()
    return (sum(b.accepted for b in benches), sum(b.refused for b in benches),
            [x for b in benches for x in b.acks], [x for b in benches for x in b.fanout])


def worker(clients, window, start_at, seconds, out):
    try:
        out.put(asyncio.run(worker_main(clients, window, start_at, seconds)))
    except Exception as e:  # report, do not hang the parent
        out.put(e)


# ---------------------------------------------------------------- setup and report

def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))]


def rss_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def setup(srv, n, gsize):
    """Registers n users (real MLS identities, tests/integration/mlsmember.py:
    the server validates every commit) and makes groups of gsize, each
    with one commit; returns [(name, identity, group, gid)]."""
    out = []
    for g0 in range(0, n, gsize):
        names = ["u%d" % i for i in range(g0, min(n, g0 + gsize))]
        idents = [member(srv, name, keep=False)[0] for name in names]
        admin = srv.client(idents[0])
        assert admin.login().get("ok")
        group = "g%d" % (g0 // gsize)
        gid = make_group(admin, group)
        r = add_member(admin, group, idents[1:]) if len(idents) > 1 else mls_commit(admin, group)
        assert r.get("ok"), r
        admin.close()
        out += [(ident.username, ident, group, gid) for ident in idents]
    return out


def run_store(a, label, db, nproc):
    """The benchmark on nproc server processes over db (None: a temporary
    SQLite file); returns the median row."""
    args = ["--rate", "1000000", "--user-rate", "1000000",
            "--max-connections", str(a.clients + 64),
            # every load client comes from 127.0.0.1
            "--max-per-address", str(a.clients + 64),
            "--register-rate", "0"]
    if db is None:
        servers = [Server(a.binary, args=args)]
        servers[0].db = os.path.join(servers[0].dir, "test.db")
    else:
        servers = [Server(a.binary, db=db, args=args) for _ in range(nproc)]
    for srv in servers:
        srv.start()
    try:
        clients = setup(servers[0], a.clients, a.group_size)
        # Client i talks to process i mod nproc: a group's members sit on
        # every process.
        clients = [(servers[i % len(servers)].port,) + c for i, c in enumerate(clients)]
        procs = max(1, min(a.procs, a.clients))
        shares = [clients[i::procs] for i in range(procs)]
        rows = []
        print("\n%s: %d clients in groups of %d, %d in flight each, "
              "%d runs x %.0f s, %d load process(es), %d CPU(s)" %
              (label, a.clients, a.group_size, a.window, a.runs, a.seconds, procs,
               os.cpu_count()))
        print("%-6s %10s %11s %11s %14s %14s" % ("run", "msgs/s", "ack p50 ms", "ack p99 ms",
                                                 "fanout p50 ms", "fanout p99 ms"))
        ctx = mp.get_context("fork")
        for run in range(1, a.runs + 1):
            q = ctx.Queue()
            start_at = time.monotonic() + 1.5
            ps = [ctx.Process(target=worker, args=(sh, a.window, start_at, a.seconds, q))
                  for sh in shares]
            for p in ps:
                p.start()
            results = [q.get(timeout=120 + a.seconds) for _ in ps]
            for p in ps:
                p.join()
            for r in results:
                if isinstance(r, Exception):
                    raise r
            accepted = sum(r[0] for r in results)
            refused = sum(r[1] for r in results)
            acks = [x for r in results for x in r[2]]
            fan = [x for r in results for x in r[3]]
            row = (accepted / a.seconds, percentile(acks, 50) / 1e6, percentile(acks, 99) / 1e6,
                   percentile(fan, 50) / 1e6, percentile(fan, 99) / 1e6)
            rows.append(row)
            print("%-6d %10.0f %11.2f %11.2f %14.2f %14.2f%s" %
                  ((run,) + row + ("  (%d refused)" % refused if refused else "",)))
        med = [statistics.median(r[i] for r in rows) for i in range(5)]
        print("%-6s %10.0f %11.2f %11.2f %14.2f %14.2f" % (("median",) + tuple(med)))
        rss = sum(rss_kib(srv.proc.pid, "VmRSS") for srv in servers) / 1024.0
        peak = sum(rss_kib(srv.proc.pid, "VmHWM") for srv in servers) / 1024.0
        line = "server RSS %.1f MiB (peak %.1f MiB)" % (rss, peak)
        if db is None:
            line += "; database %.1f MiB" % (
                sum(os.path.getsize(p) for p in (servers[0].db, servers[0].db + "-wal")
                    if os.path.exists(p)) / 1048576.0)
        print(line + (" over %d processes" % len(servers) if len(servers) > 1 else ""))
        return med
    finally:
        for srv in servers:
            srv.stop()


def main():
    pg = bool(os.environ.get("MLSCHAT_TEST_PG"))
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--group-size", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--window", type=int, default=1, help="requests in flight per client")
    ap.add_argument("--procs", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    ap.add_argument("--stores", default="sqlite,pg1,pg2" if pg else "sqlite",
                    help="sqlite, pg1 (PostgreSQL, one server process), pg2 (two)")
    a = ap.parse_args()
    summary = []
    for store in a.stores.split(","):
        if store == "sqlite":
            summary.append(("SQLite, 1 process", run_store(a, "SQLite, 1 server process",
                                                           None, 1)))
        elif store in ("pg1", "pg2"):
            if not pg:
                sys.exit("bench_server: %s needs MLSCHAT_TEST_PG (scripts/pg-cluster.sh)" % store)
            n = int(store[2])
            label = "PostgreSQL, %d process%s" % (n, "es" if n > 1 else "")
            summary.append((label, run_store(a, label + " over one database", pg_database(), n)))
        else:
            sys.exit("bench_server: unknown store %r" % store)
    if len(summary) > 1:
        print("\n%-24s %10s %11s %14s" % ("medians", "msgs/s", "ack p50 ms", "fanout p50 ms"))
        for label, med in summary:
            print("%-24s %10.0f %11.2f %14.2f" % (label, med[0], med[1], med[3]))


if __name__ == "__main__":
    try:
        main()
    finally:
        mlsmember.cleanup()
