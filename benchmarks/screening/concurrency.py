"""Many reviewers deciding at once against a real workbench server.

Starts ``hepatostat workbench`` (uvicorn, in a thread) over a fresh project of
N synthetic records, logs in R reviewers (+ an owner) and lets each reviewer
loop for S seconds: fetch the next record of their queue, post a decision
through the JSON API (with a change of mind now and then, which is a new
event). Every 2xx answer with an ``event_id`` is an event the server says it
stored; afterwards the decision_events table must hold exactly those events
(no loss, no duplicate), each reviewer's current decisions must equal the
last one they were told was stored, and no request may have failed except
the expected 400 "cannot change" answers.

    python benchmarks/screening/concurrency.py --seconds 30 --reviewers 6 --records 3000

The test suite runs it for a few seconds (tests/web/test_concurrency.py).
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import threading
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_records(path: Path, n: int, seed: int = 0) -> Path:
    """A RIS file of ``n`` synthetic records (distinct titles, DOIs)."""
    rng = random.Random(seed)
    words = ("cirrhosis liver stem cell mesenchymal bone marrow infusion hepatic failure randomised trial mice "
             "albumin bilirubin MELD survival transplantation autologous umbilical cord fibrosis cohort").split()
    lines = []
    for i in range(n):
        title = " ".join(rng.choice(words) for _ in range(8)) + f" study {i}"
        abstract = " ".join(rng.choice(words) for _ in range(60))
        lines += ["TY  - JOUR", f"TI  - {title}", f"AU  - Author{i}, A", f"PY  - {2000 + i % 24}",
                  f"DO  - 10.5555/synthetic.{i}", f"AB  - {abstract}", "ER  - ", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run(workdir, *, seconds: float = 30.0, reviewers: int = 6, records: int = 600, seed: int = 0) -> dict:
    import httpx
    import uvicorn

    from hepatostat import review
    from hepatostat.web.app import create_app

    workdir = Path(workdir)
    proj = workdir / "concurrency.duckdb"
    review.create_project(proj, [make_records(workdir / "synthetic.ris", records, seed)],
                          screeners_per_record=max(2, reviewers))
    app = create_app(proj, fast_hashing=True)
    names = [f"R{i}" for i in range(reviewers)]
    pw = "concurrency-test-pw"
    for n in names:
        app.state.wb.accounts.add(n, pw, "reviewer")
    app.state.wb.accounts.add("OWNER", pw, "owner")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", backlog=2048,
                                           timeout_keep_alive=5, lifespan="off"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    t0 = time.time()
    while not server.started:
        if time.time() - t0 > 30:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    stored: dict[str, list] = {n: [] for n in names}
    errors: list[str] = []
    refused = {n: 0 for n in names}
    served_again = {n: 0 for n in names}  # /next offered a record the reviewer had already decided
    stop = time.time() + seconds

    def reviewer(name: str, k: int):
        rng = random.Random(seed * 1000 + k)
        with httpx.Client(base_url=base, headers={"origin": base}, timeout=60) as c:
            r = c.post("/login", data={"username": name, "password": pw, "next": "/"})
            if r.status_code != 303:
                errors.append(f"{name}: login {r.status_code}")
                return
            import re

            csrf = re.search(r'data-csrf="([^"]+)"', c.get("/account/password").text).group(1)
            hdr = {"x-csrf-token": csrf, "origin": base}
            last = None
            decided = set()
            while time.time() < stop:
                if last and rng.random() < 0.1:  # change of mind on the previous record: a new event
                    rid, dec = last, rng.choice(["include", "exclude", "maybe"])
                else:
                    nx = c.get("/screen/api/title_abstract/next")
                    if nx.status_code != 200:
                        errors.append(f"{name}: next {nx.status_code} {nx.text[:200]}")
                        continue
                    rec = nx.json()["record"]
                    if rec is None:
                        break
                    if rec["record_id"] in decided:
                        served_again[name] += 1
                    rid, dec = rec["record_id"], rng.choice(["include", "exclude", "maybe"])
                r = c.post("/screen/api/decide", json={"stage": "title_abstract", "record_id": rid,
                                                       "decision": dec}, headers=hdr)
                if r.status_code == 200:
                    body = r.json()
                    if body["event_id"] is not None:
                        stored[name].append((body["event_id"], rid, dec))
                    last = rid
                    decided.add(rid)
                elif r.status_code == 400 and "cannot change" in r.text:
                    refused[name] += 1
                else:
                    errors.append(f"{name}: decide {r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=reviewer, args=(n, k)) for k, n in enumerate(names)]
    t_start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t_start
    server.should_exit = True
    queue = app.state.wb.screening_queue
    queue_stats = {"refreshes": dict(getattr(queue, "refreshes", {})),  # (absent before the queue cache)
                   "worker_errors": list(getattr(queue, "worker_errors", []))}
    th.join(timeout=30)
    store = app.state.wb.store
    events = store.query("SELECT event_id, reviewer, record_id, decision FROM decision_events ORDER BY event_id")
    current = {(r, rid): d for rid, r, d in store.query("SELECT record_id, reviewer, decision FROM decisions")}
    store.close()
    claimed = {(eid, n, rid, dec) for n in names for eid, rid, dec in stored[n]}
    in_db = {tuple(e) for e in events}
    last_told = {}
    for n in names:
        for eid, rid, dec in sorted(stored[n]):
            last_told[(n, rid)] = dec
    return {
        "seconds": round(elapsed, 2), "reviewers": reviewers, "records": records,
        "decisions_acknowledged": len(claimed), "events_in_database": len(in_db),
        "lost": len(claimed - in_db), "unacknowledged_in_database": len(in_db - claimed),
        "current_mismatches": sum(1 for k, d in last_told.items() if current.get(k) != d),
        "refused_changes_after_both_voted": sum(refused.values()), "errors": errors[:20], "n_errors": len(errors),
        "decisions_per_second": round(len(claimed) / elapsed, 1) if elapsed else None,
        "served_already_decided": sum(served_again.values()), "queue": queue_stats,
    }


if __name__ == "__main__":
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--reviewers", type=int, default=6)
    ap.add_argument("--records", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(tmp, seconds=a.seconds, reviewers=a.reviewers, records=a.records, seed=a.seed),
                         indent=1))
