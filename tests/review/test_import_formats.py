"""Search exports as the databases write them (issues 14 and 17): each test is
named after what broke or after the export it reads. All fixtures are small
synthetic records written for these tests."""

from __future__ import annotations

import time

import pytest

from hepatostat import review
from hepatostat.errors import InputError


def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _rec(title, au="Smith, J.", extra=""):
    return f"TY  - JOUR\nTI  - {title}\nAU  - {au}\nPY  - 2020\n{extra}ER  - \n"


# ----------------------------------------------------------------- RIS variants

def test_ovid_ris_with_numbered_lines_is_not_refused(tmp_path):
    text = "1. \n" + _rec("First trial", extra="DB  - Embase\n") + "\n2. \n" + _rec("Second trial") + \
           "\n<3>\n" + _rec("Third trial")
    rs = review.read_records(_write(tmp_path, "ovid.ris", text))
    assert [r.title for r in rs] == ["First trial", "Second trial", "Third trial"]
    assert [r.record_id for r in rs] == ["ovid.ris#1", "ovid.ris#2", "ovid.ris#3"]
    assert "3 line(s) outside records ignored" in rs.files[0].notes[0]


def test_ris_with_record_of_and_provider_header_lines_is_not_refused(tmp_path):
    text = ('Provider: Ovid Technologies\nDatabase: Embase <1974 to 2023 March 10>\n'
            'Content: text/plain; charset="UTF-8"\n\nRecord #1 of 2\n' + _rec("Alpha study")
            + "Record #2 of 2\n" + _rec("Beta study"))
    rs = review.read_records(_write(tmp_path, "hdr.ris", text))
    assert [r.title for r in rs] == ["Alpha study", "Beta study"]
    assert {r.database for r in rs} == {"Embase"}   # from the "Database:" header line
    assert rs.files[0].records == 2 and rs.files[0].notes


def test_ebsco_ris(tmp_path):
    text = ("TY  - JOUR\nAU  - Okafor, Chidi\nT1  - Stem cell infusion in alcoholic hepatitis\nJO  - Hepatology\n"
            "JF  - Hepatology\nY1  - 2019///\nVL  - 70\nIS  - 2\nSP  - 100\nEP  - 110\nN2  - An abstract.\n"
            "M3  - Article\nDO  - 10.1000/ebsco.1\nDP  - EBSCOhost\nDB  - CINAHL Complete\nER  - \n")
    (r,) = review.read_records(_write(tmp_path, "ebsco.ris", text)).records
    assert (r.title, r.year, r.journal, r.pages, r.doi, r.abstract, r.database) == (
        "Stem cell infusion in alcoholic hepatitis", 2019, "Hepatology", "100-110", "10.1000/ebsco.1",
        "An abstract.", "CINAHL Complete")


def test_proquest_ris(tmp_path):
    text = ("TY  - JOUR\nT1  - Albumin in cirrhosis: a cohort\nAU  - Rossi, Maria\nY1  - 2018\nJF  - Liver International\n"
            "VL  - 38\nIS  - 4\nSP  - 600\nN2  - Abstract text.\nAN  - 2299999999\nDB  - ProQuest Central\n"
            "UR  - https://www.proquest.com/docview/2299999999\nER  - \n\n")
    (r,) = review.read_records(_write(tmp_path, "proquest.ris", text)).records
    assert (r.title, r.authors, r.year, r.journal, r.pages, r.database) == (
        "Albumin in cirrhosis: a cohort", ("Rossi, Maria",), 2018, "Liver International", "600", "ProQuest Central")


def test_windows1252_quotes_and_dashes_not_garbled(tmp_path):
    title = "\u201cStem cells\u201d in liver failure \u2013 a trial\u2019s outcome"
    p = _write(tmp_path, "cp.ris", _rec(title, au="M\u00fcller, K."), encoding="cp1252")
    rs = review.read_records(p)
    assert rs.files[0].encoding == "windows-1252"
    assert rs.records[0].title == title and rs.records[0].authors == ("M\u00fcller, K.",)


def test_utf16_without_byte_order_mark(tmp_path):
    p = tmp_path / "u16.ris"
    p.write_bytes(_rec("Cell therapy \u00e9tude").encode("utf-16-le"))
    rs = review.read_records(p)
    assert rs.files[0].encoding == "utf-16-le" and rs.records[0].title == "Cell therapy \u00e9tude"


# ----------------------------------------------------------------- MEDLINE

def test_medline_without_pmid_lines_does_not_merge_records(tmp_path):
    text = ("TI  - First title\nFAU - Lin, Bing\nDP  - 2017\n\nTI  - Second title\nFAU - Chen, Jun\nDP  - 2018\n\n"
            "TI  - Third title\nDP  - 2019\n")
    rs = review.read_records(_write(tmp_path, "nopmid.nbib", text))
    assert [(r.title, r.year) for r in rs] == [("First title", 2017), ("Second title", 2018), ("Third title", 2019)]
    # and without blank lines either: a repeated TI starts the next record
    text2 = "TI  - One\nDP  - 2001\nTI  - Two\nDP  - 2002\n"
    rs2 = review.read_records(_write(tmp_path, "noblank.nbib", text2))
    assert [r.title for r in rs2] == ["One", "Two"] and "repeated TI" in rs2.files[0].notes[0]


# ----------------------------------------------------------------- BibTeX

def test_scopus_bibtex_field_funding_text_1(tmp_path):
    text = ("@ARTICLE{Li2021,\n author={Li, X. and Wang, Y.},\n title={Umbilical cord MSC in ACLF},\n"
            " journal={Stem Cell Research and Therapy},\n year={2021},\n volume={12},\n"
            " funding_details = {National Natural Science Foundation of China},\n"
            " funding_text 1={This work was supported by grant 81970000.},\n"
            " funding_text 2={Also by a provincial grant.},\n doi={10.1000/scopus.1},\n"
            " source={Scopus},\n}\n")
    rs = review.read_records(_write(tmp_path, "scopus.bib", text))
    (r,) = rs.records
    assert (r.title, r.year, r.doi, r.database) == ("Umbilical cord MSC in ACLF", 2021, "10.1000/scopus.1", "Scopus")


def test_bib_file_holding_ris_text_is_read_as_ris_with_a_note(tmp_path):
    rs = review.read_records(_write(tmp_path, "actually_ris.bib", _rec("Hidden RIS") + _rec("Second")))
    assert len(rs) == 2 and rs.files[0].format == "ris"
    assert rs.files[0].notes == ("the content is ris, not bibtex as the suffix '.bib' says: read as ris",)


def test_bib_file_with_nothing_readable_is_an_error_not_zero_records(tmp_path):
    with pytest.raises(InputError, match=r"nothing\.bib: no records found \(read as bibtex\)"):
        review.read_records(_write(tmp_path, "nothing.bib", "just some notes, no entries\n"))


def test_bibtex_import_is_linear():
    entry = ("@article{k%d,\n  author = {Smith, J. and Jones, K.},\n  title = {A title about {MSC} therapy %d},\n"
             "  journal = {Hepatology},\n  year = {2020},\n  abstract = {%s},\n}\n")
    body = "word " * 150

    def timed(n):
        text = "".join(entry % (k, k, body) for k in range(n))
        t = time.perf_counter()
        recs = review.parse_records(text, "bibtex")
        return time.perf_counter() - t, len(recs), len(text)

    t1, n1, _ = timed(500)
    t8, n8, size = timed(4000)   # about 3.5 MB
    assert (n1, n8) == (500, 4000) and size > 3_000_000
    # quadratic reading (issue 14: 5 MB took 15 s) would make this ratio about 64
    assert t8 / max(t1, 1e-3) < 25, (t1, t8)


def test_bibtex_untitled_entry_listed_rest_imported(tmp_path):
    text = "@article{a, title={Kept}, year={2000}}\n@article{b, year={2001}}\n@article{c, title={Also kept}}\n"
    rs = review.read_records(_write(tmp_path, "t.bib", text))
    assert [r.record_id for r in rs] == ["t.bib#1", "t.bib#3"]
    assert rs.skipped[0].line == 2 and "entry 'b' needs a title field" in rs.skipped[0].reason


# ----------------------------------------------------------------- XML

def test_xml_with_unknown_encoding_is_a_clear_error(tmp_path):
    text = '<?xml version="1.0" encoding="x-unknown-42"?>\n<xml><records><record><titles><title>A</title>' \
           '</titles></record></records></xml>'
    with pytest.raises(InputError, match=r"value 'x-unknown-42': the XML declaration names encoding 'x-unknown-42'"):
        review.read_records(_write(tmp_path, "enc.xml", text))


def test_zotero_endnote_xml_in_windows1252(tmp_path):
    text = ('<?xml version="1.0" encoding="windows-1252"?>\n<xml><records><record><ref-type name="Journal Article">17'
            '</ref-type><contributors><authors><author>N\u00fa\u00f1ez, A.</author></authors></contributors>'
            '<titles><title>Liver \u2013 regeneration</title><secondary-title>J Hepatol</secondary-title></titles>'
            '<dates><year>2015</year></dates></record></records></xml>')
    (r,) = review.read_records(_write(tmp_path, "zotero.xml", text, encoding="cp1252")).records
    assert (r.title, r.authors, r.year) == ("Liver \u2013 regeneration", ("N\u00fa\u00f1ez, A.",), 2015)


# ----------------------------------------------------------------- Web of Science plain text

WOS = """FN Clarivate Analytics Web of Science
VR 1.0
PT J
AU Lin, BL
   Chen, JF
AF Lin, Bing-Liang
   Chen, Jun-Feng
TI Allogeneic bone marrow-derived mesenchymal stromal cells for
   hepatitis B virus-related acute-on-chronic liver failure
SO HEPATOLOGY
VL 66
IS 1
BP 209
EP 219
DI 10.1002/hep.29189
PD JUL
PY 2017
AB An abstract that wraps
   over two lines.
DT Article
PM 28370357
UT WOS:000404000000001
ER

PT J
AU Shi, M
TI Human mesenchymal stem cell transfusion in ACLF
SO STEM CELLS TRANSLATIONAL MEDICINE
PY 2012
ER

EF
"""


def test_wos_plain_text_fn_pt_er(tmp_path):
    for name in ("savedrecs.txt", "savedrecs.ciw"):
        rs = review.read_records(_write(tmp_path, name, WOS))
        assert rs.files[0].format == "wos" and len(rs) == 2
        a, b = rs.records
        assert a.title == ("Allogeneic bone marrow-derived mesenchymal stromal cells for hepatitis B virus-related "
                           "acute-on-chronic liver failure")
        assert a.authors == ("Lin, BL", "Chen, JF") and (a.year, a.volume, a.issue, a.pages) == (2017, "66", "1", "209-219")
        assert (a.doi, a.pmid, a.database, a.type) == ("10.1002/hep.29189", "28370357", "Web of Science", "Article")
        assert a.abstract == "An abstract that wraps over two lines."
        assert b.title == "Human mesenchymal stem cell transfusion in ACLF" and b.journal == "STEM CELLS TRANSLATIONAL MEDICINE"


def test_wos_untitled_record_listed(tmp_path):
    text = "FN Clarivate\nVR 1.0\nPT J\nAU X, Y\nPY 2001\nER\nPT J\nTI Has a title\nER\nEF\n"
    rs = review.read_records(_write(tmp_path, "w.txt", text))
    assert len(rs) == 1 and rs.skipped[0].line == 3


# ----------------------------------------------------------------- tables

def test_covidence_csv(tmp_path):
    text = ('"Title","Authors","Abstract","Published Year","Published Month","Journal","Volume","Issue","Pages",'
            '"Accession Number","DOI","Ref","Covidence #","Study","Notes","Tags"\n'
            '"MSC for cirrhosis","Lin B; Chen J","Abs.","2017","Jul","Hepatology","66","1","209-219","28370357",'
            '"10.1002/hep.29189","1","#12","Lin 2017","",""\n'
            '"","Nobody A","","2018","","","","","","","","2","#13","","",""\n')
    rs = review.read_records(_write(tmp_path, "covidence.csv", text))
    (r,) = rs.records
    assert (r.title, r.authors, r.year, r.journal, r.pages, r.pmid, r.doi) == (
        "MSC for cirrhosis", ("Lin B", "Chen J"), 2017, "Hepatology", "209-219", "28370357", "10.1002/hep.29189")
    assert rs.skipped[0].reason.endswith("row 3 has an empty 'Title' cell")
    assert "read as a Covidence export" in rs.files[0].notes


def test_rayyan_csv(tmp_path):
    text = ('key,title,authors,journal,issn,volume,issue,pages,year,month,day,publisher,pmc_id,pubmed_id,url,abstract,'
            'notes,doi,keywords\n'
            'rayyan-1,Albumin and survival,Rossi M and Bianchi L,J Hepatol,,60,2,100-8,2014,,,,,24000001,,Abs,,'
            '10.1016/j.jhep.2014.01.001,albumin;survival\n')
    (r,) = review.read_records(_write(tmp_path, "rayyan.csv", text)).records
    assert (r.authors, r.pmid, r.pages, r.keywords) == (("Rossi M", "Bianchi L"), "24000001", "100-8",
                                                         ("albumin", "survival"))


def test_zotero_csv(tmp_path):
    text = ('"Key","Item Type","Publication Year","Author","Title","Publication Title","ISBN","ISSN","DOI","Url",'
            '"Abstract Note","Date","Pages","Issue","Volume","Extra","Manual Tags"\n'
            '"ABCD1234","journalArticle","2016","Kim, Soo; Park, Ji","Bone marrow cells in cirrhosis","Liver International",'
            '"","","10.1111/liv.1","","Abstract.","2016","100-110","2","36","PMID: 26000001","cirrhosis"\n')
    (r,) = review.read_records(_write(tmp_path, "zotero.csv", text)).records
    assert (r.authors, r.journal, r.pmid, r.type, r.volume) == (("Kim, Soo", "Park, Ji"), "Liver International",
                                                                 "26000001", "journalArticle", "36")


def test_endnote_tab_delimited(tmp_path):
    text = ("Reference Type\tAuthor\tYear\tTitle\tSecondary Title\tVolume\tNumber\tPages\tDOI\tAccession Number\n"
            "Journal Article\tPeng, L.//Xie, D. Y.\t2011\tAutologous bone marrow MSC transplantation\tHepatology\t54\t3\t"
            "820-8\t10.1002/hep.24434\t21608000\n")
    (r,) = review.read_records(_write(tmp_path, "endnote.txt", text)).records
    assert (r.authors, r.journal, r.issue, r.doi) == (("Peng, L.", "Xie, D. Y."), "Hepatology", "3", "10.1002/hep.24434")


def test_wos_tab_delimited(tmp_path):
    text = ("PT\tAU\tTI\tSO\tPY\tVL\tIS\tBP\tEP\tDI\tPM\tUT\n"
            "J\tLin, BL; Chen, JF\tA trial title\tHEPATOLOGY\t2017\t66\t1\t209\t219\t10.1002/hep.29189\t28370357\t"
            "WOS:000404000000001\n")
    (r,) = review.read_records(_write(tmp_path, "savedrecs.txt", text)).records
    assert (r.authors, r.pages, r.pmid, r.database) == (("Lin, BL", "Chen, JF"), "209-219", "28370357",
                                                       "Web of Science")


def test_every_variant_imports_with_the_right_count_and_dedups(tmp_path):
    # one publication exported four ways (plus the two other records of the WoS file): one cluster of four
    paths = [
        _write(tmp_path, "a.ris", "1. \n" + _rec("Allogeneic MSC for HBV-related ACLF: a randomized trial",
                                                 au="Lin, B.L.", extra="VL  - 66\nSP  - 209\nEP  - 219\n")),
        _write(tmp_path, "b.txt", WOS),
        _write(tmp_path, "c.bib", "@article{x, title={Allogeneic {MSC} for {HBV}-related {ACLF}: a randomized trial "
                                  "[Review] [45 refs]}, author={Lin, Bing-Liang}, year={2020}, volume={66}, "
                                  "pages={209--219}, funding_text 1={x}}\n"),
        _write(tmp_path, "d.csv", "Title,Authors,Published Year,Volume,Pages,Covidence #\n"
                                  "Allogeneic MSC for HBV-related ACLF: a randomized trial,Lin BL,2020,66,209-19,#1\n"),
        _write(tmp_path, "e.nbib", "TI  - Allogeneic MSC for HBV-related ACLF: a randomized trial.\nFAU - Lin, Bing-Liang"
                                   "\nDP  - 2020\nVI  - 66\nPG  - 209-19\n"),
    ]
    rs = review.read_records(paths)
    assert [f.records for f in rs.files] == [1, 2, 1, 1, 1]
    res = review.deduplicate(rs)
    assert res.duplicates == 3 and len(res.clusters) == 1
    assert set(res.clusters[0].members) == {"a.ris#1", "c.bib#1", "d.csv#1", "e.nbib#1"}


# ----------------------------------------------------------------- fuzz (issue 14)

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PIECES = st.sampled_from([
    "TY  - JOUR\n", "TI  - A title\n", "ER  - \n", "1. \n", "Record #1 of 2\n", "PMID- 12\n", "FAU - Lin, B\n",
    "@article{k,", " title = {T {x}}", "}", " funding_text 1 = {y},", "FN Clarivate\n", "PT J\n", "TI T\n", "ER\n",
    "EF\n", "title,authors\n", "\"A, b\",c\n", "\t", "\n", "\"", "{", "\\", "<?xml version=\"1.0\"?>",
    "<xml><records><record><titles><title>X</title></titles></record></records></xml>", "caf\u00e9 ", "\x93q\x94",
])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(_PIECES | st.text(max_size=8), max_size=25),
       suffix=st.sampled_from([".ris", ".nbib", ".bib", ".xml", ".csv", ".txt"]))
def test_fuzzed_exports_give_records_or_an_input_error(tmp_path, pieces, suffix):
    p = tmp_path / ("f" + suffix)
    p.write_bytes("".join(pieces).encode("utf-8", "surrogatepass"))
    try:
        rs = review.read_records(p)
    except InputError as exc:
        assert str(exc).startswith(f"file {p}")
        return
    assert len(rs) >= 1 and all(r.title for r in rs)
    review.deduplicate(rs)
