"""Speed of hepatostat against R metafor, side by side in one run.

    python benchmarks/run.py [--repeats 3] [--analyses 5000]

Each case runs the whole process (start-up included) of hepatostat's command
line and of an ``Rscript`` doing the same with metafor, ``--repeats`` times
each, alternating, and reports the medians and their ratio as a markdown
table. For the 5,000-analysis case it also checks that every estimate, SE
and tau² agrees with metafor to 1e-4. Needs R with metafor on the PATH
(Debian: ``apt-get install r-base-core r-cran-metafor``). Benchmarks are not
tests: nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
R_SCRIPT = HERE / "metafor_bench.R"
HEPATOSTAT = [sys.executable, "-m", "hepatostat"]


def make_per_table(n_analyses: int, seed: int = 1) -> pd.DataFrame:
    """Synthetic continuous outcomes: n_analyses meta-analyses of k = 5..30 studies."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_analyses):
        k = int(rng.integers(5, 31))
        delta, tau = rng.normal(0, 0.4), abs(rng.normal(0, 0.3))
        for i in range(k):
            n1, n2 = (int(x) for x in rng.integers(10, 120, size=2))
            sd1, sd2 = rng.uniform(0.7, 1.3, size=2)
            d = delta + rng.normal(0, tau)
            rows.append((f"A{a:05d}", f"s{i:02d}", round(d + rng.normal(0, 1 / np.sqrt(n1)), 4), round(sd1, 4), n1,
                         round(rng.normal(0, 1 / np.sqrt(n2)), 4), round(sd2, 4), n2))
    return pd.DataFrame(rows, columns=["analysis", "study", "m1", "sd1", "n1", "m2", "sd2", "n2"])


def make_gen_table(n_analyses: int, n_hard: int, seed: int = 1) -> pd.DataFrame:
    """Generic yi/vi: (n_analyses - n_hard) realistic analyses (k = 5-30) plus n_hard adversarial ones
    (k = 2-3, tau² at or near 0, variance ratios of 1e6, identical effects; see meta_adversarial.py)."""
    sys.path.insert(0, str(HERE))
    from meta_adversarial import generate

    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_analyses - n_hard):
        k = int(rng.integers(5, 31))
        vi = 4 / rng.integers(20, 240, k) + 0.01
        yi = rng.normal(rng.normal(0, 0.4), np.sqrt(vi + rng.normal(0, 0.3) ** 2))
        rows += [(f"A{a:05d}", f"s{i:02d}", y, v) for i, (y, v) in enumerate(zip(yi, vi))]
    y, v, mask, _ = generate(n_hard, seed)
    for j in range(n_hard):
        a = n_analyses - n_hard + j
        rows += [(f"A{a:05d}", f"s{i:02d}", yy, vv) for i, (yy, vv) in enumerate(zip(y[j][mask[j]], v[j][mask[j]]))]
    return pd.DataFrame(rows, columns=["analysis", "study", "yi", "vi"])


PY_KERNEL = """
import sys, time
import numpy as np, pandas as pd
from hepatostat.meta.kernel import fit
d = pd.read_csv(sys.argv[1])
groups = [g for _, g in d.groupby("analysis", sort=False)]
kmax = max(len(g) for g in groups)
y, v, mask = np.zeros((len(groups), kmax)), np.ones((len(groups), kmax)), np.zeros((len(groups), kmax), bool)
for i, g in enumerate(groups):
    n = len(g); y[i, :n], v[i, :n], mask[i, :n] = g["yi"], g["vi"], True
best = {}
for q in (False, True):
    ts = []
    for _ in range(5):
        t0 = time.perf_counter(); f = fit(y, v, mask, method="REML", qprofile=q); ts.append(time.perf_counter() - t0)
    best[q] = min(ts)
    assert (f.status == "ok").all()
print("ELAPSED", best[False])
print("PERFIT", 1e6 * best[False] / len(groups), 1e6 * best[True] / len(groups))
"""


#: environment of the hepatostat processes (set in main): Python's bytecode cache on, as after an ordinary
#: install (pip compiles the modules; an editable install writes __pycache__ on first use), kept in the run's
#: temporary folder. PYTHONDONTWRITEBYTECODE=1 in the caller's environment would make every process compile
#: hepatostat's modules from source again; --no-bytecode-cache measures that case.
ENV = None


def timed(cmd, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"command failed: {' '.join(map(str, cmd))}\n{proc.stderr[-2000:]}")
    return statistics.median(times)


def pair(name, ours, peer, repeats, rows):
    t_ours, t_peer = [], []
    timed(ours, 1)  # warm-up: the bytecode cache and the file system cache, not timed
    for _ in range(repeats):  # alternate so drift hits both
        t_ours.append(timed(ours, 1))
        t_peer.append(timed(peer, 1))
    mo, mp = statistics.median(t_ours), statistics.median(t_peer)
    rows.append((name, mo, mp, mp / mo, min(t_ours), max(t_ours)))
    print(f"  {name}: hepatostat {mo:.3f} s ({min(t_ours):.3f}-{max(t_ours):.3f}), metafor {mp:.3f} s "
          f"({min(t_peer):.3f}-{max(t_peer):.3f}), ratio {mp / mo:.1f}x", file=sys.stderr)


PY_PERM = """
import sys, time
import pandas as pd
from hepatostat import meta
from hepatostat.meta.regression import meta_regression, permutation_test
es = meta.effects(pd.read_csv(sys.argv[1]), "RR")
model = meta_regression(es, ["ablat"], method="REML")
t0 = time.perf_counter()
permutation_test(model, iterations=int(sys.argv[2]), seed=1)
print("ELAPSED", time.perf_counter() - t0)
"""


def elapsed(cmd):
    """The ELAPSED seconds a command prints about its own computation."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    if proc.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(map(str, cmd))}\n{proc.stderr[-2000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("ELAPSED")][-1]
    return float(line.split()[1])


def compute_pair(name, ours, peer, repeats, rows):
    t_ours, t_peer = [], []
    for _ in range(repeats):
        t_ours.append(elapsed(ours))
        t_peer.append(elapsed(peer))
    mo, mp = statistics.median(t_ours), statistics.median(t_peer)
    rows.append((name, mo, mp, mp / mo, min(t_ours), max(t_ours)))
    print(f"  {name}: hepatostat {mo:.3f} s, metafor {mp:.3f} s, ratio {mp / mo:.1f}x", file=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--analyses", type=int, default=5000)
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--hard", type=int, default=1000, help="adversarial analyses among --analyses")
    ap.add_argument("--no-bytecode-cache", action="store_true",
                    help="run hepatostat with PYTHONDONTWRITEBYTECODE=1 (every process compiles its modules)")
    args = ap.parse_args(argv)
    if shutil.which("Rscript") is None:
        raise SystemExit("Rscript not found: install R and metafor to run the side-by-side benchmarks")
    tmp = Path(tempfile.mkdtemp(prefix="hepatostat-bench-"))
    global ENV
    ENV = dict(os.environ)
    if args.no_bytecode_cache:
        ENV["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        ENV["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    rows = []
    load_before = os.getloadavg()[0]
    data = make_gen_table(args.analyses, args.hard)
    per_csv = tmp / "per.csv"
    data.to_csv(per_csv, index=False, float_format="%.17g")
    print(f"{args.analyses} analyses ({args.hard} adversarial), {len(data)} study rows", file=sys.stderr)

    # 1. many independent REML analyses, hard ones included
    ours_out, peer_out = tmp / "ours.csv", tmp / "metafor.csv"
    ours = ["sh", "-c", " ".join(HEPATOSTAT + ["meta", "pool", str(per_csv), "--measure", "GEN", "--method", "REML",
                                               "--per", "analysis", "--format", "csv"]) + f" > {ours_out}"]
    peer = ["Rscript", str(R_SCRIPT), "pergen", str(per_csv), str(peer_out)]
    pair(f"{args.analyses:,} REML meta-analyses incl. {args.hard:,} adversarial (--per)", ours, peer, args.repeats, rows)
    a = pd.read_csv(ours_out).set_index("analysis")
    b = pd.read_csv(peer_out).set_index("analysis")
    b = b[b["status"] == "ok"]
    n_fail_ours = int((a["status"] != "ok").sum())
    cols = ["estimate", "se", "tau2"]
    d = np.abs(a.loc[b.index, cols].to_numpy() - b[cols].to_numpy()) / np.maximum(1, np.abs(b[cols].to_numpy()))
    diff = float(np.max(d))
    agree = int(np.sum(np.all(d <= 1e-6, axis=1)))
    agree4 = int(np.sum(np.all(d <= 1e-3, axis=1)))

    # 1b. the kernel in-process (no start-up, no file reading)
    proc = subprocess.run([sys.executable, "-c", PY_KERNEL, str(per_csv)], capture_output=True, text=True, env=ENV)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    perfit = [float(x) for x in proc.stdout.split("PERFIT")[1].split()]
    r_elapsed = [float(ln.split()[0]) for ln in peer_out.with_suffix(".time").read_text().splitlines()]

    # 2. one small analysis, start-up included
    small = tmp / "small.csv"
    data[data["analysis"] == "A00000"].to_csv(small, index=False)
    pair("one small analysis (start-up included)", HEPATOSTAT + ["meta", "pool", str(small), "--measure", "GEN"],
         ["Rscript", str(R_SCRIPT), "onegen", str(small)], args.repeats, rows)

    # 3. permutation test of a meta-regression
    from hepatostat import datasets

    bcg = tmp / "bcg.csv"
    datasets.load("bcg").to_csv(bcg, index=False)
    pair(f"permutation test, {args.iterations} iterations (bcg ~ ablat, REML)",
         HEPATOSTAT + ["meta", "regress", str(bcg), "--measure", "RR", "--mods", "ablat", "--permutations",
                       str(args.iterations), "--seed", "1"],
         ["Rscript", str(R_SCRIPT), "perm", str(bcg), str(args.iterations)], args.repeats, rows)

    compute_pair(f"permutation test, {args.iterations} iterations, computation only (in-process timers)",
                 [sys.executable, "-c", PY_PERM, str(bcg), str(args.iterations)],
                 ["Rscript", str(R_SCRIPT), "perm", str(bcg), str(args.iterations)], args.repeats, rows)

    # 4. leave-one-out and influence
    pair("leave-one-out + influence (bcg, REML; one process each)",
         HEPATOSTAT + ["meta", "analyse", str(bcg), "--measure", "RR", "--influence", "--no-bias"],
         ["Rscript", str(R_SCRIPT), "loo", str(bcg)], args.repeats, rows)

    print("| case | hepatostat (s) | hepatostat range (s) | metafor (s) | metafor / hepatostat |")
    print("|---|---:|---:|---:|---:|")
    for name, mo, mp, ratio, lo, hi in rows:
        print(f"| {name} | {mo:.3f} | {lo:.3f}-{hi:.3f} | {mp:.3f} | {ratio:.1f}x |")
    print()
    print(f"Agreement ({args.analyses:,} analyses, metafor's default threshold 1e-5 with stepadj 0.5): "
          f"{agree4} of {len(b)} agree to 1e-3 and {agree} to 1e-6 (relative above 1) in estimate, SE and tau²; "
          f"largest difference {diff:.2e}; metafor could not fit {args.analyses - len(b)}, hepatostat {n_fail_ours}. "
          "Agreement to 1e-6 with tight control: benchmarks/meta_adversarial.py.")
    print(f"Kernel in-process: {perfit[0]:.1f} µs per REML fit ({perfit[1]:.1f} µs with Q-profile CIs); "
          f"metafor's loop in-process: {1e6 * min(r_elapsed) / args.analyses:.0f} µs per rma() fit.")
    print(f"Median of {args.repeats} runs each, alternating; whole processes (start-up included) unless the case "
          f"says in-process timers; {sys.platform}, Python {sys.version.split()[0]}; hepatostat "
          + ("without a bytecode cache (PYTHONDONTWRITEBYTECODE=1)." if args.no_bytecode_cache
             else "with Python's bytecode cache, as after an ordinary install (one untimed warm-up run)."))
    print(f"{os.cpu_count()} cores; load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after.")


if __name__ == "__main__":
    main()
