"""The web app's HTTP endpoints (standard library server), without a browser."""

from __future__ import annotations

import base64
import http.client
import io
import json

import numpy as np
import pandas as pd
import pytest

from hepatostat.digitize import make_server
from hepatostat.digitize.server import _start_in_thread
from hepatostat.errors import InputError

from . import figures as F


@pytest.fixture(scope="module")
def server():
    srv, thread = _start_in_thread("127.0.0.1", 0)
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def request(srv, method, path, body=None, host=None, headers=None, raw=None):
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=20)
    headers = {"Content-Type": "application/json", **(headers or {})}
    if host:
        headers["Host"] = host
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    conn.request(method, path, body=data, headers=headers)
    res = conn.getresponse()
    payload = res.read()
    conn.close()
    return res.status, res.getheader("Content-Type", ""), payload, res


def data_url(path):
    with open(path, "rb") as fh:
        return "data:image/png;base64," + base64.b64encode(fh.read()).decode()


def cal_of(r, **kw):
    return {"x_axis": [list(p) for p in r.x_axis] if r.x_axis else None, "y_axis": [list(p) for p in r.y_axis], **kw}


def test_page_and_static_files(server):
    assert server.url.startswith("http://127.0.0.1:")
    for path, kind, marker in (("/", "text/html", b'id="canvas"'), ("/app.js", "javascript", b"/api/extract"),
                               ("/style.css", "text/css", b"#panel")):
        status, ctype, body, _ = request(server, "GET", path)
        assert status == 200 and kind in ctype and marker in body
    status, _, _, _ = request(server, "GET", "/../server.py")
    assert status == 404


def test_extract_points_convert_and_csv(server, scatter_linear):
    r = scatter_linear
    body = {"image": data_url(r.path), "calibration": cal_of(r), "mode": "points", "color": F.RED, "tolerance": 60}
    status, ctype, payload, _ = request(server, "POST", "/api/extract", body)
    assert status == 200 and "json" in ctype
    out = json.loads(payload)
    assert len(out["points"]) == len(r.truth["x"]) and set(out["points"][0]) == {"x_px", "y_px", "x", "y"}
    pixels = [[p["x_px"], p["y_px"]] for p in out["points"]]
    status, _, payload, _ = request(server, "POST", "/api/convert", {"calibration": cal_of(r), "pixels": pixels})
    conv = json.loads(payload)
    assert status == 200 and [p["x"] for p in conv["points"]] == [p["x"] for p in out["points"]]
    status, ctype, payload, res = request(server, "POST", "/api/csv",
                                          {"calibration": cal_of(r), "mode": "points", "pixels": pixels[::-1]})
    assert status == 200 and ctype.startswith("text/csv")
    assert "attachment" in res.getheader("Content-Disposition")
    frame = pd.read_csv(io.StringIO(payload.decode()))
    assert list(frame.columns) == ["x", "y"]
    np.testing.assert_allclose(frame.x, sorted(p["x"] for p in out["points"]))  # left to right


def test_extract_bars_and_curve(server, bar_chart, line_chart):
    body = {"image": data_url(bar_chart.path), "calibration": cal_of(bar_chart), "mode": "bars", "color": F.GREEN}
    status, _, payload, _ = request(server, "POST", "/api/extract", body)
    vals = np.array([p["y"] for p in json.loads(payload)["points"]])
    assert status == 200
    np.testing.assert_array_less(np.abs(vals - bar_chart.truth["value"]) / bar_chart.span[1], 0.01)
    status, _, payload, _ = request(server, "POST", "/api/csv", {"calibration": cal_of(bar_chart), "mode": "bars",
                                                                "pixels": [[10, 100], [5, 200]]})
    assert payload.decode().splitlines()[0] == "x_px,value" and payload.decode().splitlines()[1].startswith("5.0,")
    body = {"image": data_url(line_chart.path), "calibration": cal_of(line_chart), "mode": "curve",
            "color": F.BLUE, "step": "20"}
    status, _, payload, _ = request(server, "POST", "/api/extract", body)
    pts = json.loads(payload)["points"]
    assert status == 200 and len(pts) >= 9
    ys = np.array([p["y"] for p in pts])
    np.testing.assert_array_less(np.abs(ys - F.curve_truth([p["x"] for p in pts])) / line_chart.span[1], 0.01)


def test_bad_input_is_400_with_message(server, scatter_linear):
    r = scatter_linear
    bad_cal = {"x_axis": [[100, 0], [100, 10]], "y_axis": [[400, 0], [40, 100]]}
    cases = [
        ({"image": data_url(r.path), "calibration": bad_cal, "color": F.RED}, "coincide"),
        ({"image": data_url(r.path), "calibration": cal_of(r), "color": "#00ff00"}, "no pixel matches"),
        ({"image": "data:image/png;base64,aGVsbG8=", "calibration": cal_of(r), "color": F.RED}, "cannot read the image"),
        ({"image": data_url(r.path), "calibration": cal_of(r, y_log=True), "color": F.RED}, "log y axis"),
        ({"image": data_url(r.path), "calibration": cal_of(r), "color": F.RED, "mode": "pie"}, "mode must be"),
    ]
    for body, message in cases:
        status, ctype, payload, _ = request(server, "POST", "/api/extract", body)
        assert status == 400 and "json" in ctype
        assert message in json.loads(payload)["error"]
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    conn.request("POST", "/api/convert", body=b"{not json", headers={"Content-Type": "application/json"})
    res = conn.getresponse()
    assert res.status == 400 and "not valid JSON" in json.loads(res.read())["error"]
    conn.close()
    status, _, _, _ = request(server, "POST", "/api/nothing", {})
    assert status == 404


def test_foreign_host_header_is_refused(server):
    status, _, _, _ = request(server, "GET", "/", host="evil.example:80")
    assert status == 403
    status, _, _, _ = request(server, "GET", "/", host="localhost:1234")
    assert status == 200


def test_port_in_use_is_input_error(server):
    with pytest.raises(InputError, match="cannot listen"):
        make_server("127.0.0.1", server.server_address[1])


# -- server guards (issue 14: any web page could drive the server; pixel bombs; timeouts) --------
def _convert_body():
    return {"calibration": {"x_axis": [[0, 0], [100, 10]], "y_axis": [[100, 0], [0, 10]]}, "pixels": [[50, 50]]}


def test_text_plain_post_is_refused(server):
    # a cross-origin page may POST text/plain without a CORS preflight
    raw = json.dumps(_convert_body()).encode()
    status, ctype, payload, _ = request(server, "POST", "/api/convert", raw=raw,
                                        headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert status == 415 and "json" in ctype and "JSON only" in json.loads(payload)["error"]
    status, _, payload, _ = request(server, "POST", "/api/convert", raw=raw,
                                    headers={"Content-Type": "application/json; charset=utf-8"})
    assert status == 200 and json.loads(payload)["points"][0]["x"] == pytest.approx(5.0)


def test_foreign_origin_is_refused(server):
    port = server.server_address[1]
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Origin": f"http://127.0.0.1:{port + 1}"},
                    {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "cross-site"}):
        status, _, payload, _ = request(server, "POST", "/api/convert", _convert_body(), headers=headers)
        assert status == 403 and "other web sites" in json.loads(payload)["error"], headers
    # the page itself (same origin), and clients that send no Origin, are served
    for headers in ({"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}, {}):
        status, _, _, _ = request(server, "POST", "/api/convert", _convert_body(), headers=headers)
        assert status == 200, headers


def test_50000_deep_json_is_400_not_500(server):
    raw = b"[" * 50_000 + b"]" * 50_000
    status, _, payload, _ = request(server, "POST", "/api/convert", raw=raw)
    assert status == 400 and "nested too deeply" in json.loads(payload)["error"]
    raw = b'{"calibration": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001
    status, _, _, _ = request(server, "POST", "/api/extract", raw=raw)
    assert status == 400


def test_nan_numbers_in_requests_are_400(server, bar_chart):
    body = {"image": data_url(bar_chart.path), "calibration": cal_of(bar_chart), "color": F.GREEN,
            "mode": "bars", "baseline": "nan"}
    status, _, payload, _ = request(server, "POST", "/api/extract", body)
    assert status == 400 and "baseline must be a finite number" in json.loads(payload)["error"]


def _bomb_png(width, height) -> bytes:
    """A small PNG file holding a huge (1-bit, blank) image."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (width, height), 1).save(buf, format="PNG")
    return buf.getvalue()


def test_image_above_pixel_budget_is_refused_before_decoding(server, monkeypatch):
    from PIL import Image, ImageFile

    from hepatostat.digitize import extract

    png = _bomb_png(6000, 5000)  # 30 megapixels in a few KiB
    assert len(png) < 100_000

    def no_decode(self, *a, **k):
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(Image.Image, "load", no_decode)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    with pytest.raises(InputError, match=r"6000 x 5000 pixels \(30.0 megapixels\); at most 25 megapixels"):
        extract.read_image(png)
    body = {"image": "data:image/png;base64," + base64.b64encode(png).decode(),
            "calibration": {"x_axis": [[0, 0], [100, 10]], "y_axis": [[100, 0], [0, 10]]}, "color": "#000000"}
    status, _, payload, _ = request(server, "POST", "/api/extract", body)
    assert status == 400 and "megapixels" in json.loads(payload)["error"]


def _quick_server(**attrs):
    srv, thread = _start_in_thread("127.0.0.1", 0)
    for k, v in attrs.items():
        setattr(srv, k, v)
    return srv, thread


def _stop(srv, thread):
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def test_idle_connection_times_out():
    import socket
    import time

    srv, thread = _quick_server(idle_timeout=0.5)
    try:
        sock = socket.create_connection(srv.server_address[:2], timeout=10)
        t0 = time.monotonic()
        assert sock.recv(1) == b""  # the server closed the silent connection
        assert time.monotonic() - t0 < 5
        sock.close()
    finally:
        _stop(srv, thread)


def test_request_dripping_one_byte_at_a_time_hits_the_deadline():
    import socket
    import time

    srv, thread = _quick_server(idle_timeout=5, request_timeout=1.0)
    try:
        sock = socket.create_connection(srv.server_address[:2], timeout=10)
        sock.sendall(b"POST /api/convert HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 8:
            try:
                sock.sendall(b"X")
            except OSError:
                closed = True
                break
            sock.settimeout(0.2)
            try:
                if sock.recv(1) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
        assert closed and time.monotonic() - t0 < 6  # deadline 1 s; slack for a loaded machine
        sock.close()
    finally:
        _stop(srv, thread)


def test_listen_backlog_takes_120_simultaneous_connections():
    # a backlog of 5 reset (or left hanging) a quarter of 200 simultaneous connections
    import socket

    from hepatostat.digitize.server import BACKLOG

    assert BACKLOG >= 128
    srv = make_server("127.0.0.1", 0)  # bound and listening, not yet accepting
    socks = []
    try:
        for _ in range(120):
            socks.append(socket.create_connection(srv.server_address[:2], timeout=0.5))
        assert len(socks) == 120
    finally:
        for s in socks:
            s.close()
        srv.server_close()
