"""Tests of hepatostat.cohort.plots (Figures 1-3, Love plot).

The figures were checked by eye (PNG) when written; these tests check that
they are drawn from the results (marks where the tests are significant, the
number of patients under the boxes) and saved as PNG and SVG.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from hepatostat.cohort.longitudinal import changes, over_time  # noqa: E402
from hepatostat.cohort.models import ipw  # noqa: E402
from hepatostat.cohort.plots import plot_balance, plot_declines, plot_over_time, stars  # noqa: E402

from refdata import reference_data  # noqa: E402


@pytest.fixture(scope="module")
def long():
    return reference_data("cohort_synthetic_long", "cohort_stats.json")


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_stars():
    assert [stars(p) for p in (0.0004, 0.004, 0.04, 0.4, float("nan"))] == ["***", "**", "*", "", ""]


def test_figure1_box_plots(long, tmp_path):
    res = over_time(long, ["tbil", "meld"], group="disease")
    fig = plot_over_time(res, tmp_path / "fig1", ylabels={"tbil": "TBIL (µmol/L)"})
    assert (tmp_path / "fig1.png").stat().st_size > 10_000 and (tmp_path / "fig1.svg").exists()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in axes] == ["tbil", "meld"]
    assert axes[0].get_ylabel() == "TBIL (µmol/L)"
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["W0", "W1", "W4", "W12", "W24"]
    texts = _texts(fig)
    ser = res.get("tbil", "failure")
    assert str(ser.n[0]) in texts  # n under the boxes
    n_marks = sum(1 for o in ("tbil", "meld") for g in res.groups for v in res.get(o, g).visits if stars(v.pval_adj))
    assert sum(1 for t in texts if t and set(t) == {"*"}) == n_marks
    legend = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert legend[0].startswith("cirrhosis (Friedman p")
    plt.close(fig)


def test_figure1_median_lines(long, tmp_path):
    res = over_time(long, "tbil", group="group")
    fig = res.plot(tmp_path / "fig1b.svg", kind="median")
    assert (tmp_path / "fig1b.svg").read_text().startswith("<?xml")
    plt.close(fig)


def test_figures_2_and_3(long, tmp_path):
    res = changes(long, "tbil", pairs=[("A", "B"), ("C", "D"), ("A", "C"), ("B", "D")])
    fig2 = plot_declines(res, "tbil", tmp_path / "fig2.png")
    n_sig = sum(1 for c in res.cells if not c.cumulative for p in c.pairs if stars(p.pval))
    assert sum(1 for t in _texts(fig2) if t and set(t) == {"*"}) == n_sig
    assert [t.get_text().rstrip("†") for t in fig2.axes[0].get_xticklabels()] == ["W0–W1", "W1–W4", "W4–W12", "W12–W24"]
    fig3 = res.plot("tbil", tmp_path / "fig3.png", kind="cumulative", pairs=[("A", "C")])
    marks = [t for t in _texts(fig3) if t.startswith("A–C")]
    assert len(marks) == sum(1 for c in res.cells if c.cumulative and stars(c.pairs[2].pval))
    assert (tmp_path / "fig2.png").exists() and (tmp_path / "fig3.png").exists()
    with pytest.raises(ValueError, match="kind must be"):
        plot_declines(res, "tbil", kind="bars")
    with pytest.raises(ValueError, match="outcome 'alt' not in the result"):
        plot_declines(res, "alt")
    plt.close("all")


def test_love_plot(tmp_path):
    d = reference_data("cohort_synthetic_ipw", "cohort_stats.json")
    r = ipw(d, "treatment", "meld_decline", ["age", "meld", "sex", "tbil"], treated="prolonged")
    fig = plot_balance(r, tmp_path / "love.png")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == list(r.balance["covariate"])
    assert (tmp_path / "love.png").exists()
    plt.close(fig)


def test_box_plot_outliers_only_when_asked(long):
    # issue 14 privacy: a box-plot outlier is one patient's value; not drawn unless points=True
    res = over_time(long, ["tbil"], group="disease")

    def flier_points(fig):
        return sum(len(line.get_xdata()) for ax in fig.axes for line in ax.get_lines()
                   if line.get_marker() == "o" and line.get_linestyle() in ("None", "none", ""))

    hidden, shown = plot_over_time(res), plot_over_time(res, points=True)
    assert flier_points(hidden) == 0 and flier_points(shown) > 0
