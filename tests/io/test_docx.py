"""The one Word writer: tables and pictures that survive a page (issue 16 item 5)."""

from __future__ import annotations

import io
import zipfile

import docx
import pandas as pd
import pytest
from PIL import Image

from hepatostat.io.docx import PAGE, DocxDocument

EMU = 914400


def _png(w_px, h_px) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w_px, h_px), "white").save(buf, format="PNG", dpi=(100, 100))
    return buf.getvalue()


def _xml(path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("word/document.xml").decode()


def test_tall_picture_fits_the_printable_area(tmp_path):
    doc = DocxDocument()
    w, h = doc.picture(_png(700, 1000), (7.0, 10.0), label="Figure 1.", caption="A tall flow diagram")
    pw, ph = PAGE["width"] - 2 * PAGE["margin"], PAGE["height"] - 2 * PAGE["margin"]
    assert w <= pw + 1e-3 and h <= ph - 0.6  # room left for the caption
    doc.save(tmp_path / "p.docx")
    d = docx.Document(tmp_path / "p.docx")
    shape = d.inline_shapes[0]
    assert shape.height / EMU <= ph and shape.width / EMU <= pw + 1e-3


def test_wide_table_goes_landscape_and_back(tmp_path):
    doc = DocxDocument()
    narrow = pd.DataFrame({"a": ["1"], "b": ["2"]})
    wide = pd.DataFrame({f"Column {i}": ["12.34 (5.67 to 8.90)"] for i in range(9)})
    doc.table(narrow, caption="narrow")
    doc.table(wide, caption="wide")
    doc.picture(_png(600, 300), (6.0, 3.0), caption="portrait again")
    doc.save(tmp_path / "t.docx")
    d = docx.Document(tmp_path / "t.docx")
    orient = [s.page_width > s.page_height for s in d.sections]
    assert orient == [False, True, False]
    # the wide table's columns fit the landscape text width
    widths = [c.width for c in d.tables[1].columns]
    assert sum(widths) / EMU <= PAGE["height"] - 2 * PAGE["margin"] + 0.01


def test_header_rows_repeat_rows_do_not_split_and_short_cells_do_not_wrap(tmp_path):
    doc = DocxDocument()
    frame = pd.DataFrame({"Study": [f"Study {i}" for i in range(60)], "n": ["37"] * 60, "P": ["<0.001"] * 60})
    doc.table(frame, caption="long", notes=["A note."])
    doc.save(tmp_path / "t.docx")
    x = _xml(tmp_path / "t.docx")
    assert x.count("<w:tblHeader/>") == 1 and x.count("<w:cantSplit/>") == 61
    d = docx.Document(tmp_path / "t.docx")
    mins, _ = doc._widths(frame, 9)
    assert all(c.width / EMU >= m - 1e-3 for c, m in zip(d.tables[0].columns, mins))


def test_control_characters_in_labels_do_not_crash(tmp_path):
    # regression: a label with control characters crashed the Word writer (issue 14)
    doc = DocxDocument()
    doc.toc_placeholder()
    doc.heading("Section \x01 one")
    doc.paragraph("text with \x00 null and \x1b escape")
    doc.table(pd.DataFrame({"Study\x02": ["=HYPERLINK(\"x\")\x07"]}), caption="cap\x0b", label="Table 1.")
    doc.save(tmp_path / "c.docx")
    assert "\ufffd" in docx.Document(tmp_path / "c.docx").tables[0].cell(1, 0).text


def test_table_of_contents_is_filled_in(tmp_path):
    doc = DocxDocument()
    doc.toc_placeholder()
    doc.heading("Cohort study")
    doc.heading("Meta-analysis", level=2)
    doc.save(tmp_path / "toc.docx")
    x = _xml(tmp_path / "toc.docx")
    start, end = x.index('fldCharType="separate"'), x.index('fldCharType="end"')
    assert "Cohort study" in x[start:end] and "Meta-analysis" in x[start:end]  # LibreOffice shows the stored result
    with zipfile.ZipFile(tmp_path / "toc.docx") as z:
        assert b"updateFields" in z.read("word/settings.xml")  # Word refreshes it on opening


@pytest.mark.parametrize("n_rows", [3, 200])
def test_caption_kept_with_table(tmp_path, n_rows):
    doc = DocxDocument()
    doc.table(pd.DataFrame({"a": ["x"] * n_rows}), caption="cap", label="Table 1.")
    doc.save(tmp_path / "k.docx")
    d = docx.Document(tmp_path / "k.docx")
    cap = next(p for p in d.paragraphs if p.text.startswith("Table 1."))
    assert cap.paragraph_format.keep_with_next
