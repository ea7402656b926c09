"""Fixtures for the workbench tests: a project, the app, logged-in clients."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from hepatostat import review

ORIGIN = {"origin": "http://testserver"}
PASSWORD = "correct horse battery"


@pytest.fixture
def example_project(tmp_path) -> Path:
    """A review project made from the bundled example exports (13 unique records)."""
    files = []
    for src in review.example_paths():
        dest = tmp_path / Path(str(src)).name
        shutil.copyfile(src, dest)
        files.append(dest)
    review.create_project(tmp_path / "project.duckdb", files)
    return tmp_path / "project.duckdb"


@pytest.fixture
def wb_app(example_project):
    """The workbench over the example project, with accounts owner (OW),
    reviewers R1, R2 and adjudicator AD (password :data:`PASSWORD`)."""
    from hepatostat.web.app import create_app

    app = create_app(example_project, fast_hashing=True)
    acc = app.state.wb.accounts
    for name, role in (("OW", "owner"), ("R1", "reviewer"), ("R2", "reviewer"), ("AD", "adjudicator")):
        acc.add(name, PASSWORD, role)
    yield app
    app.state.wb.store.close()


def csrf_of(html: str) -> str:
    m = re.search(r'data-csrf="([^"]*)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def login(app, username: str, password: str = PASSWORD):
    """A TestClient logged in as ``username``; ``client.csrf`` holds the token."""
    from starlette.testclient import TestClient

    c = TestClient(app, follow_redirects=False)
    r = c.post("/login", data={"username": username, "password": password, "next": "/"}, headers=ORIGIN)
    assert r.status_code == 303, r.text
    page = c.get("/account/password")
    c.csrf = csrf_of(page.text)
    return c
