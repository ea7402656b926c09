"""Shared figure helpers: sizes that fit a page, the SYNTHETIC mark, saving.

Figures are drawn on :class:`matplotlib.figure.Figure` objects (never
``matplotlib.use()``). Sizes are in inches of the printed page: a figure
made :data:`PAGE_WIDTH` wide is printed at 100 % in the Word report, so its
9-point labels stay 9-point labels.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

__all__ = ["PAGE_WIDTH", "PAGE_HEIGHT", "SYNTHETIC_MARK", "new_figure", "mark_synthetic", "is_marked",
           "png_bytes", "save_figure", "clean_figure_text", "FORMATS"]

#: printable width and height of an A4 portrait page with 1-inch margins, inches
PAGE_WIDTH, PAGE_HEIGHT = 6.27, 9.69
SYNTHETIC_MARK = "SYNTHETIC DATA"
FORMATS = ("png", "svg", "pdf")


def new_figure(width: float = PAGE_WIDTH, height: float = 3.2, *, nrows: int = 1, ncols: int = 1, **kw):
    """A ``Figure`` (not registered with pyplot) and its axes, at page width by default."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def mark_synthetic(fig, text: str = SYNTHETIC_MARK):
    """Write ``SYNTHETIC DATA`` into the image, once: above the top right corner, dark red.

    The mark sits just outside the drawing area, so it never covers a panel
    title or data; saving with ``bbox_inches="tight"`` (as :func:`png_bytes`
    and :func:`save_figure` do) grows the image to include it.
    """
    if is_marked(fig):
        return fig
    fig.text(0.995, 1.003, text, ha="right", va="bottom", fontsize=8, fontweight="bold", color="#a40000",
             gid="hepatostat-synthetic-mark")
    return fig


def is_marked(fig) -> bool:
    """True when the figure carries the SYNTHETIC mark."""
    return any(getattr(t, "get_gid", lambda: None)() == "hepatostat-synthetic-mark" for t in fig.texts)


#: control characters no font draws (tab and line feed are layout, kept)
_UNDRAWABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_figure_text(fig) -> int:
    """Replace control characters in every text of ``fig`` by U+FFFD; return how many texts changed.

    Labels come from users' files (study names, group labels), which may
    carry characters such as BEL or a vertical tab. Matplotlib cannot draw
    them and warns "Glyph ... missing"; the replacement character shows the
    reader that something was there, as the Word and Excel writers do.
    """
    from matplotlib.text import Text
    from matplotlib.ticker import FixedFormatter, FixedLocator

    changed = 0
    for t in fig.findobj(Text):
        s = t.get_text()
        if isinstance(s, str) and _UNDRAWABLE.search(s):
            t.set_text(_UNDRAWABLE.sub("\ufffd", s))
            changed += 1
    # tick labels given as text (set_yticks(..., labels)) are made again from the axis' formatter when drawn
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for major in (True, False):
                loc = axis.get_major_locator() if major else axis.get_minor_locator()
                if not isinstance(loc, FixedLocator):
                    continue
                fmt = axis.get_major_formatter() if major else axis.get_minor_formatter()
                labels = [str(x) for x in fmt.format_ticks(list(loc.locs))]
                if any(_UNDRAWABLE.search(x) for x in labels):
                    fixed = FixedFormatter([_UNDRAWABLE.sub("\ufffd", x) for x in labels])
                    (axis.set_major_formatter if major else axis.set_minor_formatter)(fixed)
                    changed += 1
    return changed


def png_bytes(fig, dpi: int = 200) -> bytes:
    """The figure as PNG bytes."""
    clean_figure_text(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.04)
    return buf.getvalue()


def save_figure(fig, stem, formats=("png", "svg"), *, dpi: int = 200) -> list[str]:
    """Save ``fig`` as ``stem.png``, ``stem.svg`` (and ``.pdf``); returns the paths."""
    stem = Path(stem)
    clean_figure_text(fig)
    out = []
    for f in formats:
        if f not in FORMATS:
            from ..errors import InputError

            raise InputError(f"unknown figure format {f!r}; allowed: {', '.join(FORMATS)}")
        p = stem.with_suffix("." + f)
        fig.savefig(p, format=f, dpi=dpi, bbox_inches="tight", pad_inches=0.04)
        out.append(str(p))
    return out
