"""``hepatostat digitize …`` and ``hepatostat serve``: numbers back from figures.

The heavy imports (scipy.ndimage, the image reader) happen inside the
commands so that ``hepatostat --help`` stays fast.
"""

from __future__ import annotations

import click

from ..errors import InputError
from .common import emit, format_option


def _calibration(x_axis, y_axis, refs, x_log, y_log, *, need_x: bool):
    from .. import digitize as dz

    if refs:
        if x_axis or y_axis:
            raise click.UsageError("give either --x-axis/--y-axis or three --ref points, not both")
        if len(refs) != 3:
            raise click.UsageError(f"an affine calibration needs exactly three --ref points (got {len(refs)})")
        return dz.calibrate_affine([dz.parse_reference(r) for r in refs], x_log=x_log, y_log=y_log)
    if not y_axis:
        raise click.UsageError("missing --y-axis PY=V,PY=V (or three --ref PX,PY=X,Y points)")
    if need_x and not x_axis:
        raise click.UsageError("missing --x-axis PX=V,PX=V (or three --ref PX,PY=X,Y points)")
    xa = dz.parse_axis(x_axis, name="--x-axis") if x_axis else None
    ya = dz.parse_axis(y_axis, name="--y-axis")
    return dz.calibrate_axes(xa, ya, x_log=x_log, y_log=y_log)


def _region(spec):
    if spec is None:
        return None
    parts = spec.split(",")
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        vals = ()
    if len(vals) != 4:
        raise InputError("--region must be LEFT,TOP,RIGHT,BOTTOM in pixels, e.g. 80,40,600,420", value=spec)
    return vals


def _common(f):
    """Options every digitize command shares."""
    opts = [
        click.option("--y-axis", "y_axis", metavar="PY=V,PY=V",
                     help="Two pixel rows (from the top edge) and their y values, e.g. 400=0,40=100."),
        click.option("--y-log", is_flag=True, help="The y axis is logarithmic (base 10)."),
        click.option("--ref", "refs", multiple=True, metavar="PX,PY=X,Y",
                     help="Affine calibration for rotated scans: three points not on one line, "
                          "each a pixel position and its data values (give --ref three times)."),
        click.option("--color", "color", required=True, metavar="HEX",
                     help="The series colour, e.g. '#d62728' (marker or bar fill)."),
        click.option("--tolerance", type=click.FloatRange(0, 441), default=60.0, show_default=True,
                     help="Largest RGB distance that still counts as the colour (raise it for thin, "
                          "anti-aliased lines or JPEG scans)."),
        click.option("--region", metavar="L,T,R,B", default=None,
                     help="Look only inside this rectangle of pixels (e.g. the plot area, to leave out the legend)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


@click.group(name="digitize")
def digitize_group():
    """Read numbers off a published figure (what Engauge Digitizer did).

    Calibrate with two known pixels per axis (--x-axis, --y-axis; pixels
    from the image's left and top edges) or three reference points for a
    rotated scan (--ref ×3), then give the series colour. `hepatostat serve`
    does the same in a web page where you click instead.
    """


@digitize_group.command("points")
@click.argument("image", type=click.Path(dir_okay=False))
@click.option("--x-axis", "x_axis", metavar="PX=V,PX=V",
              help="Two pixel columns (from the left edge) and their x values, e.g. 80=0,560=10.")
@click.option("--x-log", is_flag=True, help="The x axis is logarithmic (base 10).")
@_common
@click.option("--marker-area", type=click.FloatRange(0, min_open=True), default=None,
              help="Pixels in one marker, to split touching markers (default: the median group).")
@click.option("--no-split", is_flag=True, help="Do not split groups of touching markers.")
@format_option
def points_cmd(image, x_axis, x_log, y_axis, y_log, refs, color, tolerance, region, marker_area, no_split, fmt):
    """Scatter-plot markers of one colour as (x, y) points, left to right.

    \b
    Example:
      hepatostat digitize points fig2.png --x-axis 80=0,560=10 --y-axis 400=0,40=100 \\
          --color '#d62728' --format json
      hepatostat digitize points fig3.png --x-axis 80=1,560=1000 --x-log \\
          --y-axis 400=0,40=50 --color '#1f77b4' --tolerance 80 --format csv
    """
    from .. import digitize as dz

    cal = _calibration(x_axis, y_axis, refs, x_log, y_log, need_x=True)
    res = dz.find_points(image, cal, color, tolerance=tolerance, marker_area=marker_area, split=not no_split,
                         region=_region(region), source=image)
    emit(fmt, obj=res.to_dict(), frame=res.to_frame(), text=res.summary())


@digitize_group.command("bars")
@click.argument("image", type=click.Path(dir_okay=False))
@click.option("--x-axis", "x_axis", metavar="PX=V,PX=V", default=None,
              help="Optional: two pixel columns and their x values (bars are reported by pixel column).")
@_common
@click.option("--baseline", type=float, default=None,
              help="The value bars start from (default 0, the zero line; needed on a log y axis).")
@click.option("--min-width", type=click.IntRange(1), default=3, show_default=True,
              help="Narrower groups of pixel columns are not bars.")
@format_option
def bars_cmd(image, x_axis, y_axis, y_log, refs, color, tolerance, region, baseline, min_width, fmt):
    """Bars of one colour as values, left to right (bars above and below zero).

    \b
    Example:
      hepatostat digitize bars fig4.png --y-axis 374=-20,110=30 --color '#2ca02c' --format json
    """
    from .. import digitize as dz

    cal = _calibration(x_axis, y_axis, refs, False, y_log, need_x=False)
    res = dz.find_bars(image, cal, color, tolerance=tolerance, baseline=baseline, min_width=min_width,
                       region=_region(region), source=image)
    emit(fmt, obj=res.to_dict(), frame=res.to_frame(), text=res.summary())


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this computer only).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--quiet", is_flag=True, help="Do not log requests.")
def serve_cmd(host, port, quiet):
    """Open the graph digitiser as a local web page.

    Load an image, click two points on each axis and type their values, click
    the series colour, extract, then move, add or delete points and download
    the CSV. Stop with Ctrl+C.

    \b
    Example:
      hepatostat serve
      hepatostat serve --port 9000      # then open http://127.0.0.1:9000/
    """
    from ..digitize.server import serve

    serve(host, port, quiet=quiet, echo=lambda m: click.echo(m, err=True))
