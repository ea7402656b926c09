"""Rendering check: report.docx -> PDF with LibreOffice; no picture or table runs off a page (issue 16 item 6).

Skips, with the reason, where LibreOffice (``soffice``) or poppler (``pdftotext``, ``pdftoppm``) is
missing; ``.ci/run`` installs ``libreoffice-writer-nogui`` and ``poppler-utils``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile

import pandas as pd
import pytest

from hepatostat.io.figures import new_figure
from hepatostat.report.document import Report

EMU = 914400
TOOLS = [t for t in ("soffice", "pdftotext", "pdftoppm") if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(TOOLS), reason=f"needs LibreOffice and poppler; missing: {', '.join(TOOLS)}")


def _report() -> Report:
    rep = Report("Rendering check", subtitle="tall figures, wide and long tables", synthetic=True)
    s = rep.section("Figures")
    fig, axes = new_figure(7.0, 11.0, nrows=4)  # taller than any page: the flow-diagram case
    for ax in axes[:, 0]:
        ax.plot([0, 1], [0, 1])
    s.figure("A figure taller than the printable height", fig)
    fig, axes = new_figure(13.0, 4.0)  # wider than any page: the strip-figure case
    axes[0][0].plot([0, 1], [1, 0])
    s.figure("A figure wider than the printable width", fig)
    s = rep.section("Tables")
    s.table("A wide table", pd.DataFrame({f"Group {i} (n = 37)": ["456.7 (343.2–559.1)"] * 4 for i in range(10)}))
    s.table("A long table", pd.DataFrame({"Study": [f"Study {i}" for i in range(120)], "n": range(120),
                                          "P": [0.0001 * i for i in range(120)]}))
    return rep


def _convert(docx_path, tmp_path):
    profile = tmp_path / "lo-profile"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(docx_path)], check=True, capture_output=True, timeout=180)
    pdf = tmp_path / (docx_path.stem + ".pdf")
    assert pdf.exists(), "LibreOffice wrote no PDF"
    return pdf


def test_docx_renders_with_nothing_off_the_page(tmp_path):
    from PIL import Image

    rep = _report()
    path = tmp_path / "report.docx"
    rep.write_docx(path)
    # 1. every picture's size is within the printable area of its section (structure of the file)
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode()
    extents = [(int(a) / EMU, int(b) / EMU) for a, b in re.findall(r'<wp:extent cx="(\d+)" cy="(\d+)"', xml)]
    assert len(extents) == 2
    assert all(w <= 11.69 - 2 + 1e-3 and h <= 11.69 - 2 for w, h in extents)
    # 2. in the PDF LibreOffice makes, every word lies on its page, inside the margins (less a small tolerance)
    pdf = _convert(path, tmp_path)
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', bbox, flags=re.S)
    assert len(pages) >= 4
    off = []
    for i, (pw, ph, body) in enumerate(pages, 1):
        pw, ph = float(pw), float(ph)
        for x0, y0, x1, y1, word in re.findall(
                r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">(.*?)</word>', body):
            if float(x0) < 36 or float(y0) < 36 or float(x1) > pw - 36 or float(y1) > ph - 36:
                off.append((i, word, x0, y0, x1, y1))
    assert off == [], f"words outside the margins: {off[:5]}"
    # 3. nothing is drawn in the outer quarter inch of any page (a picture or table running off would be)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True, capture_output=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == len(pages)
    band = 10  # 0.25 in at 40 dpi
    for img_path in images:
        img = Image.open(img_path).convert("L")
        w, h = img.size
        for box in ((0, 0, w, band), (0, h - band, w, h), (0, 0, band, h), (w - band, 0, w, h)):
            lo, _ = img.crop(box).getextrema()
            assert lo > 200, f"{img_path.name}: something drawn at the page edge {box}"
