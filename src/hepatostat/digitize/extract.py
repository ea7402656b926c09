"""Values back from a figure's pixels: markers, bars, error bars and curves.

Every extractor starts from a **colour mask**: the pixels whose colour lies
within ``tolerance`` (Euclidean distance in RGB, 0-255 per channel) of the
series colour. Pick a colour that only the series uses (the marker fill, the
bar fill), and, when the legend or the title use it too, a ``region`` (the
plot area, in pixels) to look in.

* :func:`find_points` (scatter plots): one point per marker, at the centroid
  of each connected group of matching pixels (8-connectivity,
  ``scipy.ndimage.label``). Markers that touch or overlap form one group;
  a group about ``k`` times the area of a single marker is split into ``k``
  points (k-means on its pixels).
* :func:`find_bars` (bar charts): one bar per group of matching pixel
  columns, its end the edge farthest from the zero line (the y value 0 of
  the calibration, or ``baseline``); bars above and below the zero line,
  left to right.
* :func:`find_error_bars`: the ends of the error bars drawn at given means
  (points or bar ends), e.g. mean with lower and upper limits.
* :func:`trace_curve` (line plots): the line's y at x values a ``step``
  apart.

Pixel coordinates are measured from the image's left and top edges (pixel
column ``i`` covers ``[i, i + 1)``), as in :mod:`hepatostat.digitize.calibrate`.

Accuracy: on figures rendered at 100 dpi the tests recover every value
within 0.3% of the axis span (see ``tests/digitize``); the error is about
one pixel, so it shrinks as the image gets larger.

:func:`meta_row` turns digitised means and error-bar ends of two arms into
the meta-analysis input row ``study,m1,sd1,n1,m2,sd2,n2``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._util import finite_or_none as _f
from ..errors import InputError
from ..io.format import fmt_fixed, fmt_plain, fmt_sig
from .calibrate import Calibration, parse_color

__all__ = [
    "DEFAULT_TOLERANCE",
    "read_image",
    "color_mask",
    "nearest_color",
    "find_points",
    "find_bars",
    "find_error_bars",
    "trace_curve",
    "meta_row",
    "PointsResult",
    "BarsResult",
    "ErrorBarsResult",
    "CurveResult",
]

#: largest image read, in pixels (width x height), checked from the file's header
#: before the pixels are decoded: a small compressed file can hold a huge image
#: (a 32 KiB PNG of 80 megapixels needs gigabytes once decoded). 25 megapixels is
#: a 5000 x 5000 scan, far more than a journal figure needs.
MAX_PIXELS = 25_000_000

#: default colour tolerance: Euclidean RGB distance (0-441)
DEFAULT_TOLERANCE = 60.0

_EIGHT = np.ones((3, 3), dtype=bool)  # 8-connectivity



def _hex(rgb) -> str:
    return "#" + "".join(f"{int(round(c)):02x}" for c in rgb)


# ---------------------------------------------------------------------------
# image and mask
# ---------------------------------------------------------------------------
def read_image(source) -> np.ndarray:
    """Read an image as an ``(height, width, 3)`` float array of RGB 0-255.

    Parameters
    ----------
    source : str, os.PathLike, bytes or numpy.ndarray
        A file (PNG; also JPEG, TIFF, BMP, GIF when Pillow is installed, as
        it is with matplotlib), the file's bytes, or an array already read
        (``(h, w)`` grey, ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA; values
        0-1 floats or 0-255).

    Returns
    -------
    numpy.ndarray
        Transparent pixels are composited onto white.

    Raises
    ------
    hepatostat.errors.InputError
        If the file is missing or is not an image that can be read.
    """
    if isinstance(source, np.ndarray):
        arr = source
        name = None
    else:
        name = "<image bytes>" if isinstance(source, (bytes, bytearray)) else os.fspath(source)
        arr = _read_file(source, name)
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise InputError("not an RGB image (expected height x width x 3 or 4 values)", file=name,
                         value=tuple(arr.shape))
    if arr.dtype.kind == "f":
        arr = arr.astype(float) * (255.0 if arr.max(initial=0) <= 1.0 else 1.0)
    elif arr.dtype == np.uint16:
        arr = arr.astype(float) / 257.0
    else:
        arr = arr.astype(float)
    if arr.shape[2] == 4:
        alpha = arr[:, :, 3:4] / 255.0
        arr = arr[:, :, :3] * alpha + 255.0 * (1 - alpha)
    return np.ascontiguousarray(arr[:, :, :3])


class _TooLarge(Exception):
    def __init__(self, w, h):
        super().__init__(w, h)
        self.w, self.h = w, h


def _read_file(source, name):
    import io

    data = source
    if not isinstance(source, (bytes, bytearray)):
        if not os.path.exists(name):
            raise InputError("image file not found", file=name)
        if os.path.isdir(name):
            raise InputError("is a folder, not an image file", file=name)
        with open(name, "rb") as fh:
            data = fh.read()
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        Image = None
    if Image is not None:
        import warnings

        try:
            with warnings.catch_warnings():  # our own budget below says it plainly, not Pillow's warning on stderr
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(io.BytesIO(data))
            with im:
                w, h = im.size
                if w * h > MAX_PIXELS:
                    raise _TooLarge(w, h)
                im.load()
                if im.mode not in ("RGB", "RGBA", "L", "LA"):
                    im = im.convert("RGBA")
                if im.mode == "LA":
                    im = im.convert("RGBA")
                return np.asarray(im)
        except _TooLarge as big:
            raise InputError(f"the image is {big.w} x {big.h} pixels ({fmt_fixed(big.w * big.h / 1e6, 1)} megapixels); "
                             f"at most {fmt_plain(MAX_PIXELS / 1e6)} megapixels are read: crop or scale the figure down",
                             file=name) from None
        except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds
            raise InputError(f"cannot read the image ({type(exc).__name__}: {exc}); "
                             "give a PNG, JPEG, TIFF, BMP or GIF file", file=name) from None
    import matplotlib.image as mpimg  # pragma: no cover

    try:  # pragma: no cover
        return mpimg.imread(io.BytesIO(data), format="png")
    except Exception as exc:  # noqa: BLE001  # pragma: no cover
        raise InputError(f"cannot read the image as PNG ({exc})", file=name) from None


def _region_slices(shape, region):
    h, w = shape[:2]
    if region is None:
        return (0, 0, w, h)
    try:
        x0, y0, x1, y1 = (float(v) for v in region)
    except (TypeError, ValueError):
        raise InputError("region must be four numbers: left, top, right, bottom (pixels)", value=region) from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise InputError("region must be four finite numbers: left, top, right, bottom (pixels)", value=tuple(region))
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    c0, r0 = max(0, int(math.floor(x0))), max(0, int(math.floor(y0)))
    c1, r1 = min(w, int(math.ceil(x1))), min(h, int(math.ceil(y1)))
    if c1 - c0 < 1 or r1 - r0 < 1:
        raise InputError(f"region lies outside the image ({w} x {h} pixels)", value=tuple(region))
    return (c0, r0, c1, r1)


def _distance(image: np.ndarray, rgb) -> np.ndarray:
    diff = image - np.asarray(rgb, dtype=float)
    return np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))


def color_mask(image, color, tolerance: float = DEFAULT_TOLERANCE, region=None) -> np.ndarray:
    """Pixels within ``tolerance`` (RGB distance) of ``color``.

    Parameters
    ----------
    image : array or file
        See :func:`read_image`.
    color : str or (r, g, b)
        ``"#d62728"`` or three numbers 0-255.
    tolerance : float
        Largest Euclidean distance in RGB (0-255 per channel) that still
        counts as the colour; 0 = exact match only, 441 = everything.
    region : (left, top, right, bottom), optional
        Look only inside this rectangle (pixels); the mask is False outside.

    Returns
    -------
    numpy.ndarray of bool, ``(height, width)``
    """
    img = read_image(image) if not isinstance(image, np.ndarray) or image.dtype != float else image
    tol = _tolerance(tolerance)
    rgb = parse_color(color)
    c0, r0, c1, r1 = _region_slices(img.shape, region)
    mask = np.zeros(img.shape[:2], dtype=bool)
    mask[r0:r1, c0:c1] = _distance(img[r0:r1, c0:c1], rgb) <= tol
    return mask


def nearest_color(image, color, region=None) -> tuple[str, float]:
    """The image colour closest to ``color`` and its RGB distance."""
    img = read_image(image) if not isinstance(image, np.ndarray) or image.dtype != float else image
    c0, r0, c1, r1 = _region_slices(img.shape, region)
    sub = img[r0:r1, c0:c1]
    d = _distance(sub, parse_color(color))
    i = np.unravel_index(int(np.argmin(d)), d.shape)
    return _hex(sub[i]), float(d[i])


def _tolerance(tolerance) -> float:
    try:
        tol = float(tolerance)
    except (TypeError, ValueError):
        raise InputError("tolerance must be a number (RGB distance, 0-441)", column="tolerance",
                         value=tolerance) from None
    if not (0 <= tol <= 442):
        raise InputError("tolerance must be between 0 and 441 (RGB distance)", column="tolerance", value=tolerance)
    return tol


def _prepare(image, color, tolerance, region, source):
    """Read the image, build the mask, fail clearly when nothing matches."""
    name = source
    if name is None and not isinstance(image, np.ndarray):
        name = "<image bytes>" if isinstance(image, (bytes, bytearray)) else os.fspath(image)
    img = read_image(image)
    rgb = parse_color(color)
    tol = _tolerance(tolerance)
    mask = color_mask(img, rgb, tol, region)
    if not mask.any():
        near, dist = nearest_color(img, rgb, region)
        where = " inside the region" if region is not None else ""
        raise InputError(f"no pixel{where} matches the colour {_hex(rgb)} within tolerance {fmt_plain(tol)} "
                         f"(the nearest colour in the image is {near}, at distance {fmt_fixed(dist, 1)}); "
                         "pick the series colour from the image or raise --tolerance",
                         file=name, value=_hex(rgb))
    return img, rgb, tol, mask, name


# ---------------------------------------------------------------------------
# scatter markers
# ---------------------------------------------------------------------------
def _kmeans(coords: np.ndarray, k: int, iters: int = 30) -> np.ndarray:
    """Deterministic k-means (farthest-point start) of pixel coordinates."""
    centre = coords.mean(axis=0)
    first = coords[np.argmax(((coords - centre) ** 2).sum(1))]
    centres = [first]
    for _ in range(1, k):
        d = np.min([((coords - c) ** 2).sum(1) for c in centres], axis=0)
        centres.append(coords[np.argmax(d)])
    c = np.array(centres, dtype=float)
    for _ in range(iters):
        lab = np.argmin(((coords[:, None, :] - c[None]) ** 2).sum(2), axis=1)
        new = np.array([coords[lab == j].mean(0) if np.any(lab == j) else c[j] for j in range(k)])
        if np.allclose(new, c, atol=1e-6):
            break
        c = new
    return c


class _ResultDisplay:
    """Short ``repr`` and a Jupyter table for the digitiser's results."""

    _what = "value"

    def __len__(self) -> int:
        return len(self.to_frame())

    def __repr__(self) -> str:
        src = f", source={self.source!r}" if self.source else ""
        return f"<{type(self).__name__}: {len(self)} {self._what}(s), color={self.color!r}{src}>"

    def _repr_html_(self) -> str:
        import html

        caption = html.escape(repr(self))
        notes = "".join(f"<p>Note: {html.escape(n)}</p>" for n in self.notes)
        return f"<p><b>{caption}</b></p>" + self.to_frame().to_html(index=False, float_format="{:.6g}".format) + notes


@dataclass(frozen=True, eq=False, repr=False)
class PointsResult(_ResultDisplay):
    """Points read off a scatter plot, left to right.

    Attributes
    ----------
    x, y : numpy.ndarray
        Data values.
    px, py : numpy.ndarray
        Pixel positions (from the left and top edges) of the marker centroids.
    area : numpy.ndarray
        Pixels in each point's marker (for split markers, its share).
    split : numpy.ndarray of int
        How many points the point's pixel group was split into (1 = a lone marker).
    marker_area : float
        The area of one marker used to split merged markers (pixels).
    """

    _what: ClassVar[str] = "point"

    x: np.ndarray
    y: np.ndarray
    px: np.ndarray
    py: np.ndarray
    area: np.ndarray
    split: np.ndarray
    marker_area: float
    calibration: Calibration
    color: str
    tolerance: float
    source: str | None = None
    notes: tuple = ()

    @property
    def n(self) -> int:
        return int(self.x.size)

    def to_frame(self) -> pd.DataFrame:
        """``x, y`` per point (the CSV of ``hepatostat digitize points``)."""
        return pd.DataFrame({"x": self.x, "y": self.y})

    def pixels_frame(self) -> pd.DataFrame:
        """``x, y, x_px, y_px, area, split`` per point."""
        return pd.DataFrame({"x": self.x, "y": self.y, "x_px": self.px, "y_px": self.py,
                             "area": self.area, "split": self.split})

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``hepatostat digitize points``: ``points: [{x, y}]``,
        ``calibration``, and the pixel positions in ``pixels``."""
        return {
            "points": [{"x": _f(a), "y": _f(b)} for a, b in zip(self.x, self.y)],
            "calibration": self.calibration.to_dict(),
            "pixels": [{"x_px": _f(a), "y_px": _f(b)} for a, b in zip(self.px, self.py)],
            "color": self.color,
            "tolerance": self.tolerance,
            "marker_area": _f(self.marker_area),
            "notes": list(self.notes),
        }

    def summary(self, digits: int = 4) -> str:
        lines = [f"{self.n} point(s) of colour {self.color} (tolerance {fmt_plain(self.tolerance)})"
                 + (f" from {self.source}" if self.source else ""),
                 f"Calibration: {self.calibration.summary()}"]
        lines.append(f"{'x':>14} {'y':>14} {'x_px':>9} {'y_px':>9}")
        for a, b, c, d in zip(self.x, self.y, self.px, self.py):
            lines.append(f"{fmt_sig(a, digits):>14} {fmt_sig(b, digits):>14} {fmt_fixed(c, 1):>9} {fmt_fixed(d, 1):>9}")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def find_points(image, calibration: Calibration, color, *, tolerance: float = DEFAULT_TOLERANCE,
                marker_area: float | None = None, min_area: float | None = None, split: bool = True,
                region=None, source=None) -> PointsResult:
    """Scatter-plot markers of one colour, as data points.

    Parameters
    ----------
    image : str, path, bytes or array
        The figure (see :func:`read_image`).
    calibration : Calibration
        From :func:`calibrate_axes` or :func:`calibrate_affine`.
    color : str or (r, g, b)
        The markers' colour, e.g. ``"#1f77b4"``.
    tolerance : float
        RGB distance that still counts as the colour (default 60).
    marker_area : float, optional
        Pixels in one marker. By default the median area of the pixel groups,
        which is right when most markers stand alone.
    min_area : float, optional
        Groups smaller than this are noise (stray anti-aliased pixels, text)
        and dropped, with a note. Default: ``max(3, marker_area / 4)``.
    split : bool
        Split groups of touching markers into ``round(area / marker_area)``
        points (k-means on their pixels).
    region : (left, top, right, bottom), optional
        Look only inside this rectangle of pixels (e.g. the plot area, to
        leave out a legend that shows the marker).
    source : str, optional
        Name of the image for messages.

    Returns
    -------
    PointsResult
        Points sorted by x pixel (left to right).

    Raises
    ------
    hepatostat.errors.InputError
        If the image cannot be read or no pixel matches the colour.

    Notes
    -----
    A marker's position is the centroid of its pixels, which is exact for
    symmetric markers (circles, squares, diamonds, crosses) whether filled or
    open. Markers that overlap by more than about half their area cannot be
    told apart and count as one.
    """
    img, rgb, tol, mask, name = _prepare(image, color, tolerance, region, source)
    from scipy import ndimage

    labels, count = ndimage.label(mask, structure=_EIGHT)
    idx = np.arange(1, count + 1)
    areas = np.asarray(ndimage.sum_labels(mask, labels, idx), dtype=float)
    notes = []
    noise_floor = 3.0
    if marker_area is None:
        big = areas[areas >= noise_floor]
        single = float(np.median(big)) if big.size else float(np.max(areas))
    else:
        single = float(marker_area)
        if not (single > 0 and math.isfinite(single)):
            raise InputError("marker_area must be a positive number of pixels", column="marker_area",
                             value=marker_area)
    floor = float(min_area) if min_area is not None else max(noise_floor, single / 4.0)
    keep = areas >= floor
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} group(s) of fewer than {fmt_plain(floor)} matching pixels left out as noise")
    xs, ys, ar, sp = [], [], [], []
    objects = ndimage.find_objects(labels)
    for lab, a, ok, sl in zip(idx, areas, keep, objects):
        if not ok:
            continue
        rr, cc = np.nonzero(labels[sl] == lab)
        coords = np.column_stack([cc + sl[1].start + 0.5, rr + sl[0].start + 0.5])
        k = max(1, int(math.floor(a / single + 0.5))) if split else 1
        k = min(k, len(coords))
        if k == 1:
            cen = coords.mean(0)[None]
        else:
            cen = _kmeans(coords, k)
        for c in cen:
            xs.append(c[0])
            ys.append(c[1])
            ar.append(a / k)
            sp.append(k)
    n_split = sum(1 for s in sp if s > 1)
    if n_split:
        notes.append(f"{n_split} point(s) come from groups of touching markers split by area "
                     f"(one marker = {fmt_fixed(single, 1)} pixels)")
    order = np.lexsort((np.asarray(ys), np.asarray(xs)))
    px = np.asarray(xs, dtype=float)[order]
    py = np.asarray(ys, dtype=float)[order]
    x, y = calibration.to_data(px, py)
    return PointsResult(np.atleast_1d(x), np.atleast_1d(y), px, py, np.asarray(ar, dtype=float)[order],
                        np.asarray(sp, dtype=int)[order], single, calibration, _hex(rgb), tol, name, tuple(notes))


# ---------------------------------------------------------------------------
# bars
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class BarsResult(_ResultDisplay):
    """Bars read off a bar chart, left to right.

    Attributes
    ----------
    x_px : numpy.ndarray
        Pixel column of each bar's centre (from the left edge).
    value : numpy.ndarray
        The bar's value: its end farthest from the zero line, in data units.
    end_px : numpy.ndarray
        Pixel row of that end (from the top edge).
    width_px : numpy.ndarray
        Bar width in pixels.
    x : numpy.ndarray
        x values of the bar centres when the x axis was calibrated, else NaN.
    baseline : float
        The value bars start from (0 unless given).
    """

    _what: ClassVar[str] = "bar"

    x_px: np.ndarray
    value: np.ndarray
    end_px: np.ndarray
    width_px: np.ndarray
    x: np.ndarray
    baseline: float
    calibration: Calibration
    color: str
    tolerance: float
    source: str | None = None
    notes: tuple = ()

    @property
    def n(self) -> int:
        return int(self.value.size)

    def to_frame(self) -> pd.DataFrame:
        """``x_px, value`` per bar (the CSV of ``hepatostat digitize bars``)."""
        return pd.DataFrame({"x_px": self.x_px, "value": self.value})

    def pixels_frame(self) -> pd.DataFrame:
        """``x_px, value, end_px, width_px, x`` per bar."""
        return pd.DataFrame({"x_px": self.x_px, "value": self.value, "end_px": self.end_px,
                             "width_px": self.width_px, "x": self.x})

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``hepatostat digitize bars``: ``bars: [{x_px, value}]``
        left to right, plus ``calibration``, ``baseline`` and the bar ends'
        pixels in ``pixels``."""
        return {
            "bars": [{"x_px": _f(a), "value": _f(b)} for a, b in zip(self.x_px, self.value)],
            "calibration": self.calibration.to_dict(),
            "baseline": _f(self.baseline),
            "pixels": [{"x_px": _f(a), "y_px": _f(b), "width_px": _f(w)}
                       for a, b, w in zip(self.x_px, self.end_px, self.width_px)],
            "color": self.color,
            "tolerance": self.tolerance,
            "notes": list(self.notes),
        }

    def summary(self, digits: int = 4) -> str:
        lines = [f"{self.n} bar(s) of colour {self.color} (tolerance {fmt_plain(self.tolerance)})"
                 + (f" from {self.source}" if self.source else "") + f"; baseline {fmt_plain(self.baseline)}",
                 f"Calibration: {self.calibration.summary()}",
                 f"{'x_px':>9} {'value':>14} {'width_px':>9}"]
        for a, b, w in zip(self.x_px, self.value, self.width_px):
            lines.append(f"{fmt_fixed(a, 1):>9} {fmt_sig(b, digits):>14} {fmt_fixed(w, 0):>9}")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _runs(sorted_idx: np.ndarray, max_gap: int = 1) -> list[np.ndarray]:
    """Split sorted integers into runs whose steps are at most ``max_gap``."""
    if sorted_idx.size == 0:
        return []
    breaks = np.nonzero(np.diff(sorted_idx) > max_gap)[0] + 1
    return np.split(sorted_idx, breaks)


def find_bars(image, calibration: Calibration, color, *, tolerance: float = DEFAULT_TOLERANCE,
              baseline: float | None = None, min_width: int = 3, merge_gap: int = 3,
              region=None, source=None) -> BarsResult:
    """Vertical bars of one colour, as values, left to right.

    Parameters
    ----------
    image : str, path, bytes or array
        The figure (see :func:`read_image`).
    calibration : Calibration
        Needs the y axis; the x axis is optional (:func:`calibrate_axes`
        with ``x_axis=None``).
    color : str or (r, g, b)
        The bars' fill colour.
    tolerance : float
        RGB distance that still counts as the colour (default 60).
    baseline : float, optional
        The value bars start from: 0 by default (the zero line from the y
        calibration); required on a log y axis.
    min_width : int
        Narrower groups of columns (lines, text, stray pixels) are not bars;
        they are dropped with a note.
    merge_gap : int
        Neighbouring pieces at most this many columns apart whose ends agree
        within 1.5 pixels are one bar cut by something drawn over it (an
        error bar, a grid line).
    region : (left, top, right, bottom), optional
        Look only inside this rectangle of pixels.
    source : str, optional
        Name of the image for messages.

    Returns
    -------
    BarsResult

    Raises
    ------
    hepatostat.errors.InputError
        If the image cannot be read, no pixel matches the colour, or the
        baseline is not on the axis (log axis without a positive baseline).

    Notes
    -----
    Each pixel column of a bar gives the row of the bar's end (the top for
    bars above the baseline, the bottom for bars below); the bar's end is the
    median over its columns, so an error bar or a label of the same colour
    in a few columns does not move it. The end is the outer edge of the
    outermost matching pixel row. A bar whose value equals the baseline has
    no pixels and is not found.
    """
    img, rgb, tol, mask, name = _prepare(image, color, tolerance, region, source)
    if baseline is None:
        if calibration.y_log:
            raise InputError("a log y axis has no zero line: give the baseline bars start from "
                             "(e.g. the axis' lowest value)", column="baseline")
        baseline = 0.0
    baseline = float(baseline)
    if not math.isfinite(baseline):
        raise InputError("the baseline must be a finite number (the value bars start from)", column="baseline",
                         value=baseline)
    if calibration.y_log and not baseline > 0:
        raise InputError("the baseline of bars on a log y axis must be positive", column="baseline", value=baseline)
    from scipy import ndimage

    labels, count = ndimage.label(mask, structure=_EIGHT)
    notes = []
    pieces = []  # (c_first, c_last, end_row, sign)
    dropped = 0
    for lab, sl in enumerate(ndimage.find_objects(labels), start=1):
        sub = labels[sl] == lab
        cols = np.nonzero(sub.any(axis=0))[0]
        if cols.size < min_width:
            dropped += 1
            continue
        c_first = cols[0] + sl[1].start
        c_last = cols[-1] + sl[1].start
        tops = np.array([np.argmax(sub[:, c]) for c in cols]) + sl[0].start
        bottoms = np.array([sub.shape[0] - np.argmax(sub[::-1, c]) for c in cols]) + sl[0].start
        top, bottom = float(np.median(tops)), float(np.median(bottoms))
        xc = (c_first + c_last + 1) / 2.0
        _, base_py = calibration.to_pixel(calibration.to_data(xc, 0.0)[0], baseline)
        # which end is farther from the zero line
        positive = (base_py - top) >= (bottom - base_py)
        pieces.append([int(c_first), int(c_last), top if positive else bottom, positive])
    if dropped:
        notes.append(f"{dropped} group(s) narrower than {min_width} pixel columns left out (not bars)")
    pieces.sort(key=lambda p: p[0])
    merged: list[list] = []
    for p in pieces:
        if merged:
            q = merged[-1]
            if p[0] - q[1] - 1 <= merge_gap and p[3] == q[3] and abs(p[2] - q[2]) <= 1.5:
                q[1] = max(q[1], p[1])
                q[2] = min(q[2], p[2]) if q[3] else max(q[2], p[2])
                notes.append(f"two pieces at columns {q[0]}-{p[1]} joined into one bar (cut by another colour)")
                continue
        merged.append(list(p))
    if not merged:
        raise InputError(f"no bars found: the pixels of colour {_hex(rgb)} form no group at least "
                         f"{min_width} pixels wide", file=name, value=_hex(rgb))
    x_px = np.array([(p[0] + p[1] + 1) / 2.0 for p in merged])
    end_px = np.array([p[2] for p in merged], dtype=float)
    width = np.array([p[1] - p[0] + 1 for p in merged], dtype=float)
    xv, value = calibration.to_data(x_px, end_px)
    xv = np.atleast_1d(xv) if calibration.x_calibrated else np.full(x_px.shape, np.nan)
    return BarsResult(x_px, np.atleast_1d(value), end_px, width, xv, baseline, calibration, _hex(rgb), tol,
                      name, tuple(notes))


# ---------------------------------------------------------------------------
# error bars
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class ErrorBarsResult(_ResultDisplay):
    """Error bars at given means: ``mean`` with ``lower`` and ``upper`` ends.

    ``lower`` / ``upper`` are NaN where no error bar was found on that side
    (hidden behind the marker or the bar), with a note.
    """

    _what: ClassVar[str] = "error bar"

    x: np.ndarray
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    px: np.ndarray
    py: np.ndarray
    lower_px: np.ndarray
    upper_px: np.ndarray
    calibration: Calibration
    color: str
    tolerance: float
    source: str | None = None
    notes: tuple = ()

    def to_frame(self) -> pd.DataFrame:
        """``x, mean, lower, upper`` per mean."""
        return pd.DataFrame({"x": self.x, "mean": self.mean, "lower": self.lower, "upper": self.upper})

    def to_dict(self) -> dict[str, Any]:
        return {
            "error_bars": [{"x": _f(a), "mean": _f(m), "lower": _f(lo), "upper": _f(hi)}
                           for a, m, lo, hi in zip(self.x, self.mean, self.lower, self.upper)],
            "calibration": self.calibration.to_dict(),
            "pixels": [{"x_px": _f(a), "y_px": _f(b), "lower_px": _f(c), "upper_px": _f(d)}
                       for a, b, c, d in zip(self.px, self.py, self.lower_px, self.upper_px)],
            "color": self.color,
            "tolerance": self.tolerance,
            "notes": list(self.notes),
        }

    def summary(self, digits: int = 4) -> str:
        lines = [f"Error bars of colour {self.color} at {len(self.mean)} mean(s)",
                 f"{'x':>12} {'mean':>12} {'lower':>12} {'upper':>12}"]
        for a, m, lo, hi in zip(self.x, self.mean, self.lower, self.upper):
            lines.append(f"{fmt_sig(a, digits):>12} {fmt_sig(m, digits):>12} {fmt_sig(lo, digits):>12} {fmt_sig(hi, digits):>12}")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _cap_end(mask, rows: np.ndarray, col: int, top: bool, reach: int = 40) -> float:
    """Pixel row of an error bar's end: the centre of its cap when it has one
    (rows near the end clearly wider than the stem), else the stem's outer edge.

    ``rows`` are the bar's rows on one side of the mean, ascending."""
    h, w = mask.shape
    lo, hi = max(0, col - reach), min(w, col + reach + 1)
    c = col - lo

    def width(r):
        line = mask[r, lo:hi]
        # the stem may be a pixel off the centre column: start at the nearest match
        near = [j for j in (c, c - 1, c + 1) if 0 <= j < line.size and line[j]]
        if not near:
            return 0
        left = right = near[0]
        while left > 0 and line[left - 1]:
            left -= 1
        while right < line.size - 1 and line[right + 1]:
            right += 1
        return right - left + 1

    seq = rows if top else rows[::-1]  # from the outer end inwards
    widths = np.array([width(r) for r in seq])
    nz = widths[widths > 0]
    stem = float(np.percentile(nz, 25)) if nz.size else 1.0
    head = min(len(seq), 8)
    cap = [r for r, wd in zip(seq[:head], widths[:head]) if wd >= stem + 3]
    if cap:
        return (min(cap) + max(cap) + 1) / 2.0
    return float(seq[0]) if top else float(seq[0] + 1)


def find_error_bars(image, calibration: Calibration, color, at, *, tolerance: float = DEFAULT_TOLERANCE,
                    max_gap: float | None = None, region=None, source=None) -> ErrorBarsResult:
    """The ends of vertical error bars drawn at given means.

    Parameters
    ----------
    image : str, path, bytes or array
        The figure.
    calibration : Calibration
    color : str or (r, g, b)
        The error bars' colour (often black: then give a ``region`` that
        leaves out the axes' frame).
    at : PointsResult, BarsResult or sequence of (px, py)
        Where the means are, in pixels: the markers found by
        :func:`find_points`, the bar ends found by :func:`find_bars`, or
        positions of your own.
    tolerance : float
        RGB distance that still counts as the colour.
    max_gap : float, optional
        Largest gap (pixels) between the mean and the start of its error bar,
        e.g. the marker's radius hiding the bar's inner part. Default: 3
        times the marker's radius for points, 3 pixels otherwise.
    region, source
        As for :func:`find_points`.

    Returns
    -------
    ErrorBarsResult
        ``mean``, ``lower`` and ``upper`` (``lower <= upper`` in data units).

    Notes
    -----
    In the pixel column through each mean the error-bar pixels above and
    below the mean are followed to their ends. An end with a cap (a short
    horizontal line) is the cap's centre line; without a cap it is the stem's
    outer edge.
    """
    img, rgb, tol, mask, name = _prepare(image, color, tolerance, region, source)
    if isinstance(at, PointsResult):
        pos = np.column_stack([at.px, at.py])
        default_gap = 3.0 * math.sqrt(at.marker_area / math.pi) + 2
    elif isinstance(at, BarsResult):
        pos = np.column_stack([at.x_px, at.end_px])
        default_gap = 3.0
    else:
        try:
            pos = np.asarray(at, dtype=float).reshape(-1, 2)
        except (TypeError, ValueError):
            raise InputError("at must be the result of find_points / find_bars or (px, py) pairs") from None
        default_gap = 3.0
    gap = float(max_gap) if max_gap is not None else default_gap
    h, w = mask.shape
    notes = []
    lo_px, hi_px = [], []
    for px, py in pos:
        col = int(min(max(math.floor(px), 0), w - 1))
        band = mask[:, max(0, col - 1):min(w, col + 2)].any(axis=1)
        rows = np.nonzero(band)[0]
        runs = _runs(rows, 1)
        up = down = None
        for run in runs:
            if run[0] <= py <= run[-1] + 1:  # runs through the mean
                up = down = run
                break
        if up is None:
            above = [r for r in runs if r[-1] + 1 <= py and py - (r[-1] + 1) <= gap]
            below = [r for r in runs if r[0] >= py and r[0] - py <= gap]
            up = above[-1] if above else None
            down = below[0] if below else None
        above = up[up < py] if up is not None else np.array([], dtype=int)
        below = down[down + 1 > py] if down is not None else np.array([], dtype=int)
        top = _cap_end(mask, above, col, True) if above.size else np.nan
        bot = _cap_end(mask, below, col, False) if below.size else np.nan
        for end, side in ((top, "above"), (bot, "below")):
            if np.isnan(end):
                notes.append(f"no error bar {side} the mean at pixel ({fmt_fixed(px, 1)}, {fmt_fixed(py, 1)})")
        hi_px.append(top)
        lo_px.append(bot)
    hi_px = np.asarray(hi_px, dtype=float)
    lo_px = np.asarray(lo_px, dtype=float)
    px, py = pos[:, 0], pos[:, 1]
    x, mean = calibration.to_data(px, py)
    _, v_top = calibration.to_data(px, hi_px)
    _, v_bot = calibration.to_data(px, lo_px)
    v_top, v_bot = np.atleast_1d(v_top), np.atleast_1d(v_bot)
    if calibration.matrix[1, 1] <= 0:  # y grows upwards in the figure (the usual case)
        upper, lower = v_top, v_bot
    else:
        upper, lower = v_bot, v_top
    if not calibration.x_calibrated:
        x = np.full(px.shape, np.nan)
    return ErrorBarsResult(np.atleast_1d(x), np.atleast_1d(mean), lower, upper, px, py, lo_px, hi_px,
                           calibration, _hex(rgb), tol, name, tuple(notes))


# ---------------------------------------------------------------------------
# curves
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class CurveResult(_ResultDisplay):
    """A line's y values at x values a step apart (where the line was found)."""

    _what: ClassVar[str] = "sample"

    x: np.ndarray
    y: np.ndarray
    px: np.ndarray
    py: np.ndarray
    calibration: Calibration
    color: str
    tolerance: float
    step: float
    source: str | None = None
    notes: tuple = ()

    def to_frame(self) -> pd.DataFrame:
        """``x, y`` per sample."""
        return pd.DataFrame({"x": self.x, "y": self.y})

    def to_dict(self) -> dict[str, Any]:
        return {
            "points": [{"x": _f(a), "y": _f(b)} for a, b in zip(self.x, self.y)],
            "calibration": self.calibration.to_dict(),
            "pixels": [{"x_px": _f(a), "y_px": _f(b)} for a, b in zip(self.px, self.py)],
            "step": _f(self.step),
            "color": self.color,
            "tolerance": self.tolerance,
            "notes": list(self.notes),
        }

    def summary(self, digits: int = 4) -> str:
        lines = [f"Curve of colour {self.color}: {len(self.x)} sample(s), step {fmt_plain(self.step)}",
                 f"{'x':>14} {'y':>14}"]
        lines += [f"{fmt_sig(a, digits):>14} {fmt_sig(b, digits):>14}" for a, b in zip(self.x, self.y)]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _column_centre(mask, col: int, prev: float | None) -> float | None:
    """Centre row of the run of matching pixels in one column (nearest to
    ``prev`` when there are several; the longest run otherwise)."""
    if col < 0 or col >= mask.shape[1]:
        return None
    rows = np.nonzero(mask[:, col])[0]
    if rows.size == 0:
        return None
    runs = _runs(rows, 2)
    centres = [(r[0] + r[-1] + 1) / 2.0 for r in runs]
    if prev is None:
        return centres[int(np.argmax([r.size for r in runs]))]
    return centres[int(np.argmin([abs(c - prev) for c in centres]))]


def trace_curve(image, calibration: Calibration, color, *, step: float | None = None, start: float | None = None,
                stop: float | None = None, tolerance: float = DEFAULT_TOLERANCE, region=None,
                source=None) -> CurveResult:
    """A line plot's y values at x values ``step`` apart.

    Parameters
    ----------
    image : str, path, bytes or array
        The figure.
    calibration : Calibration
        With both axes calibrated.
    color : str or (r, g, b)
        The line's colour.
    step : float, optional
        Distance between sampled x values, in x units (in decades on a log x
        axis, e.g. 0.1). Default: one fiftieth of the line's x extent.
    start, stop : float, optional
        First and last x to sample; default the line's own extent.
    tolerance, region, source
        As for :func:`find_points`.

    Returns
    -------
    CurveResult
        Samples where the line was found; missing x values are listed in
        ``notes``.

    Notes
    -----
    At each x the line's centre is taken in the two pixel columns around
    it (the middle of the run of matching pixels, following the line from
    the previous sample where a column crosses it more than once) and
    interpolated linearly. The x axis should be horizontal in the image: for
    a rotated scan the error grows with the rotation angle times the slope.
    """
    img, rgb, tol, mask, name = _prepare(image, color, tolerance, region, source)
    if not calibration.x_calibrated:
        raise InputError("tracing a curve needs the x axis calibrated", column="x_axis")
    cols = np.nonzero(mask.any(axis=0))[0]
    rows_mid = float(np.nonzero(mask.any(axis=1))[0].mean())
    ux, _ = calibration.to_data(np.array([cols[0] + 0.5, cols[-1] + 0.5]), np.array([rows_mid, rows_mid]))
    scale = (lambda v: np.log10(v)) if calibration.x_log else (lambda v: v)
    unscale = (lambda u: np.power(10.0, u)) if calibration.x_log else (lambda u: u)
    u_lo, u_hi = sorted(scale(np.asarray(ux, dtype=float)))
    if start is not None:
        if calibration.x_log and not start > 0:
            raise InputError("start must be positive on a log x axis", column="start", value=start)
        u_lo = float(scale(float(start)))
    if stop is not None:
        if calibration.x_log and not stop > 0:
            raise InputError("stop must be positive on a log x axis", column="stop", value=stop)
        u_hi = float(scale(float(stop)))
    if step is None:
        step = (u_hi - u_lo) / 50.0 if u_hi > u_lo else 1.0
    step = float(step)
    if not (step > 0 and math.isfinite(step)):
        raise InputError("step must be a positive number", column="step", value=step)
    if (u_hi - u_lo) / step > 100_000:
        raise InputError("step is too small: more than 100000 samples", column="step", value=step)
    us = u_lo + step * np.arange(int(math.floor((u_hi - u_lo) / step + 1e-9)) + 1)
    xs_req = unscale(us)
    out_x, out_y, out_px, out_py, missing = [], [], [], [], []
    prev = None
    for xv in xs_req:
        px, _ = calibration.to_pixel(xv, calibration.to_data(0.0, rows_mid)[1])
        t = px - 0.5
        c0 = int(math.floor(t))
        frac = t - c0
        y0 = _column_centre(mask, c0, prev)
        y1 = _column_centre(mask, c0 + 1, prev if y0 is None else y0)
        if y0 is not None and y1 is not None:
            pyv = (1 - frac) * y0 + frac * y1
        elif y0 is not None and frac <= 0.5:
            pyv = y0
        elif y1 is not None and frac >= 0.5:
            pyv = y1
        else:
            missing.append(float(xv))
            continue
        prev = pyv
        _, yv = calibration.to_data(px, pyv)
        out_x.append(float(xv))
        out_y.append(float(yv))
        out_px.append(float(px))
        out_py.append(float(pyv))
    notes = []
    if missing:
        shown = ", ".join(fmt_sig(v) for v in missing[:10]) + (" …" if len(missing) > 10 else "")
        notes.append(f"{len(missing)} of {len(xs_req)} x value(s) have no pixel of the line: {shown}")
    if not out_x:
        raise InputError(f"the line of colour {_hex(rgb)} was not found at any sampled x", file=name)
    return CurveResult(np.array(out_x), np.array(out_y), np.array(out_px), np.array(out_py), calibration,
                       _hex(rgb), tol, step, name, tuple(notes))


# ---------------------------------------------------------------------------
# to the meta-analysis input
# ---------------------------------------------------------------------------
_BAR_KINDS = ("se", "sd", "ci")


def _arm_sd(mean, lower, upper, n, bars, confidence_level, distribution, arm):
    from ..meta.convert import sd_from_ci, sd_from_se

    mean = np.asarray(mean, dtype=float)
    up = np.asarray(upper, dtype=float)
    lo = None if lower is None else np.asarray(lower, dtype=float)
    if lo is not None:
        bad = ~(lo <= mean) | ~(mean <= up)
        if np.any(bad):
            raise InputError(f"arm {arm}: the mean must lie between the lower and upper error-bar ends",
                             column=f"m{arm}", value=float(np.asarray(mean).ravel()[int(np.argmax(bad.ravel()))]))
        half = (up - lo) / 2.0
    else:
        half = up - mean
    if np.any(~(half > 0)):
        raise InputError(f"arm {arm}: the error bar must have a positive length (upper above lower)",
                         column=f"upper{arm}", value=upper)
    if bars == "se":
        return sd_from_se(half, n)
    if bars == "sd":
        return half
    low_ci = mean - half if lo is None else lo
    high_ci = mean + half if lo is None else up
    return sd_from_ci(low_ci, high_ci, n, confidence_level=confidence_level, distribution=distribution)


def meta_row(study, *, m1, upper1, n1, m2, upper2, n2, lower1=None, lower2=None, bars: str = "se",
             confidence_level: float = 0.95, distribution: str = "normal") -> pd.DataFrame:
    r"""Digitised means and error bars of two arms as a meta-analysis input row.

    Parameters
    ----------
    study : str or sequence of str
        Study label(s).
    m1, m2 : float or array_like
        Means of arm 1 (treatment) and arm 2 (control), e.g. from
        :class:`ErrorBarsResult` ``.mean``.
    upper1, upper2 : float or array_like
        Upper ends of the error bars.
    lower1, lower2 : float or array_like, optional
        Lower ends. Leave out when only the upper half of the bar is drawn
        (common on bar charts): the half-width is then ``upper - mean``.
    n1, n2 : int or array_like
        Patients per arm (at least 2).
    bars : {"se", "sd", "ci"}
        What the error bars show: standard errors (default), standard
        deviations, or confidence intervals of the mean.
    confidence_level : float
        Level of ``"ci"`` bars (0.95).
    distribution : {"normal", "t"}
        How ``"ci"`` bars were computed: ``"normal"`` (the Handbook's 3.92
        for 95%) or ``"t"`` with n - 1 df (small trials).

    Returns
    -------
    pandas.DataFrame
        Columns ``study, m1, sd1, n1, m2, sd2, n2`` (the continuous input of
        ``hepatostat meta``), one row per study.

    Raises
    ------
    hepatostat.errors.InputError
        If a mean is not between its bar's ends, a bar has no length, ``n``
        is below 2, or ``bars`` is unknown.

    Notes
    -----
    With the half-width ``h = (upper - lower) / 2`` of a symmetric bar:

    * SE bars: :math:`\mathrm{SD} = h\sqrt{n}` (SD = SE·√n);
    * SD bars: :math:`\mathrm{SD} = h`;
    * 95% CI bars: :math:`\mathrm{SD} = \sqrt{n}\,(\mathrm{upper} - \mathrm{lower}) / 3.92`,
      3.92 being :math:`2 \times 1.959964`; with ``distribution="t"`` the
      t quantile with n - 1 df replaces 1.959964.

    (Cochrane Handbook v6.4, section 6.5.2.2 [1]_; the conversions are
    :func:`hepatostat.meta.convert.sd_from_se` and
    :func:`hepatostat.meta.convert.sd_from_ci`.)

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing
       effect measures and computing estimates of effect. Cochrane Handbook
       for Systematic Reviews of Interventions, version 6.4, section 6.5.2.2.
    """
    bars = str(bars).lower()
    if bars not in _BAR_KINDS:
        raise InputError(f"bars must be one of {', '.join(_BAR_KINDS)} (what the error bars show)",
                         column="bars", value=bars)
    sd1 = _arm_sd(m1, lower1, upper1, n1, bars, confidence_level, distribution, 1)
    sd2 = _arm_sd(m2, lower2, upper2, n2, bars, confidence_level, distribution, 2)
    cols = np.broadcast_arrays(np.atleast_1d(np.asarray(study, dtype=object)), np.atleast_1d(m1),
                               np.atleast_1d(sd1), np.atleast_1d(n1), np.atleast_1d(m2), np.atleast_1d(sd2),
                               np.atleast_1d(n2))
    frame = pd.DataFrame(dict(zip(("study", "m1", "sd1", "n1", "m2", "sd2", "n2"), cols)))
    for c in ("m1", "sd1", "m2", "sd2"):
        frame[c] = frame[c].astype(float)
    for c in ("n1", "n2"):
        frame[c] = frame[c].astype(float).round().astype(int)
    frame["study"] = frame["study"].astype(str)
    return frame
