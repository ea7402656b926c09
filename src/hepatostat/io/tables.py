"""Read a user's table from CSV, TSV, Excel or Parquet into a DataFrame.

Only reading happens here; validation belongs to the engine that uses the
table (e.g. :func:`hepatostat.meta.data.validate_meta_frame`). Errors name
the file and say what is allowed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError

__all__ = ["read_table", "TABLE_SUFFIXES"]

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet")


def read_table(path, *, sheet=0) -> pd.DataFrame:
    """Read a table; the format is chosen by the file's suffix.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (comma), ``.tsv``/``.txt`` (tab), ``.xlsx``/``.xls`` (needs
        openpyxl) or ``.parquet`` (needs pyarrow). ``-`` reads CSV from stdin.
    sheet : int or str
        Excel sheet.

    Raises
    ------
    hepatostat.errors.InputError
        Missing or empty file, unknown suffix, unreadable content.
    """
    if str(path) == "-":
        import sys

        try:
            return pd.read_csv(sys.stdin, skipinitialspace=True)
        except pd.errors.EmptyDataError:
            raise InputError("standard input is empty; expected a CSV table with a header row", file="-") from None
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    if p.is_dir():
        raise InputError("is a folder, not a file", file=p)
    suffix = p.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(f"unknown table format '{suffix or '(none)'}'; allowed: {', '.join(TABLE_SUFFIXES)}", file=p)
    if p.stat().st_size == 0:
        raise InputError("the file is empty; expected a table with a header row", file=p)
    try:
        if suffix == ".csv":
            frame = pd.read_csv(p, skipinitialspace=True)
        elif suffix in (".tsv", ".txt"):
            frame = pd.read_csv(p, sep="\t")
        elif suffix in (".xlsx", ".xls"):
            frame = pd.read_excel(p, sheet_name=sheet)
        else:
            frame = pd.read_parquet(p)
    except ImportError as exc:
        raise InputError(f"reading {suffix} files needs an optional package: {exc}; install hepatostat[all]", file=p) from None
    except pd.errors.EmptyDataError:
        raise InputError("the file has no columns; expected a table with a header row", file=p) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot parse the file as {suffix[1:].upper()}: {str(exc).splitlines()[0]}", file=p) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame
