"""Import bibliographic records from database search exports.

Formats: RIS (``.ris``; Embase, Web of Science, Scopus, Cochrane Library,
EndNote, Zotero), PubMed/MEDLINE (``.nbib``, ``.medline``, ``.txt``),
BibTeX (``.bib``), EndNote XML (``.xml``) and CSV (``.csv``; PubMed's and
Scopus's CSV exports or any table with a ``title`` column).

Every file is decoded as UTF-8 (with or without a byte-order mark), or
UTF-16 when it starts with a UTF-16 byte-order mark, and otherwise as
latin-1; the encoding used is reported per file. Line endings may be
``\\n``, ``\\r\\n`` or ``\\r``. Continuation lines (a field's text wrapped
onto the next line) are joined to their field, and a RIS file whose last
record lacks its closing ``ER`` tag is read to its end.

A record without a title cannot be screened: it raises
:class:`~hepatostat.errors.InputError` naming the file and the record
number (and the line where the record starts), never skipped silently.

References
----------
.. [1] RIS format specification (Research Information Systems, 2011 rev.).
.. [2] MEDLINE/PubMed data element (field) descriptions, U.S. National
   Library of Medicine, https://www.nlm.nih.gov/bsd/mms/medlineelements.html
.. [3] EndNote XML document type (``xml/records/record``), Clarivate.
"""

from __future__ import annotations

import codecs
import io
import re
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from ..errors import InputError

__all__ = [
    "FORMATS",
    "Record",
    "FileSummary",
    "RecordSet",
    "read_records",
    "parse_records",
    "detect_format",
    "decode_bytes",
]

#: the formats read, and the file suffixes that select them
FORMATS = {
    "ris": (".ris",),
    "medline": (".nbib", ".medline", ".txt"),
    "bibtex": (".bib", ".bibtex"),
    "endnote_xml": (".xml",),
    "csv": (".csv",),
}

_SUFFIX_FORMAT = {s: fmt for fmt, sfx in FORMATS.items() for s in sfx}


@dataclass(frozen=True)
class Record:
    """One bibliographic record as exported by a database.

    ``record_id`` is ``"<file name>#<n>"`` with ``n`` the 1-based position of
    the record in its file; it stays the record's name through
    de-duplication and screening.
    """

    record_id: str
    title: str
    authors: tuple = ()
    year: int | None = None
    journal: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    abstract: str | None = None
    keywords: tuple = ()
    database: str | None = None
    source_file: str | None = None
    record_no: int | None = None
    type: str | None = None
    url: str | None = None

    @property
    def first_author(self) -> str | None:
        return self.authors[0] if self.authors else None

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["authors"] = list(self.authors)
        out["keywords"] = list(self.keywords)
        return out


#: columns of :meth:`RecordSet.to_frame` (authors and keywords joined by "; ")
RECORD_COLUMNS = tuple(f.name for f in fields(Record))


@dataclass(frozen=True)
class FileSummary:
    """What was read from one file."""

    file: str
    format: str
    encoding: str
    records: int
    database: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "format": self.format, "encoding": self.encoding,
                "records": self.records, "database": self.database}


@dataclass(frozen=True)
class RecordSet:
    """Records read from one or more search exports, with per-file counts."""

    records: tuple
    files: tuple

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    @property
    def per_file(self) -> dict[str, int]:
        return {f.file: f.records for f in self.files}

    def per_database(self) -> dict[str, int]:
        """Number of records per source database (PRISMA 2020 'Databases')."""
        out: dict[str, int] = {}
        for r in self.records:
            key = r.database or "(unknown database)"
            out[key] = out.get(key, 0) + 1
        return out

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for r in self.records:
            d = r.to_dict()
            d["authors"] = "; ".join(r.authors)
            d["keywords"] = "; ".join(r.keywords)
            rows.append(d)
        frame = pd.DataFrame(rows, columns=list(RECORD_COLUMNS))
        frame["year"] = frame["year"].astype("Int64")
        frame["record_no"] = frame["record_no"].astype("Int64")
        return frame

    def to_dict(self) -> dict[str, Any]:
        return {
            "records_in": len(self.records),
            "per_file": [f.to_dict() for f in self.files],
            "per_database": self.per_database(),
            "records": [r.to_dict() for r in self.records],
        }

    def summary(self) -> str:
        lines = [f"{len(self.records)} records from {len(self.files)} file(s)"]
        width = max([len(f.file) for f in self.files] + [4])
        for f in self.files:
            lines.append(f"  {f.file:<{width}}  {f.records:>5} records  ({f.format}, {f.encoding}"
                         + (f", database: {f.database}" if f.database else "") + ")")
        return "\n".join(lines)


# --------------------------------------------------------------------------- decoding

def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode a file's bytes: ``(text, encoding)``.

    UTF-8 with a byte-order mark (``utf-8-sig``), UTF-16 with a byte-order
    mark, plain UTF-8, else latin-1 (which never fails: every byte is a
    character). Line endings are normalised to ``\\n``.
    """
    if data.startswith(codecs.BOM_UTF8):
        text, enc = data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, enc = data.decode("utf-16", errors="replace"), "utf-16"  # a cut-off file must not crash
    else:
        try:
            text, enc = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, enc = data.decode("latin-1"), "latin-1"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, enc


def detect_format(path, text: str | None = None) -> str:
    """The format of a search export from its suffix (and, for ``.txt``, its
    content). Raises :class:`InputError` naming the file when unknown."""
    p = Path(path)
    suffix = p.suffix.lower()
    fmt = _SUFFIX_FORMAT.get(suffix)
    if fmt is None or (suffix == ".txt" and text is not None):
        sniffed = _sniff(text) if text is not None else None
        if sniffed is not None:
            return sniffed
        if fmt is None:
            allowed = ", ".join(f"{k} ({'/'.join(v)})" for k, v in FORMATS.items())
            raise InputError(f"unknown search-export format '{suffix or '(no suffix)'}'; allowed: {allowed}", file=p)
    return fmt


def _sniff(text: str) -> str | None:
    head = text.lstrip()[:2000]
    if re.match(r"(?m)^PMID- ", head) or re.search(r"(?m)^PMID- ", head):
        return "medline"
    if re.search(r"(?m)^TY  - ", head):
        return "ris"
    if re.match(r"\s*@\w+\s*[{(]", head):
        return "bibtex"
    if head.startswith("<?xml") or head.startswith("<xml"):
        return "endnote_xml"
    return None


# --------------------------------------------------------------------------- helpers

_YEAR = re.compile(r"(1[89]\d\d|20\d\d)")


def _year(value) -> int | None:
    if value is None:
        return None
    m = _YEAR.search(str(value))
    return int(m.group(1)) if m else None


def _clean(s) -> str | None:
    if s is None:
        return None
    s = " ".join(str(s).split())
    return s or None


def _doi_from(values: Iterable[str]) -> str | None:
    for v in values:
        if not v:
            continue
        m = re.search(r"10\.\d{4,9}/\S+", v)
        if m:
            return m.group(0).rstrip(".;,")
    return None


def _empty_error(fmt_name: str, n: int, line: int | None, path: str, what: str) -> InputError:
    where = f"record {n}" + (f" (starting on line {line})" if line else "")
    return InputError(f"{fmt_name} {where} has no title; {what}", file=path)


# --------------------------------------------------------------------------- RIS

_RIS_TAG = re.compile(r"^([A-Z][A-Z0-9]) {1,2}-(?: (.*)|)$")

_RIS_TYPES_DB = {"pubmed": "PubMed", "medline": "MEDLINE", "embase": "Embase"}


def _parse_ris(text: str, path: str, database: str | None) -> list[Record]:
    name = Path(path).name
    records: list[Record] = []
    cur: dict[str, list[str]] | None = None
    last_tag: str | None = None
    start_line = 0

    def close():
        nonlocal cur
        if cur is not None:
            records.append(_ris_record(cur, len(records) + 1, start_line, path, name, database))
        cur = None

    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        m = _RIS_TAG.match(line)
        if m:
            tag, value = m.group(1), (m.group(2) or "").strip()
            if tag == "TY":
                close()
                cur = {"TY": [value]}
                start_line = lineno
                last_tag = "TY"
                continue
            if tag == "ER":
                close()
                last_tag = None
                continue
            if cur is None:  # a record that lacks its TY line: start one here
                cur = {}
                start_line = lineno
            cur.setdefault(tag, []).append(value)
            last_tag = tag
        elif cur is not None and last_tag is not None:
            # continuation line: belongs to the previous field
            vals = cur[last_tag]
            vals[-1] = (vals[-1] + " " + line.strip()).strip()
        else:
            raise InputError(f"line {lineno} is neither a RIS tag line ('XX  - value') nor a continuation "
                             f"of one: {line[:60]!r}", file=path)
    close()  # a last record without ER
    return records


def _first(d: Mapping[str, list[str]], *tags) -> str | None:
    for t in tags:
        for v in d.get(t, []):
            v = _clean(v)
            if v:
                return v
    return None


def _ris_record(d, n, line, path, name, database) -> Record:
    title = _first(d, "TI", "T1", "CT", "BT")
    if not title:
        raise _empty_error("RIS", n, line, path, "each record needs a TI or T1 line")
    authors = tuple(_clean(a) for a in (d.get("AU", []) + d.get("A1", []) or d.get("A2", [])) if _clean(a))
    ty = _first(d, "TY")
    journal = _first(d, "JF", "JO", "T2", "J2", "JA") if ty not in ("BOOK",) else _first(d, "T2")
    db = database or _first(d, "DB", "DP")
    if db:
        db = _RIS_TYPES_DB.get(db.lower(), db)
    doi = _doi_from([_first(d, "DO"), _first(d, "DI"), _first(d, "M3"), _first(d, "UR"), _first(d, "L3")])
    pmid = None
    an = _first(d, "AN")
    if an and (db or "").lower() in ("pubmed", "medline") and an.isdigit():
        pmid = an
    for v in d.get("C2", []) + d.get("M1", []) + d.get("N1", []):
        m = re.search(r"PMID:?\s*(\d{1,9})", v or "")
        if m:
            pmid = pmid or m.group(1)
    pages = _first(d, "SP")
    ep = _first(d, "EP")
    if pages and ep and ep != pages:
        pages = f"{pages}-{ep}"
    abstract = _first(d, "AB", "N2")
    kws = tuple(k for v in d.get("KW", []) for k in [_clean(v)] if k)
    return Record(
        record_id=f"{name}#{n}", title=title, authors=authors,
        year=_year(_first(d, "PY", "Y1", "DA", "Y2")), journal=journal,
        volume=_first(d, "VL"), issue=_first(d, "IS", "CP"), pages=pages, doi=doi, pmid=pmid,
        abstract=abstract, keywords=kws, database=db, source_file=path, record_no=n, type=ty,
        url=_first(d, "UR"),
    )


# --------------------------------------------------------------------------- MEDLINE

_MEDLINE_TAG = re.compile(r"^([A-Z][A-Z0-9]{0,3}) *- (.*)$")


def _parse_medline(text: str, path: str, database: str | None) -> list[Record]:
    name = Path(path).name
    blocks: list[tuple[int, list[tuple[str, str]]]] = []
    cur: list[tuple[str, str]] | None = None
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if line.startswith(" ") and cur:
            tag, val = cur[-1]
            cur[-1] = (tag, (val + " " + line.strip()).strip())
            continue
        m = _MEDLINE_TAG.match(line)
        if not m:
            raise InputError(f"line {lineno} is neither a MEDLINE field ('TAG - value') nor a continuation "
                             f"line (indented): {line[:60]!r}", file=path)
        tag, val = m.group(1).strip(), m.group(2).strip()
        if tag == "PMID" or cur is None:
            cur = []
            blocks.append((lineno, cur))
        cur.append((tag, val))
    out = []
    for n, (line, items) in enumerate(blocks, start=1):
        d: dict[str, list[str]] = {}
        for tag, val in items:
            d.setdefault(tag, []).append(val)
        title = _first(d, "TI", "BTI", "VTI", "TT")
        if not title:
            raise _empty_error("MEDLINE", n, line, path, "each record needs a TI (or BTI) field")
        authors = tuple(d.get("FAU", []) or d.get("AU", []))
        doi = None
        for v in d.get("AID", []) + d.get("LID", []):
            if v.endswith("[doi]"):
                doi = v[: -len("[doi]")].strip()
                break
        kws = tuple(d.get("OT", []) + d.get("MH", []))
        src = database or _first(d, "DB") or "PubMed"
        out.append(Record(
            record_id=f"{name}#{n}", title=title, authors=authors, year=_year(_first(d, "DP", "DEP", "EDAT")),
            journal=_first(d, "JT", "TA"), volume=_first(d, "VI"), issue=_first(d, "IP"), pages=_first(d, "PG"),
            doi=doi, pmid=_first(d, "PMID"), abstract=_first(d, "AB"), keywords=kws, database=src,
            source_file=path, record_no=n, type=_first(d, "PT"),
        ))
    return out


# --------------------------------------------------------------------------- BibTeX

_ACCENTS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
            ".": "\u0307", "c": "\u0327", "v": "\u030c", "u": "\u0306", "H": "\u030b", "k": "\u0328"}
_LATEX_SYMBOLS = {r"\ss": "ß", r"\o": "ø", r"\O": "Ø", r"\aa": "å", r"\AA": "Å", r"\ae": "æ", r"\AE": "Æ",
                  r"\l": "ł", r"\L": "Ł", r"\i": "ı", r"\oe": "œ", r"\OE": "Œ"}


def _latex_to_text(s: str) -> str:
    """Turn the LaTeX of a BibTeX value into plain text (accents to Unicode)."""
    def accent(m):
        return m.group(2) + _ACCENTS[m.group(1)]

    s = re.sub(r"\\([cvuHk])\s*\{\s*(\w)\s*\}", accent, s)
    s = re.sub(r"\\([cvuHk])\s+(\w)", accent, s)
    s = re.sub(r"\\(['`^\"~=.])\s*\{\s*(\\?\w)\s*\}", lambda m: (m.group(2).lstrip("\\")) + _ACCENTS[m.group(1)], s)
    s = re.sub(r"\\(['`^\"~=.])(\w)", accent, s)
    for k in sorted(_LATEX_SYMBOLS, key=len, reverse=True):
        s = re.sub(re.escape(k) + r"(?![A-Za-z])\s?", _LATEX_SYMBOLS[k], s)
    s = re.sub(r"\\([&%$#_{}])", r"\1", s)
    s = s.replace("---", "\u2014").replace("--", "\u2013")
    s = re.sub(r"(?<!\\)~", " ", s)
    s = re.sub(r"\\[a-zA-Z]+\s*\{([^{}]*)\}", r"\1", s)  # \emph{x}, \textit{x}
    s = re.sub(r"\\(?:em|it|bf|sc|rm|sl|tt|sf|normalfont)\b\s*", "", s)  # {\em x}
    s = s.replace("{", "").replace("}", "")
    return unicodedata.normalize("NFC", " ".join(s.split()))


class _BibReader:
    def __init__(self, text: str, path: str):
        self.t = text
        self.i = 0
        self.path = path
        self.strings: dict[str, str] = {}

    def line(self, pos=None) -> int:
        return self.t.count("\n", 0, self.i if pos is None else pos) + 1

    def error(self, msg):
        return InputError(f"BibTeX, line {self.line()}: {msg}", file=self.path)

    def skip_ws(self):
        while self.i < len(self.t) and self.t[self.i].isspace():
            self.i += 1

    def entries(self):
        t = self.t
        while True:
            at = t.find("@", self.i)
            if at < 0:
                return
            self.i = at + 1
            m = re.match(r"\s*([A-Za-z]+)\s*([{(])", t[self.i:])
            if not m:
                continue
            etype = m.group(1).lower()
            close = "}" if m.group(2) == "{" else ")"
            self.i += m.end()
            start_line = self.line(at)
            if etype in ("comment", "preamble"):
                self._skip_balanced(close)
                continue
            if etype == "string":
                name, value = self._field()
                self.strings[name.lower()] = value
                self.skip_ws()
                if self.i < len(t) and t[self.i] == close:
                    self.i += 1
                continue
            km = re.match(r"\s*([^,\s}]*)\s*,", t[self.i:])
            key = ""
            if km:
                key = km.group(1)
                self.i += km.end()
            fields_: dict[str, str] = {}
            while True:
                self.skip_ws()
                if self.i >= len(t):
                    raise self.error(f"entry '{key}' starting on line {start_line} is not closed")
                if t[self.i] == close:
                    self.i += 1
                    break
                if t[self.i] == ",":
                    self.i += 1
                    continue
                name, value = self._field()
                fields_[name.lower()] = value
            yield etype, key, fields_, start_line

    def _skip_balanced(self, close):
        depth = 1
        openc = "{" if close == "}" else "("
        while self.i < len(self.t) and depth:
            c = self.t[self.i]
            if c == openc:
                depth += 1
            elif c == close:
                depth -= 1
            self.i += 1

    def _field(self):
        t = self.t
        m = re.match(r"\s*([A-Za-z0-9_\-:.+]+)\s*=\s*", t[self.i:])
        if not m:
            raise self.error(f"expected 'name = value', found {t[self.i:self.i + 30]!r}")
        name = m.group(1)
        self.i += m.end()
        parts = []
        while True:
            self.skip_ws()
            c = t[self.i] if self.i < len(t) else ""
            if c == "{":
                parts.append(self._braced())
            elif c == '"':
                parts.append(self._quoted())
            else:
                vm = re.match(r"[A-Za-z0-9_\-:.+]+", t[self.i:])
                if not vm:
                    raise self.error(f"field '{name}' has no value")
                word = vm.group(0)
                self.i += vm.end()
                parts.append(self.strings.get(word.lower(), word))
            self.skip_ws()
            if self.i < len(t) and t[self.i] == "#":
                self.i += 1
                continue
            break
        return name, "".join(parts)

    def _braced(self):
        t = self.t
        depth = 0
        start = self.i
        while self.i < len(t):
            c = t[self.i]
            if c == "\\":
                self.i += 2
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    self.i += 1
                    return t[start + 1: self.i - 1]
            self.i += 1
        raise self.error("unbalanced braces")

    def _quoted(self):
        t = self.t
        depth = 0
        start = self.i + 1
        self.i += 1
        while self.i < len(t):
            c = t[self.i]
            if c == "\\":
                self.i += 2
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif c == '"' and depth == 0:
                self.i += 1
                return t[start: self.i - 1]
            self.i += 1
        raise self.error("unterminated quoted value")


def _bib_authors(s: str | None) -> tuple:
    if not s:
        return ()
    parts = re.split(r"\s+and\s+", s.strip())
    return tuple(p for p in (_latex_to_text(x) for x in parts) if p and p.lower() != "others")


def _parse_bibtex(text: str, path: str, database: str | None) -> list[Record]:
    name = Path(path).name
    out = []
    reader = _BibReader(text, path)
    for etype, key, f, line in reader.entries():
        n = len(out) + 1
        g = {k: _latex_to_text(v) for k, v in f.items() if k not in ("author", "editor")}
        title = _clean(g.get("title") or g.get("booktitle"))
        if not title:
            raise _empty_error("BibTeX", n, line, path, f"entry '{key}' needs a title field")
        src = database or g.get("database") or g.get("source")
        uid = g.get("unique-id", "")
        if not src and uid.upper().startswith("WOS:"):
            src = "Web of Science"
        pmid = g.get("pmid") or g.get("pubmed-id")
        if not pmid and (g.get("eprinttype", "").lower() == "pubmed"):
            pmid = g.get("eprint")
        kws = tuple(k.strip() for k in re.split(r"[;,]", g.get("keywords", "")) if k.strip())
        out.append(Record(
            record_id=f"{name}#{n}", title=title, authors=_bib_authors(f.get("author")), year=_year(g.get("year") or g.get("date")),
            journal=_clean(g.get("journal") or g.get("journaltitle") or g.get("booktitle")), volume=_clean(g.get("volume")),
            issue=_clean(g.get("number") or g.get("issue")), pages=_clean(g.get("pages")),
            doi=_doi_from([g.get("doi"), g.get("url")]) or _clean(g.get("doi")),
            pmid=_clean(pmid), abstract=_clean(g.get("abstract")), keywords=kws, database=src, source_file=path,
            record_no=n, type=etype, url=_clean(g.get("url")),
        ))
    return out


# --------------------------------------------------------------------------- EndNote XML

def _xtext(el) -> str | None:
    if el is None:
        return None
    return _clean("".join(el.itertext()))


def _parse_endnote_xml(data: bytes, text: str, path: str, database: str | None) -> list[Record]:
    name = Path(path).name
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, LookupError, ValueError):
        try:  # e.g. a latin-1 file that declares no encoding, or an encoding Python does not know
            body = re.sub(r"^<\?xml[^>]*\?>", "", text.lstrip())
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise InputError(f"not well-formed EndNote XML: {exc}", file=path) from None
    recs = root.findall(".//record")
    if root.tag != "xml" and root.tag != "records" and not recs:
        raise InputError(f"not an EndNote XML export (root element <{root.tag}>, no <record> elements)", file=path)
    out = []
    for n, rec in enumerate(recs, start=1):
        title = _xtext(rec.find("titles/title"))
        if not title:
            raise _empty_error("EndNote XML", n, None, path, "each <record> needs <titles><title>")
        authors = tuple(a for a in (_xtext(x) for x in rec.findall("contributors/authors/author")) if a)
        journal = _xtext(rec.find("periodical/full-title")) or _xtext(rec.find("titles/secondary-title"))
        doi = _doi_from([_xtext(rec.find("electronic-resource-num")), _xtext(rec.find("urls/related-urls/url"))])
        src = database or _xtext(rec.find("remote-database-name")) or _xtext(rec.find("remote-database-provider"))
        acc = _xtext(rec.find("accession-num"))
        pmid = acc if acc and acc.isdigit() and (src or "").lower() in ("pubmed", "medline", "nlm") else None
        kws = tuple(k for k in (_xtext(x) for x in rec.findall("keywords/keyword")) if k)
        rt = rec.find("ref-type")
        out.append(Record(
            record_id=f"{name}#{n}", title=title, authors=authors, year=_year(_xtext(rec.find("dates/year"))),
            journal=journal, volume=_xtext(rec.find("volume")), issue=_xtext(rec.find("number")),
            pages=_xtext(rec.find("pages")), doi=doi, pmid=pmid, abstract=_xtext(rec.find("abstract")),
            keywords=kws, database=src, source_file=path, record_no=n,
            type=(rt.get("name") if rt is not None else None), url=_xtext(rec.find("urls/related-urls/url")),
        ))
    return out


# --------------------------------------------------------------------------- CSV

_CSV_ALIASES = {
    "title": ("title", "article title", "document title", "ti"),
    "authors": ("authors", "author", "author full names", "au"),
    "year": ("year", "publication year", "pubyear", "py", "date"),
    "journal": ("journal", "journal/book", "source title", "publication title", "so", "source"),
    "volume": ("volume", "vl"),
    "issue": ("issue", "number", "is"),
    "pages": ("pages", "page", "page start"),
    "doi": ("doi", "do"),
    "pmid": ("pmid", "pubmed id", "pubmed-id"),
    "abstract": ("abstract", "ab"),
    "keywords": ("keywords", "author keywords", "kw"),
    "database": ("database", "source database", "db"),
}


def _split_authors(s: str | None) -> tuple:
    if not s:
        return ()
    if ";" in s:
        parts = s.split(";")
    elif " and " in s:
        parts = s.split(" and ")
    else:
        pieces = [p.strip() for p in s.split(",")]
        # "Zhang Z, Lin H" (PubMed CSV) splits; "Zhang, Z." (one author) does not
        parts = pieces if len(pieces) > 1 and all(" " in p for p in pieces if p) else [s]
    return tuple(p.strip() for p in parts if p.strip())


def _parse_csv(text: str, path: str, database: str | None) -> list[Record]:
    name = Path(path).name
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read the file as CSV: {str(exc).splitlines()[0] if str(exc) else 'empty'}",
                         file=path) from None
    lower = {str(c).strip().lower(): c for c in frame.columns}
    cols = {}
    for key, aliases in _CSV_ALIASES.items():
        for a in aliases:
            if a in lower:
                cols[key] = lower[a]
                break
    if "title" not in cols:
        raise InputError(f"no title column; a CSV of records needs a column named one of "
                         f"{', '.join(_CSV_ALIASES['title'])} (found: {', '.join(map(str, frame.columns))})", file=path)
    out = []
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        get = {k: _clean(row[frame.columns.get_loc(c)]) for k, c in cols.items()}
        if not get.get("title"):
            raise InputError(f"CSV record {i} has no title", file=path, row=i + 1, column=str(cols["title"]))
        kws = tuple(k.strip() for k in re.split(r";", get.get("keywords") or "") if k.strip())
        out.append(Record(
            record_id=f"{name}#{i}", title=get["title"], authors=_split_authors(get.get("authors")),
            year=_year(get.get("year")), journal=get.get("journal"), volume=get.get("volume"), issue=get.get("issue"),
            pages=get.get("pages"), doi=_doi_from([get.get("doi")]) or get.get("doi"), pmid=get.get("pmid"),
            abstract=get.get("abstract"), keywords=kws, database=database or get.get("database"),
            source_file=path, record_no=i,
        ))
    return out


# --------------------------------------------------------------------------- public

def parse_records(text: str, fmt: str, *, source: str = "<text>", database: str | None = None) -> list[Record]:
    """Parse the text of one export in format ``fmt`` (see :data:`FORMATS`)."""
    fmt = fmt.lower()
    if fmt == "ris":
        return _parse_ris(text, source, database)
    if fmt == "medline":
        return _parse_medline(text, source, database)
    if fmt == "bibtex":
        return _parse_bibtex(text, source, database)
    if fmt == "endnote_xml":
        return _parse_endnote_xml(text.encode("utf-8"), text, source, database)
    if fmt == "csv":
        return _parse_csv(text, source, database)
    raise InputError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}", file=source)


def _database_for(path: Path, database) -> str | None:
    if database is None:
        return None
    if isinstance(database, str):
        return database
    for key in (str(path), path.name, path.stem):
        if key in database:
            return database[key]
    return None


def read_records(paths, *, database: str | Mapping[str, str] | None = None, format: str | None = None) -> RecordSet:
    """Read search exports into one :class:`RecordSet`.

    Parameters
    ----------
    paths : path or list of paths
        Files in any of :data:`FORMATS`, chosen by suffix (``.txt`` by content).
    database : str or mapping, optional
        The source database of every record (str), or per file (a mapping from
        path, file name or stem to the database name). Otherwise taken from
        the records (RIS ``DB``/``DP``, MEDLINE → ``PubMed``, BibTeX
        ``database``/``Unique-ID = WOS:…`` → ``Web of Science``, EndNote
        ``remote-database-name``), and, failing that, the file's stem.
    format : str, optional
        Force a format for all files.

    Raises
    ------
    InputError
        Missing file, unknown format, unreadable content, a record without a
        title (naming the file and record number).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    records: list[Record] = []
    files: list[FileSummary] = []
    seen_names: set[str] = set()
    for p in map(Path, paths):
        if not p.exists():
            raise InputError("file not found", file=p)
        if p.is_dir():
            raise InputError("is a folder, not a search export", file=p)
        data = p.read_bytes()
        text, enc = decode_bytes(data)
        fmt = format.lower() if format else detect_format(p, text)
        if not text.strip():
            raise InputError("the file is empty", file=p)
        db = _database_for(p, database)
        if fmt == "endnote_xml":
            recs = _parse_endnote_xml(data, text, str(p), db)
        else:
            recs = parse_records(text, fmt, source=str(p), database=db)
        if p.name in seen_names:  # keep record ids unique when two folders hold the same file name
            recs = [replace(r, record_id=f"{p}#{r.record_no}") for r in recs]
        seen_names.add(p.name)
        fallback = db or p.stem
        recs = [r if r.database else replace(r, database=fallback) for r in recs]
        dbs = sorted({r.database for r in recs if r.database})
        files.append(FileSummary(file=str(p), format=fmt, encoding=enc, records=len(recs),
                                 database=", ".join(dbs) if dbs else None))
        records.extend(recs)
    return RecordSet(records=tuple(records), files=tuple(files))
