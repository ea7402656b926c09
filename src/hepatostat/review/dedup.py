"""De-duplication of search records across databases.

Two records are the same publication when

1. their DOIs agree after normalisation (:func:`normalize_doi`: case, a
   ``https://doi.org/``, ``http://dx.doi.org/`` or ``doi:`` prefix, URL
   escapes and trailing punctuation are ignored), or
2. their PubMed IDs agree, or
3. neither pair of identifiers disagrees (a pair of records with two
   different DOIs or two different PMIDs is never merged automatically), and
   the normalised titles (:func:`normalize_title`) have a similarity of at
   least ``merge_threshold`` (default 95 on rapidfuzz's 0-100
   ``fuzz.ratio``, the normalised Indel similarity), the years are equal
   and the first authors' surnames agree (:func:`first_author_key`).

Pairs whose title similarity lies in ``[review_threshold, merge_threshold)``
(default 85 to 95), or that reach ``merge_threshold`` but differ in year by
one, in first author, in an identifier, or lack a year or an author, are
*uncertain*: they are listed for a person to decide and are not merged.

Matches are transitive: the records linked by any chain of matches form one
cluster. In each cluster one record is kept:

**the most complete record** — the one with the most of the fields title,
authors, year, journal, volume, issue, pages, DOI, PMID and abstract filled
in; ties go to the longer abstract, then to the record read first (files in
the order given, records in file order).

References
----------
.. [1] Bramer WM, Giustini D, de Jonge GB, Holland L, Bekhuis T (2016).
   De-duplication of database search results for systematic reviews in
   EndNote. J Med Libr Assoc 104(3):240-243. doi:10.3163/1536-5050.104.3.014
.. [2] DOI Handbook, section 2.4 (DOI names are case-insensitive).
   doi:10.1000/182
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import unquote

import numpy as np
import pandas as pd

from ..errors import InputError
from .records import Record, RecordSet

__all__ = [
    "normalize_doi",
    "normalize_pmid",
    "normalize_title",
    "first_author_key",
    "completeness",
    "Cluster",
    "UncertainPair",
    "DedupResult",
    "deduplicate",
    "MERGE_THRESHOLD",
    "REVIEW_THRESHOLD",
]

MERGE_THRESHOLD = 95.0
REVIEW_THRESHOLD = 85.0

_DOI_PREFIX = re.compile(r"^(?:https?://)?(?:dx\.)?(?:www\.)?doi\.org/|^doi:\s*|^doi\s+", re.IGNORECASE)


def normalize_doi(doi: str | None) -> str | None:
    """Normalise a DOI for comparison: lower case, no resolver or ``doi:``
    prefix, URL escapes decoded, no trailing punctuation. ``None`` when the
    value holds no DOI (a DOI starts with ``10.`` and a registrant code).

    >>> normalize_doi("https://doi.org/10.1002/HEP.29189")
    '10.1002/hep.29189'
    >>> normalize_doi("doi: 10.1155/2019/4130757.")
    '10.1155/2019/4130757'
    """
    if doi is None:
        return None
    s = unquote(str(doi)).strip()
    prev = None
    while prev != s:  # "doi:https://doi.org/10..." has two prefixes
        prev = s
        s = _DOI_PREFIX.sub("", s).strip()
    m = re.search(r"10\.\d{4,9}/\S+", s)
    if not m:
        return None
    return m.group(0).rstrip(".,;)]").lower()


def normalize_pmid(pmid) -> str | None:
    """A PMID as digits without leading zeros (``"PMID: 012345"`` -> ``"12345"``)."""
    if pmid is None:
        return None
    m = re.search(r"\d+", str(pmid))
    if not m:
        return None
    return str(int(m.group(0)))


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if not unicodedata.combining(c)).lower()


def normalize_title(title: str | None) -> str:
    """Title for comparison: accents removed, lower case, HTML tags and
    punctuation removed, MEDLINE's brackets around translated titles
    dropped, whitespace collapsed."""
    if not title:
        return ""
    s = re.sub(r"<[^>]+>", " ", title)
    s = _fold(s)
    s = re.sub(r"[\W_]+", " ", s)
    return " ".join(s.split())


_INITIALS = re.compile(r"^(?:[A-Z]\.?){1,4}$|^[A-Z]\.?(?:-[A-Z]\.?)+$")


def first_author_key(author: str | None) -> str:
    """Surname of an author for comparison (``"Lin, Bing-Liang"``,
    ``"Lin BL"`` and ``"Bing-Liang Lin"`` all give ``"lin"``;
    ``"El-Ansary M"`` gives ``"elansary"``)."""
    if not author:
        return ""
    a = author.strip()
    if "," in a:
        surname = a.split(",")[0]
    else:
        toks = a.split()
        if len(toks) > 1 and _INITIALS.match(toks[-1]):
            surname = " ".join(toks[:-1])
        elif len(toks) > 1:
            surname = toks[-1]
        else:
            surname = a
    return re.sub(r"[\W_]+", "", _fold(surname))


_COMPLETE_FIELDS = ("title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid", "abstract")


def completeness(record: Record) -> int:
    """Number of the fields title, authors, year, journal, volume, issue,
    pages, DOI, PMID and abstract that a record has."""
    return sum(1 for f in _COMPLETE_FIELDS if getattr(record, f) not in (None, "", ()))


@dataclass(frozen=True)
class Cluster:
    """Records that are one publication; ``members`` includes ``kept``."""

    kept: str
    members: tuple
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"kept": self.kept, "members": list(self.members), "reason": self.reason}


@dataclass(frozen=True)
class UncertainPair:
    """Two records that may be one publication: for a person to decide."""

    a: str
    b: str
    similarity: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "similarity": round(float(self.similarity), 2), "reason": self.reason}


@dataclass(frozen=True)
class DedupResult:
    """The outcome of :func:`deduplicate`.

    ``duplicates`` is the number of records removed (``records_in - unique``).
    """

    records: tuple
    records_in: int
    unique: int
    duplicates: int
    clusters: tuple
    uncertain: tuple
    per_file: tuple
    merge_threshold: float
    review_threshold: float

    def kept_records(self) -> tuple:
        """The unique records (each cluster's kept record and every record
        without duplicates), in input order."""
        removed = {m for c in self.clusters for m in c.members if m != c.kept}
        return tuple(r for r in self.records if r.record_id not in removed)

    def duplicate_of(self) -> dict[str, str]:
        """``{removed record: kept record}``."""
        return {m: c.kept for c in self.clusters for m in c.members if m != c.kept}

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``hepatostat review dedup`` (DESIGN.md)."""
        return {
            "records_in": self.records_in,
            "unique": self.unique,
            "duplicates": self.duplicates,
            "clusters": [c.to_dict() for c in self.clusters],
            "uncertain": [u.to_dict() for u in self.uncertain],
            "per_file": [dict(p) for p in self.per_file],
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per record: its cluster, whether it is kept, and why."""
        cl = {}
        for i, c in enumerate(self.clusters, start=1):
            for m in c.members:
                cl[m] = (i, c.kept, c.reason)
        rows = []
        for r in self.records:
            i, kept, reason = cl.get(r.record_id, (None, r.record_id, ""))
            rows.append({
                "record_id": r.record_id, "cluster": i, "kept": kept == r.record_id,
                "duplicate_of": None if kept == r.record_id else kept, "reason": reason or None,
                "database": r.database, "first_author": r.first_author, "year": r.year, "title": r.title,
                "doi": r.doi, "pmid": r.pmid, "completeness": completeness(r),
            })
        frame = pd.DataFrame(rows)
        if len(frame):
            frame["cluster"] = frame["cluster"].astype("Int64")
            frame["year"] = frame["year"].astype("Int64")
        return frame

    def summary(self) -> str:
        lines = [f"{self.records_in} records in, {self.duplicates} duplicates removed, {self.unique} unique "
                 f"({len(self.clusters)} clusters; {len(self.uncertain)} uncertain pairs left for a person to decide)"]
        for p in self.per_file:
            lines.append(f"  {p['file']}: {p['records']} records, {p['kept']} kept, {p['removed']} removed as duplicates")
        if self.clusters:
            lines.append("Clusters (kept record first):")
            for c in self.clusters:
                others = ", ".join(m for m in c.members if m != c.kept)
                lines.append(f"  {c.kept} <- {others}  [{c.reason}]")
        if self.uncertain:
            lines.append("Uncertain pairs (not merged):")
            for u in self.uncertain:
                lines.append(f"  {u.a} ~ {u.b}  similarity {u.similarity:.1f}: {u.reason}")
        lines.append("Kept record: the most complete one (title, authors, year, journal, volume, issue, pages, "
                     "DOI, PMID, abstract); ties: longer abstract, then first read.")
        return "\n".join(lines)


class _DSU:
    def __init__(self, n):
        self.p = list(range(n))

    def find(self, i):
        while self.p[i] != i:
            self.p[i] = self.p[self.p[i]]
            i = self.p[i]
        return i

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.p[max(ra, rb)] = min(ra, rb)


def _title_pairs(titles: list[str], cutoff: float, chunk: int = 512):
    """All index pairs i < j whose title similarity is >= cutoff."""
    from rapidfuzz import fuzz, process

    n = len(titles)
    for start in range(0, n, chunk):
        block = titles[start:start + chunk]
        scores = process.cdist(block, titles, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.float32, workers=1)
        ii, jj = np.nonzero(scores)
        for a, j in zip(ii.tolist(), jj.tolist()):
            i = start + a
            if j > i:
                yield i, j, float(scores[a, j])


def deduplicate(records: RecordSet | Iterable[Record], *, merge_threshold: float = MERGE_THRESHOLD,
                review_threshold: float = REVIEW_THRESHOLD) -> DedupResult:
    """Find duplicate records (see the module docstring for the rules).

    Parameters
    ----------
    records : RecordSet or iterable of Record
        From :func:`hepatostat.review.read_records`.
    merge_threshold, review_threshold : float
        Title similarity (0-100, rapidfuzz ``fuzz.ratio`` of normalised
        titles) at or above which records are merged (with equal year and
        first author), and at or above which a pair is listed as uncertain.

    Returns
    -------
    DedupResult
    """
    if not 0 <= review_threshold <= merge_threshold <= 100:
        raise InputError(f"thresholds must satisfy 0 <= review_threshold ({review_threshold}) <= merge_threshold "
                         f"({merge_threshold}) <= 100")
    files = list(records.files) if isinstance(records, RecordSet) else []
    recs = list(records)
    ids = [r.record_id for r in recs]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"record id {dup!r} occurs twice; record ids must be unique")
    n = len(recs)
    dsu = _DSU(n)
    edges: list[tuple[int, int, str, float | None]] = []
    dois = [normalize_doi(r.doi) for r in recs]
    pmids = [normalize_pmid(r.pmid) for r in recs]
    for key, values in (("DOI", dois), ("PMID", pmids)):
        first: dict[str, int] = {}
        for i, v in enumerate(values):
            if v is None:
                continue
            if v in first:
                dsu.union(first[v], i)
                edges.append((first[v], i, key, None))
            else:
                first[v] = i
    titles = [normalize_title(r.title) for r in recs]
    authors = [first_author_key(r.first_author) for r in recs]
    uncertain: list[tuple[int, int, float, str]] = []
    for i, j, sim in _title_pairs(titles, review_threshold):
        if not titles[i] or not titles[j]:
            continue
        conflict = []
        if dois[i] and dois[j] and dois[i] != dois[j]:
            conflict.append("different DOIs")
        if pmids[i] and pmids[j] and pmids[i] != pmids[j]:
            conflict.append("different PMIDs")
        yi, yj = recs[i].year, recs[j].year
        ai, aj = authors[i], authors[j]
        same_author = bool(ai) and ai == aj
        if sim >= merge_threshold and not conflict and yi is not None and yi == yj and same_author:
            dsu.union(i, j)
            edges.append((i, j, "title", sim))
            continue
        why = []
        if sim < merge_threshold:
            why.append(f"title similarity {sim:.1f} is below {merge_threshold:g}")
        why += conflict
        if yi is None or yj is None:
            why.append("a year is missing")
        elif yi != yj:
            if abs(yi - yj) > 1:
                continue  # years far apart: different publications
            why.append(f"years differ ({yi} vs {yj})")
        if not ai or not aj:
            why.append("a first author is missing")
        elif ai != aj:
            why.append(f"first authors differ ({recs[i].first_author} vs {recs[j].first_author})")
        uncertain.append((i, j, sim, "; ".join(why)))

    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(dsu.find(i), []).append(i)
    clusters = []
    kept_of: dict[int, int] = {}
    for root in sorted(groups):
        members = groups[root]
        if len(members) < 2:
            kept_of[members[0]] = members[0]
            continue
        best = min(members, key=lambda k: (-completeness(recs[k]), -len(recs[k].abstract or ""), k))
        for m in members:
            kept_of[m] = best
        mset = set(members)
        kinds = []
        sims = [e[3] for e in edges if e[0] in mset and e[2] == "title"]
        for key in ("DOI", "PMID"):
            if any(e[2] == key and e[0] in mset for e in edges):
                kinds.append(f"same {key}")
        if sims:
            kinds.append(f"same title (similarity >= {min(sims):.1f}), year and first author")
        ordered = [best] + [m for m in members if m != best]
        clusters.append(Cluster(kept=recs[best].record_id, members=tuple(recs[m].record_id for m in ordered),
                                reason="; ".join(kinds)))
    # an uncertain pair already in one cluster needs no decision
    unc = tuple(
        UncertainPair(a=recs[i].record_id, b=recs[j].record_id, similarity=s, reason=why)
        for i, j, s, why in uncertain if dsu.find(i) != dsu.find(j)
    )
    per_file = []
    file_names = [f.file for f in files] or sorted({r.source_file or "" for r in recs}, key=str)
    for fname in file_names:
        idx = [i for i, r in enumerate(recs) if (r.source_file or "") == fname]
        kept = sum(1 for i in idx if kept_of[i] == i)
        per_file.append({"file": fname, "records": len(idx), "kept": kept, "removed": len(idx) - kept})
    unique = sum(1 for i in range(n) if kept_of[i] == i)
    return DedupResult(
        records=tuple(recs), records_in=n, unique=unique, duplicates=n - unique, clusters=tuple(clusters),
        uncertain=unc, per_file=tuple(per_file), merge_threshold=float(merge_threshold),
        review_threshold=float(review_threshold),
    )
