"""Outcomes over time: within groups (the seed's Figure 1) and between groups
on changes (Table 3, Figures 2 and 3).

Both functions take a *long* table, one row per patient and visit, with a
patient column (``person_id``), a visit week (``week``), a group and one or
more outcome columns. The tidy layout of ``hepatostat.cohort``'s visit
extraction (``VisitTable.to_frame("long")``: one row per patient, visit and
outcome, with ``outcome`` and ``value`` columns) is accepted too and
reshaped by :func:`from_tidy`.

* :func:`over_time` — within each group: the number of patients with a value
  at each visit, the Friedman test across visits on the patients with a value
  at every visit (complete cases, counted), and the Wilcoxon signed-rank test
  of each visit against baseline with a multiplicity correction (Holm by
  default) across the visits.
* :func:`changes` — between groups: per patient *declines*, ``value at the
  earlier week − value at the later week`` (so a fall is positive and a
  rising PTA gives a negative decline, as in the seed's Table 3), over each
  interval (W0–W1, W1–W4, W4–W12, W12–W24) and cumulatively from baseline
  (W0–Wt); per group median (Q1–Q3) or mean ± SD by the Table 1 normality
  rule, and P values for the group pairs asked for (A vs B, C vs D, …).

References
----------
.. [1] Friedman M (1937). The use of ranks to avoid the assumption of
   normality implicit in the analysis of variance. J Am Stat Assoc
   32(200):675-701. doi:10.1080/01621459.1937.10503522
.. [2] Wilcoxon F (1945). Individual comparisons by ranking methods.
   Biometrics Bull 1(6):80-83. doi:10.2307/3001968
.. [3] Holm S (1979). A simple sequentially rejective multiple test
   procedure. Scand J Stat 6(2):65-70.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ..io.format import fmt, fmt_fixed, fmt_n, fmt_plain, table_text
from ..stats import (
    TestResult,
    adjust_pvalues,
    float_or_none,
    format_p,
    mann_whitney,
    p_text,
    quantile,
    quartile_type,
    shapiro_wilk,
    signed_rank,
    student_t,
    welch_t,
)
from .columns import check_column, check_frame, group_label, group_labels, numeric_values, sheet_row, sheet_rows
from .describe import NORMALITY, _auto_digits
from .timeunits import check_schedule, time_label, week_label

__all__ = [
    "from_tidy",
    "friedman_test",
    "patient_declines",
    "over_time",
    "OverTimeResult",
    "OverTimeSeries",
    "VisitTest",
    "changes",
    "ChangesResult",
    "ChangeCell",
    "PairTest",
    "week_label",
]


def friedman_test(matrix) -> TestResult:
    """Friedman rank test of a patients x visits matrix without missing cells
    (R ``friedman.test(matrix)``), with R's tie correction [1]_.

    ``statistic = 12 sum_j (R_j - n (k + 1) / 2)^2 / (n k (k + 1) - sum(t^3 - t) / (k - 1))``
    on ``k - 1`` degrees of freedom.
    """
    y = np.asarray(matrix, float)
    if y.ndim != 2:
        raise InputError("friedman_test() needs a two-dimensional patients x visits matrix")
    if not np.all(np.isfinite(y)):
        raise InputError("friedman_test() needs complete cases: remove patients with a missing visit first")
    n, k = y.shape
    if n < 1 or k < 2:
        return TestResult.undefined("friedman", "the Friedman test needs at least one complete patient and two visits")
    r = np.apply_along_axis(stats.rankdata, 1, y)
    ties = 0.0
    for row in r:
        _, c = np.unique(row, return_counts=True)
        ties += float(np.sum(c.astype(float) ** 3 - c))
    den = n * k * (k + 1) - ties / (k - 1)
    if den <= 0:
        return TestResult.undefined("friedman", "every patient has the same value at every visit: the test is undefined", (k - 1,))
    stat = 12 * np.sum((r.sum(0) - n * (k + 1) / 2) ** 2) / den
    return TestResult("friedman", float(stat), float(stats.chi2.sf(stat, k - 1)), (float(k - 1),),
                      "chi-square approximation, tie corrected")


# ---------------------------------------------------------------------------
# the long table
# ---------------------------------------------------------------------------


def _outcome_list(outcomes) -> list[str]:
    if isinstance(outcomes, str):
        outcomes = [o.strip() for o in outcomes.split(",") if o.strip()]
    outcomes = list(outcomes)
    if not outcomes:
        raise InputError("name at least one outcome column")
    return outcomes


def from_tidy(frame: pd.DataFrame, outcomes, *, id="person_id", week="week", group="group",  # noqa: A002
              outcome_column="outcome", value_column="value", source=None) -> pd.DataFrame:
    """One column per outcome from a *tidy* visit table (one row per patient,
    visit and outcome, as ``VisitTable.to_frame("long")`` gives it).

    Returns ``id, week, group`` and one column per outcome. Non-numeric values
    are reported with the tidy table's row; two values of one outcome at one
    visit of a patient are an error.
    """
    check_frame(frame, source)
    for col, what in ((outcome_column, "outcome name"), (value_column, "value"), (id, "patient id"), (week, "week")):
        check_column(frame, col, what, source)
    names = frame[outcome_column].map(lambda v: None if pd.isna(v) else str(v))
    present = set(names.dropna())
    for o in outcomes:
        if o not in present:
            raise InputError(f"outcome not found; the outcomes are: {', '.join(sorted(present))}", file=source,
                             column=outcome_column, value=o)
    vals = numeric_values(frame[value_column], value_column, source, strict=True)
    keep = names.isin(outcomes).to_numpy()
    cols = {id: frame[id], week: frame[week], "_o": names, "_v": vals, "_row": sheet_rows(frame, range(len(frame)))}
    if group is not None:
        check_column(frame, group, "group", source)
        cols[group] = frame[group]
    sub = pd.DataFrame(cols)[keep]
    dup = sub.duplicated([id, week, "_o"], keep=False)
    if dup.any():
        first = sub[dup].iloc[0]
        rows = sub.loc[dup & (sub[id] == first[id]) & (sub[week] == first[week]) & (sub["_o"] == first["_o"]), "_row"]
        raise InputError(f"patient {first[id]!r} has more than one {first['_o']} value for week {first[week]} "
                         f"(rows {', '.join(map(str, rows))})", file=source, row=int(rows.iloc[1]), column=value_column)
    wide = sub.pivot(index=[id, week], columns="_o", values="_v").reindex(columns=list(outcomes)).reset_index()
    wide.columns.name = None
    if group is not None:
        g = sub.drop_duplicates([id, week]).set_index([id, week])[group]
        wide.insert(2, group, g.reindex(pd.MultiIndex.from_frame(wide[[id, week]])).to_numpy())
    return wide


def _prepare_long(frame, outcomes, *, id, week, group, groups, source, time_unit="week", notes=None):
    """Validated long table: columns _id, _week, _group, outcomes, _row (``notes`` collects what was left out)."""
    notes = [] if notes is None else notes
    check_frame(frame, source)
    if (isinstance(frame, pd.DataFrame) and {"outcome", "value"} <= set(frame.columns)
            and not all(o in frame.columns for o in outcomes)):
        frame = from_tidy(frame, outcomes, id=id, week=week, group=group, source=source)
    for col, what in ((id, "patient id"), (week, "week")):
        check_column(frame, col, what, source)
    for o in outcomes:
        check_column(frame, o, "outcome", source)
        if o in (id, week, group):
            raise InputError("an outcome cannot also be the id, week or group column", file=source, column=o)
    weeks = numeric_values(frame[week], week, source, strict=True)
    bad = np.flatnonzero(~np.isfinite(weeks))
    if bad.size:
        raise InputError("the visit week is missing; every row of a long table needs its week", file=source,
                         row=sheet_row(frame, int(bad[0])), column=week)
    ids = frame[id]
    idmiss = ids.isna().to_numpy() | ids.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(bool)
    if idmiss.any():
        raise InputError("the patient id is missing", file=source, row=sheet_row(frame, int(np.flatnonzero(idmiss)[0])), column=id)
    check_schedule(weeks, time_unit, column=week, source=source, n_patients=int(ids.nunique()))
    out = pd.DataFrame({"_id": [group_label(v) for v in ids.tolist()], "_week": weeks, "_row": sheet_rows(frame, range(len(frame)))})
    excluded = []
    if group is None:
        out["_group"] = "all"
        chosen = ["all"]
    else:
        labels, chosen, excluded = group_labels(frame, group, groups, source, min_groups=1)
        out["_group"] = labels
    for o in outcomes:
        out[o] = numeric_values(frame[o], o, source, strict=True)
    dup = out.duplicated(["_id", "_week"], keep=False)
    if dup.any():
        first = out[dup].iloc[0]
        rows = out.loc[dup & (out["_id"] == first["_id"]) & (out["_week"] == first["_week"]), "_row"].tolist()
        raise InputError(f"patient {first['_id']!r} has more than one row for week {fmt_plain(first['_week'])} "
                         f"(rows {', '.join(map(str, rows))}); give one value per patient and visit",
                         file=source, row=int(rows[1]), column=week)
    if group is not None:
        out = out[out["_group"].notna()]
        per = out.groupby("_id")["_group"].nunique()
        if (per > 1).any():
            pid = per[per > 1].index[0]
            rows = out.loc[out["_id"] == pid, "_row"].tolist()
            raise InputError(f"patient {pid!r} is in more than one group (rows {', '.join(map(str, rows))}); "
                             "a patient belongs to one group", file=source, column=group, value=pid)
        other = out.loc[~out["_group"].isin(chosen), "_group"]
        if len(other):
            counts = other.value_counts(sort=False)
            notes.append(f"{len(other)} row(s) of groups not analysed left out: "
                         + ", ".join(f"{g} ({k})" for g, k in counts.items()))
        out = out[out["_group"].isin(chosen)]
    return out.reset_index(drop=True), chosen, excluded


def _parse_weeks(weeks, source, week) -> list[float]:
    """Visit times from ``"0,4,12"`` or a sequence; InputError naming a value that is not a finite number."""
    items = [w.strip() for w in weeks.split(",") if w.strip()] if isinstance(weeks, str) else list(weeks)
    out = []
    for w in items:
        try:
            x = float(w)
        except (TypeError, ValueError):
            x = math.nan
        if not math.isfinite(x):
            raise InputError("a visit time must be a finite number; give them as 0,4,12", file=source, column=week,
                             value=w)
        out.append(x)
    return sorted(out)


def _weeks(data, weeks, source, week):
    present = sorted(set(data["_week"].tolist()))
    if weeks is None:
        return present
    weeks = _parse_weeks(weeks, source, week)
    for w in weeks:
        if w not in present:
            raise InputError(f"no visits at this week; weeks present: {', '.join(fmt_plain(x) for x in present)}",
                             file=source, column=week, value=w)
    if len(weeks) < 2:
        raise InputError("at least two weeks are needed", file=source, column=week)
    return weeks


def _wide(data, outcome, weeks) -> pd.DataFrame:
    sub = data[data["_week"].isin(weeks)]
    w = sub.pivot(index="_id", columns="_week", values=outcome)
    return w.reindex(columns=weeks)


def patient_declines(frame, outcome, start, end, *, id="person_id", week="week", group="group", source=None) -> pd.DataFrame:
    """Per-patient decline ``value(start) - value(end)`` of one outcome.

    Returns a frame with the id, group (if given), the two values and
    ``decline``, for the patients with a value at both weeks.
    """
    data, _, _ = _prepare_long(frame, [outcome], id=id, week=week, group=group, groups=None, source=source)
    w = _wide(data, outcome, sorted({float(start), float(end)}))
    if float(start) not in w.columns or float(end) not in w.columns:
        raise InputError("week not found", file=source, column=week)
    out = pd.DataFrame({id: w.index, "start": w[float(start)].to_numpy(), "end": w[float(end)].to_numpy()})
    out = out.dropna().reset_index(drop=True)
    out["decline"] = out["start"] - out["end"]
    if group is not None:
        g = data.drop_duplicates("_id").set_index("_id")["_group"]
        out.insert(1, group, out[id].map(g).to_numpy())
    return out


# ---------------------------------------------------------------------------
# over time within groups
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitTest:
    """Signed-rank test of one visit against baseline (patients with both values)."""

    week: float
    n: int
    statistic: float
    pval: float
    pval_adj: float
    method: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"week": float_or_none(self.week), "n": int(self.n), "statistic": float_or_none(self.statistic), "pval": float_or_none(self.pval),
                "pval_adj": float_or_none(self.pval_adj), "method": self.method, "note": self.note}


@dataclass(frozen=True)
class OverTimeSeries:
    """One outcome in one group across the visits."""

    outcome: str
    group: str
    weeks: tuple
    n: tuple
    median: tuple
    q1: tuple
    q3: tuple
    mean: tuple
    sd: tuple
    n_patients: int
    n_complete: int
    friedman: TestResult
    visits: tuple

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "group": self.group,
            "weeks": [float_or_none(w) for w in self.weeks],
            "n": [int(x) for x in self.n],
            "median": [float_or_none(x) for x in self.median],
            "q1": [float_or_none(x) for x in self.q1],
            "q3": [float_or_none(x) for x in self.q3],
            "mean": [float_or_none(x) for x in self.mean],
            "sd": [float_or_none(x) for x in self.sd],
            "n_patients": int(self.n_patients),
            "friedman": {"n_complete": int(self.n_complete), "n_incomplete": int(self.n_patients - self.n_complete),
                         **self.friedman.to_dict()},
            "visits": [v.to_dict() for v in self.visits],
        }


@dataclass(frozen=True, eq=False)
class OverTimeResult:
    """Within-group change over the visits (Figure 1)."""

    outcomes: tuple
    groups: tuple
    weeks: tuple
    baseline: float
    adjust: str
    exact: bool
    quartiles: int
    series: tuple
    data: pd.DataFrame
    group_column: str | None = None
    excluded: tuple = ()
    notes: tuple = ()
    time_unit: str = "week"

    def get(self, outcome: str, group: str) -> OverTimeSeries:
        for s in self.series:
            if s.outcome == outcome and s.group == str(group):
                return s
        raise KeyError((outcome, group))

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcomes": list(self.outcomes),
            "groups": list(self.groups),
            "weeks": [float_or_none(w) for w in self.weeks],
            "baseline": float_or_none(self.baseline),
            "adjust": self.adjust,
            "exact": self.exact,
            "quartiles": f"type {self.quartiles}",
            "series": [s.to_dict() for s in self.series],
            "excluded": [{"row": r, "reason": f"missing {self.group_column}"} for r in self.excluded],
            "notes": list(self.notes),
            "time_unit": self.time_unit,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome, group and week: n, median, Q1, Q3, mean, SD, the
        signed-rank P value against baseline (raw and adjusted), and the
        Friedman P value with its number of complete cases."""
        recs = []
        for s in self.series:
            vis = {v.week: v for v in s.visits}
            for i, w in enumerate(s.weeks):
                v = vis.get(w)
                recs.append({
                    "outcome": s.outcome, "group": s.group, "week": w, "n": s.n[i],
                    "median": s.median[i], "q1": s.q1[i], "q3": s.q3[i], "mean": s.mean[i], "sd": s.sd[i],
                    "n_pairs": v.n if v else np.nan,
                    "p_vs_baseline": v.pval if v else np.nan,
                    "p_adj": v.pval_adj if v else np.nan,
                    "friedman_n": s.n_complete, "friedman_p": s.friedman.pval,
                })
        return pd.DataFrame(recs)

    def summary(self) -> str:
        lines = [f"Change over time within groups; baseline {self.time_unit} {fmt_plain(self.baseline)}; signed-rank tests against baseline, "
                 f"{self.adjust} correction across visits; Friedman test on complete cases."]
        for s in self.series:
            fr = s.friedman
            lines.append(f"{s.outcome} — {s.group}: Friedman chi² = {fmt(fr.statistic, 'stat')}, df = {len(s.weeks) - 1}, "
                         f"{p_text(fr.pval)} ({fmt_n(s.n_complete)} of {fmt_n(s.n_patients)} patients complete)"
                         + (f" [{fr.note}]" if fr.note else ""))
            # decimals from the values' magnitude, as Table 1 (describe._auto_digits)
            d = _auto_digits([float(x) for x in (*s.median, *s.q1, *s.q3)])
            for i, w in enumerate(s.weeks):
                v = next((x for x in s.visits if x.week == w), None)
                ptxt = f", {p_text(v.pval)} (adjusted {p_text(v.pval_adj)}, n = {fmt_n(v.n)})" if v else " (baseline)"
                lines.append(f"  {time_label(w, self.time_unit)}: n = {fmt_n(s.n[i])}, median {fmt_fixed(s.median[i], d)} "
                             f"({fmt_fixed(s.q1[i], d)}–{fmt_fixed(s.q3[i], d)}){ptxt}")
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, path=None, **kwargs):
        """Figure 1 (see :func:`hepatostat.cohort.plots.plot_over_time`)."""
        from .plots import plot_over_time

        return plot_over_time(self, path, **kwargs)


def over_time(
    frame: pd.DataFrame,
    outcomes: str | Sequence[str],
    *,
    id: str = "person_id",  # noqa: A002 - the column's name
    week: str = "week",
    group: str | None = "group",
    groups: Sequence[str] | None = None,
    weeks: Sequence[float] | None = None,
    baseline: float | None = None,
    adjust: str = "holm",
    exact: bool = False,
    quartiles: str | int = "spss",
    source=None,
    time_unit: str = "week",
) -> OverTimeResult:
    """Change of each outcome over the visits within each group (Figure 1).

    Parameters
    ----------
    frame : pandas.DataFrame
        Long table: one row per patient and visit.
    outcomes : str or sequence of str
        Outcome columns (comma-separated string allowed).
    id, week, group : str
        Column names; ``group=None`` analyses all patients as one group ("all").
    groups : sequence of str, optional
        Groups to analyse (default all).
    weeks : sequence of float, optional
        Visits to use (default every week present).
    baseline : float, optional
        Baseline week (default the first).
    adjust : str
        Multiplicity correction of the visit-vs-baseline P values within each
        outcome and group: ``"holm"`` (default), ``"BH"``, ``"bonferroni"``,
        ``"hochberg"``, ``"BY"`` or ``"none"`` (see
        :func:`hepatostat.cohort.models.adjust_pvalues`).
    exact : bool
        Exact signed-rank P values when no differences are tied or zero.
    quartiles : str or int
        Quartile definition (default SPSS, type 6).

    Returns
    -------
    OverTimeResult

    Notes
    -----
    The Friedman test needs a value at every visit: it uses the patients with
    complete data (``n_complete`` of ``n_patients``, both reported). Each
    signed-rank test uses the patients with a value at baseline and at that
    visit; its ``n`` is reported. Signed ranks use the differences baseline −
    visit (R's V is the rank sum of falls). By default the P values use the
    normal approximation with tie and continuity correction, as
    ``wilcox.test(paired = TRUE, exact = FALSE, correct = TRUE)``.
    """
    outcomes = _outcome_list(outcomes)
    qtype = quartile_type(quartiles)
    notes: list = []
    data, chosen, excluded = _prepare_long(frame, outcomes, id=id, week=week, group=group, groups=groups, source=source,
                                           time_unit=time_unit, notes=notes)
    wk = _weeks(data, weeks, source, week)
    base = wk[0] if baseline is None else float(baseline)
    if base not in wk:
        raise InputError("the baseline week is not among the weeks", file=source, column=week, value=baseline)
    adjust_pvalues([0.5], adjust)  # validates the method name early
    series = []
    gmap = data.drop_duplicates("_id").set_index("_id")["_group"]
    for o in outcomes:
        wall = _wide(data, o, wk)
        gall = gmap.reindex(wall.index).to_numpy()
        for g in chosen:
            w = wall[gall == g]
            n = tuple(int(w[c].notna().sum()) for c in wk)
            med, q1, q3, mean, sd = [], [], [], [], []
            for c in wk:
                x = w[c].dropna().to_numpy()
                if x.size:
                    q = quantile(x, [0.25, 0.5, 0.75], qtype)
                    med.append(float(np.median(x))), q1.append(float(q[0])), q3.append(float(q[2]))
                    mean.append(float(x.mean())), sd.append(float(x.std(ddof=1)) if x.size > 1 else np.nan)
                else:
                    for lst in (med, q1, q3, mean, sd):
                        lst.append(np.nan)
            any_value = w.notna().any(axis=1)
            complete = w.notna().all(axis=1)
            cc = w[complete].to_numpy()
            fr = friedman_test(cc) if cc.shape[0] else TestResult.undefined("friedman", "no patient has a value at every visit")
            tests, raw = [], []
            for c in wk:
                if c == base:
                    continue
                ok = w[base].notna() & w[c].notna()
                if ok.sum() == 0:
                    t = TestResult.undefined("signed_rank", "no patient with values at both visits")
                else:
                    t = signed_rank(w.loc[ok, base].to_numpy(), w.loc[ok, c].to_numpy(), exact=exact)
                tests.append((c, int(ok.sum()), t))
                raw.append(t.pval)
            adj = adjust_pvalues(raw, adjust)
            visits = tuple(VisitTest(c, k, t.statistic, t.pval, float(a), t.method, t.note)
                           for (c, k, t), a in zip(tests, adj))
            series.append(OverTimeSeries(o, g, tuple(wk), n, tuple(med), tuple(q1), tuple(q3), tuple(mean), tuple(sd),
                                         int(any_value.sum()), int(complete.sum()), fr, visits))
    if excluded:
        notes.append(f"{len(excluded)} row(s) with a missing {group} left out")
    return OverTimeResult(tuple(outcomes), tuple(chosen), tuple(wk), base, str(adjust), bool(exact), qtype,
                          tuple(series), data, group, tuple(excluded), tuple(notes), time_unit)


# ---------------------------------------------------------------------------
# between groups on changes (Table 3)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PairTest:
    """The comparison of two groups' declines in one cell of Table 3."""

    a: str
    b: str
    test: str
    statistic: float
    pval: float
    pval_adj: float = np.nan
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.a} vs {self.b}"

    def to_dict(self) -> dict[str, Any]:
        return {"pair": [self.a, self.b], "test": self.test, "statistic": float_or_none(self.statistic), "pval": float_or_none(self.pval),
                "pval_adj": float_or_none(self.pval_adj), "note": self.note}


@dataclass(frozen=True)
class ChangeCell:
    """One outcome over one interval (or cumulatively from baseline)."""

    outcome: str
    start: float
    end: float
    cumulative: bool
    normal: bool
    groups: Mapping[str, Mapping[str, float]]
    pairs: tuple
    note: str = ""

    @property
    def label(self) -> str:
        return f"{week_label(self.start)}–{week_label(self.end)}"

    def value(self, group: str, digits: int = 2) -> str:
        s = self.groups[group]
        if s["n"] == 0:
            return "—"
        if self.normal:
            return f"{_fmt(s['mean'], digits)} ± {_fmt(s['sd'], digits)}"
        return f"{_fmt(s['median'], digits)} ({_fmt(s['q1'], digits)} to {_fmt(s['q3'], digits)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "column": self.label,
            "start": float_or_none(self.start),
            "end": float_or_none(self.end),
            "cumulative": self.cumulative,
            "normal": self.normal,
            "summary": "mean_sd" if self.normal else "median_iqr",
            "groups": {g: {k: (int(v) if k == "n" else float_or_none(v)) for k, v in s.items()} for g, s in self.groups.items()},
            "pairs": [p.to_dict() for p in self.pairs],
            "note": self.note,
        }


def _fmt(x, d):
    """At most ``d`` decimals, trailing zeros trimmed (37.5, 5.25, 214), as the seed's Table 3; never "-0"."""
    if x is None or not np.isfinite(x):
        return "NA"
    s = fmt_fixed(x, d, trim=True)
    return "0" if s in ("-0", "") else s


@dataclass(frozen=True, eq=False)
class ChangesResult:
    """Declines between visits compared between groups (Table 3)."""

    outcomes: tuple
    groups: tuple
    pairs: tuple
    columns: tuple  # (start, end, cumulative)
    cells: tuple
    normality: str
    alpha: float
    welch: bool
    exact: bool
    quartiles: int
    adjust: str | None
    group_column: str = "group"
    excluded: tuple = ()
    notes: tuple = ()
    time_unit: str = "week"

    def cell(self, outcome: str, start: float, end: float, cumulative: bool = False) -> ChangeCell:
        """The cell of one outcome and column (``cumulative=True`` for W0–Wt)."""
        for c in self.cells:
            if (c.outcome == outcome and c.start == float(start) and c.end == float(end)
                    and c.cumulative == bool(cumulative)):
                return c
        raise KeyError((outcome, start, end, cumulative))

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcomes": list(self.outcomes),
            "groups": list(self.groups),
            "pairs": [list(p) for p in self.pairs],
            "columns": [{"label": f"{time_label(a, self.time_unit)}–{time_label(b, self.time_unit)}", "start": float_or_none(a), "end": float_or_none(b), "cumulative": c}
                        for a, b, c in self.columns],
            "definition": "decline = value at the earlier week - value at the later week",
            "options": {"normality": self.normality, "alpha": self.alpha, "welch": self.welch, "exact": self.exact,
                        "quartiles": f"type {self.quartiles}", "adjust": self.adjust},
            "cells": [c.to_dict() for c in self.cells],
            "excluded": [{"row": r, "reason": f"missing {self.group_column}"} for r in self.excluded],
            "notes": list(self.notes),
            "time_unit": self.time_unit,
        }

    def to_frame(self, digits: int = 2, cumulative: bool | None = None) -> pd.DataFrame:
        """Table 3: rows outcome × group, then one ``P (A vs B)`` row per pair;
        one column per interval (and cumulative column). Values are
        "median (Q1 to Q3)" or "mean ± SD" by the normality rule, with at most
        ``digits`` decimals (trailing zeros trimmed); with ``adjust`` the P
        rows hold adjusted P values.

        ``cumulative``: None shows all columns, True only the cumulative ones,
        False only the intervals.
        """
        cols = [c for c in self.columns if cumulative is None or c[2] == cumulative]
        heads = [("cumulative " if c else "") + f"{time_label(a, self.time_unit)}–{time_label(b, self.time_unit)}" for a, b, c in cols]
        recs = []
        for o in self.outcomes:
            cells = [self.cell(o, a, b, c) for a, b, c in cols]
            for g in self.groups:
                recs.append({"outcome": o, "group": g, **{h: cl.value(g, digits) for h, cl in zip(heads, cells)}})
            for i, (a, b) in enumerate(self.pairs):
                row = {"outcome": o, "group": f"P ({a} vs {b})"}
                for h, cl in zip(heads, cells):
                    pt = cl.pairs[i]
                    row[h] = format_p(pt.pval_adj if self.adjust else pt.pval)
                recs.append(row)
        return pd.DataFrame(recs, columns=["outcome", "group", *heads])

    def summary(self) -> str:
        lines = ["Declines (earlier − later) compared between groups; "
                 + ("mean ± SD with " + ("Welch" if self.welch else "Student") + " t" ) + " when Shapiro-Wilk p >= "
                 + f"{fmt_plain(self.alpha)} in every group, else median (Q1 to Q3) with Mann-Whitney U"
                 + (f"; P values adjusted ({self.adjust}) within outcome and pair across columns" if self.adjust else "")]
        lines.append(table_text(self.to_frame()))
        for c in self.cells:
            if c.note:
                lines.append(f"Note ({c.outcome} {c.label}{' cumulative' if c.cumulative else ''}): {c.note}")
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, outcome: str, path=None, *, kind: str = "interval", **kwargs):
        """Figure 2 (``kind="interval"``) or Figure 3 (``kind="cumulative"``);
        see :func:`hepatostat.cohort.plots.plot_declines`."""
        from .plots import plot_declines

        return plot_declines(self, outcome, path, kind=kind, **kwargs)


def _parse_intervals(intervals, source):
    if isinstance(intervals, str):
        out = []
        for part in intervals.split(","):
            if not part.strip():
                continue
            try:
                a, b = part.split("-")
                out.append((float(a), float(b)))
            except ValueError:
                raise InputError(f"intervals look like '0-1,1-4,4-12'; cannot read {part!r}", file=source) from None
        intervals = out
    res = []
    for iv in intervals:
        if len(iv) != 2:
            raise InputError(f"an interval is a pair of weeks (start, end), got {iv!r}", file=source)
        a, b = float(iv[0]), float(iv[1])
        if not a < b:
            raise InputError(f"an interval must start before it ends, got {iv!r}", file=source)
        res.append((a, b))
    return res


def changes(
    frame: pd.DataFrame,
    outcomes: str | Sequence[str],
    *,
    id: str = "person_id",  # noqa: A002 - the column's name
    week: str = "week",
    group: str = "group",
    groups: Sequence[str] | None = None,
    pairs: Sequence[Sequence[str]] | str | None = None,
    intervals: Sequence[Sequence[float]] | str | None = None,
    cumulative: bool = True,
    baseline: float | None = None,
    normality: str = "shapiro",
    alpha: float = 0.05,
    welch: bool = False,
    exact: bool = False,
    quartiles: str | int = "spss",
    adjust: str | None = None,
    source=None,
    time_unit: str = "week",
) -> ChangesResult:
    """Compare declines between groups over intervals and cumulatively (Table 3).

    Parameters
    ----------
    frame : pandas.DataFrame
        Long table: one row per patient and visit.
    outcomes : str or sequence of str
        Outcome columns.
    id, week, group : str
        Column names.
    groups : sequence of str, optional
        Groups (rows of the table), default all, sorted.
    pairs : sequence of pairs or str, optional
        Group pairs to test, e.g. ``[("A","B"), ("C","D"), ("A","C"), ("B","D")]``
        or ``"A:B,C:D"``; default every pair of ``groups``.
    intervals : sequence of (start, end) or str, optional
        Default: consecutive weeks (W0–W1, W1–W4, W4–W12, W12–W24).
    cumulative : bool
        Add the cumulative declines baseline → each later week (W0–Wt).
    baseline : float, optional
        Baseline week of the cumulative declines (default the first week).
    normality, alpha, welch, exact, quartiles
        As in :func:`hepatostat.cohort.describe.table1`.
    adjust : str, optional
        Multiplicity correction of each pair's P values across the columns of
        an outcome (``"holm"``, ``"BH"``, …); default none, as the seed paper.

    Returns
    -------
    ChangesResult

    Notes
    -----
    ``decline = value(start) − value(end)`` per patient with values at both
    weeks; a fall is positive. The normality rule is applied per outcome and
    column across *all* groups of the table, so that a column is summarised
    one way and every pair in it is tested the same way (Student's or Welch's
    t when every group passes Shapiro-Wilk, else Mann-Whitney U).
    """
    outcomes = _outcome_list(outcomes)
    if normality not in NORMALITY:
        raise InputError(f"unknown normality rule {normality!r}; allowed: {', '.join(NORMALITY)}")
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise InputError(f"alpha must lie between 0 and 1, got {alpha!r}")
    qtype = quartile_type(quartiles)
    if adjust is not None:
        adjust_pvalues([0.5], adjust)
    pre_notes: list = []
    data, chosen, excluded = _prepare_long(frame, outcomes, id=id, week=week, group=group, groups=groups, source=source,
                                           time_unit=time_unit, notes=pre_notes)
    if len(chosen) < 2:
        raise InputError("at least two groups are needed to compare", file=source, column=group)
    wk = sorted(set(data["_week"].tolist()))
    if pairs is None:
        pairs = list(itertools.combinations(chosen, 2))
    else:
        if isinstance(pairs, str):
            pairs = [tuple(p.split(":")) for p in pairs.split(",") if p.strip()]
        pairs = [tuple(group_label(x) for x in p) for p in pairs]
        for p in pairs:
            if len(p) != 2 or p[0] == p[1]:
                raise InputError(f"each pair names two different groups, got {p!r}", file=source)
            for g in p:
                if g not in chosen:
                    raise InputError(f"group of a pair not among the groups ({', '.join(chosen)})", file=source,
                                     column=group, value=g)
    ivs = [(wk[i], wk[i + 1]) for i in range(len(wk) - 1)] if intervals is None else _parse_intervals(intervals, source)
    base = wk[0] if baseline is None else float(baseline)
    needed = {w for iv in ivs for w in iv} | {base}
    for w in sorted(needed):
        if w not in wk:
            raise InputError(f"no visits at this week; weeks present: {', '.join(fmt_plain(x) for x in wk)}",
                             file=source, column=week, value=w)
    columns = [(a, b, False) for a, b in ivs]
    if cumulative:
        columns += [(base, w, True) for w in wk if w > base]
    if not columns:
        raise InputError("no intervals to compare: the table needs at least two weeks", file=source, column=week)
    gmap = data.drop_duplicates("_id").set_index("_id")["_group"]
    cells = []
    for o in outcomes:
        w = _wide(data, o, wk)
        grp = gmap.reindex(w.index).to_numpy()
        for a, b, cum in columns:
            dec = (w[a] - w[b]).to_numpy()
            xs = {g: dec[(grp == g) & np.isfinite(dec)] for g in chosen}
            cells.append(_change_cell(o, a, b, cum, xs, chosen, pairs, normality, alpha, welch, exact, qtype))
    if adjust is not None:
        cells = _adjust_cells(cells, outcomes, pairs, adjust)
    notes = list(pre_notes)
    if excluded:
        notes.append(f"{len(excluded)} row(s) with a missing {group} left out")
    return ChangesResult(tuple(outcomes), tuple(chosen), tuple(tuple(p) for p in pairs), tuple(columns), tuple(cells),
                         normality, float(alpha), bool(welch), bool(exact), qtype, adjust, group, tuple(excluded),
                         tuple(notes), time_unit)


def _change_cell(o, a, b, cum, xs, chosen, pairs, normality, alpha, welch, exact, qtype) -> ChangeCell:
    summ = {}
    untestable = []
    for g in chosen:
        x = xs[g]
        sw = shapiro_wilk(x) if normality == "shapiro" and x.size else TestResult.undefined("shapiro_wilk", "no values")
        q = quantile(x, [0.25, 0.5, 0.75], qtype) if x.size else np.full(3, np.nan)
        summ[g] = {"n": int(x.size), "mean": float(x.mean()) if x.size else np.nan,
                   "sd": float(x.std(ddof=1)) if x.size > 1 else np.nan,
                   "median": float(np.median(x)) if x.size else np.nan, "q1": float(q[0]), "q3": float(q[2]),
                   "shapiro_p": sw.pval}
        if normality == "shapiro" and not np.isfinite(sw.pval):
            untestable.append(f"{g}: {sw.note}")
    notes = []
    if normality == "shapiro":
        normal = all(np.isfinite(summ[g]["shapiro_p"]) and summ[g]["shapiro_p"] >= alpha for g in chosen)
        if untestable:
            notes.append("Shapiro-Wilk not possible (" + "; ".join(untestable) + "): treated as not normal")
    else:
        normal = normality == "assume_normal"
    tests = []
    for p, q in pairs:
        x, y = xs[p], xs[q]
        if x.size == 0 or y.size == 0:
            t = TestResult.undefined("mann_whitney" if not normal else ("welch_t" if welch else "student_t"),
                          "a group without declines: no test")
        elif normal:
            t = welch_t(x, y) if welch else student_t(x, y)
        else:
            t = mann_whitney(x, y, exact=exact)
        tests.append(PairTest(p, q, t.test, t.statistic, t.pval, np.nan, t.note))
    return ChangeCell(o, float(a), float(b), bool(cum), bool(normal), summ, tuple(tests), "; ".join(notes))


def _adjust_cells(cells, outcomes, pairs, method):
    cells = list(cells)
    for o in outcomes:
        idx = [i for i, c in enumerate(cells) if c.outcome == o]
        for j in range(len(pairs)):
            adj = adjust_pvalues([cells[i].pairs[j].pval for i in idx], method)
            for i, a in zip(idx, adj):
                c = cells[i]
                new_pairs = list(c.pairs)
                pt = new_pairs[j]
                new_pairs[j] = PairTest(pt.a, pt.b, pt.test, pt.statistic, pt.pval, float(a), pt.note)
                cells[i] = ChangeCell(c.outcome, c.start, c.end, c.cumulative, c.normal, c.groups, tuple(new_pairs), c.note)
    return cells
