"""No label overlaps in the figures (issue 16 item 5): text boxes measured with the Agg renderer.

Regression: the Baujat plot of the BCG trials printed "Comstock et al, 1976", "Rosenthal et al, 1961"
and four more labels on top of each other.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from hepatostat.meta import effects, pool
from hepatostat.meta.plots import baujat_plot, forest, forest_blocks, place_labels
from hepatostat.meta.sensitivity import baujat

from refdata import reference_data


def _boxes(fig, legends=True):
    """(name, display box) of every visible, non-empty text (and legend) in ``fig``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    out = []
    ticks, drawn = set(), set()  # tick labels: only those of ticks inside the view limits are drawn
    for ax in fig.axes:
        for axis, lim, k in ((ax.xaxis, ax.get_xlim(), 0), (ax.yaxis, ax.get_ylim(), 1)):
            lo, hi = min(lim), max(lim)
            for t in axis.get_ticklabels(minor=False) + axis.get_ticklabels(minor=True):
                ticks.add(id(t))
                if lo - 1e-9 * abs(hi - lo) <= t.get_position()[k] <= hi + 1e-9 * abs(hi - lo):
                    drawn.add(id(t))
    for t in fig.findobj(Text):
        if id(t) in ticks and id(t) not in drawn:
            continue
        if t.get_visible() and t.get_text().strip() and (t.axes is None or t.axes.get_visible()):
            out.append((t.get_text(), t.get_window_extent(renderer)))
    if legends:
        for ax in fig.axes:
            leg = ax.get_legend()
            if leg is not None:
                out.append(("<legend>", leg.get_window_extent(renderer)))
    return out


def overlapping(fig, legends=True):
    """Pairs of texts whose boxes overlap (a legend counts as one box; texts inside it are skipped)."""
    boxes = _boxes(fig, legends)
    legend_boxes = [b for n, b in boxes if n == "<legend>"]

    def in_legend(b):
        return any(lb.x0 - 1 <= b.x0 and b.x1 <= lb.x1 + 1 and lb.y0 - 1 <= b.y0 and b.y1 <= lb.y1 + 1
                   for lb in legend_boxes)

    items = [(n, b) for n, b in boxes if n == "<legend>" or not in_legend(b)]
    bad = []
    for (n1, b1), (n2, b2) in itertools.combinations(items, 2):
        w = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
        h = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
        if w > 0.5 and h > 0.5:  # more than half a pixel each way
            bad.append((n1, n2))
    return bad


@pytest.fixture(scope="module")
def bcg():
    return pool(effects(reference_data("bcg"), "RR"), "REML")


def test_baujat_labels_do_not_overlap_and_the_unlabelled_are_named(bcg):
    fig = baujat_plot(baujat(bcg))
    assert overlapping(fig) == []
    labelled = {t.get_text() for t in fig.axes[0].texts}
    assert labelled | set(fig.unlabelled) == set(bcg.study)  # every study is labelled or listed
    assert len(labelled) >= 8  # most are labelled
    if fig.unlabelled:
        assert any("Not labelled" in t.get_text() for t in fig.texts)


def test_crowded_points_leave_labels_out_rather_than_overlap():
    from hepatostat.io.figures import new_figure

    fig, axes = new_figure(3, 2)
    ax = axes[0][0]
    xs, ys = np.zeros(12) + 0.5, np.linspace(0.49, 0.51, 12)  # twelve points on top of each other
    ax.scatter(xs, ys)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    left = place_labels(ax, xs, ys, [f"Study number {i}" for i in range(12)])
    assert left and overlapping(fig) == []


def test_the_overlap_check_can_fail():
    from hepatostat.io.figures import new_figure

    fig, axes = new_figure(3, 2)
    axes[0][0].text(0.5, 0.5, "Hart & Sutherland, 1977")
    axes[0][0].text(0.52, 0.5, "TPT Madras, 1980")
    assert overlapping(fig)


def test_forest_plots_have_no_overlapping_text(bcg):
    assert overlapping(forest(bcg, title="BCG")) == []
    from hepatostat import datasets
    from hepatostat.report.figures_meta import forest_by_timepoint, pool_blocks

    d = datasets.load("synthetic_msc_trials_long")
    for outcome in ("MELD", "survival"):
        fig = forest_by_timepoint(pool_blocks(d, outcome), outcome_label=outcome)
        assert fig.get_size_inches()[0] <= 6.28  # page wide: printed at full size
        assert overlapping(fig) == [], outcome


def test_forest_blocks_show_arm_columns_weights_and_effects():
    from hepatostat import datasets
    from hepatostat.report.figures_meta import pool_blocks

    d = datasets.load("synthetic_msc_trials_long")
    blocks = pool_blocks(d, "MELD")
    fig = forest_blocks([(t, r) for t, _, r in blocks])
    texts = [t.get_text() for t in fig.axes[0].texts]
    row = d[(d["outcome"] == "MELD") & (d["timepoint"] == "W24")].iloc[0]
    assert f"{row['m1']:.1f} ({row['sd1']:.1f}), {int(row['n1'])}" in texts  # treatment mean (SD), n
    assert "Treatment\nmean (SD), n" in texts and "Weight\n(%)" in texts
    res = blocks[-1][2]
    # journal style (issue 16): "estimate (low to high)", as the tables and sentences write an interval
    assert f"{res.estimate:.2f} ({res.ci_low:.2f} to {res.ci_high:.2f})" in texts
    assert sum(t.startswith("Subtotal") for t in texts) == len(blocks)
    b = pool_blocks(d, "survival")
    texts = [t.get_text() for t in forest_blocks([(t, r) for t, _, r in b]).axes[0].texts]
    row = d[(d["outcome"] == "survival")].iloc[0]
    assert f"{int(row['e1'])}/{int(row['n1'])}" in texts and "Treatment\nevents/total" in texts


def test_cohort_decline_figure_stars_and_legends_do_not_overlap():
    from hepatostat import cohort as co
    from hepatostat.datasets import synthetic_cohort
    from hepatostat.report.figures_cohort import figure_declines, figure_over_time
    from hepatostat.report.labels import Dictionary

    built = co.build_cohort(synthetic_cohort.load_cohort(), co.load_criteria("seed_jia2020"))
    long = built.visits.to_frame("long")
    pairs = [("A", "B"), ("C", "D"), ("A", "C"), ("B", "D")]
    ch = co.changes(long, ["bilirubin"], pairs=pairs)
    for cumulative in (False, True):
        fig = figure_declines(long, ch, "bilirubin", Dictionary(), pairs=pairs, cumulative=cumulative)
        assert overlapping(fig) == [], cumulative
    # with the pooled panel first (liver failure A + B vs cirrhosis C + D), as the seed's Fig. 2A
    to = {"A": "Liver failure", "B": "Liver failure", "C": "Cirrhosis", "D": "Cirrhosis"}
    c_long = long.assign(group=long["group"].map(to))
    c_ch = co.changes(c_long, ["bilirubin"], pairs=[("Liver failure", "Cirrhosis")])
    fig = figure_declines(long, ch, "bilirubin", Dictionary(), pairs=pairs,
                          combined=(c_long, c_ch, ("Liver failure", "Cirrhosis")))
    assert [ax.get_title(loc="left")[:1] for ax in fig.axes if ax.get_visible()] == list("ABCDE")
    assert overlapping(fig) == []
    fig = figure_over_time(long, ["alt", "bilirubin", "meld"], Dictionary())
    assert overlapping(fig) == []


def test_regression_baujat_labels_drawn_next_to_every_point_overlapped(bcg):
    """What the Baujat plot did before: every label 3 points up and right of its point; the check finds it."""
    from matplotlib.figure import Figure

    d = baujat(bcg)
    fig = Figure(figsize=(6, 4.6))
    ax = fig.add_subplot()
    ax.scatter(d["x"], d["y"])
    for _, r in d.iterrows():
        ax.annotate(str(r["study"]), (r["x"], r["y"]), xytext=(3, 3), textcoords="offset points", fontsize=7)
    assert ("Rosenthal et al, 1961", "Comstock et al, 1976") in overlapping(fig)


def _right_column_inside_plot(fig) -> float:
    """Inches by which the right-aligned effect column reaches into the plot area (0 when clear of it)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    plot = ax.get_window_extent(renderer)
    worst = 0.0
    for t in ax.texts:
        box = t.get_window_extent(renderer)
        if t.get_ha() == "right" and box.x1 > plot.x1:  # the effect (CI) column right of the plot
            worst = max(worst, plot.x1 - box.x0)
    return worst / fig.dpi


def test_regression_wide_effect_texts_ran_into_the_plot():
    # mean differences in the hundreds ("-120.50 (-213.28 to -27.72)") are wider than the fixed effect
    # column; the text ran 0.06 in (wide layout) and 0.18 in (page layout) into the plot before the column
    # took its width from its text
    d = pd.DataFrame({"study": [f"S{i}" for i in range(4)], "m1": [-120.5, 130.2, 250.1, -300.3],
                      "sd1": [150.0] * 4, "n1": [20] * 4, "m2": [10.0] * 4, "sd2": [160.0] * 4, "n2": [20] * 4})
    res = pool(effects(d, "MD"), "REML")
    wide = forest(res)
    page = forest_blocks([("Week 1", res), ("Week 2", res)])
    assert _right_column_inside_plot(wide) == 0.0
    assert _right_column_inside_plot(page) == 0.0
    assert page.get_size_inches()[0] <= 6.28  # still page wide: the plot gave up the room
    assert overlapping(wide) == [] and overlapping(page) == []
