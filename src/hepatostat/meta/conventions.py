"""Named conventions: the defaults of the software a reader of a review expects.

A convention fills in the choices the user did not make: the tau² estimator,
the test and confidence interval of the pooled effect, whether a prediction
interval is reported, and the SMD's small-sample correction and variance.
Anything given explicitly wins. The convention's name and what it set are
shown in every result (``convention`` in JSON, a line in the text).

Sources
-------
metafor
    Viechtbauer W (2010), J Stat Softw 36(3), doi:10.18637/jss.v036.i03, and
    the metafor 3.8 reference manual: ``rma()`` uses ``method = "REML"`` and
    ``test = "z"``; ``escalc(measure = "SMD")`` the exact bias correction with
    ``vtype = "LS"``; ``confint()`` gives the Q-profile CI of tau²;
    ``predict()`` the prediction interval with normal quantiles.
cochrane2025
    Cochrane Handbook for Systematic Reviews of Interventions, version 6.5
    (2024), chapter 10 (sections 10.10.4.1-10.10.4.3), and Cochrane's RevMan
    statistical methods documentation for the defaults introduced in 2024-25:
    REML for tau², the Q-profile CI for tau², the Hartung-Knapp-Sidik-Jonkman
    (Knapp-Hartung) CI of the pooled effect, and prediction intervals (here
    computed as metafor's ``predict()`` with ``test = "knha"``: t with k - 1 df).
    SMD as RevMan (Hedges' g with the approximate correction, RevMan's variance).
revman5
    Deeks JJ, Higgins JPT (2010), Statistical algorithms in Review Manager 5:
    DerSimonian-Laird random effects, Wald (z) CI, no prediction interval;
    SMD as Hedges' g with ``1 - 3/(4N - 9)`` and variance
    ``N/(n1 n2) + g²/(2 (N - 3.94))``.
stata
    Stata ``metan`` (Harris RJ et al. 2008, Stata J 8(1):3-28) with the
    ``random`` and ``hedges`` options, as the review this project reproduces
    used it: DerSimonian-Laird, Wald (z) CI, no prediction interval, SMD as
    RevMan 5. Other ``metan`` options (e.g. Cohen's d, its default for SMD)
    are not this convention.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import InputError

__all__ = ["Convention", "CONVENTIONS", "get_convention"]


@dataclass(frozen=True)
class Convention:
    """The defaults of one named convention (see the module's Sources)."""

    name: str
    method: str
    knha: bool
    prediction_interval: bool
    smd_correction: str
    smd_vtype: str
    description: str
    source: str

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self, method: str | None = None, knha: bool | None = None) -> str:
        """The convention in one line; with the ``method`` and ``knha`` an analysis used, what differed.

        An analysis may override the convention's estimator or CI (``--method``,
        ``--knha``, or the review's model rule under ``--method auto``); the line
        then says what this analysis used, so it never reads as if the
        convention's defaults had been applied.
        """
        ci = _ci_name(self.knha)
        pi = "with" if self.prediction_interval else "without"
        line = (f"{self.name}: {self.method}, {ci} CI, {pi} prediction interval; SMD correction "
                f"{self.smd_correction}, variance {self.smd_vtype} ({self.source})")
        used = []
        if method is not None and str(method).upper() != self.method:
            used.append(str(method).upper())
        if knha is not None and bool(knha) != self.knha:
            used.append(f"{_ci_name(bool(knha))} CI")
        if used:
            line += "; this analysis used " + " with ".join(used) + " instead"
        return line


def _ci_name(knha: bool) -> str:
    return "Hartung-Knapp-Sidik-Jonkman" if knha else "Wald (z)"


CONVENTIONS = {
    "metafor": Convention("metafor", "REML", False, True, "exact", "LS",
                          "R metafor 3.8 defaults", "Viechtbauer 2010; metafor 3.8 manual"),
    "cochrane2025": Convention("cochrane2025", "REML", True, True, "approx", "REVMAN",
                               "Cochrane RevMan defaults from 2024-25", "Cochrane Handbook 6.5 ch. 10; RevMan methods"),
    "revman5": Convention("revman5", "DL", False, False, "approx", "REVMAN",
                          "Review Manager 5", "Deeks & Higgins 2010"),
    "stata": Convention("stata", "DL", False, False, "approx", "REVMAN",
                        "Stata metan, random hedges", "Harris et al. 2008"),
}


def get_convention(name) -> Convention:
    """The convention called ``name`` (``metafor``, ``cochrane2025``, ``revman5``, ``stata``)."""
    if isinstance(name, Convention):
        return name
    key = str(name).lower()
    if key not in CONVENTIONS:
        raise InputError(f"unknown convention {name!r}; allowed: {', '.join(CONVENTIONS)}")
    return CONVENTIONS[key]
