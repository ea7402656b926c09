"""A report: sections of text, tables and figures, written as HTML, Word and Excel.

The runner collects what a manuscript needs from the engines' results
(tables with their numbers, figures, sentences) into a :class:`Report`;
numbers stay numbers until a writer shows them, and every writer shows them
through the one formatter (:mod:`hepatostat.io.format`):

- ``report.html``: one self-contained page (figures embedded as PNG, a table
  of contents, print-friendly three-line tables);
- ``report.docx``: :class:`hepatostat.io.docx.DocxDocument` (page-fitted
  pictures, landscape for wide tables, repeating header rows);
- ``tables.xlsx``: :func:`hepatostat.io.xlsx.write_workbook` (numbers as
  numbers with number formats, never formulas);
- every figure as PNG and SVG under ``figures/``.

A report built from synthetic data says so in its title, in a banner, in
every figure image and in every caption that shows synthetic data.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..io.format import DEFAULT, Style, format_frame, kind_of

__all__ = ["Report", "Section", "ReportTable", "ReportFigure", "format_frame"]


@dataclass
class ReportTable:
    title: str
    frame: pd.DataFrame  # numbers as numbers (or pre-formatted text from an engine)
    note: str = ""
    key: str = ""
    kinds: dict = field(default_factory=dict)
    synthetic: bool | None = None
    supplement: bool = False  # numbered "Table S1, S2, ..." and shown under "Supplementary material"

    def text_frame(self, style: Style = DEFAULT) -> pd.DataFrame:
        """The table as text for print: every number through the one formatter, CI limits as "a to b"."""
        from ..io.format import merge_ci

        kinds = {c: self.kinds.get(c) or kind_of(c) for c in self.frame.columns}
        ci_kind = kinds.get("95% CI lower", "ci")
        text = format_frame(self.frame, kinds, style)
        return merge_ci(text.assign(**{c: self.frame[c] for c in ("95% CI lower", "95% CI upper") if c in text.columns}),
                        kind="ci" if ci_kind == "default" else ci_kind, style=style)


@dataclass
class ReportFigure:
    title: str
    fig: object  # matplotlib Figure
    note: str = ""
    key: str = ""
    png: bytes = b""
    files: list = field(default_factory=list)
    synthetic: bool | None = None
    supplement: bool = False  # numbered "Figure S1, S2, ..." and shown under "Supplementary material"

    def png_bytes(self) -> bytes:
        """The figure as PNG (200 dpi), rendered once."""
        if not self.png:
            from ..io.figures import png_bytes

            self.png = png_bytes(self.fig)
        return self.png


@dataclass
class Section:
    """A heading and its blocks. ``mark``: what the section's tables and figures show — None (the
    report's default), False (real or published data), True (synthetic) or a label such as
    "EXAMPLE DATA" for illustrative inputs; a block's own ``synthetic`` wins."""

    title: str
    level: int = 1
    blocks: list = field(default_factory=list)  # str | ReportTable | ReportFigure
    mark: object = None

    def text(self, paragraph: str) -> "Section":
        self.blocks.append(str(paragraph))
        return self

    def table(self, title: str, frame: pd.DataFrame, note: str = "", *, kinds: dict | None = None,
              synthetic: bool | None = None, raw: bool = False, digits: int | None = None,
              supplement: bool = False) -> ReportTable:
        """Add a table. ``kinds`` maps columns to formatter kinds (others are guessed from the header).
        ``supplement``: a supplementary table (numbered S1, S2, ... and placed after the main text)."""
        t = ReportTable(title, frame.reset_index(drop=True), note, kinds=dict(kinds or {}), synthetic=synthetic,
                        supplement=supplement)
        self.blocks.append(t)
        return t

    def figure(self, title: str, fig, note: str = "", *, synthetic: bool | None = None,
               supplement: bool = False) -> ReportFigure:
        f = ReportFigure(title, fig, note, synthetic=synthetic, supplement=supplement)
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

    def __init__(self, title: str, *, subtitle: str = "", synthetic: bool = False, style: Style = DEFAULT):
        self.title = title
        self.subtitle = subtitle
        self.synthetic = synthetic
        self.style = style
        self.sections: list[Section] = []

    def section(self, title: str, level: int = 1, *, mark=None) -> Section:
        s = Section(title, level, mark=mark)
        self.sections.append(s)
        return s

    # -------------------------------------------------------------- numbering and captions
    def layout(self) -> list:
        """The sections in reading order as ``(title, level, blocks)``: the main text (without the
        supplementary tables and figures), then "Supplementary material" with each section's
        supplementary blocks under its title."""
        main, supp = [], []
        for sec in self.sections:
            for b in sec.blocks:  # a block shows what its section shows unless it says otherwise
                if isinstance(b, (ReportTable, ReportFigure)) and b.synthetic is None and sec.mark is not None:
                    b.synthetic = sec.mark
            blocks = [b for b in sec.blocks if not getattr(b, "supplement", False)]
            extra = [b for b in sec.blocks if getattr(b, "supplement", False)]
            if blocks or not extra:
                main.append((sec.title, sec.level, blocks))
            if extra:  # "Cohort study: changes over time (Table 3, Figures 1-3)" -> "Cohort study: changes over time"
                supp.append((re.sub(r"\s*\((?:Tables?|Figures?) [^)]*\)$", "", sec.title), 2, extra))
        if supp:
            main.append(("Supplementary material", 1, []))
            main += supp
        return main

    def _numbered(self):
        tables, figures = [], []
        taken: set = set()
        for _, _, blocks in self.layout():
            for b in blocks:
                if isinstance(b, (ReportTable, ReportFigure)):
                    (tables if isinstance(b, ReportTable) else figures).append(b)
                    b.key = b.key or _slug(b.title, taken)
        return tables, figures

    def numbers(self) -> dict:
        """``id(block)`` -> "Table 1", "Table S1", "Figure 2", "Figure S3" (main and supplementary counted apart)."""
        tables, figures = self._numbered()
        out = {}
        for kind, blocks in (("Table", tables), ("Figure", figures)):
            n = {False: 0, True: 0}
            for b in blocks:
                n[b.supplement] += 1
                out[id(b)] = f"{kind} {'S' if b.supplement else ''}{n[b.supplement]}"
        return out

    def mark_of(self, block) -> str:
        """"SYNTHETIC DATA", another label (e.g. "EXAMPLE DATA") or "" for what ``block`` shows."""
        v = self.synthetic if block.synthetic is None else block.synthetic
        if isinstance(v, str):
            return v
        return "SYNTHETIC DATA" if v else ""

    def _is_synthetic(self, block) -> bool:
        return bool(self.mark_of(block))

    def caption(self, block) -> str:
        """The caption text, with the SYNTHETIC (or EXAMPLE) mark when the block shows such data."""
        text = block.title
        mark = self.mark_of(block)
        if mark and mark.split()[0].upper() not in text.upper():
            text = f"{text} [{mark}]"
        return text

    @property
    def banner(self) -> str:
        return ("SYNTHETIC DATA: every number in this report that is marked SYNTHETIC comes from simulated patients "
                "or invented studies, not from real people." if self.synthetic else "")

    # -------------------------------------------------------------- figures
    def prepare_figures(self):
        """Put the SYNTHETIC mark into every figure that shows synthetic data."""
        from ..io.figures import mark_synthetic

        _, figures = self._numbered()
        for f in figures:
            if self._is_synthetic(f):
                mark_synthetic(f.fig, self.mark_of(f))
                f.png = b""

    def write_figures(self, folder) -> list[str]:
        """Save every figure as PNG and SVG; keep the PNG bytes for embedding."""
        from ..io.figures import save_figure

        self.prepare_figures()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        _, figures = self._numbered()
        num = self.numbers()
        written = []
        for f in figures:
            n = num[id(f)].split()[1]
            stem = folder / (f"figure{int(n):02d}_{f.key}" if n.isdigit() else f"figureS{int(n[1:]):02d}_{f.key}")
            stem.with_suffix(".png").write_bytes(f.png_bytes())
            svg = save_figure(f.fig, stem, ("svg",))
            f.files = [str(stem.with_suffix(".png"))] + svg
            written += f.files
        return written

    def close_figures(self):
        """Release figures; only those a caller made with pyplot need pyplot's close."""
        import sys

        plt = sys.modules.get("matplotlib.pyplot")
        if plt is None:
            return
        _, figures = self._numbered()
        for f in figures:
            plt.close(f.fig)

    # -------------------------------------------------------------- HTML
    def to_html(self) -> str:
        self.prepare_figures()
        num = self.numbers()
        layout = self.layout()
        esc = html.escape
        out = [
            "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            f"<title>{esc(self.title)}</title>",
            "<style>",
            "body{font-family:Georgia,'Times New Roman',serif;max-width:64em;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}",
            "h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em;font-size:1.3em}",
            ".subtitle{color:#555}.banner{background:#fff3cd;border:1px solid #e0b000;padding:.6em 1em;font-weight:bold;margin:1em 0}",
            "table{border-collapse:collapse;margin:.5em 0 .3em;font-size:.8em;font-family:Arial,Helvetica,sans-serif}",
            "thead th{border-top:2px solid #000;border-bottom:1px solid #000;padding:.3em .5em;text-align:center;vertical-align:bottom}",
            "thead th:first-child,tbody td:first-child{text-align:left}",
            "tbody td{padding:.15em .5em;vertical-align:top;text-align:center;white-space:nowrap}tbody td:first-child{white-space:normal}",
            "tbody tr:last-child td{border-bottom:2px solid #000}",
            ".caption{font-weight:bold;margin-top:1.4em;margin-bottom:.2em}.note{font-size:.8em;color:#444;margin:.2em 0 1em}",
            "figure{margin:1.2em 0}figure img{max-width:100%;height:auto}figcaption{font-size:.9em}",
            "nav{background:#f7f7f7;padding:.5em 1.5em;border:1px solid #e5e5e5}nav li{margin:.1em 0}",
            ".scroll{overflow-x:auto}.synth{color:#a40000;font-weight:bold}",
            "@media print{.scroll{overflow:visible}nav{display:none}}",
            "</style></head><body>",
            f"<h1>{esc(self.title)}</h1>",
        ]
        if self.subtitle:
            out.append(f"<p class='subtitle'>{esc(self.subtitle)}</p>")
        if self.synthetic:
            out.append(f"<div class='banner'>{esc(self.banner)}</div>")
        out.append("<nav><strong>Contents</strong><ol>")
        for i, (title, level, _) in enumerate(layout, 1):
            if level <= 1:
                out.append(f"<li><a href='#sec{i}'>{esc(title)}</a></li>")
        out.append("</ol></nav>")
        for i, (title, level, blocks) in enumerate(layout, 1):
            tag = "h2" if level <= 1 else "h3"
            out.append(f"<{tag} id='sec{i}'>{esc(title)}</{tag}>")
            for b in blocks:
                if isinstance(b, str):
                    out.append(f"<p>{esc(b)}</p>")
                elif isinstance(b, ReportTable):
                    out.append(f"<p class='caption' id='{b.key}'>{num[id(b)]}. {esc(self.caption(b))}</p>")
                    out.append("<div class='scroll'>" + _html_table(b.text_frame(self.style)) + "</div>")
                    if b.note:
                        out.append(f"<p class='note'>{esc(b.note)}</p>")
                else:
                    data = base64.b64encode(b.png_bytes()).decode("ascii")
                    w_in = b.fig.get_size_inches()[0]
                    width = int(min(100, w_in / 6.27 * 100) + 0.5)  # a CSS width (whole percent), not a reader's number
                    out.append(f"<figure id='{b.key}'><img alt='{esc(b.title)}' style='width:{width}%' "
                               f"src='data:image/png;base64,{data}'>"
                               f"<figcaption><strong>{num[id(b)]}.</strong> {esc(self.caption(b))}"
                               + (f"{_sep(self.caption(b))}{esc(b.note)}" if b.note else "") + "</figcaption></figure>")
        out.append("</body></html>")
        return "\n".join(out)

    def write_html(self, path) -> str:
        Path(path).write_text(self.to_html(), encoding="utf-8")
        return str(path)

    # -------------------------------------------------------------- Word
    def write_docx(self, path) -> str:
        from ..io.docx import DocxDocument

        self.prepare_figures()
        num = self.numbers()
        doc = DocxDocument()
        doc.title(self.title)
        if self.subtitle:
            doc.paragraph(self.subtitle, italic=True)
        if self.synthetic:
            doc.paragraph(self.banner, bold=True)
        doc.toc_placeholder()
        layout = self.layout()
        for i, (title, level, blocks) in enumerate(layout):
            first = next((b for b in blocks if not isinstance(b, str)), None)
            if not blocks:  # a part heading ("Supplementary material") goes onto the page of what follows
                first = next((b for _, _, bl in layout[i + 1:] for b in bl if not isinstance(b, str)), None)
            elif first is None:  # text only: back to portrait after a landscape table
                doc.orient_for(False)
            # the heading goes onto the page of the section's first table or figure (not stranded before a
            # section break)
            if isinstance(first, ReportTable):
                doc.orient_for(doc.wants_landscape(first.text_frame(self.style)))
            elif isinstance(first, ReportFigure):
                doc.orient_for(False)
            h = doc.heading(title, level=1 if level <= 1 else 2)
            if not blocks and i:  # the supplementary material starts on a page of its own
                h.paragraph_format.page_break_before = True
            for b in blocks:
                if isinstance(b, str):
                    doc.paragraph(b)
                elif isinstance(b, ReportTable):
                    doc.table(b.text_frame(self.style), label=f"{num[id(b)]}.", caption=self.caption(b),
                              notes=[b.note] if b.note else [])
                else:
                    cap = self.caption(b) + (f"{_sep(self.caption(b))}{b.note}" if b.note else "")
                    doc.picture(b.png_bytes(), tuple(b.fig.get_size_inches()), label=f"{num[id(b)]}.",
                                caption=cap)
        return doc.save(path)

    # -------------------------------------------------------------- Excel
    def write_xlsx(self, path) -> str:
        from ..io.xlsx import Sheet, write_workbook

        tables, _ = self._numbered()
        num = self.numbers()
        sheets = [Sheet(name=f"T{num[id(t)].split()[1]} {t.title}", frame=t.frame, caption=f"{num[id(t)]}. {self.caption(t)}",
                        notes=[t.note] if t.note else [], kinds=t.kinds) for t in tables]
        return write_workbook(path, sheets, style=self.style, readme=self.banner)


def _sep(caption: str) -> str:
    """Between a figure's caption and its note: a full stop unless the caption ends with one."""
    return " " if caption.rstrip().endswith((".", "!", "?")) else ". "


def _html_table(frame: pd.DataFrame) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        rows.append("<tr>" + "".join(f"<td>{_indent(esc(str(v)))}</td>" for v in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _indent(text: str) -> str:
    """Leading spaces (level rows under a variable) kept in HTML."""
    stripped = text.lstrip(" ")
    return "&nbsp;" * (len(text) - len(stripped)) + stripped


def column_kinds(frame: pd.DataFrame) -> dict:
    """The formatter kind of every column (guessed from the header)."""
    return {c: kind_of(c) for c in frame.columns}
