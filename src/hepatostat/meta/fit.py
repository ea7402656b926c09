"""Pooling: fixed effect, random effects (DL, REML, ML, PM, SJ, HE, EB),
Mantel-Haenszel and Peto, with heterogeneity statistics.

``pool()`` takes the per-study effect sizes of :func:`hepatostat.meta.effects`
and returns a frozen :class:`PoolResult`. Defaults follow R metafor 3.8
(``rma(yi, vi, method="REML")``). ``method="auto"`` applies the rule of the
review this project reproduces (Liu et al. 2022, Stem Cell Res Ther,
doi:10.1186/s13287-022-02882-4): random effects when Cochran's Q has
p < 0.10 or I^2 > 50%, otherwise the fixed-effect model; the decision and
the numbers behind it are reported in ``model_rule``.

References
----------
.. [1] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
   package. J Stat Softw 36(3):1-48. doi:10.18637/jss.v036.i03
.. [2] Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). A re-evaluation of
   random-effects meta-analysis. J R Stat Soc A 172(1):137-159.
   doi:10.1111/j.1467-985X.2008.00552.x (prediction interval)
.. [3] Cochran WG (1954). The combination of estimates from different
   experiments. Biometrics 10(1):101-129. doi:10.2307/3001666
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import _dist
from ..errors import EstimationError, HepatostatError, InputError
from .data import Exclusion
from .effects import MEASURES, EffectSizes, effects
from .estimators import METHODS, RE_METHODS, fit_rma, qprofile_tau2_ci
from .mh import mantel_haenszel, peto, peto_q

__all__ = ["ALL_METHODS", "PoolResult", "PerResult", "pool", "pool_per", "review_rule"]

ALL_METHODS = METHODS + ("MH", "PETO", "AUTO")

#: the review's thresholds: random effects when Q p < 0.10 or I^2 > 50 %
RULE_Q_P = 0.10
RULE_I2 = 50.0


def _f(x):
    """float or None (for JSON); NaN and inf become None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def review_rule(Q_pval: float, I2: float) -> tuple[bool, str]:
    """The review's model rule: ``(random, explanation)``.

    Random effects when Cochran's Q p < 0.10 or I^2 > 50 % (I^2 from Q,
    Higgins & Thompson 2002), as in Liu et al. 2022.
    """
    if not (np.isfinite(Q_pval) and np.isfinite(I2)):
        return False, "heterogeneity not estimable (k = 1)"
    random = Q_pval < RULE_Q_P or I2 > RULE_I2
    why = (
        f"Q p = {Q_pval:.3g} {'<' if Q_pval < RULE_Q_P else '>='} {RULE_Q_P:g}, "
        f"I² = {I2:.1f}% {'>' if I2 > RULE_I2 else '<='} {RULE_I2:g}%"
    )
    return random, why


@dataclass(frozen=True, eq=False)
class PoolResult:
    """A pooled meta-analytic estimate.

    Estimates are on the analysis scale (log scale for OR, RR and PETO);
    :meth:`exp` gives them back-transformed. ``weights`` are in percent.
    """

    measure: str
    method: str
    knha: bool
    level: float
    k: int
    estimate: float
    se: float
    stat: float
    pval: float
    ci_low: float
    ci_high: float
    df: float | None
    tau2: float
    se_tau2: float
    tau2_ci: tuple
    I2: float
    I2_ci: tuple
    H2: float
    H2_ci: tuple
    Q: float
    Q_df: int
    Q_pval: float
    pi_low: float
    pi_high: float
    study: tuple
    yi: np.ndarray
    vi: np.ndarray
    weights: np.ndarray
    model_rule: str
    random: bool
    excluded: tuple = ()
    notes: tuple = ()
    cmh: float = np.nan
    cmh_pval: float = np.nan
    effects: EffectSizes | None = field(default=None, repr=False)

    @property
    def log_scale(self) -> bool:
        return MEASURES[self.measure][2]

    @property
    def model(self) -> str:
        return "random effects" if self.random else "fixed effect"

    def exp(self) -> dict[str, float] | None:
        """Back-transformed estimate, CI and PI for OR/RR/PETO (else None)."""
        if not self.log_scale:
            return None
        return {
            "estimate": math.exp(self.estimate),
            "ci_low": math.exp(self.ci_low),
            "ci_high": math.exp(self.ci_high),
            "pi_low": math.exp(self.pi_low),
            "pi_high": math.exp(self.pi_high),
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``hepatostat meta pool`` (NaN as None)."""
        out: dict[str, Any] = {
            "measure": self.measure,
            "method": self.method,
            "model": self.model,
            "test": "knha" if self.knha else "z",
            "level": self.level,
            "k": self.k,
            "estimate": _f(self.estimate),
            "se": _f(self.se),
            "stat": _f(self.stat),
            "df": _f(self.df),
            "ci_low": _f(self.ci_low),
            "ci_high": _f(self.ci_high),
            "pval": _f(self.pval),
            "tau2": _f(self.tau2),
            "se_tau2": _f(self.se_tau2),
            "tau2_ci": [_f(x) for x in self.tau2_ci],
            "tau": _f(math.sqrt(self.tau2)) if np.isfinite(self.tau2) else None,
            "I2": _f(self.I2),
            "I2_ci": [_f(x) for x in self.I2_ci],
            "H2": _f(self.H2),
            "H2_ci": [_f(x) for x in self.H2_ci],
            "Q": _f(self.Q),
            "Q_df": int(self.Q_df),
            "Q_pval": _f(self.Q_pval),
            "pi_low": _f(self.pi_low),
            "pi_high": _f(self.pi_high),
            "model_rule": self.model_rule,
            "studies": [
                {"study": s, "yi": _f(y), "vi": _f(v), "weight": _f(w)}
                for s, y, v, w in zip(self.study, self.yi, self.vi, self.weights)
            ],
            "excluded": [e.to_dict() for e in self.excluded],
            "notes": list(self.notes),
        }
        if self.method == "MH" and self.measure == "OR":
            out["cmh"] = {"stat": _f(self.cmh), "pval": _f(self.cmh_pval)}
        e = self.exp()
        if e is not None:
            out["exp"] = {key: _f(v) for key, v in e.items()}
        return out

    def to_frame(self) -> pd.DataFrame:
        """Per-study rows (``study, yi, vi, sei, ci_low, ci_high, weight``)
        followed by the pooled row (``study == "Pooled (<model>)"``)."""
        crit = _dist.norm_isf((1 - self.level) / 2)
        sei = np.sqrt(self.vi)
        rows = pd.DataFrame(
            {
                "study": list(self.study),
                "yi": self.yi,
                "vi": self.vi,
                "sei": sei,
                "ci_low": self.yi - crit * sei,
                "ci_high": self.yi + crit * sei,
                "weight": self.weights,
            }
        )
        pooled = pd.DataFrame(
            {
                "study": [f"Pooled ({self.model}, {self.method})"],
                "yi": [self.estimate],
                "vi": [self.se**2],
                "sei": [self.se],
                "ci_low": [self.ci_low],
                "ci_high": [self.ci_high],
                "weight": [100.0],
            }
        )
        return pd.concat([rows, pooled], ignore_index=True)

    def summary(self, digits: int = 4) -> str:
        """A plain-text report in the spirit of metafor's ``print.rma``."""
        d = digits
        lvl = f"{100 * self.level:g}%"
        name = MEASURES[self.measure][1]
        head = {
            "FE": "Fixed-effect (inverse-variance) model",
            "MH": "Fixed-effect model, Mantel-Haenszel method",
            "PETO": "Fixed-effect model, Peto's method",
        }.get(self.method, f"Random-effects model (tau² estimator: {self.method})")
        lines = [f"{head}; k = {self.k}; {name} ({self.measure})"]
        if self.random:
            ci = ""
            if np.isfinite(self.tau2_ci[0]):
                ci = f" [{self.tau2_ci[0]:.{d}f}, {self.tau2_ci[1]:.{d}f}]"
            lines.append(f"tau² = {self.tau2:.{d}f}{ci} (SE = {self.se_tau2:.{d}f}), tau = {math.sqrt(self.tau2):.{d}f}")
        if np.isfinite(self.I2):
            ci = ""
            if np.isfinite(self.I2_ci[0]):
                ci = f" [{self.I2_ci[0]:.2f}, {self.I2_ci[1]:.2f}]"
            lines.append(f"I² = {self.I2:.2f}%{ci}, H² = {self.H2:.{d}f}")
            lines.append(f"Heterogeneity: Q({self.Q_df}) = {self.Q:.{d}f}, p {_pfmt(self.Q_pval)}")
        else:
            lines.append("Heterogeneity: not estimable (k = 1)")
        stat = f"t({self.df:g})" if self.knha else "z"
        lines.append(
            f"Estimate = {self.estimate:.{d}f}, SE = {self.se:.{d}f}, {stat} = {self.stat:.{d}f}, "
            f"p {_pfmt(self.pval)}, {lvl} CI [{self.ci_low:.{d}f}, {self.ci_high:.{d}f}]"
        )
        if self.random:
            lines.append(f"{lvl} prediction interval [{self.pi_low:.{d}f}, {self.pi_high:.{d}f}]")
        e = self.exp()
        if e is not None:
            label = {"OR": "OR", "RR": "RR", "PETO": "OR (Peto)"}[self.measure]
            lines.append(
                f"{label} = {e['estimate']:.{d}f}, {lvl} CI [{e['ci_low']:.{d}f}, {e['ci_high']:.{d}f}]"
                + (f", PI [{e['pi_low']:.{d}f}, {e['pi_high']:.{d}f}]" if self.random else "")
            )
        if self.method == "MH" and self.measure == "OR" and np.isfinite(self.cmh):
            lines.append(f"Cochran-Mantel-Haenszel test: {self.cmh:.{d}f}, p {_pfmt(self.cmh_pval)}")
        lines.append(f"Model choice: {self.model_rule}")
        for e in self.excluded:
            lines.append(f"Excluded: {e.study}: {e.reason}")
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, path=None, **kwargs):
        """Forest plot (see :func:`hepatostat.meta.plots.forest`)."""
        from .plots import forest

        return forest(self, path=path, **kwargs)


def _pfmt(p: float) -> str:
    if not np.isfinite(p):
        return "= NA"
    return "< .0001" if p < 1e-4 else f"= {p:.4f}"


def pool(
    es: EffectSizes,
    method: str = "REML",
    *,
    knha: bool = False,
    level: float = 0.95,
    auto_random: str = "DL",
) -> PoolResult:
    """Pool per-study effect sizes.

    Parameters
    ----------
    es : EffectSizes
        From :func:`hepatostat.meta.effects`.
    method : str
        ``"FE"`` (inverse variance), a tau^2 estimator for random effects
        (``"DL"``, ``"REML"`` (default), ``"ML"``, ``"PM"``, ``"SJ"``, ``"HE"``,
        ``"EB"``), ``"MH"`` (Mantel-Haenszel; OR, RR, RD), ``"PETO"`` (Peto's
        OR), or ``"auto"``: the review's rule (random effects with
        ``auto_random`` when Q p < 0.10 or I^2 > 50 %, else FE).
    knha : bool
        Knapp-Hartung adjustment (t distribution with k - 1 df).
    level : float
        Confidence level (``confidence_level`` in scipy's words), in (0, 1).
    auto_random : str
        The tau^2 estimator ``method="auto"`` uses for random effects;
        ``"DL"`` by default, as Stata's ``metan`` (which the review used).

    Returns
    -------
    PoolResult

    Notes
    -----
    The prediction interval is ``estimate ± crit * sqrt(se^2 + tau2)`` with
    ``crit`` from the normal distribution, or from t with k - 1 df under
    Knapp-Hartung (metafor's ``predict.rma``); for fixed-effect models it
    equals the confidence interval. Q-profile intervals for tau^2, I^2 and
    H^2 are given for random-effects models (Viechtbauer 2007).

    With k = 1 the pooled estimate is the study's own; tau^2 is 0 and Q, I^2
    and H^2 are not estimable (NaN), which the result says in ``notes``.
    """
    if not isinstance(es, EffectSizes):
        raise InputError("pool() needs the EffectSizes returned by hepatostat.meta.effects()")
    method = str(method).upper()
    if method not in ALL_METHODS:
        raise InputError(f"unknown method {method!r}; allowed: {', '.join(ALL_METHODS)}")
    if not (0 < level < 1):
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    auto_random = str(auto_random).upper()
    if auto_random not in RE_METHODS:
        raise InputError(f"auto_random must be one of {', '.join(RE_METHODS)}, got {auto_random!r}")
    if es.k == 0:
        raise EstimationError("no studies left to pool" + _excluded_text(es.excluded))
    notes = list(es.notes)
    y, v = es.yi, es.vi

    # heterogeneity by the review's rule, from the fixed-effect fit
    fe = fit_rma(y, v, method="FE")
    wants_random, why = review_rule(fe.QEp, fe.I2)
    if method == "AUTO":
        chosen = auto_random if wants_random else "FE"
        rule = f"auto: {why} → {'random effects (' + auto_random + ')' if wants_random else 'fixed effect'}"
        method = chosen
    else:
        random = method in RE_METHODS
        rule = (
            f"{method} as requested ({'random effects' if random else 'fixed effect'}); "
            f"the review's rule ({why}) would choose {'random effects' if wants_random else 'fixed effect'}"
        )
    if es.k == 1:
        notes.append("k = 1: the pooled estimate is the study's own; heterogeneity (tau², Q, I²) is not estimable")
        if knha:
            notes.append("Knapp-Hartung needs k >= 2: z test used")
            knha = False

    if method in ("MH", "PETO"):
        return _pool_counts(es, method, level, rule, notes)

    f = fit_rma(y, v, method=method, knha=knha)
    est = float(f.beta[0])
    se = float(math.sqrt(f.vb[0, 0]))
    stat = est / se if se > 0 else np.nan
    if knha:
        crit = _dist.t_isf((1 - level) / 2, f.df)
        pval = 2 * _dist.t_sf(abs(stat), f.df) if np.isfinite(stat) else np.nan
        df = f.df
    else:
        crit = _dist.norm_isf((1 - level) / 2)
        pval = 2 * _dist.norm_sf(abs(stat)) if np.isfinite(stat) else np.nan
        df = None
    random = method in RE_METHODS
    tau2_ci = I2_ci = H2_ci = (np.nan, np.nan)
    if random and es.k > 1:
        tau2_ci = qprofile_tau2_ci(y, v, level=level)
        I2_ci = tuple(100 * t / (f.vt + t) for t in tau2_ci)
        H2_ci = tuple(t / f.vt + 1 for t in tau2_ci)
    if random:
        pi_se = math.sqrt(se**2 + f.tau2)
        pi = (est - crit * pi_se, est + crit * pi_se)
    else:
        pi = (est - crit * se, est + crit * se)
    w = f.wi / f.wi.sum() * 100
    if es.k > 1 and f.tau2 == 0 and random:
        notes.append(f"tau² estimated at its lower bound 0 ({method}): the random-effects model reduces to the fixed-effect model")
    return PoolResult(
        measure=es.measure, method=method, knha=knha, level=level, k=es.k,
        estimate=est, se=se, stat=stat, pval=float(pval),
        ci_low=est - crit * se, ci_high=est + crit * se, df=df,
        tau2=f.tau2, se_tau2=f.se_tau2 if random else np.nan, tau2_ci=tau2_ci,
        I2=f.I2, I2_ci=I2_ci, H2=f.H2, H2_ci=H2_ci,
        Q=f.QE, Q_df=f.QE_df, Q_pval=f.QEp, pi_low=pi[0], pi_high=pi[1],
        study=es.study, yi=y, vi=v, weights=w, model_rule=rule, random=random,
        excluded=es.excluded, notes=tuple(notes), effects=es,
    )


def _pool_counts(es, method, level, rule, notes):
    if es.kind != "binary":
        raise InputError(f"method {method} needs event counts (study,e1,n1,e2,n2), not {es.kind} data")
    if method == "PETO" and es.measure not in ("OR", "PETO"):
        raise InputError(f"Peto's method pools odds ratios: use measure OR or PETO, not {es.measure}")
    if method == "MH" and es.measure not in ("OR", "RR", "RD"):
        raise InputError(f"Mantel-Haenszel pooling is for OR, RR or RD, not {es.measure}")
    d = es.data
    counts = [d[c].to_numpy(float) for c in ("e1", "n1", "e2", "n2")]
    measure = "OR" if method == "PETO" else es.measure
    # Q and I^2 from the inverse-variance effects, double-zero studies left out (metafor drop00=TRUE)
    het = effects(d, "PETO" if method == "PETO" else measure, add=es.options.get("add", 0.5),
                  to=es.options.get("to", "only0"), drop00=True)
    if method == "MH":
        cf = mantel_haenszel(*counts, measure)
        k_yi = het.k
        Q = max(0.0, float(np.sum((het.yi - cf.estimate) ** 2 / het.vi))) if k_yi > 1 else 0.0
    else:
        cf = peto(*counts)
        Q, k_yi = peto_q(*counts)
    if k_yi > 1:
        Q_df = k_yi - 1
        Q_p = float(_dist.chi2_sf(Q, Q_df))
        I2 = max(0.0, 100 * (Q - Q_df) / Q) if Q > 0 else 0.0
        H2 = Q / Q_df
    else:
        Q_df, Q_p, I2, H2 = 0, np.nan, np.nan, np.nan
    if het.excluded:
        which = ", ".join(e.study for e in het.excluded)
        notes.append(
            f"no events (or only events) in both arms: {which} — "
            + ("contribute nothing to the pooled odds/risk ratio" if measure != "RD" else "included in the pooled risk difference")
            + " and are left out of Q and I²"
        )
    crit = _dist.norm_isf((1 - level) / 2)
    est, se = cf.estimate, cf.se
    z = est / se
    p = 2 * _dist.norm_sf(abs(z))
    w = cf.weights / cf.weights.sum() * 100
    # per-study yi/vi shown are the corrected inverse-variance ones (as metafor's forest plot)
    yi, vi = es.yi, es.vi
    if method == "PETO" and es.measure != "PETO":
        shown = effects(d, "PETO", add=es.options.get("add", 0.5), to=es.options.get("to", "only0"))
        yi, vi = shown.yi, shown.vi
    return PoolResult(
        measure="PETO" if method == "PETO" else es.measure, method=method, knha=False, level=level,
        k=len(d), estimate=est, se=se, stat=z, pval=float(p),
        ci_low=est - crit * se, ci_high=est + crit * se, df=None,
        tau2=0.0, se_tau2=np.nan, tau2_ci=(np.nan, np.nan), I2=I2, I2_ci=(np.nan, np.nan),
        H2=H2, H2_ci=(np.nan, np.nan), Q=Q, Q_df=Q_df, Q_pval=Q_p,
        pi_low=est - crit * se, pi_high=est + crit * se,
        study=es.study, yi=yi, vi=vi, weights=w, model_rule=rule, random=False,
        excluded=es.excluded, notes=tuple(notes), cmh=cf.cmh, cmh_pval=cf.cmh_pval, effects=es,
    )


def _excluded_text(excluded) -> str:
    if not excluded:
        return ""
    return " (excluded: " + "; ".join(f"{e.study}: {e.reason}" for e in excluded) + ")"


@dataclass(frozen=True, eq=False)
class PerResult:
    """Independent analyses, one per value of a column (``--per``)."""

    column: str
    values: tuple
    results: tuple  # PoolResult or None, aligned with values
    errors: tuple  # str or None, aligned with values

    def to_dict(self) -> dict[str, Any]:
        analyses = []
        for val, res, err in zip(self.values, self.results, self.errors):
            row: dict[str, Any] = {"per": val}
            if res is not None:
                row.update(res.to_dict())
            else:
                row.update({"k": 0, "error": err})
            analyses.append(row)
        return {"per_column": self.column, "analyses": analyses}

    def to_frame(self) -> pd.DataFrame:
        cols = ["k", "estimate", "se", "ci_low", "ci_high", "pval", "tau2", "I2", "Q", "Q_pval"]
        rows = []
        for val, res, err in zip(self.values, self.results, self.errors):
            row = {self.column: val}
            if res is not None:
                d = res.to_dict()
                row.update({c: d[c] for c in cols})
                row["method"] = res.method
                row["error"] = None
            else:
                row.update({c: None for c in cols})
                row["method"] = None
                row["error"] = err
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        parts = []
        for val, res, err in zip(self.values, self.results, self.errors):
            parts.append(f"== {self.column} = {val} ==")
            parts.append(res.summary() if res is not None else f"not estimable: {err}")
        return "\n".join(parts)


def pool_per(
    data: pd.DataFrame,
    per: str,
    measure: str,
    method: str = "REML",
    *,
    knha: bool = False,
    level: float = 0.95,
    source: str | None = None,
    effect_options: dict | None = None,
    auto_random: str = "DL",
) -> PerResult:
    """Run one independent analysis per value of column ``per``.

    Values keep their order of first appearance. An analysis that cannot be
    estimated (e.g. no studies left) is reported with its reason instead of
    stopping the others; bad input still raises.
    """
    if per not in data.columns:
        raise InputError(
            f"--per column '{per}' not found; columns are {', '.join(map(str, data.columns))}", file=source
        )
    effect_options = effect_options or {}
    values, results, errors = [], [], []
    col = data[per]
    for val in pd.unique(col):
        mask = col.isna() if pd.isna(val) else (col == val)
        sub = data.loc[mask]
        label = None if pd.isna(val) else (val.item() if hasattr(val, "item") else val)
        try:
            es = effects(sub, measure, source=source, **effect_options)
            res = pool(es, method, knha=knha, level=level, auto_random=auto_random)
            results.append(res)
            errors.append(None)
        except EstimationError as exc:
            results.append(None)
            errors.append(str(exc))
        except HepatostatError as exc:
            raise type(exc)(f"{per} = {label}: {exc}") from None
        values.append(label)
    return PerResult(per, tuple(values), tuple(results), tuple(errors))
