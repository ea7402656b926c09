"""The workbench core: accounts, sessions, CSRF, roles, server rules."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from hepatostat.web.app import create_app

from .conftest import ORIGIN, PASSWORD, login


def test_first_owner_setup_then_login_required(tmp_path):
    app = create_app(tmp_path / "new.duckdb", fast_hashing=True)
    try:
        c = TestClient(app, follow_redirects=False)
        assert c.get("/").headers["location"] == "/setup"
        r = c.post("/setup", data={"username": "boss", "password": "short", "password2": "short"}, headers=ORIGIN)
        assert r.status_code == 400 and "at least 8 characters" in r.text
        r = c.post("/setup", data={"username": "boss", "password": PASSWORD, "password2": PASSWORD}, headers=ORIGIN)
        assert r.status_code == 303
        # once an account exists, /setup is closed and pages need a login
        assert c.get("/setup").headers["location"] == "/login"
        r = c.get("/admin/users")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        # the stored hash is Argon2id, never the password
        h = app.state.wb.store.query("SELECT password_hash FROM web_users")[0][0]
        assert h.startswith("$argon2id$") and PASSWORD not in h
    finally:
        app.state.wb.store.close()


def test_login_wrong_password_and_roles(wb_app):
    c = TestClient(wb_app, follow_redirects=False)
    r = c.post("/login", data={"username": "R1", "password": "wrong password"}, headers=ORIGIN)
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    r1 = login(wb_app, "R1")
    assert r1.get("/admin/users").status_code == 403
    ow = login(wb_app, "OW")
    assert ow.get("/admin/users").status_code == 200


def test_csrf_and_origin_checks(wb_app):
    ow = login(wb_app, "OW")
    new = {"action": "add", "username": "R3", "password": PASSWORD, "role": "reviewer"}
    # no token
    assert ow.post("/admin/users", data=new, headers=ORIGIN).status_code == 403
    # wrong origin, right token
    r = ow.post("/admin/users", data={**new, "csrf_token": ow.csrf}, headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    # no origin at all
    assert ow.post("/admin/users", data={**new, "csrf_token": ow.csrf}).status_code == 403
    r = ow.post("/admin/users", data={**new, "csrf_token": ow.csrf}, headers=ORIGIN)
    assert r.status_code == 303
    assert [u["username"] for u in wb_app.state.wb.accounts.list()] == ["AD", "OW", "R1", "R2", "R3"]


def test_logout_ends_session(wb_app):
    r1 = login(wb_app, "R1")
    assert r1.get("/account/password").status_code == 200
    assert r1.post("/logout", data={"csrf_token": r1.csrf}, headers=ORIGIN).status_code == 303
    assert r1.get("/account/password").status_code == 303


def test_host_header_not_allowed_dns_rebinding(wb_app):
    c = TestClient(wb_app, base_url="http://evil.example:8000", follow_redirects=False)
    r = c.get("/login")
    assert r.status_code == 400 and "Host not allowed" in r.text


def test_body_limit_413(wb_app):
    c = TestClient(wb_app, follow_redirects=False)
    r = c.post("/login", content=b"x" * (2 << 20), headers={**ORIGIN, "content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def test_security_headers(wb_app):
    r = TestClient(wb_app).get("/login")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"


def test_request_timeout_503(example_project):
    """A request running past its time limit is answered 503, not left hanging."""
    import asyncio

    from starlette.routing import Route

    class Slow:
        __name__ = "slow_module"

        @staticmethod
        def routes(wb):
            async def slow(request):
                await asyncio.sleep(5)

            return [Route("/slow", slow)]

    app = create_app(example_project, fast_hashing=True, modules=[Slow], timeout=0.5)
    try:
        r = TestClient(app).get("/slow")
        assert r.status_code == 503 and "longer than 0.5 s" in r.text
    finally:
        app.state.wb.store.close()
