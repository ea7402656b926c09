"""Risk-of-bias judgements (Cochrane RoB 1 and RoB 2) and their figures.

``read_rob()`` validates a table with one row per study and one column per
domain; ``RobAssessment.plot_traffic_light()`` draws the per-study
traffic-light plot and ``plot_summary()`` the stacked-bar summary
(optionally weighted by meta-analysis weights), in the colours robvis uses
for Cochrane's tools.

Domains and judgements:

- **RoB 1** (Higgins et al. 2011): random sequence generation (selection
  bias), allocation concealment (selection bias), blinding of participants
  and personnel (performance bias), blinding of outcome assessment
  (detection bias), incomplete outcome data (attrition bias), selective
  reporting (reporting bias), other bias; judgements ``Low``, ``Unclear``,
  ``High``. An ``overall`` column is optional (RoB 1 defines none).
- **RoB 2** (Sterne et al. 2019): D1 bias arising from the randomization
  process, D2 bias due to deviations from intended interventions, D3 bias
  due to missing outcome data, D4 bias in measurement of the outcome, D5
  bias in selection of the reported result, and Overall; judgements
  ``Low``, ``Some concerns``, ``High``. A missing overall judgement is
  derived by the RoB 2 algorithm's minimum (Low if all domains are Low,
  High if any is High, otherwise Some concerns; the reviewer may judge High
  for several Some concerns) and an overall judgement better than the worst
  domain is an error.

Column names may be the snake_case keys below, the Cochrane domain names,
or ``D1``...``D7``. Judgements are matched case-insensitively and may carry
the word "risk" ("low risk", "Unclear risk of bias").

References
----------
.. [1] Higgins JPT, Altman DG, Gøtzsche PC, et al. (2011). The Cochrane
   Collaboration's tool for assessing risk of bias in randomised trials.
   BMJ 343:d5928. doi:10.1136/bmj.d5928
.. [2] Sterne JAC, Savović J, Page MJ, et al. (2019). RoB 2: a revised tool
   for assessing risk of bias in randomised trials. BMJ 366:l4898.
   doi:10.1136/bmj.l4898
.. [3] McGuinness LA, Higgins JPT (2021). Risk-of-bias VISualization
   (robvis): an R package and Shiny web app for visualizing risk-of-bias
   assessments. Res Syn Meth 12(1):55-61. doi:10.1002/jrsm.1411
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["TOOLS", "COLOURS", "RobAssessment", "read_rob", "example_rob"]

#: tool -> (domain key, Cochrane domain name), judgements, whether 'overall' is part of the tool
TOOLS = {
    "rob1": {
        "domains": (
            ("random_sequence_generation", "Random sequence generation (selection bias)"),
            ("allocation_concealment", "Allocation concealment (selection bias)"),
            ("blinding_participants_personnel", "Blinding of participants and personnel (performance bias)"),
            ("blinding_outcome_assessment", "Blinding of outcome assessment (detection bias)"),
            ("incomplete_outcome_data", "Incomplete outcome data (attrition bias)"),
            ("selective_reporting", "Selective reporting (reporting bias)"),
            ("other_bias", "Other bias"),
        ),
        "judgements": ("Low", "Unclear", "High"),
        "name": "Cochrane risk-of-bias tool (RoB 1)",
    },
    "rob2": {
        "domains": (
            ("randomization", "Bias arising from the randomization process"),
            ("deviations", "Bias due to deviations from intended interventions"),
            ("missing_data", "Bias due to missing outcome data"),
            ("measurement", "Bias in measurement of the outcome"),
            ("selection", "Bias in selection of the reported result"),
        ),
        "judgements": ("Low", "Some concerns", "High"),
        "name": "Cochrane risk-of-bias tool for randomized trials (RoB 2)",
    },
}

#: robvis's "cochrane" colours
COLOURS = {"Low": "#02C100", "Some concerns": "#E2DF07", "Unclear": "#E2DF07", "High": "#BF0000",
           "No information": "#4EA1F7"}
_SYMBOLS = {"Low": "+", "Some concerns": "\u2212", "Unclear": "?", "High": "\u00d7", "No information": "?"}
_ORDER = {"Low": 0, "Unclear": 1, "Some concerns": 1, "High": 2}

_ALIASES = {
    "low": "Low", "+": "Low", "l": "Low", "low risk": "Low", "low risk of bias": "Low",
    "unclear": "Unclear", "?": "Unclear", "u": "Unclear", "unclear risk": "Unclear", "unclear risk of bias": "Unclear",
    "high": "High", "-": "High", "h": "High", "high risk": "High", "high risk of bias": "High", "x": "High",
    "some concerns": "Some concerns", "some": "Some concerns", "some concern": "Some concerns", "sc": "Some concerns",
    "no information": "No information", "ni": "No information",
}


def _key(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(s).lower()).strip("_")


def _column_map(tool: str) -> dict[str, str]:
    m = {}
    for i, (key, name) in enumerate(TOOLS[tool]["domains"], start=1):
        m[key] = key
        m[_key(name)] = key
        m[f"d{i}"] = key
        m[_key(name.split(" (")[0])] = key
    m["overall"] = "overall"
    m["overall_risk_of_bias"] = "overall"
    return m


def _judgement(value, tool, source, row, column) -> str | None:
    allowed = TOOLS[tool]["judgements"]
    if value is None or (isinstance(value, float) and np.isnan(value)) or not str(value).strip():
        return None
    s = " ".join(str(value).strip().lower().split())
    j = _ALIASES.get(s)
    if j is None or j not in allowed:
        raise InputError(f"unknown risk-of-bias judgement for {TOOLS[tool]['name']}; allowed: {', '.join(allowed)}",
                         file=source, row=row, column=column, value=value)
    return j


@dataclass(frozen=True)
class RobAssessment:
    """Validated risk-of-bias judgements: one row per study."""

    tool: str
    studies: tuple
    domains: tuple          # domain keys in the tool's order
    judgements: tuple       # per study, a tuple of judgements per domain
    overall: tuple          # per study: judgement or None
    overall_derived: tuple  # per study: whether the overall judgement was derived
    weights: tuple | None = None
    label: str | None = None

    @property
    def domain_names(self) -> tuple:
        names = dict(TOOLS[self.tool]["domains"])
        return tuple(names[d] for d in self.domains)

    @property
    def has_overall(self) -> bool:
        return any(o is not None for o in self.overall)

    def to_frame(self) -> pd.DataFrame:
        """``study``, one column per domain (snake_case keys), ``overall``
        and ``weight`` when present."""
        frame = pd.DataFrame(list(self.judgements), columns=list(self.domains))
        frame.insert(0, "study", list(self.studies))
        if self.has_overall:
            frame["overall"] = list(self.overall)
        if self.weights is not None:
            frame["weight"] = list(self.weights)
        return frame

    def counts(self, *, weighted: bool = False) -> pd.DataFrame:
        """Per domain (rows, Cochrane names) the percentage of studies (or of
        the total weight) per judgement (columns)."""
        frame = self.to_frame()
        cols = list(self.domains) + (["overall"] if self.has_overall else [])
        names = list(self.domain_names) + (["Overall"] if self.has_overall else [])
        w = np.asarray(self.weights, float) if (weighted and self.weights is not None) else np.ones(len(frame))
        if weighted and self.weights is None:
            raise InputError("weighted summary needs a 'weight' column (e.g. meta-analysis weights)")
        levels = list(TOOLS[self.tool]["judgements"])
        rows = []
        for c, name in zip(cols, names):
            row = {"domain": name}
            tot = w[frame[c].notna().to_numpy()].sum()
            for lv in levels:
                row[lv] = 100 * w[(frame[c] == lv).to_numpy()].sum() / tot if tot > 0 else np.nan
            rows.append(row)
        return pd.DataFrame(rows, columns=["domain"] + levels)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool, "label": self.label,
            "domains": [{"key": k, "name": n} for k, n in zip(self.domains, self.domain_names)],
            "studies": [
                {"study": s, "judgements": dict(zip(self.domains, j)), "overall": o, "overall_derived": d,
                 **({"weight": float(self.weights[i])} if self.weights is not None else {})}
                for i, (s, j, o, d) in enumerate(zip(self.studies, self.judgements, self.overall, self.overall_derived))
            ],
            "summary": self.counts().to_dict(orient="records"),
        }

    def summary(self) -> str:
        from ..io.format import fmt_n, fmt_pct

        lines = [f"{TOOLS[self.tool]['name']}: {fmt_n(len(self.studies))} studies"
                 + (f" ({self.label})" if self.label else "")]
        c = self.counts()
        levels = list(TOOLS[self.tool]["judgements"])
        width = max(len(d) for d in c["domain"])
        lines.append(f"  {'domain':<{width}}  " + "  ".join(f"{lv:>13}" for lv in levels))
        for r in c.itertuples(index=False):
            lines.append(f"  {r[0]:<{width}}  " + "  ".join(f"{fmt_pct(v):>13}" for v in r[1:]))
        if any(self.overall_derived):
            lines.append("  Overall judgements marked derived follow the RoB 2 algorithm's minimum.")
        return "\n".join(lines)

    # ------------------------------------------------------------------ plots
    def plot_traffic_light(self, path=None, *, title: str | None = None):
        """Traffic-light plot: one row per study, one column per domain
        (and Overall), a coloured disc with the judgement's symbol."""
        from matplotlib.lines import Line2D

        from matplotlib.figure import Figure

        from ..meta.plots import save_figure

        cols = list(self.domains) + (["overall"] if self.has_overall else [])
        labels = [f"D{i}" for i in range(1, len(self.domains) + 1)] + (["Overall"] if self.has_overall else [])
        frame = self.to_frame()
        n, m = len(frame), len(cols)
        legend_lines = [f"D{i}: {name}" for i, name in enumerate(self.domain_names, start=1)]
        name_w = max(len(s) for s in self.studies) * 0.075 + 0.4
        fig_w = max(name_w + 0.62 * m + 0.6, 7.5)
        fig_h = 0.9 + 0.42 * n + 0.2 * (len(legend_lines) + 1) + 0.4
        fig = Figure(figsize=(fig_w, fig_h))
        leg_in = 0.2 * (len(legend_lines) + 1) + 0.35
        ax = fig.add_axes([name_w / fig_w, leg_in / fig_h, (0.62 * m) / fig_w, (0.42 * n) / fig_h])
        ax.set_xlim(-0.5, m - 0.5)
        ax.set_ylim(n - 0.5, -0.5)
        for i in range(n):
            for j, c in enumerate(cols):
                jv = frame[c].iloc[i]
                if jv is None or (isinstance(jv, float) and np.isnan(jv)):
                    continue
                ax.scatter(j, i, s=430, color=COLOURS[jv], edgecolors="black", linewidths=0.6, zorder=3)
                ax.text(j, i, _SYMBOLS[jv], ha="center", va="center", fontsize=11, fontweight="bold", zorder=4)
        ax.set_xticks(range(m))
        ax.set_xticklabels(labels, fontsize=9, fontweight="bold")
        ax.xaxis.tick_top()
        ax.set_yticks(range(n))
        ax.set_yticklabels(list(self.studies), fontsize=9)
        for x in np.arange(-0.5, m, 1):
            ax.axvline(x, color="0.8", linewidth=0.6, zorder=1)
        for y in np.arange(-0.5, n, 1):
            ax.axhline(y, color="0.8", linewidth=0.6, zorder=1)
        if self.has_overall:
            ax.axvline(m - 1.5, color="0.3", linewidth=1.0, zorder=2)
        ax.tick_params(length=0)
        for s in ax.spines.values():
            s.set_color("0.6")
        ax.set_title(title or "Risk of bias domains", fontsize=10, pad=24)
        levels = list(TOOLS[self.tool]["judgements"])
        handles = [Line2D([0], [0], marker="o", linestyle="", markersize=11, markerfacecolor=COLOURS[lv],
                          markeredgecolor="black", label=f"{_SYMBOLS[lv]}  {lv}") for lv in levels]
        fig.text(0.02, (leg_in - 0.15) / fig_h, "Domains:\n" + "\n".join(legend_lines), fontsize=8, va="top",
                 ha="left")
        fig.legend(handles=handles, title="Judgement", loc="lower right", fontsize=8, title_fontsize=8,
                   frameon=False, bbox_to_anchor=(0.99, 0.01))
        fig.text(0.02, 1 - 0.25 / fig_h, TOOLS[self.tool]["name"] + (f" — {self.label}" if self.label else ""),
                 fontsize=8, color="0.35", va="top")
        if path is not None:
            for p in (path if isinstance(path, (list, tuple)) else [path]):
                save_figure(fig, p)
        return fig

    def plot_summary(self, path=None, *, weighted: bool = False, title: str | None = None):
        """Summary plot: one horizontal 100% stacked bar per domain (Overall
        last), the percentage of studies — or of the meta-analysis weight,
        ``weighted=True`` — at each judgement."""
        from matplotlib.figure import Figure

        from ..meta.plots import save_figure

        c = self.counts(weighted=weighted)
        levels = list(TOOLS[self.tool]["judgements"])
        k = len(c)
        fig = Figure(figsize=(9.5, 0.45 * k + 1.6))
        ax = fig.add_axes([0.42, 0.9 / (0.45 * k + 1.6), 0.55, (0.45 * k) / (0.45 * k + 1.6)])
        left = np.zeros(k)
        y = np.arange(k)
        for lv in levels:
            vals = c[lv].fillna(0).to_numpy()
            ax.barh(y, vals, left=left, color=COLOURS[lv], edgecolor="black", linewidth=0.5, height=0.7, label=lv)
            left += vals
        ax.set_ylim(k - 0.5, -0.5)
        ax.set_xlim(0, 100)
        ax.set_yticks(y)
        ax.set_yticklabels(list(c["domain"]), fontsize=9)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.set_xticklabels(["0%", "25%", "50%", "75%", "100%"], fontsize=9)
        if self.has_overall:
            ax.axhline(k - 1.5, color="black", linewidth=1.0)
        ax.legend(loc="upper center", bbox_to_anchor=(0.4, -0.18), ncol=len(levels), frameon=False, fontsize=9)
        what = "of the meta-analysis weight" if weighted else "of studies"
        ax.set_title(title or f"Risk of bias: percentage {what} per judgement", fontsize=10)
        for s in ("top", "right"):
            ax.spines[s].set_visible(False)
        if path is not None:
            for p in (path if isinstance(path, (list, tuple)) else [path]):
                save_figure(fig, p)
        return fig

    def plot(self, path=None, **kwargs):
        """The traffic-light plot (see :meth:`plot_traffic_light`)."""
        return self.plot_traffic_light(path, **kwargs)


def read_rob(data, *, tool: str | None = None, weights=None, source=None, label: str | None = None) -> RobAssessment:
    """Validate risk-of-bias judgements.

    Parameters
    ----------
    data : DataFrame or path of a CSV / Excel file
        A ``study`` column, one column per domain of the tool, optionally
        ``overall`` and ``weight``.
    tool : ``"rob1"`` or ``"rob2"``, optional
        Chosen from the columns when left out (RoB 1 has seven domains).
    weights : mapping study -> weight, optional
        Meta-analysis weights for the weighted summary plot (instead of a
        ``weight`` column).

    Raises
    ------
    InputError
        Unknown judgement (naming file, row, column and value, with the
        allowed values), missing domain column, duplicated study, an overall
        RoB 2 judgement better than its worst domain, a negative weight.
    """
    if isinstance(data, (str, Path)):
        from ..io import read_table

        source = str(data)
        data = read_table(data)
    frame = pd.DataFrame(data).copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    keys = {_key(c): c for c in frame.columns}
    if tool is None:
        scores = {t: sum(1 for k in keys if k in _column_map(t) and _column_map(t)[k] != "overall") for t in TOOLS}
        tool = "rob1" if scores["rob1"] >= 6 or "d6" in keys or "d7" in keys else "rob2"
    tool = str(tool).lower().replace(" ", "").replace("-", "")
    if tool not in TOOLS:
        raise InputError(f"unknown risk-of-bias tool {tool!r}; allowed: rob1, rob2", file=source)
    cmap = _column_map(tool)
    study_col = keys.get("study") or keys.get("study_id") or keys.get("author")
    if study_col is None:
        raise InputError(f"missing column 'study'; found: {', '.join(frame.columns)}", file=source)
    found: dict[str, str] = {}
    for k, c in keys.items():
        if k in cmap and cmap[k] not in found:
            found[cmap[k]] = c
    domains = [d for d, _ in TOOLS[tool]["domains"]]
    missing = [d for d in domains if d not in found]
    if missing:
        names = dict(TOOLS[tool]["domains"])
        raise InputError(f"missing domain column(s) for {TOOLS[tool]['name']}: "
                         + ", ".join(f"{d} ({names[d]})" for d in missing), file=source)
    studies, judg, overall, derived, wts = [], [], [], [], []
    seen: dict[str, int] = {}
    wcol = keys.get("weight")
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        s = str(row[frame.columns.get_loc(study_col)]).strip()
        if not s or s.lower() == "nan":
            raise InputError("a row without a study name", file=source, row=i, column=study_col)
        if s in seen:
            raise InputError(f"study {s!r} appears twice (rows {seen[s]} and {i})", file=source, row=i,
                             column=study_col, value=s)
        seen[s] = i
        js = []
        for d in domains:
            col = found[d]
            j = _judgement(row[frame.columns.get_loc(col)], tool, source, i, col)
            if j is None:
                raise InputError(f"missing judgement; allowed: {', '.join(TOOLS[tool]['judgements'])}",
                                 file=source, row=i, column=col)
            js.append(j)
        o = None
        if "overall" in found:
            o = _judgement(row[frame.columns.get_loc(found["overall"])], tool, source, i, found["overall"])
        worst = max(js, key=lambda x: _ORDER[x])
        der = False
        if tool == "rob2":
            if o is None:
                o, der = worst, True
            elif _ORDER[o] < _ORDER[worst]:
                raise InputError(f"overall judgement {o!r} is better than the worst domain judgement ({worst!r}); "
                                 "RoB 2's overall risk of bias is at least that of its worst domain", file=source,
                                 row=i, column=found["overall"], value=o)
        studies.append(s)
        judg.append(tuple(js))
        overall.append(o)
        derived.append(der)
        if wcol is not None:
            w = row[frame.columns.get_loc(wcol)]
            try:
                w = float(w)
            except (TypeError, ValueError):
                raise InputError("weight must be a number", file=source, row=i, column=wcol, value=w) from None
            if not np.isfinite(w) or w < 0:
                raise InputError("weight must be a number >= 0", file=source, row=i, column=wcol, value=w)
            wts.append(w)
    if not studies:
        raise InputError("no studies in the risk-of-bias table", file=source)
    weights_t = tuple(wts) if wcol is not None else None
    if weights is not None:
        missing_w = [s for s in studies if s not in weights]
        if missing_w:
            raise InputError(f"no weight for stud(ies) {', '.join(missing_w)}", file=source)
        weights_t = tuple(float(weights[s]) for s in studies)
        if any(w < 0 for w in weights_t):
            raise InputError("weights must be >= 0", file=source)
    return RobAssessment(tool=tool, studies=tuple(studies), domains=tuple(domains), judgements=tuple(judg),
                         overall=tuple(overall), overall_derived=tuple(derived), weights=weights_t, label=label)


def example_rob(tool: str = "rob1") -> RobAssessment:
    """The bundled EXAMPLE judgements (invented for demonstration, not a
    published assessment): ``example_rob1.csv`` or ``example_rob2.csv``."""
    tool = str(tool).lower()
    if tool not in TOOLS:
        raise InputError(f"unknown risk-of-bias tool {tool!r}; allowed: rob1, rob2")
    src = resources.files(__package__).joinpath(f"data/example_{tool}.csv")
    with resources.as_file(src) as p:
        return read_rob(p, tool=tool, label="EXAMPLE data, not a published assessment")
