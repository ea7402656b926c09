"""Time of one retrain of the screening model at 50,000 records.

Builds 50,000 records by cycling the titles and abstracts of the labelled
sets in --data (with a suffix so no two texts are equal), fits the TF-IDF
index once, then times refitting the classifier and re-scoring all records
with 100, 1,000 and 5,000 labelled records — the work done after each
decision in the workbench and in the simulation.

    python benchmarks/screening/retrain_timing.py --data DIR --n 50000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from hepatostat.review.prioritise import Ranker, read_labelled


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--n", type=int, default=50000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--labelled", default="100,1000,5000")
    a = ap.parse_args()
    titles, abstracts, labels = [], [], []
    for f in sorted(a.data.glob("*.csv")):
        t, ab, y = read_labelled(f)
        titles += t
        abstracts += ab
        labels += y
    reps = -(-a.n // len(titles))
    T = [f"{t} r{k}" for k in range(reps) for t in titles][: a.n]
    A = (abstracts * reps)[: a.n]
    Y = np.asarray((labels * reps)[: a.n])
    t0, c0 = time.perf_counter(), time.process_time()
    r = Ranker(T, A)
    index_s = time.perf_counter() - t0
    index_cpu = time.process_time() - c0
    out = {"n_records": a.n, "features": int(r.X.shape[1]), "tfidf_index_seconds": round(index_s, 2),
           "tfidf_index_cpu_seconds": round(index_cpu, 2), "retrain": []}
    rng = np.random.default_rng(0)
    for m in map(int, a.labelled.split(",")):
        pos = rng.choice(np.flatnonzero(Y == 1), min(m // 10, int(Y.sum())), replace=False)
        neg = rng.choice(np.flatnonzero(Y == 0), m - len(pos), replace=False)
        idx = np.r_[pos, neg]
        times, cpu = [], []
        for _ in range(a.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            s = r.scores(idx, Y[idx])
            order = np.argsort(-s)  # the queue order
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        out["retrain"].append({"labelled": m, "seconds_median": round(float(np.median(times)), 3),
                               "seconds_max": round(max(times), 3),
                               "cpu_seconds_median": round(float(np.median(cpu)), 3), "queue_len": int(len(order))})
        print(json.dumps(out["retrain"][-1]), flush=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
