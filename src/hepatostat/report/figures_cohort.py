"""The seed cohort paper's Figures 1–3 as multi-panel figures at page width.

- Figure 1: every outcome over the visits, liver-failure groups (A, B) and
  cirrhosis groups (C, D) in separate panels; median with the interquartile
  range (no single-patient points unless ``points=True``);
- Figure 2: median decline of one outcome per interval, one panel per pair
  of groups (A vs B, C vs D, A vs C, B vs D), stars for P < 0.05 / 0.01;
- Figure 3: the same for the cumulative decline from W0.

Values whose group has fewer than ``min_cell`` patients at a visit are not
drawn (small-cell suppression).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.figures import PAGE_WIDTH, new_figure
from ..io.format import fmt_plain
from .labels import Dictionary

__all__ = ["figure_over_time", "figure_declines", "figure_balance", "GROUP_COLOURS"]

GROUP_COLOURS = {"A": "#1b5e8c", "B": "#7fb3d5", "C": "#b03a2e", "D": "#f1948a"}
_MARKERS = {"A": "o", "B": "s", "C": "^", "D": "D"}
_LINES = {"A": "-", "B": "--", "C": "-", "D": "--"}


def _stars(p) -> str:
    try:
        p = float(str(p).lstrip("<"))
    except ValueError:
        return ""
    return "**" if p < 0.01 else ("*" if p < 0.05 else "")


def figure_over_time(long: pd.DataFrame, outcomes, dictionary: Dictionary, *, panels=(("A", "B"), ("C", "D")),
                     panel_titles=("Liver failure", "Liver cirrhosis"), min_cell: int = 0, points: bool = False):
    """Figure 1: outcomes (rows) × disease (columns), median and IQR per group over weeks."""
    outcomes = list(outcomes)
    weeks = sorted(long["week"].dropna().unique())
    pos = {w: i for i, w in enumerate(weeks)}  # visits equally spaced, as categories (W0 and W1 stay apart)
    fig, axes = new_figure(PAGE_WIDTH, min(8.6, 1.55 * len(outcomes) + 0.6), nrows=len(outcomes), ncols=len(panels),
                           sharex=True)
    for i, o in enumerate(outcomes):
        sub = long[long["outcome"] == o]
        for j, groups in enumerate(panels):
            ax = axes[i][j]
            for k, g in enumerate(groups):
                d = sub[sub["group"] == g].dropna(subset=["value"])
                stats = d.groupby("week")["value"].agg(median="median", q1=lambda s: s.quantile(0.25),
                                                       q3=lambda s: s.quantile(0.75), n="size").reset_index()
                if min_cell:
                    stats = stats[stats["n"] >= min_cell]
                x = stats["week"].map(pos).to_numpy() + (k - 0.5) * 0.16
                ax.errorbar(x, stats["median"], yerr=[stats["median"] - stats["q1"], stats["q3"] - stats["median"]],
                            color=GROUP_COLOURS.get(g), marker=_MARKERS.get(g, "o"), ms=3.5, lw=1.2, capsize=2,
                            ls=_LINES.get(g, "-"), label=f"Group {g}")
                if points:
                    ax.plot(d["week"].map(pos) + (k - 0.5) * 0.16, d["value"], ".", ms=1.5, color=GROUP_COLOURS.get(g), alpha=0.4)
            if i == 0:
                ax.set_title(panel_titles[j] if j < len(panel_titles) else "", fontsize=9, fontweight="bold")
            if j == 0:
                ax.set_ylabel(dictionary.label(o), fontsize=8)
            ax.tick_params(labelsize=7)
            ax.spines[["top", "right"]].set_visible(False)
            if i == 0:
                ax.legend(fontsize=7, frameon=False, loc="best")
    for ax in axes[-1]:
        ax.set_xticks(range(len(weeks)))
        ax.set_xticklabels([f"W{int(w)}" for w in weeks])
        ax.set_xlabel("Week", fontsize=8)
    return fig


def figure_declines(long: pd.DataFrame, ch, outcome: str, dictionary: Dictionary, *, cumulative: bool = False,
                    pairs=(("A", "B"), ("C", "D"), ("A", "C"), ("B", "D")), min_cell: int = 0, combined=None):
    """Figure 2 (interval) or 3 (cumulative): median decline per interval, one panel per pair.

    ``combined``: ``(long, changes, (label 1, label 2))`` of two pooled sets of groups (e.g. liver failure
    A + B vs cirrhosis C + D, relabelled in ``long``), drawn as the first panel (the seed's Fig. 2A/3A);
    panels are lettered A, B, ... as in the paper.
    """
    col = "decline_cumulative" if cumulative else "decline_interval"
    panels = [(long, ch, a, b, f"Group {a} vs group {b}") for a, b in pairs]
    if combined is not None:
        c_long, c_ch, (l1, l2) = combined
        panels.insert(0, (c_long, c_ch, l1, l2, f"{l1} vs {l2.lower()}"))
    all_long = pd.concat([p[0] for p in panels[:1]] + [long]) if combined is not None else long
    sub_all = all_long[(all_long["outcome"] == outcome)].dropna(subset=[col])
    def labelled(sub):
        if cumulative:
            return sub.assign(label=sub["visit"].map(lambda v: f"W0–{v}"))
        return sub.assign(label=sub["interval"].astype(str).str.replace("-", "–"))

    sub_all = labelled(sub_all)
    if cumulative:
        order = [f"W0–{v}" for v in sub_all.sort_values("week")["visit"].unique()]
    else:
        order = list(dict.fromkeys(sub_all.sort_values("week")["label"]))
    nrows = (len(panels) + 1) // 2
    fig, axes = new_figure(PAGE_WIDTH, 2.3 * nrows, nrows=nrows, ncols=2, sharey=True)
    unit = dictionary.unit(outcome)
    flat = axes.ravel()
    for ax in flat[len(panels):]:
        ax.set_visible(False)
    for n, (ax, (p_long, p_ch, a, b, ptitle)) in enumerate(zip(flat, panels)):
        sub = labelled(p_long[(p_long["outcome"] == outcome)].dropna(subset=[col]))
        ptab = p_ch.to_frame()
        ptab = ptab[ptab["outcome"] == outcome]
        prow = ptab[ptab["group"] == f"P ({a} vs {b})"]
        x = np.arange(len(order))
        tops = np.zeros(len(order))
        for k, g in enumerate((a, b)):
            d = sub[sub["group"] == g].groupby("label")[col].agg(["median", "size"]).reindex(order)
            med = d["median"].where(d["size"] >= (min_cell or 0))
            ax.bar(x + (k - 0.5) * 0.38, med, width=0.36, color=GROUP_COLOURS.get(g, ("#1b3a5c", "#7a1f1f")[k]),
                   label=g if len(g) > 1 else f"Group {g}", edgecolor="black", linewidth=0.4,
                   hatch=None if k == 0 else "//")
            tops = np.fmax(tops, np.nan_to_num(med.to_numpy(), nan=0.0))
        if len(prow):
            for i, lab in enumerate(order):
                key = ("cumulative " + lab) if cumulative else lab
                if key in prow.columns:
                    s = _stars(prow.iloc[0][key])
                    if s:
                        ax.text(i, tops[i], s, ha="center", va="bottom", fontsize=9)
        ax.axhline(0, color="black", lw=0.5)
        ax.set_xticks(x)
        ax.set_xticklabels(order, fontsize=7)
        ax.set_title(f"{chr(65 + n)}  {ptitle}", fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(fontsize=7, frameon=False, loc="best")
        ax.margins(y=0.2)
    what = "Cumulative decline" if cumulative else "Decline"
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{what} in {dictionary.label(outcome, unit=False)}" + (f" ({unit})" if unit else ""), fontsize=8)
    return fig


def figure_balance(balance: pd.DataFrame, dictionary: Dictionary, *, treated: str, control: str, threshold: float = 0.1):
    """Absolute standardised mean differences before and after weighting, with the 0.1 line."""
    b = balance.iloc[::-1]
    labels = [dictionary.label(c[:-3] if str(c).endswith("_W0") else c) + (" at W0" if str(c).endswith("_W0") else "")
              for c in b["covariate"]]
    fig, axes = new_figure(PAGE_WIDTH * 0.8, 0.45 * len(b) + 1.1)
    ax = axes[0][0]
    y = np.arange(len(b))
    before, after = b["smd"].abs().to_numpy(), b["smd_w"].abs().to_numpy()
    ax.hlines(y, np.minimum(before, after), np.maximum(before, after), color="#bbbbbb", lw=1)
    ax.plot(before, y, "o", mfc="white", mec="#c05000", label="Before weighting")
    ax.plot(after, y, "o", color="#1b5e8c", label="After weighting")
    ax.axvline(threshold, color="black", ls="--", lw=0.8, label=f"|SMD| = {fmt_plain(threshold)}")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel(f"Absolute standardised mean difference, group {treated} vs group {control}", fontsize=8)
    ax.set_xlim(0, max(1.0, float(np.nanmax([before.max(), after.max()])) * 1.05))
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=7, frameon=False)
    return fig
