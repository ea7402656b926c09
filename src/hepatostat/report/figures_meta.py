"""Review figures and tables in the layout of Liu et al. 2022.

- :func:`forest_by_timepoint`: one forest plot per outcome with the time
  points as blocks (study rows, a pooled diamond and the heterogeneity line
  per block), as the review's Figures 3–8;
- :func:`binary_outcome_table`: the review's Table 2 (clinical symptoms):
  per outcome and time point the number of studies, I² and its P value, the
  odds ratio with its 95% CI and P.

Numbers come from :func:`hepatostat.meta.effects` and
:func:`hepatostat.meta.pool` (the same calls the rest of the report uses).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..io.figures import PAGE_WIDTH, new_figure
from ..io.format import fmt, fmt_ci, fmt_p_eq

__all__ = ["pool_blocks", "forest_by_timepoint", "binary_outcome_table", "TIME_ORDER"]

TIME_ORDER = ("baseline", "W1", "W2", "W4", "W8", "W12", "W24", "W48", "end of treatment")


def _time_key(t) -> tuple:
    t = str(t)
    if t in TIME_ORDER:
        return (0, TIME_ORDER.index(t), t)
    digits = "".join(ch for ch in t if ch.isdigit())
    return (1, int(digits) if digits else 0, t)


def time_label(t) -> str:
    t = str(t)
    if t.lower() == "baseline":
        return "Baseline"
    if t.upper().startswith("W") and t[1:].isdigit():
        return f"Week {t[1:]}"
    return t[:1].upper() + t[1:]


def pool_blocks(data: pd.DataFrame, outcome: str, *, measure=None, method="auto", outcome_col="outcome",
                time_col="timepoint", source=None):
    """[(timepoint, effects, pooled result or exception)] for one outcome, time points in order."""
    from .. import meta
    from ..errors import EstimationError, InputError

    sub = data[data[outcome_col].astype(str) == str(outcome)]
    blocks = []
    for t in sorted(sub[time_col].astype(str).unique(), key=_time_key):
        d = sub[sub[time_col].astype(str) == t]
        m = measure or (str(d["measure"].iloc[0]) if "measure" in d.columns else None)
        try:
            es = meta.effects(d, m, source=source)
            res = meta.pool(es, method)
            blocks.append((t, es, res))
        except (EstimationError, InputError) as exc:
            blocks.append((t, None, exc))
    return blocks


def forest_by_timepoint(blocks, *, outcome_label: str, favours=("lower with treatment", "higher with treatment")):
    """One forest plot, time points as blocks (the review's Figures 3–8)."""
    rows = []  # (kind, label, est, lo, hi, weight, right-text)
    ratio = False
    measure = ""
    for t, es, res in blocks:
        rows.append(("head", time_label(t), None, None, None, None, ""))
        if isinstance(res, Exception) or res is None:
            rows.append(("note", f"not estimable: {res}", None, None, None, None, ""))
            continue
        measure = str(res.measure).upper()
        ratio = measure in ("OR", "RR", "PETO") or bool(getattr(res, "log_scale", False))
        f = res.to_frame()
        studies = f.iloc[:-1]
        for _, r in studies.iterrows():
            rows.append(("study", str(r["study"]), r["yi"], r["ci_low"], r["ci_high"], r["weight"], ""))
        model = "Random effects" if getattr(res, "random", False) else "Fixed effect"
        rows.append(("pool", f"Subtotal ({model.lower()}, k = {res.k})", res.estimate, res.ci_low, res.ci_high, 100.0, ""))
        rows.append(("het", f"Heterogeneity: I² = {fmt(res.I2, 'I2')}, {fmt_p_eq(res.Q_pval)}; "
                            f"test for effect: {fmt_p_eq(res.pval)}", None, None, None, None, ""))
    n = len(rows)
    fig, axes = new_figure(PAGE_WIDTH, min(9.0, 0.19 * n + 1.0), ncols=3,
                           gridspec_kw={"width_ratios": [2.5, 2.0, 1.8]})
    lab, ax, txt = axes[0]
    tr = (lambda v: math.exp(v)) if ratio else (lambda v: v)
    ests = [tr(r[2]) for r in rows if r[2] is not None and np.isfinite(r[2])]
    los = [tr(r[3]) for r in rows if r[3] is not None and np.isfinite(r[3])]
    his = [tr(r[4]) for r in rows if r[4] is not None and np.isfinite(r[4])]
    for i, (kind, label, est, lo, hi, w, _) in enumerate(rows):
        y = n - i
        style = {"head": dict(fontweight="bold"), "pool": dict(fontweight="bold"), "het": dict(fontsize=6, style="italic"),
                 "note": dict(fontsize=6, style="italic")}.get(kind, {})
        lab.text(0, y, label, va="center", ha="left", fontsize=style.pop("fontsize", 7), **style)
        if est is None or not np.isfinite(est):
            continue
        e, lo_, hi_ = tr(est), tr(lo), tr(hi)
        if kind == "study":
            ax.plot([lo_, hi_], [y, y], color="black", lw=0.8)
            ax.plot([e], [y], marker="s", color="#1b5e8c", ms=2.5 + 5 * math.sqrt(max(w, 0) / 100), ls="none")
        else:
            ax.fill([lo_, e, hi_, e], [y, y + 0.35, y, y - 0.35], color="#a40000")
        txt.text(0, y, f"{fmt(e, 'estimate')} ({fmt_ci(lo_, hi_)})", va="center", ha="left", fontsize=7,
                 fontweight="bold" if kind == "pool" else "normal")
        if kind == "study":
            txt.text(1, y, fmt(w, "weight"), va="center", ha="right", fontsize=7)
    for a in (lab, txt):
        a.set_xlim(0, 1)
        a.set_ylim(0.3, n + 1.2)
        a.axis("off")
    ax.set_ylim(0.3, n + 1.2)
    ax.axvline(1.0 if ratio else 0.0, color="black", lw=0.6)
    if ratio:
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    if ests:
        lo_all, hi_all = min(los + ests), max(his + ests)
        if ratio:
            ax.set_xlim(max(lo_all / 1.3, 1e-3), min(hi_all * 1.3, 1e3))
        else:
            pad = 0.08 * (hi_all - lo_all or 1)
            ax.set_xlim(min(lo_all, 0) - pad, max(hi_all, 0) + pad)
    names = {"SMD": "Standardised mean difference", "MD": "Mean difference", "OR": "Odds ratio", "RR": "Risk ratio",
             "PETO": "Odds ratio (Peto)", "RD": "Risk difference"}
    ax.set_xlabel(names.get(measure, measure) + " (treatment vs control)", fontsize=7)
    ax.set_yticks([])
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(labelsize=6)
    ax.annotate("← " + favours[0], xy=(0, 0), xycoords="axes fraction", xytext=(0, -26), textcoords="offset points",
                fontsize=6, ha="left", va="top")
    ax.annotate(favours[1] + " →", xy=(1, 0), xycoords="axes fraction", xytext=(0, -34), textcoords="offset points",
                fontsize=6, ha="right", va="top")
    lab.text(0, n + 1, "Study", fontsize=7, fontweight="bold", va="center")
    txt.text(0, n + 1, f"{measure} (95% CI)", fontsize=7, fontweight="bold", va="center")
    txt.text(1, n + 1, "Weight, %", fontsize=7, fontweight="bold", va="center", ha="right")
    fig.suptitle(outcome_label, fontsize=9, fontweight="bold")
    return fig


def binary_outcome_table(data: pd.DataFrame, *, method="auto", outcome_col="outcome", time_col="timepoint",
                         measure="OR", source=None, labels: dict | None = None) -> pd.DataFrame:
    """The review's Table 2: OR, CI, I² and P per outcome and time point (numbers, not text)."""
    rows = []
    for outcome in dict.fromkeys(data[outcome_col].astype(str)):
        blocks = pool_blocks(data, outcome, measure=measure, method=method, outcome_col=outcome_col,
                             time_col=time_col, source=source)
        for i, (t, es, res) in enumerate(blocks):
            row = {"Outcome": (labels or {}).get(outcome, outcome) if i == 0 else "", "Time point": time_label(t)}
            if isinstance(res, Exception):
                row.update({"Studies (k)": None, "I²": None, "P (heterogeneity)": None, "Odds ratio": None,
                            "95% CI lower": None, "95% CI upper": None, "P": None, "Model": f"not estimable: {res}"})
            else:
                ex = res.exp if isinstance(res.exp, dict) else {}
                row.update({"Studies (k)": res.k, "I²": res.I2, "P (heterogeneity)": res.Q_pval,
                            "Odds ratio": ex.get("estimate", math.exp(res.estimate)),
                            "95% CI lower": ex.get("ci_low", math.exp(res.ci_low)),
                            "95% CI upper": ex.get("ci_high", math.exp(res.ci_high)), "P": res.pval,
                            "Model": "random effects" if getattr(res, "random", False) else "fixed effect"})
            rows.append(row)
    return pd.DataFrame(rows)
