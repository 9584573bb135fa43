#!/usr/bin/env python3
"""docs/stability.md's "What grows first" tables, from a run of a library built
with bench/pair_trace.patch (FPO_DBG=1, stderr saved) and that run's log.csv.

    python3 bench/pair_trace.py DBG.txt RUN/log.csv FIRST LAST WINDOW

One row per WINDOW updates from update FIRST (0-based) up to LAST: the return
and env steps at the window's end, the median CFM loss at theta_old, the mean
count of stored pairs above 10 per update, of transitions whose mean pair loss
is above 5, the largest pair's loss (median / max) and its t, and, weighted by
their count, the mean t of the pairs above 10, their share with an action at
the bound and with a positive advantage.
"""
import csv
import re
import statistics as st
import sys

if len(sys.argv) != 6:
    sys.exit(__doc__)
dbg, log, a, b, W = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
L=[l for l in open(dbg) if l.startswith('DBG')]
rows=list(csv.DictReader(open(log)))
print("| iterations | env steps (end) | return (end) | CFM loss at theta_old, median | pairs above 10 per update (of 8192) | transitions with mean pair loss above 5 (of 1024) | largest per-pair loss, median / max | its t, mean | of the pairs above 10: t mean, at the bound, A > 0 |")
print("|---|---|---|---|---|---|---|---|---|")
for i in range(a, min(b, len(L)), W):
    w=L[i:i+W]; r=rows[i:i+W]
    g=lambda key: [float(re.search(key+r' (-?[\d.]+)',l).group(1)) for l in w]
    tt=[float(re.search(r'top [\d.]+ t ([\d.]+)',l).group(1)) for l in w]
    n10=g('n10')
    wsum=sum(n10) or 1
    tm=sum(x*y for x,y in zip(g(' t'),n10))/wsum; bd=sum(x*y for x,y in zip(g('bound'),n10))/wsum; ap=sum(x*y for x,y in zip(g('advpos'),n10))/wsum
    ret=float(r[-1]['mean_return'])
    print(f"| {i+1}-{i+len(w)} | {int(r[-1]['env_steps'])/1e6:.2f}M | {ret:.0f} | {st.median(float(x['cfm_loss_old']) for x in r):.3f} | {st.mean(n10):.1f} | {st.mean(g('tr5')):.1f} | {st.median(g('top')):.0f} / {max(g('top')):.0f} | {st.mean(tt):.2f} | {tm:.2f}, {bd:.2f}, {ap:.2f} |")
