"""Import bibliographic records from database search exports.

Formats: RIS (``.ris``; Ovid, Embase, EBSCO, ProQuest, Web of Science,
Scopus, Cochrane Library, EndNote, Zotero, Mendeley), PubMed/MEDLINE
(``.nbib``, ``.medline``, ``.txt``), BibTeX (``.bib``), EndNote XML
(``.xml``), Web of Science plain text (``.txt``, ``.ciw``;
:mod:`.import_wos`) and tables (``.csv``, ``.tsv``, tab-delimited ``.txt``:
PubMed, Scopus, Covidence, Rayyan, Zotero, EndNote, Web of Science;
:mod:`.import_table`). The format is sniffed from the content
(:func:`sniff_format`), the suffix deciding only when the content does not.

Encodings (:func:`decode_bytes`): UTF-8 with or without a byte-order mark,
UTF-16 with or without one, else Windows-1252 (Latin-1 only for bytes
Windows-1252 leaves undefined); the encoding used is reported per file.
Line endings may be ``\\n``, ``\\r\\n`` or ``\\r``. Continuation lines are
joined to their field; a RIS file whose last record lacks ``ER`` is read to
its end; lines that are not records (Ovid's ``1.``, ``Record #1 of 2``,
``Provider:`` headers) are counted in the file's notes.

A record without a title cannot be screened: it is not imported, and it is
listed (:class:`SkippedRecord`: file, line, record number, reason) while the
rest of the file is imported. A file from which no record can be read is an
:class:`~hepatostat.errors.InputError`, never a silent zero.

References
----------
.. [1] RIS format specification (Research Information Systems, 2011 rev.).
.. [2] MEDLINE/PubMed data element (field) descriptions, U.S. National
   Library of Medicine, https://www.nlm.nih.gov/bsd/mms/medlineelements.html
.. [3] EndNote XML document type (``xml/records/record``), Clarivate.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from ..errors import InputError
from .normalise import latex_to_text as _latex_to_text

__all__ = [
    "FORMATS",
    "Record",
    "FileSummary",
    "SkippedRecord",
    "RecordSet",
    "read_records",
    "parse_records",
    "detect_format",
    "decode_bytes",
]

#: the formats read, and the file suffixes that select them (the content is
#: sniffed too: a ``.bib`` file holding RIS text is read as RIS, with a note)
FORMATS = {
    "ris": (".ris",),
    "medline": (".nbib", ".medline", ".txt"),
    "bibtex": (".bib", ".bibtex"),
    "endnote_xml": (".xml",),
    "csv": (".csv", ".tsv", ".tab"),
    "wos": (".ciw",),
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
class SkippedRecord:
    """A record that could not be imported (e.g. it has no title): listed
    with its file, the line where it starts and why, never dropped
    silently."""

    file: str
    line: int | None
    record_no: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "record_no": self.record_no, "reason": self.reason}


@dataclass(frozen=True)
class FileSummary:
    """What was read from one file: format, encoding, records imported,
    records skipped (see :class:`SkippedRecord`) and notes (lines that are
    not records, such as Ovid's ``1.`` or ``Record #1 of 2`` headers; a
    suffix that did not match the content)."""

    file: str
    format: str
    encoding: str
    records: int
    database: str | None
    skipped: int = 0
    notes: tuple = ()

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "format": self.format, "encoding": self.encoding,
                "records": self.records, "database": self.database, "skipped": self.skipped,
                "notes": list(self.notes)}


@dataclass(frozen=True)
class RecordSet:
    """Records read from one or more search exports, with per-file counts."""

    records: tuple
    files: tuple
    skipped: tuple = ()

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
            "skipped": [k.to_dict() for k in self.skipped],
            "records": [r.to_dict() for r in self.records],
        }

    def summary(self) -> str:
        from ..io.format import fmt_n

        lines = [f"{fmt_n(len(self.records))} records from {fmt_n(len(self.files))} file(s)"]
        width = max([len(f.file) for f in self.files] + [4])
        for f in self.files:
            lines.append(f"  {f.file:<{width}}  {fmt_n(f.records):>6} records  ({f.format}, {f.encoding}"
                         + (f", database: {f.database}" if f.database else "") + ")"
                         + (f"; {fmt_n(f.skipped)} skipped" if f.skipped else ""))
            for note in f.notes:
                lines.append(f"      note: {note}")
        if self.skipped:
            lines.append("Records not imported:")
            for k in self.skipped:
                lines.append(f"  {k.file}, line {k.line}: {k.reason}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- decoding

def _looks_utf16(data: bytes) -> str | None:
    """UTF-16 without a byte-order mark: NUL bytes at every other position."""
    head = data[:4000]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode a file's bytes: ``(text, encoding)``.

    In order: UTF-8 with a byte-order mark (``utf-8-sig``); UTF-16 with a
    byte-order mark (``utf-16``) or without one (``utf-16-le``/``-be``, seen
    from the NUL bytes); UTF-8; Windows-1252 (``windows-1252``: what Excel,
    EndNote and Reference Manager write on Windows; its curly quotes and
    dashes are bytes 0x91-0x97, which Latin-1 would turn into control
    characters); and only when bytes Windows-1252 leaves undefined (0x81,
    0x8D, 0x8F, 0x90, 0x9D) occur, Latin-1. Line endings are normalised to
    ``\\n``.
    """
    if data.startswith(codecs.BOM_UTF8):
        text, enc = data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, enc = data.decode("utf-16", errors="replace"), "utf-16"
    elif (u16 := _looks_utf16(data)) is not None:
        text, enc = data.decode(u16, errors="replace"), u16
    else:
        try:
            text, enc = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, enc = data.decode("cp1252"), "windows-1252"
            except UnicodeDecodeError:
                text, enc = data.decode("latin-1"), "latin-1"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, enc


def detect_format(path, text: str | None = None) -> str:
    """The format of a search export: from its content when the content is
    recognisable (:func:`sniff_format`), else from its suffix. Raises
    :class:`InputError` naming the file when neither tells."""
    p = Path(path)
    suffix = p.suffix.lower()
    fmt = _SUFFIX_FORMAT.get(suffix)
    sniffed = sniff_format(text) if text is not None else None
    if sniffed is not None:
        return sniffed
    if fmt is None:
        allowed = ", ".join(f"{k} ({'/'.join(v)})" for k, v in FORMATS.items())
        raise InputError(f"unknown search-export format '{suffix or '(no suffix)'}'; allowed: {allowed}", file=p)
    return fmt


_TITLE_HEADERS = ("title", "article title", "document title", "ti", "primary title")
_BIB_START = re.compile(r"(?m)^\s*@(?:article|book|inproceedings|incollection|misc|phdthesis|mastersthesis|"
                        r"techreport|conference|inbook|unpublished|online|report|string|comment|preamble)\s*[{(]",
                        re.IGNORECASE)


def sniff_format(text: str) -> str | None:
    """The format the text is in, from its first lines, or ``None``."""
    body = text.lstrip("\ufeff \t\n")
    head = body[:20000]
    if re.search(r"(?m)^TY[ \t]{1,2}-", head):
        return "ris"
    if re.search(r"(?m)^PMID- ", head) or re.search(r"(?m)^(?:FAU|OWN|STAT|LID|AID|JT|TA|DP|PG) *- ", head[:4000]):
        return "medline"
    from .import_wos import looks_like_wos

    if looks_like_wos(body):
        return "wos"
    if _BIB_START.search(head):
        return "bibtex"
    if head.startswith(("<?xml", "<xml", "<records")):
        return "endnote_xml"
    first = head.split("\n", 1)[0]
    if first.count("\t") >= 1 or first.count(",") >= 1 or first.count(";") >= 1:
        cells = {c.strip().strip('"').lower() for c in re.split(r"[\t,;]", first)}
        if cells & set(_TITLE_HEADERS):
            return "csv"
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


def _untitled(skipped, fmt_name: str, n: int, line: int | None, path: str, what: str) -> None:
    """A record without a title: raise when no ``skipped`` list is given,
    else list it there (the rest of the file is imported)."""
    err = _empty_error(fmt_name, n, line, path, what)
    if skipped is None:
        raise err
    where = f"record {n}" + (f" (starting on line {line})" if line else "")
    skipped.append(SkippedRecord(file=str(path), line=line, record_no=n,
                                 reason=f"{fmt_name} {where} has no title; {what}"))


# --------------------------------------------------------------------------- RIS

_RIS_TAG = re.compile(r"^([A-Z][A-Z0-9])[ \t]{1,2}-(?:[ \t](.*)|[ \t]*)$")

_RIS_TYPES_DB = {"pubmed": "PubMed", "medline": "MEDLINE", "embase": "Embase"}


_RIS_NOISE = re.compile(
    r"^\s*(?:\d+\.\s*$"                       # Ovid: "1." before each record
    r"|<\d+>\s*$"                               # Ovid: "<1>"
    r"|record\s*#?\s*\d+\s*of\s*\d+"           # "Record #1 of 2"
    r"|(?:provider|database|content|search strategy|unique identifier|source|date|"
    r"query|results?|exported?|downloaded)\s*:"  # header lines ("Provider: Ovid Technologies")
    r"|(?:-{3,}|={3,}|\*{3,})\s*$)",            # rules
    re.IGNORECASE)
_RIS_HEADER_DB = re.compile(r"^\s*database\s*:\s*(.+?)\s*(?:<[^>]*>)?\s*$", re.IGNORECASE)


def _parse_ris(text: str, path: str, database: str | None, skipped=None, notes=None) -> list[Record]:
    """RIS, including Ovid's exports (a ``1.`` or ``<1>`` line before each
    record), files with ``Record #1 of 2`` and ``Provider:``/``Database:``
    header lines (those lines are not records and are counted in the
    file's notes), a last record without ``ER`` and a first record without
    ``TY``."""
    name = Path(path).name
    records: list[Record] = []
    cur: dict[str, list[str]] | None = None
    last_tag: str | None = None
    start_line = 0
    n_rec = 0
    noise = 0
    header_db = None

    def close():
        nonlocal cur, n_rec
        if cur is not None:
            n_rec += 1
            rec = _ris_record(cur, n_rec, start_line, path, name, database or header_db, skipped)
            if rec is not None:
                records.append(rec)
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
        elif _RIS_NOISE.match(line) and (cur is None or last_tag is None or re.match(r"^\s*(?:\d+\.|<\d+>|record\s*#)", line, re.I)):
            # a record-number or header line between records: it ends the record before it
            hm = _RIS_HEADER_DB.match(line)
            if hm and cur is None:
                header_db = hm.group(1).strip()
            if re.match(r"^\s*(?:\d+\.|<\d+>|record\s*#)", line, re.I):
                close()
                last_tag = None
            noise += 1
        elif cur is not None and last_tag is not None:
            # continuation line: belongs to the previous field
            vals = cur[last_tag]
            vals[-1] = (vals[-1] + " " + line.strip()).strip()
        elif cur is None and not records and n_rec == 0:
            noise += 1  # free text before the first record (an export's cover lines)
        else:
            raise InputError(f"line {lineno} is neither a RIS tag line ('XX  - value') nor a continuation "
                             f"of one: {line[:60]!r}", file=path)
    close()  # a last record without ER
    if noise and notes is not None:
        notes.append(f"{noise} line(s) outside records ignored (record numbers such as '1.' or "
                     f"'Record #1 of 2', export headers such as 'Provider:')")
    return records


def _first(d: Mapping[str, list[str]], *tags) -> str | None:
    for t in tags:
        for v in d.get(t, []):
            v = _clean(v)
            if v:
                return v
    return None


def _ris_record(d, n, line, path, name, database, skipped=None) -> Record | None:
    title = _first(d, "TI", "T1", "CT", "BT")
    if not title:
        _untitled(skipped, "RIS", n, line, path, "each record needs a TI or T1 line")
        return None
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


def _parse_medline(text: str, path: str, database: str | None, skipped=None, notes=None) -> list[Record]:
    """PubMed's MEDLINE format. A record starts at a ``PMID-`` line or after
    a blank line (records are separated by blank lines), so a file whose
    records lack ``PMID-`` lines is not read as one record; a second ``TI``
    in one block also starts a new record (a file without blank lines)."""
    name = Path(path).name
    blocks: list[tuple[int, list[tuple[str, str]]]] = []
    cur: list[tuple[str, str]] | None = None
    blank = True
    split_on_ti = 0
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip()
        if not line.strip():
            blank = True
            continue
        if line.startswith(" ") and cur and not blank:
            tag, val = cur[-1]
            cur[-1] = (tag, (val + " " + line.strip()).strip())
            continue
        m = _MEDLINE_TAG.match(line)
        if not m:
            raise InputError(f"line {lineno} is neither a MEDLINE field ('TAG - value') nor a continuation "
                             f"line (indented): {line[:60]!r}", file=path)
        tag, val = m.group(1).strip(), m.group(2).strip()
        has_pmid = cur is not None and any(t == "PMID" for t, _ in cur)
        repeat_ti = tag == "TI" and cur is not None and any(t == "TI" for t, _ in cur) and not has_pmid
        if tag == "PMID" or cur is None or blank or repeat_ti:
            if repeat_ti and not blank:
                split_on_ti += 1
            cur = []
            blocks.append((lineno, cur))
        blank = False
        cur.append((tag, val))
    if split_on_ti and notes is not None:
        notes.append(f"{split_on_ti} record(s) started at a repeated TI line (no PMID- or blank line between records)")
    out = []
    for n, (line, items) in enumerate(blocks, start=1):
        d: dict[str, list[str]] = {}
        for tag, val in items:
            d.setdefault(tag, []).append(val)
        title = _first(d, "TI", "BTI", "VTI", "TT")
        if not title:
            _untitled(skipped, "MEDLINE", n, line, path, "each record needs a TI (or BTI) field")
            continue
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

_BIB_ENTRY = re.compile(r"\s*([A-Za-z]+)\s*([{(])")
_BIB_KEY = re.compile(r"\s*([^,\s}]*)\s*,")
# field names: Scopus writes "funding_text 1", "funding_details"; WoS "Unique-ID"
_BIB_FIELD = re.compile(r"\s*([A-Za-z][A-Za-z0-9_\-:.+]*(?:[ \t]+[A-Za-z0-9_\-:.+]+)*)\s*=\s*")
_BIB_WORD = re.compile(r"[A-Za-z0-9_\-:.+]+")
_BIB_WS = re.compile(r"\s*")
_BIB_BRACE = re.compile(r"[\\{}]")
_BIB_QUOTE = re.compile(r'[\\{}"]')


class _BibReader:
    """A BibTeX reader in one pass: every pattern is matched at a position
    (no copies of the rest of the text) and line numbers are counted
    forward, so reading is linear in the file's size."""

    def __init__(self, text: str, path: str):
        self.t = text
        self.i = 0
        self.path = path
        self.strings: dict[str, str] = {}
        self._lpos = 0
        self._lcount = 1

    def line(self, pos=None) -> int:
        pos = self.i if pos is None else pos
        if pos < self._lpos:  # rare: count from the start
            return self.t.count("\n", 0, pos) + 1
        self._lcount += self.t.count("\n", self._lpos, pos)
        self._lpos = pos
        return self._lcount

    def error(self, msg):
        return InputError(f"BibTeX, line {self.line()}: {msg}", file=self.path)

    def skip_ws(self):
        self.i = _BIB_WS.match(self.t, self.i).end()

    def entries(self):
        t = self.t
        while True:
            at = t.find("@", self.i)
            if at < 0:
                return
            self.i = at + 1
            m = _BIB_ENTRY.match(t, self.i)
            if not m:
                continue
            etype = m.group(1).lower()
            close = "}" if m.group(2) == "{" else ")"
            self.i = m.end()
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
            km = _BIB_KEY.match(t, self.i)
            key = ""
            if km:
                key = km.group(1)
                self.i = km.end()
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
                fields_[" ".join(name.lower().split())] = value
            yield etype, key, fields_, start_line

    def _skip_balanced(self, close):
        depth = 1
        openc = "{" if close == "}" else "("
        pat = re.compile(re.escape(openc) + "|" + re.escape(close))
        t = self.t
        while depth:
            m = pat.search(t, self.i)
            if not m:
                self.i = len(t)
                return
            depth += 1 if m.group(0) == openc else -1
            self.i = m.end()

    def _field(self):
        t = self.t
        m = _BIB_FIELD.match(t, self.i)
        if not m:
            raise self.error(f"expected 'name = value', found {t[self.i:self.i + 30]!r}")
        name = m.group(1)
        self.i = m.end()
        parts = []
        while True:
            self.skip_ws()
            c = t[self.i] if self.i < len(t) else ""
            if c == "{":
                parts.append(self._braced())
            elif c == '"':
                parts.append(self._quoted())
            else:
                vm = _BIB_WORD.match(t, self.i)
                if not vm:
                    raise self.error(f"field '{name}' has no value")
                word = vm.group(0)
                self.i = vm.end()
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
        pos = self.i
        while True:
            m = _BIB_BRACE.search(t, pos)
            if not m:
                break
            c = m.group(0)
            pos = m.end()
            if c == "\\":
                pos += 1
                continue
            if c == "{":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    self.i = pos
                    return t[start + 1: pos - 1]
        self.i = start
        raise self.error("unbalanced braces")

    def _quoted(self):
        t = self.t
        depth = 0
        start = self.i + 1
        pos = start
        while True:
            m = _BIB_QUOTE.search(t, pos)
            if not m:
                break
            c = m.group(0)
            pos = m.end()
            if c == "\\":
                pos += 1
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif depth == 0:
                self.i = pos
                return t[start: pos - 1]
        raise self.error("unterminated quoted value")


def _bib_authors(s: str | None) -> tuple:
    if not s:
        return ()
    parts = re.split(r"\s+and\s+", s.strip())
    return tuple(p for p in (_latex_to_text(x) for x in parts) if p and p.lower() != "others")


def _parse_bibtex(text: str, path: str, database: str | None, skipped=None, notes=None) -> list[Record]:
    name = Path(path).name
    out = []
    reader = _BibReader(text, path)
    n = 0
    for etype, key, f, line in reader.entries():
        n += 1
        g = {k: _latex_to_text(v) for k, v in f.items() if k not in ("author", "editor")}
        title = _clean(g.get("title") or g.get("booktitle"))
        if not title:
            _untitled(skipped, "BibTeX", n, line, path, f"entry '{key}' needs a title field")
            continue
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


_XML_DECL_ENC = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)[\"']")


def _parse_endnote_xml(data: bytes, text: str, path: str, database: str | None, skipped=None,
                       notes=None) -> list[Record]:
    """EndNote XML (also written by Zotero, Mendeley and JabRef). An
    encoding the XML declaration names but Python does not know is a clear
    error, not a crash."""
    name = Path(path).name
    m = _XML_DECL_ENC.match(data[:400])
    if m:
        enc = m.group(1).decode("ascii", "replace")
        try:
            codecs.lookup(enc)
        except LookupError:
            raise InputError(f"the XML declaration names encoding {enc!r}, which is not a known encoding; "
                             f"save the file as UTF-8 (or UTF-16, ISO-8859-1, Windows-1252)", file=path,
                             value=enc) from None
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, LookupError, ValueError):
        try:  # e.g. a Windows-1252 file that declares no encoding
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
            _untitled(skipped, "EndNote XML", n, None, path, "each <record> needs <titles><title>")
            continue
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

def _parse_csv(text: str, path: str, database: str | None, skipped=None, notes=None) -> list[Record]:
    from .import_table import parse_table

    return parse_table(text, path, database, skipped, notes)


def _parse_wos(text: str, path: str, database: str | None, skipped=None, notes=None) -> list[Record]:
    from .import_wos import parse_wos

    return parse_wos(text, path, database, skipped, notes)


# --------------------------------------------------------------------------- public

_PARSERS = {"ris": "_parse_ris", "medline": "_parse_medline", "bibtex": "_parse_bibtex", "csv": "_parse_csv",
            "wos": "_parse_wos"}


def parse_records(text: str, fmt: str, *, source: str = "<text>", database: str | None = None,
                  skipped: list | None = None, notes: list | None = None) -> list[Record]:
    """Parse the text of one export in format ``fmt`` (see :data:`FORMATS`).

    A record without a title raises :class:`InputError`, unless a list is
    given as ``skipped``: then it is appended there as a
    :class:`SkippedRecord` and the rest is parsed. ``notes`` (a list)
    receives remarks on lines that are not records.
    """
    fmt = fmt.lower()
    if fmt == "endnote_xml":
        return _parse_endnote_xml(text.encode("utf-8"), text, source, database, skipped, notes)
    if fmt in _PARSERS:
        return globals()[_PARSERS[fmt]](text, source, database, skipped, notes)
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
        Files in any of :data:`FORMATS`. The format is taken from the
        content when it is recognisable (a ``.bib`` file holding RIS text is
        read as RIS, and the file's notes say so), else from the suffix.
    database : str or mapping, optional
        The source database of every record (str), or per file (a mapping from
        path, file name or stem to the database name). Otherwise taken from
        the records (RIS ``DB``/``DP`` or a ``Database:`` header, MEDLINE →
        ``PubMed``, BibTeX ``database``/``Unique-ID = WOS:…`` → ``Web of
        Science``, EndNote ``remote-database-name``), and, failing that, the
        file's stem.
    format : str, optional
        Force a format for all files.

    Records without a title are not imported: each is listed in
    ``RecordSet.skipped`` (file, line, record number, reason) and counted
    in its file's summary; the rest of the file is imported.

    Raises
    ------
    InputError
        Missing file, unknown format, unreadable content, a file from which
        no record at all can be read (never a silent zero), or an XML file
        declaring an unknown encoding.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    records: list[Record] = []
    files: list[FileSummary] = []
    all_skipped: list[SkippedRecord] = []
    seen_names: set[str] = set()
    for p in map(Path, paths):
        if not p.exists():
            raise InputError("file not found", file=p)
        if p.is_dir():
            raise InputError("is a folder, not a search export", file=p)
        data = p.read_bytes()
        text, enc = decode_bytes(data)
        if not text.strip():
            raise InputError("the file is empty", file=p)
        notes: list[str] = []
        if format:
            fmt = format.lower()
        else:
            fmt = detect_format(p, text)
            by_suffix = _SUFFIX_FORMAT.get(p.suffix.lower())
            if by_suffix and by_suffix != fmt and not (by_suffix == "medline" and p.suffix.lower() == ".txt"):
                notes.append(f"the content is {fmt}, not {by_suffix} as the suffix '{p.suffix}' says: read as {fmt}")
        db = _database_for(p, database)
        skipped: list[SkippedRecord] = []
        if fmt == "endnote_xml":
            recs = _parse_endnote_xml(data, text, str(p), db, skipped, notes)
        else:
            recs = parse_records(text, fmt, source=str(p), database=db, skipped=skipped, notes=notes)
        if not recs:
            if skipped:
                raise InputError(f"none of the {len(skipped)} record(s) could be imported; first: "
                                 f"{skipped[0].reason}", file=p)
            raise InputError(f"no records found (read as {fmt}); the file holds neither records of that format "
                             f"nor of any other format hepatostat reads ({', '.join(FORMATS)})", file=p)
        if p.name in seen_names:  # keep record ids unique when two folders hold the same file name
            recs = [replace(r, record_id=f"{p}#{r.record_no}") for r in recs]
        seen_names.add(p.name)
        fallback = db or p.stem
        recs = [r if r.database else replace(r, database=fallback) for r in recs]
        dbs = sorted({r.database for r in recs if r.database})
        files.append(FileSummary(file=str(p), format=fmt, encoding=enc, records=len(recs),
                                 database=", ".join(dbs) if dbs else None, skipped=len(skipped), notes=tuple(notes)))
        records.extend(recs)
        all_skipped.extend(skipped)
    return RecordSet(records=tuple(records), files=tuple(files), skipped=tuple(all_skipped))
