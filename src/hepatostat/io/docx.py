"""The one Word writer: a manuscript document that survives a page.

:class:`DocxDocument` builds a ``.docx`` with python-docx the way a journal
wants it and the way Word *and* LibreOffice lay it out:

- A4 portrait with 2.5 cm margins; a table too wide for portrait goes into a
  landscape section of its own (and the document returns to portrait);
- three-line tables (heavy rule above and below the header, heavy rule
  under the last row), the header row repeated on every page, rows that do
  not split across pages, the caption and header kept with the body (a
  short table is kept on one page), column widths from the content: no
  column narrower than its longest word, so "37" never breaks into "3/7";
- pictures scaled to fit the printable width *and* height of their section
  (leaving room for the caption), kept with their caption;
- a table of contents field whose entries are written in already, so
  LibreOffice (which shows a field's stored result) and Word (which refreshes
  it when the file is opened: ``w:updateFields``) both show it;
- text cleaned of control characters that XML cannot hold (U+FFFD instead
  of a crash).

Cells are written as ``str(value)``: format numbers first with
:func:`hepatostat.io.format.format_frame`.
"""

from __future__ import annotations

import io
from pathlib import Path

from .xlsx import clean_text

__all__ = ["DocxDocument", "PAGE", "text_width_inches"]

#: A4 portrait, 1 inch (2.54 cm) margins; inches
PAGE = {"width": 8.27, "height": 11.69, "margin": 1.0}
_CHAR_IN = 0.068  # mean character width of 9 pt Times New Roman, inches (digits 0.0625, capitals wider)
_CELL_PAD = 0.16  # left + right cell margins (0.08 in each, Word's default), inches


def text_width_inches(text: str, size: float = 9.0) -> float:
    """Approximate printed width of ``text`` in Times New Roman at ``size`` pt."""
    wide = sum(1 for ch in text if ch.isupper() or ch in "mwMW%—")
    return (len(text) + 0.35 * wide) * _CHAR_IN * size / 9.0


class DocxDocument:
    """A Word document built block by block; :meth:`save` writes it."""

    def __init__(self, *, font: str = "Times New Roman", size: float = 11.0, table_size: float = 9.0):
        from docx import Document
        from docx.shared import Inches, Pt

        self.doc = Document()
        self.table_size = table_size
        sec = self.doc.sections[0]
        sec.page_width, sec.page_height = Inches(PAGE["width"]), Inches(PAGE["height"])
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(sec, side, Inches(PAGE["margin"]))
        style = self.doc.styles["Normal"]
        style.font.name = font
        style.font.size = Pt(size)
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}rFonts")
        if fonts is not None:  # East Asian and complex-script text in the same face
            for attr in ("w:eastAsia", "w:cs"):
                from docx.oxml.ns import qn

                fonts.set(qn(attr), font)
        self.landscape = False
        self._toc = None

    # ------------------------------------------------------------ geometry
    def _section(self):
        return self.doc.sections[-1]

    def printable(self) -> tuple[float, float]:
        """(width, height) of the printable area of the current section, inches."""
        s = self._section()
        emu = 914400
        return ((s.page_width - s.left_margin - s.right_margin) / emu,
                (s.page_height - s.top_margin - s.bottom_margin) / emu)

    def _orient(self, landscape: bool):
        if landscape == self.landscape:
            return
        from docx.enum.section import WD_ORIENT, WD_SECTION

        if not self.doc.paragraphs and not self.doc.tables:
            sec = self.doc.sections[-1]  # nothing written yet: turn the first page, no blank page before it
        else:
            sec = self.doc.add_section(WD_SECTION.NEW_PAGE)
        w, h = sec.page_width, sec.page_height
        if landscape != (w > h):
            sec.page_width, sec.page_height = h, w
        sec.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        self.landscape = landscape

    # ------------------------------------------------------------ text
    def title(self, text: str):
        self.doc.add_heading(clean_text(text), level=0)

    def heading(self, text: str, level: int = 1):
        h = self.doc.add_heading(clean_text(text), level=level)
        h.paragraph_format.keep_with_next = True
        if self._toc is not None:
            self._toc.append((level, clean_text(text)))
        return h

    def paragraph(self, text: str = "", *, bold: bool = False, italic: bool = False, size: float | None = None,
                  keep_with_next: bool = False):
        from docx.shared import Pt

        p = self.doc.add_paragraph()
        if text:
            r = p.add_run(clean_text(text))
            r.bold, r.italic = bold, italic
            if size:
                r.font.size = Pt(size)
        p.paragraph_format.keep_with_next = keep_with_next
        return p

    def caption(self, label: str, text: str, *, keep_with_next: bool = True):
        p = self.doc.add_paragraph()
        if label:
            p.add_run(clean_text(label) + " ").bold = True
        p.add_run(clean_text(text))
        p.runs[-1].bold = not label  # a caption without a label ("Table 1. ..." in one string) is bold
        p.paragraph_format.keep_with_next = keep_with_next
        p.paragraph_format.space_before = 0
        return p

    # ------------------------------------------------------------ table of contents
    def toc_placeholder(self):
        """Mark where the table of contents goes; it is filled in by :meth:`save`."""
        self.doc.add_heading("Contents", level=1)
        self._toc_anchor = self.doc.add_paragraph()
        self._toc = []

    def _write_toc(self):
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        if self._toc is None:
            return
        anchor = self._toc_anchor

        def fld(run, kind):
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            if kind == "begin":
                el.set(qn("w:dirty"), "true")
            run._r.append(el)

        first = anchor.add_run()
        fld(first, "begin")
        instr = OxmlElement("w:instrText")
        instr.set(qn("xml:space"), "preserve")
        instr.text = 'TOC \\o "1-2" \\h \\z \\u'
        first._r.append(instr)
        fld(first, "separate")
        entries = self._toc or [(1, "")]
        # the first entry shares the anchor paragraph; later entries get their own paragraphs
        paras = [anchor]
        cur = anchor
        for _ in entries[1:]:
            new = OxmlElement("w:p")
            cur._p.addnext(new)
            from docx.text.paragraph import Paragraph

            cur = Paragraph(new, anchor._parent)
            paras.append(cur)
        for para, (level, text) in zip(paras, entries):
            para.add_run(("    " * (level - 1)) + text)
        fld(paras[-1].add_run(), "end")
        # ask Word to refresh fields (page numbers) when the file is opened
        settings = self.doc.settings.element
        upd = OxmlElement("w:updateFields")
        upd.set(qn("w:val"), "true")
        settings.append(upd)

    # ------------------------------------------------------------ tables
    def _widths(self, frame, size: float, strict: bool = True) -> tuple[list[float], list[float]]:
        """(minimum, preferred) width of each column in inches.

        ``strict``: a short body cell that holds a number ("0.08 (-0.06 to 0.22)") never wraps; without
        ``strict`` (a table too wide for a landscape page) cells may wrap between words.
        """
        mins, prefs = [], []
        for j, c in enumerate(frame.columns):
            texts = [str(c)] + [str(v) for v in frame.iloc[:, j].tolist()]
            # a header may wrap between words; a short body cell with a number may not
            units = [w for w in str(c).split()] + [w for t in texts[1:] for w in
                                                   ([t] if strict and len(t) <= 22 and any(ch.isdigit() for ch in t)
                                                    else t.replace("–", "– ").split())]
            longest_word = max([text_width_inches(w, size) for w in units] or [0.0])
            head = text_width_inches(str(c), size) * 1.05
            longest = max([text_width_inches(t, size) for t in texts[1:]] + [0.0])
            mins.append(longest_word + _CELL_PAD + 0.02)
            prefs.append(max(min(longest, 3.2), min(head, 1.6), longest_word) + _CELL_PAD + 0.02)
        return mins, prefs

    def table(self, frame, *, caption: str = "", label: str = "", notes=(), size: float | None = None):
        """A three-line table of ``frame`` (strings), landscape when too wide for portrait."""
        size = size or self.table_size
        mins, prefs = self._widths(frame, size)
        portrait_w = PAGE["width"] - 2 * PAGE["margin"]
        landscape_w = PAGE["height"] - 2 * PAGE["margin"]
        if sum(mins) > portrait_w and size > 8:
            size = 8.0
            mins, prefs = self._widths(frame, size)
        want_landscape = self.wants_landscape(frame, size)
        self._orient(want_landscape)
        avail = landscape_w if want_landscape else portrait_w
        if sum(mins) > avail:  # even landscape is too narrow: let text cells wrap between words
            mins, prefs = self._widths(frame, size, strict=False)
        while sum(mins) > avail and size > 7:  # then a smaller type, as journals set a wide table
            size -= 0.5
            mins, prefs = self._widths(frame, size, strict=False)
        widths = self._fit(mins, prefs, avail)
        # keep a table on one page only when it surely fits on one (row heights are estimates)
        short = self._height(frame, widths, size) < 0.5 * ((PAGE["width"] if want_landscape else PAGE["height"]) - 2)
        notes = [n for n in notes or () if n]
        if caption or label:
            self.caption(label, caption)
        t = self._table(frame, widths, size, keep_together=short, keep_last=bool(notes))
        for i, n in enumerate(notes):
            p = self.paragraph(n, size=size - 0.5, keep_with_next=i < len(notes) - 1)
            p.paragraph_format.space_after = 0
        self.paragraph()
        return t

    def wants_landscape(self, frame, size: float | None = None) -> bool:
        """Whether :meth:`table` would put ``frame`` on a landscape page."""
        size = size or self.table_size
        mins, prefs = self._widths(frame, size)
        portrait_w = PAGE["width"] - 2 * PAGE["margin"]
        if sum(mins) > portrait_w and size > 8:
            mins, prefs = self._widths(frame, 8.0)
        return sum(mins) > portrait_w or sum(prefs) > portrait_w * 1.6

    def orient_for(self, landscape: bool):
        """Switch orientation now (e.g. before a heading whose first block is a wide table)."""
        self._orient(landscape)

    @staticmethod
    def _height(frame, widths, size) -> float:
        """Estimated printed height of the table in inches (wrapped lines × line height)."""
        import math

        lines = 0
        for row in [list(map(str, frame.columns))] + frame.astype(str).values.tolist():
            lines += max([math.ceil(text_width_inches(t, size) / max(w - _CELL_PAD, 0.1)) or 1
                          for t, w in zip(row, widths)] or [1])
        return lines * size * 1.25 / 72

    @staticmethod
    def _fit(mins, prefs, avail):
        if sum(prefs) <= avail:
            return prefs
        if sum(mins) >= avail:  # cannot fit: shrink proportionally (long words will wrap)
            return [m * avail / sum(mins) for m in mins]
        extra = avail - sum(mins)
        want = [p - m for p, m in zip(prefs, mins)]
        tot = sum(want) or 1.0
        return [m + extra * w / tot for m, w in zip(mins, want)]

    def _table(self, frame, widths, size, keep_together, keep_last=False):
        from docx.enum.table import WD_TABLE_ALIGNMENT
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Inches, Pt

        nrows, ncols = frame.shape
        table = self.doc.add_table(rows=nrows + 1, cols=max(ncols, 1))
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        tblPr = table._tbl.tblPr
        layout = OxmlElement("w:tblLayout")
        layout.set(qn("w:type"), "fixed")
        tblPr.append(layout)
        heavy, thin = 12, 6

        def border(cell, **edges):
            tcPr = cell._tc.get_or_add_tcPr()
            b = OxmlElement("w:tcBorders")
            for edge, sz in edges.items():
                el = OxmlElement(f"w:{edge}")
                if sz:
                    el.set(qn("w:val"), "single")
                    el.set(qn("w:sz"), str(sz))
                    el.set(qn("w:space"), "0")
                    el.set(qn("w:color"), "000000")
                else:
                    el.set(qn("w:val"), "nil")
                b.append(el)
            tcPr.append(b)

        def row_props(row, header):
            trPr = row._tr.get_or_add_trPr()
            cs = OxmlElement("w:cantSplit")
            trPr.append(cs)
            if header:
                th = OxmlElement("w:tblHeader")
                trPr.append(th)

        half_points = str(int(round(size * 2)))

        def put(cell, text, j, bold, keep):
            par = cell.paragraphs[0]
            # the paragraph mark in the cell's size too, or an empty cell makes its row taller
            rpr = OxmlElement("w:rPr")
            sz = OxmlElement("w:sz")
            sz.set(qn("w:val"), half_points)
            rpr.append(sz)
            par._p.get_or_add_pPr().append(rpr)
            if text:
                run = par.add_run(clean_text(text))
                run.bold = bold
                run.font.size = Pt(size)
            par.alignment = WD_ALIGN_PARAGRAPH.LEFT if j == 0 else WD_ALIGN_PARAGRAPH.CENTER
            pf = par.paragraph_format
            pf.space_before = pf.space_after = 0
            pf.keep_with_next = keep

        rows = table.rows
        row_props(rows[0], True)
        for j, (cell, c) in enumerate(zip(rows[0].cells, frame.columns)):
            put(cell, str(c), j, True, True)
            border(cell, top=heavy, bottom=thin, left=0, right=0)
        values = frame.astype(str).to_numpy()
        for i, row in enumerate(rows[1:], start=1):
            row_props(row, False)
            keep = (keep_together and i < nrows) or (keep_last and i == nrows)
            for j, cell in enumerate(row.cells):
                put(cell, values[i - 1, j], j, False, keep)
                border(cell, top=0, bottom=heavy if i == nrows else 0, left=0, right=0)
        for j, col in enumerate(table.columns):
            w = Inches(widths[j]) if j < len(widths) else Inches(1)
            col.width = w
            for cell in col.cells:
                cell.width = w
        return table

    # ------------------------------------------------------------ pictures
    def picture(self, png: bytes, size_inches: tuple[float, float], *, caption: str = "", label: str = "",
                caption_lines: int | None = None):
        """A picture fitted to the printable area (width and height), with its caption below."""
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Inches

        w_in, h_in = size_inches
        aspect = h_in / w_in if w_in else 1.0
        # landscape only for a wide picture that would shrink a lot on a portrait page
        self._orient(w_in > 1.3 * h_in and w_in > 1.4 * (PAGE["width"] - 2 * PAGE["margin"]))
        avail_w, avail_h = self.printable()
        lines = caption_lines if caption_lines is not None else 1 + len(caption) // 95
        avail_h -= 0.45 + 0.2 * lines  # caption and spacing
        width = min(avail_w, max(w_in, min(avail_w, 6.0)))
        if width * aspect > avail_h:
            width = avail_h / aspect
        self.doc.add_picture(io.BytesIO(png), width=Inches(width))
        par = self.doc.paragraphs[-1]
        par.alignment = WD_ALIGN_PARAGRAPH.CENTER
        par.paragraph_format.keep_with_next = True
        if caption or label:
            self.caption(label, caption, keep_with_next=False)
        return width, width * aspect

    # ------------------------------------------------------------ output
    def save(self, path) -> str:
        self._write_toc()
        p = Path(path)
        self.doc.save(p)
        return str(p)
