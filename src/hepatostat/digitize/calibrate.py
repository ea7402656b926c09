"""Axis calibration: from image pixels to data values and back.

A calibration maps a pixel position ``(px, py)`` to a data point ``(x, y)``.
Pixel coordinates are measured from the image's left and top edges: pixel
column ``i`` covers ``[i, i + 1)`` and its centre is at ``i + 0.5``; ``py``
grows downwards, as in every image viewer (and as Engauge Digitizer shows).

Two kinds of calibration:

* **axes** (:func:`calibrate_axes`): two known points on each axis, e.g. two
  tick marks. ``x`` depends on ``px`` only and ``y`` on ``py`` only: the
  usual case of a figure exported from software or a straight scan.
* **affine** (:func:`calibrate_affine`): three known points ``(px, py) ->
  (x, y)`` not on one line, e.g. the origin and one tick on each axis. This
  also handles a scan that is rotated, sheared or scaled differently in each
  direction.

Either axis may be logarithmic (base 10): the map is linear in
``log10(value)``. Everything else is plain linear algebra: the calibration
is the 2 x 3 matrix ``M`` with ``[u, v] = M @ [px, py, 1]``, where ``u`` is
``x`` or ``log10(x)`` and ``v`` is ``y`` or ``log10(y)``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .._util import finite_or_none as _f
from ..errors import InputError
from ..io.format import fmt_fixed, fmt_plain

__all__ = [
    "Calibration",
    "calibrate_axes",
    "calibrate_affine",
    "parse_axis",
    "parse_reference",
    "parse_color",
]

#: two calibration pixels closer than this (in pixels) are "the same point"
MIN_SEPARATION_PX = 1.0



def _number(text: str, what: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{what}: {text.strip()!r} is not a number", value=spec) from None
    if not math.isfinite(value):
        raise InputError(f"{what}: {text.strip()!r} is not a finite number", value=spec)
    return value


def parse_axis(spec: str, *, name: str = "axis") -> tuple[tuple[float, float], tuple[float, float]]:
    """Parse ``"PX=V,PX=V"`` (two pixel positions and their values).

    Parameters
    ----------
    spec : str
        For example ``"80=0,560=10"``: pixel 80 is the value 0 and pixel 560
        the value 10. For the x axis the pixels are columns from the left edge,
        for the y axis rows from the top edge.
    name : str
        The option's name, for error messages (``"--x-axis"``).

    Returns
    -------
    ((px1, v1), (px2, v2))

    Raises
    ------
    hepatostat.errors.InputError
        If ``spec`` is not two ``PIXEL=VALUE`` pairs of numbers.
    """
    parts = [p for p in str(spec).split(",")]
    if len(parts) != 2 or not all("=" in p for p in parts):
        raise InputError(f"{name} must be two PIXEL=VALUE pairs separated by a comma, e.g. 80=0,560=10",
                         value=spec)
    out = []
    for p in parts:
        px, v = p.split("=", 1)
        out.append((_number(px, f"{name} pixel", spec), _number(v, f"{name} value", spec)))
    return out[0], out[1]


def parse_reference(spec: str, *, name: str = "--ref") -> tuple[float, float, float, float]:
    """Parse one reference point ``"PX,PY=X,Y"`` of an affine calibration.

    Returns ``(px, py, x, y)``; raises :class:`InputError` when malformed.
    """
    m = re.fullmatch(r"\s*([^,=]+),([^,=]+)=([^,=]+),([^,=]+)\s*", str(spec))
    if not m:
        raise InputError(f"{name} must be PX,PY=X,Y (a pixel position and its data values), e.g. 80,400=0,0",
                         value=spec)
    px, py, x, y = (_number(g, name, spec) for g in m.groups())
    return px, py, x, y


def parse_color(spec) -> tuple[int, int, int]:
    """Parse a colour: ``"#d62728"``, ``"d62728"``, ``"#d62"`` or an RGB triple.

    Returns ``(r, g, b)`` as integers 0-255; raises :class:`InputError`
    otherwise.
    """
    if isinstance(spec, (tuple, list, np.ndarray)):
        vals = list(spec)
        if len(vals) == 3 and all(isinstance(v, (int, float, np.integer, np.floating)) for v in vals):
            if all(0 <= float(v) <= 255 for v in vals):
                return tuple(int(round(float(v))) for v in vals)  # type: ignore[return-value]
        raise InputError("a colour given as numbers must be three values 0-255 (red, green, blue)",
                         value=tuple(spec))
    text = str(spec).strip()
    hexpart = text[1:] if text.startswith("#") else text
    if re.fullmatch(r"[0-9a-fA-F]{3}", hexpart):
        hexpart = "".join(c * 2 for c in hexpart)
    if not re.fullmatch(r"[0-9a-fA-F]{6}", hexpart):
        raise InputError("a colour must be a hex code such as #d62728 (or #d62)", value=text)
    return tuple(int(hexpart[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def _scale(values: np.ndarray, log: bool) -> np.ndarray:
    return np.log10(values) if log else values


def _check_log(values, log: bool, axis: str) -> None:
    if not log:
        return
    for v in values:
        if not v > 0:
            raise InputError(f"a log {axis} axis needs positive calibration values; {v!r} is not positive "
                             f"(use a linear {axis} axis, or ticks above 0 such as 1, 10, 100)",
                             column=f"{axis}_axis", value=v)


@dataclass(frozen=True, eq=False, repr=False)
class Calibration:
    """A map from pixel positions to data values (and back).

    Make one with :func:`calibrate_axes` or :func:`calibrate_affine`.

    Attributes
    ----------
    kind : {"axes", "affine"}
    matrix : numpy.ndarray
        2 x 3: ``[u, v] = matrix @ [px, py, 1]``, with ``u = log10(x)`` on a
        log x axis (else ``x``), likewise ``v``.
    x_log, y_log : bool
        Logarithmic (base 10) axes.
    x_calibrated : bool
        False when only the y axis was calibrated (bar charts); then ``x`` is
        the pixel column itself.
    references : tuple
        The calibration as given: for ``"axes"`` the pairs
        ``(("x", px, value), …, ("y", py, value), …)``; for ``"affine"``
        ``((px, py, x, y), …)``.
    """

    kind: str
    matrix: np.ndarray
    x_log: bool = False
    y_log: bool = False
    x_calibrated: bool = True
    references: tuple = field(default=())

    # -- mapping ---------------------------------------------------------
    def to_data(self, px, py):
        """Data values ``(x, y)`` at pixel positions ``(px, py)`` (scalars or arrays)."""
        px = np.asarray(px, dtype=float)
        py = np.asarray(py, dtype=float)
        m = self.matrix
        u = m[0, 0] * px + m[0, 1] * py + m[0, 2]
        v = m[1, 0] * px + m[1, 1] * py + m[1, 2]
        x = np.power(10.0, u) if self.x_log else u
        y = np.power(10.0, v) if self.y_log else v
        if x.ndim == 0:
            return float(x), float(y)
        return x, y

    def to_pixel(self, x, y):
        """Pixel positions ``(px, py)`` of data values ``(x, y)``.

        Values that cannot be shown on a log axis (not positive) give NaN.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(x > 0, np.log10(np.where(x > 0, x, 1.0)), np.nan) if self.x_log else x
            v = np.where(y > 0, np.log10(np.where(y > 0, y, 1.0)), np.nan) if self.y_log else y
        a = self.matrix[:, :2]
        b = self.matrix[:, 2]
        inv = np.linalg.inv(a)
        du, dv = u - b[0], v - b[1]
        px = inv[0, 0] * du + inv[0, 1] * dv
        py = inv[1, 0] * du + inv[1, 1] * dv
        if px.ndim == 0:
            return float(px), float(py)
        return px, py

    @property
    def rotation_deg(self) -> float:
        """Angle (degrees) of the x axis in the image, counter-clockwise from
        horizontal: 0 for an upright figure."""
        inv = np.linalg.inv(self.matrix[:, :2])
        # direction of increasing u in pixel space is the first column of inv
        dx, dy = inv[0, 0], inv[1, 0]
        return float(math.degrees(math.atan2(-dy, dx))) if (dx or dy) else 0.0

    # -- output ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (the ``calibration`` key of the CLI's JSON)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "x_log": bool(self.x_log),
            "y_log": bool(self.y_log),
            "x_calibrated": bool(self.x_calibrated),
            "pixels_from": "left and top edges of the image",
            "matrix": [[_f(v) for v in row] for row in self.matrix],
        }
        if self.kind == "axes":
            out["x_axis"] = [{"px": _f(p), "value": _f(v)} for a, p, v in self.references if a == "x"] or None
            out["y_axis"] = [{"py": _f(p), "value": _f(v)} for a, p, v in self.references if a == "y"]
        else:
            out["references"] = [{"px": _f(px), "py": _f(py), "x": _f(x), "y": _f(y)}
                                 for px, py, x, y in self.references]
            out["rotation_deg"] = _f(self.rotation_deg)
        return out

    def summary(self) -> str:
        """One or two lines saying what the calibration is."""
        scale = lambda log: "log10" if log else "linear"  # noqa: E731
        if self.kind == "axes":
            xs = [f"px {fmt_plain(p)} = {fmt_plain(v)}" for a, p, v in self.references if a == "x"]
            ys = [f"py {fmt_plain(p)} = {fmt_plain(v)}" for a, p, v in self.references if a == "y"]
            x_line = (f"x axis ({scale(self.x_log)}): " + ", ".join(xs)) if xs else "x axis: not calibrated (pixels)"
            return x_line + f"; y axis ({scale(self.y_log)}): " + ", ".join(ys)
        refs = "; ".join(f"({fmt_plain(px)}, {fmt_plain(py)}) = ({fmt_plain(x)}, {fmt_plain(y)})" for px, py, x, y in self.references)
        return (f"affine calibration from 3 points (x {scale(self.x_log)}, y {scale(self.y_log)}; "
                f"x axis rotated {fmt_fixed(self.rotation_deg, 2)}°): {refs}")

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<Calibration {self.kind}: {self.summary()}>"

    @classmethod
    def from_dict(cls, obj: dict) -> "Calibration":
        """Rebuild a calibration from the calibration points of :meth:`to_dict`
        (or the web page's request: ``x_axis``/``y_axis`` as ``[[px, value],
        [px, value]]`` or ``references`` as ``[[px, py, x, y], ×3]``)."""
        if not isinstance(obj, dict):
            raise InputError("calibration must be an object")
        x_log = bool(obj.get("x_log", False))
        y_log = bool(obj.get("y_log", False))

        def pairs(key, pix):
            val = obj.get(key)
            if val is None:
                return None
            try:
                out = []
                for item in val:
                    if isinstance(item, dict):
                        out.append((float(item[pix]), float(item["value"])))
                    else:
                        out.append((float(item[0]), float(item[1])))
            except (TypeError, KeyError, ValueError, IndexError):
                raise InputError(f"calibration {key} must be two [pixel, value] pairs", value=val) from None
            if len(out) != 2:
                raise InputError(f"calibration {key} must be two [pixel, value] pairs", value=val)
            return out

        kind = obj.get("kind", "affine" if "references" in obj else "axes")
        if kind == "affine":
            refs = obj.get("references")
            try:
                pts = [(float(r["px"]), float(r["py"]), float(r["x"]), float(r["y"])) if isinstance(r, dict)
                       else tuple(float(v) for v in r) for r in refs]
            except (TypeError, KeyError, ValueError):
                raise InputError("calibration references must be three [px, py, x, y] points", value=refs) from None
            return calibrate_affine(pts, x_log=x_log, y_log=y_log)
        if kind != "axes":
            raise InputError("calibration kind must be 'axes' or 'affine'", value=kind)
        y_axis = pairs("y_axis", "py")
        if y_axis is None:
            raise InputError("calibration needs y_axis: two [pixel, value] pairs")
        return calibrate_axes(pairs("x_axis", "px"), y_axis, x_log=x_log, y_log=y_log)


def _axis_map(pair, log: bool, axis: str) -> tuple[float, float]:
    (p1, v1), (p2, v2) = pair
    p1, v1, p2, v2 = float(p1), float(v1), float(p2), float(v2)
    for val in (p1, v1, p2, v2):
        if not math.isfinite(val):
            raise InputError(f"{axis}-axis calibration values must be finite numbers", column=f"{axis}_axis", value=val)
    if abs(p2 - p1) < MIN_SEPARATION_PX:
        raise InputError(f"the two {axis}-axis calibration points coincide (pixel {fmt_plain(p1)} and {fmt_plain(p2)}); "
                         f"pick two points far apart on the {axis} axis", column=f"{axis}_axis", value=(p1, p2))
    _check_log((v1, v2), log, axis)
    u1, u2 = _scale(np.array([v1, v2]), log)
    if u1 == u2:
        raise InputError(f"the two {axis}-axis calibration points have the same value {fmt_plain(v1)}; "
                         "they must be two different values", column=f"{axis}_axis", value=(v1, v2))
    slope = (u2 - u1) / (p2 - p1)
    return float(slope), float(u1 - slope * p1)


def calibrate_axes(x_axis, y_axis, *, x_log: bool = False, y_log: bool = False) -> Calibration:
    """Calibrate from two known points on each axis.

    Parameters
    ----------
    x_axis : ((px1, x1), (px2, x2)) or None
        Two pixel columns (from the left edge) and the x values there, e.g.
        two tick marks. ``None`` for bar charts whose categories need no x
        values: then ``x`` is the pixel column.
    y_axis : ((py1, y1), (py2, y2))
        Two pixel rows (from the top edge) and the y values there.
    x_log, y_log : bool
        Logarithmic (base 10) axis: values must be positive.

    Returns
    -------
    Calibration

    Raises
    ------
    hepatostat.errors.InputError
        If the two points of an axis coincide (less than one pixel apart) or
        have the same value, or a log axis has a value that is not positive.

    Examples
    --------
    >>> cal = calibrate_axes(((80, 0), (560, 10)), ((400, 0), (40, 100)))
    >>> cal.to_data(320, 220)
    (5.0, 50.0)
    """
    if y_axis is None:
        raise InputError("the y axis needs two calibration points", column="y_axis")
    if x_axis is not None:
        ax, bx = _axis_map(x_axis, x_log, "x")
    else:
        if x_log:
            raise InputError("a log x axis needs x-axis calibration points", column="x_axis")
        ax, bx = 1.0, 0.0
    ay, by = _axis_map(y_axis, y_log, "y")
    refs = []
    if x_axis is not None:
        refs += [("x", float(p), float(v)) for p, v in x_axis]
    refs += [("y", float(p), float(v)) for p, v in y_axis]
    matrix = np.array([[ax, 0.0, bx], [0.0, ay, by]])
    return Calibration("axes", matrix, bool(x_log), bool(y_log), x_axis is not None, tuple(refs))


def calibrate_affine(points: Sequence, *, x_log: bool = False, y_log: bool = False) -> Calibration:
    """Calibrate from three known points, for rotated or skewed scans.

    Parameters
    ----------
    points : sequence of three ``(px, py, x, y)``
        Pixel positions (from the left and top edges) and their data values,
        e.g. the origin, a tick on the x axis and a tick on the y axis. The
        three pixels must not lie on one line, nor the three data points.
    x_log, y_log : bool
        Logarithmic (base 10) axes: the values on them must be positive.

    Returns
    -------
    Calibration

    Raises
    ------
    hepatostat.errors.InputError
        If there are not exactly three points, two of them coincide, they lie
        on one line (in pixels or in values), or a log axis has a value that
        is not positive.

    Notes
    -----
    Solves ``[u, v] = M [px, py, 1]`` exactly for the 2 x 3 matrix ``M``
    (three equations per coordinate), with ``u = log10(x)`` on a log axis.
    """
    pts = [tuple(float(v) for v in p) for p in points]
    if len(pts) != 3 or any(len(p) != 4 for p in pts):
        raise InputError("an affine calibration needs exactly three points (px, py, x, y)", value=len(pts))
    arr = np.array(pts)
    if not np.isfinite(arr).all():
        raise InputError("calibration points must be finite numbers", value=pts)
    for i in range(3):
        for j in range(i + 1, 3):
            if math.hypot(arr[i, 0] - arr[j, 0], arr[i, 1] - arr[j, 1]) < MIN_SEPARATION_PX:
                raise InputError(f"calibration points {i + 1} and {j + 1} coincide (pixel "
                                 f"({fmt_plain(arr[i, 0])}, {fmt_plain(arr[i, 1])})); pick three points far apart",
                                 value=(pts[i], pts[j]))
    _check_log(arr[:, 2], x_log, "x")
    _check_log(arr[:, 3], y_log, "y")
    P = np.column_stack([arr[:, 0], arr[:, 1], np.ones(3)])
    U = np.column_stack([_scale(arr[:, 2], x_log), _scale(arr[:, 3], y_log)])
    # area of the pixel triangle relative to its size: collinear when tiny
    span = max(np.ptp(arr[:, 0]), np.ptp(arr[:, 1]))
    if abs(np.linalg.det(P)) < 1e-6 * span * span:
        raise InputError("the three calibration pixels lie on one line; pick points that span both axes "
                         "(e.g. the origin, a tick on the x axis and a tick on the y axis)", value=pts)
    M = np.linalg.solve(P, U).T
    A = M[:, :2]
    scale = np.abs(A).max()
    if scale == 0 or abs(np.linalg.det(A)) < 1e-9 * scale * scale:
        raise InputError("the three calibration points' values lie on one line (or repeat), so they do not "
                         "fix both axes; give points with different x and different y values", value=pts)
    return Calibration("affine", M, bool(x_log), bool(y_log), True, tuple(pts))
