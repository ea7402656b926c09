"""Reading the columns of a one-row-per-patient (or per-visit) frame for the cohort tables.

Shared by :mod:`.describe`, :mod:`.longitudinal` and :mod:`.models`: group
labels, missing cells, numeric columns, and the spreadsheet row number of a
cell for error messages.

Row numbers: :func:`hepatostat.io.read_table` gives each row the index
label of its 0-based data row in the file (blank lines skipped keep their
numbers), so the spreadsheet row is ``index + 2`` (header = row 1), also
after rows were filtered. A frame with another index falls back to its
position.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["group_label", "is_missing", "check_frame", "check_column", "group_labels", "py_value",
           "parse_number", "numeric_values", "sheet_row", "sheet_rows"]


def sheet_row(obj, pos: int) -> int:
    """The spreadsheet row (header = 1) of the row at position ``pos`` of a frame or series."""
    idx = obj.index
    if pd.api.types.is_integer_dtype(idx.dtype):
        return int(idx[pos]) + 2
    return int(pos) + 2


def sheet_rows(obj, positions) -> list[int]:
    """:func:`sheet_row` for many positions."""
    return [sheet_row(obj, int(p)) for p in positions]


def group_label(v) -> str:
    """A group label as text; whole-number floats (1.0 from a CSV with gaps) print as 1."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def is_missing(series: pd.Series) -> np.ndarray:
    miss = series.isna().to_numpy()
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        blank = series.map(lambda v: isinstance(v, str) and v.strip() == "").to_numpy(bool)
        miss = miss | blank
    return miss


def check_frame(frame, source):
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame (one row per patient), got {type(frame).__name__}", file=source)
    if frame.shape[0] == 0:
        raise InputError("the table has no rows", file=source)


def check_column(frame, column, what, source):
    if column not in frame.columns:
        cols = ", ".join(map(str, frame.columns))
        raise InputError(f"{what} column not found; the table's columns are: {cols}", file=source, column=column)


def group_labels(frame, group, groups, source, min_groups: int = 2):
    """(labels per row as str or None, chosen groups, excluded row numbers)."""
    check_column(frame, group, "group", source)
    col = frame[group]
    miss = is_missing(col)
    labels = np.array([None if m else group_label(v) for v, m in zip(col.tolist(), miss)], dtype=object)
    present = [labels[i] for i in range(len(labels)) if labels[i] is not None]
    if not present:
        raise InputError("the group column is empty", file=source, column=group)
    if isinstance(col.dtype, pd.CategoricalDtype):
        order = [group_label(c) for c in col.cat.categories if group_label(c) in set(present)]
    else:
        nonmiss = col[~miss]
        if pd.api.types.is_numeric_dtype(nonmiss):
            order = [group_label(v) for v in sorted(pd.unique(nonmiss))]
        else:
            order = sorted(set(present))
    if groups is None:
        chosen = order
    else:
        if isinstance(groups, str):
            groups = [g for g in groups.split(",")]
        chosen = [group_label(g) for g in groups]
        if len(set(chosen)) != len(chosen):
            raise InputError(f"groups must be distinct, got {chosen}", file=source, column=group)
        for g in chosen:
            if g not in order:
                raise InputError(f"group not found in column; its groups are: {', '.join(order)}",
                                 file=source, column=group, value=g)
    if len(chosen) < min_groups:
        raise InputError(f"at least two groups are needed to compare, found {chosen}", file=source, column=group)
    excluded = sheet_rows(frame, np.flatnonzero(miss))
    return labels, chosen, excluded


def py_value(v):
    """A cell as a plain Python value (for error messages)."""
    return v.item() if isinstance(v, np.generic) else v


def parse_number(v):
    if isinstance(v, (bool, np.bool_)):
        raise ValueError
    if isinstance(v, str):
        v = v.strip()
    return float(v)


def numeric_values(series: pd.Series, column, source, *, strict: bool):
    """Float values of a column (NaN for missing), or None when (auto mode) it is categorical.

    strict: the column is declared continuous; every non-missing cell must be
    a finite number. Auto: a column whose cells are all text is categorical;
    a mix of numbers and text is an error.
    """
    miss = is_missing(series)
    if pd.api.types.is_bool_dtype(series.dtype):
        if strict:
            raise InputError("holds true/false values; list it in categorical=", file=source, column=column)
        return None
    if isinstance(series.dtype, pd.CategoricalDtype) and not strict:
        return None
    if pd.api.types.is_numeric_dtype(series.dtype):
        vals = series.to_numpy(dtype=float, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(vals) & ~miss)
        if bad.size:
            i = bad[0]
            raise InputError("is not a finite number; allowed: numbers or an empty cell",
                             file=source, row=sheet_row(series, int(i)), column=column, value=py_value(series.iloc[i]))
        return vals
    out = np.full(len(series), np.nan)
    numbers, texts = 0, []
    for i, (v, m) in enumerate(zip(series.tolist(), miss)):
        if m:
            continue
        try:
            x = parse_number(v)
        except (TypeError, ValueError):
            texts.append(i)
            continue
        if not math.isfinite(x):
            raise InputError("is not a finite number; allowed: numbers or an empty cell",
                             file=source, row=sheet_row(series, i), column=column, value=py_value(v))
        out[i] = x
        numbers += 1
    if texts:
        if not strict and numbers == 0:
            return None
        i = texts[0]
        why = ("is not a number; the column is continuous" if strict else
               "is not a number, but other cells of this column are; correct the cell, or list the column in "
               "categorical= to describe it as categorical")
        raise InputError(why, file=source, row=sheet_row(series, i), column=column, value=py_value(series.iloc[i]))
    return out
