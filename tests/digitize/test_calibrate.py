"""Calibration: pixels to values on linear, log and affine (rotated) axes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hepatostat.digitize import Calibration, calibrate_affine, calibrate_axes, parse_axis, parse_color, parse_reference
from hepatostat.errors import InputError


def test_linear_axes_map_and_inverse():
    cal = calibrate_axes(((80, 0), (560, 10)), ((400, 0), (40, 100)))
    x, y = cal.to_data(320, 220)
    assert x == pytest.approx(5.0, abs=1e-12) and y == pytest.approx(50.0, abs=1e-12)
    px, py = cal.to_pixel(np.array([0.0, 10.0]), np.array([0.0, 100.0]))
    np.testing.assert_allclose(px, [80, 560], atol=1e-9)
    np.testing.assert_allclose(py, [400, 40], atol=1e-9)
    assert cal.rotation_deg == pytest.approx(0.0, abs=1e-12)


def test_log_axes_are_linear_in_log10():
    cal = calibrate_axes(((100, 1), (400, 1000)), ((300, 10), (100, 1000)), x_log=True, y_log=True)
    x, y = cal.to_data(200, 200)  # a third of three decades; half of two decades
    assert x == pytest.approx(10.0, rel=1e-12) and y == pytest.approx(100.0, rel=1e-12)
    assert cal.to_pixel(-1.0, 10.0)[0] != cal.to_pixel(-1.0, 10.0)[0]  # NaN off a log axis


def test_affine_recovers_a_rotation():
    # a figure with x = (px - 100) / 50, y = (400 - py) / 4 rotated by 5 degrees about (300, 250)
    th = math.radians(5)

    def turn(px, py):
        dx, dy = px - 300, py - 250
        return 300 + dx * math.cos(th) + dy * math.sin(th), 250 - dx * math.sin(th) + dy * math.cos(th)

    refs = [(*turn(100, 400), 0, 0), (*turn(600, 400), 10, 0), (*turn(100, 0), 0, 100)]
    cal = calibrate_affine(refs)
    px, py = turn(350, 200)
    x, y = cal.to_data(px, py)
    assert x == pytest.approx(5.0, abs=1e-9) and y == pytest.approx(50.0, abs=1e-9)
    assert cal.rotation_deg == pytest.approx(5.0, abs=1e-9)
    back = cal.to_pixel(5.0, 50.0)
    assert back == pytest.approx((px, py), abs=1e-9)


def test_affine_with_log_axis():
    refs = [(0, 100, 1, 0), (300, 100, 1000, 0), (0, 0, 1, 10)]
    cal = calibrate_affine(refs, x_log=True)
    assert cal.to_data(100, 50) == pytest.approx((10.0, 5.0))


def test_round_trip_through_dict():
    cal = calibrate_axes(((80, 1), (560, 100)), ((400, 0), (40, 100)), x_log=True)
    again = Calibration.from_dict(cal.to_dict())
    np.testing.assert_allclose(again.matrix, cal.matrix)
    assert again.x_log and not again.y_log
    aff = calibrate_affine([(0, 100, 0, 0), (300, 100, 3, 0), (0, 0, 0, 10)])
    np.testing.assert_allclose(Calibration.from_dict(aff.to_dict()).matrix, aff.matrix)
    # the web page's short form
    web = Calibration.from_dict({"x_axis": [[80, 1], [560, 100]], "y_axis": [[400, 0], [40, 100]], "x_log": True})
    np.testing.assert_allclose(web.matrix, cal.matrix)


def test_y_only_calibration_for_bars():
    cal = calibrate_axes(None, ((300, -10), (100, 30)))
    assert not cal.x_calibrated
    assert cal.to_data(123.0, 200.0) == pytest.approx((123.0, 10.0))
    assert cal.to_dict()["x_axis"] is None


# ---------------------------------------------------------------- bad input
def test_coincident_axis_points():
    with pytest.raises(InputError, match="x-axis calibration points coincide"):
        calibrate_axes(((120, 0), (120, 10)), ((400, 0), (40, 100)))
    with pytest.raises(InputError, match="y-axis calibration points coincide"):
        calibrate_axes(((80, 0), (560, 10)), ((40.2, 0), (40.0, 100)))


def test_same_value_twice():
    with pytest.raises(InputError, match="same value 5"):
        calibrate_axes(((80, 5), (560, 5)), ((400, 0), (40, 100)))


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_log_axis_with_non_positive_value(bad):
    with pytest.raises(InputError, match="log x axis needs positive calibration values") as exc:
        calibrate_axes(((80, bad), (560, 10)), ((400, 0), (40, 100)), x_log=True)
    assert exc.value.value == bad and exc.value.column == "x_axis"
    with pytest.raises(InputError, match="log y axis needs positive"):
        calibrate_affine([(0, 100, 1, bad), (300, 100, 10, 1), (0, 0, 1, 10)], y_log=True)


def test_affine_degenerate_points():
    with pytest.raises(InputError, match="coincide"):
        calibrate_affine([(10, 10, 0, 0), (10.3, 10, 1, 0), (0, 0, 0, 1)])
    with pytest.raises(InputError, match="lie on one line"):
        calibrate_affine([(0, 0, 0, 0), (100, 100, 1, 0), (200, 200, 0, 1)])
    with pytest.raises(InputError, match="values lie on one line"):
        calibrate_affine([(0, 100, 0, 0), (300, 100, 1, 1), (0, 0, 2, 2)])
    with pytest.raises(InputError, match="exactly three"):
        calibrate_affine([(0, 100, 0, 0), (300, 100, 1, 1)])


def test_parsers():
    assert parse_axis("80=0, 560=1e1") == ((80.0, 0.0), (560.0, 10.0))
    assert parse_reference("80,400=0,0") == (80.0, 400.0, 0.0, 0.0)
    assert parse_color("#D62728") == (214, 39, 40) == parse_color("d62728")
    assert parse_color("#fff") == (255, 255, 255)
    for bad in ("80=0", "80=0,560", "a=0,1=2", "80=0,560=inf"):
        with pytest.raises(InputError):
            parse_axis(bad, name="--x-axis")
    with pytest.raises(InputError, match="PX,PY=X,Y"):
        parse_reference("80=0")
    with pytest.raises(InputError, match="hex code"):
        parse_color("red")
