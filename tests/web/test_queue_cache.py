"""The cached screening queue: rebuilt when decisions arrive (in the request
for small projects, by the background worker for large ones), blinded, and
never losing or repeating a decision."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from .conftest import ORIGIN, login

TA = "title_abstract"
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "screening" / "concurrency.py"


def decide(client, rid, decision):
    r = client.post("/screen/api/decide", json={"stage": TA, "record_id": rid, "decision": decision},
                    headers={**ORIGIN, "x-csrf-token": client.csrf})
    assert r.status_code == 200, r.text
    return r.json()


def nxt(client):
    r = client.get(f"/screen/api/{TA}/next")
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def background(wb_app, monkeypatch):
    """The example project treated as a large one: stale queues are rebuilt by the background worker."""
    q = wb_app.state.wb.screening_queue
    monkeypatch.setattr(type(q), "REFRESH_SYNC_LIMIT", 0)
    return q


def test_unchanged_queue_is_served_from_the_cache(wb_app):
    q = wb_app.state.wb.screening_queue
    r1 = login(wb_app, "R1")
    a = nxt(r1)
    builds = q.refreshes["sync"] + q.refreshes["background"]
    for _ in range(3):
        b = nxt(r1)
        assert b["record"]["record_id"] == a["record"]["record_id"] and b["model_current"]
    assert q.refreshes["sync"] + q.refreshes["background"] == builds  # no rebuild without a new event


def test_small_project_rebuilds_in_the_request_after_a_decision(wb_app):
    q = wb_app.state.wb.screening_queue
    r1 = login(wb_app, "R1")
    first = nxt(r1)["record"]["record_id"]
    decide(r1, first, "include")
    before = q.refreshes["sync"]
    d = nxt(r1)
    second = d["record"]["record_id"]
    assert second != first and d["model_current"] and q.refreshes["sync"] == before + 1
    decide(r1, second, "exclude")
    d = nxt(r1)
    assert d["prioritised"] and d["model_current"] and d["done"] == 2


def test_stale_queue_skips_decided_records_and_is_rebuilt_in_the_background(wb_app, background):
    q = background
    r1 = login(wb_app, "R1")
    seen = []
    for i in range(5):
        d = nxt(r1)
        rid = d["record"]["record_id"]
        assert rid not in seen  # never offered again, though the snapshot may be older than the decision
        seen.append(rid)
        decide(r1, rid, "include" if i % 2 == 0 else "exclude")
    syncs = q.refreshes["sync"]
    d = nxt(r1)
    assert d["record"]["record_id"] not in seen and d["done"] == 5
    assert q.refreshes["sync"] == syncs  # the request did not rebuild
    assert q.wait_idle(30) and not q.worker_errors
    d = nxt(r1)
    assert d["model_current"] and d["prioritised"] and q.refreshes["background"] >= 1


def test_records_settled_by_others_leave_a_stale_queue(wb_app, background):
    """Two screeners per record: once R1 and R2 have both voted on a record it is
    no longer pending, and a third reviewer's stale cached queue must skip it."""
    q = background
    acc = wb_app.state.wb.accounts
    acc.add("R3", "correct horse battery", "reviewer")
    r1, r2, r3 = login(wb_app, "R1"), login(wb_app, "R2"), login(wb_app, "R3")
    top = nxt(r3)["record"]["record_id"]  # R3's snapshot is built now
    decide(r1, top, "include")
    decide(r2, top, "include")  # settled (agreed): not pending any more
    d = nxt(r3)
    assert d["record"]["record_id"] != top and not d["model_current"]
    assert top not in q.ranked("R3", TA)["order"][:1]


def test_queue_cache_keeps_blinding(wb_app, background):
    """R2's queue (order and training labels) is the same before and after R1's
    pending votes: the cache serves each reviewer their own snapshot, built
    from settled decisions and their own votes only."""
    q = background
    r1, r2 = login(wb_app, "R1"), login(wb_app, "R2")
    ids = [r[0] for r in wb_app.state.wb.store.query(
        "SELECT record_id FROM records WHERE duplicate_of IS NULL ORDER BY seq")]
    decide(r2, ids[0], "include")
    decide(r2, ids[1], "exclude")
    assert q.wait_idle(30)
    nxt(r2)
    assert q.wait_idle(30)
    before = q.ranked("R2", TA)
    assert before["prioritised"] and before["model_current"]
    labels_before = q.state("R2", TA)["labels"]
    for k, rid in enumerate(ids[2:9]):  # R1's votes on records R2 has not voted on: pending, blinded
        decide(r1, rid, "include" if k % 2 else "exclude")
    nxt(r2)  # stale: schedules R2's rebuild
    assert q.wait_idle(30) and not q.worker_errors
    after = q.ranked("R2", TA)
    assert after["model_current"]
    assert after["order"] == before["order"]  # R1's pending votes changed nothing in R2's queue
    assert q.state("R2", TA)["labels"] == labels_before
    assert not set(q.state("R2", TA)["labels"]) & set(ids[2:9])
    # and R2's answers carry no trace of R1's votes
    body = r2.get(f"/screen/api/{TA}/next").text
    assert "R1" not in body


def test_background_queue_under_concurrency_loses_and_repeats_nothing(tmp_path, monkeypatch):
    from hepatostat.web.screening import Queue

    monkeypatch.setattr(Queue, "REFRESH_SYNC_LIMIT", 0)
    spec = importlib.util.spec_from_file_location("concurrency_bench", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.run(tmp_path, seconds=4, reviewers=4, records=150)
    assert res["n_errors"] == 0, res
    assert res["decisions_acknowledged"] >= 4, res
    assert res["lost"] == 0 and res["unacknowledged_in_database"] == 0, res
    assert res["events_in_database"] == res["decisions_acknowledged"], res
    assert res["current_mismatches"] == 0 and res["served_already_decided"] == 0, res
    assert not res["queue"]["worker_errors"], res
