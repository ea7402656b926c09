"""Write result tables to CSV, JSON, Word (.docx) and Excel (.xlsx).

Any result with ``to_frame()`` (and ``to_dict()``) — Table 1, Table 2,
Table 3, over-time summaries, model tables — or a plain DataFrame can be
written:

* CSV: the publication frame (``to_frame()``), UTF-8;
* JSON: the result's ``to_dict()`` (a frame becomes ``{"columns", "rows"}``),
  NaN as null;
* Word: a journal-style *three-line table* (a heavy rule above the header, a
  thin rule under it, a heavy rule under the last row, no vertical lines),
  with a caption above and the notes below, via python-docx;
* Excel: one sheet per table (openpyxl) with the same rules, a caption row,
  the notes under the table and columns sized to their content.

``write_table(table, path)`` picks the format from the suffix;
``write_docx`` and ``write_xlsx`` also take several tables (a mapping from
caption/sheet name to table) for one document or workbook.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.format import fmt_plain

__all__ = ["FORMATS", "table_frame", "table_dict", "table_notes", "write_table", "write_csv", "write_json",
           "write_docx", "write_xlsx"]

FORMATS = {".csv": "csv", ".json": "json", ".docx": "docx", ".xlsx": "xlsx"}


def table_frame(table) -> pd.DataFrame:
    """The publication frame of a result (``to_frame()``) or the frame itself."""
    if isinstance(table, pd.DataFrame):
        return table
    if hasattr(table, "to_frame"):
        return table.to_frame()
    raise InputError(f"cannot write a {type(table).__name__}: expected a result with to_frame() or a DataFrame")


def _plain(obj):
    """JSON-safe Python objects: NaN/inf -> None, numpy -> Python."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_plain(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if obj is None or isinstance(obj, str):
        return obj
    if obj is pd.NA or obj is pd.NaT:
        return None
    return str(obj)


def table_dict(table) -> dict[str, Any]:
    """The JSON object of a result (``to_dict()``); a frame as ``{"columns", "rows"}``."""
    if not isinstance(table, pd.DataFrame) and hasattr(table, "to_dict"):
        return _plain(table.to_dict())
    frame = table_frame(table)
    return {"columns": [str(c) for c in frame.columns], "rows": _plain(frame.to_dict("records"))}


def table_notes(table) -> list[str]:
    """Footnotes for a result: its notes and every row's or cell's note."""
    if isinstance(table, pd.DataFrame) or not hasattr(table, "to_dict"):
        return []
    d = table.to_dict()
    notes = []
    if "groups" in d and "rows" in d and "options" in d:  # a Table 1
        o = d["options"]
        notes.append(
            ("Continuous variables: mean ± SD with "
             + ("Welch's t test / Welch's ANOVA" if o.get("welch") else "Student's t test / one-way ANOVA")
             + " when Shapiro–Wilk p ≥ " + fmt_plain(o.get('alpha', 0.05)) + " in every group, otherwise median (Q1–Q3) with "
             + "the Mann–Whitney U / Kruskal–Wallis test; categorical: n (%), Pearson's χ² test, Fisher's exact test "
             + "when an expected count is < 5. Quartiles: " + str(o.get("quartiles", "")) + ".")
            if o.get("normality") == "shapiro" else f"Normality: {o.get('normality')}.")
    for key in ("rows", "cells"):
        for r in d.get(key, []) or []:
            if isinstance(r, Mapping) and r.get("note"):
                where = r.get("variable") or " ".join(str(r.get(k, "")) for k in ("outcome", "column")).strip()
                notes.append(f"{where}: {r['note']}")
    for pair in d.get("pairs", []) or []:
        if isinstance(pair, Mapping) and "rows" in pair:
            for r in pair["rows"]:
                if r.get("note"):
                    notes.append(f"{'/'.join(pair.get('pair', []))} {r['variable']}: {r['note']}")
    notes += [str(n) for n in d.get("notes", []) or []]
    return notes


def _check_path(path, fmt):
    p = Path(path)
    if p.exists() and p.is_dir():
        raise InputError("is a folder; give a file name", file=p)
    if fmt is None:
        fmt = FORMATS.get(p.suffix.lower())
        if fmt is None:
            raise InputError(f"unknown table format '{p.suffix or '(none)'}'; allowed: {', '.join(FORMATS)}", file=p)
    elif fmt not in FORMATS.values():
        raise InputError(f"unknown table format {fmt!r}; allowed: {', '.join(FORMATS.values())}", file=p)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p, fmt


def write_csv(table, path) -> str:
    """The publication frame as UTF-8 CSV."""
    p, _ = _check_path(path, "csv")
    table_frame(table).to_csv(p, index=False, lineterminator="\n")
    return str(p)


def write_json(table, path) -> str:
    """The result's JSON object (``to_dict()``), NaN as null."""
    p, _ = _check_path(path, "json")
    p.write_text(json.dumps(table_dict(table), ensure_ascii=False, allow_nan=False, indent=2) + "\n", encoding="utf-8")
    return str(p)


def _as_tables(tables, title) -> list[tuple[str | None, Any]]:
    if isinstance(tables, Mapping):
        return [(str(k), v) for k, v in tables.items()]
    if isinstance(tables, (list, tuple)) and tables and all(isinstance(t, tuple) and len(t) == 2 for t in tables):
        return [(str(k), v) for k, v in tables]
    return [(title, tables)]


def _cell_text(v) -> str:
    """A cell as text through the one formatter (:mod:`hepatostat.io.format`)."""
    from ..io.format import fmt

    return fmt(v)


def write_docx(tables, path, *, title: str | None = None, note: str | None = None, font: str = "Times New Roman",
               size: float = 9) -> str:
    """Word document with one three-line table per table (:class:`hepatostat.io.docx.DocxDocument`).

    Parameters
    ----------
    tables : result, DataFrame, mapping caption -> table, or list of (caption, table)
    path : str or Path
        ``.docx`` file.
    title : str, optional
        Caption of a single table (e.g. "Table 1. Baseline characteristics").
    note : str, optional
        Extra footnote; the result's own notes are always added.
    """
    from ..io.docx import DocxDocument
    from ..io.format import format_frame

    p, _ = _check_path(path, "docx")
    doc = DocxDocument(font=font, size=size + 2, table_size=size)
    for caption, tab in _as_tables(tables, title):
        frame = table_frame(tab)
        notes = table_notes(tab) + ([note] if note else [])
        doc.table(format_frame(frame), caption=caption or "", notes=notes)
    doc.save(p)
    return str(p)


def write_xlsx(tables, path, *, title: str | None = None, note: str | None = None) -> str:
    """Excel workbook, one sheet per table (:func:`hepatostat.io.xlsx.write_workbook`).

    ``tables``: a result or frame (sheet named after ``title`` or "Table"),
    or a mapping sheet name -> table. Numbers stay numbers (with number
    formats); text stays text and never becomes a formula.
    """
    from ..io.xlsx import Sheet, write_workbook

    p, _ = _check_path(path, "xlsx")
    sheets = [Sheet(name=caption or "Table", frame=table_frame(tab), caption=caption or "",
                    notes=table_notes(tab) + ([note] if note else [])) for caption, tab in _as_tables(tables, title)]
    write_workbook(p, sheets)
    return str(p)


def write_table(table, path, *, format: str | None = None, title: str | None = None,  # noqa: A002 - user word
                note: str | None = None) -> str:
    """Write one table; the format comes from the suffix (``.csv``, ``.json``,
    ``.docx``, ``.xlsx``) or ``format``. Returns the path written."""
    p, fmt = _check_path(path, format)
    if fmt == "csv":
        return write_csv(table, p)
    if fmt == "json":
        return write_json(table, p)
    if fmt == "docx":
        return write_docx(table, p, title=title, note=note)
    return write_xlsx(table, p, title=title, note=note)
