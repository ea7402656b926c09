"""Compare two visit tables of the scale layout, column by column, exactly."""

from __future__ import annotations

import pandas as pd

from ...errors import InputError
from ...io.format import fmt_n
from .sql import OUTPUT_COLUMNS

__all__ = ["compare_visits"]


def compare_visits(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, int]:
    """Rows that differ between two visit tables of the scale layout, per column.

    Exact comparison (floats bit for bit); missing equals missing. Rows are
    matched on ``person_id, outcome, visit``.

    Returns
    -------
    dict
        Column -> number of rows that differ; all zero when the tables are
        identical.

    Raises
    ------
    InputError
        When the two tables do not hold the same (person, outcome, visit) rows.
    """
    key = ["person_id", "outcome", "visit"]

    def norm(f: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in OUTPUT_COLUMNS if c not in f.columns]
        if missing:
            raise InputError(f"not a visit table of the scale layout: no column(s) {', '.join(missing)}")
        f = f[list(OUTPUT_COLUMNS)].copy()
        f["person_id"] = f["person_id"].astype("int64")
        f["date"] = pd.to_datetime(f["date"])
        f["source_row"] = f["source_row"].astype("Int64")
        for c in ("outcome", "visit", "unit", "censored", "interval"):
            f[c] = f[c].astype(object).where(f[c].notna(), None)
        for c in ("week", "nominal_day", "value", "t", "decline_interval", "decline_cumulative"):
            f[c] = f[c].astype(float)
        return f.sort_values(key, kind="stable").reset_index(drop=True)

    a, b = norm(a), norm(b)
    if len(a) != len(b) or not (a[key].to_numpy() == b[key].to_numpy()).all():
        raise InputError(f"the two visit tables do not hold the same (person, outcome, visit) rows "
                         f"({fmt_n(len(a))} and {fmt_n(len(b))} rows)")
    out = {}
    for c in OUTPUT_COLUMNS:
        x, y = a[c], b[c]
        same = (x == y).astype("boolean").fillna(False).to_numpy(dtype=bool) | (x.isna() & y.isna()).to_numpy()
        out[c] = int((~same).sum())
    return out
