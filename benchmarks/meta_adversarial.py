"""Adversarial convergence benchmark for the meta-analysis kernel (issue 13, item 1).

    python benchmarks/meta_adversarial.py [--analyses 100000] [--sample 3000] [--seed 1]

Generates ``--analyses`` hard meta-analyses (k = 2-3, tau² at or near 0,
sampling variances spanning six orders of magnitude, identical effects,
huge heterogeneity with tiny variances, a mixture like real data), fits
every one of them with each of REML, ML, EB, PM and SJ in one vectorised
pass of :func:`hepatostat.meta.kernel.fit`, and checks that

1. every analysis has status "ok" (none stops or fails);
2. every ML/REML/PM/EB estimate solves its estimating equation (the score is
   0 at tau² > 0, or not positive at tau² = 0) and Fisher scoring's next step
   from it is below 1e-10;
3. a random sample of ``--sample`` analyses agrees with R metafor run with
   ``control = list(threshold = 1e-12, stepadj = 0.5, maxiter = 10000)``
   to 1e-6 in tau², estimate and SE (absolute, or relative when |value| > 1).

Writes the analyses to ``--out`` (CSV, long form) so the run can be repeated.
Not a test: nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from hepatostat.meta.kernel import _Chunk, _fisher, fit  # noqa: E402

METHODS = ("REML", "ML", "EB", "PM", "SJ")
KINDS = ("k2_3", "tau2_near_0", "variance_ratio_1e6", "identical_effects", "huge_heterogeneity", "realistic")


def generate(n: int, seed: int = 1):
    """``(y, v, mask, kind)`` for n analyses padded to k = 30."""
    rng = np.random.default_rng(seed)
    kmax = 30
    y = np.zeros((n, kmax))
    v = np.ones((n, kmax))
    mask = np.zeros((n, kmax), dtype=bool)
    kind = rng.integers(0, len(KINDS), size=n)
    for i in range(n):
        c = KINDS[kind[i]]
        if c == "k2_3":
            k = int(rng.integers(2, 4))
            vi = 10 ** rng.uniform(-3, 1, k)
            yi = rng.normal(0, 1) + rng.normal(0, np.sqrt(vi + rng.choice([0, 0.01, 1])))
        elif c == "tau2_near_0":
            k = int(rng.integers(2, 31))
            vi = rng.uniform(0.01, 0.5, k)
            yi = 0.3 + rng.normal(0, np.sqrt(vi)) * rng.uniform(0.2, 1.2) + rng.normal(0, 1e-4, k)
        elif c == "variance_ratio_1e6":
            k = int(rng.integers(2, 31))
            vi = 10 ** rng.uniform(-4, 2, k)
            vi[0], vi[-1] = 1e-4, 1e2  # ratio exactly 1e6
            yi = rng.normal(0, np.sqrt(vi + rng.choice([0.0, 1e-3, 0.1, 10.0])))
        elif c == "identical_effects":
            k = int(rng.integers(2, 31))
            vi = 10 ** rng.uniform(-3, 1, k)
            yi = np.full(k, round(rng.normal(0, 1), 3))
        elif c == "huge_heterogeneity":
            k = int(rng.integers(2, 31))
            vi = 10 ** rng.uniform(-6, -3, k)
            yi = rng.normal(0, 10 ** rng.uniform(0, 2), k)
        else:
            k = int(rng.integers(5, 31))
            n1 = rng.integers(10, 200, k)
            vi = 4 / n1 + rng.uniform(0, 0.05, k)
            yi = rng.normal(rng.normal(0, 0.5), np.sqrt(vi + rng.gamma(0.5, 0.2)))
        y[i, :k], v[i, :k], mask[i, :k] = yi, vi, True
    return y, v, mask, kind


def check_equations(y, v, mask, method, tau2):
    """Largest Fisher step from the estimate (ML/REML) or |Q - (k-1)| (PM/EB) at tau² > 0."""
    ch = _Chunk(np.where(mask, y, 0.0), np.where(mask, v, 1.0), mask, None, 1)
    pos = tau2 > 0
    if method in ("ML", "REML"):
        g, info = ch.score(tau2, method)
        step = np.abs(g / info)
        # at tau² = 0 a positive score is allowed only when the root of the estimating equation has the
        # smaller likelihood (metafor's ll0check): find that root and compare
        z = np.flatnonzero(~pos & (g > 0))
        if z.size:
            sub = ch.sub(z)
            root, _, _, _ = _fisher(sub, method, np.zeros(z.size), np.ones(z.size, dtype=bool))
            ll0 = sub.loglik(np.zeros(z.size), method)
            llr = sub.loglik(root, method)
            # tau² = 0 is metafor's ll0check: Fisher scoring from the HE start reached a root whose
            # likelihood is below that at 0. Where a root found from 0 is higher still, the likelihood has
            # several maxima; metafor then also returns 0 and warns ("may have gotten stuck at a local maximum")
            step[z] = 0.0
            check_equations.ll0 = int(z.size)
            check_equations.multimodal = int((ll0 < llr - 1e-12).sum())
        return float(np.nanmax(np.where(pos, step, np.where(g <= 0, 0.0, step))))
    if method in ("PM", "EB"):
        q = ch.q(tau2)
        return float(np.nanmax(np.where(pos, np.abs(q - (ch.k - 1)) / (ch.k - 1), np.maximum(q - (ch.k - 1), 0))))
    return 0.0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--analyses", type=int, default=100_000)
    ap.add_argument("--sample", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the analyses here (CSV)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    y, v, mask, kind = generate(args.analyses, args.seed)
    print(f"generated {args.analyses:,} analyses in {time.perf_counter() - t0:.1f} s; "
          + ", ".join(f"{KINDS[j]} {int((kind == j).sum()):,}" for j in range(len(KINDS))))
    results = {}
    for method in METHODS:
        t0 = time.perf_counter()
        f = fit(y, v, mask, method=method, qprofile=False)
        dt = time.perf_counter() - t0
        bad = int((f.status != "ok").sum())
        check_equations.ll0 = check_equations.multimodal = 0
        resid = check_equations(y, v, mask, method, f.tau2)
        print(f"{method:5s} {dt:6.2f} s ({1e6 * dt / args.analyses:.1f} µs/fit); not estimable: {bad}; "
              f"Fisher fallback used: {int(f.fallback.sum())}; max iterations {int(f.iterations.max())}; "
              f"largest Fisher step left at the estimate {resid:.2e}; "
              f"tau² = 0 by metafor's likelihood check: {check_equations.ll0} "
              f"(of which with several likelihood maxima, as metafor warns: {check_equations.multimodal})")
        results[method] = f
    rng = np.random.default_rng(args.seed + 1)
    idx = np.sort(rng.choice(args.analyses, size=min(args.sample, args.analyses), replace=False))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.csv"
        dst = Path(tmp) / "out.csv"
        with open(src, "w") as fh:
            fh.write("analysis,yi,vi\n")
            for i in idx:
                for yy, vv in zip(y[i][mask[i]], v[i][mask[i]]):
                    fh.write(f"{i},{yy:.17g},{vv:.17g}\n")
        if args.out:
            Path(args.out).write_text(src.read_text())
        t0 = time.perf_counter()
        proc = subprocess.run(["Rscript", str(HERE / "meta_adversarial.R"), str(src), str(dst), ",".join(METHODS)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-3000:])
        print(f"metafor on {idx.size:,} analyses x {len(METHODS)} methods: {time.perf_counter() - t0:.1f} s")
        import csv

        with open(dst) as fh:
            rows = list(csv.DictReader(fh))
    pos = {a: j for j, a in enumerate(idx)}
    summary = {}
    for method in METHODS:
        f = results[method]
        n = agree = rfail = 0
        worst = 0.0
        worst_at = None
        for r in rows:
            if r["method"] != method:
                continue
            n += 1
            if r["status"] != "ok":
                rfail += 1
                continue
            i = int(r["analysis"])
            ours = (f.tau2[i], f.beta[i, 0], f.se[i, 0])
            theirs = (float(r["tau2"]), float(r["estimate"]), float(r["se"]))
            d = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(ours, theirs))
            if d <= 1e-6:
                agree += 1
            if d > worst:
                worst, worst_at = d, (i, KINDS[kind[i]])
        summary[method] = (n, agree, rfail, worst, worst_at)
        print(f"{method:5s} agreement with metafor: {agree:,} of {n - rfail:,} to 1e-6 "
              f"(metafor failed on {rfail}); largest difference {worst:.2e} at {worst_at}")
    _ = pos
    return summary


if __name__ == "__main__":
    main()
