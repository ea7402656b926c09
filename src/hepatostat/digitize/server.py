"""``hepatostat serve``: the digitiser as a local web page.

A small web app on the Python standard library's :mod:`http.server` (no
framework). The page (``static/``) loads an image, takes the calibration
clicks, picks the series colour and lets the user move, add and delete
points; the numbers come from the same Python code as the command line,
through three JSON endpoints:

``POST /api/extract``
    ``{image: data URL, calibration, mode: "points"|"bars"|"curve", color,
    tolerance, step?, baseline?, region?}`` → ``{mode, points: [{x_px, y_px,
    x, y}], notes, calibration}``. For bars, ``y`` is the bar's value.
``POST /api/convert``
    ``{calibration, pixels: [[px, py], …]}`` → ``{points: [{x_px, y_px, x, y}]}``.
``POST /api/csv``
    ``{calibration, mode, pixels}`` → CSV (``x,y``; for bars ``x_px,value``),
    left to right, as a download.

``calibration`` is ``{x_axis: [[px, value], [px, value]] | null, y_axis:
[[py, value], [py, value]], x_log, y_log}`` or ``{kind: "affine",
references: [[px, py, x, y] × 3], …}`` (see :meth:`Calibration.from_dict`).
Bad input answers status 400 with ``{error: message}``.

The server binds to 127.0.0.1 by default and then answers only requests
addressed to a loopback host name (a guard against DNS rebinding); it keeps
no state and writes no files. Other guards, because any web page the user
visits can send requests to a local port:

* the API takes ``Content-Type: application/json`` only (a page can send
  ``text/plain`` cross-origin without asking; 415 otherwise), and a request
  whose ``Origin`` is not this server's own, or that the browser marks as
  cross-site (``Sec-Fetch-Site``), is refused (403);
* images above :data:`hepatostat.digitize.extract.MAX_PIXELS` are refused
  from their header, before any pixel is decoded (400); bodies above
  :data:`MAX_BODY_BYTES` are refused before they are read (413);
* a connection idle for :data:`IDLE_TIMEOUT` seconds is closed, and one
  request may take at most :data:`REQUEST_TIMEOUT` seconds to arrive;
* the listen backlog is :data:`BACKLOG` connections;
* JSON nested too deeply to parse is a 400, like any other bad JSON.
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import json
import math
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from ..errors import HepatostatError, InputError

__all__ = ["make_server", "serve", "STATIC_DIR", "MAX_BODY_BYTES", "IDLE_TIMEOUT", "REQUEST_TIMEOUT", "BACKLOG"]

STATIC_DIR = Path(__file__).with_name("static")
#: largest request accepted (an image sent as a data URL)
MAX_BODY_BYTES = 50 * 1024 * 1024
#: seconds a connection may stay silent (between requests or inside one)
IDLE_TIMEOUT = 20.0
#: seconds one request (request line, headers and body) may take to arrive
REQUEST_TIMEOUT = 60.0
#: connections waiting to be accepted (the standard library's default is 5)
BACKLOG = 128

_STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
_MODES = ("points", "bars", "curve")


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _decode_image(data) -> bytes:
    if not isinstance(data, str) or not data:
        raise InputError("the request has no image (a data URL such as data:image/png;base64,...)", column="image")
    payload = data.split(",", 1)[1] if data.startswith("data:") else data
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        raise InputError("the image is not valid base64", column="image") from None


def _number(obj: dict, key: str, default=None):
    val = obj.get(key, default)
    if val is None or val == "":
        return default
    try:
        out = float(val)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{key} must be a number", column=key, value=val) from None
    if not math.isfinite(out):
        raise InputError(f"{key} must be a finite number", column=key, value=val)
    return out


def _pixels(obj: dict) -> np.ndarray:
    pix = obj.get("pixels", [])
    try:
        arr = np.asarray(pix, dtype=float).reshape(-1, 2)
    except (TypeError, ValueError):
        raise InputError("pixels must be a list of [px, py] pairs", column="pixels") from None
    if not np.isfinite(arr).all():
        raise InputError("pixels must be finite numbers", column="pixels")
    return arr


def _mode(obj: dict) -> str:
    mode = str(obj.get("mode", "points")).lower()
    if mode not in _MODES:
        raise InputError(f"mode must be one of {', '.join(_MODES)}", column="mode", value=mode)
    return mode


def _point_rows(cal, pixels: np.ndarray) -> list[dict]:
    from .extract import _f

    if pixels.size == 0:
        return []
    x, y = cal.to_data(pixels[:, 0], pixels[:, 1])
    x = np.atleast_1d(x)
    y = np.atleast_1d(y)
    return [{"x_px": _f(a), "y_px": _f(b), "x": _f(c), "y": _f(d)}
            for a, b, c, d in zip(pixels[:, 0], pixels[:, 1], x, y)]


def api_extract(obj: dict) -> dict:
    """The ``/api/extract`` endpoint (a plain function, for tests)."""
    from .calibrate import Calibration
    from .extract import DEFAULT_TOLERANCE, find_bars, find_points, trace_curve

    cal = Calibration.from_dict(obj.get("calibration"))
    image = _decode_image(obj.get("image"))
    mode = _mode(obj)
    color = obj.get("color")
    if not color:
        raise InputError("pick the series colour first", column="color")
    tol = _number(obj, "tolerance", DEFAULT_TOLERANCE)
    region = obj.get("region") or None
    if mode == "points":
        res = find_points(image, cal, color, tolerance=tol, region=region, source="uploaded image",
                          marker_area=_number(obj, "marker_area"))
        pixels = np.column_stack([res.px, res.py])
    elif mode == "bars":
        res = find_bars(image, cal, color, tolerance=tol, region=region, source="uploaded image",
                        baseline=_number(obj, "baseline"))
        pixels = np.column_stack([res.x_px, res.end_px])
    else:
        res = trace_curve(image, cal, color, tolerance=tol, region=region, source="uploaded image",
                          step=_number(obj, "step"))
        pixels = np.column_stack([res.px, res.py])
    return {"mode": mode, "points": _point_rows(cal, pixels), "notes": list(res.notes),
            "calibration": cal.to_dict()}


def api_convert(obj: dict) -> dict:
    """The ``/api/convert`` endpoint: pixels to data values."""
    from .calibrate import Calibration

    cal = Calibration.from_dict(obj.get("calibration"))
    return {"points": _point_rows(cal, _pixels(obj)), "calibration": cal.to_dict()}


def api_csv(obj: dict) -> str:
    """The ``/api/csv`` endpoint: the points as CSV text, left to right."""
    from .calibrate import Calibration

    cal = Calibration.from_dict(obj.get("calibration"))
    mode = _mode(obj)
    pixels = _pixels(obj)
    pixels = pixels[np.lexsort((pixels[:, 1], pixels[:, 0]))] if pixels.size else pixels
    if pixels.size:
        x, y = cal.to_data(pixels[:, 0], pixels[:, 1])
    else:
        x = y = np.array([])
    if mode == "bars":
        frame = pd.DataFrame({"x_px": pixels[:, 0] if pixels.size else [], "value": np.atleast_1d(y)})
    else:
        frame = pd.DataFrame({"x": np.atleast_1d(x), "y": np.atleast_1d(y)})
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


class _Handler(BaseHTTPRequestHandler):
    server_version = "hepatostat-digitize/1"
    protocol_version = "HTTP/1.1"
    #: socket timeout: an idle connection is closed after this many seconds
    timeout = IDLE_TIMEOUT

    def setup(self):
        self.timeout = getattr(self.server, "idle_timeout", IDLE_TIMEOUT)
        super().setup()

    def handle_one_request(self):
        # a deadline for the whole request to arrive (a client dripping one byte
        # at a time never trips the idle timeout); cancelled once the body is in
        self._deadline = threading.Timer(getattr(self.server, "request_timeout", REQUEST_TIMEOUT), self._abort)
        self._deadline.daemon = True
        self._deadline.start()
        try:
            super().handle_one_request()
        finally:
            self._deadline.cancel()

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_message(self, fmt, *args):  # noqa: D401 - quiet unless asked
        if not getattr(self.server, "quiet", True):
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    # -- helpers -------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj) -> None:
        from ..io.jsonsafe import dumps

        self._send(status, dumps(obj).encode("utf-8"), "application/json; charset=utf-8")

    def _origin_ok(self) -> bool:
        """No foreign web page may drive the API: the Origin, when the browser
        sends one, must be this server's own address, and a request the browser
        marks as cross-site is refused."""
        site = (self.headers.get("Sec-Fetch-Site") or "").lower()
        if site in ("cross-site", "same-site"):
            return False
        origin = self.headers.get("Origin")
        if origin is None:
            return True  # not a browser (curl, scripts), or a same-origin GET
        parts = urlsplit(origin)
        host = (self.headers.get("Host") or "").lower()
        return parts.scheme == "http" and bool(host) and parts.netloc.lower() == host

    def _host_ok(self) -> bool:
        if not getattr(self.server, "loopback_only", False):
            return True
        host = self.headers.get("Host", "")
        name = urlsplit("//" + host).hostname or ""
        return _is_loopback(name)

    # -- verbs -----------------------------------------------------------------
    def do_GET(self):  # noqa: N802
        if not self._host_ok():
            return self._send(HTTPStatus.FORBIDDEN, b"forbidden host", "text/plain; charset=utf-8")
        path = urlsplit(self.path).path
        if path not in _STATIC:
            return self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain; charset=utf-8")
        name, ctype = _STATIC[path]
        try:
            body = (STATIC_DIR / name).read_bytes()
        except OSError:  # pragma: no cover - a broken install
            return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, b"page missing from the installation",
                              "text/plain; charset=utf-8")
        self._send(HTTPStatus.OK, body, ctype)

    do_HEAD = do_GET

    def do_POST(self):  # noqa: N802
        if not self._host_ok():
            self.close_connection = True
            return self._json(HTTPStatus.FORBIDDEN, {"error": "forbidden host"})
        if not self._origin_ok():
            self.close_connection = True
            return self._json(HTTPStatus.FORBIDDEN, {"error": "requests from other web sites are refused"})
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            self.close_connection = True
            return self._json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                              {"error": "the API takes JSON only (Content-Type: application/json)"})
        path = urlsplit(self.path).path
        handlers = {"/api/extract": api_extract, "/api/convert": api_convert, "/api/csv": api_csv}
        if path not in handlers:
            self.close_connection = True
            return self._json(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {path}"})
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            return self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                              {"error": f"request too large (at most {MAX_BODY_BYTES // 2**20} MiB)"})
        raw = self.rfile.read(length)
        if len(raw) < length:  # the client went away, or the request deadline passed
            self.close_connection = True
            return None
        self._deadline.cancel()
        try:
            obj = json.loads(raw.decode("utf-8") or "{}")
            if not isinstance(obj, dict):
                raise InputError("the request must be a JSON object")
            out = handlers[path](obj)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._json(HTTPStatus.BAD_REQUEST, {"error": "the request is not valid JSON"})
        except RecursionError:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": "the request's JSON is nested too deeply"})
        except HepatostatError as exc:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - answer, do not crash the server
            return self._json(HTTPStatus.INTERNAL_SERVER_ERROR,
                              {"error": f"internal error ({type(exc).__name__}: {exc})"})
        if isinstance(out, str):
            return self._send(HTTPStatus.OK, out.encode("utf-8"), "text/csv; charset=utf-8",
                              {"Content-Disposition": 'attachment; filename="digitized.csv"'})
        return self._json(HTTPStatus.OK, out)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    quiet = True
    loopback_only = True
    request_queue_size = BACKLOG
    request_timeout = REQUEST_TIMEOUT
    idle_timeout = IDLE_TIMEOUT

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}/"


def make_server(host: str = "127.0.0.1", port: int = 8765, *, quiet: bool = True) -> _Server:
    """Create (not start) the digitiser's web server.

    Parameters
    ----------
    host : str
        Address to bind; 127.0.0.1 (this computer only) by default.
    port : int
        0 picks a free port; the server's ``url`` says which.
    quiet : bool
        Do not log requests to stderr.

    Returns
    -------
    http.server.ThreadingHTTPServer
        Call ``serve_forever()`` (e.g. in a thread) and ``shutdown()``;
        ``server.url`` is the page's address.

    Raises
    ------
    hepatostat.errors.InputError
        If the address cannot be bound (port in use, unknown host).
    """
    if not 0 <= int(port) <= 65535:
        raise InputError("port must be between 0 and 65535", column="port", value=port)
    try:
        srv = _Server((host, int(port)), _Handler)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port} ({exc.strerror or exc})", value=f"{host}:{port}") from None
    srv.quiet = quiet
    try:
        srv.loopback_only = ipaddress.ip_address(srv.server_address[0]).is_loopback
    except ValueError:  # pragma: no cover
        srv.loopback_only = host in _LOOPBACK_NAMES
    return srv


def serve(host: str = "127.0.0.1", port: int = 8765, *, quiet: bool = False, echo=print) -> None:
    """Run the web page until interrupted (Ctrl+C)."""
    srv = make_server(host, port, quiet=quiet)
    echo(f"hepatostat digitiser on {srv.url} (press Ctrl+C to stop)")
    if not srv.loopback_only:
        echo("Warning: listening on a non-loopback address: other computers can reach this page")
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


def _start_in_thread(host: str = "127.0.0.1", port: int = 0) -> tuple[_Server, threading.Thread]:
    """Start a quiet server in a daemon thread (for tests and notebooks)."""
    srv = make_server(host, port, quiet=True)
    t = threading.Thread(target=srv.serve_forever, name="hepatostat-digitize", daemon=True)
    t.start()
    return srv, t
