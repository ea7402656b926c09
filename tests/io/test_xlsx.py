"""The one Excel writer: numbers as numbers with formats; text never a formula (issue 14 security)."""

from __future__ import annotations

import zipfile

import numpy as np
import openpyxl
import pandas as pd

from hepatostat.io.xlsx import Sheet, clean_text, sheet_name, write_workbook


def test_numbers_are_numbers_with_number_formats(tmp_path):
    f = pd.DataFrame({"Study": ["a", "b"], "n": [np.int64(37), np.int64(12345)], "Estimate": [0.5, -1.25],
                      "P": [0.0004, 0.0424], "printed": ["0.684", "1,234"]})
    p = write_workbook(tmp_path / "t.xlsx", [Sheet("T1", f, caption="Table 1. Test")])
    ws = openpyxl.load_workbook(p)["T1"]
    assert ws["A1"].value == "Table 1. Test" and [c.value for c in ws[3]] == list(f.columns)
    assert ws["B4"].value == 37 and ws["B5"].value == 12345 and ws["B4"].number_format == "#,##0"
    assert ws["C4"].value == 0.5 and ws["C4"].number_format == "#,##0.00"
    assert ws["D4"].value == 0.0004 and ws["D4"].number_format == '[<0.001]"<0.001";0.000'
    # pre-formatted numbers from an engine become numbers again, with the decimals they were printed with
    assert ws["E4"].value == 0.684 and ws["E4"].number_format == "0.000" and ws["E5"].value == 1234
    numeric = [c for row in ws.iter_rows(min_row=4) for c in row if isinstance(c.value, (int, float))]
    assert len(numeric) == 8


def test_formula_like_text_is_stored_as_text(tmp_path):
    labels = ['=HYPERLINK("http://example.invalid","x")', "+1+1", "-cmd", "@SUM(A1)", "=1+1"]
    p = write_workbook(tmp_path / "t.xlsx", [Sheet("S", pd.DataFrame({"Study": labels}))])
    ws = openpyxl.load_workbook(p)["S"]
    assert [ws.cell(row=2 + i, column=1).value for i in range(len(labels))] == labels
    assert all(ws.cell(row=2 + i, column=1).data_type == "s" for i in range(len(labels)))
    with zipfile.ZipFile(p) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet  # no formula element anywhere


def test_control_characters_do_not_crash(tmp_path):
    f = pd.DataFrame({"Study\x01": ["bad\x00label\x1b", "ok"]})
    p = write_workbook(tmp_path / "t.xlsx", [Sheet("S\x07", f)], readme="SYNTHETIC\x0b")
    wb = openpyxl.load_workbook(p)
    assert wb["S\ufffd"]["A2"].value == "bad\ufffdlabel\ufffd"
    assert clean_text("a\tb\nc") == "a\tb\nc"


def test_sheet_names_unique_and_legal():
    used: set = set()
    assert sheet_name("Table 3: declines/TBIL", used) == "Table 3_ declines_TBIL"
    assert sheet_name("x" * 40, used) == "x" * 31 and sheet_name("x" * 40, used) == "x" * 27 + " (2)"
