"""Choosing the prioritisation model without tuning on the data set it is judged on.

A fixed list of candidate models (:class:`hepatostat.review.prioritise.ModelSpec`)
is simulated on every data set with the *selection seeds* (the starting
records drawn as ``review simulate --seed`` draws them); each run stops once
95% of the included records are found (all WSS@95 needs). Then, leave one
data set out: for each data set, the candidate that is best on the *other*
data sets is chosen (fewest data sets more than 0.03 below ASReview's WSS@95
with the same seed, then the highest mean difference to ASReview), and the
held-out data set is scored with that choice. A candidate would replace
:data:`~hepatostat.review.prioritise.DEFAULT_SPEC` only if its held-out results
beat the current model's, and would then be confirmed with seeds no choice used
(2026-11-29: none did; see README.md).

    python benchmarks/screening/model_selection.py --data DIR --seeds 1 --out model_selection.json
    python benchmarks/screening/model_selection.py --data DIR --out model_selection.json --report

ASReview's WSS@95 for the same data sets and seeds is read from the cache that
``asreview_bench.py --asreview-only`` fills (``asreview_runs.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter
from pathlib import Path

import numpy as np

from hepatostat.review.prioritise import ELAS_U4, ModelSpec, Ranker, draw_priors, read_labelled

CANDIDATES = {
    "base": ModelSpec(),
    "C0.1": ModelSpec(classifiers=(("svm", 0.1),)),
    "w3": ModelSpec(include_weight=3.0),
    "plain-feats": ModelSpec(stop_words=False, title_twice=False, min_df=1, max_df=0.95),
    "svm+nb": ModelSpec(classifiers=(("svm", 0.5), ("nb", 1.0))),
    "svm+lr": ModelSpec(classifiers=(("svm", 0.5), ("lr", 10.0))),
    "char": ModelSpec(char=(3, 5)),
    "w10": ModelSpec(include_weight=10.0),
    "C0.1-w3": ModelSpec(classifiers=(("svm", 0.1),), include_weight=3.0),
    "plain-w3": ModelSpec(stop_words=False, title_twice=False, min_df=1, max_df=0.95, include_weight=3.0),
    # second round, added after the first round's seed-1 results (char n-grams stood out)
    "char-C0.1": ModelSpec(char=(3, 5), classifiers=(("svm", 0.1),)),
    "char-plain": ModelSpec(char=(3, 5), stop_words=False, title_twice=False, min_df=1, max_df=0.95),
    "char4": ModelSpec(char=(4, 4)),
    "stem6": ModelSpec(stem=6),
    "stem5": ModelSpec(stem=5),
    # third round (2026-11-29, after all of the above): the configuration ASReview LAB 2+ publishes as its
    # default ELAS u4 (asreview/models/models.py: TF-IDF word 1-2 grams, sublinear tf, min_df 1, max_df 0.95,
    # no stop words; linear SVM C = 0.11; "balanced" sample weights with ratio 9.8, i.e. the included class
    # weighted 9.8 times its balanced weight), written with hepatostat's own Ranker
    "elas-u4": ELAS_U4,
}


def wss95_run(ranker: Ranker, y: np.ndarray, seed: int) -> tuple[float, int]:
    """WSS@95 of the simulation, stopped once ceil(0.95 k) inclusions are found."""
    N, k = len(y), int(y.sum())
    need = math.ceil(round(0.95 * k, 9))
    order = list(draw_priors(y, seed))
    screened = np.zeros(N, dtype=bool)
    screened[order] = True
    found = int(y[order].sum())
    while found < need:
        lab = np.asarray(order)
        s = ranker.scores(lab, y[lab])
        nxt = int(np.argmax(np.where(screened, -np.inf, s)))
        order.append(nxt)
        screened[nxt] = True
        found += int(y[nxt])
    return (N - len(order)) / N - 0.05, len(order)


def select(rows, asr, names):
    """Leave-one-data-set-out choice; returns {held-out set: chosen candidate}."""
    sets = sorted({r["dataset"] for r in rows})
    diff = {}  # (cand, set) -> mean over seeds of (hepatostat - ASReview)
    for c in names:
        for d in sets:
            ds = [r["wss95"] - asr[(d, r["seed"])] for r in rows if r["candidate"] == c and r["dataset"] == d
                  and (d, r["seed"]) in asr]
            if ds:
                diff[(c, d)] = float(np.mean(ds))
    # only data sets on which every candidate ran (a candidate dropped for time is left out by --candidates)
    sets = [d for d in sets if all((c, d) in diff for c in names)]
    chosen = {}
    for held in sets:
        best = None
        for c in names:
            train = [diff[(c, d)] for d in sets if d != held and (c, d) in diff]
            if len(train) < len(sets) - 1:
                continue
            key = (-sum(x < -0.03 for x in train), float(np.mean(train)))
            if best is None or key > best[0]:
                best = (key, c)
        if best:
            chosen[held] = best[1]
    return chosen, diff


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--candidates", default=",".join(CANDIDATES))
    ap.add_argument("--datasets", default=None)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/screening/model_selection.json"))
    ap.add_argument("--asreview-cache", type=Path, default=Path("benchmarks/screening/asreview_runs.json"))
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args()
    rows = json.loads(a.out.read_text()) if a.out.exists() else []
    names = a.candidates.split(",")
    if not a.report:
        done = {(r["candidate"], r["dataset"], r["seed"]) for r in rows}
        files = sorted(a.data.glob("*.csv"), key=lambda p: p.stat().st_size)
        if a.datasets:
            files = [f for f in files if f.stem in a.datasets.split(",")]
        for f in files:
            t, ab, y = read_labelled(f)
            y = np.asarray(y)
            for c in names:
                ranker = None
                for seed in map(int, a.seeds.split(",")):
                    if (c, f.stem, seed) in done:
                        continue
                    t0 = time.perf_counter()
                    ranker = ranker or Ranker(t, ab, CANDIDATES[c])
                    w, n = wss95_run(ranker, y, seed)
                    rows.append({"candidate": c, "dataset": f.stem, "seed": seed, "wss95": w, "screened": n,
                                 "seconds": round(time.perf_counter() - t0, 1)})
                    a.out.write_text(json.dumps(rows, indent=0))
                    print(f"{f.stem} {c} seed {seed}: {w:.3f} ({rows[-1]['seconds']} s)", flush=True)
    asr = {(r["dataset"], r["seed"]): r["wss95"] for r in json.loads(a.asreview_cache.read_text())}
    chosen, diff = select(rows, asr, names)
    sets = sorted({d for (_, d) in diff})
    print(f"Leave-one-out over the {len(chosen)} data sets on which every candidate ran.\n")
    print("| data set | " + " | ".join(names) + " | chosen without it |")
    print("|---|" + "---:|" * len(names) + "---|")
    for d in sets:
        print(f"| {d} | " + " | ".join(f"{diff[(c, d)]:+.3f}" if (c, d) in diff else "" for c in names)
              + f" | {chosen.get(d, '')} |")
    complete = sorted(chosen)
    means = [np.mean([diff[(c, d)] for d in complete]) if complete else math.nan for c in names]
    worse = [sum(diff[(c, d)] < -0.03 for d in complete) for c in names]
    print(f"| mean difference ({len(complete)} sets) | " + " | ".join(f"{m:+.3f}" for m in means) + " | |")
    print(f"| sets worse by > 0.03 ({len(complete)} sets) | " + " | ".join(map(str, worse)) + " | |")
    held = [diff[(chosen[d], d)] for d in sets if d in chosen and (chosen[d], d) in diff]
    if held:
        print(f"\nLeave-one-data-set-out: choices {dict(Counter(chosen.values()))}; held-out mean difference "
              f"{np.mean(held):+.3f}, held-out sets worse by > 0.03: {sum(x < -0.03 for x in held)}")


if __name__ == "__main__":
    main()
