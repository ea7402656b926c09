"""Publication figures for the cohort analyses (the seed paper's Figures 1-3).

* :func:`plot_over_time` (Figure 1) — each outcome by visit week and group:
  box plots (or median lines with the interquartile range), the number of
  patients under every box, and marks for visits that differ from baseline
  (signed-rank test, multiplicity adjusted: * p < 0.05, ** p < 0.01,
  *** p < 0.001).
* :func:`plot_declines` (Figures 2 and 3) — median (or mean) declines per
  interval as grouped bars with Q1-Q3 (or ± SD) error bars and significance
  brackets for the group pairs (Figure 2), or cumulative declines from
  baseline by week as lines (Figure 3).
* :func:`plot_balance` — a Love plot of standardized differences before and
  after inverse-probability weighting.

Boxes use the same quartiles as the tables (SPSS's definition by default)
with whiskers to the most extreme values within 1.5 IQR (Tukey). Every
function returns the matplotlib Figure and, given ``path``, saves it (PNG and
SVG when the path has no suffix).
"""

from __future__ import annotations

import numpy as np

from ..io.format import fmt_p_eq
from ..meta.plots import save_figure
from .describe import quantile
from .timeunits import week_label

__all__ = ["PALETTE", "plot_over_time", "plot_declines", "plot_balance", "stars"]

#: Okabe-Ito colours (distinguishable with colour-vision deficiency)
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")


def stars(p) -> str:
    """``***`` p < 0.001, ``**`` p < 0.01, ``*`` p < 0.05, else empty."""
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def _style(ax):
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.tick_params(labelsize=8)


def _box_stats(x, qtype):
    q1, med, q3 = quantile(x, [0.25, 0.5, 0.75], qtype)
    iqr = q3 - q1
    inside = x[(x >= q1 - 1.5 * iqr) & (x <= q3 + 1.5 * iqr)]
    lo = inside.min() if inside.size else q1
    hi = inside.max() if inside.size else q3
    return {"med": float(np.median(x)), "q1": q1, "q3": q3, "whislo": lo, "whishi": hi,
            "fliers": x[(x < lo) | (x > hi)]}


def plot_over_time(result, path=None, *, outcomes=None, groups=None, kind="box", title=None, ylabels=None,
                   ncols=None, show_n=True, points=False):
    """Figure 1: outcomes by visit week within groups.

    Parameters
    ----------
    result : OverTimeResult
        From :func:`hepatostat.cohort.longitudinal.over_time`.
    path : str or Path, optional
        ``.png``/``.svg``/``.pdf``; without a suffix both PNG and SVG.
    outcomes, groups : sequence of str, optional
        Subsets to draw (default all); one panel per outcome.
    kind : {"box", "median"}
        Box plots, or medians joined by lines with Q1-Q3 error bars.
    ylabels : mapping, optional
        Axis label per outcome (e.g. ``{"tbil": "TBIL (µmol/L)"}``).
    show_n : bool
        Print the number of patients under every box.
    points : bool
        Draw the outliers beyond the whiskers. Off by default: each is one
        patient's value, which a shared figure should not show (privacy).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    outcomes = list(outcomes or result.outcomes)
    groups = [str(g) for g in (groups or result.groups)]
    weeks = list(result.weeks)
    ncols = ncols or min(len(outcomes), 3)
    nrows = int(np.ceil(len(outcomes) / ncols))
    width = max(3.2, 0.45 * len(weeks) * max(len(groups), 1) + 1.2)
    fig = Figure(figsize=(width * ncols, 3.3 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    ng = len(groups)
    span = 0.8
    bw = span / ng
    data = result.data
    for k, o in enumerate(outcomes):
        ax = axes[k // ncols][k % ncols]
        _style(ax)
        top = -np.inf
        bottom = np.inf
        handles = []
        for gi, g in enumerate(groups):
            color = PALETTE[gi % len(PALETTE)]
            s = result.get(o, g)
            offs = -span / 2 + bw * (gi + 0.5)
            pos = np.arange(len(weeks)) + offs
            sub = data[data["_group"] == g]
            vals = [sub.loc[sub["_week"] == w, o].dropna().to_numpy(float) for w in weeks]
            if kind == "box":
                bstats = [(_box_stats(v, result.quartiles), p) for v, p in zip(vals, pos) if v.size]
                if bstats:
                    ax.bxp([b for b, _ in bstats], positions=[p for _, p in bstats], widths=bw * 0.8,
                           patch_artist=True, manage_ticks=False, showfliers=points,
                           boxprops={"facecolor": color, "alpha": 0.35, "edgecolor": color},
                           medianprops={"color": color, "linewidth": 1.6},
                           whiskerprops={"color": color}, capprops={"color": color},
                           flierprops={"marker": "o", "markersize": 2.5, "markerfacecolor": color,
                                       "markeredgecolor": color, "alpha": 0.6})
                    top = max(top, max(b["whishi"] if not (points and len(b["fliers"]))
                                       else max(b["whishi"], b["fliers"].max()) for b, _ in bstats))
                    bottom = min(bottom, min(b["whislo"] if not (points and len(b["fliers"]))
                                             else min(b["whislo"], b["fliers"].min()) for b, _ in bstats))
            else:
                med, q1, q3 = np.array(s.median), np.array(s.q1), np.array(s.q3)
                ax.errorbar(pos, med, yerr=[med - q1, q3 - med], color=color, marker="o", markersize=3.5,
                            capsize=2.5, linewidth=1.3)
                top = max(top, np.nanmax(q3))
                bottom = min(bottom, np.nanmin(q1))
            fr = s.friedman.pval
            ftxt = fmt_p_eq(fr, letter="Friedman p") if np.isfinite(fr) else "Friedman NA"
            handles.append(Rectangle((0, 0), 1, 1, facecolor=color, alpha=0.5, edgecolor=color,
                                         label=f"{g} ({ftxt}, {s.n_complete} complete)"))
            s_marks = {v.week: stars(v.pval_adj) for v in s.visits}
            for w, p, v in zip(weeks, pos, vals):
                mark = s_marks.get(w, "")
                if mark and v.size:
                    ax.annotate(mark, (p, np.max(v) if kind == "box" else float(np.array(s.q3)[weeks.index(w)])),
                                xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8,
                                color=color)
        rng = (top - bottom) if np.isfinite(top - bottom) and top > bottom else 1.0
        ax.set_ylim(bottom - 0.16 * rng, top + 0.12 * rng)
        if show_n:
            for gi, g in enumerate(groups):
                s = result.get(o, g)
                offs = -span / 2 + bw * (gi + 0.5)
                for wi, n in enumerate(s.n):
                    ax.text(wi + offs, 0.015, str(n), transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                            fontsize=6, color=PALETTE[gi % len(PALETTE)])
        ax.set_xticks(range(len(weeks)))
        ax.set_xticklabels([week_label(w) for w in weeks])
        ax.set_xlim(-0.6, len(weeks) - 0.4)
        ax.set_xlabel("Visit (week)", fontsize=9)
        ax.set_ylabel((ylabels or {}).get(o, o), fontsize=9)
        ax.set_title(o, fontsize=10, fontweight="bold", loc="left")
        ax.legend(handles=handles, fontsize=6.5, frameon=False, loc="upper right")
    for k in range(len(outcomes), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    foot = (f"Boxes: Q1–Q3 (type {result.quartiles}), line: median, whiskers: 1.5 IQR; numbers: patients at the visit. "
            f"Marks: signed-rank test vs {week_label(result.baseline)}, {result.adjust}-adjusted: * p<0.05, ** p<0.01, *** p<0.001.")
    if kind != "box":
        foot = foot.replace("Boxes: Q1–Q3", "Error bars: Q1–Q3").replace(", line: median, whiskers: 1.5 IQR", ", points: median")
    fig.text(0.01, 0.0, foot, fontsize=6.5, color="dimgray", ha="left", va="bottom", wrap=True)
    if title:
        fig.suptitle(title, fontsize=11, fontweight="bold")
    fig.tight_layout(rect=(0, 0.04, 1, 0.97 if title else 1))
    if path is not None:
        save_figure(fig, path)
    return fig


def _bracket(ax, x1, x2, y, h, text, color="black"):
    ax.plot([x1, x1, x2, x2], [y, y + h, y + h, y], color=color, linewidth=0.8)
    ax.text((x1 + x2) / 2, y + h, text, ha="center", va="bottom", fontsize=8, color=color)


def plot_declines(result, outcome, path=None, *, kind="interval", pairs=None, groups=None, title=None, ylabel=None,
                  show_ns=False):
    """Figures 2 and 3: declines compared between groups.

    Parameters
    ----------
    result : ChangesResult
        From :func:`hepatostat.cohort.longitudinal.changes`.
    outcome : str
        The outcome to draw.
    path : str or Path, optional
        Where to save (PNG and SVG without a suffix).
    kind : {"interval", "cumulative"}
        ``"interval"``: grouped bars of the median (mean where the column is
        normal) decline per interval with Q1–Q3 (± SD) error bars and
        brackets for significant pairs (Figure 2). ``"cumulative"``: lines of
        the cumulative decline from baseline by week (Figure 3), significant
        pairs marked at each week.
    pairs : sequence of (str, str), optional
        The pairs whose P values are shown (default all of the result's).
    groups : sequence of str, optional
        Groups to draw (default all).
    show_ns : bool
        Also label non-significant pairs "ns".

    Returns
    -------
    matplotlib.figure.Figure
    """
    if kind not in ("interval", "cumulative"):
        raise ValueError(f"kind must be 'interval' or 'cumulative', got {kind!r}")
    from matplotlib.figure import Figure

    cum = kind == "cumulative"
    cols = [(a, b) for a, b, c in result.columns if c == cum]
    if not cols:
        raise ValueError(f"the result has no {kind} columns")
    if outcome not in result.outcomes:
        raise ValueError(f"outcome {outcome!r} not in the result; outcomes: {', '.join(result.outcomes)}")
    groups = [str(g) for g in (groups or result.groups)]
    all_pairs = [tuple(p) for p in result.pairs]
    pairs = [tuple(str(x) for x in p) for p in (pairs or all_pairs)]
    pairs = [p for p in pairs if p in all_pairs and p[0] in groups and p[1] in groups]
    cells = [result.cell(outcome, a, b, cum) for a, b in cols]
    ng = len(groups)
    fig = Figure(figsize=(max(4.2, 1.0 + 0.42 * ng * len(cols) + 0.4 * len(cols)), 3.6))
    ax = fig.subplots()
    _style(ax)
    span = 0.8
    bw = span / ng
    centre, upper = {}, {}
    for gi, g in enumerate(groups):
        color = PALETTE[gi % len(PALETTE)]
        offs = -span / 2 + bw * (gi + 0.5) if not cum else (gi - (ng - 1) / 2) * 0.06
        xs = np.arange(len(cols)) + offs
        ys, lo, hi = [], [], []
        for c in cells:
            st = c.groups[g]
            if c.normal:
                ys.append(st["mean"]), lo.append(st["mean"] - st["sd"]), hi.append(st["mean"] + st["sd"])
            else:
                ys.append(st["median"]), lo.append(st["q1"]), hi.append(st["q3"])
        ys, lo, hi = np.array(ys), np.array(lo), np.array(hi)
        err = np.vstack([np.nan_to_num(ys - lo), np.nan_to_num(hi - ys)])
        if cum:
            ax.errorbar(xs, ys, yerr=err, color=color, marker="o", markersize=4, capsize=3, linewidth=1.5, label=g)
        else:
            ax.bar(xs, ys, width=bw * 0.85, color=color, alpha=0.8, label=g, edgecolor="white", linewidth=0.5)
            ax.errorbar(xs, ys, yerr=err, fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
        for i in range(len(cols)):
            centre[(g, i)] = xs[i]
            upper[(g, i)] = np.nanmax([hi[i], ys[i], 0])
    ax.axhline(0, color="black", linewidth=0.6)
    top = max(upper.values()) if upper else 1.0
    bottom = min(0.0, *(ax.get_ylim()[0],))
    rng = max(top - bottom, 1e-9)
    h = 0.03 * rng
    maxy = top
    order = sorted(range(len(all_pairs)), key=lambda j: abs(groups.index(all_pairs[j][1]) - groups.index(all_pairs[j][0]))
                   if all_pairs[j][0] in groups and all_pairs[j][1] in groups else 0)
    for i, c in enumerate(cells):
        level = 0
        cell_top = max(upper[(g, i)] for g in groups)
        for j in order:
            a, b = all_pairs[j]
            if (a, b) not in pairs:
                continue
            pt = c.pairs[j]
            p = pt.pval_adj if result.adjust else pt.pval
            mark = stars(p) or ("ns" if show_ns and np.isfinite(p) else "")
            if not mark:
                continue
            y = cell_top + (0.05 + 0.11 * level) * rng
            if cum:
                ax.text(i, y, f"{a}–{b} {mark}", ha="center", va="bottom", fontsize=7)
            else:
                _bracket(ax, centre[(a, i)], centre[(b, i)], y, h, mark)
            maxy = max(maxy, y + 0.1 * rng)
            level += 1
    ax.set_ylim(top=maxy + 0.05 * rng)
    ax.set_xticks(range(len(cols)))
    mixed = any(c.normal for c in cells) and not all(c.normal for c in cells)
    ax.set_xticklabels([f"{week_label(a)}–{week_label(b)}" + ("†" if mixed and c.normal else "")
                        for (a, b), c in zip(cols, cells)])
    ax.set_xlabel("Cumulative from baseline" if cum else "Interval", fontsize=9)
    what = "mean ± SD" if all(c.normal for c in cells) else "median, Q1–Q3"
    ax.set_ylabel(ylabel or f"{outcome} decline ({what})", fontsize=9)
    ax.legend(fontsize=7, frameon=False, ncol=min(ng, 4), loc="upper left")
    tests = sorted({pt.test for c in cells for pt in c.pairs})
    names = {"mann_whitney": "Mann–Whitney U", "student_t": "Student's t", "welch_t": "Welch's t"}
    foot = ("Decline = earlier − later value. " + ", ".join(names.get(t, t) for t in tests)
            + (f" ({result.adjust}-adjusted)" if result.adjust else "") + ": * p<0.05, ** p<0.01, *** p<0.001."
            + (" † mean ± SD (normal in every group)." if mixed else ""))
    fig.text(0.01, 0.0, foot, fontsize=6.5, color="dimgray", ha="left", va="bottom")
    ax.set_title(title or f"{'Cumulative' if cum else 'Interval'} declines in {outcome}", fontsize=10,
                 fontweight="bold", loc="left")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_balance(result, path=None, *, threshold=0.1, title=None):
    """Love plot: absolute standardized differences before and after weighting.

    ``result`` is an :class:`~hepatostat.cohort.models.IPWResult`; the dashed
    line marks ``threshold`` (0.1, the usual bound for balance).
    """
    from matplotlib.figure import Figure

    b = result.balance
    n = len(b)
    fig = Figure(figsize=(5.0, 0.35 * n + 1.4))
    ax = fig.subplots()
    _style(ax)
    y = np.arange(n)[::-1]
    ax.scatter(np.abs(b["smd"]), y, facecolors="none", edgecolors=PALETTE[1], label="before weighting", zorder=3)
    ax.scatter(np.abs(b["smd_w"]), y, color=PALETTE[0], label="after weighting", zorder=3)
    for yi, a, c in zip(y, np.abs(b["smd"]), np.abs(b["smd_w"])):
        ax.plot([a, c], [yi, yi], color="lightgray", linewidth=1, zorder=1)
    ax.axvline(threshold, color="dimgray", linestyle="--", linewidth=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(b["covariate"], fontsize=8)
    ax.set_xlabel("Absolute standardized difference", fontsize=9)
    ax.set_xlim(left=0)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    ax.set_title(title or f"Covariate balance: {result.treated} vs {result.control}", fontsize=10, fontweight="bold",
                 loc="left")
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig
