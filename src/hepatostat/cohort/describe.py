"""Table 1 and Table 2: baseline characteristics compared between groups.

``table1()`` describes every variable of a one-row-per-patient table by
group and tests the difference with the test that the seed cohort paper's
SPSS practice picks (DESIGN.md, "Cohort Table 1 defaults"):

* continuous: Shapiro-Wilk in every group; when every group has p >= 0.05 the
  variable is *normal* and is shown as mean ± SD and tested with Student's t
  test (2 groups) or one-way ANOVA (> 2 groups); otherwise it is shown as
  median (Q1-Q3) and tested with the Mann-Whitney U test (normal
  approximation with tie and continuity correction, as R's
  ``wilcox.test(exact = FALSE, correct = TRUE)``) or the Kruskal-Wallis test;
* categorical: counts (percent); Pearson's chi-square test without continuity
  correction, or Fisher's exact test when any expected count is < 5;
* quartiles by SPSS's definition (``HAVERAGE``, R ``quantile(type = 6)``).

The test used is named in every row (``student_t, welch_t, anova,
welch_anova, mann_whitney, kruskal, chi2, fisher``). ``table2()`` runs the
same for a list of group pairs (the seed's Table 2: A vs C and B vs D).

The elementary tests live in :mod:`hepatostat.stats` (thin wrappers of
scipy with the SPSS/R conventions); they are re-exported here for code
written against earlier versions.

References
----------
.. [1] Shapiro SS, Wilk MB (1965). An analysis of variance test for
   normality (complete samples). Biometrika 52(3/4):591-611.
   doi:10.1093/biomet/52.3-4.591; Royston P (1995). Remark AS R94: A remark
   on algorithm AS 181. Appl Stat 44(4):547-551. doi:10.2307/2986146
.. [2] Welch BL (1951). On the comparison of several mean values: an
   alternative approach. Biometrika 38(3/4):330-336. doi:10.1093/biomet/38.3-4.330
.. [3] Mann HB, Whitney DR (1947). On a test of whether one of two random
   variables is stochastically larger than the other. Ann Math Stat
   18(1):50-60. doi:10.1214/aoms/1177730491
.. [4] Hollander M, Wolfe DA, Chicken E (2014). Nonparametric Statistical
   Methods, 3rd ed. Wiley. (tie corrections of the rank tests; Hodges-Lehmann)
.. [5] Kruskal WH, Wallis WA (1952). Use of ranks in one-criterion variance
   analysis. J Am Stat Assoc 47(260):583-621. doi:10.1080/01621459.1952.10483441
.. [6] Mehta CR, Patel NR (1983). A network algorithm for performing
   Fisher's exact test in r x c contingency tables. J Am Stat Assoc
   78(382):427-434. doi:10.1080/01621459.1983.10477989
.. [7] Hyndman RJ, Fan Y (1996). Sample quantiles in statistical packages.
   Am Stat 50(4):361-365. doi:10.1080/00031305.1996.10473566
.. [8] IBM Corp. IBM SPSS Statistics 22 Algorithms, EXAMINE: percentiles,
   method HAVERAGE (weighted average at x_{(n+1)p}).
.. [9] Austin PC (2009). Balance diagnostics for comparing the distribution
   of baseline covariates between treatment groups in propensity-score
   matched samples. Stat Med 28(25):3083-3107. doi:10.1002/sim.3697
.. [10] Yang D, Dalton JE (2012). A unified approach to measuring the effect
   size between two groups using SAS. SAS Global Forum 2012, paper 335-2012.
.. [11] Austin PC, Stuart EA (2015). Moving towards best practice when using
   inverse probability of treatment weighting (IPTW) using the propensity
   score to estimate causal treatment effects in observational studies.
   Stat Med 34(28):3661-3679. doi:10.1002/sim.6607
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.format import fmt_fixed, fmt_n, fmt_plain, fmt_sig, table_text
from ..stats import (  # noqa: F401 - re-exported for earlier imports from this module
    EXACT_MAX_PAIRS,
    FISHER_MAX_NODES,
    TestResult,
    anova,
    chi_square,
    fisher_exact,
    float_or_none,
    format_p,
    kruskal_wallis,
    mann_whitney,
    min_expected,
    p_text,
    quantile,
    quartile_type,
    shapiro_wilk,
    signed_rank,
    standardized_difference,
    standardized_difference_categorical,
    student_t,
    welch_anova,
    welch_t,
)
from .columns import check_column, check_frame, group_label, group_labels, is_missing, numeric_values, py_value, sheet_row  # noqa: F401

__all__ = [
    "TESTS",
    "NORMALITY",
    "ID_COLUMNS",
    "EXACT_MAX_PAIRS",
    "FISHER_MAX_NODES",
    "TestResult",
    "Table1Row",
    "Table1Result",
    "Table2Result",
    "table1",
    "table2",
    "check_one_row_per_patient",
    "AUTO_RULE",
    "quantile",
    "quartile_type",
    "shapiro_wilk",
    "student_t",
    "welch_t",
    "anova",
    "welch_anova",
    "mann_whitney",
    "kruskal_wallis",
    "signed_rank",
    "chi_square",
    "fisher_exact",
    "standardized_difference",
    "standardized_difference_categorical",
    "format_p",
    "p_text",
]

#: names of the tests a Table 1 row may carry (DESIGN.md contract)
TESTS = ("student_t", "welch_t", "anova", "welch_anova", "mann_whitney", "kruskal", "chi2", "fisher")
#: ways of deciding normality
NORMALITY = ("shapiro", "assume_normal", "nonparametric")
#: column names taken for a patient id (compared after snake-casing): never
#: described, and a repeated value stops Table 1 (one row per patient)
ID_COLUMNS = ("person_id", "id", "patient_id", "patientid", "subject_id", "subjectid", "participant_id", "pid",
              "record_id", "study_id", "case_id", "mrn", "patient", "subject", "patient_no", "patient_number", "id_no")
#: the 0/1 and few-level rule: a numeric column with only whole numbers and at
#: most this many distinct values (and at least AUTO_MIN_ROWS values) is categorical
AUTO_MAX_LEVELS = 5
AUTO_MIN_ROWS = 20
AUTO_RULE = (f"numeric columns holding only 0/1, or at most {AUTO_MAX_LEVELS} distinct whole numbers in "
             f"{AUTO_MIN_ROWS} or more rows, are described as categorical")


# ---------------------------------------------------------------------------
# Table 1
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Table1Row:
    """One variable of a Table 1: summaries per group and the test of difference.

    ``groups`` maps each group to its summary: ``n, missing, mean, sd,
    median, q1, q3, min, max, shapiro_w, shapiro_p`` (continuous) or ``n,
    missing, counts, percent`` (categorical; ``percent`` of the non-missing
    ``n``). ``normal`` is None for categorical variables.
    """

    variable: str
    kind: str
    normal: bool | None
    test: str | None
    pval: float
    statistic: float
    df: tuple
    groups: Mapping[str, Mapping[str, Any]]
    levels: tuple = ()
    smd: float = np.nan
    method: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        g = {}
        for name, d in self.groups.items():
            if self.kind == "categorical":
                g[name] = {
                    "n": int(d["n"]),
                    "missing": int(d["missing"]),
                    "counts": {lv: int(d["counts"][lv]) for lv in self.levels},
                    "percent": {lv: float_or_none(d["percent"][lv]) for lv in self.levels},
                }
            else:
                g[name] = {k: (int(v) if k in ("n", "missing") else float_or_none(v)) for k, v in d.items()}
        return {
            "variable": self.variable,
            "kind": self.kind,
            "normal": self.normal,
            "test": self.test,
            "pval": float_or_none(self.pval),
            "statistic": float_or_none(self.statistic),
            "df": [float_or_none(x) for x in self.df],
            "method": self.method,
            "smd": float_or_none(self.smd),
            "levels": list(self.levels) if self.kind == "categorical" else None,
            "note": self.note,
            "groups": g,
        }


def _auto_digits(values) -> int:
    vals = [abs(v) for v in values if v is not None and np.isfinite(v) and v != 0]
    if not vals:
        return 1
    mag = math.floor(math.log10(max(vals)))
    return int(min(3, max(0, 2 - mag)))


def _num(x, d) -> str:
    return "NA" if x is None or not np.isfinite(x) else fmt_fixed(x, d)


@dataclass(frozen=True, eq=False)
class Table1Result:
    """A Table 1: one :class:`Table1Row` per variable, compared across ``groups``.

    ``n`` is the number of patients per group; ``excluded`` lists the
    spreadsheet row numbers left out because their group is missing.
    """

    group: str
    groups: tuple
    n: Mapping[str, int]
    rows: tuple
    normality: str
    alpha: float
    welch: bool
    exact: bool
    quartiles: int
    smd: bool
    missing_row: bool
    excluded: tuple = ()
    notes: tuple = ()

    def row(self, variable: str) -> Table1Row:
        for r in self.rows:
            if r.variable == variable:
                return r
        raise KeyError(variable)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``hepatostat cohort table1`` (DESIGN.md contract)."""
        return {
            "group": self.group,
            "groups": list(self.groups),
            "n": {g: int(self.n[g]) for g in self.groups},
            "rows": [r.to_dict() for r in self.rows],
            "options": {
                "normality": self.normality,
                "alpha": self.alpha,
                "welch": self.welch,
                "exact": self.exact,
                "quartiles": f"type {self.quartiles}" + (" (SPSS)" if self.quartiles == 6 else ""),
                "smd": self.smd,
            },
            "excluded": [{"row": r, "reason": f"missing {self.group}"} for r in self.excluded],
            "notes": list(self.notes),
        }

    def _layout(self, digits=None) -> list[dict]:
        """Rows of the publication table: ``key`` (variable, part, level), ``label``,
        ``plain`` (label without the summary format), per-group ``cells``, ``p``, ``test``, ``smd``."""
        out = []
        for r in self.rows:
            if r.kind == "continuous":
                d = digits.get(r.variable) if isinstance(digits, Mapping) else digits
                if d is None:
                    d = _auto_digits([r.groups[g]["mean" if r.normal else "median"] for g in self.groups])
                cells = {}
                for g in self.groups:
                    st = r.groups[g]
                    if st["n"] == 0:
                        cells[g] = "—"
                    elif r.normal:
                        cells[g] = f"{_num(st['mean'], d)} ± {_num(st['sd'], d)}"
                    else:
                        cells[g] = f"{_num(st['median'], d)} ({_num(st['q1'], d)}–{_num(st['q3'], d)})"
                fmt = "mean ± SD" if r.normal else "median (Q1–Q3)"
                out.append({"key": (r.variable, 0, ""), "label": f"{r.variable}, {fmt}", "plain": r.variable,
                            "cells": cells, "p": format_p(r.pval), "test": r.test or "", "smd": _num(r.smd, 3)})
            else:
                out.append({"key": (r.variable, 0, ""), "label": f"{r.variable}, n (%)", "plain": f"{r.variable}, n (%)",
                            "cells": {g: "" for g in self.groups}, "p": format_p(r.pval), "test": r.test or "",
                            "smd": _num(r.smd, 3)})
                for lv in r.levels:
                    cells = {}
                    for g in self.groups:
                        st = r.groups[g]
                        cells[g] = f"{fmt_n(st['counts'][lv])} ({_num(st['percent'][lv], 1)})" if st["n"] else "—"
                    out.append({"key": (r.variable, 1, lv), "label": f"  {lv}", "plain": f"  {lv}", "cells": cells,
                                "p": "", "test": "", "smd": ""})
            if self.missing_row and any(r.groups[g]["missing"] for g in self.groups):
                out.append({"key": (r.variable, 2, ""), "label": "  missing, n", "plain": "  missing, n",
                            "cells": {g: str(int(r.groups[g]["missing"])) for g in self.groups},
                            "p": "", "test": "", "smd": ""})
        return out

    def to_frame(self, digits: int | Mapping[str, int] | None = None) -> pd.DataFrame:
        """A publication-style table: one row per variable (plus level rows for
        categorical variables and, with ``missing_row``, a "missing, n" row where
        values are missing), cells "mean ± SD", "median (Q1–Q3)" or "n (%)",
        then ``p`` and ``test`` (and ``SMD``).

        ``digits``: decimals of the summaries; None chooses three significant
        digits of the largest centre per variable (0 to 3 decimals); a mapping
        gives them per variable.
        """
        heads = [f"{g} (n = {self.n[g]})" for g in self.groups]
        recs = []
        for row in self._layout(digits):
            rec = {"variable": row["label"]}
            rec.update({h: row["cells"][g] for g, h in zip(self.groups, heads)})
            rec.update({"p": row["p"], "test": row["test"]})
            if self.smd:
                rec["SMD"] = row["smd"]
            recs.append(rec)
        return pd.DataFrame(recs, columns=["variable", *heads, "p", "test"] + (["SMD"] if self.smd else []))

    def summary(self) -> str:
        """The table as text, with the rule, the tests used and every note."""
        frame = self.to_frame()
        lines = [f"Table 1 by {self.group}: " + ", ".join(f"{g} (n = {fmt_n(self.n[g])})" for g in self.groups)]
        lines.append(table_text(frame))
        rule = {
            "shapiro": f"normal when Shapiro-Wilk p >= {fmt_plain(self.alpha)} in every group",
            "assume_normal": "all continuous variables treated as normal",
            "nonparametric": "all continuous variables treated as non-normal",
        }[self.normality]
        lines.append(
            f"Rule: {rule}; quartiles: type {self.quartiles}"
            + (" (SPSS)" if self.quartiles == 6 else "")
            + f"; {'Welch' if self.welch else 'Student'} t / {'Welch ANOVA' if self.welch else 'ANOVA'} for normal variables,"
            + f" Mann-Whitney U ({'exact when no ties' if self.exact else 'normal approximation'}) / Kruskal-Wallis otherwise;"
            + " chi-square (no continuity correction), Fisher's exact test when an expected count < 5."
        )
        for r in self.rows:
            if r.note:
                lines.append(f"Note ({r.variable}): {r.note}")
        if self.excluded:
            lines.append(f"Excluded: {fmt_n(len(self.excluded))} row(s) with missing {self.group}")
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _continuous_row(var, values, labels, groups, *, normality, alpha, welch, exact, qtype, smd) -> Table1Row:
    summ: dict[str, dict] = {}
    xs: dict[str, np.ndarray] = {}
    notes = []
    untestable = []
    for g in groups:
        sel = labels == g
        v = values[sel]
        x = v[np.isfinite(v)]
        xs[g] = x
        sw = shapiro_wilk(x) if normality == "shapiro" and x.size else TestResult.undefined("shapiro_wilk", "")
        q = quantile(x, [0.25, 0.5, 0.75], qtype) if x.size else np.full(3, np.nan)
        summ[g] = {
            "n": int(x.size),
            "missing": int(sel.sum() - x.size),
            "mean": float(x.mean()) if x.size else np.nan,
            "sd": float(x.std(ddof=1)) if x.size > 1 else np.nan,
            "median": float(np.median(x)) if x.size else np.nan,
            "q1": float(q[0]),
            "q3": float(q[2]),
            "min": float(x.min()) if x.size else np.nan,
            "max": float(x.max()) if x.size else np.nan,
            "shapiro_w": sw.statistic,
            "shapiro_p": sw.pval,
        }
        if normality == "shapiro" and x.size and not np.isfinite(sw.pval):
            untestable.append(f"{g}: {sw.note}")
    tested = [g for g in groups if xs[g].size > 0]
    empty = [g for g in groups if xs[g].size == 0]
    if empty:
        notes.append(f"no values in group{'s' if len(empty) > 1 else ''} {', '.join(empty)}: left out of the test")
    if normality == "shapiro":
        normal = bool(tested) and all(np.isfinite(summ[g]["shapiro_p"]) and summ[g]["shapiro_p"] >= alpha for g in tested)
        if untestable:
            notes.append("Shapiro-Wilk not possible (" + "; ".join(untestable) + "): treated as not normal")
    else:
        normal = normality == "assume_normal"
    smd_val = np.nan
    if smd and len(tested) >= 2:
        vals = [abs(standardized_difference(xs[a], xs[b])) for a, b in itertools.combinations(tested, 2)]
        smd_val = float(np.nanmax(vals)) if np.any(np.isfinite(vals)) else np.nan
    samples = [xs[g] for g in tested]
    if len(tested) < 2:
        test = ("welch_t" if welch else "student_t") if normal else "mann_whitney"
        if len(groups) > 2:
            test = ("welch_anova" if welch else "anova") if normal else "kruskal"
        tr = TestResult.undefined(test, "fewer than two groups with values: no test")
    elif len(tested) == 2:
        if normal:
            tr = welch_t(*samples) if welch else student_t(*samples)
        else:
            tr = mann_whitney(*samples, exact=exact)
    else:
        if normal:
            tr = welch_anova(*samples) if welch else anova(*samples)
        else:
            tr = kruskal_wallis(*samples)
    allv = np.concatenate(samples) if samples else np.array([])
    if allv.size and np.ptp(allv) == 0:
        notes.append("all values are equal: the test is undefined")
    elif tr.note:
        notes.append(tr.note)
    return Table1Row(var, "continuous", bool(normal), tr.test, tr.pval, tr.statistic, tr.df, summ, (), smd_val,
                     tr.method, "; ".join(notes))


def _level_order(series: pd.Series, miss: np.ndarray) -> list[str]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return [group_label(c) for c in series.cat.categories]
    vals = series[~miss]
    if pd.api.types.is_numeric_dtype(vals.dtype) and not pd.api.types.is_bool_dtype(vals.dtype):
        return [group_label(v) for v in sorted(pd.unique(vals))]
    return sorted({group_label(v) for v in vals.tolist()})


def _categorical_row(var, series, labels, groups, *, smd) -> Table1Row:
    miss = is_missing(series)
    vals = np.array([None if m else group_label(v) for v, m in zip(series.tolist(), miss)], dtype=object)
    levels = [lv for lv in _level_order(series, miss) if any(vals[labels == g].tolist().count(lv) for g in groups)]
    summ = {}
    for g in groups:
        sel = labels == g
        v = [x for x in vals[sel] if x is not None]
        counts = {lv: v.count(lv) for lv in levels}
        n = len(v)
        summ[g] = {
            "n": n,
            "missing": int(sel.sum() - n),
            "counts": counts,
            "percent": {lv: (100 * counts[lv] / n if n else np.nan) for lv in levels},
        }
    table = np.array([[summ[g]["counts"][lv] for g in groups] for lv in levels], dtype=np.int64).reshape(len(levels), len(groups))
    notes = []
    empty = [g for g in groups if summ[g]["n"] == 0]
    if empty:
        notes.append(f"no values in group{'s' if len(empty) > 1 else ''} {', '.join(empty)}: left out of the test")
    smd_val = np.nan
    tested = [g for g in groups if summ[g]["n"] > 0]
    if smd and len(tested) >= 2 and len(levels) >= 2:
        vals_smd = [standardized_difference_categorical(table[:, groups.index(a)], table[:, groups.index(b)])
                    for a, b in itertools.combinations(tested, 2)]
        smd_val = float(np.nanmax(vals_smd)) if np.any(np.isfinite(vals_smd)) else np.nan
    t = table[:, [groups.index(g) for g in tested]] if tested else np.zeros((len(levels), 0), np.int64)
    if len(levels) < 2 or len(tested) < 2:
        why = "only one level observed" if len(levels) < 2 else "fewer than two groups with values"
        notes.append(f"{why}: no test")
        tr = TestResult.undefined("chi2", "")
    else:
        me = min_expected(t)
        if me < 5:
            tr = fisher_exact(t)
            notes.append(f"smallest expected count {fmt_sig(me, 3)} < 5: Fisher's exact test")
            if tr.note:
                notes.append(tr.note)
        else:
            tr = chi_square(t)
    return Table1Row(var, "categorical", None, tr.test, tr.pval, tr.statistic, tr.df, summ, tuple(levels), smd_val,
                     tr.method, "; ".join(notes))


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [c.strip() for c in value.split(",") if c.strip()]
    return list(value)


def _is_id_name(column) -> bool:
    import re

    key = re.sub(r"[^0-9a-z]+", "_", str(column).strip().lower()).strip("_")
    return key in ID_COLUMNS


def _few_levels(series: pd.Series) -> bool:
    """The 0/1 and few-level rule (``AUTO_RULE``) for one numeric column."""
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return False
    v = series.dropna().to_numpy(dtype=float)
    if v.size == 0 or not np.all(np.isfinite(v)) or not np.all(v == np.round(v)):
        return False
    levels = np.unique(v)
    if set(levels.tolist()) <= {0.0, 1.0}:
        return True
    return levels.size <= AUTO_MAX_LEVELS and v.size >= AUTO_MIN_ROWS


def check_one_row_per_patient(frame: pd.DataFrame, id: str | None, group: str | None, source=None) -> str | None:  # noqa: A002
    """The id column of a one-row-per-patient table; InputError when an id repeats.

    ``id`` given: that column (``"none"``: no check). Otherwise the first
    column named as in ``ID_COLUMNS`` or declared ``type = "id"`` in a data
    dictionary; None when there is none.
    """
    if isinstance(id, str) and id.strip().lower() == "none":
        return None
    kinds = frame.attrs.get("kinds", {}) if isinstance(frame.attrs, dict) else {}
    if id is None:
        cands = [c for c in frame.columns if kinds.get(c) == "id"] + [c for c in frame.columns if _is_id_name(c)]
        cands = [c for c in cands if c != group]
        if not cands:
            return None
        id = cands[0]
    else:
        check_column(frame, id, "id", source)
    col = frame[id]
    present = col[~is_missing(col)]
    dup = present.duplicated(keep=False)
    if dup.any():
        n_rows, n_ids = int(present.size), int(present.nunique())
        first = present[dup].iloc[0]
        pos = np.flatnonzero((col == first).to_numpy())
        rows = [sheet_row(frame, int(i)) for i in pos[:5]]
        visit_cols = [c for c in frame.columns if str(c).strip().lower() in
                      ("week", "visit", "day", "month", "visit_week", "visit_day", "time", "date", "visit_date", "futime")]
        how = (f"keep one row per patient - the baseline visit (e.g. the rows where {visit_cols[0]} is 0 or earliest)"
               if visit_cols else "keep one row per patient (the baseline row)")
        raise InputError(
            f"the id repeats: {n_rows} rows for {n_ids} patients (patient {py_value(first)!r} in rows "
            f"{', '.join(map(str, rows))}{', …' if pos.size > 5 else ''}). Table 1 compares patients, not visits: {how}, "
            "or run 'hepatostat cohort build' to get one baseline row per patient; if the rows really are "
            "independent, pass --id none",
            file=source, column=id, row=rows[1] if len(rows) > 1 else None)
    return id


def table1(
    frame: pd.DataFrame,
    group: str,
    *,
    groups: Sequence[str] | None = None,
    variables: Sequence[str] | None = None,
    categorical: Iterable[str] | None = None,
    normality: str = "shapiro",
    alpha: float = 0.05,
    welch: bool = False,
    exact: bool = False,
    quartiles: str | int = "spss",
    smd: bool = False,
    missing_row: bool = True,
    source=None,
    id: str | None = None,  # noqa: A002 - the column's usual name
    continuous: Iterable[str] | None = None,
    auto_categorical: bool = True,
) -> Table1Result:
    """Describe and compare baseline characteristics by group (Table 1).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient.
    group : str
        The column holding the group. Rows with a missing group are left out
        and listed in ``excluded``.
    groups : sequence of str, optional
        The groups to compare, in this order (default: all, sorted). Rows of
        other groups are ignored.
    variables : sequence of str, optional
        The variables to describe, in this order (default: every column but
        ``group`` and ``person_id``).
    categorical : iterable of str, optional
        Columns to describe as categorical. When not given, text, boolean and
        pandas categorical columns (SPSS/Stata value labels) are categorical,
        columns a data dictionary declares (``frame.attrs["kinds"]``) are as
        declared, and numeric columns are continuous except under the 0/1 and
        few-level rule (``AUTO_RULE``, printed in ``notes``). When given,
        every other variable must be numeric.
    continuous : iterable of str, optional
        Columns to describe as continuous whatever the rule says.
    auto_categorical : bool
        Apply the 0/1 and few-level rule (default True).
    id : str, optional
        The patient id column ("none" for no check). By default a column
        named as in ``ID_COLUMNS`` (person_id, id, patient_id, ...) or
        declared ``type = "id"``. A repeated id is an error: Table 1 needs one
        row per patient.
    normality : {"shapiro", "assume_normal", "nonparametric"}
        ``"shapiro"`` (default): the rule of DESIGN.md; the others force the
        parametric or the rank-based summary and test for every continuous
        variable.
    alpha : float
        Shapiro-Wilk level (0.05): normal when p >= alpha in every group.
    welch : bool
        Welch's t test / Welch's ANOVA instead of Student's t / ANOVA for
        normal variables.
    exact : bool
        Exact Mann-Whitney P value when there are no ties (as
        ``wilcox.test(exact = TRUE)``).
    quartiles : str or int
        ``"spss"`` (type 6, default), ``"r"`` (type 7), ``"sas"`` (type 2) or
        a Hyndman-Fan type 1-9.
    smd : bool
        Add the standardized difference: absolute SMD of means for continuous
        variables (Austin 2009), Yang & Dalton's SMD for categorical ones; with
        more than two groups the largest pairwise value.
    missing_row : bool
        Add a "missing, n" row under variables with missing values in
        :meth:`Table1Result.to_frame`.
    source : str, optional
        File name used in error messages.

    Returns
    -------
    Table1Result

    Raises
    ------
    hepatostat.errors.InputError
        Missing columns, unknown groups, fewer than two groups, a non-numeric
        cell in a continuous variable (the message names the column, the
        spreadsheet row and the value), bad options.

    Notes
    -----
    Degenerate input has one behaviour each, stated in the row's ``note``:

    * a group with fewer than 3 values, more than 5000 values, or all values
      equal cannot be tested by Shapiro-Wilk; the variable is then treated as
      not normal (median (Q1–Q3), rank test), a conservative choice that is
      valid whatever the distribution;
    * all values equal across the groups: the rank tests are undefined and
      ``pval`` is None (NaN), as in R;
    * a variable with no values in a group: that group is left out of the test
      (with two groups, no test);
    * categorical variables with one observed level: no test. Levels never
      observed in the compared groups are not shown; percentages are of the
      non-missing values.
    """
    check_frame(frame, source)
    if normality not in NORMALITY:
        raise InputError(f"unknown normality rule {normality!r}; allowed: {', '.join(NORMALITY)}")
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise InputError(f"alpha must lie between 0 and 1, got {alpha!r}")
    qtype = quartile_type(quartiles)
    notes = []
    id_col = check_one_row_per_patient(frame, id, group, source)
    labels, chosen, excluded = group_labels(frame, group, groups, source)
    kinds = dict(frame.attrs.get("kinds", {})) if isinstance(frame.attrs, dict) else {}
    skipped = []
    if variables is None:
        variables = []
        for c in frame.columns:
            if c == group or c == id_col or (id_col is None and _is_id_name(c)) or kinds.get(c) == "id":
                continue
            if kinds.get(c) in ("date", "text") or pd.api.types.is_datetime64_any_dtype(frame[c].dtype):
                skipped.append(f"{c} ({'date' if kinds.get(c) != 'text' else 'free text'})")
                continue
            variables.append(c)
        if skipped:
            notes.append("not described: " + ", ".join(skipped) + " (name them in variables= to describe them)")
        if not variables:
            raise InputError("the table has no columns to describe besides the group", file=source)
    else:
        if isinstance(variables, str):
            variables = [v.strip() for v in variables.split(",")]
        variables = list(variables)
        if not variables:
            raise InputError("variables is empty; name at least one column", file=source)
        for v in variables:
            check_column(frame, v, "variable", source)
            if v == group:
                raise InputError("the group column cannot also be a variable", file=source, column=v)
    cont_set = set(_as_list(continuous))
    for c in cont_set:
        check_column(frame, c, "continuous", source)
    if categorical is None:
        cat_set = {c for c in variables if kinds.get(c) == "categorical" and c not in cont_set}
        cont_set |= {c for c in variables if kinds.get(c) == "continuous"}
        strict = False
        if auto_categorical:
            ruled = [c for c in variables if c not in cat_set and c not in cont_set and _few_levels(frame[c])]
            if ruled:
                cat_set |= set(ruled)
                notes.append(f"{AUTO_RULE}: {', '.join(ruled)} (override with continuous= / --continuous, or a data "
                             "dictionary's type)")
    else:
        if isinstance(categorical, str):
            categorical = [c.strip() for c in categorical.split(",") if c.strip()]
        cat_set, strict = set(categorical), True
        for c in cat_set:
            check_column(frame, c, "categorical", source)
    in_groups = np.array([lab in set(chosen) for lab in labels])
    rows = []
    for var in variables:
        series = frame[var]
        values = None if var in cat_set else numeric_values(series, var, source, strict=strict or var in cont_set)
        if values is None:
            rows.append(_categorical_row(var, series[in_groups].reset_index(drop=True), labels[in_groups], chosen, smd=smd))
        else:
            rows.append(_continuous_row(var, values[in_groups], labels[in_groups], chosen, normality=normality,
                                        alpha=alpha, welch=welch, exact=exact, qtype=qtype, smd=smd))
    n = {g: int(np.sum(labels == g)) for g in chosen}
    if excluded:
        notes.append(f"{len(excluded)} row(s) with a missing {group} left out (rows {', '.join(map(str, excluded[:10]))}"
                     + (", …" if len(excluded) > 10 else "") + ")")
    others = [lab for lab in labels if lab is not None and lab not in set(chosen)]
    if others:
        counts = pd.Series(others).value_counts(sort=False)
        notes.append(f"{len(others)} row(s) of groups not compared left out: "
                     + ", ".join(f"{g} ({k})" for g, k in counts.items()))
    return Table1Result(group=str(group), groups=tuple(chosen), n=n, rows=tuple(rows), normality=normality,
                        alpha=float(alpha), welch=bool(welch), exact=bool(exact), quartiles=qtype, smd=bool(smd),
                        missing_row=bool(missing_row), excluded=tuple(excluded), notes=tuple(notes))


# ---------------------------------------------------------------------------
# Table 2
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Table2Result:
    """Table 1 for several group pairs side by side (the seed's Table 2)."""

    group: str
    pairs: tuple
    tables: tuple

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "pairs": [{"pair": list(p), **t.to_dict()} for p, t in zip(self.pairs, self.tables)],
        }

    def to_frame(self, digits=None) -> pd.DataFrame:
        """Variables as rows; for each pair its two group columns, ``p (A vs C)``
        and ``test (A vs C)``. A continuous variable summarised differently in
        two pairs (mean ± SD in one, median (Q1–Q3) in the other) is labelled
        by its name only; the cells show which summary is which."""
        layouts = [t._layout(digits) for t in self.tables]
        order: list = []
        labels: dict = {}
        for lay in layouts:
            for row in lay:
                k = row["key"]
                if k not in labels:
                    order.append(k)
                    labels[k] = row["label"]
                elif labels[k] != row["label"]:
                    labels[k] = row["plain"]
        var_rank = {}
        for k in order:
            var_rank.setdefault(k[0], len(var_rank))
        order.sort(key=lambda k: (var_rank[k[0]], k[1]))
        recs = {k: {"variable": labels[k]} for k in order}
        columns = ["variable"]
        for (a, b), t, lay in zip(self.pairs, self.tables, layouts):
            heads = [f"{g} (n = {t.n[g]})" for g in (a, b)]
            extra = [f"p ({a} vs {b})", f"test ({a} vs {b})"] + ([f"SMD ({a} vs {b})"] if t.smd else [])
            columns += heads + extra
            by_key = {row["key"]: row for row in lay}
            for k in order:
                row = by_key.get(k)
                for g, h in zip((a, b), heads):
                    # a "missing, n" row that only another pair needs reads 0 here
                    recs[k][h] = row["cells"][g] if row else ("0" if k[1] == 2 else "")
                recs[k][extra[0]] = row["p"] if row else ""
                recs[k][extra[1]] = row["test"] if row else ""
                if t.smd:
                    recs[k][extra[2]] = row["smd"] if row else ""
        return pd.DataFrame([recs[k] for k in order], columns=columns)

    def summary(self) -> str:
        return "\n\n".join(f"Pair {a} vs {b}\n" + t.summary() for (a, b), t in zip(self.pairs, self.tables))

    def __str__(self) -> str:
        return self.summary()


def table2(frame: pd.DataFrame, group: str, pairs: Sequence[Sequence[str]] = (("A", "C"), ("B", "D")), **options) -> Table2Result:
    """Table 1 for each pair of groups (default A vs C and B vs D, the seed's Table 2).

    ``pairs`` is a sequence of two-group tuples (or ``"A:C,B:D"``); every
    other keyword is passed to :func:`table1`.
    """
    if isinstance(pairs, str):
        pairs = [tuple(p.split(":")) for p in pairs.split(",") if p.strip()]
    pairs = [tuple(group_label(x) for x in p) for p in pairs]
    if not pairs:
        raise InputError("pairs is empty; give at least one pair of groups, e.g. [('A', 'C')]")
    for p in pairs:
        if len(p) != 2 or p[0] == p[1]:
            raise InputError(f"each pair names two different groups, got {p!r}")
    if "groups" in options:
        raise InputError("table2() takes pairs=, not groups=")
    tables = tuple(table1(frame, group, groups=list(p), **options) for p in pairs)
    return Table2Result(group=str(group), pairs=tuple(pairs), tables=tables)
