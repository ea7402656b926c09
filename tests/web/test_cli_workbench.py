"""The command line with the workbench: starting rules, accounts, blinding
on the CLI, history, and the simulation command's contract."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hepatostat.cli import main

from .conftest import PASSWORD


def run(args, capsys, env=None, monkeypatch=None):
    if env and monkeypatch:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_workbench_has_help_and_refuses_lan_without_accounts(tmp_path, capsys):
    status, out, _ = run(["workbench", "--help"], capsys)
    assert status == 0 and "Example" in out and "--host" in out
    status, _, err = run(["workbench", tmp_path / "p.duckdb", "--host", "0.0.0.0", "--port", "1"], capsys)
    assert status == 1 and "needs accounts" in err and "Traceback" not in err


def test_add_user_then_cli_blinding(example_project, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HEPATOSTAT_PASSWORD", PASSWORD)
    for name, role in (("OW", "owner"), ("R1", "reviewer"), ("R2", "reviewer"), ("AD", "adjudicator")):
        status, out, err = run(["workbench", example_project, "--add-user", name, "--role", role], capsys)
        assert status == 0, err
    sheet = tmp_path / "r1.csv"
    ta = "title_abstract"
    # without --user the CLI refuses once accounts exist
    status, _, err = run(["review", "export", example_project, "--reviewer", "R1", "--stage", ta, "--out", sheet], capsys)
    assert status == 1 and "--user" in err
    # R1 exports and imports their own sheet
    assert run(["review", "export", example_project, "--reviewer", "R1", "--stage", ta, "--out", sheet,
                "--user", "R1"], capsys)[0] == 0
    s = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    s["decision"] = "include"
    s.loc[0, "decision"] = "exclude"
    s["note"] = "R1 private"
    s.to_csv(sheet, index=False)
    assert run(["review", "import", example_project, sheet, "--reviewer", "R1", "--stage", ta, "--user", "R1"],
               capsys)[0] == 0
    # R2 cannot read R1's decisions, nor write as R1, nor list conflicts, nor read the history
    status, _, err = run(["review", "export", example_project, "--reviewer", "R1", "--stage", ta, "--out",
                          tmp_path / "leak.csv", "--user", "R2"], capsys)
    assert status == 1 and "cannot read or write the decisions of R1" in err and not (tmp_path / "leak.csv").exists()
    status, _, err = run(["review", "import", example_project, sheet, "--reviewer", "R1", "--stage", ta,
                          "--user", "R2", "--replace"], capsys)
    assert status == 1 and "blinding" in err
    status, _, err = run(["review", "conflicts", example_project, "--stage", ta, "--user", "R2"], capsys)
    assert status == 1 and "adjudicator" in err
    status, _, err = run(["review", "history", example_project, "--user", "R2"], capsys)
    assert status == 1 and "owner" in err
    # a wrong password is refused
    monkeypatch.setenv("HEPATOSTAT_PASSWORD", "wrong password")
    status, _, err = run(["review", "export", example_project, "--reviewer", "R1", "--stage", ta, "--out", sheet,
                          "--user", "R1"], capsys)
    assert status == 1 and "wrong user name or password" in err
    monkeypatch.setenv("HEPATOSTAT_PASSWORD", PASSWORD)
    # R2 votes: disagrees on record 2 -> one conflict, visible to the adjudicator only
    s2 = tmp_path / "r2.csv"
    run(["review", "export", example_project, "--reviewer", "R2", "--stage", ta, "--out", s2, "--user", "R2"], capsys)
    t = pd.read_csv(s2, dtype=str, keep_default_na=False)
    assert (t["decision"] == "").all() and "R1 private" not in t.to_csv()
    t["decision"] = list(s["decision"])
    t.loc[1, "decision"] = "exclude"
    t.to_csv(s2, index=False)
    run(["review", "import", example_project, s2, "--reviewer", "R2", "--stage", ta, "--user", "R2"], capsys)
    status, out, _ = run(["review", "conflicts", example_project, "--stage", ta, "--user", "AD", "--format", "json"],
                         capsys)
    assert status == 0 and len(json.loads(out)["conflicts"]) == 1
    # R1 cannot change a vote after both voted, even with --replace: the conflict stays
    s.loc[1, "decision"] = "exclude"
    s.to_csv(sheet, index=False)
    status, _, err = run(["review", "import", example_project, sheet, "--reviewer", "R1", "--stage", ta, "--user",
                          "R1", "--replace"], capsys)
    assert status == 1 and "cannot change" in err
    status, out, _ = run(["review", "status", example_project, "--format", "json"], capsys)
    assert json.loads(out)["stages"][ta]["conflicts"] == 1
    # the owner sees the whole history
    status, out, _ = run(["review", "history", example_project, "--user", "OW", "--format", "json"], capsys)
    ev = json.loads(out)["events"]
    assert status == 0 and len(ev) == 26 and {e["reviewer"] for e in ev} == {"R1", "R2"}


def _labelled_csv(path, n=120, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    rel = "mesenchymal stem cell infusion cirrhosis randomised trial liver failure MELD albumin".split()
    irr = "mice rat kidney tumour cardiac imaging review survey dental bacteria enzyme".split()
    rows = []
    for i in range(n):
        y = int(i % 10 == 0)
        words = rng.choice(rel if y else irr, 12).tolist() + rng.choice(rel + irr, 6).tolist()
        rows.append({"title": " ".join(words[:6]) + f" {i}", "abstract": " ".join(words), "label_included": y})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_simulate_contract(tmp_path, capsys):
    f = _labelled_csv(tmp_path / "lab.csv")
    status, out, err = run(["review", "simulate", f, "--format", "json", "--seed", "3"], capsys)
    assert status == 0, err
    d = json.loads(out)
    assert {"n_records", "n_included", "wss95", "wss100", "rrf10", "order"} <= set(d)
    assert (d["n_records"], d["n_included"]) == (120, 12)
    assert sorted(d["order"]) == list(range(120))
    labels = pd.read_csv(f)["label_included"].to_numpy()
    assert labels[d["order"][0]] == 1 and labels[d["order"][1]] == 0  # one included, one excluded to start
    # the separable toy set: every include found long before the end
    assert d["wss95"] > 0.5 and d["rrf10"] > 0.5
    # seeded: the same seed gives the same order; another seed other priors
    again = json.loads(run(["review", "simulate", f, "--format", "json", "--seed", "3"], capsys)[1])
    assert again["order"] == d["order"]


def test_simulate_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"title": ["a", "b"], "label_included": [1, 2]}).to_csv(bad, index=False)
    status, _, err = run(["review", "simulate", bad, "--format", "json"], capsys)
    assert status == 1 and "row 3, column 'label_included', value '2'" in err
    none = tmp_path / "none.csv"
    pd.DataFrame({"title": ["a", "b"], "label_included": [0, 0]}).to_csv(none, index=False)
    status, _, err = run(["review", "simulate", none], capsys)
    assert status == 1 and "at least one included" in err
    ris = tmp_path / "l.ris"
    ris.write_text("TY  - JOUR\nTI  - a trial\nLB  - 1\nER  - \nTY  - JOUR\nTI  - mice\nN1  - ASReview_irrelevant\n"
                   "ER  - \nTY  - JOUR\nTI  - no label\nER  - \n")
    status, _, err = run(["review", "simulate", ris], capsys)
    assert status == 1 and "record 3 has no label" in err


def test_metrics_by_hand():
    from hepatostat.review.prioritise import rrf, wss

    # 10 records, 4 included, found at positions 1, 2, 5, 9 (1-based)
    order = [1, 1, 0, 0, 1, 0, 0, 0, 1, 0]
    # 95% of 4 -> 4 needed (ceil 3.8) -> screened 9: (10 - 9)/10 - 0.05
    assert wss(order, 0.95) == pytest.approx(0.05)
    assert wss(order, 1.0) == pytest.approx(0.1)
    # first 10% = 1 record -> 1 of 4
    assert rrf(order, 10) == pytest.approx(0.25)


def test_cli_while_the_workbench_owns_the_file(example_project, tmp_path):
    """Regression: commands used to fail on DuckDB's lock with its raw message;
    now they wait (HEPATOSTAT_LOCK_WAIT seconds) and then say why."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from hepatostat.web.db import Store

    store = Store(example_project)
    try:
        env = {**os.environ, "HEPATOSTAT_LOCK_WAIT": "1",
               "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
        p = subprocess.run([sys.executable, "-m", "hepatostat", "review", "status", str(example_project)],
                           capture_output=True, text=True, env=env, timeout=120)
    finally:
        store.close()
    assert p.returncode == 1 and "in use by another process" in p.stderr and "workbench" in p.stderr
    assert "Traceback" not in p.stderr
