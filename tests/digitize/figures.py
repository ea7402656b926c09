"""Figures rendered with matplotlib from known data, and where their ticks are.

Every expected pixel comes from matplotlib's own transforms: after
``fig.canvas.draw()``, ``ax.transData`` maps data to display pixels (origin at
the bottom-left corner, in units of the figure's dpi); the digitiser measures
from the top-left corner, so ``py = height - y_display``. Figures are saved
with the same dpi and no tight bounding box, so saved pixels are display
pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 100
RED = "#d62728"
BLUE = "#1f77b4"
GREEN = "#2ca02c"
BLACK = "#000000"


@dataclass
class Rendered:
    path: str
    width: int
    height: int
    x_axis: tuple | None          # ((px, value), (px, value)) at two ticks
    y_axis: tuple                 # ((py, value), (py, value))
    x_log: bool = False
    y_log: bool = False
    truth: dict = field(default_factory=dict)
    span: tuple = (1.0, 1.0)      # axis spans (x, y), in log10 units on log axes
    pixels: dict = field(default_factory=dict)


def _pixels(fig, ax, x, y):
    fig.canvas.draw()
    disp = ax.transData.transform(np.column_stack([np.ravel(x), np.ravel(y)]))
    h = fig.bbox.height
    return disp[:, 0], h - disp[:, 1]


def _axis_refs(fig, ax, xt, yt):
    """Pixel positions of two x ticks and two y ticks (data values xt, yt)."""
    ylo = ax.get_ylim()[0]
    xlo = ax.get_xlim()[0]
    x_axis = None
    if xt is not None:
        pxs, _ = _pixels(fig, ax, xt, [ylo, ylo])
        x_axis = ((float(pxs[0]), xt[0]), (float(pxs[1]), xt[1]))
    _, pys = _pixels(fig, ax, [xlo, xlo], yt)
    return x_axis, ((float(pys[0]), yt[0]), (float(pys[1]), yt[1]))


def _span(lim, log):
    lo, hi = lim
    return float(np.log10(hi) - np.log10(lo)) if log else float(hi - lo)


def _save(fig, path):
    fig.savefig(path, dpi=DPI)
    w, h = fig.canvas.get_width_height()
    return int(w), int(h)


def scatter(path, *, log=False):
    """Scatter of 24 known points (one touching pair); linear or log-log axes."""
    rng = np.random.default_rng(20240607)
    fig = Figure(figsize=(6.4, 4.8), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    if log:
        x = 10 ** rng.uniform(0.1, 2.9, 22)
        y = 10 ** rng.uniform(0.1, 2.9, 22)
        x = np.r_[x, 30.0, 33.0]   # a touching pair
        y = np.r_[y, 300.0, 300.0]
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(1, 1000)
        ax.set_ylim(1, 1000)
        xt, yt = (1.0, 1000.0), (1.0, 1000.0)
    else:
        x = rng.uniform(0.5, 9.5, 22)
        y = rng.uniform(5, 95, 22)
        x = np.r_[x, 5.0, 5.12]     # a touching pair
        y = np.r_[y, 50.0, 50.0]
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 100)
        xt, yt = (0.0, 10.0), (0.0, 100.0)
    # keep the random points apart from each other and from the pair
    keep = np.ones(x.size, bool)
    for i in range(x.size - 2):
        for j in list(range(i)) + [x.size - 2, x.size - 1]:
            if keep[j] and j != i:
                dx = (np.log10(x[i] / x[j]) / 3 if log else (x[i] - x[j]) / 10)
                dy = (np.log10(y[i] / y[j]) / 3 if log else (y[i] - y[j]) / 100)
                if np.hypot(dx, dy) < 0.04:
                    keep[i] = False
                    break
    x, y = x[keep], y[keep]
    ax.scatter(x, y, s=36, c=RED, linewidths=0)
    ax.set_xlabel("dose")
    ax.set_ylabel("response")
    ax.set_title("Known points")
    x_axis, y_axis = _axis_refs(fig, ax, xt, yt)
    px, py = _pixels(fig, ax, x, y)
    span = (_span(ax.get_xlim(), log), _span(ax.get_ylim(), log))
    w, h = _save(fig, path)
    return Rendered(str(path), w, h, x_axis, y_axis, log, log, {"x": x, "y": y}, span, {"px": px, "py": py})


def bars(path):
    """Bar chart with positive and negative bars and black SE bars with caps."""
    values = np.array([12.0, -7.5, 25.0, 3.2, -18.0, 8.0])
    err = np.array([3.0, 2.0, 4.5, 1.5, 3.5, 2.5])
    xs = np.arange(values.size)
    fig = Figure(figsize=(6.4, 4.8), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.bar(xs, values, width=0.6, color=GREEN)
    ax.errorbar(xs, values, yerr=err, fmt="none", ecolor=BLACK, elinewidth=1.5, capsize=5)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_ylim(-30, 40)
    ax.set_xlim(-0.7, values.size - 0.3)
    ax.set_xticks(xs, [f"T{i + 1}" for i in xs])
    _, y_axis = _axis_refs(fig, ax, None, (-20.0, 30.0))
    px, py = _pixels(fig, ax, xs, values)
    _, ptop = _pixels(fig, ax, xs, values + err)
    _, pbot = _pixels(fig, ax, xs, values - err)
    plot_area = ax.get_window_extent()
    h = fig.bbox.height
    region = (plot_area.x0 + 2, h - plot_area.y1 + 2, plot_area.x1 - 2, h - plot_area.y0 - 2)
    w, hh = _save(fig, path)
    return Rendered(str(path), w, hh, None, y_axis, truth={"value": values, "err": err}, span=(1.0, 70.0),
                    pixels={"px": px, "py": py, "top": ptop, "bottom": pbot, "region": region})


def errorbar_points(path):
    """Two arms' means with SE bars (markers over the bars), as in a trial's figure."""
    t = np.array([0.0, 1.0, 3.0, 6.0])
    m1 = np.array([22.0, 18.5, 15.0, 13.0])
    se1 = np.array([1.6, 1.4, 1.8, 1.2])
    m2 = np.array([21.5, 21.0, 20.0, 19.5])
    se2 = np.array([1.5, 1.7, 1.3, 1.6])
    fig = Figure(figsize=(6.4, 4.8), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.errorbar(t - 0.08, m1, yerr=se1, fmt="o", color=RED, ecolor=BLACK, elinewidth=1.2, capsize=4, ms=7)
    ax.errorbar(t + 0.08, m2, yerr=se2, fmt="s", color=BLUE, ecolor=BLACK, elinewidth=1.2, capsize=4, ms=7)
    ax.set_xlim(-1, 7)
    ax.set_ylim(5, 30)
    x_axis, y_axis = _axis_refs(fig, ax, (0.0, 6.0), (10.0, 25.0))
    plot_area = ax.get_window_extent()
    h = fig.bbox.height
    region = (plot_area.x0 + 2, h - plot_area.y1 + 2, plot_area.x1 - 2, h - plot_area.y0 - 2)
    w, hh = _save(fig, path)
    return Rendered(str(path), w, hh, x_axis, y_axis, truth={"t": t, "m1": m1, "se1": se1, "m2": m2, "se2": se2},
                    span=(8.0, 25.0), pixels={"region": region})


def line(path):
    """A smooth curve (MELD over days) drawn as a 2-point-wide line."""
    fig = Figure(figsize=(6.4, 4.8), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    xx = np.linspace(0, 180, 400)
    ax.plot(xx, curve_truth(xx), color=BLUE, lw=2)
    ax.set_xlim(-10, 190)
    ax.set_ylim(0, 30)
    x_axis, y_axis = _axis_refs(fig, ax, (0.0, 180.0), (0.0, 30.0))
    w, h = _save(fig, path)
    return Rendered(str(path), w, h, x_axis, y_axis, span=(200.0, 30.0))


def curve_truth(x):
    x = np.asarray(x, dtype=float)
    return 12 + 8 * np.exp(-x / 60) * np.cos(x / 25) + 0.03 * x


def rotate(rendered: Rendered, path, degrees: float) -> tuple[str, list]:
    """The rendered scatter rotated (a crooked scan), and three reference
    points ``(px, py, x, y)`` on the rotated image (origin and one tick per axis)."""
    from PIL import Image

    im = Image.open(rendered.path).convert("RGB")
    w, h = im.size
    rot = im.rotate(degrees, resample=Image.NEAREST, expand=False, fillcolor=(255, 255, 255),
                    center=(w / 2, h / 2))
    rot.save(path)
    (px0, x0), (px1, x1) = rendered.x_axis
    (py0, y0), (py1, y1) = rendered.y_axis
    refs = [(px0, py0, x0, y0), (px1, py0, x1, y0), (px0, py1, x0, y1)]
    th = np.deg2rad(degrees)
    cx, cy = w / 2, h / 2

    def turn(px, py):
        # PIL rotates counter-clockwise as seen on screen (y down)
        dx, dy = px - cx, py - cy
        return cx + dx * np.cos(th) + dy * np.sin(th), cy - dx * np.sin(th) + dy * np.cos(th)

    out = [(*turn(px, py), x, y) for px, py, x, y in refs]
    return str(path), out, turn
