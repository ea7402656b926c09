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
