"""Numbers back from published figures (the step the review did with Engauge Digitizer).

Calibrate the axes from known pixels, then read a series of one colour off
the image: scatter markers, bars, error bars or a curve. The results are
frozen objects with ``to_frame()``, ``to_dict()`` and ``summary()``;
:func:`meta_row` turns two digitised arms into the meta-analysis input row
``study,m1,sd1,n1,m2,sd2,n2``. ``hepatostat serve`` opens the same steps in
a local web page (:func:`make_server`).

Pixel coordinates are measured from the image's left and top edges.

Examples
--------
>>> from hepatostat import digitize as dz
>>> cal = dz.calibrate_axes(((80, 0), (560, 10)), ((400, 0), (40, 100)))  # doctest: +SKIP
>>> pts = dz.find_points("figure2.png", cal, "#1f77b4")                  # doctest: +SKIP
>>> pts.to_frame()                                                        # doctest: +SKIP
"""

from .calibrate import (
    Calibration,
    calibrate_affine,
    calibrate_axes,
    parse_axis,
    parse_color,
    parse_reference,
)
from .extract import (
    DEFAULT_TOLERANCE,
    BarsResult,
    CurveResult,
    ErrorBarsResult,
    PointsResult,
    color_mask,
    find_bars,
    find_error_bars,
    find_points,
    meta_row,
    nearest_color,
    read_image,
    trace_curve,
)
from .server import make_server, serve

__all__ = [
    "Calibration",
    "calibrate_axes",
    "calibrate_affine",
    "parse_axis",
    "parse_reference",
    "parse_color",
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
    "make_server",
    "serve",
]
