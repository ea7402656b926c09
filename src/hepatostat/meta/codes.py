"""metafor's measure and method codes (no heavy imports: the command line reads these at start-up)."""

from __future__ import annotations

__all__ = ["MEASURES", "RE_METHODS", "METHODS", "ALL_METHODS"]

#: measure code -> (input kind, description, log scale?)
MEASURES: dict[str, tuple[str, str, bool]] = {
    "SMD": ("continuous", "standardised mean difference (Hedges' g)", False),
    "MD": ("continuous", "mean difference", False),
    "OR": ("binary", "log odds ratio", True),
    "RR": ("binary", "log risk ratio", True),
    "RD": ("binary", "risk difference", False),
    "PETO": ("binary", "log odds ratio (Peto's one-step method)", True),
    "GEN": ("generic", "generic effect size (given yi and vi)", False),
}

#: random-effects estimators of tau^2 (metafor codes)
RE_METHODS = ("DL", "REML", "ML", "PM", "SJ", "HE", "EB")
#: methods for inverse-variance models (FE plus the random-effects estimators)
METHODS = ("FE",) + RE_METHODS
#: every pooling method: inverse variance, Mantel-Haenszel, Peto, and the review's rule
ALL_METHODS = METHODS + ("MH", "PETO", "AUTO")
