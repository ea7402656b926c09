"""One call for a whole meta-analysis: pool, subgroups, leave-one-out, bias, regression.

``analyse(data, spec)`` runs every step a plan asks for on one table and
returns a frozen :class:`MetaAnalysis`. The command line (``hepatostat meta
analyse``) and the report runner both call it, so the orchestration lives
here once. A step that cannot be estimated on these data (e.g. Egger's test
with k = 2) is skipped with its reason in ``skipped``; it never stops the
other steps. Bad input still raises :class:`~hepatostat.errors.InputError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import EstimationError, InputError
from .effects import EffectSizes, effects

__all__ = ["AnalysisSpec", "MetaAnalysis", "analyse"]


@dataclass(frozen=True)
class AnalysisSpec:
    """What to run. Defaults are those of ``convention`` (metafor: REML, z tests).

    Attributes
    ----------
    measure : str
        metafor measure code (``SMD, MD, OR, RR, RD, PETO, GEN``).
    method, knha : optional
        Pooling method and Knapp-Hartung; from ``convention`` when None.
    subgroups : tuple of str
        Columns for subgroup analyses (one analysis per column).
    regression : str or tuple of str, optional
        Moderators: an R-style formula (``"~ ablat + factor(alloc)"``) or columns.
    leave_one_out, bias, influence : bool
        Run these steps (bias needs k >= 3; influence inverse-variance models).
    cumulative : str or bool, optional
        Cumulative meta-analysis; a column name orders the studies (``"year"``).
    effect_options : tuple of (name, value)
        Options for :func:`hepatostat.meta.effects` (``correction``, ``vtype``,
        ``add``, ``to``, ``drop00``), as pairs so the spec stays hashable.
    """

    measure: str
    method: str | None = None
    knha: bool | None = None
    level: float = 0.95
    convention: str = "metafor"
    auto_random: str = "DL"
    subgroups: tuple = ()
    regression: Any = None
    leave_one_out: bool = True
    bias: bool = True
    influence: bool = False
    cumulative: Any = None
    effect_options: tuple = ()


@dataclass(frozen=True, eq=False)
class MetaAnalysis:
    """The results of :func:`analyse`; a step not run (or not estimable) is None."""

    spec: AnalysisSpec
    effects: EffectSizes = field(repr=False)
    pooled: Any
    subgroups: tuple = ()
    leave_one_out: Any = None
    bias: Any = None
    regression: Any = None
    cumulative: Any = None
    influence: Any = None
    skipped: tuple = ()  # (step, reason)

    def to_dict(self) -> dict[str, Any]:
        def d(x):
            return None if x is None else x.to_dict()

        return {
            "measure": self.spec.measure, "convention": self.pooled.convention,
            "pool": self.pooled.to_dict(), "subgroups": [s.to_dict() for s in self.subgroups],
            "leave_one_out": d(self.leave_one_out), "bias": d(self.bias), "regression": d(self.regression),
            "cumulative": d(self.cumulative), "influence": d(self.influence),
            "skipped": [{"step": s, "reason": r} for s, r in self.skipped],
        }

    def summary(self) -> str:
        parts = [self.pooled.summary()]
        for x in (*self.subgroups, self.leave_one_out, self.bias, self.regression, self.cumulative, self.influence):
            if x is not None:
                parts.append(x.summary())
        parts += [f"Skipped {s}: {r}" for s, r in self.skipped]
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        from ..io.format import fmt_sig

        p = self.pooled
        return (f"MetaAnalysis(measure={self.spec.measure!r}, method={p.method!r}, k={p.k}, "
                f"estimate={fmt_sig(p.estimate)}, steps={sum(x is not None for x in (self.leave_one_out, self.bias, self.regression, self.cumulative, self.influence)) + len(self.subgroups)})")


def analyse(data, spec: AnalysisSpec, *, source: str | None = None) -> MetaAnalysis:
    """Run the analyses of ``spec`` on ``data`` (a study table or EffectSizes).

    Examples
    --------
    >>> from hepatostat import meta
    >>> res = meta.analyse(table, meta.AnalysisSpec("RR", subgroups=("alloc",), regression="~ ablat"))  # doctest: +SKIP
    >>> res.pooled.estimate, res.bias.egger.pval                                                         # doctest: +SKIP
    """
    from .fit import pool

    if not isinstance(spec, AnalysisSpec):
        raise InputError("analyse() needs an AnalysisSpec (hepatostat.meta.AnalysisSpec)")
    es = data if isinstance(data, EffectSizes) else effects(data, spec.measure, source=source,
                                                            **dict(spec.effect_options))
    res = pool(es, spec.method, knha=spec.knha, level=spec.level, auto_random=spec.auto_random,
               convention=spec.convention)
    skipped = []
    out: dict[str, Any] = {}
    model_method = res.method

    def step(name, fn):
        try:
            return fn()
        except EstimationError as exc:
            skipped.append((name, str(exc)))
            return None

    subgroups = []
    if spec.subgroups:
        from .subgroup import subgroup_analysis

        for col in spec.subgroups:
            r = step(f"subgroup by {col}", lambda c=col: subgroup_analysis(es, c, model_method, knha=res.knha,
                                                                           level=spec.level))
            if r is not None:
                subgroups.append(r)
    if spec.leave_one_out:
        from .sensitivity import leave_one_out

        out["leave_one_out"] = step("leave-one-out", lambda: leave_one_out(res))
    if spec.bias:
        from .bias import publication_bias

        out["bias"] = step("publication bias", lambda: publication_bias(res))
    if spec.regression:
        from .regression import meta_regression

        reg_method = model_method if model_method not in ("MH", "PETO") else "REML"
        if reg_method != model_method:
            skipped.append(("regression model", f"{model_method} pooling has no meta-regression; REML used"))
        out["regression"] = step("meta-regression", lambda: meta_regression(
            es, spec.regression, method=reg_method, knha=res.knha, level=spec.level))
    if spec.cumulative:
        from .sensitivity import cumulative

        order = spec.cumulative if isinstance(spec.cumulative, str) else None
        out["cumulative"] = step("cumulative", lambda: cumulative(res, order=order))
    if spec.influence:
        from .sensitivity import influence

        if model_method in ("MH", "PETO"):
            skipped.append(("influence", f"defined for inverse-variance models, not {model_method}"))
        else:
            out["influence"] = step("influence", lambda: influence(res))
    return MetaAnalysis(spec=spec, effects=es, pooled=res, subgroups=tuple(subgroups), skipped=tuple(skipped), **out)
