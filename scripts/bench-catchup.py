#!/usr/bin/env python3
"""Catch-up benchmark (issue 13 item 4): how fast a fresh start of
./client reads a group's log it was away from, beside the machine's
Ed25519 verification floor on all cores measured in the same run.

    python3 scripts/bench-catchup.py BUILD_BIN [N] [RUNS] [BEFORE_CLIENT]

The real server on a free port with a temporary database (its rate limits
raised: the sender is a paste, not an abuser).  alice creates group
"catchup" and invites bob; bob quits.  alice, a real client in line mode
fed from a pipe, sends N real MLS application messages through the server
in chunks of 2,000, each until its last line is back from the log.  Then bob's client is
started again in line mode, stdin an open pipe: the time from its start to
the line of the N-th message is the catch-up time (login, N log entries
fetched in pages, decrypted, verified, stored, printed).  RUNS times from
the same log (bob's store copied back before each), median reported;
BEFORE_CLIENT, another ./client binary, is timed on the same log in the
same runs, interleaved, for a before/after figure.  The
floor is `bench_mls sig` (FramedContent-sized signatures verified on one
thread and on the library's pool) run right after.  Prints one
"CATCHUP n msg_per_s seconds floor_all_cores ratio" line, and the load
average before the catch-ups and after the floor (other work on the
machine takes cores from both the client and the floor).  Not a test:
nothing here asserts a time.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from clientlib import Client, Server  # noqa: E402


def wait_line(proc, pattern, timeout):
    """Reads proc's stdout until a line matches; returns the time seen."""
    rx = re.compile(pattern)
    end = time.time() + timeout
    for raw in proc.stdout:
        if rx.search(raw.decode("utf-8", "replace")):
            return time.time()
        if time.time() > end:
            break
    raise RuntimeError("no line matching %r (client exit %s)" % (pattern, proc.poll()))


def main():
    binp = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    before = os.path.abspath(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] else None
    client, server = os.path.join(binp, "client"), os.path.join(binp, "server")
    tmp = tempfile.mkdtemp(prefix="mlschat-bench-catchup-")
    srv = Server(server, tmp, extra=["--rate", "1000000", "--user-rate", "1000000"]).start()
    try:
        cfg_a, cfg_b = os.path.join(tmp, "cfg-alice"), os.path.join(tmp, "cfg-bob")
        a = Client(client, srv.url, cfg_a, "catchup", "alice", tmp)
        a.wait_for(r"created #catchup")
        b = Client(client, srv.url, cfg_b, "catchup", "bob", tmp)
        b.wait_for(r"must /invite bob")
        a.say("/invite bob")
        b.wait_for(r"you joined #catchup, invited by alice")
        assert b.quit() == 0
        saved = os.path.join(tmp, "cfg-bob.saved")
        shutil.copytree(cfg_b, saved)

        t0 = time.time()
        lines = ["catch-up message %06d: the quick brown fox jumps over the lazy dog" % i
                 for i in range(n)]
        # In chunks, each waited for: the sender's outbox stays small (a
        # paste of 100,000 lines would be 100,000 queued rows).
        for c in range(0, n, 2000):
            chunk = lines[c:c + 2000]
            m = a.mark()
            a.proc.stdin.write(("\n".join(chunk) + "\n").encode())
            a.proc.stdin.flush()
            a.wait_for(re.escape(chunk[-1]) + "$", m, timeout=600)
        send_s = time.time() - t0
        print("SENT %d in %.1f s (%.0f msg/s through the real server)" % (n, send_s, n / send_s),
              flush=True)
        assert a.quit(120) == 0

        def catch_up(binary, label, r):
            shutil.rmtree(cfg_b)
            shutil.copytree(saved, cfg_b)
            start = time.time()
            proc = subprocess.Popen(
                [binary, "--server", srv.url, "--config", cfg_b, "catchup", "bob"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            seen = wait_line(proc, re.escape(lines[-1]) + "$", 3600)
            print("RUN %d %s: %.2f s, %.0f msg/s" % (r + 1, label, seen - start,
                                                     n / (seen - start)), flush=True)
            proc.stdin.write(b"/quit\n")
            proc.stdin.flush()
            proc.stdin.close()
            proc.stdout.read()
            proc.wait(120)
            return seen - start

        print("LOAD before the catch-ups: %.2f %.2f %.2f" % os.getloadavg(), flush=True)
        times, old = [], []
        for r in range(runs):
            if before:
                old.append(catch_up(before, "before", r))
            times.append(catch_up(client, "after", r))
        secs = statistics.median(times)

        out = subprocess.run([os.path.join(binp, "bench_mls"), "sig"], check=True,
                             capture_output=True, text=True).stdout
        m = re.search(r"^SIG\s+(\S+)\s+(\S+)", out, re.M)
        one, pool = float(m.group(1)), float(m.group(2))
        rate = n / secs
        print("FLOOR Ed25519 verifies/s: %.0f one core, %.0f all cores" % (one, pool))
        print("LOAD after the floor: %.2f %.2f %.2f" % os.getloadavg())
        print("CATCHUP %d %.0f %.2f %.0f %.2f" % (n, rate, secs, pool, rate / pool))
        if before:
            o = statistics.median(old)
            print("BEFORE %d %.0f %.2f %.0f %.2f" % (n, n / o, o, pool, n / o / pool))
    finally:
        srv.stop()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
