"""End to end in headless Chromium: upload, calibrate by clicking, pick the
colour, extract, move / delete / add points, download the CSV.

Needs the Debian packages ``chromium`` and ``chromium-driver`` and the pip
package ``selenium`` (the test extras); skips, saying which is missing,
otherwise. Selenium talks to the system chromedriver only (no driver
download); Chromium runs headless with a fresh temporary profile.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest

from hepatostat.digitize import calibrate_axes
from hepatostat.digitize.server import _start_in_thread

from tests.browser import BROWSER_MARKS, chromium

from . import figures as F

pytestmark = BROWSER_MARKS

TOL = 0.01  # of the axis span, as in test_extract.py
WAIT = 20.0


@pytest.fixture(scope="module")
def server():
    srv, thread = _start_in_thread("127.0.0.1", 0)
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(1400, 1000, downloads=str(tmp_path_factory.mktemp("downloads"))) as driver:
        yield driver


def wait_for(cond, what, timeout=WAIT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        val = cond()
        if val:
            return val
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_digitize_in_the_browser(server, browser, scatter_linear):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    r = scatter_linear
    d = browser
    by_id = lambda i: d.find_element(By.ID, i)  # noqa: E731
    d.get(server.url)
    assert "digitiser" in d.title

    # 1. upload the rendered figure
    by_id("file").send_keys(os.path.abspath(r.path))
    wait_for(lambda: d.find_element(By.TAG_NAME, "body").get_attribute("data-image") == "loaded", "the image")
    canvas = by_id("canvas")
    assert (canvas.size["width"], canvas.size["height"]) == (r.width, r.height)

    def click_at(px, py):
        # offsets from the canvas' centre, in CSS pixels (= image pixels here)
        ActionChains(d).move_to_element_with_offset(canvas, round(px - r.width / 2), round(py - r.height / 2)) \
            .click().perform()

    def idle():
        wait_for(lambda: d.find_element(By.TAG_NAME, "body").get_attribute("data-busy") == "0", "the server")

    # 2. calibrate by clicking the tick marks on the axes and typing their values
    (xp1, xv1), (xp2, xv2) = r.x_axis
    (yp1, yv1), (yp2, yv2) = r.y_axis
    axis_row, axis_col = yp1, xp1  # the x axis line, the y axis line
    for key, (px, py), value in (("x1", (xp1, axis_row), xv1), ("x2", (xp2, axis_row), xv2),
                                 ("y1", (axis_col, yp1), yv1), ("y2", (axis_col, yp2), yv2)):
        by_id(f"set-{key}").click()
        click_at(px, py)
        cell = by_id(f"{key}-px")
        wait_for(lambda: cell.get_attribute("data-px"), f"calibration point {key}")
        got = float(cell.get_attribute("data-px" if key[0] == "x" else "data-py"))
        assert abs(got - (px if key[0] == "x" else py)) <= 1.5
        by_id(f"{key}-value").send_keys(f"{value:g}")

    # 3. pick the series colour on a marker
    i0 = int(np.argmin(r.truth["x"]))
    by_id("pick-color").click()
    click_at(r.pixels["px"][i0], r.pixels["py"][i0])
    assert by_id("color").get_attribute("value") == F.RED

    # 4. extract
    by_id("extract").click()
    status = wait_for(lambda: (by_id("status").text if by_id("status").text.startswith(("Extracted", "Error"))
                               or "error" in by_id("status").get_attribute("class") else None), "extraction")
    assert status.startswith(f"Extracted {len(r.truth['x'])} point(s).")
    idle()

    def table():
        rows = d.find_elements(By.CSS_SELECTOR, "#points-table tbody tr")
        return np.array([[float(t.get_attribute("data-x")), float(t.get_attribute("data-y"))] for t in rows])

    got = table()
    assert len(got) == len(r.truth["x"])
    _check(got, r.truth["x"], r.truth["y"], r.span)

    # 5. edit: move one point 30 pixels right, delete another, add a new one
    cal = calibrate_axes(r.x_axis, r.y_axis)
    truth = np.column_stack([r.truth["x"], r.truth["y"]])
    pix = np.column_stack([r.pixels["px"], r.pixels["py"]])
    lonely = np.argsort(-_nearest_distance(pix))  # the most isolated points first
    a, b = int(lonely[0]), int(lonely[1])
    ActionChains(d).move_to_element_with_offset(canvas, round(pix[a, 0] - r.width / 2),
                                                round(pix[a, 1] - r.height / 2)) \
        .click_and_hold().move_by_offset(15, 0).move_by_offset(15, 0).release().perform()
    idle()
    moved = np.array(cal.to_data(pix[a, 0] + 30, pix[a, 1]))
    by_id("tool-delete").click()
    click_at(*pix[b])
    idle()
    new_px = _empty_spot(pix, cal, r)
    by_id("tool-add").click()
    click_at(*new_px)
    idle()
    added = np.array(cal.to_data(*new_px))
    expected = np.vstack([np.delete(truth, [a, b], axis=0), moved, added])
    got = table()
    assert len(got) == len(expected)
    _check(got, expected[:, 0], expected[:, 1], r.span)

    # 6. download the CSV
    by_id("download").click()
    path = os.path.join(d.downloads, "digitized.csv")
    wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 0, "the downloaded CSV")
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["x", "y"] and len(frame) == len(expected)
    assert np.all(np.diff(frame.x) >= -0.05)  # left to right (up to pixel ties)
    _check(frame[["x", "y"]].to_numpy(), expected[:, 0], expected[:, 1], r.span)
    assert by_id("status").text.startswith("Downloaded digitized.csv")


def _nearest_distance(pix):
    d = np.linalg.norm(pix[:, None] - pix[None], axis=2)
    np.fill_diagonal(d, np.inf)
    return d.min(axis=1)


def _empty_spot(pix, cal, r):
    """A pixel inside the plot, at least 40 pixels from every marker."""
    (xp1, _), (xp2, _) = r.x_axis
    (yp1, _), (yp2, _) = r.y_axis
    for gx in np.linspace(xp1 + 20, xp2 - 20, 12):
        for gy in np.linspace(yp2 + 20, yp1 - 20, 10):
            if np.min(np.hypot(pix[:, 0] - gx, pix[:, 1] - gy)) > 40:
                return float(gx), float(gy)
    raise AssertionError("no empty spot in the test figure")  # pragma: no cover


def _check(got, tx, ty, span):
    from .test_extract import match

    ex, ey = match(got[:, 0], got[:, 1], tx, ty, span)
    assert ex.max() < TOL and ey.max() < TOL, (ex.max(), ey.max())
