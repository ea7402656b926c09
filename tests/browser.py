"""Headless Chromium for the end-to-end tests: where the browser is, why a test skips, one way to start it.

Debian's ``chromium`` and ``chromium-driver`` and the pip package ``selenium`` (the test extras) are
needed; a test module sets ``pytestmark = BROWSER_MARKS`` and skips, saying which is missing, otherwise.
Selenium talks to the system chromedriver only (no driver download); every browser gets a fresh
temporary profile. :func:`serve` runs a Starlette app under uvicorn on a free local port.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from contextlib import contextmanager

import pytest

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium")
                 if p and os.path.exists(p)), None)
CHROMEDRIVER = next((p for p in (shutil.which("chromedriver"), "/usr/bin/chromedriver")
                     if p and os.path.exists(p)), None)
try:
    import selenium  # noqa: F401

    HAVE_SELENIUM = True
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_SELENIUM = False

BROWSER_MARKS = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium chromium-driver)"),
    pytest.mark.skipif(CHROMEDRIVER is None, reason="chromedriver is not installed (apt-get install -y chromium-driver)"),
    pytest.mark.skipif(not HAVE_SELENIUM, reason="the selenium package is not installed (pip install selenium)"),
]


@contextmanager
def chromium(width: int = 1400, height: int = 1000, downloads: str | None = None):
    """A headless Chromium driver with a fresh profile (and a download folder when given); quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="hepatostat-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
                f"--window-size={width},{height}", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    if downloads is not None:
        opts.add_experimental_option("prefs", {"download.default_directory": downloads,
                                               "download.prompt_for_download": False})
    try:
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    except Exception as exc:  # pragma: no cover - a broken browser install
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"cannot start headless chromium: {exc}")
    if downloads is not None:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        driver.downloads = downloads
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(app, *, lifespan: str = "on", start_timeout: float = 30.0):
    """Run ``app`` under uvicorn on 127.0.0.1 in a thread; yield the server with ``base`` (its URL) set."""
    import uvicorn

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan=lifespan))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.time() + start_timeout
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    srv.base = f"http://127.0.0.1:{port}"
    try:
        yield srv
    finally:
        srv.should_exit = True
        th.join(10)
