"""Records from tables: CSV and tab-delimited exports.

One reader for every tabular export, each recognised by its column names
(matched case-insensitively):

=====================  ==========================================================
export                 columns used
=====================  ==========================================================
PubMed CSV             PMID, Title, Authors, Journal/Book, Publication Year, DOI
Scopus CSV             Title, Authors / Author full names, Year, Source title,
                       Volume, Issue, Page start, Page end, DOI, PubMed ID, Abstract
Web of Science tab     TI, AU, PY, SO, VL, IS, BP, EP, DI, PM, AB, DE, DT
(``savedrecs.txt``)
Covidence CSV          Title, Authors, Published Year, Journal, Volume, Issue,
                       Pages, DOI, Accession Number, Abstract, Covidence #
Rayyan CSV             key, title, authors (`` and ``), journal, volume, issue,
                       pages, year, pubmed_id, abstract, doi, keywords
Zotero CSV             Item Type, Publication Year, Author, Title, Publication
                       Title, DOI, Abstract Note, Pages, Issue, Volume, Extra (PMID)
EndNote tab-delimited  Reference Type, Author (``//`` or ``;``), Year, Title,
                       Secondary Title, Volume, Number, Pages, DOI, Accession Number
=====================  ==========================================================

The delimiter (comma, tab or semicolon) is sniffed from the header line. A
row without a title is listed (file, spreadsheet row) and the rest is read.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

from ..errors import InputError

__all__ = ["parse_table", "TABLE_ALIASES"]

#: column names per field, in order of preference (lower case)
TABLE_ALIASES = {
    "title": ("title", "article title", "document title", "ti", "primary title"),
    "authors": ("authors", "author", "author full names", "au", "af", "author(s)"),
    "year": ("year", "publication year", "published year", "pubyear", "py", "date", "year published"),
    "journal": ("journal", "journal/book", "source title", "publication title", "secondary title", "so",
                "journal title", "source"),
    "volume": ("volume", "vl"),
    "issue": ("issue", "number", "is"),
    "pages": ("pages", "page", "page start", "bp", "start page"),
    "end_page": ("page end", "ep", "end page"),
    "doi": ("doi", "do", "di"),
    "pmid": ("pmid", "pubmed id", "pubmed-id", "pubmed_id", "pm"),
    "abstract": ("abstract", "ab", "abstract note"),
    "keywords": ("keywords", "author keywords", "kw", "de", "manual tags"),
    "database": ("database", "source database", "db", "name of database"),
    "type": ("document type", "item type", "reference type", "dt", "type", "pt"),
    "accession": ("accession number", "an", "ut", "unique-id"),
    "extra": ("extra", "notes"),
}


def _split_authors(s: str | None) -> tuple:
    if not s:
        return ()
    if "//" in s:
        parts = s.split("//")
    elif ";" in s:
        parts = s.split(";")
    elif " and " in s:
        parts = s.split(" and ")
    else:
        pieces = [p.strip() for p in s.split(",")]
        # "Zhang Z, Lin H" (PubMed CSV) splits; "Zhang, Z." (one author) does not
        parts = pieces if len(pieces) > 1 and all(" " in p for p in pieces if p) else [s]
    return tuple(p.strip() for p in parts if p.strip())


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def parse_table(text: str, path: str, database: str | None, skipped=None, notes=None) -> list:
    """Records of a CSV or tab-delimited export (see the module docstring)."""
    from .records import Record, _clean, _doi_from, _untitled, _year

    name = Path(path).name
    first_line = text.split("\n", 1)[0]
    if first_line.strip().startswith("*") and "\t" not in first_line:  # EndNote: "*Generic" type line
        text = text.split("\n", 1)[1] if "\n" in text else ""
        first_line = text.split("\n", 1)[0]
        if notes is not None:
            notes.append("first line (an EndNote reference-type line) skipped")
    delim = _sniff_delimiter(first_line)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("the table is empty (no header line)", file=path) from None
    except csv.Error as exc:
        raise InputError(f"cannot read the file as a table: {exc}", file=path) from None
    lower: dict[str, int] = {}
    for k, c in enumerate(header):
        lower.setdefault(c.strip().lstrip("\ufeff").lower(), k)
    cols: dict[str, int] = {}
    for key, aliases in TABLE_ALIASES.items():
        for a in aliases:
            if a in lower:
                cols[key] = lower[a]
                break
    if "title" not in cols:
        raise InputError(f"no title column; a table of records needs a column named one of "
                         f"{', '.join(TABLE_ALIASES['title'])} (found: {', '.join(header)})", file=path)
    kind = ("Covidence" if "covidence #" in lower else "Rayyan" if "key" in lower and "pubmed_id" in lower
            else "Zotero" if "item type" in lower and "publication title" in lower
            else "EndNote" if "reference type" in lower else None)
    if kind and notes is not None:
        notes.append(f"read as a {kind} export")
    out = []
    n = 0
    try:
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            n += 1

            def get(key):
                k = cols.get(key)
                return _clean(row[k]) if k is not None and k < len(row) else None

            title = get("title")
            if not title:
                _untitled(skipped, "table", n, n + 1, path, f"row {n + 1} has an empty '{header[cols['title']]}' cell")
                continue
            pages = get("pages")
            end = get("end_page")
            if pages and end and end != pages:
                pages = f"{pages}-{end}"
            pmid = get("pmid")
            extra = get("extra") or ""
            if not pmid:
                m = re.search(r"PMID:?\s*(\d{1,9})", extra)
                pmid = m.group(1) if m else None
            acc = get("accession")
            if not pmid and acc and acc.isdigit() and kind == "Covidence":
                pmid = acc
            kws = tuple(k.strip() for k in re.split(r";", get("keywords") or "") if k.strip())
            db = database or get("database")
            if not db and acc and acc.upper().startswith("WOS:"):
                db = "Web of Science"
            out.append(Record(
                record_id=f"{name}#{n}", title=title, authors=_split_authors(get("authors")), year=_year(get("year")),
                journal=get("journal"), volume=get("volume"), issue=get("issue"), pages=pages,
                doi=_doi_from([get("doi")]) or get("doi"), pmid=pmid, abstract=get("abstract"), keywords=kws,
                database=db, source_file=path, record_no=n, type=get("type"),
            ))
    except csv.Error as exc:
        raise InputError(f"cannot read the table at row {n + 2}: {exc}", file=path, row=n + 2) from None
    return out
