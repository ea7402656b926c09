"""Fuzzed images and calibrations for ``hepatostat digitize points`` and ``digitize bars``.

Images are small figures drawn with Pillow (markers or bars of one colour on
white, with noise), saved as PNG, GIF, BMP, JPEG or TIFF, and sometimes
broken: truncated, bytes flipped, not an image at all, one pixel wide, or
declaring more pixels than the budget. Calibrations are mostly sensible and
sometimes degenerate (coinciding pixels, zero or negative values on a log
axis, huge numbers).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ._harness import check, fuzz_settings

_TMP = Path(tempfile.mkdtemp(prefix="hepatostat-fuzz-images-"))
COLORS = ["#d62728", "#1f77b4", "#000000", "#ffffff", "#2ca02c"]


@st.composite
def figure(draw):
    """(file suffix, bytes, width, height)."""
    from PIL import Image, ImageDraw

    kind = draw(st.sampled_from(["drawn", "drawn", "drawn", "noise", "garbage", "tiny"]))
    if kind == "garbage":
        return ".png", draw(st.binary(max_size=200)), 10, 10
    w, h = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if kind == "tiny" else \
        (draw(st.integers(20, 120)), draw(st.integers(20, 120)))
    mode = draw(st.sampled_from(["RGB", "RGBA", "L", "P", "1", "I;16"]))
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    color = draw(st.sampled_from(COLORS))
    for _ in range(draw(st.integers(0, 6))):
        x, y = draw(st.integers(0, w - 1)), draw(st.integers(0, h - 1))
        if draw(st.booleans()):
            r = draw(st.integers(1, 5))
            d.ellipse([x - r, y - r, x + r, y + r], fill=color)
        else:
            d.rectangle([x, y, min(w - 1, x + draw(st.integers(0, 12))), h - 1], fill=color)
    if kind == "noise":
        for _ in range(draw(st.integers(1, 40))):
            img.putpixel((draw(st.integers(0, w - 1)), draw(st.integers(0, h - 1))),
                         tuple(draw(st.integers(0, 255)) for _ in range(3)))
    try:
        img = img.convert(mode)
    except ValueError:
        pass
    fmt, suffix = draw(st.sampled_from([("PNG", ".png"), ("PNG", ".png"), ("GIF", ".gif"), ("BMP", ".bmp"),
                                        ("JPEG", ".jpg"), ("TIFF", ".tif")]))
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt)
    except (OSError, ValueError):
        img.convert("RGB").save(buf, format=fmt)
    data = buf.getvalue()
    damage = draw(st.sampled_from(["none", "none", "none", "truncate", "flip"]))
    if damage == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:]
    return suffix, data, w, h


def _num(draw, lo, hi):
    if draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(["0", "-5", "1e300", "1e-300", "abc", "", "nan"]))
    return draw(st.one_of(st.integers(lo, hi).map(str), st.floats(lo, hi).map(lambda v: f"{v:.3g}")))


@st.composite
def axis(draw, size):
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["", "1=2", "1=2,3", "a=b,c=d", "1=2,3=4,5=6", "=,="]))
    p0, p1 = draw(st.integers(-5, size // 2)), draw(st.integers(size // 2 + 1, size + 5))
    v0, v1 = _num(draw, 1, 100), _num(draw, 101, 1000)
    return f"{p0}={v0},{p1}={v1}"


@fuzz_settings(40)
@given(figure(), st.data())
def test_fuzz_digitize_points(fig, data):
    suffix, raw, w, h = fig
    path = _TMP / f"figure{suffix}"
    path.write_bytes(raw)
    args = ["digitize", "points", path, "--x-axis", data.draw(axis(w)), "--y-axis", data.draw(axis(h)),
            "--color", data.draw(st.sampled_from(COLORS + ["#d6272", "red", "#D62728"])),
            "--tolerance", str(data.draw(st.integers(0, 441))), "--format", "json"]
    args += data.draw(st.sampled_from([[], [], [], ["--x-log"], ["--y-log"], ["--x-log", "--y-log"], ["--no-split"],
                                       ["--marker-area", "1"], ["--region", f"0,0,{w // 2},{h}"]]))
    status, obj = check(args, path, json_keys=("points", "calibration"),
                        option_errors=[r"--(x|y)-axis", r"column '(x|y)_axis'", r"colour must be a hex", r"--region",
                                       r"region lies outside"])
    if obj is not None:
        assert all(set(p) == {"x", "y"} for p in obj["points"])


@fuzz_settings(20)
@given(figure(), st.data())
def test_fuzz_digitize_bars(fig, data):
    suffix, raw, w, h = fig
    path = _TMP / f"bars{suffix}"
    path.write_bytes(raw)
    args = ["digitize", "bars", path, "--y-axis", data.draw(axis(h)),
            "--color", data.draw(st.sampled_from(COLORS)), "--format", "json"]
    args += data.draw(st.sampled_from([[], ["--y-log"], ["--baseline", "1"], ["--baseline", "-3"],
                                       ["--min-width", "1"], ["--y-log", "--baseline", "0.1"]]))
    status, obj = check(args, path, json_keys=("bars", "calibration"),
                        option_errors=[r"--y-axis", r"column 'y_axis'", r"column 'baseline'"])
    if obj is not None:
        xs = [b["x_px"] for b in obj["bars"]]
        assert xs == sorted(xs)
