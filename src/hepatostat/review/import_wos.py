"""Web of Science plain-text exports (``FN``/``VR`` header, ``PT`` … ``ER``
records, ``EF`` at the end).

Each line starts with a two-character field tag and a space; a line that
starts with three spaces continues the field above (for ``AU``/``AF`` it is
the next author, for ``TI``/``AB``/``SO`` more of the same text). Fields
used: ``TI`` title, ``AU``/``AF`` authors, ``PY`` year, ``SO`` source, ``VL``,
``IS``, ``BP``/``EP`` pages (or ``AR`` article number), ``DI`` DOI, ``PM``
PMID, ``AB`` abstract, ``DE``/``ID`` keywords, ``DT`` document type, ``UT``
accession number.

Reference: Clarivate, Web of Science Core Collection field tags
(https://webofscience.help.clarivate.com/en-us/Content/export-records.htm).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError

__all__ = ["parse_wos", "looks_like_wos"]

_TAG = re.compile(r"^([A-Z][A-Z0-9])(?: (.*)|)$")
_JOIN_LINES = {"AU", "AF", "CR", "C1", "BA", "BF", "ED", "CA"}  # one item per line


def looks_like_wos(text: str) -> bool:
    head = text.lstrip("\ufeff")[:400]
    return bool(re.match(r"\s*FN ", head)) or bool(re.match(r"\s*PT [A-Z]\s*\n", head) and "\nER" in text[:200000])


def parse_wos(text: str, path: str, database: str | None, skipped=None, notes=None) -> list:
    from .records import Record, _clean, _doi_from, _untitled, _year

    name = Path(path).name
    out = []
    cur: dict[str, list[str]] | None = None
    last: str | None = None
    start = 0
    n = 0

    def close():
        nonlocal cur, n
        if cur is None:
            return
        n += 1
        d = cur
        cur = None

        def first(*tags):
            for t in tags:
                v = d.get(t)
                if v:
                    s = _clean(" ".join(v)) if t not in _JOIN_LINES else _clean(v[0])
                    if s:
                        return s
            return None

        title = first("TI")
        if not title:
            _untitled(skipped, "Web of Science", n, start, path, "each record needs a TI field")
            return
        authors = tuple(a.strip() for a in (d.get("AU") or d.get("AF") or []) if a.strip())
        bp, ep = first("BP"), first("EP")
        pages = f"{bp}-{ep}" if bp and ep and bp != ep else (bp or first("AR"))
        kws = tuple(k.strip() for t in ("DE", "ID") for k in re.split(r";", first(t) or "") if k.strip())
        out.append(Record(
            record_id=f"{name}#{n}", title=title, authors=authors, year=_year(first("PY", "EA", "PD")),
            journal=first("SO"), volume=first("VL"), issue=first("IS"), pages=pages,
            doi=_doi_from([first("DI")]), pmid=first("PM"), abstract=first("AB"), keywords=kws,
            database=database or "Web of Science", source_file=path, record_no=n, type=first("DT", "PT"),
        ))

    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip().lstrip("\ufeff")
        if not line.strip():
            continue
        if line.startswith("   ") and cur is not None and last is not None:
            cur[last].append(line.strip())
            continue
        m = _TAG.match(line)
        if not m:
            raise InputError(f"line {lineno} is neither a Web of Science field ('XX value') nor a continuation "
                             f"(three spaces): {line[:60]!r}", file=path)
        tag, value = m.group(1), (m.group(2) or "").strip()
        if tag in ("FN", "VR", "EF"):
            continue
        if tag == "PT":
            close()
            cur = {}
            start = lineno
        elif tag == "ER":
            close()
            last = None
            continue
        elif cur is None:
            cur = {}
            start = lineno
        cur.setdefault(tag, []).append(value)
        last = tag
    close()
    return out
