#!/usr/bin/env python3
"""make bench: the catch-up figure from the output of `make bench-catchup`
(its RUN, FLOOR and CATCHUP lines): OUT/catchup.md, and OUT/catchup.png,
each run's rate beside the verification floor of all cores and the
issue's goal (0.7 of it).

    python3 scripts/bench-plot-catchup.py build/bench/catchup.txt build/bench
"""
import os
import re
import shutil
import subprocess
import sys


def main():
    src, out = sys.argv[1], sys.argv[2]
    runs, one, pool, summary = [], None, None, None
    for line in open(src):
        m = re.match(r"RUN (\d+) (\S+): ([\d.]+) s, (\d+) msg/s", line)
        if m:
            runs.append((int(m.group(1)), m.group(2), float(m.group(4))))
        m = re.match(r"FLOOR Ed25519 verifies/s: (\d+) one core, (\d+) all cores", line)
        if m:
            one, pool = float(m.group(1)), float(m.group(2))
        if line.startswith("CATCHUP "):
            summary = line.split()
    if not runs or pool is None or summary is None:
        print("bench-plot-catchup: no result in %s" % src)
        return 1
    n, rate, secs = int(summary[1]), float(summary[2]), float(summary[3])
    with open(os.path.join(out, "catchup.md"), "w") as f:
        f.write("| what | measured | same-run baseline | ratio |\n|---|---|---|---|\n")
        f.write("| catch-up of %d messages by ./client (median of %d) | %.0f msg/s (%.1f s) | "
                "Ed25519 verification, all cores: %.0f /s | %.2f |\n" %
                (n, len([r for r in runs if r[1] == "after"]), rate, secs, pool, rate / pool))
        f.write("\nOne core verifies %.0f /s.\n" % one)
    dat = os.path.join(out, "catchup.dat")
    with open(dat, "w") as d:
        d.write("# run msg_per_s floor_all_cores goal\n")
        for r, label, v in runs:
            if label == "after":
                d.write("%d %.0f %.0f %.0f\n" % (r, v, pool, 0.7 * pool))
    if not shutil.which("gnuplot"):
        print("gnuplot not installed: no plot")
        return 0
    script = """set terminal png size 800,500
set output '{o}/catchup.png'
set title 'Catch-up of {n} messages by ./client, each run'
set xlabel 'run'
set ylabel 'messages per second'
set yrange [0:{top}]
set xtics 1
set style fill solid 0.5
set boxwidth 0.5
set key left top
plot '{d}' using 1:2 with boxes title 'client', \\
     '' using 1:3 with lines lw 2 title 'Ed25519 verification floor, all cores', \\
     '' using 1:4 with lines dt 2 title '0.7 of the floor (issue 13 goal)'
""".format(o=out, n=n, d=dat, top=int(pool * 1.3))
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print("plot: %s/catchup.png" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
