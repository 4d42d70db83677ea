#!/usr/bin/env python3
"""make bench: draws libmls operation cost against group size (log-log)
from the output of `make bench-mls` (its first table: a header line
starting with "n ", then one row per group size).

    python3 scripts/bench-plot-mls.py build/bench/mls.txt build/bench
"""
import os
import shutil
import subprocess
import sys


def main():
    src, out = sys.argv[1], sys.argv[2]
    head, rows = None, []
    for line in open(src):
        f = line.split()
        if head is None:
            if f and f[0] == "n":
                head = f
            continue
        if not f or not f[0].isdigit():
            break
        rows.append(f)
    if not head or not rows:
        print("bench-plot-mls: no table in %s" % src)
        return 1
    dat = os.path.join(out, "mls.dat")
    with open(dat, "w") as d:
        d.write("# " + " ".join(head) + "\n")
        for r in rows:
            d.write(" ".join(r) + "\n")
    if not shutil.which("gnuplot"):
        print("gnuplot not installed: no plot")
        return 0
    cols = [(i + 1, h) for i, h in enumerate(head[1:], 1) if h.endswith("_ms")]
    plot = ", ".join("'%s' using 1:%d with linespoints title '%s'" % (dat, i, h.replace("_", " "))
                     for i, h in cols)
    script = """set terminal png size 900,600
set output '%s/mls.png'
set title 'libmls: operation cost against group size (suite 0x0001)'
set logscale xy
set xlabel 'members'
set ylabel 'ms'
set key left top
plot %s
""" % (out, plot)
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print("plot: %s/mls.png" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
