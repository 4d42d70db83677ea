#!/usr/bin/env python3
"""make bench-server: the real server under the project's C load generator,
every figure beside a baseline measured in the same run.

    python3 scripts/bench-server.py BIN_DIR SERVER [--runs 3] [--seconds 5]
        [--idle 10000] [--members 1000] [--rate 100] [--out build/bench]
        [--before OLD_SERVER] [--short] [--only PHASES]

Each run measures, interleaved so that load from elsewhere on the machine
hits figure and baseline alike:
  - the Ed25519 verification floor (loadgen verify, one core);
  - the server's durable ingest with 1, 8 and 64 senders (one group.send
    in flight each), and raw SQLite writing the same rows (sqlite_floor:
    the server's own tables and indexes, copied from a database it
    created, the group's sequence bump and the log row with its msg_id;
    WAL + synchronous=FULL, a checkpoint every CHECKPOINT_FRAMES frames as
    the server) at 1, 8 and 64 messages per transaction and
    at the server's own mean batch size in that run (its
    mlschat_committed_requests_total / mlschat_disk_syncs_total, read from
    /metrics before it stops; interpolated between the whole batch sizes
    around it);
  - the minimal relay's answer rate to 1 sender (its round trip): with
    raw SQLite's 1-row transaction after it, the most any server could
    ingest from 1 sender on this machine (the summary's "ceiling");
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
--before OLD_SERVER measures every server figure of each run on a second
binary too (e.g. the server before a change), interleaved, and adds a
before/after table: on a shared machine only figures from the same run
compare.
--short is the tool's smoke test (a second per scenario, small counts).
--only PHASES runs some phases alone, comma-separated among ingest, idle
(ingest with IDLE idle connections open), fanout, memory (the idle
connections' memory alone: a fan-out to 10 members, its latency not
reported) and logins; the verification floor always runs.
"""

import argparse
import math
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request

# The server's WAL checkpoint interval (src/server/store_sqlite.c
# SYNC_CHECKPOINT_FRAMES); the floor checkpoints as often.
CHECKPOINT_FRAMES = 4000

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
        if kind in ("server", "before"):
            db = os.path.join(self.tmp, "server.db")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    os.unlink(db + suffix)
            binary = self.a.server if kind == "server" else self.a.before
            argv = [binary, "--port", str(port), "--database", db] + SERVER_ARGS
        else:
            argv = [os.path.join(self.bin, "relay"), str(port)]
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port, p)
        return p, port

    @staticmethod
    def stop(p):
        p.send_signal(signal.SIGKILL)
        p.wait()

    def schema(self):
        """A database the server created (its tables and indexes), for the
        floor to copy: the floor writes the same rows as the server."""
        path = os.path.join(self.tmp, "schema.db")
        if not getattr(self, "schema_made", False):
            self.schema_made = True
            if os.path.exists(path):
                os.unlink(path)
            p, _ = self.start("server")
            self.stop(p)
            # SQLite's backup reads the schema from the WAL too.
            src = sqlite3.connect(os.path.join(self.tmp, "server.db"))
            dst = sqlite3.connect(path)
            src.backup(dst)
            dst.close()
            src.close()
        return path

    def floor(self, k):
        f = self.run([os.path.join(self.bin, "sqlite_floor"), os.path.join(self.tmp, "floor.db"),
                      str(k), str(self.a.seconds), "300", self.schema(),
                      str(CHECKPOINT_FRAMES)])
        return float(f[0][2])

    def loadgen(self, kind, args, cdf=None, metrics=None):
        """Runs the load generator against a fresh server (or the relay);
        with metrics (a dict), the server's /metrics values are put in it
        before the server stops."""
        p, port = self.start(kind)
        env = dict(os.environ)
        if cdf:
            env["LOADGEN_CDF"] = os.path.join(self.a.out, cdf)
        try:
            pid = [str(p.pid)] if args[0] == "fanout" else []
            out = self.run([os.path.join(self.bin, "loadgen"), str(port)] +
                           [str(x) for x in args] + pid, env)
            if metrics is not None:
                url = "http://127.0.0.1:%d/metrics" % port
                for line in urllib.request.urlopen(url, timeout=10).read().decode().splitlines():
                    if line and not line.startswith("#"):
                        key, _, value = line.rpartition(" ")
                        metrics[key] = float(value)
            return out
        finally:
            self.stop(p)

    def one_run(self, r):
        a = self.a
        S = a.seconds
        lg = os.path.join(self.bin, "loadgen")
        servers = ["server"] + (["before"] if a.before else [])
        want = a.only
        v = self.run([lg, "verify", "2000" if a.short else "20000"])
        self.note("verify_per_s", float(v[0][1]))
        if "ingest" in want:
            # One sender waits for each answer before its next request:
            # no server can beat the minimal relay's round trip followed by
            # raw SQLite's transaction (the 1-sender ceiling, summary).
            out = self.loadgen("relay", ["ingest", 1, S])
            self.note("relay_ingest_1", float([x for x in out if x[0] == "INGEST"][0][2]))
        for k in (1, 8, 64) if "ingest" in want else ():
            self.note("floor_%d" % k, self.floor(k))
            for sv in servers:
                p = "" if sv == "server" else "before_"
                mt = {}
                out = self.loadgen(sv, ["ingest", k, S], metrics=mt,
                                   cdf="%singest-%d.cdf" % (p, k) if r == 0 else None)
                line = [x for x in out if x[0] == "INGEST"][0]
                self.note("%singest_%d" % (p, k), float(line[2]))
                self.note("%singest_%d_p99_ms" % (p, k), float(line[4]))
                commits = sum(v for key, v in mt.items() if key.startswith("mlschat_disk_syncs_total"))
                if sv == "server" and commits:
                    # The server's mean batch per wait for the disk (its
                    # logins and the group's creation included: a handful
                    # of requests), and the floor at that batch size,
                    # interpolated between the two whole batch sizes around
                    # it (measured now, or above for k itself).
                    b = mt["mlschat_committed_requests_total"] / commits
                    self.note("batch_%d" % k, b)
                    lo, hi = max(1, math.floor(b)), max(1, math.ceil(b))
                    f_lo = self.res["floor_%d" % k][-1] if lo == k else self.floor(lo)
                    f_hi = f_lo if hi == lo else (self.res["floor_%d" % k][-1] if hi == k
                                                  else self.floor(hi))
                    self.note("floor_at_batch_%d" % k, f_lo + (f_hi - f_lo) * (b - lo))
        for sv in servers if "idle" in want else ():
            p = "" if sv == "server" else "before_"
            out = self.loadgen(sv, ["ingest", 1, S, a.idle])
            self.note("%singest_1_idle" % p, float([x for x in out if x[0] == "INGEST"][0][2]))
        for kind in servers + ["relay"] if "fanout" in want else ():
            for idle in (0, a.idle):
                out = self.loadgen(kind, ["fanout", a.members, a.rate, S, idle],
                                   cdf="fanout-%s-%d.cdf" % (kind, idle) if r == 0 else None)
                f = [x for x in out if x[0] == "FANOUT"][0]
                self.note("fanout_%s_%d_p50_ms" % (kind, idle), float(f[3]))
                self.note("fanout_%s_%d_p99_ms" % (kind, idle), float(f[4]))
                # Events not delivered within 10 s of the last send: a
                # server that falls behind; the percentiles cover only
                # those delivered, so the shortfall is reported too.
                self.note("fanout_%s_%d_late" % (kind, idle), int(f[6]) - int(f[5]))
                for x in out:
                    if x[0] == "IDLE":
                        self.note("idle_bytes_%s" % kind, float(x[2]))
        # The memory alone: the fan-out scenario's idle connections
        # behind a token group of 10 (its latencies are not the figure).
        for kind in servers + ["relay"] if "memory" in want and "fanout" not in want else ():
            out = self.loadgen(kind, ["fanout", 10, 10, 1, a.idle])
            for x in out:
                if x[0] == "IDLE":
                    self.note("idle_bytes_%s" % kind, float(x[2]))
        for sv in servers if "logins" in want else ():
            p = "" if sv == "server" else "before_"
            out = self.loadgen(sv, ["login", a.idle])
            self.note("%slogin_per_s" % p, float([x for x in out if x[0] == "LOGIN"][0][2]))

    def summary(self):
        m = Medians((k, statistics.median(v)) for k, v in self.res.items())
        a = self.a
        rows = []

        def row(what, fig, unit, base_what, base, better_high=True, base_unit=None):
            if fig is None or base is None:
                return
            ratio = fig / base if better_high else base / fig
            rows.append((what, fig, unit, base_what, base, base_unit or unit, ratio))

        for k in (1, 8, 64):
            row("durable ingest, %d sender%s" % (k, "s" if k > 1 else ""), m["ingest_%d" % k],
                "msg/s", "raw SQLite, same rows, %d/txn" % k, m["floor_%d" % k],
                base_unit="rows/s")
            if k == 1 and m["relay_ingest_1"] and m["floor_1"]:
                # Medians of each: the ceiling of the medians.
                ceiling = 1 / (1 / m["relay_ingest_1"] + 1 / m["floor_1"])
                row("  ceiling: relay round trip (%s/s) + raw SQLite's transaction" %
                    fmt(m["relay_ingest_1"]), ceiling, "msg/s", "raw SQLite, 1/txn",
                    m["floor_1"], base_unit="rows/s")
                row("  the server", m["ingest_1"], "msg/s", "that ceiling", ceiling)
            if m["batch_%d" % k] is not None and k > 1:
                row("  the same", m["ingest_%d" % k], "msg/s",
                    "raw SQLite at the server's mean batch, %.1f/txn" % m["batch_%d" % k],
                    m["floor_at_batch_%d" % k], base_unit="rows/s")
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
        if a.before:
            lines += ["", "Before/after (%s vs %s, same runs):" % (a.before, a.server), "",
                      "| what | before | after | after/before |", "|---|---|---|---|"]
            for key, what, high in (
                    ("ingest_1", "ingest, 1 sender (msg/s)", True),
                    ("ingest_8", "ingest, 8 senders (msg/s)", True),
                    ("ingest_64", "ingest, 64 senders (msg/s)", True),
                    ("ingest_1_idle", "ingest, 1 sender, %d idle (msg/s)" % I, True),
                    ("login_per_s", "%d logins (/s)" % I, True)):
                b, n = m.get("before_" + key), m.get(key)
                if b and n:
                    lines.append("| %s | %s | %s | %.2f |" % (what, fmt(b), fmt(n), n / b))
            for idle in (0, I):
                for q in ("p50", "p99"):
                    b = m.get("fanout_before_%d_%s_ms" % (idle, q))
                    n = m.get("fanout_server_%d_%s_ms" % (idle, q))
                    if b and n:
                        lines.append("| fan-out %s, %d idle (ms) | %s | %s | %.2f |" % (
                            q, idle, fmt(b), fmt(n), n / b))
            b, n = m.get("idle_bytes_before"), m.get("idle_bytes_server")
            if b and n:
                lines.append("| memory per idle connection (KiB) | %.2f | %.2f | %.2f |" % (
                    b / 1024, n / 1024, n / b))
        lines.append("")
        lines.append("Medians of %d runs of %g s; ratios are measured/baseline for rates and "
                     "baseline/measured for latencies and memory (higher is better)." %
                     (a.runs, a.seconds))
        late = ["%s %s" % (k[len("fanout_"):-len("_late")], fmt(v)) for k, v in sorted(m.items())
                if k.endswith("_late") and v > 0]
        if late:
            lines.append("Fan-out events not delivered within 10 s of the last send (median; "
                         "the percentiles cover the delivered ones): " + ", ".join(late))
        if m["ingest_1_p99_ms"] is not None:
            lines.append("Ingest p99 acknowledgement latency: " + ", ".join(
                "%d senders %.2f ms" % (k, m["ingest_%d_p99_ms" % k]) for k in (1, 8, 64)))
        text = "\n".join(lines) + "\n"
        with open(os.path.join(a.out, "server.md"), "w") as f:
            f.write(text)
        if m["ingest_1"] is None:
            print()
            print(text)
            return
        with open(os.path.join(a.out, "server-ingest.dat"), "w") as f:
            f.write("# senders server_msg_per_s raw_sqlite_rows_per_s before_msg_per_s\n")
            for k in (1, 8, 64):
                f.write("%d %.1f %.1f %.1f\n" % (k, m["ingest_%d" % k], m["floor_%d" % k],
                                                m.get("before_ingest_%d" % k, 0)))
        print()
        print(text)


class Medians(dict):
    """Medians by figure; a figure of a phase not run (--only) is None."""

    def __missing__(self, key):
        return None


def machine():
    """The machine the figures come from (for BENCHMARKS.md)."""
    lines = []
    try:
        cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")]
        lines.append("cpu: %s x %d" % (cpu[0] if cpu else "?", os.cpu_count() or 0))
    except OSError:
        pass
    lines.append("load average at the end: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    lines.append("kernel: %s" % os.uname().release)
    return "\n".join(lines) + "\n"


def fmt(x):
    return "{:,.0f}".format(x) if x >= 100 else "%.2f" % x


def plots(out, idle, before):
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
     '' using 1:3 with linespoints title 'raw SQLite, WAL, synchronous=FULL'{bi}
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
     '{o}/fanout-relay-{i}.cdf' using 1:2 with lines title 'relay, {i} idle open'{bf}
""".format(o=out, i=idle,
           bi=", \\\n     '' using 1:4 with linespoints title 'server before'" if before else "",
           bf=(", \\\n     '{o}/fanout-before-0.cdf' using 1:2 with lines title 'before', \\\n"
               "     '{o}/fanout-before-{i}.cdf' using 1:2 with lines title 'before, {i} idle open'"
               ).format(o=out, i=idle) if before else "")
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
    ap.add_argument("--before", help="a second server binary measured in the same runs")
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--only", default="ingest,idle,fanout,logins",
                    help="phases, comma-separated: ingest, idle, fanout, memory, logins")
    a = ap.parse_args()
    a.only = set(a.only.split(","))
    bad = a.only - {"ingest", "idle", "fanout", "memory", "logins"}
    if bad:
        ap.error("unknown phase(s): %s" % ", ".join(sorted(bad)))
    if a.short:
        a.runs, a.seconds, a.idle, a.members, a.rate = 1, 1, 50, 20, 50
        a.out = os.path.join(a.out, "short")
    os.makedirs(a.out, exist_ok=True)
    b = Bench(a)
    # The machine may be shared: its load at the start of every run is
    # part of the result (figures compare only within one run).
    loads = []
    for r in range(a.runs):
        loads.append(" ".join(open("/proc/loadavg").read().split()[:3]))
        print("run %d of %d (load average %s)" % (r + 1, a.runs, loads[-1]), flush=True)
        b.one_run(r)
    b.summary()
    with open(os.path.join(a.out, "machine.txt"), "w") as f:
        f.write(machine())
        f.write("load average at the start of each run: %s\n" % "; ".join(loads))
    if not a.short and {"ingest", "fanout"} <= a.only:
        plots(a.out, a.idle, bool(a.before))
    shutil.rmtree(b.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
