"""Validation of study-level input tables for meta-analysis.

Turns a user's table into a clean frame, or raises an
:class:`~hepatostat.errors.InputError` that names the file, row, column, value
and what is allowed. Rows with a missing (empty) value are legal: they are
left out and logged as :class:`Exclusion` entries, never dropped silently.
Row numbers are spreadsheet rows: the header is row 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = [
    "spreadsheet_rows",
    "CONTINUOUS_COLUMNS",
    "BINARY_COLUMNS",
    "GENERIC_COLUMNS",
    "Exclusion",
    "exclusion_text",
    "validate_meta_frame",
]

CONTINUOUS_COLUMNS = ("study", "m1", "sd1", "n1", "m2", "sd2", "n2")
BINARY_COLUMNS = ("study", "e1", "n1", "e2", "n2")
GENERIC_COLUMNS = ("study", "yi", "vi")


@dataclass(frozen=True)
class Exclusion:
    """A study (or analysis) left out, and why; ``row`` is its spreadsheet
    row in the input file when known (header = row 1)."""

    study: str
    reason: str
    row: int | None = None

    def to_dict(self) -> dict:
        d = {"study": self.study, "reason": self.reason}
        if self.row is not None:
            d["row"] = self.row
        return d


def exclusion_text(excluded) -> str | None:
    """Exclusions as one line (e.g. a CSV cell): ``study (row N): reason; ...``; None when there are none."""
    if not excluded:
        return None
    return "; ".join(f"{e.study}{f' (row {e.row})' if e.row is not None else ''}: {e.reason}" for e in excluded)


def _as_frame(data) -> pd.DataFrame:
    import pandas as pd
    if isinstance(data, pd.DataFrame):
        return data.copy()
    try:
        return pd.DataFrame(data)
    except Exception as exc:  # pragma: no cover - defensive
        raise InputError(f"cannot read study data as a table: {exc}") from None


def _required(kind: str, columns) -> tuple[str, ...]:
    if kind == "continuous":
        return CONTINUOUS_COLUMNS
    if kind == "binary":
        return BINARY_COLUMNS
    if "sei" in columns and "vi" not in columns:
        return ("study", "yi", "sei")
    return GENERIC_COLUMNS


def _missing_columns(frame, required, kind, source):
    cols = [str(c) for c in frame.columns]
    missing = [c for c in required if c not in cols]
    if not missing:
        return
    hints = []
    for m in missing:
        import difflib

        close = difflib.get_close_matches(m, cols, n=1, cutoff=0.6)
        if close:
            hints.append(f"'{m}' (did you mean '{close[0]}'?)")
        else:
            hints.append(f"'{m}'")
    raise InputError(
        f"missing column(s) {', '.join(hints)}; {kind} data need columns "
        f"{', '.join(required)} (found: {', '.join(cols) or 'none'})",
        file=source,
    )


def spreadsheet_rows(frame: pd.DataFrame) -> np.ndarray:
    """Spreadsheet row numbers of a frame's rows (header = row 1).

    A frame read from a file has the default index 0..n-1, so row = index + 2;
    a subset of it keeps its file rows. Other indexes count from the top.
    """
    import pandas as pd
    if pd.api.types.is_integer_dtype(frame.index) and frame.index.is_unique:
        return np.asarray(frame.index, dtype=int) + 2
    return np.arange(frame.shape[0]) + 2


def validate_meta_frame(data, kind: str, *, source=None, check_duplicates: bool = True, by: str | None = None):
    """Check a study table and return ``(frame, exclusions)``.

    Parameters
    ----------
    data : DataFrame or mapping
        The user's table.
    kind : {"continuous", "binary", "generic"}
    source : str, optional
        File name for messages.
    check_duplicates : bool
        Whether duplicate study labels are an error.
    by : str, optional
        Study labels need only be unique within each value of this column
        (independent analyses in one table, ``--per``).

    Returns
    -------
    frame : pandas.DataFrame
        Numeric columns as float, ``study`` as str, rows with missing values
        removed; a ``sei`` column is turned into ``vi``; ``_row`` holds each
        row's spreadsheet row number.
    exclusions : list of Exclusion
        One per removed row.
    """
    import pandas as pd
    frame = _as_frame(data)
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.shape[0] == 0:
        raise InputError("the table has no rows of study data", file=source)
    required = _required(kind, frame.columns)
    _missing_columns(frame, required, kind, source)

    rows = spreadsheet_rows(frame)
    study = frame["study"]
    blank = (study.isna() | study.astype(str).str.strip().eq("")).to_numpy()
    if blank.any():
        i = int(np.flatnonzero(blank)[0])
        raise InputError("empty study label; every row needs a study label", file=source, row=int(rows[i]), column="study")
    frame["study"] = study.astype(str).str.strip()
    if by is not None and by not in frame.columns:
        raise InputError(f"column '{by}' not found; columns are {', '.join(map(str, frame.columns))}", file=source)
    if check_duplicates:
        keys = ["study"] if by is None else [by, "study"]
        dup = frame.duplicated(subset=keys, keep=False)
        if dup.any():
            i = int(np.flatnonzero(dup)[1]) if dup.sum() > 1 else int(np.flatnonzero(dup)[0])
            label = frame["study"].iloc[i]
            same = frame["study"].to_numpy() == label
            if by is not None:
                same &= (frame[by] == frame[by].iloc[i]).to_numpy()
            first = int(rows[np.flatnonzero(same)[0]])
            raise InputError(
                f"duplicate study label (first on row {first}); study labels must be unique "
                "(add a suffix such as 'a'/'b', or analyse groups separately with --per)",
                file=source, row=int(rows[i]), column="study", value=label,
            )

    numeric = [c for c in required if c != "study"]
    missing_mask = np.zeros(frame.shape[0], dtype=bool)
    missing_col = [None] * frame.shape[0]
    for col in numeric:
        raw = frame[col]
        if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
            values = raw.astype(float)  # already numbers: only NaN can be missing
            blank = raw.isna()
        else:
            values = pd.to_numeric(raw, errors="coerce")
            blank = raw.isna() | raw.astype(str).str.strip().isin(["", "NA", "NaN", "nan", "."])
        bad = values.isna() & ~blank
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                "not a number; the column must hold numbers (leave the cell empty or NA for a missing value)",
                file=source, row=int(rows[i]), column=col, value=raw.iloc[i],
            )
        for i in np.flatnonzero(blank.to_numpy()):
            if not missing_mask[i]:
                missing_col[i] = col
            missing_mask[i] = True
        frame[col] = values.astype(float)

    finite = frame[numeric].to_numpy(dtype=float)
    for j, col in enumerate(numeric):
        inf = np.isinf(finite[:, j])
        if inf.any():
            i = int(np.flatnonzero(inf)[0])
            raise InputError("infinite value; the column must hold finite numbers", file=source, row=int(rows[i]), column=col, value=frame[col].iloc[i])

    ok = ~missing_mask
    _check_values(frame, kind, rows, ok, source)

    exclusions = [
        Exclusion(frame["study"].iloc[i], f"missing value in column '{missing_col[i]}' (row {rows[i]})", int(rows[i]))
        for i in np.flatnonzero(missing_mask)
    ]
    if "sei" in frame.columns and "vi" not in frame.columns and kind == "generic":
        frame["vi"] = frame["sei"] ** 2
    frame["_row"] = rows  # the spreadsheet row of each study, for later exclusion entries
    frame = frame.loc[ok].reset_index(drop=True)
    return frame, exclusions


def _fail(msg, source, rows, i, col, frame):
    raise InputError(msg, file=source, row=int(rows[i]), column=col, value=_clean(frame[col].iloc[i]))


def _clean(v):
    v = float(v)
    return int(v) if v.is_integer() else v


def _check_values(frame, kind, rows, ok, source):
    def first(mask):
        idx = np.flatnonzero(mask & ok)
        return int(idx[0]) if idx.size else None

    if kind == "continuous":
        for col in ("sd1", "sd2"):
            i = first(~(frame[col].to_numpy() > 0) & ~frame[col].isna().to_numpy())
            if i is not None:
                _fail("standard deviation must be > 0", source, rows, i, col, frame)
        for col in ("n1", "n2"):
            v = frame[col].to_numpy()
            i = first(~np.isnan(v) & ((v < 2) | (v != np.round(v))))
            if i is not None:
                _fail("group size must be a whole number >= 2", source, rows, i, col, frame)
    elif kind == "binary":
        for col in ("n1", "n2"):
            v = frame[col].to_numpy()
            i = first(~np.isnan(v) & ((v < 1) | (v != np.round(v))))
            if i is not None:
                _fail("group size must be a whole number >= 1", source, rows, i, col, frame)
        for ecol, ncol in (("e1", "n1"), ("e2", "n2")):
            e = frame[ecol].to_numpy()
            n = frame[ncol].to_numpy()
            i = first(~np.isnan(e) & ((e < 0) | (e != np.round(e))))
            if i is not None:
                _fail("event count must be a whole number >= 0", source, rows, i, ecol, frame)
            i = first(~np.isnan(e) & ~np.isnan(n) & (e > n))
            if i is not None:
                raise InputError(
                    f"events exceed the group size {ncol} = {_clean(n[i])}; events must be between 0 and {ncol}",
                    file=source, row=int(rows[i]), column=ecol, value=_clean(e[i]),
                )
    else:
        var_col = "vi" if "vi" in frame.columns else "sei"
        v = frame[var_col].to_numpy()
        i = first(~np.isnan(v) & ~(v > 0))
        if i is not None:
            what = "sampling variance" if var_col == "vi" else "standard error"
            _fail(f"{what} must be > 0", source, rows, i, var_col, frame)
