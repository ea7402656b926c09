"""Check reported results for internal consistency.

Given reported estimates with confidence intervals and p-values (as printed
in a paper), recompute what they imply and flag contradictions: an estimate
outside its own CI, a CI that is not symmetric about the estimate on the
analysis scale (log scale for ratios), a p-value that the CI cannot produce.
Rounding is respected: every reported number stands for the interval of
values that round to it, and a result is flagged only when no values in
those intervals agree (the idea behind statcheck, Nuijten et al. 2016,
Behav Res Methods 48(4):1205-1226, doi:10.3758/s13428-015-0664-2).

The standard error implied by a CI follows the Cochrane Handbook v6.4,
section 6.3.1: ``SE = (upper - lower) / (2 z_{1-alpha/2})``, on the log scale
for ratio measures; the p-value is the two-sided Wald p.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from . import _dist
from ..errors import InputError
from ..io.format import fmt_fixed, fmt_sig

__all__ = ["ReportedCheck", "check_reported", "parse_number", "parse_p"]

RATIO_MEASURES = ("OR", "RR", "HR", "PETO", "IRR", "ROM")
DIFFERENCE_MEASURES = ("SMD", "MD", "RD", "GEN")

_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u00a0": " "})


def parse_number(text, *, what="value", row=None, column=None, source=None):
    """A reported number and its rounding half-width: ``(value, half_unit)``.

    ``"-0.31"`` gives ``(-0.31, 0.005)``; unicode minus signs and dashes are
    read as minus. Empty cells give ``(nan, nan)``.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return math.nan, math.nan
    s = str(text).translate(_MINUS).strip().replace(" ", "")
    if s == "":
        return math.nan, math.nan
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise InputError(f"{what} is not a number", file=source, row=row, column=column, value=text) from None
    exp = d.as_tuple().exponent
    half = 0.5 * 10.0 ** exp if isinstance(exp, int) else 0.0
    return float(d), half


def parse_p(text, *, row=None, column=None, source=None):
    """A reported p-value as ``(low, high)``: the interval it stands for.

    ``"0.023"`` -> (0.0225, 0.0235); ``"<0.001"`` -> (0, 0.001);
    ``">0.05"`` -> (0.05, 1); "P = 0.791" and "NS" are understood
    ("NS" = p > 0.05).
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    s = str(text).translate(_MINUS).strip().lower().replace(" ", "")
    if s == "":
        return None
    s = re.sub(r"^p", "", s)
    if s in ("ns", "n.s."):
        return (0.05, 1.0)
    m = re.fullmatch(r"(<=|>=|<|>|=|≤|≥)?([0-9.eE+-]+)", s)
    if not m:
        raise InputError("p-value not understood; write e.g. 0.023, <0.001 or >0.05", file=source, row=row,
                         column=column, value=text)
    op, num = m.group(1) or "=", m.group(2)
    value, half = parse_number(num, what="p-value", row=row, column=column, source=source)
    if not (0 < value <= 1) and not (op in ("<", "<=", "≤") and 0 < value <= 1):
        raise InputError("p-value must be in (0, 1]", file=source, row=row, column=column, value=text)
    if op in ("<", "<=", "≤"):
        return (0.0, value)
    if op in (">", ">=", "≥"):
        return (value, 1.0)
    return (max(0.0, value - half), min(1.0, value + half))


@dataclass(frozen=True, eq=False)
class ReportedCheck:
    """The checks of each reported result."""

    frame: pd.DataFrame  # label, measure, estimate, ci_low, ci_high, p_reported, se_implied, p_implied, p_implied_range, ok, problems

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for r in self.frame.to_dict(orient="records"):
            rows.append({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()})
        return {"rows": rows, "n": len(rows), "n_flagged": int((~self.frame["ok"]).sum())}

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def summary(self) -> str:
        from ..io.format import fmt_n

        lines = [f"Checked {fmt_n(len(self.frame))} reported results; "
                 f"{fmt_n(int((~self.frame['ok']).sum()))} contradict themselves."]
        for r in self.frame.itertuples():
            status = "ok" if r.ok else "FLAG"
            lines.append(f"[{status}] {r.label}: {r.measure} {r.estimate} ({r.ci_low} to {r.ci_high}), p {r.p_reported}"
                         f" -> implied SE {fmt_sig(r.se_implied)}, implied p {fmt_sig(r.p_implied, 3)}")
            if not r.ok:
                for prob in r.problems.split("; "):
                    lines.append(f"       - {prob}")
        return "\n".join(lines)


def _interval(values):
    return min(values), max(values)


def check_reported(data: pd.DataFrame, *, source=None, symmetry_tolerance: float = 0.10) -> ReportedCheck:
    """Check a table of reported results.

    Parameters
    ----------
    data : DataFrame
        Columns ``label, measure, estimate, ci_low, ci_high`` and optionally
        ``p`` (text such as "0.023", "<0.001") and ``level`` (default 0.95).
        Numbers are taken as printed (strings keep their decimals).
    symmetry_tolerance : float
        Largest relative difference between the two CI arms (on the analysis
        scale, beyond rounding) accepted as symmetric.

    Returns
    -------
    ReportedCheck
        One row per result with the implied SE and p, ``ok`` and the
        problems found.
    """
    required = ["label", "measure", "estimate", "ci_low", "ci_high"]
    missing = [c for c in required if c not in data.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}; needed: {', '.join(required)} (optional: p, level)",
                         file=source)
    rows = []
    for i, r in enumerate(data.astype(object).to_dict(orient="records")):
        row = i + 2
        measure = str(r["measure"]).strip().upper()
        if measure not in RATIO_MEASURES + DIFFERENCE_MEASURES:
            raise InputError(f"unknown measure; allowed: {', '.join(RATIO_MEASURES + DIFFERENCE_MEASURES)}",
                             file=source, row=row, column="measure", value=r["measure"])
        est, he = parse_number(r["estimate"], what="estimate", row=row, column="estimate", source=source)
        lo, hl = parse_number(r["ci_low"], what="CI bound", row=row, column="ci_low", source=source)
        hi, hh = parse_number(r["ci_high"], what="CI bound", row=row, column="ci_high", source=source)
        level = 0.95
        if "level" in r and r["level"] is not None and not (isinstance(r["level"], float) and math.isnan(r["level"])):
            level = float(r["level"])
            if not 0 < level < 1:
                raise InputError("level must be in (0, 1)", file=source, row=row, column="level", value=r["level"])
        p_rep = parse_p(r.get("p"), row=row, column="p", source=source) if "p" in r else None
        ratio = measure in RATIO_MEASURES
        problems = []
        if any(math.isnan(x) for x in (est, lo, hi)):
            raise InputError("estimate and both CI bounds are needed", file=source, row=row)
        if ratio and min(est - he, lo - hl, hi - hh) <= 0:
            raise InputError(f"{measure} values must be > 0", file=source, row=row)
        if hi <= lo:
            problems.append(f"CI bounds in the wrong order or of zero width ({lo} to {hi})")
            lo, hi, hl, hh = min(lo, hi), max(lo, hi), hh, hl
        if not (lo - hl <= est + he and est - he <= hi + hh):
            problems.append(f"estimate {r['estimate']} lies outside its CI ({r['ci_low']} to {r['ci_high']})")
        g = np.log if ratio else (lambda x: x)
        z = _dist.norm_isf((1 - level) / 2)
        # central values
        width = g(hi) - g(lo)
        se = width / (2 * z) if width > 0 else math.nan
        p_impl = 2 * _dist.norm_sf(abs(g(est)) / se) if se > 0 else math.nan
        # ranges allowed by rounding
        lo_r = (g(lo - hl) if not ratio or lo - hl > 0 else -math.inf, g(lo + hl))
        hi_r = (g(hi - hh), g(hi + hh))
        est_r = (g(est - he) if not ratio or est - he > 0 else -math.inf, g(est + he))
        se_min = max(0.0, (hi_r[0] - lo_r[1]) / (2 * z))
        se_max = (hi_r[1] - lo_r[0]) / (2 * z)
        abs_est_min = 0.0 if est_r[0] <= 0 <= est_r[1] else min(abs(est_r[0]), abs(est_r[1]))
        abs_est_max = max(abs(est_r[0]), abs(est_r[1]))
        p_hi = 2 * _dist.norm_sf(abs_est_min / se_max) if se_max > 0 else 1.0
        p_lo = 2 * _dist.norm_sf(abs_est_max / se_min) if se_min > 0 else 0.0
        # symmetry about the estimate on the analysis scale
        arm_lo_max = est_r[1] - lo_r[0]
        arm_lo_min = est_r[0] - lo_r[1]
        arm_hi_max = hi_r[1] - est_r[0]
        arm_hi_min = hi_r[0] - est_r[1]
        if arm_lo_min > 0 and arm_hi_min > 0:
            ratio_min = arm_lo_min / arm_hi_max
            ratio_max = arm_lo_max / arm_hi_min
            if ratio_max < 1 - symmetry_tolerance or ratio_min > 1 / (1 - symmetry_tolerance):
                scale = " on the log scale" if ratio else ""
                problems.append(
                    f"CI not symmetric about the estimate{scale} "
                    f"(arms {fmt_fixed(g(est) - g(lo), 3)} below, {fmt_fixed(g(hi) - g(est), 3)} above)"
                )
        # significance implied by the CI against the reported p
        if p_rep is not None:
            if p_rep[1] < p_lo or p_rep[0] > p_hi:
                problems.append(
                    f"reported p {r.get('p')} is inconsistent with the CI (implied p between {fmt_sig(p_lo, 3)} and {fmt_sig(p_hi, 3)})"
                )
            null = 0.0
            excludes_null = (g(lo) > null) or (g(hi) < null)
            alpha = 1 - level
            if excludes_null and p_rep[0] >= alpha:
                problems.append(f"the CI excludes the null but p {r.get('p')} is not significant")
            if not excludes_null and p_rep[1] < alpha and not any("inconsistent" in pr for pr in problems):
                problems.append(f"the CI includes the null but p {r.get('p')} is significant")
        rows.append({
            "label": r["label"], "measure": measure, "estimate": r["estimate"], "ci_low": r["ci_low"],
            "ci_high": r["ci_high"], "p_reported": r.get("p"), "level": level, "se_implied": se,
            "p_implied": p_impl, "p_implied_low": p_lo, "p_implied_high": p_hi,
            "ok": not problems, "problems": "; ".join(problems),
        })
    return ReportedCheck(frame=pd.DataFrame(rows))
