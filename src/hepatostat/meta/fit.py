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
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from . import _dist
from .._util import finite_or_none as _f
from ..errors import EstimationError, InputError
from ..io.format import (DEFAULT, fmt, fmt_ci, fmt_level, fmt_p, fmt_p_eq, fmt_plain, fmt_sig, fmt_stat,
                         with_digits)
from .data import Exclusion, exclusion_text, spreadsheet_rows
from .effects import MEASURES, EffectSizes, effects, split_by_code
from .codes import ALL_METHODS, METHODS, RE_METHODS
from .mh import mantel_haenszel, peto, peto_q

__all__ = ["ALL_METHODS", "NotEstimable", "PoolResult", "PerResult", "pool", "pool_many", "pool_per", "review_rule"]


#: the review's thresholds: random effects when Q p < 0.10 or I^2 > 50 %
RULE_Q_P = 0.10
RULE_I2 = 50.0



def review_rule(Q_pval: float, I2: float) -> tuple[bool, str]:
    """The review's model rule: ``(random, explanation)``.

    Random effects when Cochran's Q p < 0.10 or I^2 > 50 % (I^2 from Q,
    Higgins & Thompson 2002), as in Liu et al. 2022.
    """
    if not (np.isfinite(Q_pval) and np.isfinite(I2)):
        return False, "heterogeneity not estimable (k = 1)"
    random = Q_pval < RULE_Q_P or I2 > RULE_I2
    # more decimals only when the rounded value would read as the threshold itself
    p_style = DEFAULT
    while fmt_p(Q_pval, p_style) == fmt_p(RULE_Q_P, p_style) and Q_pval != RULE_Q_P and p_style.p_decimals < 8:
        p_style = p_style.with_(p_decimals=p_style.p_decimals + 1)
    i_style = DEFAULT
    while fmt(I2, "I2", i_style) == fmt(RULE_I2, "I2", i_style) and I2 != RULE_I2 and i_style.digits("I2") < 8:
        i_style = i_style.with_(decimals={"I2": i_style.digits("I2") + 1})
    why = (
        f"{fmt_p_eq(Q_pval, p_style, letter='Q p')} {'<' if Q_pval < RULE_Q_P else '>='} {fmt_plain(RULE_Q_P)}, "
        f"I² = {fmt(I2, 'I2', i_style)} {'>' if I2 > RULE_I2 else '<='} {fmt_plain(RULE_I2)}%"
    )
    return random, why



def _exp(x: float) -> float:
    """``math.exp`` that gives inf instead of raising OverflowError (NaN stays NaN)."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


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
    convention: str = "metafor"

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
        return {key: _exp(getattr(self, key)) for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")}

    def _exp_note(self) -> str | None:
        """A sentence when a back-transformed bound exceeds the floating-point range (shown as inf / null)."""
        e = self.exp()
        if e is None:
            return None
        over = [key for key, v in e.items() if math.isinf(v) and math.isfinite(getattr(self, key))]
        if not over:
            return None
        return (f"the back-transformed {', '.join(over)} (exp of the {MEASURES[self.measure][1]}) "
                f"{'exceeds' if len(over) == 1 else 'exceed'} the largest floating-point number; shown as inf (null in JSON): the data carry "
                "almost no information on this effect")

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
            "convention": self.convention,
            "studies": [
                {"study": s, "yi": _f(y), "vi": _f(v), "weight": _f(w)}
                for s, y, v, w in zip(self.study, self.yi, self.vi, self.weights)
            ],
            "excluded": [e.to_dict() for e in self.excluded],
            "notes": list(self.notes),
        }
        note = self._exp_note()
        if note is not None:
            out["notes"].append(note)
        if self.method == "MH" and self.measure == "OR":
            out["cmh"] = {"stat": _f(self.cmh), "pval": _f(self.cmh_pval)}
        e = self.exp()
        if e is not None:
            out["exp"] = {key: _f(v) for key, v in e.items()}
        return out

    def to_frame(self) -> pd.DataFrame:
        """Per-study rows (``study, yi, vi, sei, ci_low, ci_high, weight``)
        followed by the pooled row (``study == "Pooled (<model>)"``)."""
        import pandas as pd
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

    def _column_frame(self):
        """:meth:`to_frame` as a :class:`~hepatostat.meta._light.ColumnFrame` (its CSV without pandas)."""
        from ._light import ColumnFrame

        crit = _dist.norm_isf((1 - self.level) / 2)
        sei = np.sqrt(self.vi)
        cat = np.concatenate
        return ColumnFrame([
            ("study", [*self.study, f"Pooled ({self.model}, {self.method})"]),
            ("yi", cat([np.asarray(self.yi, float), [self.estimate]])),
            ("vi", cat([np.asarray(self.vi, float), [self.se**2]])),
            ("sei", cat([sei, [self.se]])),
            ("ci_low", cat([self.yi - crit * sei, [self.ci_low]])),
            ("ci_high", cat([self.yi + crit * sei, [self.ci_high]])),
            ("weight", cat([np.asarray(self.weights, float), [100.0]])),
        ])

    def summary(self, digits: int | None = None) -> str:
        """A plain-text report in the spirit of metafor's ``print.rma``.

        Numbers in the journal style of :mod:`hepatostat.io.format`
        (``digits`` sets the decimals of every statistic but P and I²).
        """
        st = with_digits(digits)
        lvl = fmt_level(self.level)
        name = MEASURES[self.measure][1]
        head = {
            "FE": "Fixed-effect (inverse-variance) model",
            "MH": "Fixed-effect model, Mantel-Haenszel method",
            "PETO": "Fixed-effect model, Peto's method",
        }.get(self.method, f"Random-effects model (tau² estimator: {self.method})")
        lines = [f"{head}; k = {fmt(self.k, 'int', st)}; {name} ({self.measure})"]
        if self.random:
            ci = ""
            if np.isfinite(self.tau2_ci[0]):
                ci = f" ({lvl} CI {fmt_ci(self.tau2_ci[0], self.tau2_ci[1], 'tau2', st)})"
            lines.append(f"tau² = {fmt(self.tau2, 'tau2', st)}{ci} (SE = {fmt(self.se_tau2, 'se', st)}), "
                         f"tau = {fmt(math.sqrt(self.tau2), 'tau2', st)}")
        if np.isfinite(self.I2):
            ci = ""
            if np.isfinite(self.I2_ci[0]):
                ci = f" ({lvl} CI {fmt_ci(self.I2_ci[0], self.I2_ci[1], 'I2', st)})"
            lines.append(f"I² = {fmt(self.I2, 'I2', st)}{ci}, H² = {fmt(self.H2, 'stat', st)}")
            lines.append(f"Heterogeneity: {fmt_stat('Q', self.Q, self.Q_df, style=st)}, {fmt_p_eq(self.Q_pval, st)}")
        else:
            lines.append("Heterogeneity: not estimable (k = 1)")
        stat = fmt_stat("t", self.stat, self.df, style=st) if self.knha else fmt_stat("z", self.stat, style=st)
        lines.append(
            f"Estimate = {fmt(self.estimate, 'estimate', st)}, SE = {fmt(self.se, 'se', st)}, {stat}, "
            f"{fmt_p_eq(self.pval, st)}, {lvl} CI {fmt_ci(self.ci_low, self.ci_high, 'ci', st)}"
        )
        if self.random and self.convention not in ("revman5", "stata"):
            lines.append(f"{lvl} prediction interval {fmt_ci(self.pi_low, self.pi_high, 'ci', st)}")
        e = self.exp()
        if e is not None:
            label = {"OR": "OR", "RR": "RR", "PETO": "OR (Peto)"}[self.measure]
            lines.append(
                f"{label} = {fmt(e['estimate'], 'ratio', st)}, {lvl} CI {fmt_ci(e['ci_low'], e['ci_high'], 'ratio', st)}"
                + (f", PI {fmt_ci(e['pi_low'], e['pi_high'], 'ratio', st)}" if self.random else "")
            )
        if self.method == "MH" and self.measure == "OR" and np.isfinite(self.cmh):
            lines.append(f"Cochran-Mantel-Haenszel test: {fmt(self.cmh, 'stat', st)}, {fmt_p_eq(self.cmh_pval, st)}")
        lines.append(f"Model choice: {self.model_rule}")
        from .conventions import get_convention

        lines.append(f"Convention: {get_convention(self.convention).text(self.method, self.knha)}")
        for e in self.excluded:
            lines.append(f"Excluded: {e.study}: {e.reason}")
        for n in self.notes:
            lines.append(f"Note: {n}")
        note = self._exp_note()
        if note is not None:
            lines.append(f"Note: {note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"PoolResult(measure={self.measure!r}, method={self.method!r}, k={self.k}, "
                f"estimate={fmt_sig(self.estimate)}, ci=[{fmt_sig(self.ci_low)}, {fmt_sig(self.ci_high)}], "
                f"tau2={fmt_sig(self.tau2)})")

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self.summary())}</pre>"

    def plot(self, path=None, **kwargs):
        """Forest plot (see :func:`hepatostat.meta.plots.forest`)."""
        from .plots import forest

        return forest(self, path=path, **kwargs)


def pool(
    es: EffectSizes | None = None,
    method: str | None = None,
    *,
    yi=None,
    vi=None,
    study=None,
    measure: str = "GEN",
    knha: bool | None = None,
    level: float = 0.95,
    auto_random: str = "DL",
    convention: str = "metafor",
    confidence_level: float | None = None,
) -> PoolResult:
    """Pool per-study effect sizes.

    Parameters
    ----------
    es : EffectSizes, optional
        From :func:`hepatostat.meta.effects`. Or give ``yi`` and ``vi``.
    method : str
        ``"FE"`` (inverse variance), a tau^2 estimator for random effects
        (``"DL"``, ``"REML"`` (default), ``"ML"``, ``"PM"``, ``"SJ"``, ``"HE"``,
        ``"EB"``), ``"MH"`` (Mantel-Haenszel; OR, RR, RD), ``"PETO"`` (Peto's
        OR), or ``"auto"``: the review's rule (random effects with
        ``auto_random`` when Q p < 0.10 or I^2 > 50 %, else FE).
    yi, vi : array_like, optional
        Effect sizes and sampling variances, in place of ``es`` (as metafor's
        ``rma(yi, vi)``); ``study`` labels them (default ``"1"``, ``"2"``, ...)
        and ``measure`` names their scale (default ``"GEN"``; ``"OR"``/``"RR"``
        for log ratios, which adds the back-transformed ``exp`` block).
    knha : bool
        Knapp-Hartung adjustment (t distribution with k - 1 df).
    level, confidence_level : float
        Confidence level, in (0, 1); ``confidence_level`` is scipy's name and
        is accepted as the same argument.
    auto_random : str
        The tau^2 estimator ``method="auto"`` uses for random effects;
        ``"DL"`` by default, as Stata's ``metan`` (which the review used).
    convention : {"metafor", "cochrane2025", "revman5", "stata"}
        Fills in ``method`` and ``knha`` when they are not given (see
        :mod:`hepatostat.meta.conventions`); its name is part of the result.

    Returns
    -------
    PoolResult

    Raises
    ------
    hepatostat.errors.EstimationError
        When the analysis cannot be estimated (the reason is in the message).

    Notes
    -----
    The prediction interval is ``estimate ± crit * sqrt(se^2 + tau2)`` with
    ``crit`` from the normal distribution, or from t with k - 1 df under
    Knapp-Hartung (metafor's ``predict.rma``); for fixed-effect models it
    equals the confidence interval. Q-profile intervals for tau^2, I^2 and
    H^2 are given for random-effects models (Viechtbauer 2007). The fit is
    :func:`hepatostat.meta.kernel.fit` with m = 1.

    With k = 1 the pooled estimate is the study's own; tau^2 is 0 and Q, I^2
    and H^2 are not estimable (NaN), which the result says in ``notes``.
    """
    if es is None:
        if yi is None or vi is None:
            raise InputError("pool() needs the EffectSizes of hepatostat.meta.effects(), or yi= and vi=")
        es = EffectSizes.from_arrays(yi, vi, study=study, measure=measure)
    elif yi is not None or vi is not None:
        raise InputError("give pool() either EffectSizes or yi= and vi=, not both")
    if not isinstance(es, EffectSizes):
        raise InputError("pool() needs the EffectSizes returned by hepatostat.meta.effects() (or yi= and vi=)")
    if es.k == 0:
        raise EstimationError(_in_file(es, "no studies left to pool" + _excluded_text(es.excluded)))
    if confidence_level is not None:  # scipy's name for the same thing
        if level != 0.95 and level != confidence_level:
            raise InputError(f"give level or confidence_level, not both ({level!r} and {confidence_level!r})")
        level = confidence_level
    out = pool_many([es], method, knha=knha, level=level, auto_random=auto_random, convention=convention)[0]
    if isinstance(out, NotEstimable):
        raise EstimationError(out.reason)
    return out


def _check_args(method, level, auto_random):
    method = str(method).upper()
    if method not in ALL_METHODS:
        raise InputError(f"unknown method {method!r}; allowed: {', '.join(ALL_METHODS)}")
    if not (0 < level < 1):
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    auto_random = str(auto_random).upper()
    if auto_random not in RE_METHODS:
        raise InputError(f"auto_random must be one of {', '.join(RE_METHODS)}, got {auto_random!r}")
    return method, auto_random


def _rule_text(method: str, wants_random: bool, why: str, auto_random: str) -> str:
    if method == "AUTO":
        return f"auto: {why} → {'random effects (' + auto_random + ')' if wants_random else 'fixed effect'}"
    random = method in RE_METHODS
    return (
        f"{method} as requested ({'random effects' if random else 'fixed effect'}); "
        f"the review's rule ({why}) would choose {'random effects' if wants_random else 'fixed effect'}"
    )


@dataclass(frozen=True)
class NotEstimable:
    """An analysis of :func:`pool_many` that could not be estimated, and why."""

    reason: str
    k: int = 0
    excluded: tuple = ()
    status: str = "not estimable"

    def to_dict(self) -> dict[str, Any]:
        return {"k": self.k, "status": self.status, "error": self.reason,
                "excluded": [e.to_dict() for e in self.excluded]}


def _resolve(method, knha, level, auto_random, convention):
    """The convention's defaults filled in and the arguments checked: ``(conv, method, knha, auto_random)``."""
    from .conventions import get_convention

    conv = get_convention(convention)
    method = conv.method if method is None else method
    knha = conv.knha if knha is None else bool(knha)
    method, auto_random = _check_args(method, level, auto_random)
    return conv, method, knha, auto_random


def _per_results(subsets, method, knha, level, auto_random, conv) -> tuple[tuple, tuple]:
    """:func:`pool_many` over the subsets of a ``--per`` run: (results, errors), a NotEstimable's reason in errors."""
    results, errors = [None] * len(subsets), [None] * len(subsets)
    for i, res in enumerate(pool_many(subsets, method, knha=knha, level=level, auto_random=auto_random,
                                      convention=conv.name)):
        if isinstance(res, NotEstimable):
            errors[i] = res.reason
        else:
            results[i] = res
    return tuple(results), tuple(errors)


def pool_many(ess, method: str | None = None, *, knha: bool | None = None, level: float = 0.95,
              auto_random: str = "DL", convention: str = "metafor") -> list:
    """Pool several independent sets of effect sizes at once.

    The inverse-variance fits of all sets run in one vectorised pass of
    :func:`hepatostat.meta.kernel.fit`; MH and Peto pool each set from its
    counts. An analysis that cannot be estimated never stops the others: it
    comes back as :class:`NotEstimable` with its reason.

    Returns
    -------
    list of PoolResult or NotEstimable, aligned with ``ess``.
    """
    conv, method, knha, auto_random = _resolve(method, knha, level, auto_random, convention)
    ess = list(ess)
    out: list = [None] * len(ess)
    todo = []
    for i, es in enumerate(ess):
        if es.k == 0:
            out[i] = NotEstimable(_in_file(es, "no studies left to pool" + _excluded_text(es.excluded)), 0,
                                  tuple(es.excluded))
        else:
            todo.append(i)
    if not todo:
        return out
    sets = [ess[i] for i in todo]
    from .batch import pad

    y, v, mask = pad([es.yi for es in sets], [es.vi for es in sets])
    fits, rules, chosen = fit_sets(y, v, mask, method, knha, level, auto_random)
    if method in ("MH", "PETO"):
        for j, (i, es) in enumerate(zip(todo, sets)):
            wants, why = rules[j]
            notes = list(es.notes)
            if es.k == 1:
                notes.append(_K1_NOTE)
            try:
                out[i] = replace(_pool_counts(es, method, level, _rule_text(method, wants, why, auto_random), notes),
                                 convention=conv.name)
            except EstimationError as exc:
                out[i] = NotEstimable(_in_file(es, str(exc), studies=True), es.k, tuple(es.excluded))
        return out
    # per-analysis numbers as Python lists once (indexing numpy arrays element by element is slow)
    cols = {}
    for m_, f_ in fits.items():
        c = {name: getattr(f_, name).tolist() for name in (
            "df", "tau2", "se_tau2", "tau2_ci_low", "tau2_ci_high", "I2", "I2_ci_low", "I2_ci_high", "H2",
            "H2_ci_low", "H2_ci_high", "QE", "QE_df", "QE_pval", "pi_low", "pi_high", "knha", "fallback",
            "iterations")}
        c.update({name: getattr(f_, name)[:, 0].tolist() for name in ("beta", "se", "stat", "pval", "ci_low",
                                                                       "ci_high")})
        cols[m_] = c
    for j, (i, es) in enumerate(zip(todo, sets)):
        m = chosen[j]
        f = fits[m]
        c = cols[m]
        if f.status[j] != "ok":
            out[i] = NotEstimable(_in_file(es, str(f.reason[j]), studies=True), es.k, tuple(es.excluded))
            continue
        notes = list(es.notes)
        if es.k == 1:
            notes.append(_K1_NOTE)
            if knha:
                notes.append("Knapp-Hartung needs k >= 2: z test used")
        random = m in RE_METHODS
        if es.k > 1 and random and c["tau2"][j] == 0:
            notes.append(f"tau² estimated at its lower bound 0 ({m}): the random-effects model reduces to the fixed-effect model")
        if c["fallback"][j]:
            notes.append(f"{m}: Fisher scoring did not settle in {int(c['iterations'][j])} iterations; tau² was found "
                         "by the bracketed root finder on the same estimating equation")
        used_knha = bool(c["knha"][j])
        k = es.k
        out[i] = PoolResult(
            measure=es.measure, method=m, knha=used_knha, level=level, k=k,
            estimate=c["beta"][j], se=c["se"][j], stat=c["stat"][j], pval=c["pval"][j],
            ci_low=c["ci_low"][j], ci_high=c["ci_high"][j],
            df=float(c["df"][j]) if used_knha else None,
            tau2=c["tau2"][j], se_tau2=c["se_tau2"][j] if random else np.nan,
            tau2_ci=(c["tau2_ci_low"][j], c["tau2_ci_high"][j]),
            I2=c["I2"][j], I2_ci=(c["I2_ci_low"][j], c["I2_ci_high"][j]),
            H2=c["H2"][j], H2_ci=(c["H2_ci_low"][j], c["H2_ci_high"][j]),
            Q=c["QE"][j], Q_df=int(c["QE_df"][j]), Q_pval=c["QE_pval"][j],
            pi_low=c["pi_low"][j], pi_high=c["pi_high"][j],
            study=es.study, yi=es.yi, vi=es.vi, weights=f.weights[j, :k].copy(),
            model_rule=_rule_text(method, rules[j][0], rules[j][1], auto_random), random=random,
            excluded=es.excluded, notes=tuple(notes), effects=es, convention=conv.name,
        )
    return out


def fit_sets(y, v, mask, method: str, knha: bool, level: float, auto_random: str, *, qprofile: bool = True,
             rules: bool = True):
    """The kernel fits behind :func:`pool_many` for padded ``(y, v, mask)`` (checked arguments).

    Returns ``(fits, rules, chosen)``: the :class:`~hepatostat.meta.kernel.KernelFit` of each method used
    (by name), each analysis' :func:`review_rule` (None when ``rules`` is false and the method needs no
    choice) and the method each analysis reports (``auto`` chooses per analysis). For MH and PETO only
    the rules are filled (``fits`` holds the fixed-effect fit they come from).
    """
    from .kernel import fit as kernel_fit

    m = y.shape[0]
    fits = {}
    if method in ("AUTO", "MH", "PETO") or (method == "FE" and not knha and level == 0.95):
        fe = kernel_fit(y, v, mask, method="FE", qprofile=False)
        out_rules = [review_rule(fe.QE_pval[j], fe.I2[j]) for j in range(m)] if (rules or method == "AUTO") else None
        fits["FE"] = fe
    else:
        # one inverse-variance method: its fit carries the fixed-effect Q (and so the rule's I²) already
        fits = {method: kernel_fit(y, v, mask, method=method, knha=knha, level=level, qprofile=qprofile)}
        out_rules = _rules_from_q(fits[method]) if rules else None
    if method in ("MH", "PETO"):
        return fits, out_rules, [method] * m
    if method == "AUTO":
        wants = np.array([w for w, _ in out_rules])
        fits = {"FE": fe if not knha else kernel_fit(y, v, mask, method="FE", knha=knha, level=level,
                                                     qprofile=qprofile),
                auto_random: kernel_fit(y, v, mask, method=auto_random, knha=knha, level=level, qprofile=qprofile)}
        chosen = [auto_random if w else "FE" for w in wants]
    else:
        chosen = [method] * m
    return fits, out_rules, chosen


def _rules_from_q(f) -> list:
    """:func:`review_rule` of each analysis from a kernel fit's fixed-effect Q: the rule's I² is the
    fixed-effect one, ``max(0, (Q - df) / Q)``, exactly as the kernel computes it for ``FE``."""
    QE, dfr = f.QE, f.QE_df
    active = dfr >= 1
    with np.errstate(invalid="ignore", divide="ignore"):
        I2 = np.where(QE > 0, np.maximum(0.0, 100 * (QE - dfr) / np.where(QE > 0, QE, 1.0)), 0.0)
    I2 = np.where(active, I2, np.nan)
    return [review_rule(f.QE_pval[j], I2[j]) for j in range(len(QE))]


_K1_NOTE = "k = 1: the pooled estimate is the study's own; heterogeneity (tau², Q, I²) is not estimable"


def _pool_counts(es, method, level, rule, notes):
    if es.kind != "binary":
        raise InputError(f"method {method} needs event counts (study,e1,n1,e2,n2), not {es.kind} data",
                         file=es.source)
    if method == "PETO" and es.measure not in ("OR", "PETO"):
        raise InputError(f"Peto's method pools odds ratios: use measure OR or PETO, not {es.measure}", file=es.source)
    if method == "MH" and es.measure not in ("OR", "RR", "RD"):
        raise InputError(f"Mantel-Haenszel pooling is for OR, RR or RD, not {es.measure}", file=es.source)
    d = es.data
    counts = [d[c].to_numpy(float) for c in ("e1", "n1", "e2", "n2")]
    measure = "OR" if method == "PETO" else es.measure
    # Q and I^2 from the inverse-variance effects with the double-zero studies (no events or only
    # events in both arms, as effects() flags them) left out: metafor's drop00 = TRUE
    double = np.asarray(es.flags.get("double", np.zeros(es.k, dtype=bool)), dtype=bool)
    if method == "MH":
        cf = mantel_haenszel(*counts, measure)
        k_yi = int((~double).sum())
        het_y, het_v = es.yi[~double], es.vi[~double]
        Q = max(0.0, float(np.sum((het_y - cf.estimate) ** 2 / het_v))) if k_yi > 1 else 0.0
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
    if double.any():
        which = ", ".join(s for s, dd in zip(es.study, double) if dd)
        notes.append(
            f"no events (or only events) in both arms: {which} — "
            + ("contribute nothing to the pooled odds/risk ratio" if measure != "RD" else "included in the pooled risk difference")
            + " and are left out of Q and I²"
        )
    crit = _dist.norm_isf((1 - level) / 2)
    est, se = cf.estimate, cf.se
    if se > 0:
        z = est / se
        p = float(2 * _dist.norm_sf(abs(z)))
    else:
        # no events (or only events) in every table: metafor's rma.mh gives estimate 0, SE 0, no test
        z = p = np.nan
        notes.append(f"{method} {measure}: no events (or only events) in every table, so the pooled estimate is "
                     f"{fmt_plain(est)} with standard error 0 and no test (as metafor's rma.mh)")
    w = cf.weights / cf.weights.sum() * 100 if cf.weights.sum() > 0 else np.full(len(cf.weights), np.nan)
    # per-study yi/vi shown are the corrected inverse-variance ones (as metafor's forest plot)
    yi, vi = es.yi, es.vi
    if method == "PETO" and es.measure != "PETO":
        shown = effects(d, "PETO", add=es.options.get("add", 0.5), to=es.options.get("to", "only0"))
        yi, vi = shown.yi, shown.vi
    return PoolResult(
        measure="PETO" if method == "PETO" else es.measure, method=method, knha=False, level=level,
        k=len(d), estimate=est, se=se, stat=z, pval=p,
        ci_low=est - crit * se, ci_high=est + crit * se, df=None,
        tau2=0.0, se_tau2=np.nan, tau2_ci=(np.nan, np.nan), I2=I2, I2_ci=(np.nan, np.nan),
        H2=H2, H2_ci=(np.nan, np.nan), Q=Q, Q_df=Q_df, Q_pval=Q_p,
        pi_low=est - crit * se, pi_high=est + crit * se,
        study=es.study, yi=yi, vi=vi, weights=w, model_rule=rule, random=False,
        excluded=es.excluded, notes=tuple(notes), cmh=cf.cmh, cmh_pval=cf.cmh_pval, effects=es,
    )


def _in_file(es, reason: str, *, studies: bool = False) -> str:
    """``reason`` with the input file in front (as InputError puts it) and, with ``studies``,
    the studies analysed at the end."""
    if studies and es.k:
        names = [str(s) for s in es.study]
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        reason = f"{reason} (studies analysed: {shown})"
    if es.source is not None and f"file {es.source}" not in reason:
        reason = f"file {es.source}: {reason}"
    return reason


def _excluded_text(excluded) -> str:
    if not excluded:
        return ""
    return " (excluded: " + "; ".join(f"{e.study}: {e.reason}" for e in excluded) + ")"


@dataclass(frozen=True, eq=False)
class PerResult:
    """Independent analyses, one per value of a column (``--per``).

    ``excluded`` lists the rows that belong to no analysis (a blank value of
    the column), each with its spreadsheet row and reason.
    """

    column: str
    values: tuple
    results: tuple  # PoolResult or None, aligned with values
    errors: tuple  # str or None, aligned with values
    excluded: tuple = ()

    def to_dict(self) -> dict[str, Any]:
        analyses = []
        for val, res, err in zip(self.values, self.results, self.errors):
            row: dict[str, Any] = {"per": val}
            if res is not None:
                row.update(res.to_dict())
                row["status"] = "ok"
            else:
                row.update({"k": 0, "status": "not estimable", "error": err})
            analyses.append(row)
        return {"per_column": self.column, "analyses": analyses,
                "excluded": [e.to_dict() for e in self.excluded]}

    def to_frame(self) -> pd.DataFrame:
        """One row per analysis: the ``per`` column, ``k, estimate, se, ci_low,
        ci_high, pval, tau2, I2, Q, Q_pval, method, status, error, excluded``
        (``excluded``: the studies left out of that analysis, with row and
        reason). Rows with a blank ``per`` value come last, with status
        ``excluded`` and their reason, so that nothing vanishes from a CSV."""
        import pandas as pd
        cols = ["k", "estimate", "se", "ci_low", "ci_high", "pval", "tau2", "I2", "Q", "Q_pval"]
        table: dict[str, list] = {self.column: list(self.values)}
        for c in cols:
            table[c] = [getattr(r, c) if r is not None else (0 if c == "k" else np.nan) for r in self.results]
        table["method"] = [r.method if r is not None else None for r in self.results]
        table["status"] = ["ok" if r is not None else "not estimable" for r in self.results]
        table["error"] = list(self.errors)
        table["excluded"] = [exclusion_text(r.excluded) if r is not None else None for r in self.results]
        frame = pd.DataFrame(table)
        if self.excluded:
            extra = pd.DataFrame({self.column: [None] * len(self.excluded),
                                  "k": [0] * len(self.excluded),
                                  "status": ["excluded"] * len(self.excluded),
                                  "error": [e.reason for e in self.excluded],
                                  "excluded": [exclusion_text([e]) for e in self.excluded]})
            frame = pd.concat([frame, extra], ignore_index=True)
        return frame

    def summary(self) -> str:
        parts = []
        for val, res, err in zip(self.values, self.results, self.errors):
            parts.append(f"== {self.column} = {val} ==")
            parts.append(res.summary() if res is not None else f"not estimable: {err}")
        for e in self.excluded:
            parts.append(f"Excluded (row {e.row}): {e.study}: {e.reason}")
        return "\n".join(parts)


def pool_per(
    data: pd.DataFrame,
    per: str,
    measure: str,
    method: str | None = None,
    *,
    knha: bool | None = None,
    level: float = 0.95,
    source: str | None = None,
    effect_options: dict | None = None,
    auto_random: str = "DL",
    convention: str = "metafor",
) -> PerResult:
    """Run one independent analysis per value of column ``per``.

    Values keep their order of first appearance. Rows with a blank value of
    ``per`` belong to no analysis: they are listed in ``excluded`` with their
    reason, never pooled as a group of their own. An analysis that cannot be
    estimated (e.g. no studies left) is reported with its reason instead of
    stopping the others; bad input still raises.
    """
    if per not in data.columns:
        raise InputError(
            f"--per column '{per}' not found; columns are {', '.join(map(str, data.columns))}", file=source
        )
    conv, method, knha, auto_random = _resolve(method, knha, level, auto_random, convention)
    values, subsets, excluded = _per_split(data, per, measure, source, effect_options)
    results, errors = _per_results(subsets, method, knha, level, auto_random, conv)
    return PerResult(per, tuple(values), results, errors, tuple(excluded))


def _per_subsets(data, per, measure, source, effect_options):
    """The EffectSizes of each analysis of ``pool_per`` (the lazy frames of the pandas-free path use it)."""
    return _per_split(data, per, measure, source, effect_options)[1]


def _per_split(data, per, measure, source, effect_options):
    """``(values, subsets, excluded)``: the analyses of :func:`pool_per` and the rows in none."""
    import pandas as pd

    effect_options = dict(effect_options or {})
    col = data[per]
    blank = col.isna().to_numpy() | col.astype(str).str.strip().eq("").to_numpy()
    excluded = []
    if blank.any():
        rows = spreadsheet_rows(data)
        labels = data["study"].astype(str).tolist() if "study" in data.columns else [f"row {r}" for r in rows]
        for i in np.flatnonzero(blank):
            excluded.append(Exclusion(labels[i], f"no value of '{per}': belongs to no analysis", int(rows[i])))
        data = data.loc[~blank]
    codes, uniques = pd.factorize(data[per], use_na_sentinel=False)
    values = [u.item() if hasattr(u, "item") else u for u in uniques]
    frame = data.copy()
    frame["_per_code"] = codes
    if effect_options.get("to") == "if0all":
        # "all tables when any has a zero cell" is decided within each analysis
        subsets = []
        for g in range(len(uniques)):
            subsets.append(effects(frame.loc[codes == g].drop(columns="_per_code"), measure, source=source,
                                   **effect_options))
    else:
        row_code = dict(zip(spreadsheet_rows(frame).tolist(), codes.tolist()))
        subsets = split_by_code(effects(frame, measure, source=source, by=per, **effect_options), "_per_code",
                                row_code, len(uniques))
    return values, subsets, excluded
