"""Issue 14 (security): text from data that starts with '=' must never become a live Excel formula
in a screening sheet or in the review's Table 1 workbook."""

import pandas as pd
from openpyxl import load_workbook

from hepatostat.review.characteristics import write_table
from hepatostat.review.screening import _write_sheet

EVIL = '=HYPERLINK("http://example.invalid","click")'


def _cells(path):
    wb = load_workbook(path)
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]


def test_record_title_starting_with_equals_is_text_in_the_screening_sheet(tmp_path):
    sheet = pd.DataFrame({"record_id": ["r1", "r2"], "title": [EVIL, "+1 a normal title"], "decision": [None, None]})
    out = _write_sheet(sheet, tmp_path / "s.xlsx", stage="title_abstract", title="Screening")
    cells = _cells(out)
    assert not [c for c in cells if c.data_type == "f"]
    assert any(c.value == EVIL and c.data_type == "s" for c in cells)


def test_trial_label_starting_with_equals_is_text_in_table1(tmp_path):
    frame = pd.DataFrame({"study": [EVIL], "year": [2020]})
    path = tmp_path / "t1.xlsx"
    write_table(frame, path, columns={"study": "Study", "year": "Year"})
    cells = _cells(path)
    assert not [c for c in cells if c.data_type == "f"]
    assert any(c.value == EVIL for c in cells)
