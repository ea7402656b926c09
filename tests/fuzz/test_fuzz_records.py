"""Fuzzed search exports for ``hepatostat review records`` and ``review dedup``:
RIS, PubMed MEDLINE (.nbib), BibTeX and EndNote XML.

Each file is built from its format's grammar (tags, continuation lines,
entries, elements) with fuzzed field values, then sometimes broken: tags
misspelt, records not closed, braces unbalanced, XML truncated or declaring
an unknown encoding, the wrong format under a suffix, other encodings
(UTF-16, Latin-1) and stray bytes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ._harness import check, fuzz_settings

_TMP = Path(tempfile.mkdtemp(prefix="hepatostat-fuzz-records-"))

TEXT = st.one_of(
    st.sampled_from(["Mesenchymal stem cells in ACLF: a randomized trial", "Lin, B.L.", "2017", "Hepatology",
                     "10.1002/hep.29189", "https://doi.org/10.1002/HEP.29189", "28370357", "", " ", "=HYPERLINK(\"x\")",
                     "Müller, J.", "\u00e9t\u00e9 \u4e2d\u6587", "a" * 300]),
    st.text(max_size=40),
)
TITLE = st.sampled_from(["Umbilical cord MSC for decompensated cirrhosis", "Bone marrow MSC in ACLF",
                         "Autologous stem cells and MELD: a pilot trial", "Bone marrow MSC in ACLF.",
                         "UMBILICAL CORD MSC FOR DECOMPENSATED CIRRHOSIS"])
YEAR = st.one_of(st.integers(1900, 2030).map(str), st.sampled_from(["", "2017 Jul", "n.d.", "99999", "-1"]), TEXT)


@st.composite
def ris(draw):
    out = []
    for _ in range(draw(st.integers(0, 4))):
        out.append(f"TY  - {draw(st.sampled_from(['JOUR', 'CONF', 'BOOK', '', 'XXXX']))}")
        if draw(st.integers(0, 4)):
            out.append(f"TI  - {draw(TITLE)}")
        for _ in range(draw(st.integers(0, 6))):
            tag = draw(st.sampled_from(["TI", "T1", "AU", "A1", "PY", "Y1", "JF", "JO", "T2", "DO", "AB", "KW",
                                        "SP", "EP", "VL", "IS", "AN", "DB", "UR", "ZZ", "ti", "T"]))
            sep = draw(st.sampled_from(["  - ", " - ", "  -", "-  ", "  - "]))
            out.append(f"{tag}{sep}{draw(YEAR if tag in ('PY', 'Y1') else TEXT)}")
            if draw(st.integers(0, 5)) == 0:
                out.append(draw(TEXT))  # a continuation line
        if draw(st.integers(0, 4)):
            out.append("ER  - ")
    return "\n".join(out) + "\n"


@st.composite
def medline(draw):
    out = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.integers(0, 4)):
            out.append(f"PMID- {draw(st.one_of(st.integers(1, 10**9).map(str), TEXT))}")
        if draw(st.integers(0, 4)):
            out.append(f"TI  - {draw(TITLE)}")
        for _ in range(draw(st.integers(0, 6))):
            tag = draw(st.sampled_from(["TI  ", "AB  ", "FAU ", "AU  ", "DP  ", "LID ", "AID ", "JT  ", "TA  ",
                                        "PG  ", "VI  ", "IP  ", "OT  ", "MH  ", "PT  ", "XX  ", "TI"]))
            out.append(f"{tag}- {draw(YEAR if tag.startswith('DP') else TEXT)}")
            if draw(st.integers(0, 4)) == 0:
                out.append("      " + draw(TEXT))
        out.append(draw(st.sampled_from(["", "", "   "])))
    return "\n".join(out) + "\n"


def _braced(draw, value):
    style = draw(st.sampled_from(["{}", "{{}}", '""', "bare", "unbalanced"]))
    if style == "{}":
        return "{" + value + "}"
    if style == "{{}}":
        return "{{" + value + "}}"
    if style == '""':
        return '"' + value + '"'
    if style == "bare":
        return value
    return "{" + value


@st.composite
def bibtex(draw):
    out = []
    for n in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["article", "inproceedings", "book", "misc", "ARTICLE", "comment", "string",
                                     "preamble", ""]))
        fields = [f"  title = {{{draw(TITLE)}}}"] if draw(st.integers(0, 4)) else []
        for _ in range(draw(st.integers(0, 6))):
            name = draw(st.sampled_from(["title", "author", "year", "journal", "doi", "pmid", "abstract", "pages",
                                         "volume", "keywords", "url", "Title", "x y"]))
            val = draw(YEAR if name == "year" else TEXT)
            fields.append(f"  {name} = {_braced(draw, val)}")
        close = draw(st.sampled_from(["}", "}", "", "}}", ")"]))
        out.append(f"@{kind}{{key{n},\n" + ",\n".join(fields) + f"\n{close}")
        if draw(st.integers(0, 5)) == 0:
            out.append(draw(TEXT))
    return "\n\n".join(out) + "\n"


def _xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def endnote_xml(draw):
    enc = draw(st.sampled_from(["UTF-8", "utf-8", "ISO-8859-1", "windows-1252", "UTF-16", "bogus-42", None]))
    head = f'<?xml version="1.0" encoding="{enc}"?>' if enc else ""
    recs = []
    for _ in range(draw(st.integers(0, 3))):
        parts = [f"<titles><title>{_xml_escape(draw(TITLE))}</title></titles>"] if draw(st.integers(0, 4)) else []
        for _ in range(draw(st.integers(0, 5))):
            el = draw(st.sampled_from(["title", "author", "year", "secondary-title", "electronic-resource-num",
                                       "abstract", "accession-num", "keyword", "pages", "unknown"]))
            raw = draw(YEAR if el == "year" else TEXT)
            val = raw if draw(st.integers(0, 6)) == 0 else _xml_escape(raw)
            if el == "title":
                parts.append(f"<titles><title><style>{val}</style></title></titles>")
            elif el == "author":
                parts.append(f"<contributors><authors><author>{val}</author></authors></contributors>")
            elif el == "year":
                parts.append(f"<dates><year>{val}</year></dates>")
            elif el == "keyword":
                parts.append(f"<keywords><keyword>{val}</keyword></keywords>")
            else:
                parts.append(f"<{el}>{val}</{el}>")
        recs.append("<record>" + "".join(parts) + "</record>")
    doc = head + "<xml><records>" + "".join(recs) + "</records></xml>"
    if draw(st.integers(0, 4)) == 0:
        doc = doc[: draw(st.integers(0, len(doc)))]
    return doc


FORMATS = {".ris": ris(), ".nbib": medline(), ".bib": bibtex(), ".xml": endnote_xml()}


@st.composite
def export_file(draw):
    suffix = draw(st.sampled_from(sorted(FORMATS)))
    # now and then, another format's text under this suffix
    text = draw(FORMATS[suffix] if draw(st.integers(0, 5)) else FORMATS[draw(st.sampled_from(sorted(FORMATS)))])
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 5)) == 0:
        pos = draw(st.integers(0, len(data)))
        data = data[:pos] + draw(st.binary(min_size=1, max_size=4)) + data[pos:]
    return suffix, data


@fuzz_settings(40)
@given(export_file())
def test_fuzz_review_records(export):
    suffix, data = export
    path = _TMP / f"export{suffix}"
    path.write_bytes(data)
    check(["review", "records", path, "--format", "json"], path)


@fuzz_settings(25)
@given(st.lists(export_file(), min_size=1, max_size=3))
def test_fuzz_review_dedup(exports):
    paths = []
    for i, (suffix, data) in enumerate(exports):
        p = _TMP / f"dedup{i}{suffix}"
        p.write_bytes(data)
        paths.append(p)
    status, obj = invoke_dedup(paths)
    if obj is not None:
        assert obj["unique"] + obj["duplicates"] == obj["records_in"]


def invoke_dedup(paths):
    from ._harness import invoke

    args = ["review", "dedup", *paths, "--format", "json"]
    status, out, err = invoke(args)
    if status == 1 and not any(p.name in err for p in paths):
        raise AssertionError(f"the error names none of the files\n{err}")
    # the single-file rule, for the first file the error names (or a success)
    return check(args, next((p for p in paths if p.name in err), paths[0]),
                 json_keys=("records_in", "unique", "duplicates", "clusters"))


# -- regressions this fuzzing found -------------------------------------------------------------
def test_unknown_xml_encoding_is_not_an_internal_error():
    path = _TMP / "bogus_encoding.xml"
    path.write_bytes(b'<?xml version="1.0" encoding="bogus-42"?><xml><records><record><titles><title>'
                     b"Bone marrow MSC in ACLF</title></titles></record></records></xml>")
    # a clear error naming the file and the encoding (issue 17), or the records read by a fallback
    status, obj = check(["review", "records", path, "--format", "json"], path)
    assert status in (0, 1)


def test_cut_off_utf16_file_is_not_an_internal_error():
    path = _TMP / "cut.ris"
    path.write_bytes("TY  - JOUR\nTI  - Bone marrow MSC in ACLF\nER  - \n".encode("utf-16")[:-1])
    status, _ = check(["review", "records", path, "--format", "json"], path)
    assert status in (0, 1)
