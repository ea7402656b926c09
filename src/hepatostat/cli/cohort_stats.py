"""``hepatostat cohort table1|table2|changes|overtime``: cohort statistics.

Plain click commands (not a group); the ``cohort`` group attaches them:
``table1_cmd``, ``table2_cmd``, ``changes_cmd``, ``overtime_cmd``. Each reads
a table with :func:`hepatostat.io.read_table` (CSV/TSV sniffed, Excel, SPSS,
Stata, Parquet, DuckDB; an optional data dictionary), calls the public API of
:mod:`hepatostat.cohort.describe` / :mod:`hepatostat.cohort.longitudinal`
and prints the result as a table, one JSON object or CSV; ``--docx`` and
``--xlsx`` also write the table as a Word three-line table or an Excel sheet.
"""

from __future__ import annotations

import click

from .common import OutputPath, emit, format_option
from .outputs import DOCX, FIGURE_SUFFIXES, XLSX, FigurePath

__all__ = ["table1_cmd", "table2_cmd", "changes_cmd", "overtime_cmd"]

#: the normality rules of :data:`hepatostat.cohort.describe.NORMALITY`, as a plain
#: constant so that ``--help`` imports no engine (a test keeps the two equal)
NORMALITY = ("shapiro", "assume_normal", "nonparametric")
NORMALITY_CHOICE = click.Choice(list(NORMALITY), case_sensitive=False)
ADJUST_CHOICE = click.Choice(["holm", "BH", "bonferroni", "hochberg", "BY", "none"], case_sensitive=False)


def _split(value):
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def _pairs(value):
    if value is None:
        return None
    out = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        bits = part.split(":")
        if len(bits) != 2 or not all(b.strip() for b in bits):
            raise click.BadParameter(f"pairs look like A:C,B:D; cannot read {part!r}", param_hint="--pairs")
        out.append((bits[0].strip(), bits[1].strip()))
    return out


TIME_UNIT_CHOICE = click.Choice(["week", "day", "month"], case_sensitive=False)


def _read(file, kw, *, table=None):
    """The input table (with --dictionary applied) and the lines saying how it was read."""
    from ..io import read_table

    frame = read_table(file, dictionary=kw.pop("dictionary", None), table=kw.pop("table", table))
    return frame, list(frame.attrs.get("read_notes", []))


def _emit(fmt, res, frame, notes):
    """Print a result with the read notes: JSON key ``read_notes``, lines ``Read: …`` in the table."""
    def obj():
        d = res.to_dict()
        d["read_notes"] = notes
        return d

    def text():
        return "\n".join([f"Read: {n}" for n in notes] + [res.summary()])

    emit(fmt, obj=obj, frame=frame, text=text)


def _quartiles(value):
    return int(value) if value.isdigit() else value


def describe_options(f):
    """Options shared by table1 and table2."""
    opts = [
        click.option("--group", "group", required=True, metavar="COL", help="Column holding the group."),
        click.option("--variables", default=None, metavar="A,B", help="Variables to describe (default: all but the group and person_id)."),
        click.option("--categorical", default=None, metavar="A,B",
                     help="Columns to describe as categorical (default: text and labelled columns, and numeric columns "
                          "holding only 0/1 or at most 5 whole-number levels - the rule is printed)."),
        click.option("--continuous", default=None, metavar="A,B",
                     help="Columns to describe as continuous whatever the 0/1 and few-level rule says."),
        click.option("--id", "id_col", default=None, metavar="COL",
                     help="Patient id column (default: person_id, id, patient_id, ... if present); a repeated id is an "
                          "error. 'none' skips the check."),
        click.option("--dictionary", default=None, type=click.Path(dir_okay=False),
                     help="Data dictionary (.toml or .csv: variable, label, unit, type, values)."),
        click.option("--table", default=None, metavar="NAME", help="Table of a DuckDB file."),
        click.option("--normality", default="shapiro", show_default=True, type=NORMALITY_CHOICE,
                     help="shapiro: Shapiro-Wilk in every group decides; assume_normal / nonparametric force one kind."),
        click.option("--alpha", default=0.05, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
                     help="Shapiro-Wilk level: normal when p >= alpha in every group."),
        click.option("--welch", is_flag=True, help="Welch's t test / Welch's ANOVA for normal variables."),
        click.option("--exact", is_flag=True, help="Exact Mann-Whitney P value when there are no ties."),
        click.option("--quartiles", default="spss", show_default=True, metavar="DEF",
                     help="Quartile definition: spss (type 6), r (type 7), sas (type 2) or a type 1-9."),
        click.option("--smd", is_flag=True, help="Add a standardized-difference column."),
        click.option("--no-missing-row", "no_missing_row", is_flag=True, help="Leave out the 'missing, n' rows."),
        click.option("--digits", default=None, type=click.IntRange(0, 6), help="Decimals of the summaries (default: automatic)."),
        click.option("--title", default=None, help="Caption of the Word/Excel table."),
        click.option("--docx", "docx_path", default=None, type=OutputPath(suffixes=DOCX), help="Also write a Word table (.docx)."),
        click.option("--xlsx", "xlsx_path", default=None, type=OutputPath(suffixes=XLSX), help="Also write an Excel sheet (.xlsx)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _describe_kwargs(kw):
    return {
        "variables": _split(kw.pop("variables")),
        "categorical": _split(kw.pop("categorical")),
        "continuous": _split(kw.pop("continuous")),
        "id": kw.pop("id_col"),
        "normality": kw.pop("normality").lower(),
        "alpha": kw.pop("alpha"),
        "welch": kw.pop("welch"),
        "exact": kw.pop("exact"),
        "quartiles": _quartiles(kw.pop("quartiles")),
        "smd": kw.pop("smd"),
        "missing_row": not kw.pop("no_missing_row"),
    }


def _write_extras(res, frame, title, docx_path, xlsx_path):
    from ..cohort import tables_out as _out

    if docx_path:
        _out.write_docx({title: frame} if title else frame, docx_path, note=" ".join(_out.table_notes(res)) or None)
    if xlsx_path:
        _out.write_xlsx({title or "Table": frame}, xlsx_path, note=" ".join(_out.table_notes(res)) or None)


@click.command("table1")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--groups", default=None, metavar="A,B", help="Groups to compare, in this order (default: all).")
@describe_options
@format_option
def table1_cmd(file, group, groups, digits, title, docx_path, xlsx_path, fmt, **kw):
    """Table 1: baseline characteristics by group, with the test named per row.

    Continuous variables: mean ± SD with Student's t / ANOVA when Shapiro-Wilk
    p >= 0.05 in every group, otherwise median (Q1–Q3) with Mann-Whitney U
    (normal approximation, tie and continuity corrected) / Kruskal-Wallis.
    Categorical: n (%), chi-square without continuity correction, Fisher's
    exact test when an expected count is < 5. Quartiles: SPSS (R type 6).

    \b
    Examples:
      hepatostat cohort table1 baseline.csv --group group --groups A,B
      hepatostat cohort table1 baseline.csv --group group --welch --format json
      hepatostat cohort table1 baseline.csv --group group --docx table1.docx --xlsx table1.xlsx
      hepatostat cohort table1 pbc.sav --group trt --dictionary pbc_dictionary.toml
    """
    from ..cohort import describe as _describe

    data, notes = _read(file, kw)
    res = _describe.table1(data, group, groups=_split(groups), source=file, **_describe_kwargs(kw))
    frame = res.to_frame(digits)
    _write_extras(res, frame, title, docx_path, xlsx_path)
    _emit(fmt, res, frame, notes)


@click.command("table2")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--pairs", default="A:C,B:D", show_default=True, metavar="A:C,B:D", help="Group pairs, side by side.")
@describe_options
@format_option
def table2_cmd(file, group, pairs, digits, title, docx_path, xlsx_path, fmt, **kw):
    """Table 2: Table 1 for several pairs of groups side by side.

    \b
    Examples:
      hepatostat cohort table2 baseline.csv --group group --pairs A:C,B:D
      hepatostat cohort table2 baseline.csv --group group --pairs A:B,C:D --format json
    """
    from ..cohort import describe as _describe

    data, notes = _read(file, kw)
    res = _describe.table2(data, group, _pairs(pairs), source=file, **_describe_kwargs(kw))
    frame = res.to_frame(digits)
    _write_extras(res, frame, title, docx_path, xlsx_path)
    _emit(fmt, res, frame, notes)


def long_options(f):
    opts = [
        click.option("--outcomes", required=True, metavar="A,B", help="Outcome columns."),
        click.option("--id", "id_col", default="person_id", show_default=True, metavar="COL", help="Patient column."),
        click.option("--week", default="week", show_default=True, metavar="COL",
                     help="Visit time column (in --time-unit units after baseline)."),
        click.option("--time-unit", "time_unit", default="week", show_default=True, type=TIME_UNIT_CHOICE,
                     help="Unit of the visit column; an implausible schedule (hundreds of visits, weeks > 520) stops "
                          "with a hint."),
        click.option("--dictionary", default=None, type=click.Path(dir_okay=False),
                     help="Data dictionary (.toml or .csv: variable, label, unit, type, values)."),
        click.option("--table", default=None, metavar="NAME", help="Table of a DuckDB file."),
        click.option("--groups", default=None, metavar="A,B", help="Groups to analyse (default: all)."),
        click.option("--baseline", default=None, type=float, help="Baseline week (default: the first)."),
        click.option("--exact", is_flag=True, help="Exact rank-test P values when there are no ties."),
        click.option("--quartiles", default="spss", show_default=True, metavar="DEF",
                     help="Quartile definition: spss (type 6), r (type 7) or a type 1-9."),
        click.option("--title", default=None, help="Caption of the Word/Excel table."),
        click.option("--docx", "docx_path", default=None, type=OutputPath(suffixes=DOCX), help="Also write a Word table (.docx)."),
        click.option("--xlsx", "xlsx_path", default=None, type=OutputPath(suffixes=XLSX), help="Also write an Excel sheet (.xlsx)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


@click.command("changes")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--group", default="group", show_default=True, metavar="COL", help="Group column.")
@click.option("--pairs", default=None, metavar="A:B,C:D", help="Group pairs to test (default: every pair).")
@click.option("--intervals", default=None, metavar="0-1,1-4", help="Intervals (default: consecutive weeks).")
@click.option("--no-cumulative", "no_cumulative", is_flag=True, help="Leave out the cumulative declines W0–Wt.")
@click.option("--normality", default="shapiro", show_default=True, type=NORMALITY_CHOICE, help="Normality rule, as table1.")
@click.option("--welch", is_flag=True, help="Welch's t test for normal columns.")
@click.option("--adjust", default=None, type=ADJUST_CHOICE,
              help="Adjust each pair's P values across the columns of an outcome (default: none).")
@click.option("--plot", "plot_path", default=None, type=FigurePath(),
              help="Write Figures 2 and 3 per outcome: PATH_<outcome>_interval and _cumulative (no suffix: PNG and "
                   "SVG; or .png/.svg/.pdf).")
@long_options
@format_option
def changes_cmd(file, outcomes, id_col, week, group, groups, pairs, intervals, no_cumulative, baseline, normality,
                welch, exact, quartiles, adjust, plot_path, title, docx_path, xlsx_path, fmt, time_unit, dictionary, table):
    """Table 3: declines (earlier − later) per interval and cumulatively,
    compared between groups.

    Values are median (Q1 to Q3), or mean ± SD where every group passes
    Shapiro-Wilk, with Mann-Whitney U or t test P values for the pairs.

    \b
    Examples:
      hepatostat cohort changes visits.csv --outcomes tbil,alt,meld --pairs A:B,C:D,A:C,B:D
      hepatostat cohort changes visits.csv --outcomes tbil --intervals 0-1,1-4,4-12,12-24 --format json
      hepatostat cohort changes visits.csv --outcomes tbil --plot figures/declines --xlsx table3.xlsx
    """
    from ..cohort import longitudinal as _long

    data, notes = _read(file, {"dictionary": dictionary, "table": table})
    res = _long.changes(data, _split(outcomes), time_unit=time_unit.lower(), id=id_col, week=week, group=group, groups=_split(groups),
                        pairs=_pairs(pairs), intervals=intervals, cumulative=not no_cumulative, baseline=baseline,
                        normality=normality.lower(), welch=welch, exact=exact, quartiles=_quartiles(quartiles),
                        adjust=None if adjust is None or adjust.lower() == "none" else adjust, source=file)
    if plot_path:
        from pathlib import Path
        given = Path(plot_path)
        suffix = given.suffix if given.suffix.lower() in FIGURE_SUFFIXES else ""
        stem = given.with_suffix("") if suffix else given
        for o in res.outcomes:
            for kind in ("interval", "cumulative"):
                if any(c[2] == (kind == "cumulative") for c in res.columns):
                    fig = res.plot(o, stem.with_name(f"{stem.name}_{o}_{kind}{suffix}"), kind=kind)
                    del fig  # Figure objects are not registered with pyplot
    frame = res.to_frame()
    _write_extras(res, frame, title, docx_path, xlsx_path)
    _emit(fmt, res, frame, notes)


@click.command("overtime")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--group", default="group", show_default=True, metavar="COL",
              help="Group column; 'none' analyses all patients together.")
@click.option("--weeks", default=None, metavar="0,1,4", help="Visits to use (default: all).")
@click.option("--adjust", default="holm", show_default=True, type=ADJUST_CHOICE,
              help="Correction of the visit-vs-baseline P values across visits.")
@click.option("--plot", "plot_path", default=None, type=FigurePath(),
              help="Write Figure 1 (.png/.svg/.pdf; no suffix = PNG and SVG).")
@click.option("--kind", default="box", show_default=True, type=click.Choice(["box", "median"]),
              help="Figure 1 as box plots or median lines with Q1–Q3.")
@long_options
@format_option
def overtime_cmd(file, outcomes, id_col, week, group, groups, weeks, baseline, adjust, exact, quartiles, plot_path,
                 kind, title, docx_path, xlsx_path, fmt, time_unit, dictionary, table):
    """Within-group change over the visits (Figure 1): n per visit, Friedman
    test on complete cases, signed-rank test of each visit against baseline.

    \b
    Examples:
      hepatostat cohort overtime visits.csv --outcomes tbil,alt --group disease
      hepatostat cohort overtime visits.csv --outcomes tbil --group group --plot fig1.png --format json
    """
    from ..cohort import longitudinal as _long

    data, notes = _read(file, {"dictionary": dictionary, "table": table})
    res = _long.over_time(data, _split(outcomes), time_unit=time_unit.lower(), id=id_col, week=week,
                          group=None if group.lower() == "none" else group, groups=_split(groups), weeks=weeks,
                          baseline=baseline, adjust=adjust, exact=exact, quartiles=_quartiles(quartiles), source=file)
    if plot_path:
        res.plot(plot_path, kind=kind)  # a Figure object: nothing to close
    frame = res.to_frame()
    _write_extras(res, frame, title, docx_path, xlsx_path)
    _emit(fmt, res, frame, notes)
