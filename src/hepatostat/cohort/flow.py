"""Participant flow diagram in the style of CONSORT 2010 / STROBE.

A vertical trunk of boxes with the number of persons still in after each
stage (screened -> with an infusion record -> meeting the inclusion criteria
-> eligible -> included), a box to the right of each stage listing who was
excluded there and why with counts, and one box per comparison group at the
bottom.

References
----------
Schulz KF, Altman DG, Moher D, for the CONSORT Group (2010). CONSORT 2010
Statement. BMJ 340:c332. doi:10.1136/bmj.c332 (Figure: flow diagram).

von Elm E, Altman DG, Egger M, et al. (2007). The Strengthening the Reporting
of Observational Studies in Epidemiology (STROBE) statement. Lancet
370:1453-1457. doi:10.1016/S0140-6736(07)61602-X (item 13c: flow diagram).
"""

from __future__ import annotations

import textwrap

from ..meta.plots import save_figure

__all__ = ["flow_diagram"]

_MAIN = {
    "screened": "Persons in the data source",
    "data": "With an infusion record",
    "inclusion": "Meeting the inclusion criteria",
    "exclusion": "Eligible",
    "grouping": "Assigned to a group",
    "baseline": "With a baseline value",
}
_SIDE = {
    "data": "No infusion record",
    "inclusion": "Not meeting the inclusion criteria",
    "exclusion": "Meeting an exclusion criterion",
    "grouping": "Fitting no group",
    "baseline": "No baseline value",
}
_FONT = 8.0
_LINE = 0.15  # inches per text line at _FONT (8 pt x 1.35 line spacing)
_PAD = 0.12


def _n(n) -> str:
    return f"n\u00a0=\u00a0{int(n)}"  # no line break inside "n = 12"


def _wrap(lines, width):
    out = []
    for ln in lines:
        wrapped = textwrap.wrap(ln, width, subsequent_indent="   ") or [""]
        out.extend(wrapped)
    return out


def flow_diagram(attrition, path=None, *, title=None):
    """Draw the flow diagram of an :class:`~hepatostat.cohort.Attrition`.

    Parameters
    ----------
    attrition : Attrition
    path : str or Path, optional
        ``.png``, ``.svg`` or ``.pdf``; without a suffix PNG and SVG are
        both written.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    from matplotlib.patches import Rectangle

    steps = attrition.steps
    stages = []
    for st in steps["stage"].iloc[1:]:
        if st not in stages:
            stages.append(st)
    width = 8.6
    main_x, main_w = 0.3, 3.4
    side_x, side_w = 4.25, 4.05
    main_chars, side_chars = 44, 58
    trunk = main_x + main_w / 2

    boxes = []  # (x, y, w, h, lines, align, bold_first)
    arrows = []  # ((x1, y1), (x2, y2))
    lines_ = []  # plain connector lines
    y = 0.25
    if title:
        y += 0.35

    def box_h(n_lines):
        return 2 * _PAD + n_lines * _LINE

    n0 = int(steps["n_before"].iloc[0])
    main_text = _wrap([f"{_MAIN['screened']} ({_n(n0)})"], main_chars)
    h = box_h(len(main_text))
    boxes.append((main_x, y, main_w, h, main_text, "center", False))
    y += h
    for k, st in enumerate(stages):
        sub = steps[steps["stage"] == st]
        n_ex = int(sub["n_excluded"].sum())
        side = [f"{_SIDE.get(st, st)} ({_n(n_ex)})"]
        if len(sub) > 1 or st in ("inclusion", "exclusion"):
            for r in sub.itertuples():
                side.append(f"• {r.label}: {_n(r.n_excluded)}")
        side = _wrap(side, side_chars)
        sh = box_h(len(side))
        gap = max(0.5, sh + 0.3)
        mid = y + gap / 2
        boxes.append((side_x, mid - sh / 2, side_w, sh, side, "left", True))
        arrows.append(((trunk, mid), (side_x, mid)))
        n_after = int(sub["n_after"].iloc[-1])
        last = k == len(stages) - 1
        label = f"Included in the analysis ({_n(n_after)})" if last else f"{_MAIN.get(st, st)} ({_n(n_after)})"
        text = _wrap([label], main_chars)
        h = box_h(len(text))
        arrows.append(((trunk, y), (trunk, y + gap)))
        boxes.append((main_x, y + gap, main_w, h, text, "center", last))
        y += gap + h
    groups = attrition.groups
    if len(groups) > 0 and not (len(groups) == 1 and groups["group"].iloc[0] == "all"):
        k = len(groups)
        margin, sep = 0.3, 0.15
        gw = (width - 2 * margin - (k - 1) * sep) / k
        chars = max(12, int(gw * 14))
        texts = [_wrap([f"Group {g.group}", str(g.label), _n(g.n)], chars) for g in groups.itertuples()]
        gh = max(box_h(len(t)) for t in texts)
        bus = y + 0.3
        top = bus + 0.3
        centers = [margin + i * (gw + sep) + gw / 2 for i in range(k)]
        lines_.append(((trunk, y), (trunk, bus)))
        lines_.append(((min(centers + [trunk]), bus), (max(centers + [trunk]), bus)))
        for i, (c, t) in enumerate(zip(centers, texts)):
            arrows.append(((c, bus), (c, top)))
            boxes.append((c - gw / 2, top, gw, gh, t, "center", False))
        y = top + gh
    height = y + 0.25

    fig = Figure(figsize=(width, height))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    for (x, yy, w, h, text, align, bold) in boxes:
        ax.add_patch(Rectangle((x, yy), w, h, facecolor="white", edgecolor="black", linewidth=0.9))
        if align == "center" or len(text) == 1:
            ax.text(x + w / 2 if align == "center" else x + _PAD, yy + h / 2, "\n".join(text),
                    ha=align, va="center", fontsize=_FONT,
                    fontweight="bold" if bold else "normal", linespacing=1.35)
        else:
            ax.text(x + _PAD, yy + _PAD, text[0], ha="left", va="top", fontsize=_FONT, fontweight="bold" if bold else "normal")
            if len(text) > 1:
                ax.text(x + _PAD, yy + _PAD + _LINE, "\n".join(text[1:]), ha="left", va="top", fontsize=_FONT, linespacing=1.35)
    for (p1, p2) in lines_:
        ax.plot([p1[0], p2[0]], [p1[1], p2[1]], color="black", linewidth=0.9)
    for (p1, p2) in arrows:
        ax.annotate("", xy=p2, xytext=p1,
                    arrowprops=dict(arrowstyle="-|>", color="black", linewidth=0.9, shrinkA=0, shrinkB=0, mutation_scale=9))
    if title:
        ax.text(width / 2, 0.3, title, ha="center", va="center", fontsize=10, fontweight="bold")
    if path is not None:
        save_figure(fig, path)
    return fig
