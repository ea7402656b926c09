"""The one Excel writer: numbers stay numbers, text stays text.

:func:`write_workbook` writes a list of :class:`Sheet` objects (a caption
row, a journal-style three-rule table, notes underneath) with openpyxl:

- a number is stored as a number, with the number format of its kind from
  :mod:`hepatostat.io.format` (P as ``[<0.001]"<0.001";0.000``, integers as
  ``#,##0``), so the sheet shows what the report shows and still computes;
- a cell that arrives as text but *is* a plain number (``"0.684"``, ``"37"``,
  ``"1,234"``; pre-formatted frames from the engines) is stored as that
  number with as many decimals as it was printed with;
- every other text is stored as text. Text starting with ``=``, ``+``, ``-``
  or ``@`` is never a formula (it is a shared string with the quote prefix,
  as Excel stores text typed after an apostrophe): a study label
  ``=HYPERLINK(...)`` is shown, not run (CWE-1236);
- control characters that XML cannot hold are replaced by U+FFFD instead of
  crashing the writer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .format import DEFAULT, Style, is_number, kind_of

__all__ = ["Sheet", "write_workbook", "clean_text", "sheet_name", "no_formulas"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PLAIN_NUMBER = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.(\d+))?$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clean_text(s: str) -> str:
    """``s`` without the control characters XML 1.0 cannot store (each becomes U+FFFD)."""
    return _CONTROL.sub("\ufffd", s)


@dataclass
class Sheet:
    """One table for the workbook.

    ``frame`` may hold numbers (preferred) or text; ``kinds`` maps columns to
    :mod:`~hepatostat.io.format` kinds (others are guessed from the name).
    """

    name: str
    frame: object
    caption: str = ""
    notes: list = field(default_factory=list)
    kinds: dict = field(default_factory=dict)


def no_formulas(ws) -> int:
    """Turn every cell of worksheet ``ws`` that openpyxl would store as a formula into text.

    openpyxl stores any string that starts with ``=`` as a formula, so a record title or a study
    label such as ``=HYPERLINK(...)`` would become a live formula in a sheet written from data.
    hepatostat never writes formulas into cells: each such cell is kept as typed text (shown as
    after an apostrophe in Excel). Returns how many cells were changed.
    """
    changed = 0
    for row in ws.iter_rows():
        for c in row:
            if c.data_type == "f" or (isinstance(c.value, str) and c.value.startswith(_FORMULA_START)):
                text = clean_text(str(c.value))
                c.value = text
                c.data_type = "s"
                c.quotePrefix = True
                changed += 1
    return changed


def sheet_name(name, used: set) -> str:
    """A unique Excel sheet name (31 characters, none of ``[]:*?/\\``)."""
    s = re.sub(r"[\[\]:*?/\\]", "_", clean_text(str(name or "Table"))).strip("' ") or "Table"
    s = s[:31]
    base, k = s, 2
    while s.lower() in {u.lower() for u in used}:
        suffix = f" ({k})"
        s = base[: 31 - len(suffix)] + suffix
        k += 1
    used.add(s)
    return s


def _number_from_text(s: str):
    """(value, decimals) when ``s`` is a plain printed number, else None."""
    m = _PLAIN_NUMBER.match(s.strip())
    if not m:
        return None
    text = s.strip().replace(",", "")
    decimals = len(m.group(4) or "")
    value = float(text) if decimals else int(text)
    return value, decimals


def _cell(ws, row, col, value, kind, style: Style):
    """Write one value; returns the cell."""
    c = ws.cell(row=row, column=col)
    if value is None:
        return c
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        c.value = "yes" if value else "no"
        return c
    if is_number(value):
        x = float(value)
        if not math.isfinite(x):
            return c
        if kind == "default" and x == round(x) and type(value).__name__.startswith("int"):
            kind = "int"
        c.value = int(value) if kind == "int" and x == round(x) else x
        c.number_format = style.excel_format(kind, c.value)
        return c
    s = clean_text(str(value))
    if s == "" or s.lower() in ("nan", "none", "<na>"):
        return c
    parsed = _number_from_text(s) if kind != "text" else None
    if parsed is not None:
        v, d = parsed
        c.value = v
        if kind == "p":
            c.number_format = style.excel_format("p")
        else:
            c.number_format = ("#,##0" if "," in s else "0") + ("." + "0" * d if d else "")
        return c
    c.value = s
    c.data_type = "s"  # never a formula, whatever the first character
    if s.startswith(_FORMULA_START):
        c.quotePrefix = True  # shown as typed text, as after an apostrophe in Excel
    return c


def write_workbook(path, sheets: list, *, style: Style = DEFAULT, readme: str = "") -> str:
    """Write ``sheets`` (a list of :class:`Sheet`) to ``path`` (.xlsx).

    With ``readme`` the first sheet, "README", holds that text (e.g. the
    SYNTHETIC DATA warning).
    """
    import pandas as pd
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    used: set = set()
    heavy, thin = Side(style="medium"), Side(style="thin")
    if readme:
        ws = wb.create_sheet(sheet_name("README", used))
        _cell(ws, 1, 1, "About this workbook", "text", style).font = Font(bold=True)
        for i, line in enumerate(str(readme).splitlines() or [""], 2):
            _cell(ws, i, 1, line, "text", style).font = Font(bold=(i == 2), color="A40000" if i == 2 else None)
        ws.column_dimensions["A"].width = 110
    for sh in sheets:
        frame = sh.frame if isinstance(sh.frame, pd.DataFrame) else pd.DataFrame(sh.frame)
        ws = wb.create_sheet(sheet_name(sh.name, used))
        r0 = 1
        if sh.caption:
            _cell(ws, 1, 1, sh.caption, "text", style).font = Font(bold=True, size=11)
            r0 = 3
        cols = [str(c) for c in frame.columns]
        kinds = [sh.kinds.get(c) or kind_of(c) for c in frame.columns]
        for j, name in enumerate(cols, start=1):
            c = _cell(ws, r0, j, name, "text", style)
            c.font = Font(bold=True)
            c.border = Border(top=heavy, bottom=thin)
            c.alignment = Alignment(horizontal="left" if j == 1 else "center", vertical="bottom", wrap_text=True)
        values = frame.to_numpy(dtype=object)
        nrow = values.shape[0]
        widths = [len(n) for n in cols]
        for i in range(nrow):
            for j in range(values.shape[1]):
                v = values[i, j]
                try:
                    if v is not None and not isinstance(v, str) and pd.isna(v):
                        v = None
                except (TypeError, ValueError):
                    v = str(v)
                c = _cell(ws, r0 + 1 + i, j + 1, v, kinds[j], style)
                c.alignment = Alignment(horizontal="left" if j == 0 else "center")
                if i == nrow - 1:
                    c.border = Border(bottom=heavy)
                widths[j] = max(widths[j], len(str(v)) if v is not None else 0)
        for j, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = min(max(8, w + 2), 60)
        r = r0 + nrow + 2
        for n in sh.notes or []:
            _cell(ws, r, 1, n, "text", style).font = Font(italic=True, size=9)
            r += 1
        ws.freeze_panes = ws.cell(row=r0 + 1, column=1)
    if not wb.sheetnames:
        wb.create_sheet("Empty")
    p = Path(path)
    wb.save(p)
    return str(p)
