"""Forest plots render, with the elements a reviewer expects."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest

from hepatostat.meta import effects, forest, pool

from refdata import reference_data


@pytest.mark.parametrize("measure, method, knha", [("RR", "REML", False), ("OR", "MH", False), ("SMD", "DL", True),
                                                   ("OR", "PETO", False)])
def test_forest_renders_png_svg_pdf(tmp_path, measure, method, knha):
    data = reference_data("bcg") if measure != "SMD" else reference_data("normand1999")
    res = pool(effects(data, measure), method, knha=knha)
    fig = forest(res, tmp_path / "f.png", title="t")
    res.plot(tmp_path / "f.svg")
    res.plot(tmp_path / "f.pdf")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(t.startswith("Heterogeneity: Q = ") for t in texts)
    assert any(s in texts for s in res.study)
    assert any("model" in t for t in texts)
    assert (tmp_path / "f.png").stat().st_size > 10_000
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF"
    if res.random:
        assert "Prediction interval" in texts
    if res.log_scale:
        assert fig.axes[0].get_xscale() == "log"


def test_forest_texts_in_journal_style():
    # issue 16, item 2: the figure writes numbers as the report's tables do: P as "<0.001" or three
    # decimals, intervals "a to b", I² with one decimal, weights with one decimal, trailing zeros kept.
    # Expected texts are built here with Python's own format specs, independently of io.format.
    import numpy as np

    res = pool(effects(reference_data("bcg"), "RR"), "REML")
    texts = [t.get_text() for t in forest(res).axes[0].texts]
    assert "RR (95% CI)" in texts
    assert not any("[" in t for t in texts)
    assert f"{np.exp(res.estimate):.2f} ({np.exp(res.ci_low):.2f} to {np.exp(res.ci_high):.2f})" in texts
    assert f"{np.exp(res.pi_low):.2f} to {np.exp(res.pi_high):.2f}" in texts  # prediction interval
    footer = [t for t in texts if t.startswith("Heterogeneity: ")]
    assert len(footer) == 1
    assert footer[0].split("\n") == [
        f"Heterogeneity: Q = {res.Q:.2f}, df = {res.Q_df}, P < 0.001; I² = {res.I2:.1f}%; τ² = {res.tau2:.3f}",
        f"Test for overall effect: z = {res.stat:.2f}, P < 0.001"]
    assert res.Q_pval < 0.001 and res.pval < 0.001
    weights = [f"{w:.1f}" for w in np.asarray(res.weights, float)]
    assert all(w in texts for w in weights) and "100.0" in texts


def test_subgroup_forest_p_with_three_decimals():
    from hepatostat.meta.subgroup import subgroup_analysis

    sg = subgroup_analysis(effects(reference_data("bcg"), "RR"), "alloc", "REML")
    texts = [t.get_text() for t in sg.plot().axes[0].texts]
    assert 0.001 <= sg.Q_between_pval < 1
    assert any(f"Test for subgroup differences: Q = {sg.Q_between:.2f}, df = 2, P = {sg.Q_between_pval:.3f}" in t
               for t in texts)


def test_forest_k1(tmp_path):
    res = pool(effects(reference_data("bcg").iloc[:1], "RR"), "REML")
    fig = forest(res, tmp_path / "one.png")
    assert any("not estimable" in t.get_text() for t in fig.axes[0].texts)


def test_subgroup_forest_has_revman_blocks(tmp_path):
    from hepatostat.meta.subgroup import subgroup_analysis

    sg = subgroup_analysis(effects(reference_data("bcg"), "RR"), "alloc", "REML")
    fig = sg.plot(tmp_path / "sg.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert [t for t in texts if t.startswith("alloc = ")] == ["alloc = random", "alloc = alternate", "alloc = systematic"]
    assert sum(t.startswith("Subtotal (k = ") for t in texts) == 3
    assert any("Test for subgroup differences: Q = 1.86, df = 2" in t for t in texts)
    assert all(s in texts for s in sg.overall.study)  # every study under its subgroup
    assert (tmp_path / "sg.png").stat().st_size > 10_000


def test_funnel_and_loo_render(tmp_path):
    from hepatostat.meta.bias import publication_bias
    from hepatostat.meta.sensitivity import leave_one_out

    res = pool(effects(reference_data("bcg"), "RR"), "REML")
    fig = publication_bias(res).plot(tmp_path / "funnel.svg")
    assert fig.axes[0].yaxis_inverted() and (tmp_path / "funnel.svg").exists()
    fig = leave_one_out(res).plot(tmp_path / "loo.png")
    assert len(fig.axes[0].get_yticklabels()) == res.k + 1


def test_funnel_legend_and_loo_labels_in_journal_style():
    # contour thresholds with two decimals as before (0.10), more when a threshold needs them; the leave-one-out
    # column writes "estimate (low to high)" and I² with one decimal, as the tables do
    import numpy as np

    from hepatostat.meta.bias import publication_bias
    from hepatostat.meta.sensitivity import leave_one_out

    res = pool(effects(reference_data("bcg"), "RR"), "REML")
    fig = publication_bias(res).plot()
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[:4] == ["P ≤ 0.01", "0.01 < P ≤ 0.05", "0.05 < P ≤ 0.10", "P > 0.10"]
    fig = publication_bias(res).plot(contours=(0.95, 0.999))  # a threshold that needs three decimals keeps them
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()][:3] == ["P ≤ 0.001", "0.001 < P ≤ 0.05",
                                                                                 "P > 0.05"]
    loo = leave_one_out(res)
    fig = loo.plot()
    right = [t.get_text() for sec in fig.axes[0].child_axes for t in sec.get_yticklabels()]  # the right column
    f = loo.frame.iloc[0]
    first = (f"{np.exp(f['estimate']):.2f} ({np.exp(f['ci_low']):.2f} to {np.exp(f['ci_high']):.2f})  "
             f"I² {f['I2']:.1f}%")
    assert first in right
