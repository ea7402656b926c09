"""Tests of hepatostat.cohort.tables_out: CSV, JSON, Word and Excel tables."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hepatostat.cohort.describe import table1, table2
from hepatostat.cohort.longitudinal import changes
from hepatostat.cohort.tables_out import table_notes, write_docx, write_table, write_xlsx
from hepatostat.errors import InputError

from refdata import reference_data


@pytest.fixture(scope="module")
def t1():
    return table1(reference_data("cohort_synthetic_baseline", "cohort_stats.json"), "group", groups=["A", "B"])


def test_csv_and_json(t1, tmp_path):
    p = write_table(t1, tmp_path / "t1.csv")
    back = pd.read_csv(p, dtype=str, keep_default_na=False)
    assert back.equals(t1.to_frame())
    p = write_table(t1, tmp_path / "t1.json")
    assert json.loads(open(p, encoding="utf-8").read()) == json.loads(json.dumps(t1.to_dict(), allow_nan=False))
    frame = pd.DataFrame({"a": [1.0, float("nan")], "b": ["x", "y"]})
    write_table(frame, tmp_path / "f.json")
    assert json.loads((tmp_path / "f.json").read_text()) == {"columns": ["a", "b"],
                                                            "rows": [{"a": 1.0, "b": "x"}, {"a": None, "b": "y"}]}


def _border(cell, edge):
    from docx.oxml.ns import qn

    el = cell._tc.tcPr.find(qn("w:tcBorders")).find(qn(f"w:{edge}"))
    return el.get(qn("w:val")), el.get(qn("w:sz"))


def test_docx_three_line_table(t1, tmp_path):
    import docx

    p = write_table(t1, tmp_path / "t1.docx", title="Table 1. Baseline characteristics")
    doc = docx.Document(p)
    assert doc.paragraphs[0].text == "Table 1. Baseline characteristics"
    tab = doc.tables[0]
    frame = t1.to_frame()
    assert len(tab.rows) == len(frame) + 1 and len(tab.columns) == frame.shape[1]
    assert [c.text for c in tab.rows[0].cells] == list(frame.columns)
    assert tab.cell(4, 1).text == frame.iloc[3, 1]
    # three rules: heavy top and thin bottom on the header, heavy under the last row, nothing vertical
    assert _border(tab.cell(0, 1), "top") == ("single", "12") and _border(tab.cell(0, 1), "bottom") == ("single", "6")
    assert _border(tab.cell(len(frame), 1), "bottom") == ("single", "12")
    assert _border(tab.cell(3, 1), "bottom")[0] == "nil" and _border(tab.cell(3, 1), "left")[0] == "nil"
    notes = [para.text for para in doc.paragraphs]
    assert any(n.startswith("Continuous variables: mean ± SD") for n in notes)
    assert any("Fisher's exact test" in n for n in notes)


def test_xlsx_sheets(t1, tmp_path):
    import openpyxl

    base = reference_data("cohort_synthetic_baseline", "cohort_stats.json")
    long = reference_data("cohort_synthetic_long", "cohort_stats.json")
    t3 = changes(long, "tbil", pairs="A:B")
    numeric = pd.DataFrame({"x": [1.5, 2.0], "label": ["=SUM(A1)", "b"]})
    p = write_xlsx({"Table 1": t1, "Table 2": table2(base, "group"), "Table 3: declines/TBIL": t3, "raw": numeric},
                   tmp_path / "all.xlsx")
    wb = openpyxl.load_workbook(p)
    assert wb.sheetnames == ["Table 1", "Table 2", "Table 3_ declines_TBIL", "raw"]
    ws = wb["Table 1"]
    assert ws["A1"].value == "Table 1" and [c.value for c in ws[3]] == list(t1.to_frame().columns)
    assert ws["B3"].border.top.style == "medium" and ws["B3"].border.bottom.style == "thin"
    last = 3 + len(t1.to_frame())
    assert ws.cell(row=last, column=2).border.bottom.style == "medium"
    raw = wb["raw"]
    assert raw["A4"].value == 1.5 and raw["B4"].value == "=SUM(A1)" and raw["B4"].data_type == "s"
    write_table(t1, tmp_path / "one.xlsx", title="Table 1. Baseline")
    assert openpyxl.load_workbook(tmp_path / "one.xlsx").sheetnames == ["Table 1. Baseline"]


def test_docx_several_tables_and_notes(tmp_path):
    long = reference_data("cohort_synthetic_long", "cohort_stats.json")
    t3 = changes(long, ["tbil", "meld"], pairs="A:B")
    import docx

    p = write_docx([("Table 3. Declines", t3), ("Raw", pd.DataFrame({"a": [1]}))], tmp_path / "t3.docx", note="NS, not significant.")
    doc = docx.Document(p)
    assert len(doc.tables) == 2 and any(par.text == "NS, not significant." for par in doc.paragraphs)
    assert table_notes(pd.DataFrame()) == []


def test_bad_paths(t1, tmp_path):
    with pytest.raises(InputError, match="unknown table format '.pdf'"):
        write_table(t1, tmp_path / "t.pdf")
    with pytest.raises(InputError, match="is a folder"):
        write_table(t1, tmp_path)
    with pytest.raises(InputError, match="cannot write a dict"):
        write_table({"a": 1}, tmp_path / "x.csv")
