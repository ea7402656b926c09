"""The workbench web application (Starlette, server-rendered Jinja2 pages).

:func:`create_app` builds the application over one review project. The core
(this module) provides login, logout, first-owner setup, accounts, the
navigation and the server rules (allowed hosts, Origin and CSRF checks,
request-body limits, request timeouts, security headers); feature modules add
routes, tables, navigation entries and templates (see ``web/README.md``).
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from ..errors import InputError
from ..io.format import fmt_fixed, fmt_plain

__all__ = ["create_app", "Workbench", "WEB_MODULES", "LoginRequired", "Forbidden"]

#: feature modules loaded by :func:`create_app` when present (a module that does not exist is skipped)
WEB_MODULES = ("hepatostat.web.screening", "hepatostat.web.extraction", "hepatostat.web.digitise")

HERE = Path(__file__).parent
COOKIE = "hs_session"
DEFAULT_BODY_LIMIT = 1 << 20  # 1 MiB for forms and JSON
REQUEST_TIMEOUT_S = 30.0
JSON_MAX_DEPTH = 64


class LoginRequired(Exception):
    """Raised by :meth:`Workbench.user_or_login` when nobody is logged in."""


class Forbidden(Exception):
    """Raised when the logged-in user's role does not allow the request."""


class BadRequest(Exception):
    """Raised for malformed requests (JSON too deep, wrong content type, CSRF)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _json_depth_ok(text: str, limit: int) -> bool:
    depth = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


class Workbench:
    """What route modules get: the store (database), accounts, templates and
    the request helpers. One instance per application (``app.state.wb``)."""

    def __init__(self, store, accounts, *, allowed_hosts, secure_cookies: bool = False):
        import jinja2

        self.store = store
        self.accounts = accounts
        self.allowed_hosts = set(allowed_hosts)
        self.secure_cookies = secure_cookies
        self.nav: list[tuple[str, str, str]] = []  # (label, path, min role)
        self.body_limits: dict[str, int] = {}  # path prefix -> bytes
        self.timeouts: dict[str, float] = {}  # path prefix -> seconds (default REQUEST_TIMEOUT_S)
        self.modules: list[str] = []
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=jinja2.select_autoescape(["html", "xml"], default=True),
            undefined=jinja2.StrictUndefined,
        )
        self.templates.filters["fmt"] = _fmt

    # ------------------------------------------------------------------ users
    def current_user(self, request):
        """The logged-in :class:`~.auth.User` or ``None`` (cached per request)."""
        if "user" not in request.scope.setdefault("state", {}):
            request.scope["state"]["user"] = self.accounts.session_user(request.cookies.get(COOKIE))
        return request.scope["state"]["user"]

    async def user(self, request, role: str = "reviewer"):
        """The logged-in user with at least ``role``; raises
        :class:`LoginRequired` (→ login page, or 401 for ``/api/``) or
        :class:`Forbidden` (→ 403)."""
        u = await self.store.call(self.current_user, request)
        if u is None:
            raise LoginRequired()
        if not u.can(role):
            raise Forbidden(f"this needs the {role} role; you are {u.role}")
        return u

    # ------------------------------------------------------------------ input
    def check_origin(self, request) -> None:
        """Unsafe requests must come from the workbench's own pages."""
        origin = request.headers.get("origin") or request.headers.get("referer")
        if not origin:
            raise BadRequest("missing Origin header (requests must come from the workbench's pages)", 403)
        parts = urlsplit(origin)
        host = request.headers.get("host", "")
        if parts.netloc.lower() != host.lower():
            raise BadRequest("cross-origin request refused", 403)

    async def form(self, request, user=None, *, csrf: bool = True) -> dict[str, Any]:
        """The submitted form (urlencoded or multipart) after the Origin and
        CSRF checks; values are strings (files stay ``UploadFile``)."""
        self.check_origin(request)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            raise BadRequest("expected a form submission", 415)
        form = await request.form(max_files=20, max_fields=1000)
        data = {k: form.get(k) for k in form.keys()}
        if csrf:
            import secrets

            if user is None or not user.csrf or not secrets.compare_digest(str(data.get("csrf_token") or ""),
                                                                          user.csrf):
                raise BadRequest("the form has expired or did not come from this session; reload the page", 403)
        return data

    async def json(self, request, user) -> Any:
        """The JSON body after the Origin, content-type, CSRF, size and depth checks."""
        self.check_origin(request)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise BadRequest("expected Content-Type: application/json", 415)
        import secrets

        if user is None or not user.csrf or not secrets.compare_digest(request.headers.get("x-csrf-token", ""),
                                                                      user.csrf):
            raise BadRequest("missing or wrong X-CSRF-Token header", 403)
        body = await request.body()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the request body is not UTF-8") from None
        if not _json_depth_ok(text, JSON_MAX_DEPTH):
            raise BadRequest(f"JSON nested deeper than {JSON_MAX_DEPTH} levels")
        try:
            return json.loads(text)
        except ValueError as exc:
            raise BadRequest(f"malformed JSON: {exc}") from None

    # ------------------------------------------------------------------ output
    def render(self, request, template: str, status: int = 200, **context):
        """Render ``template`` with the base context: ``user``, ``csrf_token``,
        ``nav`` (entries the user's role may see), ``path``."""
        from starlette.responses import HTMLResponse

        user = request.scope.get("state", {}).get("user")
        nav = [(label, path) for label, path, role in self.nav if user is not None and user.can(role)]
        ctx = {"user": user, "csrf_token": user.csrf if user else "", "nav": nav, "path": request.url.path,
               "flash": request.query_params.get("msg", "")[:300], **context}
        return HTMLResponse(self.templates.get_template(template).render(**ctx), status_code=status)

    def add_module(self, module) -> list:
        """Register a feature module: its ``SCHEMA``, ``NAV``, ``BODY_LIMITS``
        and ``routes(wb)``."""
        if getattr(module, "SCHEMA", None):
            self.store.execute_script(module.SCHEMA)
        self.nav.extend(getattr(module, "NAV", ()))
        self.body_limits.update(getattr(module, "BODY_LIMITS", {}))
        self.timeouts.update(getattr(module, "TIMEOUTS", {}))
        self.modules.append(module.__name__)
        return list(module.routes(self)) if hasattr(module, "routes") else []


def _fmt(x, digits: int = 3):
    """Template filter ``fmt``: a float with ``digits`` decimals through the one formatter; missing as "–"."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, float):
        return fmt_fixed(x, digits)
    return str(x)


# ============================================================================ middleware

class ServerRules:
    """ASGI middleware: allowed Host names (against DNS rebinding), request
    body limits (413), a per-request time limit (503) and security headers."""

    def __init__(self, app, wb: Workbench, *, timeout: float = REQUEST_TIMEOUT_S):
        self.app = app
        self.wb = wb
        self.timeout = timeout

    def _limit(self, path: str) -> int:
        best, n = DEFAULT_BODY_LIMIT, -1
        for prefix, lim in self.wb.body_limits.items():
            if path.startswith(prefix) and len(prefix) > n:
                best, n = lim, len(prefix)
        return best

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "").strip().lower()
        hostname = urlsplit("//" + host).hostname or ""
        if hostname not in self.wb.allowed_hosts:
            return await _plain(send, 400, "Host not allowed (start the workbench with --host NAME to serve it)")
        limit = self._limit(scope.get("path", ""))
        cl = headers.get("content-length")
        if cl is not None:
            try:
                if int(cl) > limit:
                    return await _plain(send, 413, f"request body too large (limit {limit} bytes)")
            except ValueError:
                return await _plain(send, 400, "bad Content-Length")
        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    raise _TooLarge()
            return msg

        async def secure_send(msg):
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
                hs = list(msg.get("headers", []))
                hs += [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                       (b"referrer-policy", b"same-origin"),
                       (b"content-security-policy",
                        b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
                        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
                       (b"cache-control", b"no-store")]
                msg = {**msg, "headers": hs}
            await send(msg)

        timeout = self.timeout
        for prefix, t in self.wb.timeouts.items():
            if scope.get("path", "").startswith(prefix):
                timeout = t
        try:
            await asyncio.wait_for(self.app(scope, limited_receive, secure_send), timeout=timeout)
        except _TooLarge:
            if not started:
                await _plain(send, 413, f"request body too large (limit {limit} bytes)")
        except asyncio.TimeoutError:
            if not started:
                await _plain(send, 503, f"the request took longer than {fmt_plain(timeout)} s")


class _TooLarge(Exception):
    pass


async def _plain(send, status: int, text: str):
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# ============================================================================ core routes

def _core_routes(wb: Workbench) -> list:
    from starlette.responses import RedirectResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    def safe_next(n: str | None) -> str:
        n = n or "/"
        return n if n.startswith("/") and not n.startswith("//") and "\\" not in n else "/"

    async def home(request):
        if await wb.store.call(wb.accounts.count) == 0:
            return RedirectResponse("/setup", 303)
        await wb.user(request)
        first = next((p for _, p, _ in wb.nav), None)
        if first:
            return RedirectResponse(first, 303)
        return wb.render(request, "home.html")

    async def login(request):
        if await wb.store.call(wb.accounts.count) == 0:
            return RedirectResponse("/setup", 303)
        nxt = safe_next(request.query_params.get("next"))
        if request.method == "GET":
            return wb.render(request, "login.html", next=nxt, error="")
        data = await wb.form(request, csrf=False)
        from starlette.concurrency import run_in_threadpool

        u = await run_in_threadpool(wb.accounts.verify, str(data.get("username", "")), str(data.get("password", "")))
        if u is None:
            return wb.render(request, "login.html", status=401, next=safe_next(data.get("next")),
                             error="Wrong user name or password (or too many attempts: wait a little).")
        token = await wb.store.call(wb.accounts.open_session, u)
        resp = RedirectResponse(safe_next(data.get("next")), 303)
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=wb.secure_cookies, path="/")
        return resp

    async def logout(request):
        u = await wb.user(request)
        await wb.form(request, u)
        await wb.store.call(wb.accounts.close_session, request.cookies.get(COOKIE))
        resp = RedirectResponse("/login", 303)
        resp.delete_cookie(COOKIE, path="/")
        return resp

    async def setup(request):
        """Create the first owner account: only while no account exists, and
        only from the machine the workbench runs on."""
        if await wb.store.call(wb.accounts.count) > 0:
            return RedirectResponse("/login", 303)
        client = request.client.host if request.client else ""
        try:
            local = ipaddress.ip_address(client).is_loopback
        except ValueError:
            local = client in ("testclient", "localhost")
        if not local:
            return wb.render(request, "error.html", status=403,
                             message="The first account can only be created from the workbench's own machine.")
        if request.method == "GET":
            return wb.render(request, "setup.html", error="")
        data = await wb.form(request, csrf=False)
        if data.get("password") != data.get("password2"):
            return wb.render(request, "setup.html", status=400, error="The two passwords differ.")
        try:
            from starlette.concurrency import run_in_threadpool

            await run_in_threadpool(wb.accounts.add, data.get("username", ""), data.get("password", ""), "owner")
        except InputError as exc:
            return wb.render(request, "setup.html", status=400, error=str(exc))
        return RedirectResponse("/login?msg=" + quote("Owner account created: log in."), 303)

    async def users(request):
        u = await wb.user(request, "owner")
        error = ""
        if request.method == "POST":
            data = await wb.form(request, u)
            action = data.get("action")
            name = str(data.get("username", "")).strip()
            try:
                from starlette.concurrency import run_in_threadpool

                if action == "add":
                    await run_in_threadpool(wb.accounts.add, name, str(data.get("password", "")),
                                            str(data.get("role", "")))
                elif action == "role":
                    if name == u.username:
                        raise InputError("you cannot change your own role")
                    await wb.store.call(wb.accounts.set_role, name, str(data.get("role", "")))
                elif action == "deactivate":
                    if name == u.username:
                        raise InputError("you cannot deactivate your own account")
                    await wb.store.call(wb.accounts.deactivate, name)
                elif action == "password":
                    await run_in_threadpool(wb.accounts.set_password, name, str(data.get("password", "")))
                else:
                    raise InputError("unknown action", value=action)
                return RedirectResponse("/admin/users?msg=" + quote("Saved."), 303)
            except InputError as exc:
                error = str(exc)
        from .auth import ROLES

        return wb.render(request, "users.html", status=400 if error else 200,
                         users=await wb.store.call(wb.accounts.list), roles=ROLES, error=error)

    async def password(request):
        u = await wb.user(request)
        error = ""
        if request.method == "POST":
            data = await wb.form(request, u)
            from starlette.concurrency import run_in_threadpool

            ok = await run_in_threadpool(wb.accounts.verify, u.username, str(data.get("old", "")))
            if ok is None:
                error = "The current password is wrong."
            elif data.get("new") != data.get("new2"):
                error = "The two new passwords differ."
            else:
                try:
                    await run_in_threadpool(wb.accounts.set_password, u.username, str(data.get("new", "")))
                    return RedirectResponse("/login?msg=" + quote("Password changed: log in again."), 303)
                except InputError as exc:
                    error = str(exc)
        return wb.render(request, "password.html", status=400 if error else 200, error=error)

    return [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/setup", setup, methods=["GET", "POST"]),
        Route("/admin/users", users, methods=["GET", "POST"]),
        Route("/account/password", password, methods=["GET", "POST"]),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]


# ============================================================================ factory

def create_app(project_path, *, modules=None, allowed_hosts=("127.0.0.1", "localhost", "::1", "testserver"),
               secure_cookies: bool = False, fast_hashing: bool = False, timeout: float = REQUEST_TIMEOUT_S,
               screeners_per_record: int = 2):
    """The workbench application over the review project ``project_path``.

    Parameters
    ----------
    project_path : a ``.duckdb`` review project (``hepatostat review init``);
        created empty if missing. This process owns it while the app lives.
    modules : feature modules to load (default :data:`WEB_MODULES`, those that exist)
    allowed_hosts : host names the server answers to (``Host`` header);
        others get 400 (protects a loopback server against DNS rebinding).
    secure_cookies : mark the session cookie ``Secure`` (behind HTTPS).
    fast_hashing : cheap Argon2 parameters, for tests only.
    timeout : seconds a request may take before the server answers 503.

    The application's ``state.wb`` is the :class:`Workbench` (store,
    accounts, templates); ``app.state.wb.store.close()`` releases the file
    (done on shutdown).
    """
    import contextlib

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse, RedirectResponse

    from .auth import Accounts, make_hasher
    from .db import Store

    store = Store(project_path, screeners_per_record=screeners_per_record)
    wb = Workbench(store, Accounts(store, make_hasher(fast_hashing)), allowed_hosts=allowed_hosts,
                   secure_cookies=secure_cookies)
    routes = _core_routes(wb)
    for name in (WEB_MODULES if modules is None else modules):
        try:
            mod = importlib.import_module(name) if isinstance(name, str) else name
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        routes[:0] = wb.add_module(mod)

    def is_api(request) -> bool:
        return request.url.path.startswith("/api/") or "/api/" in request.url.path

    async def on_login_required(request, exc):
        if is_api(request):
            return JSONResponse({"error": "login required"}, status_code=401)
        nxt = request.url.path + (("?" + request.url.query) if request.url.query else "")
        return RedirectResponse("/login?next=" + quote(nxt, safe=""), 303)

    async def on_forbidden(request, exc):
        if is_api(request):
            return JSONResponse({"error": str(exc)}, status_code=403)
        return wb.render(request, "error.html", status=403, message=str(exc))

    async def on_bad_request(request, exc):
        if is_api(request) or request.headers.get("content-type", "").startswith("application/json"):
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        return wb.render(request, "error.html", status=exc.status, message=str(exc))

    async def on_input_error(request, exc):
        if is_api(request):
            return JSONResponse({"error": str(exc)}, status_code=400)
        return wb.render(request, "error.html", status=400, message=str(exc))

    async def on_http(request, exc):
        from starlette.exceptions import HTTPException

        msg = exc.detail if isinstance(exc, HTTPException) else "error"
        code = getattr(exc, "status_code", 500)
        if is_api(request):
            return JSONResponse({"error": msg}, status_code=code)
        return wb.render(request, "error.html", status=code, message=msg)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        store.close()

    from starlette.exceptions import HTTPException

    app = Starlette(
        routes=routes,
        middleware=[Middleware(ServerRules, wb=wb, timeout=timeout)],
        exception_handlers={LoginRequired: on_login_required, Forbidden: on_forbidden, BadRequest: on_bad_request,
                            InputError: on_input_error, HTTPException: on_http},
        lifespan=lifespan,
    )
    app.state.wb = wb
    return app
