"""Screening in the workbench: title/abstract then full text, one record at
a time, blinded, prioritised, with a conflict queue, kappa and a live PRISMA
2020 flow; import of search exports and export of decisions.

Blinding: a reviewer's pages and API answers carry only that reviewer's own
votes. Other people's votes appear only to the adjudicator (on records every
screener has voted on, i.e. conflicts) and to the owner (every vote and its
history). The queue's order is learned from settled decisions and the
reviewer's own votes only, so it leaks no one else's pending vote.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
from urllib.parse import quote

from markupsafe import Markup, escape

from ..errors import InputError

NAV = [("Screen", "/screen", "reviewer"), ("Conflicts", "/conflicts", "adjudicator"),
       ("Progress", "/progress", "reviewer"), ("Import", "/import", "owner"), ("Export", "/export", "owner"),
       ("Settings", "/settings", "owner"), ("History", "/history", "owner")]
BODY_LIMITS = {"/import": 64 << 20}
#: importing and de-duplicating thousands of records may take minutes
TIMEOUTS = {"/import": 900.0}
STAGES = ("title_abstract", "full_text")
STAGE_LABEL = {"title_abstract": "Title/abstract", "full_text": "Full text"}
#: default reasons for excluding a report at full text ("Reports excluded: reason" in PRISMA 2020)
DEFAULT_REASONS = ("wrong population", "wrong intervention", "wrong comparator", "wrong outcomes",
                   "wrong study design", "duplicate report", "no full text in a language the team reads")
DEFAULT_INCLUDE_KW = ("stem cell*", "mesenchymal", "bone marrow", "cell therapy", "cirrhosis", "liver failure",
                      "randomi*", "MELD")
DEFAULT_EXCLUDE_KW = ("mice", "mouse", "rat", "rats", "in vitro", "review", "case report")


def _stage(s: str) -> str:
    if s not in STAGES:
        raise InputError(f"unknown screening stage; allowed: {', '.join(STAGES)}", value=s)
    return s


def _split_list(text: str | None) -> list[str]:
    return [x.strip() for x in re.split(r"[\n,;]+", text or "") if x.strip()]


def highlight(text: str | None, include: list[str], exclude: list[str]) -> Markup:
    """``text`` HTML-escaped, with inclusion keywords wrapped in
    ``<mark class="kw-in">`` and exclusion keywords in ``<mark class="kw-ex">``.
    A keyword matches at a word start, case-insensitively; a trailing ``*``
    matches any word ending (``randomi*``)."""
    text = text or ""
    pats = []
    for kind, words in (("in", include), ("ex", exclude)):
        for w in words:
            stem = w.endswith("*")
            body = re.escape(w.rstrip("*")).replace(r"\ ", r"\s+")
            if not body:
                continue
            pats.append((kind, body + (r"\w*" if stem else r"\b")))
    if not pats:
        return Markup(escape(text))
    rx = re.compile("|".join(f"(?P<{k}{i}>\\b{p})" for i, (k, p) in enumerate(pats)), re.IGNORECASE)
    out, pos = [], 0
    for m in rx.finditer(text):
        out.append(str(escape(text[pos:m.start()])))
        kind = m.lastgroup[:2]
        out.append(f'<mark class="kw-{kind}">{escape(m.group(0))}</mark>')
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def _safe_cell(v) -> str:
    """A CSV cell that spreadsheets will not run as a formula (CWE-1236)."""
    s = "" if v is None else str(v)
    if s[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + s
    return s


# =========================================================================== queue

class Queue:
    """The prioritised queue of each reviewer at each stage (one per app),
    cached.

    TF-IDF features of all unique records are computed once (again after an
    import). Each reviewer has, per stage, a *snapshot*: their candidates
    ranked by a model fitted on their training labels (settled decisions +
    their own votes — never another reviewer's pending vote, so the order
    leaks none) and the model's probabilities for the stopping indicator.

    A request never recomputes the queue when a snapshot exists: it takes
    the snapshot's order, drops the records the reviewer has decided since
    (one query of their own decisions) and checks the first records against
    the current votes (one query for a few records) so that a record settled
    by others meanwhile is skipped. A snapshot is stale once any decision
    event or import happened after it; a stale snapshot is rebuilt by one
    background worker thread (refit included), never inside a decision
    request. Small projects (at most :attr:`REFRESH_SYNC_LIMIT` records)
    rebuild in the request, so each decision is learned before the next
    record is chosen; so does a reviewer whose cached queue has run dry."""

    #: projects up to this size build the TF-IDF index in the request; larger ones in the background
    SYNC_LIMIT = 2000
    #: projects up to this size rebuild a stale snapshot in the request; larger ones in the background worker
    REFRESH_SYNC_LIMIT = 500
    #: records of the cached order checked against the current votes per query
    CHECK_BATCH = 16

    def __init__(self, store):
        self.store = store
        self.lock = threading.Lock()
        self._ranker = None
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._snap: dict[tuple, dict] = {}
        self._dirty: dict[tuple, None] = {}  # keys waiting for the background worker (insertion order)
        self._wake = threading.Condition(self.lock)
        self._worker = None
        self._busy = None  # the key the worker is rebuilding
        self.last_fit_seconds = 0.0
        self.refreshes = {"sync": 0, "background": 0}
        self.worker_errors: list[str] = []

    def _index(self):
        """(ids, pos, ranker, sig) — ranker ``None`` while the TF-IDF index of
        a changed set of records is being built in the background (the queue
        is then in import order)."""
        from ..review.prioritise import Ranker

        # records are only ever added (or marked duplicate): counts + last seq tell whether the index is stale
        sig = self._records_sig()
        with self.lock:
            if sig == getattr(self, "_sig", None):
                return self._ids, self._pos, self._ranker, sig
            building = getattr(self, "_building", None)
        rows = self.store.query("SELECT record_id, title, abstract FROM records WHERE duplicate_of IS NULL "
                                "ORDER BY seq")
        ids = [r[0] for r in rows]
        pos = {r: i for i, r in enumerate(ids)}

        def build():
            ranker = Ranker([r[1] for r in rows], [r[2] for r in rows])
            with self.lock:
                self._ranker, self._ids, self._pos, self._sig = ranker, ids, pos, sig
                self._building = None

        if len(ids) <= self.SYNC_LIMIT:
            build()
            return self._ids, self._pos, self._ranker, sig
        if building != sig:
            with self.lock:
                self._building = sig
            threading.Thread(target=build, daemon=True, name="tfidf-index").start()
        return ids, pos, None, sig

    def _records_sig(self) -> tuple:
        return tuple(self.store.query("SELECT count(*) FILTER (WHERE duplicate_of IS NULL), count(*), max(seq) "
                                      "FROM records")[0])

    def _events_sig(self):
        return self.store.query("SELECT max(event_id) FROM decision_events")[0][0]

    def state(self, username: str, stage: str) -> dict:
        """The reviewer's candidates and training labels (blinded: settled
        decisions and the reviewer's own votes). The store lock is held only
        for the queries; the votes are settled outside it."""
        from ..review.screening import _settle

        p = self.store.project
        with self.store.lock:
            con = self.store.con
            ids = [r[0] for r in con.execute(
                "SELECT record_id FROM records WHERE duplicate_of IS NULL ORDER BY seq").fetchall()]
            votes = {s: con.execute("SELECT record_id, reviewer, role, decision, reason FROM decisions WHERE "
                                    "stage = ? ORDER BY reviewer", [s]).fetchall()
                     for s in (("title_abstract", stage) if stage == "full_text" else (stage,))}
            events = con.execute("SELECT max(event_id) FROM decision_events").fetchone()[0]
        need = p.screeners_per_record

        def settled(s, eligible):
            by: dict[str, list] = {}
            for r in votes[s]:
                by.setdefault(r[0], []).append(r[1:])
            return {rid: _settle(by.get(rid, ()), s, need)[:2] for rid in eligible}, by

        if stage == "full_text":
            ta, _ = settled("title_abstract", ids)
            ids = [i for i in ids if ta[i][1] == "include"]
        fin, by = settled(stage, ids)
        mine, arbitrated = {}, set()
        for rid, rows in by.items():
            for reviewer, role, decision, _ in rows:
                if reviewer == username:
                    if role == "arbiter":
                        arbitrated.add(rid)
                    else:
                        mine[rid] = decision
        cand = [r for r in ids if fin[r][0] == "pending" and r not in mine and r not in arbitrated]
        labels = {}
        for r, (s, f) in fin.items():
            if s in ("agreed", "resolved") and f in ("include", "exclude"):
                labels[r] = 1 if f == "include" else 0
        for r, d in mine.items():
            if d in ("include", "maybe", "exclude"):
                labels.setdefault(r, 0 if d == "exclude" else 1)
        return {"candidates": cand, "labels": labels, "mine": mine, "eligible": len(fin), "events": events}

    def _build(self, username: str, stage: str) -> dict | None:
        """A fresh snapshot (state + refit); unprioritised (import order) while the TF-IDF index is being built."""
        import numpy as np

        ids, pos, ranker, rsig = self._index()
        st = self.state(username, stage)
        cand_idx = np.asarray([pos[r] for r in st["candidates"] if r in pos], dtype=int)
        lab = [(pos[r], y) for r, y in st["labels"].items() if r in pos]
        scores = probs = None
        if ranker is not None and lab:
            t0 = time.perf_counter()
            li = [i for i, _ in lab]
            ly = [y for _, y in lab]
            scores = ranker.scores(li, ly)
            probs = ranker.probabilities(li, ly, scores) if scores is not None else None
            self.last_fit_seconds = time.perf_counter() - t0
        if scores is not None and len(cand_idx):
            ranked = cand_idx[np.argsort(-scores[cand_idx], kind="stable")]
        else:
            ranked = cand_idx
        snap = {"sig": (rsig, st["events"]), "order": [ids[i] for i in ranked],
                "prob": ({ids[i]: float(probs[i]) for i in ranked} if probs is not None else None),
                "eligible": st["eligible"], "prioritised": scores is not None, "index_ready": ranker is not None,
                "built": time.time()}
        with self.lock:
            old = self._snap.get((username, stage))
            # a slower build that started earlier must not replace a newer snapshot
            if old is None or (old["sig"][1] or 0) <= (st["events"] or 0) or old["sig"][0] != rsig:
                self._snap[(username, stage)] = snap
        return snap

    # ------------------------------------------------------------------ background worker
    def _schedule(self, key) -> None:
        with self.lock:
            self._dirty[key] = None
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, daemon=True, name="queue-refresh")
                self._worker.start()
            self._wake.notify()

    def _work(self) -> None:
        while True:
            with self.lock:
                while not self._dirty:
                    if not self._wake.wait(timeout=60):
                        self._worker = None
                        return
                key = next(iter(self._dirty))
                del self._dirty[key]
                self._busy = key
            t0 = time.perf_counter()
            try:
                self._build(*key)
                self.refreshes["background"] += 1
            except Exception as exc:  # noqa: BLE001 - a failed refresh keeps the previous snapshot
                self.worker_errors.append(f"{key}: {type(exc).__name__}: {exc}")
            finally:
                with self.lock:
                    self._busy = None
            # leave the server at least as much time as the refresh took (the worker shares the GIL)
            time.sleep(min(1.0, time.perf_counter() - t0))

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until the background worker has nothing queued (tests, benchmarks)."""
        t_end = time.time() + timeout
        while time.time() < t_end:
            with self.lock:
                if not self._dirty and self._busy is None and getattr(self, "_building", None) is None:
                    return True
            time.sleep(0.05)
        return False

    # ------------------------------------------------------------------ the answer
    def _current_mine(self, username: str, stage: str):
        rows = self.store.query("SELECT record_id, decision, role FROM decisions WHERE stage = ? AND reviewer = ?",
                                [stage, username])
        return {r[0]: r[1] for r in rows if r[2] == "screener"}, {r[0] for r in rows if r[2] == "arbiter"}

    def _still_pending(self, rids: list[str], username: str, stage: str) -> set:
        from ..review.screening import _settle

        if not rids:
            return set()
        marks = ",".join("?" * len(rids))
        rows = self.store.query(f"SELECT record_id, reviewer, role, decision, reason FROM decisions WHERE stage = ? "
                                f"AND record_id IN ({marks}) ORDER BY reviewer", [stage, *rids])
        by: dict[str, list] = {}
        for r in rows:
            by.setdefault(r[0], []).append(r[1:])
        need = self.store.project.screeners_per_record
        return {r for r in rids if _settle(by.get(r, ()), stage, need)[0] == "pending"
                and not any(v[0] == username for v in by.get(r, ()))}

    def ranked(self, username: str, stage: str) -> dict:
        """The reviewer's queue, most likely included first, and the
        stopping indicator, from the cached snapshot (see the class)."""
        key = (username, stage)
        with self.lock:
            snap = self._snap.get(key)
        rsig, events = self._records_sig(), self._events_sig()
        def is_stale(sn):
            return sn is None or sn["sig"][0] != rsig or (sn["sig"][1] or 0) < (events or 0) or not sn["index_ready"]

        stale = is_stale(snap)
        n = rsig[0] or 0
        imported = snap is not None and snap["sig"][0] != rsig
        if snap is None or (stale and (n <= self.REFRESH_SYNC_LIMIT or (imported and n <= self.SYNC_LIMIT))):
            snap = self._build(username, stage) or snap
            self.refreshes["sync"] += 1
        elif stale:
            self._schedule(key)
        mine, arbitrated = self._current_mine(username, stage)
        order = [r for r in snap["order"] if r not in mine and r not in arbitrated]
        # skip records settled by others since the snapshot: check the head of the order
        head: list[str] = []
        i = 0
        while i < len(order) and not head:
            batch = order[i:i + self.CHECK_BATCH]
            ok = self._still_pending(batch, username, stage)
            head = [r for r in batch if r in ok]
            i += len(batch)
        if not head and stale and snap["sig"][1] != events:  # the cached queue ran dry: rebuild now
            snap = self._build(username, stage) or snap
            self.refreshes["sync"] += 1
            order = [r for r in snap["order"] if r not in mine and r not in arbitrated]
            head, i = order[:1], 1
        order = head + order[i:]
        stale = is_stale(snap)
        prob = snap["prob"]
        expected_left = float(sum(prob.get(r, 0.0) for r in order)) if prob is not None else None
        # stopping indicator: my decisions since my last include (in the order I made them)
        seq = self.store.query("SELECT decision FROM decision_events WHERE stage = ? AND reviewer = ? AND "
                               "role = 'screener' ORDER BY event_id", [stage, username])
        since = 0
        for (d,) in seq:
            since = 0 if d in ("include", "maybe") else since + 1
        my_inc = sum(1 for d in mine.values() if d in ("include", "maybe"))
        est_recall = (my_inc / (my_inc + expected_left)) if expected_left is not None and my_inc else None
        return {"order": order, "done": len(mine), "eligible": snap["eligible"], "left": len(order),
                "since_last_include": since, "expected_includes_left": expected_left,
                "estimated_recall": est_recall, "prioritised": snap["prioritised"], "included_by_me": my_inc,
                "model_age_seconds": round(time.time() - snap["built"], 1), "model_current": not stale}


# =========================================================================== data helpers

def _record(store, rid: str):
    rows = store.query("SELECT record_id, title, authors, year, journal, volume, issue, pages, doi, pmid, abstract, "
                       "keywords, database, duplicate_of, type FROM records WHERE record_id = ?", [rid])
    if not rows:
        return None
    keys = ("record_id", "title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
            "abstract", "keywords", "database", "duplicate_of", "type")
    return dict(zip(keys, rows[0]))


def _settings(store) -> dict:
    return {"include": _split_list(store.setting("keywords_include", "\n".join(DEFAULT_INCLUDE_KW))),
            "exclude": _split_list(store.setting("keywords_exclude", "\n".join(DEFAULT_EXCLUDE_KW))),
            "reasons": _split_list(store.setting("reasons_full_text", "\n".join(DEFAULT_REASONS)))}


def progress(store, user) -> dict:
    """Counts per stage, kappa (adjudicator and owner only) and the PRISMA
    2020 counts; nothing here shows an individual vote."""
    from ..review.prisma import prisma_from_project

    p = store.project
    with store.lock:
        st = p.status().to_dict()
        try:
            flow = prisma_from_project(p, allow_incomplete=True).to_dict()
            flow_error = None
        except InputError as exc:
            flow, flow_error = None, str(exc)
    stages = {}
    for s, d in st["stages"].items():
        d = dict(d)
        if not user.can("adjudicator"):
            d.pop("votes", None)
            d["kappa"] = []
        stages[s] = d
    return {"records_in": st["records_in"], "duplicates_removed": st["duplicates_removed"], "unique": st["unique"],
            "uncertain_pairs": st["uncertain_pairs"], "stages": stages, "prisma": flow, "prisma_error": flow_error}


def conflicts(store, stage: str) -> list[dict]:
    p = store.project
    with store.lock:
        fin = p._final(store.con, stage)
        ids = [r for r, s in zip(fin["record_id"], fin["status"]) if s == "conflict"]
        kinds = dict(zip(fin["record_id"], fin["conflict"]))
        out = []
        for rid in ids:
            votes = store.con.execute("SELECT reviewer, decision, reason, note, decided_at FROM decisions WHERE "
                                      "record_id = ? AND stage = ? AND role = 'screener' ORDER BY reviewer",
                                      [rid, stage]).fetchall()
            out.append({"record_id": rid, "kind": kinds[rid],
                        "votes": [dict(zip(("reviewer", "decision", "reason", "note", "at"), v)) for v in votes]})
    for c in out:
        c["record"] = _record(store, c["record_id"])
    return out


def export_rows(store, stage: str) -> list[dict]:
    """One row per record eligible at ``stage``: record fields, final
    decision and reason, and every screener's current vote."""
    p = store.project
    with store.lock:
        fin = p._final(store.con, stage)
        votes = store.con.execute("SELECT record_id, reviewer, role, decision, reason, note FROM decisions WHERE "
                                  "stage = ? ORDER BY reviewer", [stage]).fetchall()
        recs = store.con.execute("SELECT record_id, title, authors, year, journal, volume, issue, pages, doi, pmid, "
                                 "abstract, keywords, database, type FROM records").fetchall()
    rec = {r[0]: r for r in recs}
    by: dict[str, list] = {}
    for v in votes:
        by.setdefault(v[0], []).append(v)
    rows = []
    for rid, status, final, reason in zip(fin["record_id"], fin["status"], fin["final"], fin["reason"]):
        r = rec[rid]
        rows.append({"record_id": rid, "title": r[1], "authors": r[2], "year": r[3], "journal": r[4], "volume": r[5],
                     "issue": r[6], "pages": r[7], "doi": r[8], "pmid": r[9], "abstract": r[10], "keywords": r[11],
                     "database": r[12], "type": r[13], "status": status,
                     "final": final if isinstance(final, str) else None,
                     "reason": reason if isinstance(reason, str) else None, "votes": by.get(rid, [])})
    return rows


def covidence_csv(rows, stage) -> str:
    """Covidence's reference-export columns (Title, Authors, Abstract,
    Published Year, Journal, Volume, Issue, Pages, Accession Number, DOI, Ref,
    Covidence #, Study, Notes, Tags) plus the decision columns."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Title", "Authors", "Abstract", "Published Year", "Journal", "Volume", "Issue", "Pages",
                "Accession Number", "DOI", "Ref", "Covidence #", "Study", "Notes", "Tags", "Stage", "Status",
                "Decision", "Exclusion reason", "Votes"])
    for r in rows:
        first = (r["authors"] or "").split(";")[0].split(",")[0].strip()
        study = f"{first} {r['year']}".strip() if first or r["year"] else ""
        votes = "; ".join(f"{v[1]} ({'third reviewer' if v[2] == 'arbiter' else 'screener'}): {v[3]}"
                          + (f" [{v[4]}]" if v[4] else "") for v in r["votes"])
        notes = " | ".join(f"{v[1]}: {v[5]}" for v in r["votes"] if v[5])
        tags = "; ".join(t for t in (r["final"], r["status"]) if t)
        w.writerow([_safe_cell(x) for x in (r["title"], r["authors"], r["abstract"], r["year"], r["journal"],
                                            r["volume"], r["issue"], r["pages"], r["pmid"], r["doi"], r["record_id"],
                                            "", study, notes, tags, stage, r["status"], r["final"], r["reason"], votes)])
    return buf.getvalue()


def rayyan_csv(rows) -> str:
    """Rayyan's CSV columns; decisions go in ``notes`` as Rayyan writes them
    (``RAYYAN-INCLUSION: {"A"=>"Included", "B"=>"Excluded"} |
    RAYYAN-EXCLUSION-REASONS: …``)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["key", "title", "authors", "journal", "issn", "volume", "issue", "pages", "year", "publisher", "url",
                "abstract", "notes", "doi", "keywords"])
    word = {"include": "Included", "exclude": "Excluded", "maybe": "Maybe", "not_retrieved": "Excluded"}
    for r in rows:
        inc = ", ".join(f'"{v[1]}"=>"{word.get(v[3], v[3])}"' for v in r["votes"])
        reasons = sorted({v[4] for v in r["votes"] if v[4]})
        note = f"RAYYAN-INCLUSION: {{{inc}}}"
        if reasons:
            note += " | RAYYAN-EXCLUSION-REASONS: " + ",".join(reasons)
        w.writerow([_safe_cell(x) for x in (r["record_id"], r["title"], (r["authors"] or "").replace("; ", " and "),
                                            r["journal"], "", r["volume"], r["issue"], r["pages"], r["year"], "",
                                            f"https://doi.org/{r['doi']}" if r["doi"] else "", r["abstract"], note,
                                            r["doi"], (r["keywords"] or "").replace("; ", ", "))])
    return buf.getvalue()


def ris(rows, stage) -> str:
    """RIS with the final decision in ``N1`` and as a keyword (``KW``)."""
    out = []
    for r in rows:
        ty = "JOUR"
        lines = [f"TY  - {ty}", f"ID  - {r['record_id']}", f"TI  - {r['title'] or ''}"]
        for a in (r["authors"] or "").split("; "):
            if a.strip():
                lines.append(f"AU  - {a.strip()}")
        for tag, key in (("PY", "year"), ("JO", "journal"), ("VL", "volume"), ("IS", "issue"), ("SP", "pages"),
                         ("DO", "doi"), ("AN", "pmid"), ("AB", "abstract"), ("DB", "database")):
            if r[key] not in (None, ""):
                lines.append(f"{tag}  - {str(r[key]).replace(chr(10), ' ')}")
        for k in (r["keywords"] or "").split("; "):
            if k.strip():
                lines.append(f"KW  - {k.strip()}")
        dec = r["final"] or r["status"]
        lines.append(f"KW  - hepatostat:{stage}:{dec}")
        note = f"hepatostat {stage}: {dec}" + (f" ({r['reason']})" if r["reason"] else "")
        note += "; votes: " + ", ".join(f"{v[1]}={v[3]}" for v in r["votes"]) if r["votes"] else ""
        lines.append(f"N1  - {note}")
        lines.append("ER  - ")
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


# =========================================================================== routes

def routes(wb):
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse, RedirectResponse, Response
    from starlette.routing import Route

    store = wb.store
    queue = Queue(store)
    wb.screening_queue = queue

    def back(url: str, msg: str = ""):
        return RedirectResponse(url + (("&" if "?" in url else "?") + "msg=" + quote(msg) if msg else ""), 303)

    async def screen_root(request):
        await wb.user(request)
        return RedirectResponse("/screen/title_abstract", 303)

    async def screen(request):
        user = await wb.user(request)
        stage = _stage(request.path_params["stage"])
        q = await run_in_threadpool(queue.ranked, user.username, stage)
        rid = request.query_params.get("record")
        mine = None
        if rid:
            rec = await store.call(_record, store, rid)
            if rec is None:
                raise InputError("unknown record id", value=rid)
            rows = await store.call(store.query, "SELECT decision, reason, note, decided_at FROM decisions WHERE "
                                    "record_id = ? AND stage = ? AND reviewer = ?", [rid, stage, user.username])
            mine = dict(zip(("decision", "reason", "note", "at"), rows[0])) if rows else None
            status = await store.call(lambda: store.project.record_state(store.con, rid, stage)[0])
            if mine is None and rid not in q["order"]:
                raise InputError("this record is not in your queue at this stage", value=rid)
            locked = mine is not None and status != "pending"
        else:
            rec = await store.call(_record, store, q["order"][0]) if q["order"] else None
            locked = False
        recent = await store.call(store.query, "SELECT e.record_id, e.decision, e.reason, r.title FROM decision_events e "
                                  "JOIN records r USING (record_id) WHERE e.stage = ? AND e.reviewer = ? AND "
                                  "e.role = 'screener' ORDER BY e.event_id DESC LIMIT 8", [stage, user.username])
        st = await store.call(_settings, store)
        return wb.render(request, "screen.html", stage=stage, stage_label=STAGE_LABEL[stage], q=q, rec=rec, mine=mine,
                         locked=locked, recent=recent, reasons=st["reasons"],
                         title_html=highlight(rec["title"], st["include"], st["exclude"]) if rec else "",
                         abstract_html=highlight(rec["abstract"], st["include"], st["exclude"]) if rec else "",
                         kw_include=st["include"], kw_exclude=st["exclude"],
                         stages=[(s, STAGE_LABEL[s]) for s in STAGES])

    async def screen_post(request):
        user = await wb.user(request)
        stage = _stage(request.path_params["stage"])
        form = await wb.form(request, user)
        rid = str(form.get("record_id", ""))
        reason = str(form.get("reason") or "").strip()
        if reason == "__other__":
            reason = ""
        reason = reason or str(form.get("reason_other") or "").strip()
        try:
            res = await store.call(store.project.decide, rid, user.username, stage, str(form.get("decision", "")),
                                   reason=reason or None, note=str(form.get("note") or "") or None,
                                   source="workbench")
        except InputError as exc:
            return back(f"/screen/{stage}?record={quote(rid)}", f"Not saved: {exc}")
        msg = "Saved." if res["event_id"] else "Unchanged."
        return back(f"/screen/{stage}", msg)

    async def api_decide(request):
        user = await wb.user(request)
        body = await wb.json(request, user)
        if not isinstance(body, dict):
            raise InputError("the JSON body must be an object {stage, record_id, decision, reason?, note?}")
        stage = _stage(str(body.get("stage", "")))
        res = await store.call(store.project.decide, str(body.get("record_id", "")), user.username, stage,
                               str(body.get("decision", "")), reason=body.get("reason"), note=body.get("note"),
                               source="workbench-api")
        return JSONResponse({"ok": True, **res})

    async def api_next(request):
        user = await wb.user(request)
        stage = _stage(request.path_params["stage"])
        q = await run_in_threadpool(queue.ranked, user.username, stage)
        rec = await store.call(_record, store, q["order"][0]) if q["order"] else None
        return JSONResponse({"record": rec, **{k: v for k, v in q.items() if k != "order"}})

    async def api_mine(request):
        user = await wb.user(request)
        stage = _stage(request.path_params["stage"])
        rows = await store.call(store.query, "SELECT record_id, decision, reason, note, decided_at FROM decisions "
                                "WHERE stage = ? AND reviewer = ? ORDER BY record_id", [stage, user.username])
        return JSONResponse({"reviewer": user.username, "stage": stage, "decisions": [
            dict(zip(("record_id", "decision", "reason", "note", "decided_at"), r)) for r in rows]})

    async def conflicts_root(request):
        await wb.user(request, "adjudicator")
        return RedirectResponse("/conflicts/title_abstract", 303)

    async def conflicts_page(request):
        user = await wb.user(request, "adjudicator")
        stage = _stage(request.path_params["stage"])
        items = await run_in_threadpool(conflicts, store, stage)
        st = await store.call(_settings, store)
        for c in items:
            c["mine"] = any(v["reviewer"] == user.username for v in c["votes"])
        return wb.render(request, "conflicts.html", stage=stage, stage_label=STAGE_LABEL[stage], items=items,
                         reasons=st["reasons"], stages=[(s, STAGE_LABEL[s]) for s in STAGES],
                         decisions=("include", "exclude") if stage == "title_abstract"
                         else ("include", "exclude", "not_retrieved"))

    async def conflicts_post(request):
        user = await wb.user(request, "adjudicator")
        stage = _stage(request.path_params["stage"])
        form = await wb.form(request, user)
        reason = str(form.get("reason") or "").strip() or None
        try:
            await store.call(store.project.decide, str(form.get("record_id", "")), user.username, stage,
                             str(form.get("decision", "")), reason=reason, note=str(form.get("note") or "") or None,
                             role="arbiter", source="workbench")
        except InputError as exc:
            return back(f"/conflicts/{stage}", f"Not saved: {exc}")
        return back(f"/conflicts/{stage}", "Conflict resolved.")

    async def progress_page(request):
        user = await wb.user(request)
        data = await run_in_threadpool(progress, store, user)
        mine = {}
        for s in STAGES:
            mine[s] = (await store.call(store.query, "SELECT count(*) FROM decisions WHERE stage = ? AND reviewer = ?",
                                        [s, user.username]))[0][0]
        return wb.render(request, "progress.html", data=data, mine=mine, stage_label=STAGE_LABEL)

    async def api_progress(request):
        user = await wb.user(request)
        return JSONResponse(await run_in_threadpool(progress, store, user))

    async def import_page(request):
        user = await wb.user(request, "owner")
        result, error = None, ""
        if request.method == "POST":
            form = await wb.form(request, user)
            files = [v for k, v in (await request.form()).multi_items() if k == "files" and hasattr(v, "read")]
            files = [f for f in files if f.filename]
            if not files:
                error = "Choose at least one file (RIS, PubMed .nbib/.txt, BibTeX .bib, EndNote .xml, CSV)."
            else:
                import tempfile
                from pathlib import Path

                db = str(form.get("database") or "").strip() or None
                with tempfile.TemporaryDirectory() as tmp:
                    paths = []
                    for f in files:
                        name = Path(f.filename).name or "upload.ris"
                        name = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100]
                        dest = Path(tmp) / name
                        dest.write_bytes(await f.read())
                        paths.append(dest)
                    try:
                        result = await store.call(store.project.add_records, paths, database=db)
                        await store.call(store.audit, user.username, "records_imported", json.dumps(
                            {k: result[k] for k in ("records_in", "added", "duplicates", "uncertain")}))
                    except InputError as exc:
                        error = str(exc).replace(tmp + "/", "")
        counts = await store.call(store.query, "SELECT count(*), count(*) FILTER (WHERE duplicate_of IS NULL) FROM records")
        sources = await store.call(store.query, "SELECT file, format, records, database FROM sources")
        from pathlib import Path

        sources = [(Path(f).name, fm, n, d) for f, fm, n, d in sources]
        pairs = await store.call(store.query, "SELECT u.a, u.b, u.similarity, u.reason, ra.title, rb.title, ra.year, "
                                 "rb.year FROM uncertain u JOIN records ra ON ra.record_id = u.a JOIN records rb ON "
                                 "rb.record_id = u.b WHERE u.decision IS NULL ORDER BY u.similarity DESC LIMIT 200")
        return wb.render(request, "import.html", status=400 if error else 200, result=result, error=error,
                         counts=counts[0], sources=sources, pairs=pairs)

    async def pair_post(request):
        user = await wb.user(request, "owner")
        form = await wb.form(request, user)
        a, b = str(form.get("a", "")), str(form.get("b", ""))
        try:
            if form.get("action") == "duplicate":
                await store.call(store.project.mark_duplicate, b, a)
            else:
                await store.call(store.project.mark_distinct, a, b)
            await store.call(store.audit, user.username, "duplicate_pair", f"{a} / {b}: {form.get('action')}")
        except InputError as exc:
            return back("/import", f"Not saved: {exc}")
        return back("/import", "Saved.")

    async def export_page(request):
        await wb.user(request, "owner")
        return wb.render(request, "export.html", stages=[(s, STAGE_LABEL[s]) for s in STAGES])

    async def export_file(request):
        user = await wb.user(request, "owner")
        stage = _stage(request.path_params["stage"])
        kind = request.path_params["kind"]
        rows = await run_in_threadpool(export_rows, store, stage)
        only = request.query_params.get("final")
        if only:
            rows = [r for r in rows if r["final"] == only]
        if kind == "covidence.csv":
            body, media = covidence_csv(rows, stage), "text/csv"
        elif kind == "rayyan.csv":
            body, media = rayyan_csv(rows), "text/csv"
        elif kind == "decisions.ris":
            body, media = ris(rows, stage), "application/x-research-info-systems"
        else:
            raise InputError("unknown export; allowed: covidence.csv, rayyan.csv, decisions.ris", value=kind)
        await store.call(store.audit, user.username, "exported", f"{stage}/{kind}")
        fname = f"hepatostat_{stage}_{kind}"
        return Response(("\ufeff" if kind.endswith(".csv") else "") + body, media_type=media + "; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{fname}"'})

    async def settings_page(request):
        user = await wb.user(request, "owner")
        if request.method == "POST":
            form = await wb.form(request, user)
            for key in ("keywords_include", "keywords_exclude", "reasons_full_text"):
                val = "\n".join(_split_list(str(form.get(key) or "")))[:20000]
                await store.call(store.set_setting, key, val)
            return back("/settings", "Settings saved.")
        st = await store.call(_settings, store)
        return wb.render(request, "settings.html", st=st)

    async def history_page(request):
        await wb.user(request, "owner")
        rid = request.query_params.get("record")
        df = await store.call(store.project.history, rid)
        events = df.tail(500).iloc[::-1].to_dict(orient="records")
        rec = await store.call(_record, store, rid) if rid else None
        audit = [] if rid else await store.call(store.query, "SELECT at_time, username, action, detail FROM web_audit "
                                                 "ORDER BY event_id DESC LIMIT 100")
        return wb.render(request, "history.html", events=events, rec=rec, audit=audit, total=len(df))

    async def api_history(request):
        await wb.user(request, "owner")
        df = await store.call(store.project.history, request.query_params.get("record"))
        return JSONResponse({"events": json.loads(df.to_json(orient="records"))})

    return [
        Route("/screen", screen_root),
        Route("/screen/{stage}", screen, methods=["GET"]),
        Route("/screen/{stage}", screen_post, methods=["POST"]),
        Route("/conflicts", conflicts_root),
        Route("/conflicts/{stage}", conflicts_page, methods=["GET"]),
        Route("/conflicts/{stage}", conflicts_post, methods=["POST"]),
        Route("/progress", progress_page),
        Route("/import", import_page, methods=["GET", "POST"]),
        Route("/import/pair", pair_post, methods=["POST"]),
        Route("/export", export_page),
        Route("/export/{stage}/{kind}", export_file),
        Route("/settings", settings_page, methods=["GET", "POST"]),
        Route("/history", history_page),
        Route("/screen/api/decide", api_decide, methods=["POST"]),
        Route("/screen/api/{stage}/next", api_next),
        Route("/screen/api/{stage}/mine", api_mine),
        Route("/screen/api/progress", api_progress),
        Route("/screen/api/history", api_history),
    ]
