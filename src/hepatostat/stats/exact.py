"""Exact null distributions that scipy does not provide in R's form.

* :func:`ranksum_counts`, :func:`signrank_counts`: the permutation
  distributions of the Mann-Whitney W and the Wilcoxon signed-rank V for
  data without ties, as whole-number frequencies (R's ``dwilcox`` and
  ``dsignrank`` times the number of arrangements). scipy's
  ``mannwhitneyu(method="exact")`` also runs on tied data, where it is not
  exact; R and we fall back to the normal approximation instead.
* :func:`fisher_rxc_exact`: the exact two-sided P value of Fisher's test
  for an r x c table (scipy's ``fisher_exact`` is exact for 2 x 2 only; for
  larger tables it offers a permutation approximation), and
  :func:`fisher_rxc_monte_carlo` past its size limit.

References
----------
.. [1] Mann HB, Whitney DR (1947). On a test of whether one of two random
   variables is stochastically larger than the other. Ann Math Stat
   18(1):50-60. doi:10.1214/aoms/1177730491
.. [2] Mehta CR, Patel NR (1983). A network algorithm for performing
   Fisher's exact test in r x c contingency tables. J Am Stat Assoc
   78(382):427-434. doi:10.1080/01621459.1983.10477989
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special

__all__ = [
    "ranksum_counts",
    "signrank_counts",
    "two_sided_exact",
    "fisher_rxc_exact",
    "fisher_rxc_monte_carlo",
]


@lru_cache(maxsize=32)
def ranksum_counts(m: int, n: int) -> np.ndarray:
    """Frequencies of the Mann-Whitney U statistic for sample sizes m and n.

    Recurrence on the largest observation (it is an x, adding n to U, or a
    y): ``f(u; m, n) = f(u - n; m - 1, n) + f(u; m, n - 1)`` [1]_ — additions
    only, so the small tail counts stay exact in floating point.
    """
    if m > n:
        m, n = n, m
    F = [np.ones(1) for _ in range(m + 1)]
    for j in range(1, n + 1):
        for k in range(1, m + 1):
            new = np.zeros(k * j + 1)
            new[: F[k].size] += F[k]
            new[j : j + F[k - 1].size] += F[k - 1]
            F[k] = new
    return F[m]


@lru_cache(maxsize=32)
def signrank_counts(n: int) -> np.ndarray:
    """Frequencies of the Wilcoxon signed-rank statistic V for n non-zero differences."""
    c = np.zeros(n * (n + 1) // 2 + 1)
    c[0] = 1.0
    for i in range(1, n + 1):
        c[i:] = c[i:] + c[:-i].copy()
    return c


def two_sided_exact(counts: np.ndarray, stat: float, centre: float) -> float:
    """R's two-sided exact P value from a symmetric distribution: twice the smaller tail, at most 1."""
    s = int(round(stat))
    tail = counts[s:] if stat > centre else counts[: s + 1]
    return min(2.0 * float(tail.sum() / counts.sum()), 1.0)


def _compositions(total: int, bounds: np.ndarray) -> np.ndarray:
    """All integer vectors x with 0 <= x <= bounds and sum(x) == total (rows)."""
    r = bounds.size
    if r == 1:
        return np.array([[total]]) if total <= bounds[0] else np.zeros((0, 1), int)
    grids = np.indices(tuple(int(min(b, total)) + 1 for b in bounds[:-1])).reshape(r - 1, -1).T
    last = total - grids.sum(1)
    ok = (last >= 0) & (last <= bounds[-1])
    return np.column_stack([grids[ok], last[ok]])


def _spread(a: np.ndarray, m: int, lf: np.ndarray) -> np.ndarray:
    """sum of log(x!) when a is split as evenly as possible into m parts (the minimum)."""
    q, rem = np.divmod(a, m)
    return rem * lf[q + 1] + (m - rem) * lf[q]


def fisher_rxc_exact(t: np.ndarray, tol: float, max_nodes: int):
    """Exact two-sided P value of an r x c table (network-style enumeration).

    Columns are filled one at a time; a node is (column, remaining row
    margins, sorted). Paths reaching the same node with the same sum of
    log-factorials are merged. Bounds on what the remaining columns can add
    (superadditivity of log n! above, even spreading below) either count a
    node's whole subtree at once (closed-form total probability
    ``M! / (prod r_i! prod c_k!)``) or drop it. The last two columns are
    settled per node at once: their completions are sorted by probability and
    every path into the node looks up its tail sum. Returns None past
    ``max_nodes`` partial tables.
    """
    if t.shape[0] > t.shape[1]:
        t = t.T
    rows = t.sum(1)
    cols = np.sort(t.sum(0))  # small columns first: fewer paths to carry
    n = int(t.sum())
    r, c = t.shape
    lf = special.gammaln(np.arange(n + 2) + 1.0)
    K = lf[rows].sum() + lf[cols].sum() - lf[n]
    thr = lf[t].sum() - tol  # count tables with sum log(x!) >= thr, i.e. P <= P_obs (1 + 1e-7)
    tail_lf = np.concatenate([np.cumsum(lf[cols][::-1])[::-1], [0.0]])
    tail_n = np.concatenate([np.cumsum(cols[::-1])[::-1], [0]])
    spread_cols = np.concatenate([np.cumsum(_spread(cols, r, lf)[::-1])[::-1], [0.0]])
    packable = r * math.log2(n + 1) < 62

    keys = np.sort(rows)[None, :].astype(np.int64)
    s = np.zeros(1)
    w = np.ones(1)
    p = 0.0
    nodes = 0
    for j in range(c - 2):
        rowlf = lf[keys].sum(1)
        hi = s + np.minimum(rowlf, tail_lf[j])
        lo = s + np.maximum(spread_cols[j], _spread(keys, c - j, lf).sum(1))
        every = lo >= thr
        if np.any(every):
            logmass = lf[tail_n[j]] - rowlf[every] - tail_lf[j]
            p += float(np.sum(w[every] * np.exp(K - s[every] + logmass)))
        keep = (~every) & (hi >= thr)
        keys, s, w = keys[keep], s[keep], w[keep]
        if keys.shape[0] == 0:
            return min(p, 1.0)
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        inv = inv.ravel()
        child_k, child_s, child_w = [], [], []
        for u in range(uniq.shape[0]):
            comp = _compositions(int(cols[j]), uniq[u])
            ds = lf[comp].sum(1)
            nxt = np.sort(uniq[u][None, :] - comp, axis=1)
            members = np.flatnonzero(inv == u)
            nodes += comp.shape[0] * members.size
            if nodes > max_nodes:
                return None
            child_k.append(np.tile(nxt, (members.size, 1)))
            child_s.append((s[members][:, None] + ds[None, :]).ravel())
            child_w.append(np.repeat(w[members], comp.shape[0]))
        ck = np.concatenate(child_k)
        cs = np.concatenate(child_s)
        cw = np.concatenate(child_w)
        # merge paths that reach the same node with the same value
        tag = np.round(cs * 1e9).astype(np.int64)
        if packable:
            code = np.zeros(ck.shape[0], np.int64)
            for i in range(r):
                code = code * (n + 1) + ck[:, i]
            order = np.lexsort((tag, code))
            code, tag = code[order], tag[order]
            ck, cs, cw = ck[order], cs[order], cw[order]
            start = np.r_[True, (np.diff(code) != 0) | (np.diff(tag) != 0)]
            idx = np.flatnonzero(start)
            keys, s, w = ck[idx], cs[idx], np.add.reduceat(cw, idx)
        else:
            uq, inv2 = np.unique(np.column_stack([ck, tag]), axis=0, return_inverse=True)
            inv2 = inv2.ravel()
            keys = uq[:, :r]
            w = np.bincount(inv2, weights=cw)
            s = np.zeros(uq.shape[0])
            s[inv2] = cs
    # the last two columns: per node, all completions at once
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    for u in range(uniq.shape[0]):
        comp = _compositions(int(cols[c - 2]), uniq[u])
        A = np.sort(lf[comp].sum(1) + lf[uniq[u][None, :] - comp].sum(1))[::-1]
        a0 = A[-1]
        pref = np.concatenate([[0.0], np.cumsum(np.exp(a0 - A))])
        members = np.flatnonzero(inv == u)
        nodes += comp.shape[0] + members.size
        if nodes > max_nodes:
            return None
        # number of completions with A >= thr - s (A sorted descending)
        cnt = np.searchsorted(-A, -(thr - s[members]), side="right")
        p += float(np.sum(w[members] * np.exp(K - s[members] - a0) * pref[cnt]))
    return min(p, 1.0)


def fisher_rxc_monte_carlo(t: np.ndarray, tol: float, B: int, seed: int) -> float:
    rows = np.repeat(np.arange(t.shape[0]), t.sum(1))
    cols = np.repeat(np.arange(t.shape[1]), t.sum(0))
    n = rows.size
    lf = special.gammaln(np.arange(n + 2) + 1.0)
    thr = lf[t].sum() - tol
    rng = np.random.default_rng(seed)
    hits = 0
    r, c = t.shape
    for start in range(0, B, 1000):
        b = min(1000, B - start)
        perm = np.argsort(rng.random((b, n)), axis=1)
        cells = rows[None, :] * c + cols[perm]
        counts = np.zeros((b, r * c), np.int64)
        np.add.at(counts, (np.repeat(np.arange(b), n), cells.ravel()), 1)
        hits += int(np.sum(lf[counts].sum(1) >= thr))
    return (1 + hits) / (B + 1)


