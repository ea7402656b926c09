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
             + " when Shapiro–Wilk p ≥ " + f"{o.get('alpha', 0.05):g}" + " in every group, otherwise median (Q1–Q3) with "
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
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(float(v)):
            return ""
        return f"{float(v):.4g}"
    return str(v)


def write_docx(tables, path, *, title: str | None = None, note: str | None = None, font: str = "Times New Roman",
               size: float = 9) -> str:
    """Word document with one three-line table per table.

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
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.shared import Pt

    from ..report.document import docx_table

    p, _ = _check_path(path, "docx")
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = font
    style.font.size = Pt(size)
    for caption, tab in _as_tables(tables, title):
        frame = table_frame(tab)
        if caption:
            para = doc.add_paragraph()
            run = para.add_run(caption)
            run.bold = True
            run.font.size = Pt(size + 1)
        t = docx_table(doc, frame.map(_cell_text), size=size)
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        notes = table_notes(tab) + ([note] if note else [])
        for n in notes:
            para = doc.add_paragraph()
            run = para.add_run(n)
            run.font.size = Pt(size - 1)
        doc.add_paragraph()
    doc.save(p)
    return str(p)


def _sheet_name(name, used) -> str:
    bad = '[]:*?/\\'
    s = "".join("_" if ch in bad else ch for ch in str(name or "Table")).strip("'") or "Table"
    s = s[:31]
    base, k = s, 2
    while s in used:
        suffix = f" ({k})"
        s = base[: 31 - len(suffix)] + suffix
        k += 1
    used.add(s)
    return s


def write_xlsx(tables, path, *, title: str | None = None, note: str | None = None) -> str:
    """Excel workbook, one sheet per table (caption row, three rules, notes below).

    ``tables``: a result or frame (sheet named after ``title`` or "Table"),
    or a mapping sheet name -> table. Numbers stay numbers; text stays text.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    p, _ = _check_path(path, "xlsx")
    wb = Workbook()
    wb.remove(wb.active)
    used: set = set()
    heavy, thin = Side(style="medium"), Side(style="thin")
    for caption, tab in _as_tables(tables, title):
        frame = table_frame(tab)
        ws = wb.create_sheet(_sheet_name(caption, used))
        r0 = 1
        if caption:
            ws.cell(row=1, column=1, value=str(caption)).font = Font(bold=True, size=11)
            r0 = 3
        for j, col in enumerate(frame.columns, start=1):
            c = ws.cell(row=r0, column=j, value=str(col))
            c.font = Font(bold=True)
            c.border = Border(top=heavy, bottom=thin)
            c.alignment = Alignment(horizontal="left" if j == 1 else "center", vertical="center", wrap_text=True)
        values = frame.to_numpy(dtype=object)
        for i in range(frame.shape[0]):
            for j in range(frame.shape[1]):
                v = values[i, j]
                if isinstance(v, (np.integer,)):
                    v = int(v)
                elif isinstance(v, (float, np.floating)):
                    v = float(v) if math.isfinite(float(v)) else None
                elif isinstance(v, (np.bool_,)):
                    v = bool(v)
                elif v is not None and not isinstance(v, (int, float, str, bool)):
                    v = str(v)
                c = ws.cell(row=r0 + 1 + i, column=j + 1)
                c.value = v
                if isinstance(v, str) and v.startswith("="):
                    c.data_type = "s"  # text, never a formula
                c.alignment = Alignment(horizontal="left" if j == 0 else "center")
                if i == frame.shape[0] - 1:
                    c.border = Border(bottom=heavy)
        for j, col in enumerate(frame.columns, start=1):
            width = max([len(str(col))] + [len(_cell_text(v)) for v in values[:, j - 1]]) if len(values) else len(str(col))
            ws.column_dimensions[get_column_letter(j)].width = min(max(8, width + 2), 60)
        r = r0 + frame.shape[0] + 2
        for n in table_notes(tab) + ([note] if note else []):
            ws.cell(row=r, column=1, value=n).font = Font(italic=True, size=9)
            r += 1
        ws.freeze_panes = ws.cell(row=r0 + 1, column=2)
    wb.save(p)
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
