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


def request(srv, method, path, body=None, host=None):
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=20)
    headers = {"Content-Type": "application/json"}
    if host:
        headers["Host"] = host
    data = None if body is None else json.dumps(body).encode()
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
