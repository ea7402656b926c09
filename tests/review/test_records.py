"""Reading search exports: RIS, PubMed MEDLINE, BibTeX, EndNote XML, CSV."""

from __future__ import annotations

import pytest

from hepatostat import review
from hepatostat.errors import InputError
from hepatostat.review.records import decode_bytes


def _write(tmp_path, name, text, encoding="utf-8", bom=False):
    p = tmp_path / name
    data = text.encode(encoding)
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return p


# ----------------------------------------------------------------- bundled examples

def test_bundled_examples_counts_per_file(example_files):
    rs = review.read_records(example_files)
    assert len(rs) == 22
    assert [(f.format, f.records, f.database) for f in rs.files] == [
        ("medline", 8, "PubMed"), ("ris", 7, "Embase"), ("bibtex", 7, "Web of Science")]
    assert rs.per_database() == {"PubMed": 8, "Embase": 7, "Web of Science": 7}


def test_bundled_ris_bom_crlf_continuation_and_missing_er(example_files):
    rs = review.read_records(example_files[1])
    f = rs.files[0]
    assert f.encoding == "utf-8-sig" and f.records == 7
    first = rs.records[0]
    assert first.title.startswith("Allogeneic bone marrow-derived") and not first.title.startswith("\ufeff")
    assert first.authors == ("Lin, B.L.", "Chen, J.F.", "Qiu, W.H.")
    assert (first.year, first.journal, first.volume, first.issue, first.pages) == (2017, "Hepatology", "66", "1", "209-219")
    assert first.doi == "10.1002/HEP.29189"
    # the abstract is wrapped over three lines in the file
    assert "open-label randomized controlled trial of allogeneic" in first.abstract
    assert first.abstract.endswith("hepatitis B virus-related acute-on-chronic liver failure.")
    assert first.keywords == ("acute on chronic liver failure", "mesenchymal stem cell transplantation")
    last = rs.records[-1]  # no ER line after the last record
    assert last.record_id == "example_embase.ris#7" and last.title.startswith("Effect of bone marrow")
    assert "no closing ER line" in last.abstract


def test_bundled_medline_fields(example_files):
    rs = review.read_records(example_files[0])
    r = rs.records[0]
    assert r.pmid == "28370357" and r.doi == "10.1002/hep.29189"
    # TI continues on an indented line
    assert r.title == ("Allogeneic bone marrow-derived mesenchymal stromal cells for hepatitis B virus-related "
                       "acute-on-chronic liver failure: A randomized controlled trial.")
    assert r.authors == ("Lin, Bing-Liang", "Chen, Jun-Feng", "Qiu, Wei-Hong")
    assert (r.year, r.journal, r.volume, r.issue, r.pages) == (2017, "Hepatology (Baltimore, Md.)", "66", "1", "209-219")
    assert r.database == "PubMed" and r.type == "Journal Article"
    assert rs.records[6].doi == "10.1186/s13287-020-01935-w"  # from AID ... [doi]


def test_bundled_bibtex_fields(example_files):
    rs = review.read_records(example_files[2])
    r = rs.records[3]
    assert r.title == ("Bone marrow mesenchymal stem cells in acute-on-chronic liver failure grades 2 and 3: "
                       "a phase I\u2013II randomized clinical trial")
    assert r.authors[1] == "da Silva, A. M. P." and len(r.authors) == 4
    assert r.doi == "10.1155/2021/3662776" and r.database == "Web of Science"
    assert rs.records[4].doi == "10.1155/2019/4130757"  # "doi:" prefix dropped
    assert rs.records[2].pmid == "99000005"
    assert rs.records[6].journal == "STEM CELL RESEARCH & THERAPY"


# ----------------------------------------------------------------- RIS details

RIS = """TY  - JOUR
TI  - Mesenchymal stem cells in
      cirrhosis: a trial
AU  - Müller, K.
PY  - 2015///
T2  - Liver International
DO  - doi:10.1111/liv.99999
AB  - First line
second line
ER  -

TY  - JOUR
TI  - Second record
AN  - 12345678
DB  - MEDLINE
Y1  - 2019/05/02
"""


def test_ris_continuation_missing_er_and_latin1(tmp_path):
    p = _write(tmp_path, "s.ris", RIS, encoding="latin-1")
    rs = review.read_records(p)
    assert rs.files[0].encoding == "windows-1252"   # same characters as Latin-1 here (issue 17)
    a, b = rs.records
    assert a.title == "Mesenchymal stem cells in cirrhosis: a trial"
    assert a.authors == ("Müller, K.",) and a.year == 2015 and a.journal == "Liver International"
    assert a.doi == "10.1111/liv.99999" and a.abstract == "First line second line"
    assert b.title == "Second record" and b.year == 2019
    assert b.pmid == "12345678" and b.database == "MEDLINE"   # AN of a MEDLINE-sourced record
    assert a.database == "s"  # no DB tag: the file's stem


def test_ris_utf8_with_and_without_bom_agree(tmp_path):
    with_bom = review.read_records(_write(tmp_path, "a.ris", RIS, bom=True))
    without = review.read_records(_write(tmp_path, "b.ris", RIS))
    assert with_bom.files[0].encoding == "utf-8-sig" and without.files[0].encoding == "utf-8"
    assert [r.title for r in with_bom] == [r.title for r in without]
    assert with_bom.records[0].authors == ("Müller, K.",)


def test_ris_record_without_title_names_file_and_record(tmp_path):
    # issue 17: one untitled record no longer fails the whole file; it is listed with file and line
    text = "TY  - JOUR\nTI  - One\nER  - \nTY  - JOUR\nAU  - Nobody, A.\nPY  - 2020\nER  - \n"
    p = _write(tmp_path, "notitle.ris", text)
    rs = review.read_records(p)
    assert [r.title for r in rs] == ["One"] and rs.files[0].skipped == 1
    (k,) = rs.skipped
    assert k.file.endswith("notitle.ris") and (k.line, k.record_no) == (4, 2)
    assert k.reason == "RIS record 2 (starting on line 4) has no title; each record needs a TI or T1 line"
    assert "notitle.ris, line 4: RIS record 2" in rs.summary()
    with pytest.raises(InputError, match=r"notitle\.ris.*RIS record 2 \(starting on line 4\) has no title"):
        review.parse_records(text, "ris", source=str(p))   # the strict API still raises


def test_unknown_format_names_the_file(tmp_path):
    p = _write(tmp_path, "records.json", '{"records": []}')
    with pytest.raises(InputError, match=r"file .*records\.json: unknown search-export format '\.json'"):
        review.read_records(p)


def test_txt_is_sniffed(tmp_path):
    assert review.read_records(_write(tmp_path, "ris.txt", RIS)).files[0].format == "ris"
    med = "PMID- 1\nTI  - A title\nDP  - 2001\n"
    assert review.read_records(_write(tmp_path, "med.txt", med)).files[0].format == "medline"


def test_database_override_per_file(tmp_path):
    p = _write(tmp_path, "x.ris", RIS)
    rs = review.read_records([p], database={"x.ris": "Cochrane Library"})
    assert {r.database for r in rs} == {"Cochrane Library"}


# ----------------------------------------------------------------- MEDLINE

def test_medline_without_title_and_crlf(tmp_path):
    text = "PMID- 1\r\nTI  - Fine\r\nDP  - 2001\r\n\r\nPMID- 2\r\nDP  - 2002\r\nAB  - no title here\r\n"
    rs = review.read_records(_write(tmp_path, "m.nbib", text))
    assert len(rs) == 1 and rs.skipped[0].reason.startswith("MEDLINE record 2 (starting on line 5) has no title")


def test_medline_translated_title_and_utf16(tmp_path):
    text = "PMID- 7\nTI  - [Stem cells in liver failure].\nFAU - Šimůnek, Jiří\nDP  - 1999 Jan-Feb\n"
    p = tmp_path / "u.nbib"
    p.write_bytes(text.encode("utf-16"))
    r = review.read_records(p)
    assert r.files[0].encoding == "utf-16"
    assert r.records[0].authors == ("Šimůnek, Jiří",) and r.records[0].year == 1999


# ----------------------------------------------------------------- BibTeX

BIB = r"""
@string{hep = "Hepatology"}
@comment{exported by hand}
@article{g2011,
  author = {G{\o}tzsche, Peter C. and J{\"u}ni, P. and Savovi{\'c}, J.},
  title = {The {Cochrane} {\&} risk of bias: {\em a} test},
  journal = hep # " International",
  year = 2011,
  doi = {https://doi.org/10.1136/BMJ.D5928},
  pmid = {22008217},
  keywords = {bias; trials},
}
@inproceedings{c2012, title = "Conference paper on {MSC}s", year = "2012", booktitle = {Proc}}
"""


def test_bibtex_latex_strings_concat(tmp_path):
    rs = review.read_records(_write(tmp_path, "x.bib", BIB))
    a, b = rs.records
    assert a.authors == ("Gøtzsche, Peter C.", "Jüni, P.", "Savović, J.")
    assert a.title == "The Cochrane & risk of bias: a test"
    assert a.journal == "Hepatology International" and a.year == 2011
    assert a.doi == "10.1136/BMJ.D5928" and a.pmid == "22008217" and a.keywords == ("bias", "trials")
    assert b.type == "inproceedings" and b.year == 2012 and b.title == "Conference paper on MSCs"


def test_bibtex_without_title(tmp_path):
    with pytest.raises(InputError, match=r"BibTeX record 1 \(starting on line 1\) has no title; entry 'k'"):
        review.read_records(_write(tmp_path, "y.bib", "@article{k, year = {2000}}"))


# ----------------------------------------------------------------- EndNote XML

XML = """<?xml version="1.0" encoding="UTF-8"?>
<xml><records>
<record><database name="lib.enl">lib.enl</database><ref-type name="Journal Article">17</ref-type>
<contributors><authors><author><style face="normal">Peng, L.</style></author><author>Xie, D. Y.</author></authors></contributors>
<titles><title><style face="normal">Autologous bone marrow mesenchymal stem cell transplantation</style></title>
<secondary-title>Hepatology</secondary-title></titles>
<pages>820-8</pages><volume>54</volume><number>3</number>
<dates><year>2011</year></dates>
<accession-num>21608000</accession-num><remote-database-name>PubMed</remote-database-name>
<electronic-resource-num>10.1002/hep.24434</electronic-resource-num>
<abstract>Short.</abstract>
</record>
<record><titles><title></title></titles></record>
</records></xml>"""


def test_endnote_xml(tmp_path):
    rs = review.read_records(_write(tmp_path, "e.xml", XML))
    assert len(rs) == 1 and rs.skipped[0].reason.startswith("EndNote XML record 2 has no title")
    good = XML.replace("<record><titles><title></title></titles></record>", "")
    r = review.read_records(_write(tmp_path, "f.xml", good)).records[0]
    assert r.authors == ("Peng, L.", "Xie, D. Y.") and r.title.startswith("Autologous bone marrow")
    assert (r.journal, r.year, r.volume, r.issue, r.pages) == ("Hepatology", 2011, "54", "3", "820-8")
    assert (r.pmid, r.doi, r.database, r.type) == ("21608000", "10.1002/hep.24434", "PubMed", "Journal Article")


# ----------------------------------------------------------------- CSV

def test_pubmed_style_csv(tmp_path):
    text = ("PMID,Title,Authors,Citation,Journal/Book,Publication Year,DOI\n"
            '22320928,"Human umbilical cord MSCs improve liver function","Zhang Z, Lin H, Shi M",x,'
            "J Gastroenterol Hepatol,2012,10.1111/j.1440-1746.2011.07024.x\n")
    r = review.read_records(_write(tmp_path, "pubmed.csv", text)).records[0]
    assert r.authors == ("Zhang Z", "Lin H", "Shi M") and r.year == 2012 and r.pmid == "22320928"
    assert r.journal == "J Gastroenterol Hepatol" and r.doi.startswith("10.1111/")


def test_csv_errors(tmp_path):
    with pytest.raises(InputError, match="no title column"):
        review.read_records(_write(tmp_path, "a.csv", "author,year\nX,2000\n"))
    rs = review.read_records(_write(tmp_path, "b.csv", "title,authors\nA,\"Smith, J.\"\n,X\n"))
    assert len(rs) == 1 and rs.skipped[0].reason == ("table record 2 (starting on line 3) has no title; "
                                                     "row 3 has an empty 'title' cell")
    r = review.read_records(_write(tmp_path, "c.csv", 'title,authors\nA,"Smith, J."\n')).records[0]
    assert r.authors == ("Smith, J.",)  # one author "Surname, Initials" is not split


def test_decode_windows1252_fallback():
    # issue 17: non-UTF-8 bytes are Windows-1252 (not Latin-1); Latin-1 only for bytes 1252 leaves undefined
    text, enc = decode_bytes("Gøtzsche\r\n".encode("latin-1"))
    assert (text, enc) == ("Gøtzsche\n", "windows-1252")
    assert decode_bytes(b"x\x81y") == ("x\x81y", "latin-1")
