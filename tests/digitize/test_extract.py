"""Extraction from figures rendered with matplotlib from known data.

Tolerance: every value must come back within 1% of its axis span (in
decades on log axes) -- the accuracy a reader of a printed figure gets with
Engauge Digitizer, and about 3-4 pixels on these 640 x 480 images; the
extractors are measured at about 0.3%. No spurious points: the counts must
be exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from hepatostat.digitize import (
    calibrate_affine,
    calibrate_axes,
    color_mask,
    find_bars,
    find_error_bars,
    find_points,
    meta_row,
    read_image,
    trace_curve,
)
from hepatostat.errors import InputError

from . import figures as F

#: largest error allowed, as a fraction of the axis span
TOL = 0.01


def _norm(v, log, span):
    v = np.asarray(v, dtype=float)
    return (np.log10(v) if log else v) / span


def match(res_x, res_y, true_x, true_y, span, log=(False, False)):
    """Pair every true point with its nearest extracted point (one to one);
    return the errors as fractions of the axis spans."""
    ex = np.column_stack([_norm(res_x, log[0], span[0]), _norm(res_y, log[1], span[1])])
    tr = np.column_stack([_norm(true_x, log[0], span[0]), _norm(true_y, log[1], span[1])])
    assert len(ex) == len(tr), f"{len(ex)} points extracted, {len(tr)} drawn"
    d = np.linalg.norm(tr[:, None, :] - ex[None, :, :], axis=2)
    nearest = d.argmin(axis=1)
    assert len(set(nearest.tolist())) == len(tr), "two drawn points matched the same extracted point"
    err = np.abs(tr - ex[nearest])
    return err[:, 0], err[:, 1]


def test_scatter_linear(scatter_linear):
    r = scatter_linear
    cal = calibrate_axes(r.x_axis, r.y_axis)
    res = find_points(r.path, cal, F.RED)
    ex, ey = match(res.x, res.y, r.truth["x"], r.truth["y"], r.span)
    assert ex.max() < TOL and ey.max() < TOL
    assert np.all(np.diff(res.px) >= 0)  # left to right
    assert res.split.max() == 2 and (res.split == 2).sum() == 2  # the touching pair, split
    assert any("split" in n for n in res.notes)
    frame = res.to_frame()
    assert list(frame.columns) == ["x", "y"] and len(frame) == len(r.truth["x"])


def test_scatter_log_log(scatter_log):
    r = scatter_log
    cal = calibrate_axes(r.x_axis, r.y_axis, x_log=True, y_log=True)
    res = find_points(r.path, cal, F.RED)
    ex, ey = match(res.x, res.y, r.truth["x"], r.truth["y"], r.span, log=(True, True))
    assert ex.max() < TOL and ey.max() < TOL


def test_scatter_rotated_scan_affine(scatter_linear, rotated_scatter):
    path, refs, _ = rotated_scatter
    cal = calibrate_affine(refs)
    assert cal.rotation_deg == pytest.approx(3.0, abs=0.05)
    res = find_points(path, cal, F.RED)
    ex, ey = match(res.x, res.y, scatter_linear.truth["x"], scatter_linear.truth["y"], scatter_linear.span)
    assert ex.max() < TOL and ey.max() < TOL


def test_touching_markers_without_split_count_once(scatter_linear):
    r = scatter_linear
    cal = calibrate_axes(r.x_axis, r.y_axis)
    res = find_points(r.path, cal, F.RED, split=False)
    assert res.n == len(r.truth["x"]) - 1


def test_region_leaves_out_points(scatter_linear):
    r = scatter_linear
    cal = calibrate_axes(r.x_axis, r.y_axis)
    (px0, _), (px1, _) = r.x_axis
    mid = (px0 + px1) / 2
    res = find_points(r.path, cal, F.RED, region=(0, 0, mid, r.height))
    assert 0 < res.n < len(r.truth["x"]) and np.all(res.x < 5.2)


def test_bars_positive_and_negative(bar_chart):
    r = bar_chart
    cal = calibrate_axes(None, r.y_axis)
    res = find_bars(r.path, cal, F.GREEN)
    assert res.n == len(r.truth["value"])  # no spurious bars
    np.testing.assert_array_less(np.abs(res.value - r.truth["value"]) / r.span[1], TOL)
    np.testing.assert_allclose(res.x_px, r.pixels["px"], atol=1.0)  # bar centres, left to right
    assert np.all(np.diff(res.x_px) > 0)
    assert list(res.to_frame().columns) == ["x_px", "value"]
    assert (res.value < 0).sum() == 2


def test_error_bars_on_bars(bar_chart):
    r = bar_chart
    cal = calibrate_axes(None, r.y_axis)
    bars = find_bars(r.path, cal, F.GREEN)
    eb = find_error_bars(r.path, cal, F.BLACK, bars, region=r.pixels["region"], tolerance=120)
    v, e = r.truth["value"], r.truth["err"]
    np.testing.assert_array_less(np.abs(eb.upper - (v + e)) / r.span[1], TOL)
    np.testing.assert_array_less(np.abs(eb.lower - (v - e)) / r.span[1], TOL)
    assert not eb.notes


def test_error_bars_on_markers_to_meta_row(errorbar_chart):
    r = errorbar_chart
    T = r.truth
    cal = calibrate_axes(r.x_axis, r.y_axis)
    arms = {}
    for color, m, se, offset in ((F.RED, "m1", "se1", -0.08), (F.BLUE, "m2", "se2", 0.08)):
        pts = find_points(r.path, cal, color)
        eb = find_error_bars(r.path, cal, F.BLACK, pts, region=r.pixels["region"], tolerance=120)
        assert len(eb.mean) == 4 and not eb.notes
        np.testing.assert_array_less(np.abs(eb.x - (T["t"] + offset)) / r.span[0], TOL)
        np.testing.assert_array_less(np.abs(eb.mean - T[m]) / r.span[1], TOL)
        np.testing.assert_array_less(np.abs(eb.upper - (T[m] + T[se])) / r.span[1], TOL)
        np.testing.assert_array_less(np.abs(eb.lower - (T[m] - T[se])) / r.span[1], TOL)
        arms[m] = eb
    # the last time point as a meta-analysis row: SE bars, 20 and 18 patients
    a, b = arms["m1"], arms["m2"]
    row = meta_row("Trial A", m1=a.mean[-1], lower1=a.lower[-1], upper1=a.upper[-1], n1=20,
                   m2=b.mean[-1], lower2=b.lower[-1], upper2=b.upper[-1], n2=18, bars="se")
    assert list(row.columns) == ["study", "m1", "sd1", "n1", "m2", "sd2", "n2"]
    # SD = SE * sqrt(n): within 1% of the span times sqrt(n) of the drawn SE * sqrt(n)
    assert row.sd1[0] == pytest.approx(T["se1"][-1] * np.sqrt(20), abs=TOL * r.span[1] * np.sqrt(20))
    assert row.sd2[0] == pytest.approx(T["se2"][-1] * np.sqrt(18), abs=TOL * r.span[1] * np.sqrt(18))


def test_curve_sampled_at_step(line_chart):
    r = line_chart
    cal = calibrate_axes(r.x_axis, r.y_axis)
    res = trace_curve(r.path, cal, F.BLUE, step=5, start=0, stop=180)
    assert len(res.x) == 37 and not res.notes
    np.testing.assert_allclose(res.x, np.arange(0, 181, 5.0))
    np.testing.assert_array_less(np.abs(res.y - F.curve_truth(res.x)) / r.span[1], TOL)


def test_curve_reports_x_without_line(line_chart):
    r = line_chart
    cal = calibrate_axes(r.x_axis, r.y_axis)
    res = trace_curve(r.path, cal, F.BLUE, step=10, start=0, stop=250)  # the line stops at 180
    assert res.x.max() == 180 and any("no pixel of the line" in n for n in res.notes)


# ---------------------------------------------------------------- meta_row
def test_meta_row_conversions():
    # SE bars: SD = SE * sqrt(n); SD bars: half-width; 95% CI: sqrt(n) * width / 3.92
    se = meta_row("S", m1=10, lower1=8, upper1=12, n1=25, m2=9, lower2=8, upper2=10, n2=16, bars="se")
    assert se.sd1[0] == pytest.approx(2 * 5) and se.sd2[0] == pytest.approx(1 * 4)
    sd = meta_row("S", m1=10, lower1=8, upper1=12, n1=25, m2=9, lower2=8, upper2=10, n2=16, bars="sd")
    assert sd.sd1[0] == pytest.approx(2.0) and sd.sd2[0] == pytest.approx(1.0)
    ci = meta_row("S", m1=10, lower1=8, upper1=12, n1=25, m2=9, lower2=8, upper2=10, n2=16, bars="ci")
    assert ci.sd1[0] == pytest.approx(5 * 4 / 3.92, rel=1e-4) and ci.sd2[0] == pytest.approx(4 * 2 / 3.92, rel=1e-4)
    # only the upper half drawn (bar charts): half-width = upper - mean
    up = meta_row("S", m1=10, upper1=12, n1=25, m2=9, upper2=10, n2=16, bars="sd")
    assert up.sd1[0] == 2.0 and up.n1[0] == 25
    many = meta_row(["A", "B"], m1=[10, 11], upper1=[12, 12], n1=[10, 20], m2=9, upper2=10, n2=10, bars="sd")
    assert list(many.study) == ["A", "B"] and list(many.sd1) == [2.0, 1.0]


def test_meta_row_bad_input():
    with pytest.raises(InputError, match="between the lower and upper"):
        meta_row("S", m1=13, lower1=8, upper1=12, n1=25, m2=9, lower2=8, upper2=10, n2=16)
    with pytest.raises(InputError, match="bars must be one of"):
        meta_row("S", m1=10, upper1=12, n1=25, m2=9, upper2=10, n2=16, bars="iqr")
    with pytest.raises(InputError):
        meta_row("S", m1=10, upper1=12, n1=1, m2=9, upper2=10, n2=16)


# ---------------------------------------------------------------- bad input
def test_unreadable_image(tmp_path, scatter_linear):
    cal = calibrate_axes(scatter_linear.x_axis, scatter_linear.y_axis)
    fake = tmp_path / "figure.png"
    fake.write_text("not an image")
    with pytest.raises(InputError, match="cannot read the image") as exc:
        find_points(fake, cal, F.RED)
    assert exc.value.file == str(fake)
    with pytest.raises(InputError, match="image file not found"):
        find_points(tmp_path / "missing.png", cal, F.RED)
    with pytest.raises(InputError, match="folder"):
        read_image(tmp_path)


def test_colour_that_matches_nothing(scatter_linear, bar_chart):
    cal = calibrate_axes(scatter_linear.x_axis, scatter_linear.y_axis)
    with pytest.raises(InputError, match=r"no pixel matches the colour #00ff00 within tolerance 60 \(the nearest colour"):
        find_points(scatter_linear.path, cal, "#00ff00")
    with pytest.raises(InputError, match="no pixel"):
        find_bars(bar_chart.path, calibrate_axes(None, bar_chart.y_axis), "#ff00ff")


def test_bad_options(scatter_linear):
    cal = calibrate_axes(scatter_linear.x_axis, scatter_linear.y_axis)
    with pytest.raises(InputError, match="tolerance"):
        find_points(scatter_linear.path, cal, F.RED, tolerance=-1)
    with pytest.raises(InputError, match="region lies outside"):
        find_points(scatter_linear.path, cal, F.RED, region=(5000, 5000, 6000, 6000))
    with pytest.raises(InputError, match="log y axis has no zero line"):
        find_bars(scatter_linear.path, calibrate_axes(None, ((400, 1), (40, 100)), y_log=True), F.RED)


def test_read_image_array_forms():
    rgba = np.zeros((4, 5, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 0  # fully transparent -> white
    np.testing.assert_allclose(read_image(rgba), 255.0)
    grey = np.full((3, 3), 0.5)
    np.testing.assert_allclose(read_image(grey), 127.5)
    mask = color_mask(np.full((3, 3, 3), 10.0), "#0a0a0a", 0)
    assert mask.all()


def test_results_have_short_repr_and_html_table(scatter_linear, bar_chart):
    # issue 12 item 7: results print briefly at the prompt and as a table in Jupyter
    r = scatter_linear
    res = find_points(r.path, calibrate_axes(r.x_axis, r.y_axis), F.RED)
    text = repr(res)
    assert text.startswith("<PointsResult: ") and f"{res.n} point(s)" in text and "\n" not in text
    html = res._repr_html_()
    assert html.count("<tr") == res.n + 1 and "PointsResult" in html
    bars = find_bars(bar_chart.path, calibrate_axes(None, bar_chart.y_axis), F.GREEN, source="<b>")
    assert repr(bars) == f"<BarsResult: {bars.n} bar(s), color='{F.GREEN}', source='<b>'>"
    assert "&lt;b&gt;" in bars._repr_html_() and "<b>'" not in bars._repr_html_()
    assert repr(bars.calibration).startswith("<Calibration axes: x axis: not calibrated")
