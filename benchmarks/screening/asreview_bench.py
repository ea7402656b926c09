"""Prioritised screening: hepatostat's model against ASReview LAB's default
model, side by side in one run, on public labelled screening sets.

For each data set and seed, both tools start from the same two records (one
included, one excluded, drawn as ``hepatostat review simulate --seed`` draws
them), retrain after every label and screen the top-ranked record next.
Both screening orders are scored by the same functions
(:func:`hepatostat.review.prioritise.wss`, :func:`~.rrf`) on the full order
(the two starting records included).

ASReview LAB must be installed in its own environment (never in hepatostat's):

    python -m venv /tmp/asr-venv && /tmp/asr-venv/bin/pip install asreview
    python benchmarks/screening/asreview_bench.py --data /path/to/synergy_csvs \
        --asreview /tmp/asr-venv/bin/asreview --seeds 1 --out benchmarks/screening/results.json

Data: CSV files with doi, title, abstract, label_included, as the SYNERGY
data set's tooling writes them (De Bruin et al. 2023, SYNERGY - Open machine
learning dataset on study selection in systematic reviews, DataverseNL,
doi:10.34894/HE6NAQ). ASReview's default model in version 2-3 is "ELAS u4"
(TF-IDF + linear SVM + balanced sample weights, maximum querier).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from hepatostat.review.prioritise import Ranker, draw_priors, read_labelled, rrf, simulate, wss


def asreview_order(exe: str, csv: Path, priors, seed: int, workdir: Path) -> tuple[list[int], float, str]:
    out = workdir / f"{csv.stem}_{seed}.asreview"
    t0 = time.perf_counter()
    proc = subprocess.run([exe, "simulate", str(csv), "--prior-idx", *map(str, priors), "--seed", str(seed),
                           "-o", str(out)], capture_output=True, text=True, cwd=workdir)
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    with zipfile.ZipFile(out) as z:
        z.extract("results.db", workdir / out.stem)
    con = sqlite3.connect(workdir / out.stem / "results.db")
    row_of = dict(con.execute("SELECT record_id, dataset_row FROM record").fetchall())
    seq = [row_of[r] for (r,) in con.execute("SELECT record_id FROM results ORDER BY time, rowid").fetchall()]
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    return seq, secs, version


def ours_model():
    from hepatostat.review.prioritise import DEFAULT_SPEC

    return DEFAULT_SPEC


def complete(order, n):
    seen = set(order)
    return list(order) + [i for i in range(n) if i not in seen]


def metrics(order, y):
    ol = np.asarray(y)[np.asarray(order)]
    return {"wss95": wss(ol, 0.95), "wss100": wss(ol, 1.0), "rrf10": rrf(ol, 10)}


def report(results, seeds=None) -> str:
    """A Markdown table of the results (one row per data set and seed), the
    per-data-set means over seeds and the issue's bar (mean WSS@95 at least
    ASReview's, no data set worse by more than 0.03)."""
    if seeds is not None:
        results = [r for r in results if r["seed"] in seeds]
    lines = ["| data set | records | included | seed | WSS@95 hepatostat | WSS@95 ASReview | difference | "
             "WSS@100 h / A | RRF@10 h / A | seconds h / A |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(results, key=lambda r: (r["n_records"], r["dataset"], r["seed"])):
        h, a = r["hepatostat"], r["asreview"]
        lines.append(f"| {r['dataset']} | {r['n_records']} | {r['n_included']} | {r['seed']} | {h['wss95']:.3f} | "
                     f"{a['wss95']:.3f} | {h['wss95'] - a['wss95']:+.3f} | {h['wss100']:.3f} / {a['wss100']:.3f} | "
                     f"{h['rrf10']:.3f} / {a['rrf10']:.3f} | {h['seconds']:.0f} / {a['seconds']:.0f} |")
    if not results:
        return "\n".join(lines)
    by: dict[str, list] = {}
    for r in results:
        by.setdefault(r["dataset"], []).append(r)
    lines += ["", "| data set | seeds | mean WSS@95 hepatostat | mean WSS@95 ASReview | difference |",
              "|---|---|---:|---:|---:|"]
    diffs = {}
    for d, rs in sorted(by.items(), key=lambda kv: kv[1][0]["n_records"]):
        mh = float(np.mean([r["hepatostat"]["wss95"] for r in rs]))
        ma = float(np.mean([r["asreview"]["wss95"] for r in rs]))
        diffs[d] = (mh, ma)
        lines.append(f"| {d} | {','.join(str(r['seed']) for r in sorted(rs, key=lambda r: r['seed']))} | "
                     f"{mh:.3f} | {ma:.3f} | {mh - ma:+.3f} |")
    mh = float(np.mean([v[0] for v in diffs.values()]))
    ma = float(np.mean([v[1] for v in diffs.values()]))
    worse = {d: v[0] - v[1] for d, v in diffs.items() if v[0] - v[1] < -0.03}
    lines.append(f"\nPer data set (mean over its seeds), {len(diffs)} sets, {len(results)} runs: mean WSS@95 "
                 f"hepatostat {mh:.3f}, ASReview {ma:.3f}. Bar: mean at least ASReview's: "
                 f"{'met' if mh >= ma else 'NOT met'}; no data set worse by more than 0.03: "
                 + ("met" if not worse else "NOT met (" + ", ".join(f"{d} {x:+.3f}" for d, x in worse.items()) + ")")
                 + ".")
    return "\n".join(lines)


def load_cache(path: Path) -> dict:
    """ASReview's runs by (data set, seed): its order does not depend on hepatostat's model, so a
    run is kept (order, metrics, seconds, version) and reused when the same priors come up again."""
    if not path.exists():
        return {}
    return {(r["dataset"], r["seed"]): r for r in json.loads(path.read_text())}


def save_cache(path: Path, cache: dict) -> None:
    rows = sorted(cache.values(), key=lambda r: (r["dataset"], r["seed"]))
    path.write_text("[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]\n")  # one run per line


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", action="store_true", help="print the Markdown table of --out and stop")
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--datasets", default=None, help="comma-separated stems (default: every CSV, smallest first)")
    ap.add_argument("--asreview", default="/tmp/asr-venv/bin/asreview")
    ap.add_argument("--asreview-cache", type=Path, default=Path("benchmarks/screening/asreview_runs.json"),
                    help="ASReview's runs (order and metrics) by data set and seed, reused when present")
    ap.add_argument("--asreview-only", action="store_true", help="only fill the ASReview cache")
    ap.add_argument("--seeds", default=None, help="comma-separated seeds (default 1; with --report: every seed)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/screening/results.json"))
    ap.add_argument("--model", default=None, help="a candidate of model_selection.py instead of the default model")
    a = ap.parse_args()
    spec = None
    if a.model:
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from model_selection import CANDIDATES

        spec = CANDIDATES[a.model]
    if a.report:
        print(report(json.loads(a.out.read_text()), set(map(int, a.seeds.split(","))) if a.seeds else None))
        return
    files = sorted(a.data.glob("*.csv"), key=lambda p: p.stat().st_size)
    if a.datasets:
        want = a.datasets.split(",")
        files = [f for f in files if f.stem in want]
    cache = load_cache(a.asreview_cache)
    results = [] if a.asreview_only or not a.out.exists() else json.loads(a.out.read_text())
    done = {(r["dataset"], r["seed"]) for r in results}
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            t, ab, y = read_labelled(f)
            ranker = None
            for seed in map(int, (a.seeds or "1").split(",")):
                priors = list(draw_priors(y, seed))
                asr = cache.get((f.stem, seed))
                if asr is None or asr["priors"] != priors:
                    order, asr_s, version = asreview_order(a.asreview, f, priors, seed, Path(tmp))
                    assert order[:2] == priors, (order[:2], priors)
                    asr = {"dataset": f.stem, "seed": seed, "priors": priors, "order": order,
                           **metrics(complete(order, len(y)), y), "seconds": asr_s, "version": version,
                           "model": "elas_u4", "run": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
                    cache[(f.stem, seed)] = asr
                    save_cache(a.asreview_cache, cache)
                    print(f"{f.stem} seed {seed}: ASReview WSS@95 {asr['wss95']:.3f} ({asr_s:.0f} s)", flush=True)
                if a.asreview_only or (f.stem, seed) in done:
                    continue
                t0 = time.perf_counter()
                ranker = ranker or Ranker(t, ab, spec)
                ours = simulate(t, ab, y, seed=seed, ranker=ranker)
                ours_s = time.perf_counter() - t0
                assert list(ours.priors) == priors
                row = {"dataset": f.stem, "seed": seed, "n_records": len(y), "n_included": int(sum(y)),
                       "priors": priors, "hepatostat": {**metrics(ours.order, y), "seconds": ours_s,
                                                        "model": (spec or ours_model()).describe()},
                       "asreview": {k: asr[k] for k in ("wss95", "wss100", "rrf10", "seconds", "version",
                                                        "model", "run") if k in asr}}
                results.append(row)
                a.out.write_text(json.dumps(results, indent=1))
                print(f"{f.stem} seed {seed}: WSS@95 hepatostat {row['hepatostat']['wss95']:.3f} "
                      f"asreview {row['asreview']['wss95']:.3f} ({ours_s:.0f} s / {asr['seconds']:.0f} s)",
                      flush=True)


if __name__ == "__main__":
    main()
