"""The digitiser beside the extraction form (workbench feature module).

An extractor uploads a figure of a study (``POST /digitise/upload``); the
image is checked before it is decoded (size in bytes by the body limit, the
pixel count from the header against :data:`MAX_PIXELS`, the format) and kept
in the project (``digitise_figures``, with its SHA-256). On the study page
the figure is drawn on a canvas: the user calibrates two points per axis (or
three points anywhere, for a skewed scan), with log axes if needed, and
clicks points or lets :mod:`hepatostat.digitize` find points, bars or error
bars of a picked colour (``POST /digitise/api/extract``). A value sent to the
form carries its provenance: figure id, file name, SHA-256, pixel
coordinates, calibration and mode.

Figures are listed to the extractor who uploaded them only (independent
extraction).
"""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timezone
from urllib.parse import quote

from ..errors import InputError
from ..io.format import fmt_n

SCHEMA = """
CREATE TABLE IF NOT EXISTS digitise_figures (
    figure_id BIGINT PRIMARY KEY, at_time VARCHAR, username VARCHAR NOT NULL, study VARCHAR NOT NULL,
    filename VARCHAR, sha256 VARCHAR, format VARCHAR, width INTEGER, height INTEGER, data BLOB)
"""
NAV: list = []
#: bytes an uploaded figure may have
MAX_UPLOAD_BYTES = 20 << 20
BODY_LIMITS = {"/digitise/upload": MAX_UPLOAD_BYTES + (64 << 10), "/digitise/api/": 1 << 20}
#: pixels (width × height) a figure may have; checked from the header, before decoding
MAX_PIXELS = 25_000_000
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "BMP": "image/bmp", "TIFF": "image/tiff"}
MODES = ("convert", "points", "bars", "error_bars")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def image_header(data: bytes, *, name: str = "figure") -> tuple[str, int, int]:
    """Format, width and height read from the image header only (nothing is decoded).

    Raises :class:`InputError` for a file that is not one of :data:`FORMATS`
    or has more than :data:`MAX_PIXELS` pixels (a decompression bomb is
    refused before it is expanded).
    """
    from PIL import Image

    if not data:
        raise InputError("the upload is empty; choose a PNG, JPEG, GIF, BMP or TIFF file", file=name)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(f"the figure is larger than {MAX_UPLOAD_BYTES >> 20} MiB", file=name, value=len(data))
    try:
        with Image.open(io.BytesIO(data)) as im:  # lazy: reads the header, not the pixels
            fmt, (w, h) = im.format, im.size
    except Image.DecompressionBombError:
        raise InputError(f"the image has too many pixels (limit {fmt_n(MAX_PIXELS)})", file=name) from None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for non-images
        raise InputError("not an image; allowed: " + ", ".join(FORMATS), file=name) from None
    if fmt not in FORMATS:
        raise InputError(f"image format {fmt} is not allowed; allowed: {', '.join(FORMATS)}", file=name, value=fmt)
    if w * h > MAX_PIXELS:
        raise InputError(f"the image has {w}×{h} = {fmt_n(w * h)} pixels; the limit is {fmt_n(MAX_PIXELS)}", file=name,
                         value=f"{w}x{h}")
    return fmt, int(w), int(h)


def _calibration(obj):
    from ..digitize import Calibration

    if not isinstance(obj, dict):
        raise InputError("calibration must be an object {kind, x_axis, y_axis, x_log, y_log} or "
                         "{kind: 'affine', references: [[px, py, x, y] × 3]}", column="calibration")
    return Calibration.from_dict(obj)


def _pixels(obj, name="pixels") -> list[tuple[float, float]]:
    val = obj.get(name) or []
    if not isinstance(val, list) or len(val) > 5000:
        raise InputError(f"{name} must be a list of at most 5000 [px, py] pairs", column=name)
    out = []
    for p in val:
        try:
            px, py = float(p[0]), float(p[1])
        except (TypeError, ValueError, IndexError):
            raise InputError(f"{name} must be [px, py] pairs", column=name, value=p) from None
        out.append((px, py))
    return out


def extract(data: bytes, body: dict) -> dict:
    """What ``/digitise/api/extract`` answers: values at clicked pixels or found by colour."""
    import numpy as np

    from .. import digitize as dz

    mode = body.get("mode", "convert")
    if mode not in MODES:
        raise InputError(f"unknown mode; allowed: {', '.join(MODES)}", column="mode", value=mode)
    cal = _calibration(body.get("calibration"))
    out: dict = {"mode": mode, "calibration": cal.to_dict(), "points": [], "notes": []}

    def rows(px, py):
        x, y = cal.to_data(np.asarray(px, float), np.asarray(py, float))
        x, y = np.atleast_1d(x), np.atleast_1d(y)
        return [{"px": float(a), "py": float(b), "x": float(c) if cal.x_calibrated else None, "y": float(d)}
                for a, b, c, d in zip(np.atleast_1d(px), np.atleast_1d(py), x, y)]

    if mode == "convert":
        pix = _pixels(body)
        if pix:
            out["points"] = rows([p[0] for p in pix], [p[1] for p in pix])
        return out
    color = body.get("color")
    if not isinstance(color, str):
        raise InputError("pick the series colour first (a #rrggbb value)", column="color", value=color)
    tol = body.get("tolerance", dz.DEFAULT_TOLERANCE)
    try:
        tol = float(tol)
    except (TypeError, ValueError):
        raise InputError("tolerance must be a number", column="tolerance", value=tol) from None
    region = body.get("region")
    if region is not None:
        try:
            region = tuple(float(v) for v in region)
            assert len(region) == 4
        except (TypeError, ValueError, AssertionError):
            raise InputError("region must be [left, top, right, bottom] in pixels", column="region",
                             value=body.get("region")) from None
    image = dz.read_image(data)
    if mode == "points":
        res = dz.find_points(image, cal, color, tolerance=tol, region=region)
        out["points"] = rows(res.px, res.py)
    elif mode == "bars":
        res = dz.find_bars(image, cal, color, tolerance=tol, region=region)
        out["points"] = [{"px": float(a), "py": float(b), "x": None if not np.isfinite(x) else float(x),
                          "y": float(v)} for a, b, x, v in zip(res.x_px, res.end_px, res.x, res.value)]
    else:  # error bars at the given means
        at = _pixels(body, "at")
        if not at:
            raise InputError("error bars are read at the means: click or detect the means first", column="at")
        gap = body.get("max_gap", 12)
        try:
            gap = float(gap)
        except (TypeError, ValueError):
            raise InputError("max_gap must be a number of pixels", column="max_gap", value=gap) from None
        res = dz.find_error_bars(image, cal, color, at, tolerance=float(body.get("tolerance", 120)), region=region,
                                 max_gap=gap)
        for px, py, m, lo, hi, lpx, upx in zip(res.px, res.py, res.mean, res.lower, res.upper, res.lower_px,
                                                res.upper_px):
            out["points"].append({"px": float(px), "py": float(py), "x": None, "y": float(m),
                                  "lower": None if not np.isfinite(lo) else float(lo),
                                  "upper": None if not np.isfinite(hi) else float(hi),
                                  "lower_py": None if not np.isfinite(lpx) else float(lpx),
                                  "upper_py": None if not np.isfinite(upx) else float(upx)})
    out["notes"] = list(res.notes)
    return out


def routes(wb):
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse, RedirectResponse, Response
    from starlette.routing import Route

    store = wb.store

    async def upload(request):
        user = await wb.user(request)
        form = await wb.form(request, user)
        study = " ".join(str(form.get("study") or "").split())
        if not study:
            raise InputError("a study is required", column="study")
        f = form.get("figure")
        if f is None or isinstance(f, str) or not getattr(f, "filename", None):
            return RedirectResponse(f"/extraction/study?s={quote(study)}&msg={quote('Choose a figure file first.')}",
                                    303)
        data = await f.read(MAX_UPLOAD_BYTES + 1)
        name = str(f.filename)[:200]
        try:
            fmt, w, h = await run_in_threadpool(image_header, data, name=name)
        except InputError as exc:
            return RedirectResponse(f"/extraction/study?s={quote(study)}&msg={quote('Not uploaded: ' + str(exc))}",
                                    303)
        digest = hashlib.sha256(data).hexdigest()

        def go():
            with store.transaction() as con:
                fid = store.next_id(con, "digitise_figures", "figure_id")
                con.execute("INSERT INTO digitise_figures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [fid, _now(), user.username, study, name, digest, fmt, w, h, data])
                return fid

        fid = await run_in_threadpool(go)
        return RedirectResponse(f"/extraction/study?s={quote(study)}&fig={fid}&msg={quote(f'Figure {name} uploaded.')}",
                                303)

    def _load(fid, username):
        rows = store.query("SELECT data, format, username FROM digitise_figures WHERE figure_id = ?", [fid])
        if not rows or rows[0][2] != username:
            raise InputError("no such figure of yours", column="figure_id", value=fid)
        return rows[0]

    async def figure(request):
        user = await wb.user(request)
        try:
            fid = int(request.path_params["fid"])
        except ValueError:
            raise InputError("figure id must be a number", value=request.path_params["fid"]) from None
        data, fmt, _ = await store.call(_load, fid, user.username)
        return Response(bytes(data), media_type=FORMATS.get(fmt, "application/octet-stream"))

    async def api_extract(request):
        user = await wb.user(request)
        body = await wb.json(request, user)
        if not isinstance(body, dict):
            raise InputError("the JSON body must be an object {figure_id, calibration, mode, ...}")
        try:
            fid = int(body.get("figure_id"))
        except (TypeError, ValueError):
            raise InputError("figure_id must be a number", column="figure_id", value=body.get("figure_id")) from None
        data, _fmt, _ = await store.call(_load, fid, user.username)
        data = bytes(data)
        await run_in_threadpool(image_header, data)  # the budget again, before decoding
        res = await run_in_threadpool(extract, data, body)
        return JSONResponse(res)

    return [
        Route("/digitise/upload", upload, methods=["POST"]),
        Route("/digitise/figure/{fid}", figure),
        Route("/digitise/api/extract", api_extract, methods=["POST"]),
    ]
