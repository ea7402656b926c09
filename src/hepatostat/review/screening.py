"""Screening in pairs: a DuckDB project file with the records and every
reviewer's decisions at the title/abstract and full-text stages.

Workflow (Cochrane Handbook, chapter 4.6: two people screen independently,
disagreements are settled by a third):

1. :func:`create_project` imports search exports, removes duplicates
   (:func:`~hepatostat.review.dedup.deduplicate`) and stores all records, the
   clusters and the uncertain pairs in one ``.duckdb`` file.
2. Each reviewer gets a screening sheet (:meth:`Project.export_sheet`, Excel
   or CSV) and fills in ``decision`` (``include`` / ``exclude``; at the
   full-text stage also ``not_retrieved``), ``reason`` and ``note``.
3. :meth:`Project.import_sheet` records the decisions. **Blinding**: a
   reviewer's sheet shows only that reviewer's own decisions, never the
   other's; votes become visible (:meth:`Project.conflicts`) only for records
   that all screeners have decided.
4. Disagreements are listed (:meth:`Project.conflicts`) and settled by a
   third reviewer (:meth:`Project.resolve`), who must not be one of the
   record's screeners.
5. :meth:`Project.status` counts decisions per stage and gives Cohen's kappa
   for every pair of screeners; :meth:`Project.prisma` draws the flow.

At the full-text stage an exclusion needs a reason (PRISMA 2020 reports
excluded reports with reasons), and two screeners who both exclude a report
for different reasons are a conflict too.

References
----------
.. [1] Cohen J (1960). A coefficient of agreement for nominal scales.
   Educ Psychol Meas 20(1):37-46. doi:10.1177/001316446002000104
.. [2] Cohen J (1968). Weighted kappa: nominal scale agreement with provision
   for scaled disagreement or partial credit. Psychol Bull 70(4):213-220.
   doi:10.1037/h0026256 (Table 1: the worked example used in the tests)
.. [3] Lefebvre C, et al. (2023). Chapter 4: Searching for and selecting
   studies. In: Higgins JPT, et al. (eds). Cochrane Handbook for Systematic
   Reviews of Interventions, version 6.4.
.. [4] Cohen AM, Hersh WR, Peterson K, Yen PY (2006). Reducing workload in
   systematic review preparation using automated citation classification.
   J Am Med Inform Assoc 13(2):206-219. doi:10.1197/jamia.M1929
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ..io.format import fmt, fmt_ci, fmt_level, fmt_n, fmt_seconds
from .dedup import deduplicate
from .records import RecordSet, read_records

__all__ = [
    "STAGES",
    "DECISIONS",
    "KappaResult",
    "cohen_kappa",
    "ImportReport",
    "ScreeningStatus",
    "Project",
    "create_project",
    "open_project",
    "relevance_scores",
]

STAGES = ("title_abstract", "full_text")
DECISIONS = {
    "title_abstract": ("include", "exclude", "maybe"),
    "full_text": ("include", "exclude", "not_retrieved"),
}
_ALIASES = {
    "include": "include", "included": "include", "incl": "include", "yes": "include", "y": "include",
    "1": "include", "in": "include", "i": "include",
    "exclude": "exclude", "excluded": "exclude", "excl": "exclude", "no": "exclude", "n": "exclude",
    "0": "exclude", "out": "exclude", "e": "exclude", "x": "exclude",
    "not_retrieved": "not_retrieved", "not retrieved": "not_retrieved", "notretrieved": "not_retrieved",
    "nr": "not_retrieved", "not-retrieved": "not_retrieved",
    "maybe": "maybe", "m": "maybe", "?": "maybe", "unsure": "maybe",
}


def _effective(decision, stage: str):
    """At title/abstract, "maybe" (unsure from the abstract: look at the full
    text) counts as include for agreement, the final decision and kappa, as in
    Covidence's screening rule; the vote itself is kept as "maybe"."""
    return "include" if stage == "title_abstract" and decision == "maybe" else decision
SCHEMA_VERSION = "2"

#: decisions are append-only events (schema 2): a changed decision is a new
#: event; ``decisions`` is a view of each reviewer's latest event per record
#: and stage. Nothing in hepatostat updates or deletes an event.
_EVENTS_SCHEMA = """
CREATE TABLE decision_events (
    event_id BIGINT PRIMARY KEY, record_id VARCHAR, stage VARCHAR, reviewer VARCHAR, role VARCHAR,
    decision VARCHAR, reason VARCHAR, note VARCHAR, source VARCHAR, decided_at VARCHAR);
CREATE VIEW decisions AS
    SELECT record_id, stage, reviewer, role, decision, reason, note, source, decided_at FROM (
        SELECT *, row_number() OVER (PARTITION BY record_id, stage, reviewer ORDER BY event_id DESC) AS _rn
        FROM decision_events) WHERE _rn = 1;
"""

_SHEET_META = ("record_id", "title", "authors", "year", "journal", "doi", "pmid", "abstract")
_SHEET_INPUT = ("decision", "reason", "note")


# =========================================================================== kappa

@dataclass(frozen=True)
class KappaResult:
    """Cohen's kappa for two raters.

    ``se`` is Cohen's (1960, eq. 9) large-sample standard error
    ``sqrt(po (1 - po) / (n (1 - pe)^2))``; the confidence interval is
    ``kappa ± z se``. ``kappa`` is NaN when chance agreement is 1 (both
    raters put every item in the same single category).
    """

    kappa: float
    po: float
    pe: float
    n: int
    se: float
    ci_low: float
    ci_high: float
    level: float
    categories: tuple
    table: np.ndarray = field(repr=False)
    raters: tuple = ()

    def to_dict(self) -> dict[str, Any]:
        def f(x):
            return None if x is None or not math.isfinite(x) else float(x)
        return {"raters": list(self.raters), "n": int(self.n), "kappa": f(self.kappa), "po": f(self.po),
                "pe": f(self.pe), "se": f(self.se), "ci_low": f(self.ci_low), "ci_high": f(self.ci_high),
                "level": self.level, "categories": list(self.categories),
                "table": np.asarray(self.table).tolist()}

    def summary(self) -> str:
        who = f" ({' vs '.join(self.raters)})" if self.raters else ""
        if not math.isfinite(self.kappa):
            return f"Cohen's kappa{who}: not defined (n = {fmt_n(self.n)}; chance agreement is 1)"
        return (f"Cohen's kappa{who} = {fmt(self.kappa, 'kappa')} (SE {fmt(self.se, 'se')}, {fmt_level(self.level)} CI "
                f"{fmt_ci(self.ci_low, self.ci_high, 'kappa')}); observed agreement {fmt(self.po, 'kappa')}, "
                f"chance agreement {fmt(self.pe, 'kappa')}, n = {fmt_n(self.n)}")


def cohen_kappa(rater1=None, rater2=None, *, table=None, n: int | None = None, categories=None,
                level: float = 0.95, raters: tuple = ()) -> KappaResult:
    """Cohen's (1960) kappa from two raters' labels or from a k x k table.

    ``kappa = (po - pe) / (1 - pe)`` with ``po`` the observed proportion of
    agreement (the diagonal of the table of proportions) and ``pe`` the
    agreement expected by chance (the sum over categories of the product of
    the two raters' marginal proportions).

    Parameters
    ----------
    rater1, rater2 : sequences of labels, same length
    table : array-like (k x k), optional
        Counts, or proportions (then give ``n`` for the standard error).
        Rows are rater 1, columns rater 2.
    categories : sequence, optional
        Category order (default: sorted labels seen).
    level : float
        Confidence level of the interval.

    Notes
    -----
    Checked against Cohen (1968), Table 1 (N = 200, three diagnostic
    categories, observed proportions .44 .07 .09 / .05 .20 .05 /
    .01 .03 .06), for which Cohen reports an unweighted kappa of .492.
    """
    if table is None:
        if rater1 is None or rater2 is None:
            raise InputError("give two raters' labels (rater1, rater2) or a table")
        a, b = list(rater1), list(rater2)
        if len(a) != len(b):
            raise InputError(f"the two raters have {len(a)} and {len(b)} labels; they must rate the same items")
        cats = tuple(categories) if categories is not None else tuple(sorted(set(a) | set(b), key=str))
        pos = {c: i for i, c in enumerate(cats)}
        tab = np.zeros((len(cats), len(cats)))
        for x, y in zip(a, b):
            if x not in pos or y not in pos:
                raise InputError(f"label {x if x not in pos else y!r} is not one of the categories {list(cats)}")
            tab[pos[x], pos[y]] += 1
    else:
        tab = np.asarray(table, dtype=float)
        if tab.ndim != 2 or tab.shape[0] != tab.shape[1]:
            raise InputError(f"the agreement table must be square (k x k); got shape {tab.shape}")
        if (tab < 0).any():
            raise InputError("the agreement table has negative entries")
        cats = tuple(categories) if categories is not None else tuple(range(tab.shape[0]))
    total = tab.sum()
    if total <= 0:
        raise InputError("no rated items: kappa needs at least one item rated by both raters")
    nn = int(round(total)) if n is None else int(n)
    if n is None and not np.isclose(total, round(total)):
        nn = 0  # proportions without n: no standard error
    p = tab / total
    po = float(np.trace(p))
    pe = float(p.sum(axis=1) @ p.sum(axis=0))
    if np.isclose(pe, 1.0):
        kappa = se = lo = hi = math.nan
    else:
        kappa = (po - pe) / (1 - pe)
        se = math.sqrt(po * (1 - po) / (nn * (1 - pe) ** 2)) if nn > 0 else math.nan
        z = stats.norm.isf((1 - level) / 2)
        lo, hi = kappa - z * se, kappa + z * se
    return KappaResult(kappa=kappa, po=po, pe=pe, n=nn, se=se, ci_low=lo, ci_high=hi, level=level,
                       categories=cats, table=tab, raters=tuple(raters))


# =========================================================================== relevance

_TOKEN = re.compile(r"[a-z0-9]{2,}")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall((text or "").lower())


def relevance_scores(train_texts: list[str], labels, texts: list[str], *, l2: float = 1.0) -> np.ndarray:
    """Predicted probability of inclusion of ``texts`` from decisions so far.

    TF-IDF features (sublinear term frequency, smoothed idf
    ``log((1 + n) / (1 + df)) + 1``, rows scaled to unit length) and an
    L2-penalised logistic regression fitted by L-BFGS (scipy), as in the
    citation-classification literature (Cohen et al. 2006). Needs both an
    included and an excluded training record; otherwise returns NaN for all.
    """
    from scipy import sparse
    from scipy.optimize import minimize

    y = np.asarray(labels, dtype=float)
    if len(train_texts) == 0 or y.min() == y.max():
        return np.full(len(texts), np.nan)
    vocab: dict[str, int] = {}
    docs_train = [_tokens(t) for t in train_texts]
    for toks in docs_train:
        for t in toks:
            vocab.setdefault(t, len(vocab))
    df = np.zeros(len(vocab))
    for toks in docs_train:
        for t in set(toks):
            df[vocab[t]] += 1
    idf = np.log((1 + len(docs_train)) / (1 + df)) + 1

    def matrix(docs):
        rows, cols, vals = [], [], []
        for r, toks in enumerate(docs):
            counts: dict[int, int] = {}
            for t in toks:
                j = vocab.get(t)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            for j, c in counts.items():
                rows.append(r)
                cols.append(j)
                vals.append((1 + math.log(c)) * idf[j])
        m = sparse.csr_matrix((vals, (rows, cols)), shape=(len(docs), len(vocab)))
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1
        return sparse.diags(1 / norms) @ m

    X = matrix(docs_train)

    def loss(w):
        b, beta = w[0], w[1:]
        z = X @ beta + b
        ll = np.sum(np.logaddexp(0, z) - y * z) + 0.5 * l2 * beta @ beta
        pr = 1 / (1 + np.exp(-z))
        g = np.concatenate([[np.sum(pr - y)], X.T @ (pr - y) + l2 * beta])
        return ll, g

    res = minimize(loss, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B")
    w = res.x
    Z = matrix([_tokens(t) for t in texts]) @ w[1:] + w[0]
    return 1 / (1 + np.exp(-Z))


# =========================================================================== results

@dataclass(frozen=True)
class ImportReport:
    """What :meth:`Project.import_sheet` / :meth:`Project.resolve` recorded."""

    file: str
    reviewer: str
    stage: str
    role: str
    recorded: int
    replaced: int
    unchanged: int
    blank: int

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "reviewer": self.reviewer, "stage": self.stage, "role": self.role,
                "recorded": self.recorded, "replaced": self.replaced, "unchanged": self.unchanged,
                "blank": self.blank}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def summary(self) -> str:
        return (f"{self.reviewer} ({self.role}, {self.stage}): {fmt_n(self.recorded)} new decisions, "
                f"{fmt_n(self.replaced)} replaced, {fmt_n(self.unchanged)} unchanged, {fmt_n(self.blank)} rows left "
                f"blank (not yet decided) "
                f"from {self.file}")


@dataclass(frozen=True)
class ScreeningStatus:
    """Counts per stage and Cohen's kappa for each pair of screeners."""

    path: str
    records_in: int
    duplicates_removed: int
    unique: int
    uncertain_pairs: int
    screeners_per_record: int
    stages: tuple  # of dicts

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.path, "records_in": self.records_in, "duplicates_removed": self.duplicates_removed,
                "unique": self.unique, "uncertain_pairs": self.uncertain_pairs,
                "screeners_per_record": self.screeners_per_record,
                "stages": {s["stage"]: {k: v for k, v in s.items() if k != "stage"} for s in self.stages}}

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for s in self.stages:
            row = {k: v for k, v in s.items() if k not in ("kappa", "votes")}
            k = [x for x in s["kappa"] if x.get("kappa") is not None]
            row["kappa"] = k[0]["kappa"] if len(k) == 1 else None
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        n = fmt_n
        lines = [f"Project {self.path}: {n(self.records_in)} records in, {n(self.duplicates_removed)} duplicates "
                 f"removed, {n(self.unique)} records to screen; {n(self.uncertain_pairs)} uncertain duplicate pairs "
                 f"undecided"]
        for s in self.stages:
            lines.append(f"{s['stage']}: {n(s['eligible'])} records; {n(s['pending'])} awaiting votes, "
                         f"{n(s['agreed'])} agreed, {n(s['conflicts'])} conflicts unresolved, {n(s['resolved'])} "
                         f"resolved by a third reviewer; final: {n(s['included'])} included, {n(s['excluded'])} excluded"
                         + (f", {n(s['not_retrieved'])} not retrieved" if s["stage"] == "full_text" else ""))
            if s["votes"]:
                lines.append("  votes: " + ", ".join(f"{k} {n(v)}" for k, v in s["votes"].items()))
            for k in s["kappa"]:
                if k.get("kappa") is None:
                    lines.append(f"  Cohen's kappa {' vs '.join(k['raters'])}: not defined (n = {n(k['n'])})")
                else:
                    lines.append(f"  Cohen's kappa {' vs '.join(k['raters'])} = {fmt(k['kappa'], 'kappa')} "
                                 f"(n = {n(k['n'])}, observed agreement {fmt(k['po'], 'kappa')})")
        return "\n".join(lines)


# =========================================================================== project

def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _append_events(con, rows) -> None:
    """Append decision events (record_id, stage, reviewer, role, decision,
    reason, note, source, decided_at); the caller holds the transaction."""
    if not rows:
        return
    start = con.execute("SELECT coalesce(max(event_id), 0) FROM decision_events").fetchone()[0]
    con.executemany("INSERT INTO decision_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(start + i + 1, *r) for i, r in enumerate(rows)])


def _check_stage(stage: str) -> str:
    s = str(stage).strip().lower().replace("-", "_").replace("/", "_")
    s = {"ta": "title_abstract", "title": "title_abstract", "ft": "full_text", "fulltext": "full_text"}.get(s, s)
    if s not in STAGES:
        raise InputError(f"unknown screening stage {stage!r}; allowed: {', '.join(STAGES)}")
    return s


def _check_reviewer(name) -> str:
    n = " ".join(str(name or "").split())
    if not n:
        raise InputError("a reviewer name is needed (e.g. --reviewer YL)")
    return n


def _norm_reason(r) -> str:
    """Reasons compare case- and space-insensitively; missing (None, NaN) is ''."""
    if not isinstance(r, str):
        return ""
    return " ".join(r.lower().split())


_SCHEMA = """
CREATE TABLE project (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE sources (file VARCHAR, format VARCHAR, encoding VARCHAR, records INTEGER, database VARCHAR);
CREATE TABLE records (
    record_id VARCHAR PRIMARY KEY, seq INTEGER, title VARCHAR, authors VARCHAR, year INTEGER, journal VARCHAR,
    volume VARCHAR, issue VARCHAR, pages VARCHAR, doi VARCHAR, pmid VARCHAR, abstract VARCHAR, keywords VARCHAR,
    database VARCHAR, source_file VARCHAR, record_no INTEGER, type VARCHAR,
    duplicate_of VARCHAR, dedup_reason VARCHAR);
CREATE TABLE uncertain (a VARCHAR, b VARCHAR, similarity DOUBLE, reason VARCHAR, decision VARCHAR);
""" + _EVENTS_SCHEMA


def _settle(votes, stage: str, need: int):
    """One record's state from its current votes ``(reviewer, role, decision,
    reason)``: ``(status, final, reason, conflict_kind, n_screeners)``."""
    scr = [(v[0], v[1], _effective(v[2], stage), v[3]) for v in votes if v[1] == "screener"]
    arb = [(v[0], v[1], _effective(v[2], stage), v[3]) for v in votes if v[1] == "arbiter"]
    status, final, reason, kind = "pending", None, None, None
    if len(scr) >= need:
        decs = {v[2] for v in scr}
        if len(decs) > 1:
            kind = "decision"
        elif stage == "full_text" and decs == {"exclude"} and len({_norm_reason(v[3]) for v in scr}) > 1:
            kind = "reason"
        if kind is None:
            status, final = "agreed", scr[0][2]
            reasons = [v[3] for v in scr if isinstance(v[3], str) and v[3].strip()]
            reason = reasons[0] if reasons else None
        else:
            status = "conflict"
    if arb and status == "conflict":
        a = arb[0]
        status, final = "resolved", a[2]
        reason = a[3] if isinstance(a[3], str) and a[3].strip() else None
        if reason is None and final == "exclude":
            rs = [v[3] for v in scr if v[2] == "exclude" and isinstance(v[3], str) and v[3]]
            reason = rs[0] if rs else None
    return status, final, reason, kind, len(scr)


def create_project(path, sources, *, database=None, merge_threshold: float = 95.0, review_threshold: float = 85.0,
                   screeners_per_record: int = 2, overwrite: bool = False) -> "Project":
    """Create a screening project from search exports.

    Parameters
    ----------
    path : path of the ``.duckdb`` file to create
    sources : paths of search exports, or a :class:`RecordSet`
    database : str or mapping, optional
        Source database names (see :func:`~hepatostat.review.read_records`).
    merge_threshold, review_threshold : float
        De-duplication thresholds (see :func:`~hepatostat.review.deduplicate`).
    screeners_per_record : int
        Independent votes each record needs (2: screening in pairs).
    overwrite : bool
        Replace an existing project file.
    """
    import duckdb

    p = Path(path)
    if p.exists():
        if not overwrite:
            raise InputError("a project file already exists here; choose another name or overwrite it", file=p)
        p.unlink()
    if int(screeners_per_record) < 2:
        raise InputError(f"screeners_per_record must be at least 2 (got {screeners_per_record})")
    rs = sources if isinstance(sources, RecordSet) else read_records(sources, database=database)
    if len(rs) == 0:
        raise InputError("the search exports hold no records")
    dd = deduplicate(rs, merge_threshold=merge_threshold, review_threshold=review_threshold)
    dup_of = dd.duplicate_of()
    reason_of = {m: c.reason for c in dd.clusters for m in c.members}
    rows = []
    for seq, r in enumerate(rs.records, start=1):
        rows.append((r.record_id, seq, r.title, "; ".join(r.authors), r.year, r.journal, r.volume, r.issue,
                     r.pages, r.doi, r.pmid, r.abstract, "; ".join(r.keywords), r.database, r.source_file,
                     r.record_no, r.type, dup_of.get(r.record_id), reason_of.get(r.record_id)))
    p.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(p))
    try:
        con.execute("BEGIN")
        for stmt in _SCHEMA.strip().split(";"):
            if stmt.strip():
                con.execute(stmt)
        meta = {"schema_version": SCHEMA_VERSION, "created": _now(), "screeners_per_record": str(int(screeners_per_record)),
                "merge_threshold": str(merge_threshold), "review_threshold": str(review_threshold)}
        con.executemany("INSERT INTO project VALUES (?, ?)", list(meta.items()))
        con.executemany("INSERT INTO sources VALUES (?, ?, ?, ?, ?)",
                        [(f.file, f.format, f.encoding, f.records, f.database) for f in rs.files])
        con.executemany("INSERT INTO records VALUES (" + ", ".join(["?"] * 19) + ")", rows)
        if dd.uncertain:
            con.executemany("INSERT INTO uncertain VALUES (?, ?, ?, ?, NULL)",
                            [(u.a, u.b, float(u.similarity), u.reason) for u in dd.uncertain])
        con.execute("COMMIT")
    finally:
        con.close()
    return Project(p)


def create_empty_project(path, *, screeners_per_record: int = 2) -> "Project":
    """Create a project with no records yet (records are added later, e.g.
    from the workbench's import page, :meth:`Project.add_records`)."""
    import duckdb

    p = Path(path)
    if p.exists():
        raise InputError("a project file already exists here", file=p)
    if int(screeners_per_record) < 2:
        raise InputError(f"screeners_per_record must be at least 2 (got {screeners_per_record})")
    p.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(p))
    try:
        con.execute("BEGIN")
        for stmt in _SCHEMA.strip().split(";"):
            if stmt.strip():
                con.execute(stmt)
        meta = {"schema_version": SCHEMA_VERSION, "created": _now(),
                "screeners_per_record": str(int(screeners_per_record)),
                "merge_threshold": "95.0", "review_threshold": "85.0"}
        con.executemany("INSERT INTO project VALUES (?, ?)", list(meta.items()))
        con.execute("COMMIT")
    finally:
        con.close()
    return Project(p)


def open_project(path, *, connection=None) -> "Project":
    """Open an existing screening project (see :class:`Project`)."""
    return Project(path, connection=connection)


_LOCK_WAIT_S = 10.0


class Project:
    """A screening project stored in one DuckDB file.

    Without ``connection`` every method opens the file, does its work in one
    transaction and closes it again, so several commands can follow one
    another; a command that finds the file locked by another process retries
    for up to 10 s. With ``connection`` (an open read-write
    ``duckdb.DuckDBPyConnection``) every method uses it and never closes it:
    this is how the workbench server, the one process that owns the file,
    serialises all reviewers' writes (the caller must not use the connection
    from two threads at once).

    Decisions are append-only events (table ``decision_events``); a project
    written by an older hepatostat (schema 1) is migrated on opening, keeping
    every decision.
    """

    def __init__(self, path, *, connection=None):
        self.path = Path(path)
        self._shared = connection
        if connection is None and not self.path.exists():
            raise InputError("no screening project here (create one with `hepatostat review init`)", file=self.path)
        with self._con(read_only=True) as con:
            try:
                meta = dict(con.execute("SELECT key, value FROM project").fetchall())
            except Exception:
                raise InputError("not a hepatostat screening project (no 'project' table)", file=self.path) from None
        if meta.get("schema_version", "1") == "1":
            self._migrate_v1()
            meta["schema_version"] = SCHEMA_VERSION
        self.meta = meta
        self.screeners_per_record = int(meta.get("screeners_per_record", 2))

    def __repr__(self) -> str:
        return f"Project({str(self.path)!r})"

    # ------------------------------------------------------------------ plumbing
    def _con(self, read_only: bool = False):
        import contextlib
        import time

        import duckdb

        if self._shared is not None:
            return contextlib.nullcontext(self._shared)
        import os

        wait = float(os.environ.get("HEPATOSTAT_LOCK_WAIT", _LOCK_WAIT_S))
        deadline = time.monotonic() + wait
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.Error as exc:
                locked = "lock" in str(exc).lower()
                if locked and time.monotonic() < deadline:
                    time.sleep(0.05 + 0.1 * (hash(time.monotonic()) % 5) / 5)
                    continue
                if locked:
                    raise InputError("the project file is in use by another process (a running `hepatostat "
                                     "workbench` owns it: screen in the browser, or stop the workbench) and stayed "
                                     f"locked for {fmt_seconds(wait)}", file=self.path) from None
                raise InputError(f"cannot open the project file: {exc}", file=self.path) from None

    def _migrate_v1(self) -> None:
        """Schema 1 kept one row per (record, stage, reviewer) and deleted it on
        a change; schema 2 keeps every decision as an event."""
        with self._con() as con:
            con.execute("BEGIN")
            for stmt in _EVENTS_SCHEMA.replace("CREATE VIEW decisions", "CREATE VIEW decisions_v2").split(";"):
                if stmt.strip():
                    con.execute(stmt)
            con.execute("INSERT INTO decision_events SELECT row_number() OVER (ORDER BY decided_at, record_id, "
                        "reviewer), record_id, stage, reviewer, role, decision, reason, note, source, decided_at "
                        "FROM decisions")
            con.execute("DROP VIEW decisions_v2")
            con.execute("DROP TABLE decisions")
            con.execute([x for x in _EVENTS_SCHEMA.split(";") if "CREATE VIEW" in x][0])
            con.execute("UPDATE project SET value = ? WHERE key = 'schema_version'", [SCHEMA_VERSION])
            con.execute("COMMIT")

    def records(self, *, unique_only: bool = True) -> pd.DataFrame:
        """The project's records (by default those left after de-duplication)."""
        where = "WHERE duplicate_of IS NULL" if unique_only else ""
        with self._con(read_only=True) as con:
            return con.execute(f"SELECT * FROM records {where} ORDER BY seq").df()

    def sources(self) -> pd.DataFrame:
        with self._con(read_only=True) as con:
            return con.execute("SELECT * FROM sources").df()

    def uncertain_pairs(self) -> pd.DataFrame:
        """Possible duplicates left for a person to decide (see :meth:`mark_duplicate`)."""
        with self._con(read_only=True) as con:
            return con.execute("SELECT * FROM uncertain ORDER BY similarity DESC").df()

    def mark_duplicate(self, record_id: str, of: str) -> None:
        """A person decided that ``record_id`` duplicates ``of``: remove it
        before screening (it then counts among PRISMA's duplicates removed)."""
        with self._con() as con:
            ids = dict(con.execute("SELECT record_id, duplicate_of FROM records WHERE record_id IN (?, ?)",
                                   [record_id, of]).fetchall())
            for rid in (record_id, of):
                if rid not in ids:
                    raise InputError(f"unknown record id {rid!r}", file=self.path)
            if record_id == of:
                raise InputError("a record cannot duplicate itself", value=record_id)
            if ids[of] is not None:
                raise InputError(f"record {of!r} is itself a duplicate of {ids[of]!r}; name the kept record",
                                 value=of)
            n = con.execute("SELECT count(*) FROM decisions WHERE record_id = ?", [record_id]).fetchone()[0]
            if n:
                raise InputError(f"record {record_id!r} already has {n} screening decisions; it cannot be removed "
                                 "as a duplicate now (exclude it at screening with reason 'duplicate')", value=record_id)
            con.execute("BEGIN")
            con.execute("UPDATE records SET duplicate_of = ?, dedup_reason = 'marked by a reviewer' "
                        "WHERE record_id = ? OR duplicate_of = ?", [of, record_id, record_id])
            con.execute("UPDATE uncertain SET decision = 'duplicate' WHERE (a = ? AND b = ?) OR (a = ? AND b = ?)",
                        [record_id, of, of, record_id])
            con.execute("COMMIT")

    def mark_distinct(self, a: str, b: str) -> None:
        """A person decided that the uncertain pair ``a``, ``b`` are two
        different publications: the pair is no longer listed."""
        with self._con() as con:
            n = con.execute("SELECT count(*) FROM uncertain WHERE decision IS NULL AND ((a = ? AND b = ?) OR "
                            "(a = ? AND b = ?))", [a, b, b, a]).fetchone()[0]
            if not n:
                raise InputError(f"no undecided possible-duplicate pair {a!r} / {b!r}", value=a)
            con.execute("UPDATE uncertain SET decision = 'distinct' WHERE (a = ? AND b = ?) OR (a = ? AND b = ?)",
                        [a, b, b, a])

    # ------------------------------------------------------------------ state
    def _eligible(self, con, stage: str) -> list[str]:
        ids = [r[0] for r in con.execute(
            "SELECT record_id FROM records WHERE duplicate_of IS NULL ORDER BY seq").fetchall()]
        if stage == "title_abstract":
            return ids
        fin = self._final(con, "title_abstract")
        inc = set(fin.loc[fin["final"] == "include", "record_id"])
        return [i for i in ids if i in inc]

    def _votes(self, con, stage: str) -> pd.DataFrame:
        return con.execute("SELECT record_id, reviewer, role, decision, reason, note FROM decisions "
                           "WHERE stage = ? ORDER BY reviewer", [stage]).df()

    def _final(self, con, stage: str) -> pd.DataFrame:
        """Per eligible record: status (pending/agreed/conflict/resolved),
        final decision and reason, conflict kind."""
        eligible = self._eligible(con, stage)
        rows_by: dict[str, list] = {}
        for r in con.execute("SELECT record_id, reviewer, role, decision, reason FROM decisions WHERE stage = ? "
                             "ORDER BY reviewer", [stage]).fetchall():
            rows_by.setdefault(r[0], []).append(r[1:])
        rows = []
        for rid in eligible:
            status, final, reason, kind, nscr = _settle(rows_by.get(rid, ()), stage, self.screeners_per_record)
            rows.append({"record_id": rid, "status": status, "final": final, "reason": reason, "conflict": kind,
                         "votes": nscr})
        return pd.DataFrame(rows, columns=["record_id", "status", "final", "reason", "conflict", "votes"])

    def record_state(self, con, record_id: str, stage: str):
        """``(status, final, reason, conflict, n_screeners, votes)`` of one
        record at ``stage``; ``votes`` are the current ``(reviewer, role,
        decision, reason)`` rows. For code that holds a connection."""
        votes = con.execute("SELECT reviewer, role, decision, reason FROM decisions WHERE record_id = ? AND "
                            "stage = ? ORDER BY reviewer", [record_id, stage]).fetchall()
        return (*_settle(votes, stage, self.screeners_per_record), votes)

    def decide(self, record_id: str, reviewer: str, stage: str, decision: str, *, reason: str | None = None,
               note: str | None = None, role: str = "screener", source: str = "workbench") -> dict[str, Any]:
        """Record one decision (one event) — the workbench's path.

        The same rules as :meth:`import_sheet` / :meth:`resolve`: a known,
        non-duplicate record eligible at ``stage``; a full-text exclusion needs
        a reason; the third reviewer (``role="arbiter"``) must not have
        screened the record and the record must have a conflict; a
        screener's vote can change only while the record still awaits votes.
        Returns ``{"event_id", "changed", "status"}``; an unchanged repeat
        records nothing (``event_id`` None).
        """
        reviewer, stage = _check_reviewer(reviewer), _check_stage(stage)
        if role not in ("screener", "arbiter"):
            raise InputError(f"unknown role {role!r}; allowed: screener, arbiter")
        rid = str(record_id or "").strip()
        dec = _ALIASES.get(str(decision or "").strip().lower())
        if dec is None or dec not in DECISIONS[stage]:
            raise InputError(f"unknown decision; allowed at the {stage} stage: {', '.join(DECISIONS[stage])}",
                             column="decision", value=decision)
        reason = (str(reason).strip() or None) if reason is not None else None
        note = (str(note).strip() or None) if note is not None else None
        if reason and len(reason) > 500 or note and len(note) > 5000:
            raise InputError("reason (500) or note (5000 characters) too long", column="reason")
        if stage == "full_text" and dec == "exclude" and not reason:
            raise InputError("a full-text exclusion needs a reason (PRISMA 2020 reports excluded reports with "
                             "reasons)", column="reason")
        with self._con() as con:
            row = con.execute("SELECT duplicate_of FROM records WHERE record_id = ?", [rid]).fetchall()
            if not row:
                raise InputError("unknown record id (not in this project)", column="record_id", value=rid)
            if row[0][0] is not None:
                raise InputError(f"record {rid!r} was removed as a duplicate of {row[0][0]!r}", column="record_id",
                                 value=rid)
            if stage == "full_text" and self.record_state(con, rid, "title_abstract")[1] != "include":
                raise InputError(f"record {rid!r} is not at the full_text stage (only records included at "
                                 "title/abstract screening go on to full text)", column="record_id", value=rid)
            status, _, _, _, _, votes = self.record_state(con, rid, stage)
            mine = [v for v in votes if v[0] == reviewer]
            screeners = {v[0] for v in votes if v[1] == "screener"}
            arbiters = {v[0] for v in votes if v[1] == "arbiter"}
            if role == "screener" and reviewer in arbiters:
                raise InputError(f"{reviewer} settled the conflict on record {rid!r} as the third reviewer and "
                                 "cannot also screen it", column="record_id", value=rid)
            if role == "arbiter":
                if reviewer in screeners:
                    raise InputError(f"{reviewer} screened record {rid!r} and cannot settle its conflict; the third "
                                     "reviewer must be someone else", column="record_id", value=rid)
                if arbiters - {reviewer}:
                    raise InputError(f"the conflict on record {rid!r} was already settled by "
                                     f"{sorted(arbiters - {reviewer})[0]}", column="record_id", value=rid)
                if status not in ("conflict", "resolved"):
                    raise InputError(f"record {rid!r} has no conflict at the {stage} stage (status: {status})",
                                     column="record_id", value=rid)
            if mine:
                old = mine[0]
                if old[2] == dec and _norm_reason(old[3]) == _norm_reason(reason):
                    cur_note = con.execute("SELECT note FROM decisions WHERE record_id = ? AND stage = ? AND "
                                           "reviewer = ?", [rid, stage, reviewer]).fetchone()[0]
                    if (cur_note or None) == note:
                        return {"event_id": None, "changed": False, "status": status}
                if role == "screener" and status != "pending":
                    raise InputError(f"record {rid!r} has the votes of all its screeners; a screener's vote cannot "
                                     "change after that (a disagreement goes to the third reviewer)",
                                     column="decision", value=dec)
            con.execute("BEGIN")
            try:
                _append_events(con, [(rid, stage, reviewer, role, dec, reason, note, source, _now())])
                eid = con.execute("SELECT max(event_id) FROM decision_events").fetchone()[0]
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            new_status = self.record_state(con, rid, stage)[0]
        return {"event_id": int(eid), "changed": bool(mine), "status": new_status}

    def history(self, record_id: str | None = None, *, reviewer: str | None = None) -> pd.DataFrame:
        """Every decision event (append-only), oldest first: who decided what,
        when, from where. Optionally for one record and/or one reviewer."""
        where, params = [], []
        if record_id is not None:
            where.append("record_id = ?")
            params.append(record_id)
        if reviewer is not None:
            where.append("reviewer = ?")
            params.append(reviewer)
        sql = "SELECT * FROM decision_events" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY event_id"
        with self._con(read_only=True) as con:
            return con.execute(sql, params).df()

    def add_records(self, sources, *, database=None) -> dict[str, Any]:
        """Add search exports (paths or a :class:`RecordSet`) to the project,
        de-duplicated against the records already there and among themselves
        (:func:`~hepatostat.review.deduplicate` with the project's
        thresholds). Records already in the project never change: a new
        record matching one is stored as its duplicate. Returns counts
        ``{records_in, added, duplicates, uncertain, files}``."""
        from dataclasses import replace

        from .records import Record

        rs = sources if isinstance(sources, RecordSet) else read_records(sources, database=database)
        if len(rs) == 0:
            raise InputError("the search exports hold no records")
        with self._con() as con:
            old = con.execute("SELECT record_id, title, authors, year, journal, volume, issue, pages, doi, pmid, "
                              "abstract, keywords, database, source_file, record_no, type, duplicate_of, seq "
                              "FROM records ORDER BY seq").fetchall()
        root = {r[0]: (r[16] or r[0]) for r in old}
        existing = [Record(record_id=r[0], title=r[1] or "", authors=tuple(a for a in (r[2] or "").split("; ") if a),
                           year=r[3], journal=r[4], volume=r[5], issue=r[6], pages=r[7], doi=r[8], pmid=r[9],
                           abstract=r[10], keywords=tuple(k for k in (r[11] or "").split("; ") if k), database=r[12],
                           source_file=r[13], record_no=r[14], type=r[15]) for r in old]
        taken = set(root)
        new = []
        for r in rs.records:
            rid, k = r.record_id, 1
            while rid in taken:
                k += 1
                rid = f"{r.record_id}~{k}"
            taken.add(rid)
            new.append(replace(r, record_id=rid) if rid != r.record_id else r)
        new_ids = {r.record_id for r in new}
        dd = deduplicate(existing + new, merge_threshold=float(self.meta.get("merge_threshold", 95.0)),
                         review_threshold=float(self.meta.get("review_threshold", 85.0)))
        dup_of, reason_of = {}, {}
        for c in dd.clusters:
            olds = [m for m in c.members if m not in new_ids]
            kept = root[olds[0]] if olds else c.kept
            for m in c.members:
                if m in new_ids and m != kept:
                    dup_of[m], reason_of[m] = kept, c.reason
        start = max((r[17] for r in old), default=0)
        rows = [(r.record_id, start + i + 1, r.title, "; ".join(r.authors), r.year, r.journal, r.volume, r.issue,
                 r.pages, r.doi, r.pmid, r.abstract, "; ".join(r.keywords), r.database, r.source_file, r.record_no,
                 r.type, dup_of.get(r.record_id), reason_of.get(r.record_id)) for i, r in enumerate(new)]
        unc = [(u.a, u.b, float(u.similarity), u.reason) for u in dd.uncertain if u.a in new_ids or u.b in new_ids]
        with self._con() as con:
            con.execute("BEGIN")
            try:
                con.executemany("INSERT INTO sources VALUES (?, ?, ?, ?, ?)",
                                [(f.file, f.format, f.encoding, f.records, f.database) for f in rs.files])
                con.executemany("INSERT INTO records VALUES (" + ", ".join(["?"] * 19) + ")", rows)
                if unc:
                    con.executemany("INSERT INTO uncertain VALUES (?, ?, ?, ?, NULL)", unc)
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
        return {"records_in": len(new), "added": len(new) - len(dup_of), "duplicates": len(dup_of),
                "uncertain": len(unc), "files": [f.to_dict() for f in rs.files]}

    # ------------------------------------------------------------------ accounts (workbench)
    def accounts(self) -> dict[str, str]:
        """``{user name: role}`` of the workbench's active accounts (empty
        when the project has none: then the command line is not blinded)."""
        with self._con(read_only=True) as con:
            try:
                return dict(con.execute("SELECT username, role FROM web_users WHERE active").fetchall())
            except Exception:  # no web_users table: never served by the workbench
                return {}

    def authenticate(self, username: str, password: str) -> str:
        """The role of ``username`` if ``password`` is right (Argon2 hash
        written by the workbench), else :class:`InputError`."""
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        with self._con(read_only=True) as con:
            try:
                rows = con.execute("SELECT password_hash, role FROM web_users WHERE username = ? AND active",
                                   [str(username)]).fetchall()
            except Exception:
                rows = []
        try:
            if rows and PasswordHasher().verify(rows[0][0], str(password)):
                return rows[0][1]
        except (VerificationError, InvalidHashError):
            pass
        raise InputError(f"wrong user name or password for {username!r} (accounts are managed in the workbench)",
                         file=self.path)

    def final_decisions(self, stage: str) -> pd.DataFrame:
        """Per record eligible at ``stage``: ``status`` (``pending``,
        ``agreed``, ``conflict``, ``resolved``), ``final`` decision and
        ``reason``. Shows no individual votes."""
        stage = _check_stage(stage)
        with self._con(read_only=True) as con:
            return self._final(con, stage)

    # ------------------------------------------------------------------ sheets
    def export_sheet(self, reviewer: str, stage: str, out, *, order: str = "input") -> Path:
        """Write ``reviewer``'s screening sheet for ``stage`` (``.xlsx`` or ``.csv``).

        The sheet lists the records eligible at the stage with this reviewer's
        own earlier decisions filled in — never another reviewer's (blinding).
        ``order="relevance"`` puts the undecided records most likely to be
        included first (:func:`relevance_scores`, trained on the settled
        decisions and this reviewer's own votes only, so no other reviewer's
        vote leaks into the order); decided records follow.
        """
        reviewer, stage = _check_reviewer(reviewer), _check_stage(stage)
        if order not in ("input", "relevance"):
            raise InputError(f"unknown order {order!r}; allowed: input, relevance")
        with self._con(read_only=True) as con:
            eligible = self._eligible(con, stage)
            recs = con.execute("SELECT * FROM records WHERE duplicate_of IS NULL ORDER BY seq").df()
            mine = con.execute("SELECT record_id, decision, reason, note FROM decisions "
                               "WHERE stage = ? AND reviewer = ?", [stage, reviewer]).df()
            if order == "relevance":
                fin_ta = self._final(con, "title_abstract")
        all_recs = recs
        recs = recs[recs["record_id"].isin(set(eligible))]
        sheet = recs[list(_SHEET_META)].copy()
        sheet["year"] = sheet["year"].astype("Int64")
        sheet = sheet.merge(mine, on="record_id", how="left")
        for c in _SHEET_INPUT:
            sheet[c] = sheet[c].where(sheet[c].notna(), "")
        if order == "relevance":
            sheet = self._relevance_order(sheet, all_recs, fin_ta, mine if stage == "title_abstract" else None)
        return _write_sheet(sheet, out, stage=stage, title=f"{stage} screening sheet for {reviewer}")

    def _relevance_order(self, sheet, recs, fin_ta, mine):
        text = (recs["title"].fillna("") + " " + recs["abstract"].fillna("")).set_axis(recs["record_id"])
        labels = {r: 1.0 if f == "include" else 0.0 for r, f in zip(fin_ta["record_id"], fin_ta["final"]) if f}
        if mine is not None:
            for r, d in zip(mine["record_id"], mine["decision"]):
                labels.setdefault(r, 1.0 if d == "include" else 0.0)
        train = [r for r in labels if r in text.index]
        scores = relevance_scores([text[r] for r in train], [labels[r] for r in train],
                                  [text[r] for r in sheet["record_id"]])
        sheet = sheet.copy()
        sheet["relevance"] = np.round(scores, 4)
        undecided = sheet["decision"] == ""
        if np.all(np.isnan(scores)):
            return sheet
        return pd.concat([sheet[undecided].sort_values("relevance", ascending=False, kind="stable"),
                          sheet[~undecided]], ignore_index=True)

    def import_sheet(self, path, reviewer: str, stage: str, *, replace: bool = False) -> ImportReport:
        """Record ``reviewer``'s decisions from a filled-in screening sheet.

        Rows with an empty ``decision`` are not yet decided and are skipped
        (counted as ``blank``). Raises :class:`InputError` for an unknown
        record id, a record not at this stage, an unknown decision, a
        full-text exclusion without a reason, the same record decided twice
        differently in the file, or a changed decision without ``replace``.
        """
        reviewer, stage = _check_reviewer(reviewer), _check_stage(stage)
        frame = _read_sheet(path)
        return self._record(frame, reviewer, stage, source=str(path), role="screener", replace=replace)

    def record_decisions(self, decisions, reviewer: str, stage: str, *, replace: bool = False,
                         source: str = "<python>") -> ImportReport:
        """Record decisions given as a DataFrame or list of dicts with
        ``record_id, decision`` and optionally ``reason, note``."""
        reviewer, stage = _check_reviewer(reviewer), _check_stage(stage)
        frame = pd.DataFrame(decisions)
        frame = _normalise_columns(frame, source)
        return self._record(frame, reviewer, stage, source=source, role="screener", replace=replace)

    def _parse_rows(self, frame, stage, source):
        allowed = DECISIONS[stage]
        parsed: dict[str, tuple] = {}
        first_row: dict[str, int] = {}
        blank = 0
        for i, row in enumerate(frame.itertuples(index=False), start=2):
            rid = str(row.record_id).strip()
            raw = str(row.decision).strip()
            if not rid:
                if raw:
                    raise InputError("a decision without a record_id", file=source, row=i, column="record_id")
                continue
            if not raw:
                blank += 1
                continue
            dec = _ALIASES.get(raw.lower())
            if dec is None or dec not in allowed:
                raise InputError(f"unknown decision; allowed at the {stage} stage: {', '.join(allowed)}",
                                 file=source, row=i, column="decision", value=raw)
            reason = str(row.reason).strip() or None
            note = str(row.note).strip() or None
            if stage == "full_text" and dec == "exclude" and not reason:
                raise InputError("a full-text exclusion needs a reason (PRISMA 2020 reports excluded reports "
                                 "with reasons)", file=source, row=i, column="reason")
            if rid in parsed:
                if parsed[rid][0] != dec or _norm_reason(parsed[rid][1]) != _norm_reason(reason):
                    raise InputError(f"conflicting decisions on record {rid!r} by the same reviewer: row "
                                     f"{first_row[rid]} says {parsed[rid][0]!r}"
                                     + (f" ({parsed[rid][1]})" if parsed[rid][1] else "")
                                     + f", row {i} says {dec!r}" + (f" ({reason})" if reason else ""),
                                     file=source, row=i, column="decision", value=raw)
                continue
            parsed[rid] = (dec, reason, note)
            first_row[rid] = i
        return parsed, first_row, blank

    def _record(self, frame, reviewer, stage, *, source, role, replace) -> ImportReport:
        parsed, first_row, blank = self._parse_rows(frame, stage, source)
        with self._con() as con:
            known = {r[0]: r[1] for r in con.execute("SELECT record_id, duplicate_of FROM records").fetchall()}
            fin = self._final(con, stage)
            eligible = set(fin["record_id"])
            status = dict(zip(fin["record_id"], fin["status"]))
            votes = self._votes(con, stage)
            existing = {(r.record_id): r for r in votes[votes["reviewer"] == reviewer].itertuples(index=False)}
            screeners_of: dict[str, set] = {}
            for r in votes[votes["role"] == "screener"].itertuples(index=False):
                screeners_of.setdefault(r.record_id, set()).add(r.reviewer)
            arbiters_of: dict[str, set] = {}
            for r in votes[votes["role"] == "arbiter"].itertuples(index=False):
                arbiters_of.setdefault(r.record_id, set()).add(r.reviewer)
            new, repl, same = [], [], 0
            for rid, (dec, reason, note) in parsed.items():
                row = first_row[rid]
                if rid not in known:
                    raise InputError(f"unknown record id {rid!r} (not in this project)", file=source, row=row,
                                     column="record_id", value=rid)
                if known[rid] is not None:
                    raise InputError(f"record {rid!r} was removed as a duplicate of {known[rid]!r}", file=source,
                                     row=row, column="record_id", value=rid)
                if rid not in eligible:
                    raise InputError(f"record {rid!r} is not at the {stage} stage (only records included at "
                                     "title/abstract screening go on to full text)", file=source, row=row,
                                     column="record_id", value=rid)
                if role == "screener" and reviewer in arbiters_of.get(rid, set()):
                    raise InputError(f"{reviewer} settled the conflict on record {rid!r} as the third reviewer and "
                                     "cannot also screen it", file=source, row=row, column="record_id", value=rid)
                if role == "arbiter":
                    if reviewer in screeners_of.get(rid, set()):
                        raise InputError(f"{reviewer} screened record {rid!r} and cannot settle its conflict; the "
                                         "third reviewer must be someone else", file=source, row=row,
                                         column="record_id", value=rid)
                    others = arbiters_of.get(rid, set()) - {reviewer}
                    if others:
                        raise InputError(f"the conflict on record {rid!r} was already settled by {sorted(others)[0]}",
                                         file=source, row=row, column="record_id", value=rid)
                    if status.get(rid) not in ("conflict", "resolved"):
                        raise InputError(f"record {rid!r} has no conflict at the {stage} stage "
                                         f"(status: {status.get(rid)})", file=source, row=row,
                                         column="record_id", value=rid)
                old = existing.get(rid)
                if old is not None:
                    if old.decision == dec and _norm_reason(old.reason) == _norm_reason(reason):
                        same += 1
                        continue
                    if role == "screener" and status.get(rid) != "pending":
                        raise InputError(f"record {rid!r} has the votes of all its screeners ({status.get(rid)}); "
                                         "a screener's vote cannot change after that (blinding: the votes are now "
                                         "compared); a disagreement goes to the third reviewer", file=source,
                                         row=row, column="decision", value=dec)
                    if not replace:
                        raise InputError(f"conflicting decisions on record {rid!r} by the same reviewer: "
                                         f"{reviewer} already recorded {old.decision!r}"
                                         + (f" ({old.reason})" if isinstance(old.reason, str) and old.reason else "")
                                         + f" and this file says {dec!r}; to change a decision, import with "
                                         "replace=True (--replace)", file=source, row=row, column="decision",
                                         value=dec)
                    repl.append((rid, dec, reason, note))
                else:
                    new.append((rid, dec, reason, note))
            now = _now()
            con.execute("BEGIN")
            try:
                # a changed decision is a new event; the earlier one stays in the history
                _append_events(con, [(rid, stage, reviewer, role, dec, reason, note, source, now)
                                     for rid, dec, reason, note in new + repl])
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
        return ImportReport(file=source, reviewer=reviewer, stage=stage, role=role, recorded=len(new),
                            replaced=len(repl), unchanged=same, blank=blank)

    # ------------------------------------------------------------------ conflicts
    def conflicts(self, stage: str, *, include_resolved: bool = False) -> pd.DataFrame:
        """Records on which the screeners disagree (decision, or reason for a
        full-text exclusion), with every vote — shown only once all
        screeners of the record have voted."""
        stage = _check_stage(stage)
        with self._con(read_only=True) as con:
            fin = self._final(con, stage)
            votes = self._votes(con, stage)
            recs = con.execute("SELECT record_id, title, authors, year, journal, doi, pmid, abstract FROM records").df()
        keep = fin["status"].isin(["conflict", "resolved"] if include_resolved else ["conflict"])
        fin = fin[keep]
        rows = []
        for r in fin.itertuples(index=False):
            v = votes[(votes["record_id"] == r.record_id)]
            scr = v[v["role"] == "screener"]
            text = "; ".join(f"{x.reviewer}: {x.decision}" + (f" ({x.reason})" if isinstance(x.reason, str) and x.reason else "")
                             for x in scr.itertuples(index=False))
            arb = v[v["role"] == "arbiter"]
            rows.append({"record_id": r.record_id, "conflict": r.conflict, "votes": text, "status": r.status,
                         "resolved_by": arb["reviewer"].iloc[0] if len(arb) else None,
                         "final": r.final})
        out = pd.DataFrame(rows, columns=["record_id", "conflict", "votes", "status", "resolved_by", "final"])
        return out.merge(recs, on="record_id", how="left")

    def export_conflicts(self, stage: str, out) -> Path:
        """Write the unresolved conflicts as a sheet for the third reviewer
        (votes shown; ``decision``, ``reason``, ``note`` to fill in)."""
        stage = _check_stage(stage)
        c = self.conflicts(stage)
        sheet = c[["record_id", "title", "authors", "year", "journal", "doi", "pmid", "abstract", "conflict", "votes"]].copy()
        sheet["year"] = sheet["year"].astype("Int64")
        for col in _SHEET_INPUT:
            sheet[col] = ""
        return _write_sheet(sheet, out, stage=stage, title=f"{stage} conflicts for the third reviewer")

    def resolve(self, decisions, reviewer: str, stage: str, *, replace: bool = False) -> ImportReport:
        """Record the third reviewer's decisions on conflicts, from a sheet
        (path) or a DataFrame / list of dicts."""
        reviewer, stage = _check_reviewer(reviewer), _check_stage(stage)
        if isinstance(decisions, (str, Path)):
            frame, source = _read_sheet(decisions), str(decisions)
        else:
            frame, source = _normalise_columns(pd.DataFrame(decisions), "<python>"), "<python>"
        return self._record(frame, reviewer, stage, source=source, role="arbiter", replace=replace)

    # ------------------------------------------------------------------ summaries
    def kappa(self, stage: str) -> list[KappaResult]:
        """Cohen's kappa for every pair of screeners who both decided some
        records at ``stage`` (on the records both decided)."""
        stage = _check_stage(stage)
        with self._con(read_only=True) as con:
            votes = self._votes(con, stage)
        scr = votes[votes["role"] == "screener"].copy()
        scr["decision"] = [_effective(d, stage) for d in scr["decision"]]
        out = []
        names = sorted(set(scr["reviewer"]))
        cats = tuple(c for c in DECISIONS[stage] if c != "maybe")
        for a, b in combinations(names, 2):
            va = scr[scr["reviewer"] == a].set_index("record_id")["decision"]
            vb = scr[scr["reviewer"] == b].set_index("record_id")["decision"]
            common = [r for r in va.index if r in vb.index]
            if not common:
                continue
            used = [c for c in cats if c in set(va[common]) | set(vb[common])]
            out.append(cohen_kappa(list(va[common]), list(vb[common]), categories=used, raters=(a, b)))
        return out

    def status(self) -> ScreeningStatus:
        """Counts per stage and Cohen's kappa per pair of screeners."""
        with self._con(read_only=True) as con:
            n_in = con.execute("SELECT count(*) FROM records").fetchone()[0]
            n_dup = con.execute("SELECT count(*) FROM records WHERE duplicate_of IS NOT NULL").fetchone()[0]
            n_unc = con.execute("SELECT count(*) FROM uncertain WHERE decision IS NULL").fetchone()[0]
            stages = []
            for stage in STAGES:
                fin = self._final(con, stage)
                votes = self._votes(con, stage)
                scr = votes[votes["role"] == "screener"]
                st = fin["status"].value_counts()
                fc = fin["final"].value_counts()
                stages.append({
                    "stage": stage, "eligible": int(len(fin)),
                    "votes": {k: int(v) for k, v in scr["reviewer"].value_counts().sort_index().items()},
                    "pending": int(st.get("pending", 0)), "agreed": int(st.get("agreed", 0)),
                    "conflicts": int(st.get("conflict", 0)), "resolved": int(st.get("resolved", 0)),
                    "included": int(fc.get("include", 0)), "excluded": int(fc.get("exclude", 0)),
                    "not_retrieved": int(fc.get("not_retrieved", 0)),
                    "kappa": [],
                })
        for s in stages:
            s["kappa"] = [k.to_dict() for k in self.kappa(s["stage"])]
            for k in s["kappa"]:
                k.pop("table", None)
        return ScreeningStatus(path=str(self.path), records_in=int(n_in), duplicates_removed=int(n_dup),
                               unique=int(n_in - n_dup), uncertain_pairs=int(n_unc),
                               screeners_per_record=self.screeners_per_record, stages=tuple(stages))

    def prisma(self, *, allow_incomplete: bool = False):
        """The PRISMA 2020 flow of this project
        (:func:`hepatostat.review.prisma.prisma_from_project`)."""
        from .prisma import prisma_from_project

        return prisma_from_project(self, allow_incomplete=allow_incomplete)

    def _prisma_counts(self) -> dict[str, Any]:
        with self._con(read_only=True) as con:
            per_db = con.execute("SELECT coalesce(database, '(unknown database)') AS db, count(*) FROM records "
                                 "GROUP BY db ORDER BY min(seq)").fetchall()
            n_dup = con.execute("SELECT count(*) FROM records WHERE duplicate_of IS NOT NULL").fetchone()[0]
            ta = self._final(con, "title_abstract")
            ft = self._final(con, "full_text")
        return {"databases": dict(per_db), "duplicates_removed": int(n_dup), "title_abstract": ta, "full_text": ft}


# =========================================================================== sheet I/O

def _normalise_columns(frame: pd.DataFrame, source) -> pd.DataFrame:
    frame = frame.copy()
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    for c in ("record_id", "decision"):
        if c not in frame.columns:
            raise InputError(f"missing column '{c}'; a screening sheet needs columns record_id and decision "
                             f"(and optionally reason, note); found: {', '.join(frame.columns)}", file=source)
    for c in ("reason", "note"):
        if c not in frame.columns:
            frame[c] = ""
    return frame.fillna("").astype(str)


def _read_sheet(path) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        elif suffix in (".xlsx", ".xlsm"):
            xl = pd.ExcelFile(p)
            sheet = "screening" if "screening" in xl.sheet_names else xl.sheet_names[0]
            frame = pd.read_excel(xl, sheet_name=sheet, dtype=str, keep_default_na=False)
        else:
            raise InputError(f"unknown screening-sheet format '{suffix or '(none)'}'; allowed: .xlsx, .csv", file=p)
    except InputError:
        raise
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the screening sheet: {str(exc).splitlines()[0] if str(exc) else exc}",
                         file=p) from None
    return _normalise_columns(frame, p)


def _write_sheet(sheet: pd.DataFrame, out, *, stage: str, title: str) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        sheet.to_csv(out, index=False, encoding="utf-8-sig", lineterminator="\n")
        return out
    if suffix != ".xlsx":
        raise InputError(f"unknown screening-sheet format '{suffix or '(none)'}'; allowed: .xlsx, .csv", file=out)
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "screening"
    cols = list(sheet.columns)
    ws.append(cols)
    for row in sheet.itertuples(index=False):
        ws.append([None if (isinstance(v, float) and math.isnan(v)) or v is pd.NA else v for v in row])
    widths = {"record_id": 24, "title": 60, "authors": 30, "year": 6, "journal": 28, "doi": 24, "pmid": 10,
              "abstract": 90, "decision": 12, "reason": 30, "note": 30, "votes": 40, "conflict": 10, "relevance": 10}
    from openpyxl.utils import get_column_letter

    fill = PatternFill("solid", fgColor="FFF2CC")
    for j, c in enumerate(cols, start=1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = widths.get(c, 14)
        ws.cell(row=1, column=j).font = Font(bold=True)
        if c in _SHEET_INPUT:
            for i in range(1, len(sheet) + 2):
                ws.cell(row=i, column=j).fill = fill
        if c in ("title", "abstract", "votes"):
            for i in range(2, len(sheet) + 2):
                ws.cell(row=i, column=j).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "B2"
    from ..io.xlsx import no_formulas

    no_formulas(ws)  # a title such as '=HYPERLINK(...)' stays text, never a live formula
    if "decision" in cols and len(sheet):
        j = cols.index("decision") + 1
        dv = DataValidation(type="list", formula1='"' + ",".join(DECISIONS[stage]) + '"', allow_blank=True)
        dv.error = f"Allowed: {', '.join(DECISIONS[stage])}"
        dv.add(f"{get_column_letter(j)}2:{get_column_letter(j)}{len(sheet) + 1}")
        ws.add_data_validation(dv)
    info = wb.create_sheet("instructions")
    for line in (title,
                 f"Fill in 'decision' ({' / '.join(DECISIONS[stage])}), and 'reason' for exclusions"
                 + (" (required at the full-text stage)" if stage == "full_text" else "") + ".",
                 "Leave 'decision' empty for records not yet decided. Do not edit record_id.",
                 "Import with: hepatostat review import PROJECT THIS_FILE --reviewer NAME --stage " + stage):
        info.append([line])
    info.column_dimensions["A"].width = 120
    wb.save(out)
    return out
