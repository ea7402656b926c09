"""A report: sections of text, tables and figures, written as HTML, Word and Excel.

The engines produce result objects; a :class:`Report` collects what a
manuscript needs from them (tables already formatted for print, figures,
sentences) and writes

- ``report.html``: one self-contained page (figures embedded as PNG, a table
  of contents, print-friendly three-line tables);
- ``report.docx``: real Word tables in journal style (three-line: rules above
  and below the header and at the bottom), figures with captions;
- ``tables.xlsx``: one sheet per table;
- every figure as PNG and SVG under ``figures/``.

A report built from synthetic data says so in its title, in a banner on the
page and in the Word file.
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["Report", "Section", "ReportTable", "ReportFigure", "format_frame", "docx_table"]


def format_frame(frame: pd.DataFrame, digits: int = 3, pcols=("pval", "p", "Q_pval", "QMp", "QEp")) -> pd.DataFrame:
    """A copy of ``frame`` with numbers rounded for print (p-values as '< 0.001')."""
    out = frame.copy()
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_bool_dtype(col):
            out[c] = col.map({True: "yes", False: "no"})
        elif pd.api.types.is_float_dtype(col):
            if c in pcols or str(c).lower().startswith("p_") or str(c).lower().endswith("pval"):
                out[c] = col.map(lambda x: "" if pd.isna(x) else ("< 0.001" if x < 0.001 else f"{x:.3f}"))
            else:
                out[c] = col.map(lambda x: "" if pd.isna(x) else f"{x:.{digits}f}")
        else:
            out[c] = col.map(lambda x: "" if _missing(x) else str(x))
    return out


def _missing(x) -> bool:
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):  # lists, arrays
        return False


@dataclass
class ReportTable:
    title: str
    frame: pd.DataFrame  # already formatted for print (strings)
    note: str = ""
    key: str = ""


@dataclass
class ReportFigure:
    title: str
    fig: object  # matplotlib Figure
    note: str = ""
    key: str = ""
    png: bytes = b""
    files: list = field(default_factory=list)

    def png_bytes(self) -> bytes:
        """The figure as PNG (200 dpi), rendered once."""
        if not self.png:
            buf = io.BytesIO()
            self.fig.savefig(buf, format="png", dpi=200, bbox_inches="tight")
            self.png = buf.getvalue()
        return self.png


@dataclass
class Section:
    title: str
    level: int = 1
    blocks: list = field(default_factory=list)  # str | ReportTable | ReportFigure

    def text(self, paragraph: str) -> "Section":
        self.blocks.append(str(paragraph))
        return self

    def table(self, title: str, frame: pd.DataFrame, note: str = "", *, raw: bool = False, digits: int = 3) -> ReportTable:
        t = ReportTable(title, frame if raw else format_frame(frame, digits), note)
        self.blocks.append(t)
        return t

    def figure(self, title: str, fig, note: str = "") -> ReportFigure:
        f = ReportFigure(title, fig, note)
        self.blocks.append(f)
        return f


def _slug(text: str, taken: set) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:48] or "item"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    taken.add(key)
    return key


class Report:
    """Sections of text, tables and figures, and the writers for them."""

    def __init__(self, title: str, *, subtitle: str = "", synthetic: bool = False):
        self.title = title
        self.subtitle = subtitle
        self.synthetic = synthetic
        self.sections: list[Section] = []

    def section(self, title: str, level: int = 1) -> Section:
        s = Section(title, level)
        self.sections.append(s)
        return s

    # -------------------------------------------------------------- numbering
    def _numbered(self):
        tables, figures = [], []
        taken: set = set()
        for sec in self.sections:
            for b in sec.blocks:
                if isinstance(b, ReportTable):
                    tables.append(b)
                    b.key = b.key or _slug(b.title, taken)
                elif isinstance(b, ReportFigure):
                    figures.append(b)
                    b.key = b.key or _slug(b.title, taken)
        return tables, figures

    @property
    def banner(self) -> str:
        return ("SYNTHETIC DATA: every number in this report comes from simulated data or invented studies, "
                "not from patients." if self.synthetic else "")

    # -------------------------------------------------------------- figures
    def write_figures(self, folder) -> list[str]:
        """Save every figure as PNG and SVG; keep the PNG bytes for embedding."""
        import matplotlib.pyplot as plt

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        _, figures = self._numbered()
        written = []
        for i, f in enumerate(figures, 1):
            stem = folder / f"figure{i:02d}_{f.key}"
            stem.with_suffix(".png").write_bytes(f.png_bytes())
            f.fig.savefig(stem.with_suffix(".svg"), bbox_inches="tight")
            f.files = [str(stem.with_suffix(".png")), str(stem.with_suffix(".svg"))]
            written += f.files
            plt.close(f.fig)
        return written

    # -------------------------------------------------------------- HTML
    def to_html(self) -> str:
        tables, figures = self._numbered()
        tnum = {id(t): i for i, t in enumerate(tables, 1)}
        fnum = {id(f): i for i, f in enumerate(figures, 1)}
        esc = html.escape
        out = [
            "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
            f"<title>{esc(self.title)}</title>",
            "<style>",
            "body{font-family:Georgia,'Times New Roman',serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}",
            "h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}",
            ".subtitle{color:#555}.banner{background:#fff3cd;border:1px solid #e0b000;padding:.6em 1em;font-weight:bold;margin:1em 0}",
            "table{border-collapse:collapse;margin:.5em 0 .3em;font-size:.85em;font-family:Arial,Helvetica,sans-serif}",
            "thead th{border-top:2px solid #000;border-bottom:1px solid #000;padding:.3em .6em;text-align:left;vertical-align:bottom}",
            "tbody td{padding:.2em .6em;vertical-align:top}tbody tr:last-child td{border-bottom:2px solid #000}",
            ".caption{font-weight:bold;margin-top:1.2em}.note{font-size:.85em;color:#444;margin-bottom:1em}",
            "figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.9em}",
            "nav{background:#f7f7f7;padding:.5em 1.5em;border:1px solid #e5e5e5}nav li{margin:.1em 0}",
            ".scroll{overflow-x:auto}",
            "</style></head><body>",
            f"<h1>{esc(self.title)}</h1>",
        ]
        if self.subtitle:
            out.append(f"<p class='subtitle'>{esc(self.subtitle)}</p>")
        if self.synthetic:
            out.append(f"<div class='banner'>{esc(self.banner)}</div>")
        out.append("<nav><strong>Contents</strong><ol>")
        for i, s in enumerate(self.sections, 1):
            out.append(f"<li><a href='#sec{i}'>{esc(s.title)}</a></li>")
        out.append("</ol></nav>")
        for i, s in enumerate(self.sections, 1):
            tag = "h2" if s.level <= 1 else "h3"
            out.append(f"<{tag} id='sec{i}'>{esc(s.title)}</{tag}>")
            for b in s.blocks:
                if isinstance(b, str):
                    out.append(f"<p>{esc(b)}</p>")
                elif isinstance(b, ReportTable):
                    out.append(f"<p class='caption' id='{b.key}'>Table {tnum[id(b)]}. {esc(b.title)}</p>")
                    out.append("<div class='scroll'>" + _html_table(b.frame) + "</div>")
                    if b.note:
                        out.append(f"<p class='note'>{esc(b.note)}</p>")
                else:
                    data = base64.b64encode(b.png_bytes()).decode("ascii")
                    out.append(f"<figure id='{b.key}'><img alt='{esc(b.title)}' src='data:image/png;base64,{data}'>"
                               f"<figcaption><strong>Figure {fnum[id(b)]}.</strong> {esc(b.title)}"
                               + (f" {esc(b.note)}" if b.note else "") + "</figcaption></figure>")
        out.append("</body></html>")
        return "\n".join(out)

    def write_html(self, path) -> str:
        Path(path).write_text(self.to_html(), encoding="utf-8")
        return str(path)

    # -------------------------------------------------------------- Word
    def write_docx(self, path) -> str:
        from docx import Document
        from docx.enum.section import WD_ORIENT
        from docx.shared import Inches, Pt

        tables, figures = self._numbered()
        tnum = {id(t): i for i, t in enumerate(tables, 1)}
        fnum = {id(f): i for i, f in enumerate(figures, 1)}
        doc = Document()
        sec = doc.sections[0]
        sec.orientation = WD_ORIENT.LANDSCAPE
        sec.page_width, sec.page_height = sec.page_height, sec.page_width
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(sec, side, Inches(0.7))
        style = doc.styles["Normal"]
        style.font.name = "Times New Roman"
        style.font.size = Pt(11)
        doc.add_heading(self.title, level=0)
        if self.subtitle:
            doc.add_paragraph(self.subtitle)
        if self.synthetic:
            p = doc.add_paragraph()
            r = p.add_run(self.banner)
            r.bold = True
        width = sec.page_width - sec.left_margin - sec.right_margin
        _docx_toc(doc)
        for s in self.sections:
            doc.add_heading(s.title, level=1 if s.level <= 1 else 2)
            for b in s.blocks:
                if isinstance(b, str):
                    doc.add_paragraph(b)
                elif isinstance(b, ReportTable):
                    cap = doc.add_paragraph()
                    cap.add_run(f"Table {tnum[id(b)]}. ").bold = True
                    cap.add_run(b.title)
                    docx_table(doc, b.frame, width)
                    if b.note:
                        n = doc.add_paragraph(b.note)
                        for run in n.runs:
                            run.font.size = Pt(9)
                else:
                    png = b.png_bytes()
                    w_in, h_in = b.fig.get_size_inches()
                    pic_w = min(width, Inches(min(9.5, w_in)))
                    doc.add_picture(io.BytesIO(png), width=pic_w)
                    cap = doc.add_paragraph()
                    cap.add_run(f"Figure {fnum[id(b)]}. ").bold = True
                    cap.add_run(b.title + (f" {b.note}" if b.note else ""))
        doc.save(path)
        return str(path)

    # -------------------------------------------------------------- Excel
    def write_xlsx(self, path) -> str:
        tables, _ = self._numbered()
        names: set = set()
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            if self.synthetic:
                pd.DataFrame({"note": [self.banner]}).to_excel(xw, sheet_name="README", index=False)
                names.add("README")
            for i, t in enumerate(tables, 1):
                name = re.sub(r"[\[\]:*?/\\]", "", f"T{i} {t.title}")[:31]
                base, n = name, 2
                while name in names:
                    name = f"{base[:28]}_{n}"
                    n += 1
                names.add(name)
                t.frame.to_excel(xw, sheet_name=name, index=False)
                ws = xw.sheets[name]
                for col in ws.columns:
                    width = max(len(str(c.value)) if c.value is not None else 0 for c in col)
                    ws.column_dimensions[col[0].column_letter].width = min(60, max(8, width + 2))
        return str(path)


def _html_table(frame: pd.DataFrame) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        rows.append("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _docx_toc(doc):
    """A table-of-contents field (Word fills it in; LibreOffice on update)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    doc.add_heading("Contents", level=1)
    run = doc.add_paragraph().add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    begin.set(qn("w:dirty"), "true")  # Word refreshes the field when the file opens
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = 'TOC \\o "1-2" \\h \\z \\u'
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    placeholder = OxmlElement("w:t")
    placeholder.text = "Right-click and choose Update Field to show the table of contents."
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    for el in (begin, instr, sep, placeholder, end):
        run._r.append(el)


def docx_table(doc, frame: pd.DataFrame, width=None, *, size: float = 9):
    """Add a three-line (journal) table to a python-docx document.

    Rules above and below the header and under the last row, no vertical
    rules; the first column left-aligned, the others centred. With ``width``
    (the text width), column widths follow the length of their longest entry
    (capped), so that labels get room and numbers do not. Cells are written
    as ``str(value)``: format the frame first.
    """
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    nrows, ncols = frame.shape
    table = doc.add_table(rows=nrows + 1, cols=ncols)

    def border(cell, **edges):
        tcPr = cell._tc.get_or_add_tcPr()
        borders = tcPr.find(qn("w:tcBorders"))
        if borders is None:
            borders = OxmlElement("w:tcBorders")
            tcPr.append(borders)
        for edge, sz in edges.items():
            el = OxmlElement(f"w:{edge}")
            if sz:
                el.set(qn("w:val"), "single")
                el.set(qn("w:sz"), str(sz))
                el.set(qn("w:space"), "0")
                el.set(qn("w:color"), "000000")
            else:
                el.set(qn("w:val"), "nil")
            borders.append(el)

    heavy, thin = 12, 6  # eighths of a point: 1.5 pt and 0.75 pt
    rows = table.rows  # cell access by row: table.cell(i, j) is slow on large tables
    for j, (cell, c) in enumerate(zip(rows[0].cells, frame.columns)):
        par = cell.paragraphs[0]
        run = par.add_run(str(c))
        run.bold = True
        run.font.size = Pt(size)
        par.alignment = WD_ALIGN_PARAGRAPH.LEFT if j == 0 else WD_ALIGN_PARAGRAPH.CENTER
        border(cell, top=heavy, bottom=thin, left=0, right=0)
    for i, (row, values) in enumerate(zip(rows[1:], frame.itertuples(index=False)), start=1):
        for j, (cell, v) in enumerate(zip(row.cells, values)):
            par = cell.paragraphs[0]
            par.add_run(str(v)).font.size = Pt(size)
            par.alignment = WD_ALIGN_PARAGRAPH.LEFT if j == 0 else WD_ALIGN_PARAGRAPH.CENTER
            border(cell, top=0, bottom=heavy if i == nrows else 0, left=0, right=0)
    if width is not None and ncols:
        lengths = [min(40, max([1.3 * len(str(c))] + [len(str(v)) for v in frame[c]])) + 2 for c in frame.columns]
        total = sum(lengths)
        table.autofit = False
        for j, col in enumerate(table.columns):
            w = int(width * lengths[j] / total)
            col.width = w
            for cell in col.cells:
                cell.width = w
    return table
