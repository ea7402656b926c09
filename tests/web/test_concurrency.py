"""Several reviewers deciding at once: nothing lost, nothing invented
(bounded: a few seconds here; the 30-second run is
benchmarks/screening/concurrency.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "screening" / "concurrency.py"


def test_concurrent_reviewers_every_decision_accounted_for(tmp_path):
    spec = importlib.util.spec_from_file_location("concurrency_bench", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.run(tmp_path, seconds=4, reviewers=4, records=120)
    assert res["n_errors"] == 0, res["errors"]
    assert res["decisions_acknowledged"] >= 4  # at least one per reviewer; throughput is the benchmark's job
    assert res["lost"] == 0 and res["unacknowledged_in_database"] == 0
    assert res["events_in_database"] == res["decisions_acknowledged"]
    assert res["current_mismatches"] == 0
