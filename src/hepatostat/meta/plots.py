"""Publication figures for meta-analysis.

``forest()`` draws a forest plot a reviewer can paste into a paper: one row
per study with its arm data, weight, effect and confidence interval (square
sized by weight), the pooled diamond, the prediction interval for random
effects, and a heterogeneity line. Ratio measures are drawn on a log axis and
labelled in exponentiated units, as RevMan does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import _dist

__all__ = ["forest", "forest_blocks", "save_figure"]

_LABELS = {
    "SMD": "Standardised mean difference (Hedges' g)",
    "MD": "Mean difference",
    "OR": "Odds ratio",
    "RR": "Risk ratio",
    "RD": "Risk difference",
    "PETO": "Odds ratio (Peto)",
    "GEN": "Effect size",
}


class _Figures:
    """Figures drawn on ``matplotlib.figure.Figure`` objects: no pyplot state, no ``matplotlib.use()``."""

    @staticmethod
    def figure(figsize):
        from matplotlib.figure import Figure

        return Figure(figsize=figsize)

    @classmethod
    def subplots(cls, figsize):
        fig = cls.figure(figsize)
        return fig, fig.add_subplot()


def _figures():
    return _Figures


#: figure formats the plotting functions write
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def check_figure_path(path) -> Path:
    """The path of a figure to write, checked: .png, .svg, .pdf, or no suffix (PNG and SVG).

    Raises :class:`~hepatostat.errors.InputError` for any other suffix
    (e.g. ``x.exe``), before any work is done.
    """
    from ..errors import InputError

    path = Path(path)
    if path.suffix and path.suffix.lower() not in FIGURE_SUFFIXES:
        raise InputError(f"cannot write a figure as '{path.suffix}'; allowed: {', '.join(FIGURE_SUFFIXES)} "
                         "(or no suffix for PNG and SVG)", file=str(path), value=path.suffix)
    return path


def save_figure(fig, path) -> list[str]:
    """Save ``fig`` to ``path``; with no suffix, write both .png and .svg.

    Returns the written paths.
    """
    path = check_figure_path(path)
    paths = [path] if path.suffix else [path.with_suffix(".png"), path.with_suffix(".svg")]
    written = []
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p, dpi=200 if p.suffix == ".png" else None, bbox_inches="tight")
        written.append(str(p))
    return written


def _log_axis(ax):
    """Log x axis labelled in plain numbers (0.2, 0.5, 1, 2, 5)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs=()))
    from ..io.format import fmt_plain

    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fmt_plain(x)))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _fmt(x, digits):
    """An effect or a confidence limit with ``digits`` decimals (``NA`` when not finite)."""
    from ..io.format import fmt_fixed

    return "NA" if not np.isfinite(x) else fmt_fixed(x, digits)


def _est_ci(est, lo, hi, digits):
    """``1.23 (0.45 to 2.34)``: an effect and its interval as the tables and sentences show them."""
    return f"{_fmt(est, digits)} ({_ci(lo, hi, digits)})" if np.isfinite(est) else "NA"


def _ci(lo, hi, digits):
    from ..io.format import DEFAULT

    return f"{_fmt(lo, digits)}{DEFAULT.ci_sep}{_fmt(hi, digits)}"


def _arm_text(es, idx=None):
    """Column headers and per-study text for the arm-level data, if any."""
    if es is None:
        return [], []
    d = es.data if idx is None else es.data.iloc[idx]
    if es.kind == "binary":
        heads = ["Treatment\nevents/total", "Control\nevents/total"]
        from ..io.format import fmt

        cols = [[f"{fmt(e, 'int')}/{fmt(n, 'int')}" for e, n in zip(d["e1"], d["n1"])],
                [f"{fmt(e, 'int')}/{fmt(n, 'int')}" for e, n in zip(d["e2"], d["n2"])]]
        return heads, cols
    if es.kind == "continuous":
        from ..io.format import DEFAULT, fmt

        def one(m, s, n, s_other):
            # one decimal as the journal style has it, more when the SDs are small (INR 1.32 (0.18))
            small = min(abs(float(s)), abs(float(s_other)))
            d = 1 if small >= 1 or not np.isfinite(small) else (2 if small >= 0.1 else 3)
            st = DEFAULT.with_(decimals={"mean": max(d, DEFAULT.digits("mean")), "sd": max(d, DEFAULT.digits("sd"))})
            return f"{fmt(m, 'mean', st)} ({fmt(s, 'sd', st)}), {fmt(n, 'int')}"

        heads = ["Treatment\nmean (SD), n", "Control\nmean (SD), n"]
        cols = [[one(m, s, n, o) for m, s, n, o in zip(d["m1"], d["sd1"], d["n1"], d["sd2"])],
                [one(m, s, n, o) for m, s, n, o in zip(d["m2"], d["sd2"], d["n2"], d["sd1"])]]
        return heads, cols
    return [], []


def _model_label(res) -> str:
    return {"FE": "Fixed-effect model (IV)", "MH": "Fixed-effect model (M-H)", "PETO": "Fixed-effect model (Peto)"}.get(
        res.method, f"Random-effects model ({res.method}{', Knapp-Hartung' if res.knha else ''})")


def _het_text(res) -> str:
    if not np.isfinite(res.I2):
        return "Heterogeneity: not estimable (k = 1)"
    from ..io.format import fmt, fmt_n

    het = f"Heterogeneity: Q = {fmt(res.Q, 'stat')}, df = {fmt_n(res.Q_df)}, {_p(res.Q_pval)}; I² = {fmt(res.I2, 'I2')}"
    if res.random:
        het += f"; τ² = {fmt(res.tau2, 'tau2')}"
    return het


def _overall_text(res) -> str:
    from ..io.format import fmt_stat

    stat = fmt_stat("t", res.stat, res.df) if res.knha else fmt_stat("z", res.stat)
    return f"Test for overall effect: {stat}, {_p(res.pval)}"


def _study_rows(res, weights, arms):
    crit = _dist.norm_isf((1 - res.level) / 2)
    yi = np.asarray(res.yi, float)
    sei = np.sqrt(np.asarray(res.vi, float))
    rows = []
    for i, s in enumerate(res.study):
        rows.append({"kind": "study", "label": s, "est": yi[i], "lo": yi[i] - crit * sei[i], "hi": yi[i] + crit * sei[i],
                     "weight": weights[i], "arms": [c[i] for c in arms]})
    return rows


def _pooled_rows(res, label, *, bold=True, weight=100.0):
    rows = [{"kind": "diamond", "label": label, "est": res.estimate, "lo": res.ci_low, "hi": res.ci_high,
             "weight": weight, "bold": bold}]
    if res.random and np.isfinite(res.pi_low) and res.k > 1:
        rows.append({"kind": "pi", "label": "Prediction interval", "lo": res.pi_low, "hi": res.pi_high})
    return rows


#: the RevMan-like default (wide, 8 pt) and a page-width layout (6.27 in, 6.5 pt) for long block plots
_LAYOUTS = {
    "wide": {"row": 0.28, "label": 2.4, "arm": 1.55, "weight": 0.75, "plot": 3.4, "right": 1.55, "font": 8.0,
             "extra": 1.4, "bottom": 1.0, "top": 0.45},
    "page": {"row": 0.155, "label": 1.2, "arm": 0.98, "weight": 0.42, "plot": 1.57, "right": 1.12, "font": 6.5,
             "extra": 0.9, "bottom": 0.62, "top": 0.3},
}


def _text_width(s: str, size: float) -> float:
    """Width in inches of ``s`` in bold type of ``size`` points (the widest a forest-plot cell is drawn)."""
    if not s:
        return 0.0
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    return TextPath((0, 0), s, size=size, prop=FontProperties(weight="bold")).get_extents().width / 72


def _render(rows, *, measure, log, heads, title, digits, xlabel, favours, level, footer, layout="wide"):
    """Draw a forest plot from rows (study, diamond, pi, header, text)."""
    plt = _figures()
    import matplotlib.transforms as mtrans

    from ..io.format import fmt, fmt_level

    L = _LAYOUTS[layout]
    fs = L["font"]
    tr = np.exp if log else (lambda x: x)
    n_rows = len(rows)
    height = L["extra"] + L["row"] * (n_rows + 2) + (0.12 * len(footer) if layout == "page" else 0)
    col_w = [L["label"]] + [L["arm"]] * len(heads) + [L["weight"]]
    plot_w, right_w = L["plot"], L["right"]
    # the effect column is as wide as its widest text (large mean differences), taken from the plot on a page
    name = {"OR": "OR", "RR": "RR", "PETO": "OR", "SMD": "SMD", "MD": "MD", "RD": "RD"}.get(measure, "Estimate")
    head_right = f"{name} ({fmt_level(level)} CI)"
    right = [_ci(tr(r["lo"]), tr(r["hi"]), digits) if r["kind"] == "pi" else
             _est_ci(tr(r["est"]), tr(r["lo"]), tr(r["hi"]), digits) if r["kind"] in ("study", "diamond") else ""
             for r in rows]
    need = max(_text_width(t, fs) for t in right + [head_right]) + 0.12
    if need > right_w:
        if layout == "page":
            plot_w = max(plot_w - (need - right_w), 0.6 * plot_w)
        right_w = need
    width = sum(col_w) + plot_w + right_w
    fig = plt.figure((width, height))
    bottom = (L["bottom"] + (0.12 * len(footer) if layout == "page" else 0)) / height
    ax = fig.add_axes([sum(col_w) / width, bottom, plot_w / width, 1 - bottom - L["top"] / height])
    ypos = np.arange(n_rows, 0, -1, dtype=float)
    # square area follows the study's weight ("size" when the printed weight is a within-block one)
    weights = [r.get("size", r["weight"]) for r in rows if r["kind"] == "study"]
    weights = [w for w in weights if np.isfinite(w)]
    wmax = max(weights) if weights else 1.0
    values = []
    for y, r in zip(ypos, rows):
        if r["kind"] == "study":
            ax.hlines(y, tr(r["lo"]), tr(r["hi"]), color="black", lw=1)
            scale = 1.0 if layout == "wide" else 0.16
            ax.scatter(tr(r["est"]), y, s=scale * (40 + 260 * (r.get("size", r["weight"]) / wmax)), marker="s",
                       color="#1f4e79", zorder=3)
            values += [r["lo"], r["hi"]]
        elif r["kind"] == "diamond":
            ax.fill([tr(r["lo"]), tr(r["est"]), tr(r["hi"]), tr(r["est"])], [y, y + 0.35, y, y - 0.35],
                    color="#b22222" if r.get("bold") else "#d98c8c", zorder=3)
            values += [r["lo"], r["hi"]]
        elif r["kind"] == "pi":
            ax.hlines(y, tr(r["lo"]), tr(r["hi"]), color="#b22222", lw=2)
            ax.vlines([tr(r["lo"]), tr(r["hi"])], y - 0.15, y + 0.15, color="#b22222", lw=2)
    overall = [r for r in rows if r["kind"] == "diamond" and r.get("bold")]
    null = 1.0 if log else 0.0
    ax.axvline(null, color="grey", lw=0.8, zorder=1)
    if len(overall) == 1:  # one overall estimate (not one per block)
        ax.axvline(tr(overall[-1]["est"]), color="#b22222", lw=0.6, ls=":", zorder=1)
    vals = np.array([v for v in values if np.isfinite(v)])
    if log:
        ax.set_xscale("log")
        a, b = np.exp(vals.min()), np.exp(vals.max())
        a, b = min(a, 0.9), max(b, 1.1)
        ax.set_xlim(a / 1.15, b * 1.15)
        _log_axis(ax)
    ax.set_ylim(0.3, n_rows + 1.2)
    ax.set_yticks([])
    for sp in ("left", "right", "top"):
        ax.spines[sp].set_visible(False)
    ax.set_xlabel(xlabel or _LABELS.get(measure, measure), fontsize=fs + 1)
    ax.tick_params(axis="x", labelsize=fs)
    if favours:
        for j, (xf, label, ha) in enumerate(((0.0, favours[0], "left"), (1.0, favours[1], "right"))):
            dy = -34 * fs / 8 - (j * (fs + 1) if layout == "page" else 0)
            ax.annotate(label, xy=(xf, 0.0), xycoords="axes fraction", xytext=(0, dy),
                        textcoords="offset points", ha=ha, va="top", fontsize=fs - 1, color="dimgray")
    trans = mtrans.blended_transform_factory(fig.transFigure, ax.transData)

    def text(x_in, y, s, **kw):
        kw.setdefault("fontsize", fs)
        kw.setdefault("va", "center")
        ax.text(x_in / width, y, s, transform=trans, clip_on=False, **kw)

    x0 = 0.1
    top = n_rows + 0.9
    text(x0, top, "Study", fontweight="bold")
    edges = np.cumsum([0.1] + col_w[:-1])
    for j, h in enumerate(heads):
        text(edges[j + 1] + col_w[j + 1] * 0.5, top, h, fontweight="bold", ha="center", fontsize=fs - 1)
    xw = sum(col_w) - 0.1
    text(xw, top, "Weight\n(%)", fontweight="bold", ha="right", fontsize=fs - 1)
    xr = width - 0.05
    text(xr, top, head_right, fontweight="bold", ha="right")
    for y, r, rtext in zip(ypos, rows, right):
        kind = r["kind"]
        weight = "bold" if r.get("bold") else "normal"
        if kind == "blank":
            continue
        if kind == "header":
            text(x0, y, r["label"], fontweight="bold", fontstyle="italic")
        elif kind == "text":
            text(x0, y, r["label"], fontsize=fs - 0.5, color="#333333")
        elif kind == "pi":
            text(x0, y, r["label"], fontstyle="italic")
            text(xr, y, rtext, ha="right", fontstyle="italic")
        else:
            text(x0 + (0.0 if kind == "diamond" or not r.get("indent") else 0.1), y, r["label"], fontweight=weight)
            for j, a in enumerate(r.get("arms", [])):
                text(edges[j + 1] + col_w[j + 1] * 0.5, y, a, ha="center", fontsize=fs - 0.5)
            if np.isfinite(r.get("weight", np.nan)):
                text(xw, y, fmt(r["weight"], "weight"), ha="right", fontweight=weight)
            text(xr, y, rtext, ha="right", fontweight=weight)
    if footer:
        text(x0, 0.35, "\n".join(footer), fontsize=fs - 0.5, va="top")
    if title:
        fig.suptitle(title, fontsize=fs + 2, fontweight="bold", x=0.02, ha="left", y=0.995)
    return fig


def forest(res, path=None, *, title=None, digits=2, xlabel=None, favours=("Favours treatment", "Favours control"),
           show_arms=True):
    """Forest plot of a :class:`~hepatostat.meta.fit.PoolResult`.

    One row per study (arm data, weight, effect and CI, square sized by
    weight), the pooled diamond, the prediction interval for random effects,
    and the heterogeneity and overall-effect lines, as in RevMan.

    Parameters
    ----------
    res : PoolResult
    path : str or Path, optional
        Where to save: ``.png``, ``.svg`` or ``.pdf``; without a suffix both
        PNG and SVG are written.
    title : str, optional
    digits : int
        Decimals for effects and CIs.
    xlabel : str, optional
        Defaults to the measure's name.
    favours : (str, str)
        Labels under the axis, left and right of the null line.
    show_arms : bool
        Show the arm-level data columns when the input had them.

    Returns
    -------
    matplotlib.figure.Figure
    """
    es = res.effects if show_arms and res.effects is not None and len(res.effects.data) == res.k else None
    heads, arms = _arm_text(es)
    rows = _study_rows(res, np.asarray(res.weights, float), arms)
    rows.append({"kind": "blank"})
    rows += _pooled_rows(res, _model_label(res))
    fig = _render(rows, measure=res.measure, log=res.log_scale, heads=heads, title=title, digits=digits,
                  xlabel=xlabel, favours=favours, level=res.level, footer=[_het_text(res), _overall_text(res)])
    if path is not None:
        save_figure(fig, path)
    return fig


def _p(p):
    """``P = 0.042``, ``P < 0.001`` or ``P = NA``."""
    from ..io.format import fmt_p_eq

    return fmt_p_eq(p) if np.isfinite(p) else "P = NA"


def funnel(res, path=None, *, trimfill=None, contours=(0.90, 0.95, 0.99), title=None, xlabel=None):
    """Contour-enhanced funnel plot (Peters et al. 2008, J Clin Epidemiol
    61(10):991-996, doi:10.1016/j.jclinepi.2007.11.010).

    Effect sizes against their standard errors (y axis inverted), the pooled
    estimate with its pseudo 95% confidence region, shaded regions of
    statistical significance around the null, and studies filled by
    trim-and-fill as open circles.
    """
    plt = _figures()
    yi = np.asarray(res.yi, float)
    sei = np.sqrt(np.asarray(res.vi, float))
    log = res.log_scale
    tr = np.exp if log else (lambda x: x)
    fig, ax = plt.subplots((6.2, 4.8))
    smax = max(sei.max(), np.sqrt(np.max(trimfill.filled_vi)) if trimfill is not None and trimfill.k0 else 0) * 1.08
    s = np.linspace(0, smax, 200)
    null = 0.0
    # significance regions around the null: outside the widest contour p <= 1 - max(contours)
    levels = sorted(contours)  # e.g. 0.90, 0.95, 0.99
    edges = [_dist.norm_isf((1 - c) / 2) for c in levels]
    shades = ["#ffffff", "#e3e3e3", "#c4c4c4"][-len(levels):] if len(levels) <= 3 else ["#ffffff"] * len(levels)
    ax.set_facecolor("#9e9e9e")
    from ..io.format import fmt_fixed, fmt_plain

    def thr(c):  # a significance threshold from the user's contours: two decimals (0.10, 0.05), more if needed
        shown = fmt_plain(round(1 - c, 10))
        return fmt_fixed(round(1 - c, 10), max(2, len(shown.partition(".")[2])))

    outer = f"P ≤ {thr(levels[-1])}"
    ax.fill_between([], [], color="#9e9e9e", label=outer)
    for i in range(len(levels) - 1, -1, -1):
        z = edges[i]
        label = f"P > {thr(levels[0])}" if i == 0 else f"{thr(levels[i])} < P ≤ {thr(levels[i - 1])}"
        ax.fill_betweenx(s, tr(null - z * s), tr(null + z * s), color=shades[i], lw=0, label=label)
    # pseudo-confidence region around the pooled estimate
    z95 = _dist.norm_isf(0.025)
    ax.plot(tr(res.estimate - z95 * s), s, color="black", lw=0.8, ls="--")
    ax.plot(tr(res.estimate + z95 * s), s, color="black", lw=0.8, ls="--")
    ax.axvline(tr(res.estimate), color="black", lw=1)
    ax.scatter(tr(yi), sei, s=28, color="#1f4e79", edgecolor="white", zorder=3, label="studies")
    if trimfill is not None and trimfill.k0:
        ax.scatter(tr(trimfill.filled_yi), np.sqrt(trimfill.filled_vi), s=28, facecolor="white", edgecolor="#b22222",
                   zorder=3, label=f"filled ({trimfill.k0}, trim-and-fill)")
        ax.axvline(tr(trimfill.estimate), color="#b22222", lw=1, ls=":")
    ax.set_ylim(smax, 0)
    if log:
        _log_axis(ax)
        lo = min(np.min(yi), res.estimate - z95 * smax)
        hi = max(np.max(yi), res.estimate + z95 * smax)
        ax.set_xlim(np.exp(lo - 0.2), np.exp(hi + 0.2))
    else:
        lo = min(np.min(yi), res.estimate - z95 * smax)
        hi = max(np.max(yi), res.estimate + z95 * smax)
        pad = 0.08 * (hi - lo)
        ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylabel("Standard error")
    ax.set_xlabel(xlabel or _LABELS.get(res.measure, res.measure))
    ax.legend(loc="lower right", fontsize=7, frameon=True)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def _simple_forest(labels, est, lo, hi, ref_est, ref_lo, ref_hi, *, log, xlabel, title, right_text, ref_label, path):
    plt = _figures()
    tr = np.exp if log else (lambda x: x)
    n = len(labels)
    fig, ax = plt.subplots((7.5, 1.2 + 0.3 * (n + 2)))
    y = np.arange(n, 0, -1)
    ax.hlines(y, tr(lo), tr(hi), color="black", lw=1)
    ax.scatter(tr(est), y, marker="s", color="#1f4e79", zorder=3)
    yd = -0.5
    ax.fill([tr(ref_lo), tr(ref_est), tr(ref_hi), tr(ref_est)], [yd, yd + 0.3, yd, yd - 0.3], color="#b22222")
    ax.axvline(tr(ref_est), color="#b22222", lw=0.6, ls=":")
    ax.axvline(1.0 if log else 0.0, color="grey", lw=0.8)
    ax.set_yticks(list(y) + [yd])
    ax.set_yticklabels(list(labels) + [ref_label], fontsize=8)
    ax.set_ylim(yd - 0.8, n + 0.8)
    if log:
        _log_axis(ax)
    for s_ in ("right", "top"):
        ax.spines[s_].set_visible(False)
    ax.set_xlabel(xlabel, fontsize=9)
    sec = ax.secondary_yaxis("right")
    sec.set_yticks(list(y) + [yd])
    sec.set_yticklabels(right_text, fontsize=7.5)
    sec.tick_params(length=0)
    sec.spines["right"].set_visible(False)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def _refit_forest(res, f, labels, extra, res_extra, title, digits, path):
    """A forest of refitted pooled estimates (one per row of ``f``) above the analysis of all studies;
    the right column is each estimate with its CI and ``extra`` (``res_extra`` for the all-studies row)."""
    tr = np.exp if res.log_scale else (lambda x: x)
    right = [f"{_est_ci(tr(e), tr(a), tr(b), digits)}  {x}"
             for e, a, b, x in zip(f["estimate"], f["ci_low"], f["ci_high"], extra)]
    right.append(f"{_est_ci(tr(res.estimate), tr(res.ci_low), tr(res.ci_high), digits)}  {res_extra}")
    return _simple_forest(labels, f["estimate"].to_numpy(), f["ci_low"].to_numpy(), f["ci_high"].to_numpy(),
                          res.estimate, res.ci_low, res.ci_high, log=res.log_scale,
                          xlabel=_LABELS.get(res.measure, res.measure), title=title,
                          right_text=right, ref_label=f"All studies ({res.method})", path=path)


def loo_forest(loo, path=None, *, title=None, digits=2):
    """Leave-one-out forest plot: the pooled estimate without each study."""
    from ..io.format import fmt

    res, f = loo.full, loo.frame
    return _refit_forest(res, f, [f"Omitting {s}" for s in f["omitted"]], [f"I² {fmt(i2, 'I2')}" for i2 in f["I2"]],
                         f"I² {fmt(res.I2, 'I2')}", title or "Leave-one-out sensitivity analysis", digits, path)


def cumulative_forest(cum, path=None, *, title=None, digits=2):
    """Cumulative forest plot: the pooled estimate as each study is added, in the order analysed."""
    from ..io.format import fmt_n

    res, f = cum.full, cum.frame
    return _refit_forest(res, f, [f"+ {s}" for s in f["added"]], [f"k = {fmt_n(k)}" for k in f["k"]],
                         f"k = {fmt_n(res.k)}", title or "Cumulative meta-analysis", digits, path)


def subgroup_forest(sg, path=None, *, title=None, digits=2, xlabel=None,
                    favours=("Favours treatment", "Favours control"), show_arms=True):
    """RevMan-style forest plot of a subgroup analysis.

    One block per subgroup: its studies (weights within the subgroup), its
    own diamond and heterogeneity line; then the overall diamond, and the
    test for subgroup differences under the plot.
    """
    from ..io.format import fmt, fmt_n

    res = sg.overall
    es = res.effects if show_arms else None
    heads = _arm_text(es)[0] if es is not None else []
    overall_weight = dict(zip(res.study, np.asarray(res.weights, float)))  # square sizes comparable across blocks
    rows = []
    for level, r in zip(sg.levels, sg.results):
        rows.append({"kind": "header", "label": f"{sg.by} = {level}"})
        sub_es = r.effects if show_arms else None
        _, arms = _arm_text(sub_es) if sub_es is not None and len(sub_es.data) == r.k else ([], [])
        study = _study_rows(r, np.asarray(r.weights, float), arms if heads else [])
        for row in study:
            row["indent"] = True
            row["size"] = overall_weight.get(row["label"], np.nan)
        rows += study
        rows.append({"kind": "diamond", "label": f"Subtotal (k = {r.k})", "est": r.estimate, "lo": r.ci_low,
                     "hi": r.ci_high, "weight": np.nan, "bold": False})
        rows.append({"kind": "text", "label": _het_text(r)})
        rows.append({"kind": "blank"})
    rows += _pooled_rows(res, f"Overall: {_model_label(res)}")
    footer = [_het_text(res), _overall_text(res),
              f"Test for subgroup differences: Q = {fmt(sg.Q_between, 'stat')}, df = {fmt_n(sg.Q_between_df)}, "
              f"{_p(sg.Q_between_pval)}",
              "Weights are within each subgroup (separate tau² per subgroup); square sizes follow the overall weights."]
    fig = _render(rows, measure=res.measure, log=res.log_scale, heads=heads, title=title, digits=digits,
                  xlabel=xlabel, favours=favours, level=res.level, footer=footer)
    if path is not None:
        save_figure(fig, path)
    return fig


def forest_blocks(blocks, path=None, *, title=None, digits=2, xlabel=None,
                  favours=("Favours treatment", "Favours control"), show_arms=True, layout="page"):
    """Forest plot with one block per analysis (e.g. per time point, as Liu et al. 2022, Figures 3–8).

    ``blocks``: ``[(label, result)]`` in the order to draw; a result is a
    :class:`~hepatostat.meta.fit.PoolResult` or an exception (drawn as "not
    estimable: ..."). Each block shows its studies with their arm data
    (mean (SD), n per arm for continuous outcomes; events/total per arm for
    binary ones), the weight within the block, the effect and CI as text,
    the block's own diamond and its heterogeneity line. There is no overall
    diamond: the blocks are separate analyses (e.g. the same trials at
    different times), not subgroups of one.

    ``layout="page"`` draws it 6.27 in wide (the printable width of an A4
    page) in 6.5 pt type, so a long plot prints at nearly full size;
    ``"wide"`` is the layout of :func:`forest`.
    """
    from ..io.format import fmt, fmt_p_eq

    rows, heads, measure, log, lvl = [], [], None, False, 0.95
    for label, res in blocks:
        rows.append({"kind": "header", "label": str(label)})
        if isinstance(res, BaseException) or res is None:
            rows.append({"kind": "text", "label": f"not estimable: {res}"})
            rows.append({"kind": "blank"})
            continue
        measure, log, lvl = res.measure, res.log_scale, res.level
        es = res.effects if show_arms and res.effects is not None and len(res.effects.data) == res.k else None
        h, arms = _arm_text(es)
        heads = heads or h
        study = _study_rows(res, np.asarray(res.weights, float), arms if h else [])
        for row in study:
            row["indent"] = True
            if heads and not h:  # a block without arm data under arm columns
                row["arms"] = [""] * len(heads)
        rows += study
        model = "random effects" if res.random else "fixed effect"
        rows.append({"kind": "diamond", "label": f"Subtotal ({model}, {res.method}; k = {res.k})", "est": res.estimate,
                     "lo": res.ci_low, "hi": res.ci_high, "weight": 100.0, "bold": True})
        het = ("Heterogeneity: not estimable (k = 1)" if not np.isfinite(res.I2) else
               f"Heterogeneity: I² = {fmt(res.I2, 'I2')}, {fmt_p_eq(res.Q_pval)}")
        rows.append({"kind": "text", "label": f"{het}; test for effect: {fmt_p_eq(res.pval)}"})
        rows.append({"kind": "blank"})
    if measure is None:
        raise ValueError("forest_blocks: no block could be estimated")
    if rows and rows[-1]["kind"] == "blank":
        rows.pop()
    fig = _render(rows, measure=measure, log=log, heads=heads, title=title, digits=digits, xlabel=xlabel,
                  favours=favours, level=lvl, layout=layout,
                  footer=["Weights are within each block; each block is a separate meta-analysis."])
    if path is not None:
        save_figure(fig, path)
    return fig


def _overlaps(a, b, pad: float = 1.0) -> bool:
    """Whether two display-space boxes (matplotlib ``Bbox``) overlap, with ``pad`` pixels of air."""
    return not (a.x1 + pad <= b.x0 or b.x1 + pad <= a.x0 or a.y1 + pad <= b.y0 or b.y1 + pad <= a.y0)


def place_labels(ax, xs, ys, labels, *, order=None, fontsize=7, max_labels=None):
    """Label points without overlaps (a small greedy repel); returns the labels left out.

    Points are labelled in ``order`` (most important first); each label tries
    positions around its point, nearest first, and takes the first whose box
    (measured with the Agg renderer) hits no other label, no point and no
    axis edge. A label with no free place, or beyond ``max_labels``, is left
    out and returned, for the caption to list.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = ax.figure
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    pts = ax.transData.transform(np.column_stack([np.asarray(xs, float), np.asarray(ys, float)]))
    r = 3.5  # marker radius in pixels (s=24 at 100 dpi)
    from matplotlib.transforms import Bbox

    taken = [Bbox([[px - r, py - r], [px + r, py + r]]) for px, py in pts]
    inside = ax.get_window_extent(renderer)
    order = list(range(len(labels))) if order is None else list(order)
    left_out = []
    offsets = [(dx * k, dy * k) for k in (1, 2, 3.5, 5)
               for dx, dy in ((4, 3), (4, -9), (-4, 3), (-4, -9), (0, 6), (0, -12), (6, -3), (-6, -3))]
    for n, i in enumerate(order):
        if max_labels is not None and n >= max_labels:
            left_out.append(labels[i])
            continue
        placed = False
        for dx, dy in offsets:
            ha = "left" if dx > 0 else ("right" if dx < 0 else "center")
            t = ax.annotate(str(labels[i]), (xs[i], ys[i]), xytext=(dx, dy), textcoords="offset points",
                            fontsize=fontsize, ha=ha, va="bottom",
                            arrowprops=dict(arrowstyle="-", lw=0.4, color="grey") if abs(dx) + abs(dy) > 12 else None)
            box = t.get_window_extent(renderer)
            if (box.x0 >= inside.x0 and box.x1 <= inside.x1 and box.y0 >= inside.y0 and box.y1 <= inside.y1
                    and not any(_overlaps(box, o) for o in taken)):
                taken.append(box)
                placed = True
                break
            t.remove()
        if not placed:
            left_out.append(labels[i])
    return left_out


def baujat_plot(data, path=None, *, title=None, max_labels=None):
    """Baujat plot from :func:`hepatostat.meta.sensitivity.baujat` data (Baujat et al. 2002, Stat Med
    21(18):2641-2652, doi:10.1002/sim.1221).

    Studies are labelled most influential first (largest distance from the
    origin on both axes scaled to their range) where a label fits without
    touching another label or a point; the studies left unlabelled are kept
    in ``fig.unlabelled`` and written under the plot, so that a caption can
    name them.
    """
    plt = _figures()
    fig, ax = plt.subplots((6, 4.6))
    x = np.asarray(data["x"], float)
    y = np.asarray(data["y"], float)
    ax.scatter(x, y, s=24, color="#1f4e79", zorder=3)
    ax.set_xlabel("Contribution to overall heterogeneity")
    ax.set_ylabel("Influence on overall result")
    # room for labels right and above
    span_x = (x.max() - x.min()) or 1.0
    span_y = (y.max() - y.min()) or 1.0
    ax.set_xlim(x.min() - 0.05 * span_x, x.max() + 0.30 * span_x)
    ax.set_ylim(y.min() - 0.08 * span_y, y.max() + 0.12 * span_y)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    score = np.hypot((x - x.min()) / span_x, (y - y.min()) / span_y)
    order = list(np.argsort(-score, kind="stable"))
    left = place_labels(ax, x, y, [str(v) for v in data["study"]], order=order, max_labels=max_labels)
    fig.unlabelled = left
    if left:
        from textwrap import fill

        fig.text(0.01, 0.01, fill("Not labelled (no room): " + "; ".join(left), 140), fontsize=6.5, va="bottom",
                 ha="left", color="#333333")
    if path is not None:
        save_figure(fig, path)
    return fig
