"""Sensitivity analyses: leave-one-out, influence diagnostics, Baujat data.

Definitions follow R metafor 3.8 (``leave1out()``, ``influence()``,
``rstudent()``, ``baujat()``), refitting the model without each study with
the same estimator and test.

References
----------
.. [1] Viechtbauer W, Cheung MWL (2010). Outlier and influence diagnostics
   for meta-analysis. Res Synth Methods 1(2):112-125. doi:10.1002/jrsm.11
.. [2] Baujat B, Mahe C, Pignon JP, Hill C (2002). A graphical method for
   exploring heterogeneity in meta-analyses: application to a meta-analysis
   of 65 trials. Stat Med 21(18):2641-2652. doi:10.1002/sim.1221
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _dist
from .._util import finite_or_none as _f
from ..errors import EstimationError, InputError
from ..io.format import fmt, fmt_ci, fmt_level, fmt_p_eq, fmt_plain, merge_ci, table_text, table_text_columns
from .estimators import fit_rma
from .fit import NotEstimable, PoolResult, pool_many

__all__ = ["Cumulative", "cumulative", "LeaveOneOut", "leave_one_out", "Influence", "influence", "baujat"]

#: the review's threshold for "substantial" heterogeneity
I2_SUBSTANTIAL = 50.0



def _frame(obj):
    """The pandas frame of a result that keeps its table as columns (built once, on first use)."""
    got = obj.__dict__.get("_frame_cache")
    if got is None:
        import pandas as pd

        got = pd.DataFrame({name: (list(v) if isinstance(v, tuple) else v) for name, v in obj.columns.items()})
        object.__setattr__(obj, "_frame_cache", got)
    return got


def _records(columns: dict) -> list:
    """The rows of a column table as dicts of plain Python values (``DataFrame.to_dict(orient="records")``)."""
    names = list(columns)
    lists = [v.tolist() if hasattr(v, "tolist") else list(v) for v in columns.values()]
    return [dict(zip(names, row)) for row in zip(*lists)]


def _ci_columns(columns: dict, name: str) -> list:
    """``(name, values)`` pairs with ci_low and ci_high merged into one text column (``io.format.merge_ci``)."""
    out = []
    for c, v in columns.items():
        if c == "ci_low":
            out.append((name, [fmt_ci(a, b) for a, b in zip(v.tolist(), columns["ci_high"].tolist())]))
        elif c != "ci_high":
            out.append((c, v))
    return out


@dataclass(frozen=True, eq=False)
class LeaveOneOut:
    """Leave-one-out results: one row per omitted study, in input order.

    ``columns``: omitted, k, estimate, se, stat, pval, ci_low, ci_high, Q, Q_pval, tau2, I2, H2, status,
    reason (numpy arrays, ``omitted`` a tuple); :attr:`frame` is the same table as a pandas frame."""

    full: PoolResult
    columns: dict = field(repr=False)

    @property
    def frame(self):
        return _frame(self)

    @property
    def sentences(self) -> tuple:
        """Plain-language findings, e.g. which omission brings I² under 50%."""
        out = []
        c = self.columns
        omitted, i2, pval = list(c["omitted"]), c["I2"], c["pval"]
        full_i2 = self.full.I2
        if np.isfinite(full_i2) and full_i2 > I2_SUBSTANTIAL:
            below = np.flatnonzero(i2 <= I2_SUBSTANTIAL)
            if not np.any(~np.isnan(i2)):
                return ("No leave-one-out refit could be estimated.",)
            if len(below):
                for j in below.tolist():
                    out.append(
                        f"Excluding {omitted[j]} lowers I² from {fmt(full_i2, 'I2')} to {fmt(float(i2[j]), 'I2')} "
                        f"(at or below {fmt_plain(I2_SUBSTANTIAL)}%)."
                    )
            else:
                j = int(np.nanargmin(i2))
                out.append(
                    f"No single omission brings I² (now {fmt(full_i2, 'I2')}) to {fmt_plain(I2_SUBSTANTIAL)}% or below; "
                    f"the lowest is {fmt(float(i2[j]), 'I2')} without {omitted[j]}."
                )
        sig_full = self.full.pval < 1 - self.full.level
        for j in np.flatnonzero(~np.isnan(pval)).tolist():
            if (pval[j] < 1 - self.full.level) != sig_full:
                word = "loses" if sig_full else "gains"
                out.append(f"Excluding {omitted[j]}, the pooled effect {word} statistical significance "
                           f"({fmt_p_eq(float(pval[j]))}).")
        for j, (st, why) in enumerate(zip(c["status"].tolist(), c["reason"].tolist())):
            if st != "ok":
                out.append(f"Without {omitted[j]} the model is not estimable: {why}.")
        if not out:
            out.append("No single study changes the conclusion or brings heterogeneity below the review's threshold.")
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        rows = [{k: (_f(v) if isinstance(v, (float, np.floating)) else v) for k, v in r.items()}
                for r in _records(self.columns)]
        return {
            "measure": self.full.measure,
            "method": self.full.method,
            "full": {"estimate": _f(self.full.estimate), "ci_low": _f(self.full.ci_low), "ci_high": _f(self.full.ci_high),
                     "tau2": _f(self.full.tau2), "I2": _f(self.full.I2)},
            "rows": rows,
            "sentences": list(self.sentences),
        }

    def to_frame(self):
        return self.frame.copy()

    def summary(self) -> str:
        lines = [f"Leave-one-out ({self.full.method}; full model: estimate {fmt(self.full.estimate, 'estimate')}, "
                 f"I² {fmt(self.full.I2, 'I2')})"]
        lines.append(table_text_columns(_ci_columns(self.columns, f"{fmt_level(self.full.level)} CI")))
        lines += list(self.sentences)
        return "\n".join(lines)

    def plot(self, path=None, **kwargs):
        from .plots import loo_forest

        return loo_forest(self, path=path, **kwargs)


def leave_one_out(res: PoolResult) -> LeaveOneOut:
    """Refit ``res`` without each study in turn (metafor ``leave1out()``).

    Works for every pooling method, Mantel-Haenszel and Peto included; the
    estimator, Knapp-Hartung choice and level are those of ``res``. Each row
    has a ``status`` (``ok`` or ``not estimable``) and a ``reason``: a refit
    that cannot be estimated never stops the others.

    Notes
    -----
    Inverse-variance refits run through :func:`hepatostat.meta.kernel.fit`
    in blocks of omitted studies, with the effect sizes shared and a mask
    per refit, so memory stays linear in k. A refit left with one study
    reports ``Q = 0``, ``Q_pval = 1``, ``tau2 = 0``, ``I2 = 0`` and ``H2 = 1``,
    as metafor's ``leave1out()`` does (k = 2).
    """
    es = res.effects
    if es is None:
        raise InputError("leave_one_out() needs a PoolResult made by pool()")
    if es.k < 2:
        raise EstimationError("leave-one-out needs at least 2 studies")
    k = es.k

    def masks(s, e):
        m = np.ones((e - s, k), dtype=bool)
        m[np.arange(e - s), np.arange(s, e)] = False
        return m

    table, status, reason = _refits(res, masks, k)
    columns = {"omitted": tuple(es.study), **table}
    columns["k"] = columns["k"].astype(int)
    columns["status"] = status
    columns["reason"] = reason
    return LeaveOneOut(full=res, columns=columns)


@dataclass(frozen=True, eq=False)
class Cumulative:
    """Cumulative meta-analysis: one row per study added, in the order analysed."""

    full: PoolResult
    frame: pd.DataFrame  # added, k, estimate, se, stat, pval, ci_low, ci_high, Q, Q_pval, tau2, I2, H2, status, reason
    order: str

    def to_dict(self) -> dict[str, Any]:
        rows = [{k: (_f(v) if isinstance(v, (float, np.floating)) else v) for k, v in r.items()}
                for r in self.frame.to_dict(orient="records")]
        return {"measure": self.full.measure, "method": self.full.method, "order": self.order, "rows": rows}

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def summary(self) -> str:
        lines = [f"Cumulative meta-analysis ({self.full.method}; order: {self.order})"]
        lines.append(table_text(merge_ci(self.frame, "ci_low", "ci_high", f"{fmt_level(self.full.level)} CI")))
        return "\n".join(lines)

    def plot(self, path=None, **kwargs):
        from .plots import cumulative_forest

        return cumulative_forest(self, path=path, **kwargs)


def _refits(res: PoolResult, masks, n: int) -> tuple:
    """Refit ``res`` on n subsets of its studies given by ``masks(start, stop)`` (bool, rows x k).

    Inverse-variance models run through the kernel in blocks (memory linear
    in k); MH and Peto refit each subset from its counts. Returns the columns
    of the result table, a status and a reason per refit.
    """
    es = res.effects
    k = es.k
    cols = ("k", "estimate", "se", "stat", "pval", "ci_low", "ci_high", "Q", "Q_pval", "tau2", "I2", "H2")
    table = {c: np.full(n, np.nan) for c in cols}
    status = np.full(n, "ok", dtype=object)
    reason = np.full(n, None, dtype=object)
    if res.method in ("MH", "PETO"):
        for i in range(n):
            keep = masks(i, i + 1)[0]
            r = pool_many([es.subset(keep)], res.method, knha=res.knha, level=res.level)[0]
            if isinstance(r, NotEstimable):
                status[i], reason[i] = r.status, r.reason
                table["k"][i] = int(keep.sum())
                continue
            for c in cols:
                table[c][i] = getattr(r, c)
    else:
        from .kernel import fit as kernel_fit

        block = max(1, (1 << 19) // k)
        for s in range(0, n, block):
            e = min(n, s + block)
            f = kernel_fit(es.yi, es.vi, masks(s, e), method=res.method, knha=res.knha, level=res.level,
                           qprofile=False)
            sl = slice(s, e)
            table["k"][sl] = f.k
            for c, src in (("estimate", "beta"), ("se", "se"), ("stat", "stat"), ("pval", "pval"),
                           ("ci_low", "ci_low"), ("ci_high", "ci_high")):
                table[c][sl] = getattr(f, src)[:, 0]
            table["Q"][sl], table["Q_pval"][sl] = f.QE, f.QE_pval
            table["tau2"][sl], table["I2"][sl], table["H2"][sl] = f.tau2, f.I2, f.H2
            status[sl], reason[sl] = f.status, f.reason
    # a refit with one study: Q = 0, p = 1, tau² = 0, I² = 0, H² = 1, as metafor's leave1out() and cumul()
    one = (table["k"] == 1) & (status == "ok")
    table["Q"][one], table["Q_pval"][one], table["tau2"][one], table["I2"][one], table["H2"][one] = 0.0, 1.0, 0.0, 0.0, 1.0
    return table, status, reason


def cumulative(res: PoolResult, order=None) -> Cumulative:
    """Cumulative meta-analysis (metafor ``cumul()``): refit as each study is added.

    Parameters
    ----------
    res : PoolResult
    order : str or array_like, optional
        A column of the input (e.g. ``"year"``; ties keep input order) or a
        sequence of values, one per study, to sort by; input order by default.

    Notes
    -----
    Study i's row is the model of the first i studies, with the estimator,
    test and level of ``res``; a model with one study reports Q = 0,
    I² = 0, H² = 1 and tau² = 0 as metafor does. Refits run through the kernel
    in blocks (memory linear in k).
    """
    import pandas as pd

    es = res.effects
    if es is None:
        raise InputError("cumulative() needs a PoolResult made by pool()")
    k = es.k
    label = "input order"
    if order is None:
        idx = np.arange(k)
    else:
        if isinstance(order, str):
            if order not in es.data.columns:
                raise InputError(f"order column '{order}' not found; columns are {', '.join(map(str, es.data.columns))}")
            label = f"by {order}"
            key = es.data[order].to_numpy()
        else:
            key = np.asarray(order)
            label = "given order"
            if key.shape[0] != k:
                raise InputError(f"order has {key.shape[0]} values for {k} studies")
        if pd.isna(pd.Series(key)).any():
            raise InputError("the order has missing values; every study needs one", column=order if isinstance(order, str) else None)
        idx = np.argsort(key, kind="stable")
    rank = np.empty(k, dtype=int)
    rank[idx] = np.arange(k)

    def masks(s, e):
        return rank[None, :] <= np.arange(s, e)[:, None]

    table, status, reason = _refits(res, masks, k)
    frame = pd.DataFrame({"added": [es.study[i] for i in idx], **table})
    frame["k"] = frame["k"].astype(int)
    frame["status"] = status
    frame["reason"] = reason
    return Cumulative(full=res, frame=frame, order=label)


@dataclass(frozen=True, eq=False)
class Influence:
    """Case-deletion diagnostics (metafor ``influence()`` and ``rstudent()``).

    ``columns``: study, rstudent, resid, se_resid, dffits, cook_d, cov_r, tau2_del, QE_del, hat, weight,
    dfbs_*, influential (numpy arrays, ``study`` a tuple); :attr:`frame` is the same table as a pandas frame."""

    columns: dict = field(repr=False)

    @property
    def frame(self):
        return _frame(self)

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for r in _records(self.columns):
            rows.append({k: (bool(v) if k == "influential" else (_f(v) if isinstance(v, (float, np.floating, int)) else v))
                         for k, v in r.items()})
        return {"rows": rows, "influential": [r["study"] for r in rows if r["influential"]]}

    def to_frame(self):
        return self.frame.copy()

    def summary(self) -> str:
        lines = ["Influence diagnostics (* = influential by metafor's criteria)"]
        f = dict(self.columns)
        f["influential"] = ["*" if x else "" for x in np.asarray(f["influential"]).tolist()]
        kinds = {c: "diag" for c in f if c not in ("study", "influential")}
        kinds.update({"weight": "weight", "tau2_del": "tau2"})
        lines.append(table_text_columns([(c, list(v) if isinstance(v, tuple) else v) for c, v in f.items()], kinds))
        return "\n".join(lines)


def _model_arrays(res):
    """(y, v, X, method, knha) of a pooled or regression result."""
    X = getattr(res, "X", None)
    if X is None:
        X = np.ones((len(res.yi), 1))
    if res.method in ("MH", "PETO"):
        raise InputError("influence diagnostics are defined for inverse-variance models (FE or random effects), not MH/Peto")
    return np.asarray(res.yi, float), np.asarray(res.vi, float), np.asarray(X, float), res.method, res.knha


def influence(res) -> Influence:
    """Outlier and influence diagnostics (Viechtbauer & Cheung 2010).

    For each study i the model is refitted without it. With ``b``, ``V`` the
    full model's coefficients and covariance (Knapp-Hartung scaled where
    used), ``h_i`` the hat value ``[X (X'WX)^-1 X'W]_ii``:

    - externally studentized residual ``(y_i - x_i b_(-i)) / sqrt(s2w_(-i)
      (v_i + tau2_(-i)) + x_i V_(-i) x_i')``;
    - DFFITS ``(x_i b - x_i b_(-i)) / sqrt(s2w_(-i) h_i (tau2_(-i) + v_i))``;
    - Cook's distance ``(b - b_(-i))' V^-1 (b - b_(-i))``;
    - covariance ratio ``det V_(-i) / det V``;
    - DFBETAS ``(b - b_(-i)) / sqrt(s2w_(-i) diag((X'W_(-i)X)^-1))`` with
      ``W_(-i)`` the weights of all studies at ``tau2_(-i)``.

    A study is flagged influential (metafor's rule) when
    ``|DFFITS| > 3 sqrt(p/(k-p))``, or the chi-square(p) CDF of Cook's
    distance > 0.5, or ``h_i > 3p/k``, or any ``|DFBETAS| > 1``.
    """
    y, v, X, method, knha = _model_arrays(res)
    k, p = X.shape
    if k - 1 < p:
        raise EstimationError("influence diagnostics need more studies than coefficients plus one")
    full = fit_rma(y, v, X, method=method, knha=knha)
    b = full.beta
    Vb = full.vb
    w = 1 / (v + full.tau2)
    XtW = X.T * w
    hat = np.einsum("ij,jk,ki->i", X, np.linalg.inv(XtW @ X), XtW)
    pred = X @ b
    Vinv = np.linalg.inv(Vb)
    cols = {k_: np.full(k, np.nan) for k_ in ("rstudent", "resid", "se_resid", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del")}
    dfbs = np.full((k, p), np.nan)
    # all k case-deleted refits through the kernel, in blocks (memory linear in k)
    from .kernel import fit as kernel_fit

    block = max(1, (1 << 18) // (k * p * p))
    for s in range(0, k, block):
        e = min(k, s + block)
        mask = np.ones((e - s, k), dtype=bool)
        mask[np.arange(e - s), np.arange(s, e)] = False
        d = kernel_fit(y, v, mask, X, method=method, knha=knha, qprofile=False)
        for j, i in enumerate(range(s, e)):
            if d.status[j] != "ok":
                continue
            bd, vbd, t2, s2w = d.beta[j], d.vb[j], float(d.tau2[j]), float(d.s2w[j])
            xi = X[i]
            delpred = xi @ bd
            vdel = xi @ vbd @ xi
            resid = y[i] - delpred
            if abs(resid) < 100 * np.finfo(float).eps:
                resid = 0.0
            se_r = math.sqrt(v[i] * s2w + vdel + t2 * s2w)
            cols["resid"][i] = resid
            cols["se_resid"][i] = se_r
            cols["rstudent"][i] = resid / se_r
            cols["dffits"][i] = (pred[i] - delpred) / math.sqrt(s2w * hat[i] * (t2 + v[i]))
            wd = 1 / (v + t2)
            vb_del = np.linalg.inv((X.T * wd) @ X)
            diff = b - bd
            dfbs[i] = diff / np.sqrt(s2w * np.diag(vb_del))
            cols["cook_d"][i] = float(diff @ Vinv @ diff)
            cols["cov_r"][i] = float(np.linalg.det(vbd) / np.linalg.det(Vb))
            cols["tau2_del"][i] = t2
            cols["QE_del"][i] = float(d.QE[j])
    weight = w / w.sum() * 100
    infl = (
        (np.abs(cols["dffits"]) > 3 * math.sqrt(p / (k - p)))
        | (_dist.chi2_cdf(cols["cook_d"], p) > 0.5)
        | (hat > 3 * p / k)
        | np.any(np.abs(dfbs) > 1, axis=1)
    )
    terms = getattr(res, "terms", ("intrcpt",))
    columns = {"study": tuple(res.study), **cols, "hat": hat, "weight": weight}
    for j, t in enumerate(terms):
        columns[f"dfbs_{t}"] = dfbs[:, j]
    columns["influential"] = infl
    return Influence(columns=columns)


def baujat(res) -> pd.DataFrame:
    """Baujat plot data (Baujat et al. 2002), as metafor's ``baujat()``.

    ``x``: each study's contribution to the heterogeneity statistic,
    ``(y_i - x_i b)^2 / (tau2 + v_i)``; ``y``: its influence on the pooled
    result, ``(x_i b_(-i) - x_i b)^2 / (x_i V_(-i) x_i')``.
    """
    import pandas as pd

    y, v, X, method, knha = _model_arrays(res)
    k = len(y)
    full = fit_rma(y, v, X, method=method, knha=knha)
    pred = X @ full.beta
    xs = (y - pred) ** 2 / (full.tau2 + v)
    ys = np.full(k, np.nan)
    for i in range(k):
        m = np.ones(k, dtype=bool)
        m[i] = False
        d = fit_rma(y[m], v[m], X[m], method=method, knha=knha)
        xi = X[i]
        ys[i] = (xi @ d.beta - pred[i]) ** 2 / (xi @ d.vb @ xi)
    return pd.DataFrame({"study": list(res.study), "x": xs, "y": ys})
