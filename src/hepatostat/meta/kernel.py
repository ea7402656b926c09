"""The meta-analysis kernel: every inverse-variance estimator, vectorised.

:func:`fit` fits ``m`` independent (mixed-effects) meta-analytic models
``y = X b + u + e`` at once over padded ``(m, k)`` arrays with a mask and
optional moderators ``X`` (shared ``(k, p)`` or per analysis ``(m, k, p)``).
One-at-a-time pooling, meta-regression, leave-one-out, subgroups, ``--per``
analyses and permutation tests all call it (``m = 1`` for one analysis);
there is no other implementation of the tau^2 estimators in hepatostat.

The estimators reproduce R metafor 3.8 ``rma.uni()`` (Viechtbauer 2010):
the same starting values, the same Fisher scoring for ML/REML, the same
truncation at zero and the same check that tau^2 = 0 does not have the
larger likelihood. Where metafor solves an equation with ``uniroot``
(PM, Q-profile intervals) we solve it to machine precision.

Convergence cannot fail for a well-posed analysis. Fisher scoring (step
halved whenever it would leave ``tau2 >= 0``) takes metafor's steps for the
first ``SECANT_AFTER`` iterations, where almost every analysis converges.
An analysis still running after that is one where Fisher's information is a
poor slope for the estimating equation (steps that alternate around the
root, shrink slowly, or halve towards 0 at every step); from then on its
steps are secant steps on the equation itself, kept inside the bracket of
the root seen so far (bisection otherwise), and a step below 0 is replaced by
one scan of the grid metafor's halving would visit (``_scan_to_zero``), so
that a positive root below the iterate is still found where the equation is
not monotone. The iteration stops at ``|change| <= 1e-10`` as before; the
root is the same, reached in at most about 20 steps instead of up to 100.
Analyses that have not converged within ``FISHER_MAXITER`` steps are solved
by a bracketed root finder (bisection) on the same estimating equation. An
analysis that cannot be estimated at all (no studies, fewer studies than
coefficients, collinear moderators, non-finite input) gets ``status = "not
estimable"`` and a ``reason``, and never stops the others.

Notes
-----
With weights ``w`` (0 for masked cells), ``A = X'WX``, ``B = A^-1`` and
``P = W - W X B X'W``: ``y'Py = sum(w r^2)`` and ``y'PPy = sum(w^2 r^2)``
with ``r = y - X b`` the weighted residuals' base, ``tr(P) = sum(w) -
tr(B X'W^2 X)`` and, for diagonal ``D1, D2``,
``tr(P D1 P D2) = sum(w^2 d1 d2) - 2 tr(B X' diag(w^3 d1 d2) X) + tr(B C1 B C2)``
with ``Cj = X' diag(w^2 dj) X``. Everything is ``O(m k p^2)``; no ``k x k``
matrix is formed, so memory is linear in k.

References
----------
.. [1] DerSimonian R, Laird N (1986). Meta-analysis in clinical trials.
   Control Clin Trials 7(3):177-188. doi:10.1016/0197-2456(86)90046-2
.. [2] Hedges LV, Olkin I (1985). Statistical Methods for Meta-Analysis.
   Academic Press (the HE estimator).
.. [3] Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation
   for meta-analysis. J R Stat Soc C 54(2):367-384.
   doi:10.1111/j.1467-9876.2005.00489.x
.. [4] Paule RC, Mandel J (1982). Consensus values and weighting factors.
   J Res Natl Bur Stand 87(5):377-385. doi:10.6028/jres.087.022
.. [5] Morris CN (1983). Parametric empirical Bayes inference: theory and
   applications. J Am Stat Assoc 78(381):47-55 (the EB estimator; as metafor
   iterates it, it has the fixed point of PM).
.. [6] Viechtbauer W (2005). Bias and efficiency of meta-analytic variance
   estimators in the random-effects model. J Educ Behav Stat 30(3):261-293.
   doi:10.3102/10769986030003261 (ML, REML; Fisher scoring).
.. [7] Viechtbauer W (2007). Confidence intervals for the amount of
   heterogeneity in meta-analysis. Stat Med 26(1):37-52. doi:10.1002/sim.2514
   (Q-profile).
.. [8] Knapp G, Hartung J (2003). Improved tests for a random effects
   meta-regression with a single covariate. Stat Med 22(17):2693-2710.
   doi:10.1002/sim.1482
.. [9] Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a
   meta-analysis. Stat Med 21(11):1539-1558. doi:10.1002/sim.1186
.. [10] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
   package. J Stat Softw 36(3):1-48. doi:10.18637/jss.v036.i03
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import _dist
from ..errors import InputError
from .codes import METHODS, RE_METHODS

__all__ = ["RE_METHODS", "METHODS", "KernelFit", "fit", "OK", "NOT_ESTIMABLE"]


OK = "ok"
NOT_ESTIMABLE = "not estimable"

THRESHOLD = 1e-10  #: convergence of Fisher scoring on tau^2 (metafor's default is 1e-5)
FISHER_MAXITER = 100  #: Fisher scoring iterations before the bracketed fallback
SECANT_AFTER = 4  #: Fisher steps taken as metafor's before secant steps may replace them
_EPS = np.finfo(float).eps
_CELLS = 1 << 19  # analyses x studies x coefficients handled per chunk (bounds memory)
_SORT_MIN = 256  #: from this many analyses of unequal k, they are fitted in pieces sorted by k
_PIECES = 4  #: how many pieces


@dataclass(frozen=True, eq=False)
class KernelFit:
    """Results of :func:`fit` for m analyses (arrays with first axis m).

    ``beta, se, stat, pval, ci_low, ci_high`` have shape (m, p), ``vb``
    (m, p, p), ``weights`` (m, k) in percent (0 for masked cells), all other
    fields shape (m,). ``status`` is ``"ok"`` or ``"not estimable"``, with the
    ``reason`` in words; the numbers of a not-estimable analysis are NaN.
    ``pi_low, pi_high`` (prediction interval) are for intercept-only models.
    """

    method: str
    level: float
    k: np.ndarray
    p: int
    beta: np.ndarray
    vb: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    knha: np.ndarray
    df: np.ndarray
    s2w: np.ndarray
    tau2: np.ndarray
    se_tau2: np.ndarray
    tau2_ci_low: np.ndarray
    tau2_ci_high: np.ndarray
    I2: np.ndarray
    I2_ci_low: np.ndarray
    I2_ci_high: np.ndarray
    H2: np.ndarray
    H2_ci_low: np.ndarray
    H2_ci_high: np.ndarray
    QE: np.ndarray
    QE_df: np.ndarray
    QE_pval: np.ndarray
    vt: np.ndarray
    QM: np.ndarray
    QM_df: int
    QM_pval: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    weights: np.ndarray
    iterations: np.ndarray
    fallback: np.ndarray
    status: np.ndarray
    reason: np.ndarray

    @property
    def m(self) -> int:
        return int(self.k.shape[0])

    def __repr__(self) -> str:
        return (f"KernelFit(method={self.method!r}, m={self.m}, p={self.p}, "
                f"not_estimable={int((self.status != OK).sum())})")

    @property
    def ok(self) -> np.ndarray:
        return self.status == OK


# ---------------------------------------------------------------------------
# linear algebra over a stack of analyses (intercept-only models use sums)


class _Design:
    """The model matrix of n analyses: None (intercept only) or (n, k, p).

    With moderators, ``X' diag(d) X`` for all n analyses is one batched product ``d (X_i X_j)`` over
    the products of the columns, formed once per chunk: numpy's three-operand ``einsum`` was ten
    times slower, and these sums run several times in every Fisher step of every permutation.
    """

    def __init__(self, X, p, XX=None):
        self.X = X
        self.p = p
        self._XX = XX

    @property
    def XX(self):
        """``(n, k, p*p)``: the products of every pair of columns of X, row by row."""
        if self._XX is None:
            n, k, p = self.X.shape
            self._XX = (self.X[:, :, :, None] * self.X[:, :, None, :]).reshape(n, k, p * p)
        return self._XX

    def sub(self, idx):
        if self.X is None:
            return _Design(None, self.p)
        return _Design(self.X[idx], self.p, None if self._XX is None else self._XX[idx])

    def xtdx(self, d):
        if self.X is None:
            return d.sum(1)[:, None, None]
        return np.matmul(d[:, None, :], self.XX).reshape(d.shape[0], self.p, self.p)

    def xtd(self, d):
        if self.X is None:
            return d.sum(1)[:, None]
        return np.matmul(d[:, None, :], self.X)[:, 0, :]

    def xb(self, b):
        if self.X is None:
            return b[:, :1]
        return np.matmul(self.X, b[:, :, None])[:, :, 0]

    def inv(self, A):
        if self.p == 1:
            return 1.0 / A
        if self.p == 2:  # one moderator (every permutation refit): the adjugate, without LAPACK's overhead
            a, b, c, d = A[:, 0, 0], A[:, 0, 1], A[:, 1, 0], A[:, 1, 1]
            det = a * d - b * c
            if np.all(np.abs(det) > 1e-8 * np.abs(a * d)):  # well conditioned (else LAPACK, which says when singular)
                out = np.empty_like(A)
                out[:, 0, 0], out[:, 0, 1], out[:, 1, 0], out[:, 1, 1] = d / det, -b / det, -c / det, a / det
                return out
        return np.linalg.inv(A)

    @staticmethod
    def tr(B, C):
        if B.shape[1] == 1:
            return B[:, 0, 0] * C[:, 0, 0]
        return (B * C.transpose(0, 2, 1)).sum((1, 2))

    @staticmethod
    def trBCBC(B, C1, C2):
        if B.shape[1] == 1:
            return B[:, 0, 0] ** 2 * C1[:, 0, 0] * C2[:, 0, 0]
        BC1 = np.matmul(B, C1)
        return _Design.tr(BC1, BC1 if C2 is C1 else np.matmul(B, C2))

    def wls(self, w, y, mask):
        """Weighted least squares: ``(beta, B, r)`` with r zero in masked cells."""
        B = self.inv(self.xtdx(w))
        if self.p == 1:
            beta = B[:, 0, :] * self.xtd(w * y)
        else:
            beta = np.matmul(B, self.xtd(w * y)[:, :, None])[:, :, 0]
        r = np.where(mask, y - self.xb(beta), 0.0)
        return beta, B, r

    def trP(self, w, B, C2=None):
        """tr(P); ``C2 = X'W^2X`` when the caller has formed it already."""
        return w.sum(1) - self.tr(B, self.xtdx(w * w) if C2 is None else C2)

    def trPP(self, w, B, C2=None):
        """tr(PP): :meth:`trPDPD` with ``D1 = D2 = I`` (masked cells have w = 0), the same numbers with
        ``X'W^2X`` formed once (or given as ``C2``) and one product in ``tr(B C B C)``."""
        w2 = w * w
        C2 = self.xtdx(w2) if C2 is None else C2
        return w2.sum(1) - 2 * self.tr(B, self.xtdx(w2 * w)) + self.trBCBC(B, C2, C2)

    def trPDPD(self, w, B, d1, d2):
        w2 = w * w
        return ((w2 * d1 * d2).sum(1) - 2 * self.tr(B, self.xtdx(w2 * w * d1 * d2))
                + self.trBCBC(B, self.xtdx(w2 * d1), self.xtdx(w2 * d2)))

    def logdet(self, A):
        if self.p == 1:
            return np.log(A[:, 0, 0])
        return np.linalg.slogdet(A)[1]


class _Chunk:
    """The data of n analyses being fitted together."""

    def __init__(self, y, v, mask, X, p, design=None):
        self.y = y
        self.v = v
        self.mask = mask
        self.fmask = mask.astype(float)
        self.D = _Design(X, p) if design is None else design
        self.k = mask.sum(1).astype(float)
        self.p = p
        self.dfr = self.k - p
        self.vinf = np.where(mask, v, np.inf)  # 1/(vinf + tau2) is 0 in masked cells

    def sub(self, idx):
        D = self.D.sub(idx)
        return _Chunk(self.y[idx], self.v[idx], self.mask[idx], D.X, self.p, D)

    def w(self, tau2):
        return 1.0 / (self.vinf + tau2[:, None])

    def q(self, tau2):
        w = self.w(tau2)
        _, _, r = self.D.wls(w, self.y, self.mask)
        return (w * r * r).sum(1)

    def q_and_slope(self, tau2):
        w = self.w(tau2)
        _, _, r = self.D.wls(w, self.y, self.mask)
        wr2 = w * r * r
        return wr2.sum(1), -(w * wr2).sum(1)

    def score(self, tau2, method):
        """REML / ML estimating equation (zero at the estimate) and Fisher's information."""
        if self.D.X is None:  # intercept only: every term is a sum over the studies
            # the same operations in the same order as written out plainly (so the same numbers), with
            # three buffers instead of nine temporary arrays: this runs in every Fisher step
            w = np.add(self.vinf, tau2[:, None])
            np.divide(1.0, w, out=w)
            w2 = np.multiply(w, w)
            s, s2 = w.sum(1), w2.sum(1)
            t = np.multiply(w, self.y)
            mu = t.sum(1) / s
            r = np.subtract(self.y, mu[:, None], out=t)
            a = np.multiply(w2, r)
            np.multiply(a, r, out=a)
            ypp = a.sum(1)
            if method == "ML":
                return ypp - s, s2
            np.multiply(w2, w, out=a)
            s3 = a.sum(1)
            return ypp - (s - s2 / s), s2 - 2 * s3 / s + (s2 / s) ** 2
        w = self.w(tau2)
        D = self.D
        _, B, r = D.wls(w, self.y, self.mask)
        w2 = w * w
        ypp = (w2 * r * r).sum(1)
        if method == "ML":
            return ypp - w.sum(1), w2.sum(1)
        C2 = D.xtdx(w2)  # X'W^2X serves both traces
        return ypp - D.trP(w, B, C2), D.trPP(w, B, C2)

    def loglik(self, tau2, method):
        w = self.w(tau2)
        A = self.D.xtdx(w)
        _, _, r = self.D.wls(w, self.y, self.mask)
        rss = (w * r * r).sum(1)
        logv = np.where(self.mask, np.log(self.v + tau2[:, None]), 0.0).sum(1)
        if method == "ML":
            return -0.5 * self.k * np.log(2 * np.pi) - 0.5 * logv - 0.5 * rss
        return -0.5 * self.dfr * np.log(2 * np.pi) - 0.5 * logv - 0.5 * self.D.logdet(A) - 0.5 * rss


# ---------------------------------------------------------------------------
# root finding on decreasing functions, vectorised over analyses


def _bracket_root(f, todo, n, slope_f=None, start=None, ftol=None):
    """Per analysis, a root of ``f`` (positive below it, negative above) on (0, inf).

    ``todo`` marks the analyses with ``f(0) > 0``. The upper end of the
    bracket is found by multiplying by 10; then Newton (when ``slope_f`` gives
    ``(f, df)``) or secant steps are taken while they stay inside the bracket,
    bisection otherwise. Returns ``(root, found)``; stops at machine precision.
    """
    out = np.zeros(n)
    found = np.ones(n, dtype=bool)
    if not todo.any():
        return out, found
    idx = np.flatnonzero(todo)
    lo = np.zeros(idx.size)
    hi = np.full(idx.size, 100.0) if start is None else np.maximum(2 * start[idx], 1e-8)
    over = np.ones(idx.size, dtype=bool)
    for _ in range(80):
        j = np.flatnonzero(over)
        if not j.size:
            break
        fh = f(hi[j], idx[j])
        still = fh > 0
        lo[j[still]] = hi[j[still]]
        hi[j[still]] *= 10
        over[j[~still]] = False
    bad = over | ~np.isfinite(hi)
    # Newton from the left end: for a convex decreasing function (Q in tau²) the
    # iterates rise monotonically to the root; any step leaving the bracket is
    # replaced by bisection, so the bracket shrinks whatever the shape
    x = lo.copy() if slope_f is not None else 0.5 * (lo + hi)
    run = ~bad
    live = np.flatnonzero(run)
    for _ in range(400):
        if not run.any():
            break
        # evaluate the same rows while most still run (their data are not copied again)
        if run[live].sum() < 0.5 * live.size:
            live = np.flatnonzero(run)
        j = live
        xj = x[j]
        if slope_f is not None:
            fx, dfx = slope_f(xj, idx[j])
            with np.errstate(divide="ignore", invalid="ignore"):
                xn = np.where(fx == 0, xj, xj - fx / dfx)
        else:
            fx = f(xj, idx[j])
            xn = np.full_like(xj, np.nan)
        lo[j] = np.where(fx > 0, xj, lo[j])
        hi[j] = np.where(fx <= 0, xj, hi[j])
        out_of = ~np.isfinite(xn) | (xn < lo[j]) | (xn > hi[j])
        xn = np.where(out_of, 0.5 * (lo[j] + hi[j]), xn)
        tol = np.maximum(1e-300, 4 * _EPS * np.abs(xn))
        done = (np.abs(xn - xj) <= tol) | (fx == 0) | (hi[j] - lo[j] <= tol)
        if ftol is not None:  # |f| at rounding level: flipping sign between neighbouring floats
            done |= np.abs(fx) <= ftol[idx[j]]
        active_j = run[j]
        x[j] = np.where(active_j, xn, xj)
        run[j[done & active_j]] = False
    out[idx] = x
    found[idx] = ~bad
    return out, found


def _solve_q(ch: _Chunk, target, active):
    """Smallest tau2 >= 0 with Q(tau2) = target (generalised Q decreases in tau2).

    ``dQ/dtau2 = -y'PPy = -sum(w^2 r^2)``, so Newton steps are cheap.
    """
    n = ch.y.shape[0]
    target = np.broadcast_to(np.asarray(target, float), (n,))
    q0 = np.where(active, ch.q(np.zeros(n)), 0.0)
    todo = active & (q0 > target)

    cache = {}

    def part(idx):
        key = (idx.size, int(idx[0]) if idx.size else -1, int(idx[-1]) if idx.size else -1)
        if key not in cache:
            cache.clear()
            cache[key] = ch.sub(idx) if idx.size < n else ch
        return cache[key]

    def f(t, idx):
        return part(idx).q(t) - target[idx]

    def fs(t, idx):
        q, s = part(idx).q_and_slope(t)
        return q - target[idx], s

    return _bracket_root(f, todo, n, fs, ftol=64 * _EPS * np.maximum(1.0, np.abs(target)))


# ---------------------------------------------------------------------------
# the estimators


def _tau2(ch: _Chunk, method, active, want_se=True):
    """``(tau2, se_tau2, iterations, fallback, ok)`` per analysis (ML/REML: se_tau2 NaN unless ``want_se``)."""
    n = ch.y.shape[0]
    zero = np.zeros(n)
    nan = np.full(n, np.nan)
    it = np.zeros(n, dtype=int)
    fb = np.zeros(n, dtype=bool)
    ok = np.ones(n, dtype=bool)
    if method == "FE":
        return zero, nan, it, fb, ok
    D, y, v, mask, fm = ch.D, ch.y, ch.v, ch.mask, ch.fmask
    dfr = np.maximum(ch.dfr, 1.0)
    vm = np.where(mask, v, 0.0)
    # Hedges' estimator (also the start of ML/REML): ordinary least squares
    _, Bo, ro = D.wls(fm, y, mask)
    rss_ols = (ro * ro).sum(1)
    trPV = vm.sum(1) - D.tr(Bo, D.xtdx(vm))
    he = (rss_ols - trPV) / dfr
    if method == "DL":
        w = fm / v
        _, B, r = D.wls(w, y, mask)
        trP = D.trP(w, B)
        tau2 = np.maximum(0.0, ((w * r * r).sum(1) - dfr) / trP)
        se = np.sqrt(1 / trP**2 * (2 * dfr + 4 * tau2 * trP + 2 * tau2**2 * D.trPP(w, B)))
    elif method == "HE":
        tau2 = np.maximum(0.0, he)
        se = np.sqrt(1 / dfr**2 * (2 * D.trPDPD(fm, Bo, vm, vm) + 4 * tau2 * trPV + 2 * tau2**2 * dfr))
    elif method == "SJ":
        kk = np.maximum(ch.k, 1.0)
        ybar = np.where(mask, y, 0.0).sum(1) / kk
        dev = np.where(mask, y - ybar[:, None], 0.0)
        tau0 = (dev * dev).sum(1) / kk
        pos = tau0 > 0
        t0 = np.where(pos, tau0, 1.0)
        w = fm / (v + t0[:, None])
        _, B, r = D.wls(w, y, mask)
        tau2 = np.where(pos, t0 * (w * r * r).sum(1) / dfr, 0.0)
        se = np.sqrt(t0**2 / dfr**2 * (2 * D.trPDPD(w, B, vm, vm) + 4 * tau2 * D.trPDPD(w, B, fm, vm)
                                       + 2 * tau2**2 * D.trPP(w, B)))
        se = np.where(pos, se, np.nan)
    elif method in ("PM", "EB"):
        tau2, ok = _solve_q(ch, dfr, active)
        w = fm / (v + tau2[:, None])
        se = np.sqrt(2 * ch.k**2 / dfr / w.sum(1) ** 2)
    elif method in ("ML", "REML"):
        tau2, it, fb, ok = _fisher(ch, method, np.maximum(0.0, np.where(np.isfinite(he), he, 0.0)), active)
        # tau2 = 0 may have the larger likelihood (metafor's ll0check)
        better0 = active & (tau2 > 0) & (ch.loglik(zero, method) > ch.loglik(tau2, method) + 1e-12)
        tau2 = np.where(better0, 0.0, tau2)
        w = fm / (v + tau2[:, None])
        if not want_se:
            se = nan
        elif method == "ML":
            se = np.sqrt(2 / (w * w).sum(1))
        else:
            _, B, _ = D.wls(w, y, mask)
            se = np.sqrt(2 / D.trPP(w, B))
    else:  # pragma: no cover - checked by fit()
        raise InputError(f"unknown method {method!r}")
    tau2 = np.where(active, tau2, 0.0)
    se = np.where(active, se, np.nan)
    return tau2, se, it, fb, ok | ~active


def _scan_to_zero(cur: _Chunk, rows, ts, g_ts, method):
    """Where Fisher scoring heads below 0 from ``ts`` (``g(ts) < 0``): the root, if any, below ``ts``.

    Step halving (metafor's way) would crawl towards 0, halving tau2 at each step until a step is
    below the convergence threshold, and stop inside a region where the estimating equation is
    positive if it meets one (the equation need not be monotone: at variance ratios of 10^6 it can be
    negative at 0, positive a little above, and negative again). The same halving grid,
    ``ts/2, ts/4, ...`` down to the threshold, and 0 are evaluated in one vectorised call. Returns
    per row the next iterate, the bracket ``(lo, hi)`` with ``g(lo) > 0 >= g(hi)`` around the
    largest root below ``ts`` with its flag, the point the next secant step starts from, and which
    rows end at 0 (the equation not positive anywhere on the grid nor at 0: the estimate is 0).
    """
    m = rows.size
    with np.errstate(divide="ignore"):
        depth = np.ceil(np.log2(np.maximum(ts, THRESHOLD) / THRESHOLD)).astype(int)
    depth = np.clip(depth, 1, 1100) + 1  # the halvings, then 0
    n = depth.max()
    j = np.arange(1, n + 1)[None, :]
    grid = np.where(j < depth[:, None], ts[:, None] * np.exp2(-j), 0.0)  # (m, n); past the depth: 0
    use = j <= depth[:, None]
    rr, cc = np.nonzero(use)
    gg = np.full((m, n), -np.inf)
    gg[rr, cc] = cur.sub(rows[rr]).score(grid[rr, cc], method)[0]
    up = gg > 0
    found = up.any(1)
    first = np.argmax(up, axis=1)  # the largest grid point with g > 0
    jj = np.arange(m)
    lo = np.where(found, grid[jj, first], 0.0)
    glo = gg[jj, first]
    above = np.maximum(first - 1, 0)
    hi = np.where(found & (first > 0), grid[jj, above], ts)
    ghi = np.where(found & (first > 0), gg[jj, above], g_ts)
    with np.errstate(invalid="ignore", divide="ignore"):
        nxt = lo - glo * (hi - lo) / (ghi - glo)  # regula falsi: inside [lo, hi]
    nxt = np.where(np.isfinite(nxt) & (nxt >= lo) & (nxt <= hi), nxt, 0.5 * (lo + hi))
    nxt = np.where(found, nxt, 0.0)
    return nxt, lo, np.where(found, hi, np.inf), found, ghi, hi, ~found


def _fisher(ch: _Chunk, method, start, active):
    """Fisher scoring for ML/REML with the bracketed fallback (see module notes)."""
    n = ch.y.shape[0]
    tau2 = start.copy()
    its = np.zeros(n, dtype=int)
    idx = np.flatnonzero(active)  # analyses still iterating
    cur_idx = idx
    cur = ch.sub(cur_idx) if idx.size < n else ch
    running = np.ones(cur_idx.size, dtype=bool)
    g_prev = t_prev = None
    lo = hi = lo_ok = None  # a bracket of the root, kept from SECANT_AFTER steps on
    wref = since = None  # the bracket's width at its last halving, and the steps since
    for step in range(FISHER_MAXITER):
        # (as few numpy calls per step as possible: the last few analyses of a hard set run many steps)
        left = np.count_nonzero(running)
        if left == 0:
            break
        if left < 0.5 * running.size:  # copy the data of the few left only when it pays
            sel = np.flatnonzero(running)
            cur_idx = cur_idx[sel]
            cur = cur.sub(sel)
            running = np.ones(left, dtype=bool)
            g_prev, t_prev = g_prev[sel], t_prev[sel]
            if lo is not None:
                lo, hi, lo_ok, wref, since = lo[sel], hi[sel], lo_ok[sel], wref[sel], since[sel]
        everyone = left == running.size
        if everyone:
            its[cur_idx] += 1
        else:
            its[cur_idx[running]] += 1
        ts = tau2[cur_idx]
        g, info = cur.score(ts, method)
        adj = g / info
        late = step >= SECANT_AFTER
        if late:
            # Still running after SECANT_AFTER of metafor's steps: Fisher's information is far from the
            # slope of the estimating equation here (steps that alternate around the root, shrink slowly,
            # or halve towards 0). The slope is taken from the equation itself (a secant step through
            # the last two iterates) where it is negative, as it is where g falls through its root; the
            # step is kept inside the bracket [largest iterate with g > 0, smallest with g < 0] (else the
            # bracket is bisected); and a step below 0 is replaced by _scan_to_zero. The root is the same.
            if lo is None:
                lo, hi, lo_ok = np.zeros(ts.size), np.full(ts.size, np.inf), np.zeros(ts.size, dtype=bool)
                wref, since = np.full(ts.size, np.inf), np.zeros(ts.size, dtype=int)
            up = g > 0
            lo = np.where(up & (ts >= lo), ts, lo)
            lo_ok |= up
            hi = np.where((g < 0) & (ts < hi), ts, hi)
            with np.errstate(invalid="ignore", divide="ignore"):
                slope = (g - g_prev) / (ts - t_prev)
            sec = np.isfinite(slope) & (slope < 0)
            if sec.any():
                adj = np.where(sec, -g / np.where(sec, slope, -1.0), adj)
        g_prev, t_prev = g, ts
        if not everyone:
            adj = np.where(running, adj, 0.0)
        fin = np.isfinite(adj)
        if not fin.all():
            adj = np.where(fin, adj, 0.0)
        ta = ts + adj
        at0 = None
        if late:
            bracketed = lo_ok & (lo < hi) & np.isfinite(hi)
            # steps that leave the bracket, or two steps in a row that have not halved it (secant steps
            # can creep along one end where the equation is very curved), are replaced by bisection
            width = np.where(bracketed, hi - lo, np.inf)
            halved = width <= 0.5 * wref
            wref = np.where(halved, width, wref)
            since = np.where(halved, 0, since + 1)
            out = running & bracketed & ((ta <= lo) | (ta >= hi) | (since >= 2))
            since = np.where(out, 0, since)
            ta = np.where(out, 0.5 * (lo + hi), ta)
            dive = running & (ta < 0) & ~lo_ok
            if dive.any():
                r = np.flatnonzero(dive)
                ta[r], lo[r], hi[r], lo_ok[r], g_prev[r], t_prev[r], at0 = _scan_to_zero(cur, r, ts[r], g[r], method)
                at0 = r[at0]
        neg = ta < 0
        if neg.any():
            for _ in range(60):  # step halving keeps tau2 >= 0
                adj = np.where(neg, adj / 2, adj)
                ta = ts + adj
                neg = ta < 0
                if not neg.any():
                    break
        new = np.maximum(ta, 0.0)
        tau2[cur_idx] = new
        running &= np.abs(new - ts) > THRESHOLD
        if at0 is not None:
            running[at0] = False
    idx = cur_idx[running]
    # iterates pressed against the boundary by step halving end a hair above 0:
    # when the estimating equation is not positive at 0, the estimate is 0
    near0 = active & (tau2 > 0) & (tau2 < 1e3 * THRESHOLD) & ~np.isin(np.arange(n), idx)
    if near0.any():
        j = np.flatnonzero(near0)
        g0 = ch.sub(j).score(np.zeros(j.size), method)[0]
        tau2[j[g0 <= 0]] = 0.0
    fb = np.zeros(n, dtype=bool)
    ok = np.ones(n, dtype=bool)
    bad = np.isin(np.arange(n), idx) | (active & ~np.isfinite(tau2))
    if bad.any():
        fb = bad.copy()
        g0 = np.full(n, -1.0)
        bi = np.flatnonzero(bad)
        g0[bi] = ch.sub(bi).score(np.zeros(bi.size), method)[0]

        def f(t, ii):
            return ch.sub(ii).score(t, method)[0]

        start_t = np.where(np.isfinite(tau2), np.maximum(tau2, 1e-8), 1.0)
        root, found = _bracket_root(f, bad & (g0 > 0), n, start=start_t)
        tau2 = np.where(bad, root, tau2)
        ok = np.where(bad, found, ok)
    return tau2, its, fb, ok


# ---------------------------------------------------------------------------


def _as_2d(a, m, k, name):
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        a = np.broadcast_to(a, (m, k))
    if a.shape != (m, k):
        raise InputError(f"{name} must have shape ({m}, {k}) or ({k},), got {a.shape}")
    return a


def fit(y, v, mask=None, X=None, *, method: str = "REML", knha: bool = False, level: float = 0.95,
        qprofile: bool = True, btt=None, inference: bool = True, rank_checked: bool = False) -> KernelFit:
    """Fit m independent meta-analytic models in one vectorised pass.

    Parameters
    ----------
    y, v : array_like, shape (m, k) or (k,)
        Effect sizes and sampling variances (a 1-d array is shared by every
        analysis, e.g. leave-one-out with a mask).
    mask : array_like of bool, shape (m, k), optional
        Which cells are studies of each analysis (default: all).
    X : array_like, shape (k, p) or (m, k, p), optional
        Model matrix; intercept-only when omitted.
    method : str
        ``FE`` or a tau^2 estimator (``DL, REML, ML, PM, SJ, HE, EB``).
    knha : bool
        Knapp-Hartung: covariance scaled by ``s2w = y'Py/(k-p)`` (not
        truncated at 1, as metafor), t tests with k - p df and an F test of
        the moderators. Analyses with k = p use z tests.
    level : float
        Confidence level.
    qprofile : bool
        Q-profile confidence intervals for tau^2, I^2 and H^2.
    btt : sequence of int, optional
        Coefficients in the omnibus test QM (default: all but the first
        when p > 1, else the intercept).
    inference : bool
        Compute p-values, confidence and prediction intervals and the
        heterogeneity statistics (default). With ``False`` only ``beta, vb,
        se, stat, tau2, QM`` (and status, weights, iterations) are filled, the
        rest is NaN: a permutation test needs no more, and skipping the tail
        probabilities of many refits spares the import of ``scipy.special``.
    rank_checked : bool
        The caller vouches that every ``X`` has full column rank, e.g. row
        permutations of one matrix already checked: the per-analysis SVD that
        finds collinear moderators is skipped.

    Returns
    -------
    KernelFit
    """
    method = str(method).upper()
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}, MH, PETO")
    if not (0 < level < 1):
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        m = 1
        if mask is not None and np.ndim(mask) == 2:
            m = np.shape(mask)[0]
        elif X is not None and np.ndim(X) == 3:
            m = np.shape(X)[0]
        elif np.ndim(v) == 2:
            m = np.shape(v)[0]
        k = y.shape[0]
    else:
        m, k = y.shape
    y = _as_2d(y, m, k, "y")
    v = _as_2d(v, m, k, "v")
    mask = np.ones((m, k), dtype=bool) if mask is None else np.broadcast_to(np.asarray(mask, dtype=bool), (m, k))
    if X is not None:
        X = np.asarray(X, dtype=float)
        if X.ndim == 2:
            X = np.broadcast_to(X, (m,) + X.shape)
        if X.shape[:2] != (m, k):
            raise InputError(f"X must have shape ({k}, p) or ({m}, {k}, p), got {X.shape}")
        p = X.shape[2]
        if p == 1 and np.all(X == 1):
            X = None
    else:
        p = 1
    if btt is None:
        btt = list(range(1, p)) if p > 1 else None
    else:
        btt = list(btt)
    args = (p, method, knha, level, qprofile and inference, btt, inference, rank_checked)
    kk = mask.sum(1)
    if m >= _SORT_MIN and kk.size and kk.min() < k:
        # analyses of unequal size: fitted in pieces of similar k, each trimmed to the columns its
        # analyses use, so short analyses do not pay for the padding of the longest
        order = np.argsort(kk, kind="stable")
        bounds = np.linspace(0, m, _PIECES + 1).astype(int)
        groups = [order[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    else:
        groups = [None]
    placed = []
    for g in groups:
        if g is None:
            gy, gv, gm, gX = y, v, mask, X
            cols = None
        else:
            cols = np.flatnonzero(mask[g].any(0))
            if cols.size == k:
                cols = None
                gy, gv, gm, gX = y[g], v[g], mask[g], None if X is None else X[g]
            else:
                rc = np.ix_(g, cols)
                gy, gv, gm = y[rc], v[rc], mask[rc]
                gX = None if X is None else X[g][:, cols]
        ng, kg = gm.shape
        chunk = max(1, _CELLS // max(1, kg * p * p))
        for s in range(0, ng, chunk):
            sl = slice(s, min(ng, s + chunk))
            part = _fit_chunk(gy[sl], gv[sl], gm[sl], None if gX is None else gX[sl], *args)
            if cols is not None:  # weights back on all k columns (0 in unused cells, NaN when not estimable)
                wt = part["weights"]
                full = np.zeros((wt.shape[0], k))
                full[:, cols] = wt
                full[np.all(np.isnan(wt), axis=1) & (wt.shape[1] > 0)] = np.nan
                part["weights"] = full
            placed.append((sl if g is None else g[sl], part))
    if len(placed) == 1 and groups[0] is None:
        out = placed[0][1]
    else:
        first = placed[0][1]
        out = {}
        for key, val in first.items():
            if key == "QM_df":
                out[key] = val
                continue
            arr = np.empty((m,) + val.shape[1:], dtype=val.dtype)
            for where, part in placed:
                arr[where] = part[key]
            out[key] = arr
    return KernelFit(method=method, level=level, p=p, **out)


def _fit_chunk(y, v, mask, X, p, method, knha, level, qprofile, btt, inference=True, rank_checked=False):
    n, k = y.shape
    kk = mask.sum(1)
    status = np.full(n, OK, dtype=object)
    reason = np.full(n, None, dtype=object)
    finite = np.all(np.where(mask, np.isfinite(y) & np.isfinite(v) & (v > 0), True), axis=1)
    if X is not None:
        finite &= np.all(np.where(mask[:, :, None], np.isfinite(X), True), axis=(1, 2))
    for i in np.flatnonzero(~finite):
        status[i], reason[i] = NOT_ESTIMABLE, "an effect size or variance is not finite, or a variance is <= 0"
    for i in np.flatnonzero(finite & (kk == 0)):
        status[i], reason[i] = NOT_ESTIMABLE, "no studies"
    for i in np.flatnonzero(finite & (kk > 0) & (kk < p)):
        status[i], reason[i] = NOT_ESTIMABLE, f"{kk[i]} studies cannot estimate {p} coefficients"
    good = np.flatnonzero(status == OK)
    if X is not None and good.size and not rank_checked:
        Xg = np.where(mask[good][:, :, None], X[good], 0.0)
        rank = np.linalg.matrix_rank(Xg)
        for i in good[rank < p]:
            status[i], reason[i] = NOT_ESTIMABLE, "the model matrix is not of full rank (collinear moderators?)"
        good = np.flatnonzero(status == OK)
    res = _empty(n, k, p)
    if good.size:
        if good.size == n:  # (no copies when every analysis can be fitted)
            mg, yg, vg, Xg = mask, y, v, X
        else:
            mg, yg, vg, Xg = mask[good], y[good], v[good], None if X is None else X[good]
        yg = np.where(mg, yg, 0.0)
        vg = np.where(mg, vg, 1.0)
        Xg = None if Xg is None else np.where(mg[:, :, None], Xg, 0.0)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            part = _fit_good(_Chunk(yg, vg, mg, Xg, p), method, knha, level, qprofile, btt, inference)
        for key, val in part.items():
            if key == "failed":
                continue
            res[key][good] = val
        for j, i in enumerate(good):
            if part["failed"][j]:
                status[i], reason[i] = NOT_ESTIMABLE, f"{method}: no tau² solves the estimating equation"
                for key in res:
                    if key not in ("k", "iterations", "fallback") and res[key].dtype.kind == "f":
                        res[key][i] = np.nan
    res["k"] = kk
    res["status"] = status
    res["reason"] = reason
    res["QM_df"] = len(btt) if btt else 0
    return res


def _empty(n, k, p):
    f = lambda *shape: np.full(shape, np.nan)  # noqa: E731
    out = {name: f(n) for name in (
        "df", "s2w", "tau2", "se_tau2", "tau2_ci_low", "tau2_ci_high", "I2", "I2_ci_low", "I2_ci_high", "H2",
        "H2_ci_low", "H2_ci_high", "QE", "QE_pval", "vt", "QM", "QM_pval", "pi_low", "pi_high")}
    out.update({name: f(n, p) for name in ("beta", "se", "stat", "pval", "ci_low", "ci_high")})
    out["vb"] = f(n, p, p)
    out["weights"] = np.zeros((n, k))
    out["knha"] = np.zeros(n, dtype=bool)
    out["QE_df"] = np.zeros(n, dtype=int)
    out["iterations"] = np.zeros(n, dtype=int)
    out["fallback"] = np.zeros(n, dtype=bool)
    return out


def _fit_good(ch: _Chunk, method, knha, level, qprofile, btt, inference=True):
    n = ch.y.shape[0]
    p = ch.p
    D = ch.D
    dfr = ch.dfr
    active = dfr >= 1
    random = method != "FE"
    tau2, se_tau2, its, fb, ok = _tau2(ch, method, active, want_se=inference)

    if inference:  # heterogeneity from the fixed-effect weights
        w0 = ch.fmask / ch.v
        _, B0, r0 = D.wls(w0, ch.y, ch.mask)
        QE = np.where(active, np.maximum(0.0, (w0 * r0 * r0).sum(1)), 0.0)
        QEp = np.where(active, _dist.chi2_sf(QE, np.maximum(dfr, 1)), np.nan)
        vt = np.where(active, dfr / D.trP(w0, B0), np.nan)
        if random:
            I2 = 100 * tau2 / (vt + tau2)
            H2 = tau2 / vt + 1
        else:
            I2 = np.where(QE > 0, np.maximum(0.0, 100 * (QE - dfr) / np.where(QE > 0, QE, 1.0)), 0.0)
            H2 = QE / dfr
        I2 = np.where(active, I2, np.nan)
        H2 = np.where(active, H2, np.nan)
    else:  # statistics only (permutation refits)
        QE = QEp = vt = I2 = H2 = np.full(n, np.nan)

    w = ch.fmask / (ch.v + tau2[:, None])
    beta, B, r = D.wls(w, ch.y, ch.mask)
    vb = B.copy()
    use_t = np.full(n, bool(knha)) & active
    s2w = np.ones(n)
    if knha:
        rss = (w * r * r).sum(1)
        s2w = np.where(use_t, np.where(rss <= _EPS, 0.0, rss / np.maximum(dfr, 1)), 1.0)
        vb = vb * s2w[:, None, None]
    se = np.sqrt(np.diagonal(vb, axis1=1, axis2=2))
    stat = np.where(se > 0, beta / np.where(se > 0, se, 1.0), np.nan)
    alpha = 1 - level
    df_t = np.maximum(dfr, 1)
    # t quantiles and tails only where Knapp-Hartung applies (they are slow to compute)
    crit = np.full(n, float(_dist.norm_isf(alpha / 2)) if inference else np.nan)
    pval = 2 * _dist.norm_sf(np.abs(stat)) if inference else np.full(stat.shape, np.nan)
    if inference and use_t.any():
        crit[use_t] = _dist.t_isf(alpha / 2, df_t[use_t])
        pval[use_t] = 2 * _dist.t_sf(np.abs(stat[use_t]), df_t[use_t][:, None])
    ci_low, ci_high = beta - crit[:, None] * se, beta + crit[:, None] * se
    if p == 1:
        pise = np.sqrt(se[:, 0] ** 2 + tau2) if random else se[:, 0]
        pi_low, pi_high = beta[:, 0] - crit * pise, beta[:, 0] + crit * pise
    else:
        pi_low = pi_high = np.full(n, np.nan)
    # omnibus test (intercept-only pooling does not need it unless asked for)
    if btt is None:
        QM = QMp = np.full(n, np.nan)
    else:
        QM, QMp = _omnibus(beta, vb, btt, use_t, df_t, inference)
    # Q-profile intervals
    nan = np.full(n, np.nan)
    t_lo = t_hi = nan
    if random and qprofile:
        t_lo, f1 = _solve_q(ch, _dist.chi2_isf(alpha / 2, df_t), active)
        t_hi, f2 = _solve_q(ch, _dist.chi2_ppf(alpha / 2, df_t), active)
        t_lo = np.where(active & f1, t_lo, np.nan)
        t_hi = np.where(active & f2, t_hi, np.nan)
    return {
        "beta": beta, "vb": vb, "se": se, "stat": stat, "pval": pval, "ci_low": ci_low, "ci_high": ci_high,
        "knha": use_t, "df": np.where(use_t, dfr, np.nan), "s2w": s2w,
        "tau2": tau2, "se_tau2": se_tau2 if random else nan,
        "tau2_ci_low": t_lo, "tau2_ci_high": t_hi,
        "I2": I2, "I2_ci_low": 100 * t_lo / (vt + t_lo), "I2_ci_high": 100 * t_hi / (vt + t_hi),
        "H2": H2, "H2_ci_low": t_lo / vt + 1, "H2_ci_high": t_hi / vt + 1,
        "QE": QE, "QE_df": np.where(active, dfr, 0).astype(int), "QE_pval": QEp, "vt": vt,
        "QM": QM, "QM_pval": QMp, "pi_low": pi_low, "pi_high": pi_high,
        "weights": 100 * w / w.sum(1)[:, None], "iterations": its, "fallback": fb, "failed": ~ok,
    }


def _omnibus(beta, vb, btt, use_t, df_t, inference=True):
    """Wald test of the coefficients ``btt``: QM (chi-square; F = QM/m under Knapp-Hartung) and its p."""
    n = beta.shape[0]
    b = beta[:, btt]
    sub = vb[:, btt][:, :, btt]
    try:
        QM = np.einsum("ni,ni->n", b, np.linalg.solve(sub, b[:, :, None])[:, :, 0])
    except np.linalg.LinAlgError:
        QM = np.full(n, np.nan)
        for i in range(n):
            try:
                QM[i] = b[i] @ np.linalg.solve(sub[i], b[i])
            except np.linalg.LinAlgError:
                pass
    mq = len(btt)
    QM = np.where(use_t, QM / mq, QM)
    QMp = np.full(QM.shape, np.nan)
    if not inference:
        return QM, QMp
    if use_t.any():
        QMp[use_t] = _dist.f_sf(QM[use_t], mq, df_t[use_t])
    if not use_t.all():
        QMp[~use_t] = _dist.chi2_sf(QM[~use_t], mq)
    return QM, QMp


def field_names():
    """Names of the per-analysis fields of :class:`KernelFit` (for tables)."""
    return [f.name for f in fields(KernelFit)]
