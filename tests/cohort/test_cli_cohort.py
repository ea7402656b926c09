"""``hepatostat cohort …`` as a user runs it: files written, JSON keys, help examples, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from hepatostat.cli import cli, main
from hepatostat.cli.cohort import cohort_group


@pytest.fixture(autouse=True, scope="module")
def registered():
    """Use the group through the real entry point (registered in cli/__init__.py, or here until it is)."""
    if "cohort" not in cli.commands:
        cli.add_command(cohort_group)
    yield


def run(args, capsys):
    status = main(args)
    out = capsys.readouterr()
    return status, out.out, out.err


def test_synthetic_then_build(tmp_path, capsys):
    data, out = tmp_path / "data", tmp_path / "build"
    status, stdout, err = run(["cohort", "synthetic", "--out", str(data), "--format", "json"], capsys)
    assert status == 0, err
    obj = json.loads(stdout)
    assert obj["synthetic"] is True and obj["n_analysed"] == 123 and len(obj["files"]) == 3
    status, stdout, err = run(["cohort", "build", str(data), "--criteria", "seed_jia2020", "--out", str(out),
                               "--format", "json"], capsys)
    assert status == 0, err
    obj = json.loads(stdout)
    assert obj["n_screened"] == 513 and obj["n_included"] == 123 and obj["synthetic"] is True
    assert {g["group"]: g["n"] for g in obj["groups"]} == {"A": 37, "B": 27, "C": 28, "D": 31}
    names = {Path(p).name for p in obj["files"]}
    assert names == {"attrition.csv", "flow.png", "flow.svg", "visits_long.csv", "visits_wide.csv", "persons.csv",
                     "exclusions.csv"}
    attrition = pd.read_csv(out / "attrition.csv")
    assert attrition["n_excluded"].sum() == 390
    wide = pd.read_csv(out / "visits_wide.csv")
    assert len(wide) == 123 and "bilirubin_cumdecline_W24" in wide.columns
    log = pd.read_csv(out / "exclusions.csv")
    assert (log["stage"] == "import").any() and (log["table"] == "person").sum() == 390


def test_build_table_and_csv_formats(tmp_path, capsys):
    from hepatostat.cohort import write_cohort

    from .tiny_cohort import tiny_data

    write_cohort(tiny_data(), tmp_path / "tiny", format="csv")
    crit = tmp_path / "c.toml"
    crit.write_text('[[inclusion]]\nid = "age"\nwhen = "age between 16 and 60"\n[visits]\noutcomes = ["bilirubin"]\n')
    status, stdout, err = run(["cohort", "build", str(tmp_path / "tiny"), "--criteria", str(crit), "--out",
                               str(tmp_path / "o")], capsys)
    assert status == 0, err
    assert "Attrition" in stdout and "Written:" in stdout
    status, stdout, _ = run(["cohort", "build", str(tmp_path / "tiny"), "--criteria", str(crit), "--out",
                             str(tmp_path / "o"), "--format", "csv"], capsys)
    assert stdout.splitlines()[0] == "step,stage,criterion,label,n_before,n_excluded,n_after,n_missing,reason"


def test_errors_print_error_and_exit_1(tmp_path, capsys):
    crit = tmp_path / "c.toml"
    crit.write_text('[[inclusion]]\nid = "x"\nwhen = "__import__(\'os\')"\n')
    status, stdout, err = run(["cohort", "build", str(tmp_path), "--criteria", str(crit)], capsys)
    assert status == 1 and err.startswith("Error: ") and "Traceback" not in err
    assert "names starting with '_' are not allowed" in err
    status, _, err = run(["cohort", "build", str(tmp_path / "nope"), "--criteria", "seed_jia2020"], capsys)
    assert status == 1 and "Error: " in err and "not found" in err


@pytest.mark.parametrize("command", ["build", "synthetic"])
def test_every_command_has_help_with_an_example(command, capsys):
    status, stdout, _ = run(["cohort", command, "--help"], capsys)
    assert status == 0 and "Example:" in stdout
