"""End to end in headless Chromium: two extractors fill in a study's form independently (one reads a value
off a figure with the digitiser), a discrepancy appears, the adjudicator settles it, the verification page
exports the adjudicated extraction.

Needs Debian's ``chromium`` and ``chromium-driver`` and the pip package ``selenium``; skips, saying which is
missing, otherwise. Screenshots go to ``$HEPATOSTAT_SCREENSHOTS`` when that is set.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.browser import BROWSER_MARKS, chromium, serve
from tests.digitize import figures

pytestmark = BROWSER_MARKS

WAIT = 25.0
PASSWORD = "correct horse battery"


@pytest.fixture
def server(example_project):
    from hepatostat.web.app import create_app

    app = create_app(example_project, fast_hashing=True)
    for name, role in (("OW", "owner"), ("R1", "reviewer"), ("R2", "reviewer"), ("AD", "adjudicator")):
        app.state.wb.accounts.add(name, PASSWORD, role)
    with serve(app) as srv:
        srv.app = app
        yield srv


@pytest.fixture
def browser():
    with chromium(1500, 1400) as driver:
        yield driver


def shot(driver, name):
    folder = os.environ.get("HEPATOSTAT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        height = driver.execute_script("return Math.min(document.body.scrollHeight, 3000)")
        driver.set_window_size(1500, max(1400, height + 40))
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))
        driver.set_window_size(1500, 1400)


def wait_for(driver, cond, what):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(lambda d: cond(d), message=f"timed out waiting for {what}")


def login(driver, base, name):
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(base + "/login")
    driver.find_element(By.NAME, "username").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(driver, lambda d: "/login" not in d.current_url, f"{name} logged in")


def field(driver, outcome, tp, arm, name):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.NAME, f"f|{outcome}|{tp}|{arm}|{name}")


def fill(driver, values: dict):
    for (arm, name), value in values.items():
        el = field(driver, "MELD", "W4", arm, name)
        el.clear()
        el.send_keys(value)


def click_canvas(driver, px, py):
    """Click the digitiser's canvas at image pixel (px, py) (the canvas must be wholly in view: WebDriver
    offsets count from the centre of the element's visible part)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.ID, "dz-canvas")
    rect = driver.execute_script("var b = arguments[0].getBoundingClientRect(); "
                                 "return [b.width, b.height, arguments[0].width, arguments[0].height];", canvas)
    w, h, nw, nh = rect
    dx = px * w / nw - w / 2
    dy = py * h / nh - h / 2
    ActionChains(driver).move_to_element_with_offset(canvas, dx, dy).click().perform()


def open_study(driver, base):
    from selenium.webdriver.common.by import By

    driver.get(base + "/extraction")
    driver.find_element(By.CSS_SELECTOR, "a.study-link").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "x-form"), "the study form")


def test_dual_extraction_with_digitiser_discrepancy_and_adjudication(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d, base = browser, server.base

    # the owner lists the included study
    login(d, base, "OW")
    d.get(base + "/extraction")
    d.find_element(By.ID, "new-study").send_keys("Xu 2019")
    d.find_element(By.ID, "add-study").click()
    wait_for(d, lambda d: d.find_elements(By.CSS_SELECTOR, "a.study-link"), "the study in the list")

    # extractor 1: adds MELD at W4, uploads the trial's figure, reads the experimental arm's mean off it
    fig = figures.errorbar_points(tmp_path / "xu2019_fig2.png")
    login(d, base, "R1")
    open_study(d, base)
    d.find_element(By.ID, "figure-file").send_keys(fig.path)
    d.find_element(By.ID, "upload-figure").click()
    wait_for(d, lambda d: d.find_elements(By.ID, "dz-canvas"), "the digitiser canvas")
    d.find_element(By.ID, "add-outcome").send_keys("MELD")
    d.find_element(By.ID, "add-timepoint").send_keys("W4")
    d.find_element(By.ID, "add-block").click()
    wait_for(d, lambda d: d.find_elements(By.NAME, "f|MELD|W4|1|n"), "the MELD W4 block")
    wait_for(d, lambda d: d.execute_script("return document.getElementById('dz-canvas').width") == fig.width,
             "the figure drawn")
    # enlarge the digitiser for precise clicks; calibrate: x1, x2 on the x axis ticks, y1, y2 on the y axis ticks
    d.find_element(By.ID, "dz-enlarge").click()
    for ref, (pix, value) in (("x1", fig.x_axis[0]), ("x2", fig.x_axis[1])):
        d.find_element(By.CSS_SELECTOR, f".cal-pick[data-ref='{ref}']").click()
        click_canvas(d, pix, fig.height - 60)
        d.find_element(By.ID, f"cal-{ref}").send_keys(str(value))
    for ref, (pix, value) in (("y1", fig.y_axis[0]), ("y2", fig.y_axis[1])):
        d.find_element(By.CSS_SELECTOR, f".cal-pick[data-ref='{ref}']").click()
        click_canvas(d, 60, pix)
        d.find_element(By.ID, f"cal-{ref}").send_keys(str(value))
    # pick the experimental arm's (red) colour on a marker, then auto-detect its points and their error bars
    from hepatostat.digitize import calibrate_axes, find_points

    cal = calibrate_axes(fig.x_axis, fig.y_axis)
    pts = find_points(fig.path, cal, figures.RED)
    d.find_element(By.ID, "mode-color").click()
    click_canvas(d, float(pts.px[1]), float(pts.py[1]))
    wait_for(d, lambda d: d.find_element(By.ID, "color-hex").text.startswith("#"), "the colour picked")
    d.find_element(By.ID, "auto-detect").click()
    wait_for(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#dz-results tbody tr")) == 4, "four points found")
    shot(d, "0_digitiser_enlarged")
    d.find_element(By.ID, "dz-enlarge").click()
    # the figure's first point stands for the trial's value here: click the mean field, then "→ field"
    field(d, "MELD", "W4", 1, "mean").click()
    d.find_elements(By.CSS_SELECTOR, "#dz-results tbody tr")[0].find_element(By.CSS_SELECTOR, "button.to-field").click()
    digitised = field(d, "MELD", "W4", 1, "mean").get_attribute("value")
    assert abs(float(digitised) - fig.truth["m1"][0]) < 0.1  # 0.4% of the axis span (25)
    fill(d, {(1, "n"): "30", (1, "sd"): "4.1", (2, "n"): "30", (2, "mean"): "21.5", (2, "sd"): "5.0"})
    shot(d, "1_extractor1_form_with_digitiser")
    d.find_element(By.ID, "save").click()
    wait_for(d, lambda d: "Saved" in d.page_source, "saved")
    assert "digitised from xu2019_fig2.png" in d.page_source

    # extractor 2, blind to extractor 1: types the values from the table, SD of arm 1 differs
    login(d, base, "R2")
    open_study(d, base)
    assert not d.find_elements(By.NAME, "f|MELD|W4|1|n")  # R1's rows are not shown to R2
    d.find_element(By.ID, "add-outcome").send_keys("MELD")
    d.find_element(By.ID, "add-timepoint").send_keys("W4")
    d.find_element(By.ID, "add-block").click()
    wait_for(d, lambda d: d.find_elements(By.NAME, "f|MELD|W4|1|n"), "the MELD W4 block")
    fill(d, {(1, "n"): "30", (1, "mean"): digitised, (1, "sd"): "4.7", (2, "n"): "30", (2, "mean"): "21.5",
             (2, "sd"): "5.0"})
    # a reported p that the numbers cannot give is flagged while typing
    el = field(d, "MELD", "W4", 0, "p_reported")
    el.send_keys("0.90")
    wait_for(d, lambda d: "p_recompute" in d.find_element(By.ID, "flag-list").text, "the live p_recompute flag")
    # typed by hand, the digitised 21.92 is a mean no 30 whole MELD scores can have: GRIM says so
    # (for extractor 1 the same number carries the figure's provenance, so GRIM does not judge it)
    assert "grim" in d.find_element(By.ID, "flag-list").text
    shot(d, "2_extractor2_live_flag")
    el.clear()
    d.find_element(By.ID, "save").click()
    wait_for(d, lambda d: "Saved" in d.page_source, "saved")

    # the adjudicator sees the one discrepancy with both originals and settles it
    login(d, base, "AD")
    d.get(base + "/adjudicate/extraction")
    assert d.find_element(By.ID, "n-open").text == "1"
    card = d.find_element(By.ID, "disc-1")
    assert "4.1" in card.text and "4.7" in card.text and "arm 1 sd" in card.text
    shot(d, "3_adjudicator_discrepancy")
    card.find_element(By.CSS_SELECTOR, "input.choose-R1").click()
    card.find_element(By.NAME, "reason").send_keys("Table 2, p. 5: 4.1")
    card.find_element(By.CSS_SELECTOR, "button.settle").click()
    wait_for(d, lambda d: d.find_element(By.ID, "n-open").text == "0", "no open discrepancy")
    settled = d.find_element(By.ID, "settled").text
    assert "R1: 4.1" in settled and "R2: 4.7" in settled and "Table 2, p. 5" in settled
    shot(d, "4_adjudicated")

    # verification and export
    d.get(base + "/verify/extraction")
    assert d.find_element(By.ID, "n-open-disc").text == "0"
    d.find_element(By.ID, "export").click()
    wait_for(d, lambda d: d.find_elements(By.ID, "exported"), "the export")
    shot(d, "5_verification_export")
    folder = server.app.state.wb.store.path.parent / "project_extraction"
    table = (folder / "extraction.csv").read_text().splitlines()
    assert table[0].startswith("study,outcome,timepoint") and ",4.1," in table[1] and digitised in table[1]
    adj = (folder / "adjudications.csv").read_text()
    assert "4.7" in adj and "4.1" in adj

    # conversion at entry, shown and reversible: extractor 1 enters a median with quartiles and converts it
    login(d, base, "R1")
    d.get(base + "/extraction/study?s=Xu%202019&add_outcome=TBIL&add_timepoint=W12")
    wait_for(d, lambda d: d.find_elements(By.NAME, "f|TBIL|W12|1|median"), "the TBIL W12 block")
    for name, value in (("n", "30"), ("median", "180"), ("q1", "120"), ("q3", "260")):
        d.find_element(By.NAME, f"f|TBIL|W12|1|{name}").send_keys(value)
    Select(d.find_element(By.NAME, "m|TBIL|W12|1")).select_by_value("luo_shi")
    d.find_element(By.CSS_SELECTOR, "button[name=convert][value='TBIL|W12|1']").click()
    wait_for(d, lambda d: "Converted TBIL W12 arm 1" in d.page_source, "the conversion")
    from hepatostat.meta.convert import mean_sd_from_median

    m, s = mean_sd_from_median(median=180, q1=120, q3=260, n=30, method="luo_shi")
    assert float(d.find_element(By.NAME, "f|TBIL|W12|1|mean").get_attribute("value")) == pytest.approx(m)
    assert float(d.find_element(By.NAME, "f|TBIL|W12|1|sd").get_attribute("value")) == pytest.approx(s)
    assert "converted (median, luo_shi) from median 180" in d.page_source
    shot(d, "6_conversion_shown")
    d.find_element(By.CSS_SELECTOR, "button[name=revert][value='TBIL|W12|1']").click()
    wait_for(d, lambda d: "Conversion undone" in d.page_source, "the undo")
    assert d.find_element(By.NAME, "f|TBIL|W12|1|mean").get_attribute("value") == ""
    assert d.find_element(By.NAME, "f|TBIL|W12|1|median").get_attribute("value") == "180"
