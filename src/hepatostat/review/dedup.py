"""De-duplication of search records across databases, with evidence.

Every candidate pair of records is compared field by field on normalised
values (:mod:`hepatostat.review.normalise`: database tags stripped from
titles, author names reduced to folded surnames, Unicode and LaTeX folded,
page ranges reduced to the first page, journal abbreviations matched to full
titles). Each field *agrees*, *disagrees* or is *missing* on one side, and
adds points to a score (:data:`WEIGHTS`), in the spirit of the
Fellegi–Sunter record-linkage model [1]_: agreement on a field that two
different publications rarely share (DOI, PMID, first page, abstract) adds
much; disagreement on a field that copies of one publication rarely differ
in (PMID, volume, first page, year by more than one) vetoes an automatic
merge.

A pair is

* **merged automatically** when no field vetoes it, its normalised titles
  reach ``review_threshold`` (default 85 on rapidfuzz's 0-100 ``fuzz.ratio``;
  or 70 when the DOI or PMID and the first page agree) and its score reaches
  :data:`AUTO_SCORE`. A shared DOI alone is not enough: Embase gives every
  conference abstract of a journal supplement the supplement's DOI, so the
  title (or the first page) must agree too.
* **uncertain** — listed for a person, never merged — when its titles reach
  ``review_threshold``, its years differ by at most one and its score is not
  negative (or the titles reach ``merge_threshold`` with the same first
  author: an abstract and its article), or it shares a PMID, but it is not
  merged. Pairs a person need not see are not listed: a short title with any
  other veto (two issues' "Editor's comments"), or different PMIDs or
  numbers in the titles without an otherwise automatic score.
* otherwise two different publications.

The vetoes: different PMIDs; different DOIs; different first pages;
different volumes (excused when the first pages agree, or when the DOI, a
title reaching ``merge_threshold`` and the first author agree: Embase puts
the issue in the volume field); years more than one apart; a conference
abstract paired with a journal article unless their first pages agree;
titles that differ in a number (part I / part II; unless DOI or PMID and
first page agree); a title of fewer than four words without an agreeing DOI
or PMID, an agreeing first page with no journal or volume disagreement, or
an agreeing journal, volume and issue. A merge that would put two DOIs,
PMIDs or first pages into one cluster (a chain through a sparse record) is
not made, and the pair is listed as uncertain.

Matches are transitive: records linked by a chain of automatic merges form
one cluster. Each cluster keeps one record (:func:`choose_kept`): the first
in the user's database preference order (``prefer``), else the most complete
(most of title, authors, year, journal, volume, issue, pages, DOI, PMID,
abstract), then the longer abstract, then the record read first. The rule is
stated in the result (``kept_rule``) and each cluster says why it kept what
it kept.

Scale: pairs are not all compared. Candidates come from blocks (records
sharing a DOI, a PMID, the first 24 letters of the normalised title, its last
24 letters, or year + first page) and from sorted neighbourhoods [2]_ (a
window over the records sorted by normalised title, and by first author +
year); a block larger than 40 records is itself walked as a sorted
neighbourhood. Memory and time are linear in the number of records for a
fixed window.

References
----------
.. [1] Fellegi IP, Sunter AB (1969). A theory for record linkage. J Am Stat
   Assoc 64(328):1183-1210. doi:10.1080/01621459.1969.10501049
.. [2] Hernández MA, Stolfo SJ (1995). The merge/purge problem for large
   databases. SIGMOD Rec 24(2):127-138. doi:10.1145/568271.223807
.. [3] Bramer WM, Giustini D, de Jonge GB, Holland L, Bekhuis T (2016).
   De-duplication of database search results for systematic reviews in
   EndNote. J Med Libr Assoc 104(3):240-243. doi:10.3163/1536-5050.104.3.014
.. [4] Hair K, Bahor Z, Macleod M, Liao J, Sena ES (2023). The Automated
   Systematic Search Deduplicator (ASySD). BMC Biol 21:189.
   doi:10.1186/s12915-023-01686-z
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ..errors import InputError
from ..io.format import fmt, fmt_n, fmt_plain
from .normalise import (
    author_surname,
    first_page,
    fold,
    is_conference,
    journals_agree,
    normalize_doi,
    normalize_journal,
    normalize_pmid,
    normalize_title,
    normalize_volume,
    surnames,
)
from .records import Record, RecordSet

__all__ = [
    "normalize_doi",
    "normalize_pmid",
    "normalize_title",
    "first_author_key",
    "completeness",
    "choose_kept",
    "compare",
    "PairEvidence",
    "Cluster",
    "UncertainPair",
    "DedupResult",
    "deduplicate",
    "MERGE_THRESHOLD",
    "REVIEW_THRESHOLD",
    "AUTO_SCORE",
    "WEIGHTS",
]

MERGE_THRESHOLD = 95.0
REVIEW_THRESHOLD = 85.0
#: score at or above which a pair without a veto is merged automatically
AUTO_SCORE = 8.0
#: points per field outcome (agree, disagree); missing adds 0
WEIGHTS = {
    "doi": (6.0, -8.0),
    "pmid": (6.0, -8.0),
    "title_exact": (4.0, None),   # normalised titles equal
    "title_high": (3.0, None),    # >= merge_threshold
    "title_close": (1.0, None),   # >= review_threshold
    "year": (1.0, -1.0),          # disagree: one year apart (further apart vetoes)
    "first_author": (2.0, -2.0),
    "authors": (1.0, -1.0),       # surname overlap >= 1/2, or < 1/5
    "journal": (1.0, -1.0),
    "volume": (1.0, -4.0),
    "issue": (0.5, -1.0),
    "first_page": (2.0, -5.0),
    "abstract": (2.0, -3.0),      # similarity >= 90, or < 50
}
_BLOCK_CAP = 40
_WINDOW = 6
_KEY_LEN = 24


def first_author_key(author: str | None) -> str:
    """Surname of an author for comparison (see
    :func:`hepatostat.review.normalise.author_surname`)."""
    return author_surname(author)


_COMPLETE_FIELDS = ("title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid", "abstract")


def completeness(record: Record) -> int:
    """Number of the fields title, authors, year, journal, volume, issue,
    pages, DOI, PMID and abstract that a record has."""
    return sum(1 for f in _COMPLETE_FIELDS if getattr(record, f) not in (None, "", ()))


# --------------------------------------------------------------------------- results

@dataclass(frozen=True)
class PairEvidence:
    """How two records compare: the score, the fields that agreed,
    disagreed or vetoed an automatic merge, and the title similarity."""

    a: str
    b: str
    score: float
    similarity: float
    agreed: tuple
    disagreed: tuple
    vetoes: tuple
    decision: str  # "merge", "uncertain" or "different"

    def describe(self) -> str:
        parts = [f"score {fmt_plain(self.score)}"]
        if self.agreed:
            parts.append("agree: " + ", ".join(self.agreed))
        if self.disagreed:
            parts.append("differ: " + ", ".join(self.disagreed))
        if self.vetoes:
            parts.append("not merged because " + "; ".join(self.vetoes))
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "score": self.score, "similarity": round(float(self.similarity), 2),
                "agreed": list(self.agreed), "disagreed": list(self.disagreed), "vetoes": list(self.vetoes),
                "decision": self.decision}


@dataclass(frozen=True)
class Cluster:
    """Records that are one publication; ``members`` includes ``kept``
    (first). ``evidence`` holds the automatic merges that linked them."""

    kept: str
    members: tuple
    reason: str
    kept_because: str = ""
    evidence: tuple = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kept": self.kept, "members": list(self.members), "reason": self.reason,
                "kept_because": self.kept_because, "evidence": [e.to_dict() for e in self.evidence]}


@dataclass(frozen=True)
class UncertainPair:
    """Two records that may be one publication: for a person to decide."""

    a: str
    b: str
    similarity: float
    reason: str
    score: float = float("nan")
    agreed: tuple = ()

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "similarity": round(float(self.similarity), 2), "reason": self.reason,
                "score": self.score, "agreed": list(self.agreed)}


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
    kept_rule: str = ""
    candidate_pairs: int = 0
    skipped: tuple = ()

    def kept_records(self) -> tuple:
        """The unique records (each cluster's kept record and every record
        without duplicates), in input order."""
        removed = {m for c in self.clusters for m in c.members if m != c.kept}
        return tuple(r for r in self.records if r.record_id not in removed)

    def duplicate_of(self) -> dict[str, str]:
        """``{removed record: kept record}``."""
        return {m: c.kept for c in self.clusters for m in c.members if m != c.kept}

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``hepatostat review dedup`` (DESIGN.md), with
        ``uncertain``, ``per_file``, ``kept_rule``, ``candidate_pairs`` and
        ``skipped`` (records the import could not read) added."""
        return {
            "records_in": self.records_in,
            "unique": self.unique,
            "duplicates": self.duplicates,
            "clusters": [c.to_dict() for c in self.clusters],
            "uncertain": [u.to_dict() for u in self.uncertain],
            "per_file": [dict(p) for p in self.per_file],
            "kept_rule": self.kept_rule,
            "candidate_pairs": self.candidate_pairs,
            "skipped": [dict(s) for s in self.skipped],
        }

    def to_frame(self):
        """One row per record: its cluster, whether it is kept, and why."""
        import pandas as pd

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
        frame = pd.DataFrame(rows, columns=["record_id", "cluster", "kept", "duplicate_of", "reason", "database",
                                            "first_author", "year", "title", "doi", "pmid", "completeness"])
        if len(frame):
            frame["cluster"] = frame["cluster"].astype("Int64")
            frame["year"] = frame["year"].astype("Int64")
        return frame

    def summary(self) -> str:
        n = fmt_n
        lines = [f"{n(self.records_in)} records in, {n(self.duplicates)} duplicates removed, {n(self.unique)} unique "
                 f"({n(len(self.clusters))} clusters; {n(len(self.uncertain))} uncertain pairs left for a person to "
                 f"decide)"]
        for s in self.skipped:
            lines.append(f"  not imported: {s['file']} line {s['line']}: {s['reason']}")
        for p in self.per_file:
            lines.append(f"  {p['file']}: {n(p['records'])} records, {n(p['kept'])} kept, {n(p['removed'])} removed "
                         f"as duplicates")
        if self.clusters:
            lines.append("Clusters (kept record first):")
            for c in self.clusters:
                others = ", ".join(m for m in c.members if m != c.kept)
                lines.append(f"  {c.kept} <- {others}  [{c.reason}] ({c.kept_because})")
        if self.uncertain:
            lines.append("Uncertain pairs (not merged):")
            for u in self.uncertain:
                lines.append(f"  {u.a} ~ {u.b}  similarity {fmt(u.similarity, 'percent')}: {u.reason}")
        lines.append("Kept record: " + self.kept_rule)
        return "\n".join(lines)


# --------------------------------------------------------------------------- preparation

class _Prepared:
    """Normalised fields of all records, as parallel lists."""

    __slots__ = ("title", "tnum", "nwords", "doi", "pmid", "year", "fa", "sur", "journal", "volume", "issue", "page",
                 "abstract", "conf")

    def __init__(self, recs: Sequence[Record]):
        self.title = [normalize_title(r.title) for r in recs]
        self.nwords = [t.count(" ") + 1 if t else 0 for t in self.title]
        self.tnum = [_title_numbers(t) for t in self.title]
        self.doi = [normalize_doi(r.doi) for r in recs]
        self.pmid = [normalize_pmid(r.pmid) for r in recs]
        self.year = [r.year for r in recs]
        sur = [surnames(r.authors) for r in recs]
        self.fa = [s[0] if s else "" for s in sur]
        self.sur = [frozenset(s[:12]) for s in sur]
        self.journal = [normalize_journal(r.journal) for r in recs]
        self.volume = [normalize_volume(r.volume) for r in recs]
        self.issue = [normalize_volume(r.issue) for r in recs]
        self.page = [first_page(r.pages) for r in recs]
        self.abstract = [" ".join(fold(r.abstract[:700]).split()) if r.abstract else "" for r in recs]
        self.conf = [is_conference(r.type) for r in recs]


_ROMAN = {r: str(k) for k, r in enumerate("i ii iii iv v vi vii viii ix x xi xii".split(), start=1)}
_NUMBER_WORD = re.compile(r"\d+|\b(?:i|ii|iii|iv|v|vi|vii|viii|ix|x|xi|xii)\b")


def _title_numbers(t: str) -> tuple:
    """Numbers in a normalised title (digits and roman numerals i-xii as
    words): "part i" and "part ii" are two publications."""
    if not t:
        return ()
    return tuple(sorted(_ROMAN.get(x, x) for x in _NUMBER_WORD.findall(t)))


def _surname_agree(a: str, b: str) -> bool:
    if a == b:
        return True
    # "vanderwal" vs "wal", "garciamartinez" vs "garcia": one contains the other (>= 4 letters)
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 4 and (long_.startswith(short) or long_.endswith(short))


def _compare(P: _Prepared, i: int, j: int, sim: float, merge_t: float, review_t: float):
    """Score a pair: (score, agreed, disagreed, vetoes)."""
    from rapidfuzz import fuzz

    agreed: list[str] = []
    disagreed: list[str] = []
    vetoes: list[str] = []
    score = 0.0

    def add(name, outcome, label=None):
        nonlocal score
        w_agree, w_dis = WEIGHTS[name]
        if outcome:
            score += w_agree
            agreed.append(label or name.replace("_", " "))
        else:
            score += w_dis
            disagreed.append(label or name.replace("_", " "))

    ti, tj = P.title[i], P.title[j]
    if ti and ti == tj:
        add("title_exact", True, "title (identical)")
    elif sim >= merge_t:
        add("title_high", True, f"title ({fmt(sim, 'percent')})")
    elif sim >= review_t:
        add("title_close", True, f"title ({fmt(sim, 'percent')})")
    else:
        disagreed.append(f"title ({fmt(sim, 'percent')})")
    if P.tnum[i] != P.tnum[j] and not (P.page[i] and P.page[i] == P.page[j] and (
            (P.doi[i] and P.doi[i] == P.doi[j]) or (P.pmid[i] and P.pmid[i] == P.pmid[j]))):
        vetoes.append("the titles differ in a number (" + (" ".join(P.tnum[i]) or "none") + " vs "
                      + (" ".join(P.tnum[j]) or "none") + ")")
    di, dj = P.doi[i], P.doi[j]
    if di and dj:
        add("doi", di == dj, "DOI")
        if di != dj:
            vetoes.append("different DOIs")
    pi, pj = P.pmid[i], P.pmid[j]
    if pi and pj:
        add("pmid", pi == pj, "PMID")
        if pi != pj:
            vetoes.append("different PMIDs")
    yi, yj = P.year[i], P.year[j]
    if yi is not None and yj is not None:
        if yi == yj:
            add("year", True)
        elif abs(yi - yj) == 1:
            add("year", False, f"year ({yi} vs {yj})")
        else:
            disagreed.append(f"year ({yi} vs {yj})")
            score -= 6.0
            vetoes.append(f"years {yi} and {yj} are more than one apart")
    fi, fj = P.fa[i], P.fa[j]
    if fi and fj:
        add("first_author", _surname_agree(fi, fj), "first author")
        si, sj = P.sur[i], P.sur[j]
        if len(si) > 1 and len(sj) > 1:
            overlap = len(si & sj) / min(len(si), len(sj))
            if overlap >= 0.5:
                add("authors", True)
            elif overlap < 0.2:
                add("authors", False)
    ja = journals_agree(P.journal[i], P.journal[j])
    if ja is not None:
        add("journal", ja)
    # one DOI, a near-identical title and the same first author: a volume that
    # differs is an export error (the issue in the volume field), not another
    # publication. Pages are never overridden: two abstracts of one supplement
    # share its DOI and may share authors and nearly a title.
    strong = "DOI" in agreed and sim >= merge_t and "first author" in agreed
    vi, vj = P.volume[i], P.volume[j]
    pgi, pgj = P.page[i], P.page[j]
    if vi and vj:
        add("volume", vi == vj)
        if vi != vj and not strong and not (pgi and pgi == pgj):
            vetoes.append("different volumes")
    ii, ij = P.issue[i], P.issue[j]
    if ii and ij:
        add("issue", ii == ij)
    if pgi and pgj:
        add("first_page", pgi == pgj, "first page")
        if pgi != pgj:
            vetoes.append("different first pages")
    ai, aj = P.abstract[i], P.abstract[j]
    if ai and aj and len(ai) > 60 and len(aj) > 60:
        asim = fuzz.ratio(ai[:400], aj[:400])
        if asim >= 90:
            add("abstract", True)
        elif asim < 50:
            add("abstract", False)
    if P.conf[i] != P.conf[j]:
        conf, art = (i, j) if P.conf[i] else (j, i)
        if not (P.page[conf] and P.page[conf] == P.page[art]):
            vetoes.append("a conference abstract and a journal article")
    short = min(P.nwords[i], P.nwords[j]) < 4
    if short and not (any(x in agreed for x in ("DOI", "PMID"))
                      or ("first page" in agreed and "journal" not in disagreed and "volume" not in disagreed)
                      or all(x in agreed for x in ("journal", "volume", "issue"))):
        vetoes.append("the title is too short to match on without a DOI, PMID, page or journal issue")
    return score, agreed, disagreed, vetoes


def compare(a: Record, b: Record, *, merge_threshold: float = MERGE_THRESHOLD,
            review_threshold: float = REVIEW_THRESHOLD) -> PairEvidence:
    """Compare two records (see the module docstring): the evidence and the
    decision ``"merge"``, ``"uncertain"`` or ``"different"``."""
    from rapidfuzz import fuzz

    P = _Prepared([a, b])
    sim = float(fuzz.ratio(P.title[0], P.title[1]))
    return _decide(P, 0, 1, sim, a.record_id, b.record_id, merge_threshold, review_threshold)


def _decide(P, i, j, sim, id_i, id_j, merge_t, review_t) -> PairEvidence:
    score, agreed, disagreed, vetoes = _compare(P, i, j, sim, merge_t, review_t)
    ids_agree = "DOI" in agreed or "PMID" in agreed
    title_ok = sim >= review_t or (ids_agree and sim >= 70 and "first page" in agreed)
    if not vetoes and title_ok and score >= AUTO_SCORE:
        decision = "merge"
    else:
        yi, yj = P.year[i], P.year[j]
        near_year = yi is None or yj is None or abs(yi - yj) <= 1
        same_work = sim >= merge_t and "first author" in agreed   # e.g. an abstract and its article
        decision = ("uncertain" if ((sim >= review_t and near_year and (score >= 0 or same_work)) or "PMID" in agreed)
                    else "different")
        if decision == "uncertain" and vetoes and "PMID" not in agreed:
            short = min(P.nwords[i], P.nwords[j]) < 4
            hard = [v for v in vetoes if v.startswith(("different PMIDs", "the titles differ in a number"))]
            if (short and any(not v.startswith("the title is too short") for v in vetoes)) or (
                    hard and score < AUTO_SCORE):
                # "Editor's comments" of two issues, part I and part II, two PMIDs: not worth a person's time
                decision = "different"
        if decision == "uncertain" and not vetoes:
            vetoes = [f"score {fmt_plain(score)} is below {fmt_plain(AUTO_SCORE)}" if title_ok
                      else f"title similarity {fmt(sim, 'percent')} is below {fmt_plain(review_t)}"]
    return PairEvidence(a=id_i, b=id_j, score=float(score), similarity=float(sim), agreed=tuple(agreed),
                        disagreed=tuple(disagreed), vetoes=tuple(vetoes), decision=decision)


# --------------------------------------------------------------------------- candidates

def _candidate_pairs(P: _Prepared, window: int = _WINDOW):
    """Candidate pairs (i < j) from blocks and sorted neighbourhoods, as two
    integer arrays (memory O(n * window))."""
    import numpy as np

    n = len(P.title)
    chunks_a: list = []
    chunks_b: list = []

    def walk(order):
        order = np.asarray(order, dtype=np.int64)
        for d in range(1, window):
            if d >= len(order):
                break
            chunks_a.append(order[:-d])
            chunks_b.append(order[d:])

    blocks: dict[tuple, list[int]] = {}
    for i in range(n):
        t = P.title[i].replace(" ", "")
        if P.doi[i]:
            blocks.setdefault(("d", P.doi[i]), []).append(i)
        if P.pmid[i]:
            blocks.setdefault(("p", P.pmid[i]), []).append(i)
        if len(t) >= 8:
            blocks.setdefault(("t", t[:_KEY_LEN]), []).append(i)
            blocks.setdefault(("e", t[-_KEY_LEN:]), []).append(i)
        if P.page[i] and P.year[i]:
            blocks.setdefault(("yp", P.year[i], P.page[i]), []).append(i)
    small_a: list[int] = []
    small_b: list[int] = []
    for members in blocks.values():
        m = len(members)
        if m < 2:
            continue
        if m <= _BLOCK_CAP:
            for x in range(m - 1):
                a = members[x]
                for b in members[x + 1:]:
                    small_a.append(a)
                    small_b.append(b)
        else:
            walk(sorted(members, key=P.title.__getitem__))
    blocks.clear()
    chunks_a.append(np.asarray(small_a, dtype=np.int64))
    chunks_b.append(np.asarray(small_b, dtype=np.int64))
    del small_a, small_b
    walk(sorted(range(n), key=P.title.__getitem__))
    walk(sorted(range(n), key=lambda k: (P.fa[k], P.year[k] or 0, P.title[k])))
    a = np.concatenate(chunks_a)
    b = np.concatenate(chunks_b)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    codes = np.unique(lo[keep] * n + hi[keep])
    return codes // n, codes % n


# --------------------------------------------------------------------------- clusters

class _DSU:
    def __init__(self, n):
        self.p = list(range(n))

    def find(self, i):
        p = self.p
        while p[i] != i:
            p[i] = p[p[i]]
            i = p[i]
        return i

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.p[max(ra, rb)] = min(ra, rb)


def choose_kept(records: Sequence[Record], prefer: Sequence[str] = ()) -> tuple[int, str]:
    """Index of the record to keep among duplicates, and why.

    The first record from the earliest database in ``prefer`` (names
    compared case-insensitively); otherwise, or among several from that
    database, the most complete (:func:`completeness`), then the longer
    abstract, then the record read first.
    """
    rank = {p.strip().lower(): k for k, p in enumerate(prefer)}
    big = len(rank)

    def key(k):
        r = records[k]
        return (rank.get((r.database or "").lower(), big), -completeness(r), -len(r.abstract or ""), k)

    best = min(range(len(records)), key=key)
    r = records[best]
    if rank and (r.database or "").lower() in rank:
        why = f"database preference: {r.database}"
    else:
        why = f"most complete ({completeness(r)} of 10 fields)"
        others = [completeness(records[k]) for k in range(len(records)) if k != best]
        if others and max(others) == completeness(r):
            why += "; tie broken by the longer abstract, then the record read first"
    return best, why


def deduplicate(records: RecordSet | Iterable[Record], *, merge_threshold: float = MERGE_THRESHOLD,
                review_threshold: float = REVIEW_THRESHOLD, prefer: Sequence[str] = (),
                window: int = _WINDOW) -> DedupResult:
    """Find duplicate records (see the module docstring for the rules).

    Parameters
    ----------
    records : RecordSet or iterable of Record
        From :func:`hepatostat.review.read_records`.
    merge_threshold, review_threshold : float
        Title similarity (0-100, rapidfuzz ``fuzz.ratio`` of normalised
        titles): at or above ``merge_threshold`` the title counts as the
        same (3 points), at or above ``review_threshold`` as close (1 point);
        below ``review_threshold`` a pair is neither merged (unless DOI or
        PMID and first page agree) nor listed as uncertain.
    prefer : sequence of str
        Database preference order for the kept record (e.g.
        ``("PubMed", "Embase")``); default: the most complete record.
    window : int
        Sorted-neighbourhood window (records compared with the next
        ``window - 1`` in each sort order).

    Returns
    -------
    DedupResult
    """
    import gc

    # the comparison allocates many small objects and creates no cycles: the
    # cyclic collector would walk the whole heap again and again
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _deduplicate(records, merge_threshold, review_threshold, prefer, window)
    finally:
        if enabled:
            gc.enable()


def _deduplicate(records, merge_threshold, review_threshold, prefer, window) -> DedupResult:
    from rapidfuzz import fuzz

    if not 0 <= review_threshold <= merge_threshold <= 100:
        raise InputError(f"thresholds must satisfy 0 <= review_threshold ({review_threshold}) <= merge_threshold "
                         f"({merge_threshold}) <= 100")
    if window < 2:
        raise InputError(f"window must be at least 2 (got {window})")
    files = list(records.files) if isinstance(records, RecordSet) else []
    skipped = tuple(s.to_dict() for s in getattr(records, "skipped", ()))
    recs = list(records)
    ids = [r.record_id for r in recs]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(i for i in ids if i in seen or seen.add(i))
        raise InputError(f"record id {dup!r} occurs twice; record ids must be unique")
    n = len(recs)
    P = _Prepared(recs)
    from rapidfuzz import process

    import numpy as np

    cand_i, cand_j = _candidate_pairs(P, window)
    n_pairs = int(len(cand_i))
    dsu = _DSU(n)
    merges: list[PairEvidence] = []
    merge_idx: list[tuple[int, int]] = []
    uncertain: list[tuple[int, int, PairEvidence]] = []
    titles, dois, pmids, pages = P.title, P.doi, P.pmid, P.page
    # title similarity of every candidate pair at once (rapidfuzz, in C)
    sims = np.zeros(n_pairs, dtype=np.float64)
    step = 200_000
    for s0 in range(0, n_pairs, step):
        ii, jj = cand_i[s0:s0 + step], cand_j[s0:s0 + step]
        sims[s0:s0 + step] = process.cpdist([titles[k] for k in ii.tolist()], [titles[k] for k in jj.tolist()],
                                            scorer=fuzz.ratio, dtype=np.float64, workers=1)
    look = sims >= review_threshold
    # below the title threshold only a shared PMID, or a shared DOI and first page, is worth a look
    def codes(values):
        table: dict[str, int] = {}
        return np.array([table.setdefault(v, len(table)) if v else -1 for v in values], dtype=np.int64)

    pm, do, pg = codes(pmids), codes(dois), codes(pages)
    same_pm = (pm[cand_i] >= 0) & (pm[cand_i] == pm[cand_j])
    same_do_pg = ((do[cand_i] >= 0) & (do[cand_i] == do[cand_j]) & (pg[cand_i] >= 0) & (pg[cand_i] == pg[cand_j])
                  & (sims >= 70))
    look |= same_pm | same_do_pg
    low = None
    for k in np.flatnonzero(look).tolist():
        i, j = int(cand_i[k]), int(cand_j[k])
        if not titles[i] or not titles[j]:
            if not (pmids[i] and pmids[i] == pmids[j]):
                continue
        ev = _decide(P, i, j, float(sims[k]), ids[i], ids[j], merge_threshold, review_threshold)
        if ev.decision == "merge":
            merges.append(ev)
            merge_idx.append((i, j))
        elif ev.decision == "uncertain":
            uncertain.append((i, j, ev))
    del cand_i, cand_j, sims, look, low
    # strongest matches first; a match that would put two DOIs, PMIDs or first
    # pages into one cluster (a chain through a sparse record) is not made
    order = sorted(range(len(merges)), key=lambda k: -merges[k].score)
    facts: dict[int, tuple] = {}

    def facts_of(root):
        f = facts.get(root)
        if f is None:
            f = ({dois[root]} - {None}, {pmids[root]} - {None}, {pages[root]} - {None})
            facts[root] = f
        return f

    kept_merges, kept_idx = [], []
    for k in order:
        i, j = merge_idx[k]
        ri, rj = dsu.find(i), dsu.find(j)
        if ri == rj:
            kept_merges.append(merges[k])
            kept_idx.append((i, j))
            continue
        fi, fj = facts_of(ri), facts_of(rj)
        clash = [name for name, a, b in zip(("DOIs", "PMIDs", "first pages"), fi, fj) if a and b and not (a & b)]
        if clash:
            ev = merges[k]
            uncertain.append((i, j, PairEvidence(
                a=ev.a, b=ev.b, score=ev.score, similarity=ev.similarity, agreed=ev.agreed, disagreed=ev.disagreed,
                vetoes=(f"merging would join records with different {' and '.join(clash)} already matched to each",),
                decision="uncertain")))
            continue
        dsu.union(ri, rj)
        root = dsu.find(ri)
        facts[root] = tuple(a | b for a, b in zip(fi, fj))
        kept_merges.append(merges[k])
        kept_idx.append((i, j))
    merges, merge_idx = kept_merges, kept_idx
    facts.clear()

    groups: dict[int, list[int]] = {}
    for i in range(n):
        r = dsu.find(i)
        if r != i or i in groups:
            groups.setdefault(r, []).append(i)
    ev_of: dict[int, list[PairEvidence]] = {}
    for (i, j), ev in zip(merge_idx, merges):
        ev_of.setdefault(dsu.find(i), []).append(ev)
    clusters = []
    kept_of = list(range(n))
    for root in sorted(groups):
        members = sorted(set(groups[root]) | {root})
        if len(members) < 2:
            continue
        k, why = choose_kept([recs[m] for m in members], prefer)
        best = members[k]
        for m in members:
            kept_of[m] = best
        evs = tuple(ev_of.get(root, ()))
        weakest = min(evs, key=lambda e: e.score)
        if len(evs) == 1:
            reason = "merged: " + weakest.describe()
        else:
            reason = f"merged by {len(evs)} matches; weakest: " + weakest.describe()
        ordered = [best] + [m for m in members if m != best]
        clusters.append(Cluster(kept=ids[best], members=tuple(ids[m] for m in ordered), reason=reason,
                                kept_because=why, evidence=evs))
    unc = []
    for i, j, ev in uncertain:
        if dsu.find(i) == dsu.find(j):
            continue  # already one cluster: nothing to decide
        reason = "; ".join(ev.vetoes)
        if ev.disagreed:
            reason += "; differ: " + ", ".join(ev.disagreed)
        if ev.agreed:
            reason += " (agree: " + ", ".join(ev.agreed) + ")"
        unc.append(UncertainPair(a=ids[i], b=ids[j], similarity=ev.similarity, reason=reason, score=ev.score,
                                 agreed=ev.agreed))
    per_file = []
    file_names = [f.file for f in files] or sorted({r.source_file or "" for r in recs}, key=str)
    counts: dict[str, list[int]] = {f: [0, 0] for f in file_names}
    for i, r in enumerate(recs):
        c = counts.setdefault(r.source_file or "", [0, 0])
        c[0] += 1
        c[1] += kept_of[i] == i
    for fname in file_names:
        tot, kept = counts[fname]
        per_file.append({"file": fname, "records": tot, "kept": kept, "removed": tot - kept})
    unique = sum(1 for i in range(n) if kept_of[i] == i)
    if prefer:
        rule = ("the record from the first database in the preference order " + " > ".join(prefer)
                + "; otherwise the most complete (title, authors, year, journal, volume, issue, pages, DOI, PMID, "
                  "abstract); ties: longer abstract, then first read.")
    else:
        rule = ("the most complete one (title, authors, year, journal, volume, issue, pages, DOI, PMID, abstract); "
                "ties: longer abstract, then first read.")
    return DedupResult(
        records=tuple(recs), records_in=n, unique=unique, duplicates=n - unique, clusters=tuple(clusters),
        uncertain=tuple(unc), per_file=tuple(per_file), merge_threshold=float(merge_threshold),
        review_threshold=float(review_threshold), kept_rule=rule, candidate_pairs=n_pairs, skipped=skipped,
    )
