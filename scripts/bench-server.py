#!/usr/bin/env python3
"""make bench-server: the real server under the project's C load generator,
every figure beside a baseline measured in the same run.

    python3 scripts/bench-server.py BIN_DIR SERVER [--runs 3] [--seconds 5]
        [--idle 10000] [--members 1000] [--rate 100] [--out build/bench]
        [--short]

Each run measures, interleaved so that load from elsewhere on the machine
hits figure and baseline alike:
  - the Ed25519 verification floor (loadgen verify, one core);
  - raw SQLite inserting log-shaped rows, WAL + synchronous=FULL, 1, 8 and
    64 rows per transaction (sqlite_floor), and the server's durable ingest
    with 1, 8 and 64 senders (one group.send in flight each);
  - ingest with 1 sender while IDLE logged-in connections are open;
  - fan-out of RATE msg/s to MEMBERS members, delivery latency p50/p99,
    without and with IDLE idle connections, on the server and on the
    minimal non-durable relay (bench/relay.c), and the server's and the
    relay's resident memory per idle connection;
  - IDLE logins (registered first, then logged in again).
Every server and relay starts fresh with its database in OUT/tmp (on the
disk of the worktree, not a tmpfs).  The summary (medians of the runs and
ratios) is printed and written to OUT/server.md; raw lines go to
OUT/server-raw.txt, the latency distributions to OUT/*.cdf; gnuplot, when
installed, draws OUT/server-ingest.png and OUT/server-fanout.png.
--short is the tool's smoke test (a second per scenario, small counts).
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

SERVER_ARGS = ["--max-connections", "30000", "--max-per-address", "100000",
               "--register-rate", "0", "--invite-rate", "0", "--rate", "1000000",
               "--user-rate", "1000000", "--log-level", "warn"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("process exited with %d" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


class Bench:
    def __init__(self, a):
        self.a = a
        self.bin = a.bin_dir
        self.tmp = os.path.join(a.out, "tmp")
        os.makedirs(self.tmp, exist_ok=True)
        self.raw = open(os.path.join(a.out, "server-raw.txt"), "w")
        self.res = {}

    def note(self, key, value):
        self.res.setdefault(key, []).append(value)
        print("  %-28s %s" % (key, value), flush=True)

    def run(self, argv, env=None):
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env, timeout=900)
        self.raw.write("$ %s\n%s%s" % (" ".join(argv), out.stdout, out.stderr))
        self.raw.flush()
        if out.returncode:
            raise RuntimeError("%s failed: %s" % (argv[0], out.stderr.strip()))
        return [line.split() for line in out.stdout.splitlines()]

    def start(self, kind):
        port = free_port()
        if kind == "server":
            db = os.path.join(self.tmp, "server.db")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    os.unlink(db + suffix)
            argv = [self.a.server, "--port", str(port), "--database", db] + SERVER_ARGS
        else:
            argv = [os.path.join(self.bin, "relay"), str(port)]
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port, p)
        return p, port

    @staticmethod
    def stop(p):
        p.send_signal(signal.SIGKILL)
        p.wait()

    def loadgen(self, kind, args, cdf=None):
        p, port = self.start(kind)
        env = dict(os.environ)
        if cdf:
            env["LOADGEN_CDF"] = os.path.join(self.a.out, cdf)
        try:
            pid = [str(p.pid)] if args[0] == "fanout" else []
            return self.run([os.path.join(self.bin, "loadgen"), str(port)] +
                            [str(x) for x in args] + pid, env)
        finally:
            self.stop(p)

    def one_run(self, r):
        a = self.a
        S = a.seconds
        lg = os.path.join(self.bin, "loadgen")
        v = self.run([lg, "verify", "2000" if a.short else "20000"])
        self.note("verify_per_s", float(v[0][1]))
        for k in (1, 8, 64):
            f = self.run([os.path.join(self.bin, "sqlite_floor"),
                          os.path.join(self.tmp, "floor.db"), str(k), str(S)])
            self.note("floor_%d" % k, float(f[0][2]))
            out = self.loadgen("server", ["ingest", k, S],
                               cdf="ingest-%d.cdf" % k if r == 0 else None)
            line = [x for x in out if x[0] == "INGEST"][0]
            self.note("ingest_%d" % k, float(line[2]))
            self.note("ingest_%d_p99_ms" % k, float(line[4]))
        out = self.loadgen("server", ["ingest", 1, S, a.idle])
        self.note("ingest_1_idle", float([x for x in out if x[0] == "INGEST"][0][2]))
        for kind in ("server", "relay"):
            for idle in (0, a.idle):
                out = self.loadgen(kind, ["fanout", a.members, a.rate, S, idle],
                                   cdf="fanout-%s-%d.cdf" % (kind, idle) if r == 0 else None)
                f = [x for x in out if x[0] == "FANOUT"][0]
                self.note("fanout_%s_%d_p50_ms" % (kind, idle), float(f[3]))
                self.note("fanout_%s_%d_p99_ms" % (kind, idle), float(f[4]))
                if int(f[5]) != int(f[6]):
                    raise RuntimeError("%s: %s of %s events arrived" % (kind, f[5], f[6]))
                for x in out:
                    if x[0] == "IDLE":
                        self.note("idle_bytes_%s" % kind, float(x[2]))
        out = self.loadgen("server", ["login", a.idle])
        self.note("login_per_s", float([x for x in out if x[0] == "LOGIN"][0][2]))

    def summary(self):
        m = {k: statistics.median(v) for k, v in self.res.items()}
        a = self.a
        rows = []

        def row(what, fig, unit, base_what, base, better_high=True, base_unit=None):
            if fig is None or base is None:
                return
            ratio = fig / base if better_high else base / fig
            rows.append((what, fig, unit, base_what, base, base_unit or unit, ratio))

        for k in (1, 8, 64):
            row("durable ingest, %d sender%s" % (k, "s" if k > 1 else ""), m["ingest_%d" % k],
                "msg/s", "raw SQLite, %d row%s/txn" % (k, "s" if k > 1 else ""), m["floor_%d" % k],
                base_unit="rows/s")
        row("ingest, 1 sender, %d idle open" % a.idle, m["ingest_1_idle"], "msg/s",
            "the same without them", m["ingest_1"])
        I = a.idle
        row("fan-out %d members @%d/s, p99" % (a.members, a.rate), m["fanout_server_0_p99_ms"],
            "ms", "relay p99", m["fanout_relay_0_p99_ms"], better_high=False)
        row("  the same with %d idle, p99" % I, m["fanout_server_%d_p99_ms" % I], "ms",
            "server without idle", m["fanout_server_0_p99_ms"], better_high=False)
        row("  the same with %d idle, p99" % I, m["fanout_server_%d_p99_ms" % I], "ms",
            "relay with idle", m["fanout_relay_%d_p99_ms" % I], better_high=False)
        row("fan-out p50", m["fanout_server_0_p50_ms"], "ms", "relay p50",
            m["fanout_relay_0_p50_ms"], better_high=False)
        if "idle_bytes_server" in m and "idle_bytes_relay" in m:
            row("memory per idle connection", m["idle_bytes_server"] / 1024, "KiB",
                "relay", m["idle_bytes_relay"] / 1024, better_high=False)
        row("%d logins" % I, m["login_per_s"], "/s", "Ed25519 verify, 1 core",
            m["verify_per_s"], base_unit="verifies/s")
        lines = ["| what | measured | same-run baseline | ratio |", "|---|---|---|---|"]
        for what, fig, unit, bw, base, bunit, ratio in rows:
            lines.append("| %s | %s %s | %s: %s %s | %.2f |" % (
                what, fmt(fig), unit, bw, fmt(base), bunit, ratio))
        lines.append("")
        lines.append("Medians of %d runs of %g s; ratios are measured/baseline for rates and "
                     "baseline/measured for latencies and memory (higher is better)." %
                     (a.runs, a.seconds))
        lines.append("Ingest p99 acknowledgement latency: " + ", ".join(
            "%d senders %.2f ms" % (k, m["ingest_%d_p99_ms" % k]) for k in (1, 8, 64)))
        text = "\n".join(lines) + "\n"
        with open(os.path.join(a.out, "server.md"), "w") as f:
            f.write(text)
        with open(os.path.join(a.out, "server-ingest.dat"), "w") as f:
            f.write("# senders server_msg_per_s raw_sqlite_rows_per_s\n")
            for k in (1, 8, 64):
                f.write("%d %.1f %.1f\n" % (k, m["ingest_%d" % k], m["floor_%d" % k]))
        print()
        print(text)


def fmt(x):
    return "{:,.0f}".format(x) if x >= 100 else "%.2f" % x


def plots(out, idle):
    if not shutil.which("gnuplot"):
        print("gnuplot not installed: no plots (make bench installs it)")
        return
    script = """
set terminal png size 800,500
set output '{o}/server-ingest.png'
set title 'Durable ingest: server vs raw SQLite at the same batch size'
set xlabel 'senders (raw SQLite: rows per transaction)'
set ylabel 'messages (rows) per second'
set logscale x 2
set key left top
plot '{o}/server-ingest.dat' using 1:2 with linespoints title 'server', \\
     '' using 1:3 with linespoints title 'raw SQLite, WAL, synchronous=FULL'
unset logscale
set output '{o}/server-fanout.png'
set title 'Fan-out delivery latency, 1,000 members at 100 msg/s (run 1)'
set xlabel 'percentile'
set ylabel 'ms'
set logscale y
set key left top
plot '{o}/fanout-server-0.cdf' using 1:2 with lines title 'server', \\
     '{o}/fanout-server-{i}.cdf' using 1:2 with lines title 'server, {i} idle open', \\
     '{o}/fanout-relay-0.cdf' using 1:2 with lines title 'relay', \\
     '{o}/fanout-relay-{i}.cdf' using 1:2 with lines title 'relay, {i} idle open'
""".format(o=out, i=idle)
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print("plots: %s/server-ingest.png %s/server-fanout.png" % (out, out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin_dir")
    ap.add_argument("server")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--out", default="build/bench")
    ap.add_argument("--short", action="store_true")
    a = ap.parse_args()
    if a.short:
        a.runs, a.seconds, a.idle, a.members, a.rate = 1, 1, 50, 20, 50
        a.out = os.path.join(a.out, "short")
    os.makedirs(a.out, exist_ok=True)
    b = Bench(a)
    for r in range(a.runs):
        print("run %d of %d" % (r + 1, a.runs), flush=True)
        b.one_run(r)
    b.summary()
    if not a.short:
        plots(a.out, a.idle)
    shutil.rmtree(b.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
