"""End to end in headless Chromium: two reviewers log in and screen with the
keyboard, a conflict appears, the adjudicator resolves it, and the PRISMA
counts and kappa update. Skipped when chromium/chromedriver are absent.

Set HEPATOSTAT_SCREENSHOTS=DIR to keep screenshots of every page.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.browser import BROWSER_MARKS, chromium, serve

from .conftest import PASSWORD

pytestmark = BROWSER_MARKS


@pytest.fixture
def server(wb_app):
    with serve(wb_app, lifespan="off") as srv:
        yield srv.base


@pytest.fixture
def browser():
    with chromium(1280, 900) as d:
        yield d


def _shot(d, name):
    folder = os.environ.get("HEPATOSTAT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        d.save_screenshot(str(Path(folder) / f"{name}.png"))


def _login(d, base, user):
    from selenium.webdriver.common.by import By

    d.delete_all_cookies()
    d.get(base + "/login")
    d.find_element(By.ID, "username").send_keys(user)
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    d.find_element(By.ID, "login").click()
    _wait(d, lambda: "/login" not in d.current_url)


def _wait(d, cond, timeout=30):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            if cond():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out on {d.current_url}")


def _record_id(d):
    from selenium.webdriver.common.by import By

    els = d.find_elements(By.CSS_SELECTOR, "input[name=record_id]")
    return els[0].get_attribute("value") if els else None


def _screen_all(d, base, decide, shot=None):
    """Screen the queue with the keyboard; ``decide(record_id) -> key``."""
    from selenium.webdriver.common.by import By

    d.get(base + "/screen/title_abstract")
    seen = []
    for i in range(50):
        rid = _record_id(d)
        if rid is None:
            break
        if shot and i == 0:
            _shot(d, shot)
        seen.append(rid)
        d.find_element(By.TAG_NAME, "body").send_keys(decide(rid))
        _wait(d, lambda: _record_id(d) != rid)
    return seen


def test_two_reviewers_conflict_adjudication_prisma_kappa(server, browser, wb_app):
    from selenium.webdriver.common.by import By

    d, base = browser, server
    _login(d, base, "R1")
    assert "/screen/title_abstract" in d.current_url
    seen1 = _screen_all(d, base, lambda rid: "i" if rid.endswith(("#1", "#2", "#3")) else "e", shot="01_screen_r1")
    assert len(seen1) == 13
    assert "Nothing left to screen" in d.page_source
    d.get(base + "/progress")
    _shot(d, "02_progress_reviewer")
    assert "kappa-table" not in d.page_source  # a reviewer does not see agreement statistics
    inc1 = {r for r in seen1 if r.endswith(("#1", "#2", "#3"))}
    target = sorted(inc1)[0]  # R2 will exclude one record R1 included -> a conflict

    _login(d, base, "R2")
    assert "your vote" not in d.page_source  # blinded: nothing of R1's shows
    seen2 = _screen_all(d, base, lambda rid: "m" if rid in inc1 and rid != target else "e")
    assert sorted(seen2) == sorted(seen1)

    _login(d, base, "AD")
    d.get(base + "/conflicts/title_abstract")
    _shot(d, "03_conflicts")
    assert d.find_element(By.ID, "n-conflicts").text == "1"
    assert "R1" in d.page_source and "R2" in d.page_source
    d.get(base + "/progress")
    kappa_before = d.find_element(By.CSS_SELECTOR, ".kappa-row .kappa").text
    screened_box = d.find_element(By.ID, "p-screened").text
    assert "(n = 13)" in screened_box and "awaiting decision: 1" in screened_box
    d.get(base + "/conflicts/title_abstract")
    d.find_element(By.CSS_SELECTOR, "button.resolve-include").click()
    _wait(d, lambda: d.find_element(By.ID, "n-conflicts").text == "0")
    d.get(base + "/progress")
    _shot(d, "04_progress_adjudicator")
    assert "awaiting decision" not in d.find_element(By.ID, "p-screened").text
    a = len(inc1)  # R1 included a records; R2 a - 1 of them ("maybe"); the conflict was resolved as include
    assert f"(n = {a})" in d.find_element(By.ID, "p-sought").text
    assert f"(n = {13 - a})" in d.find_element(By.ID, "p-excluded").text
    # kappa on 13 records, agreement on 12 of them; maybe counts as include
    po, pe = 12 / 13, (a / 13) * ((a - 1) / 13) + ((13 - a) / 13) * ((14 - a) / 13)
    assert kappa_before == f"{(po - pe) / (1 - pe):.3f}"
    rows = d.find_elements(By.CSS_SELECTOR, "#row-title_abstract td")
    assert [r.text for r in rows][1:8] == ["13", "0", "12", "0", "1", str(a), str(13 - a)]

    _login(d, base, "OW")
    d.get(base + "/history")
    _shot(d, "05_history_owner")
    assert d.page_source.count("third reviewer") >= 1
    d.get(base + "/screen/full_text")
    _shot(d, "06_full_text")
    assert "PRISMA 2020" in d.page_source
    d.get(base + "/import")
    _shot(d, "07_import")
    d.get(base + "/admin/users")
    _shot(d, "08_accounts")
