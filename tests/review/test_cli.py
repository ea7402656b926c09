"""``hepatostat review …`` run as a user runs it."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from hepatostat.cli import cli, main
from hepatostat.cli.review import review_group


@pytest.fixture(autouse=True)
def _registered():
    # the package's entry point registers the group; make sure it is there for these tests
    if "review" not in cli.commands:
        cli.add_command(review_group)


def run(args, capsys):
    status = main([str(a) for a in args])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_every_review_command_has_help_with_example(capsys):
    for name, cmd in review_group.commands.items():
        status, out, err = run(["review", name, "--help"], capsys)
        assert status == 0, (name, err)
        assert "Example" in out, name
    status, out, _ = run(["review", "--help"], capsys)
    assert status == 0 and "Example" in out


def test_dedup_json_contract(example_files, capsys):
    status, out, err = run(["review", "dedup", *example_files, "--format", "json"], capsys)
    assert status == 0, err
    obj = json.loads(out)
    assert {"records_in", "unique", "duplicates", "clusters"} <= set(obj)
    assert set(obj) <= {"records_in", "unique", "duplicates", "clusters", "uncertain", "per_file", "kept_rule",
                        "candidate_pairs", "skipped"}
    assert (obj["records_in"], obj["unique"], obj["duplicates"]) == (22, 13, 9)
    assert all({"kept", "members", "reason"} <= set(c) for c in obj["clusters"])
    first = obj["clusters"][0]
    assert (first["kept"], first["members"]) == (
        "example_pubmed.nbib#1", ["example_pubmed.nbib#1", "example_embase.ris#1", "example_wos.bib#1"])
    assert "DOI" in first["reason"] and "title (identical)" in first["reason"]
    status, out, _ = run(["review", "dedup", *example_files, "--format", "csv"], capsys)
    frame = pd.read_csv(io.StringIO(out))
    assert len(frame) == 22 and frame["kept"].sum() == 13


def test_errors_print_error_and_exit_1(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    status, out, err = run(["review", "dedup", bad], capsys)
    assert status == 1 and err.startswith("Error: file ") and "unknown search-export format '.json'" in err
    assert "Traceback" not in err
    ris = tmp_path / "t.ris"
    ris.write_text("TY  - JOUR\nAU  - A, B.\nER  - \n")
    status, _, err = run(["review", "records", ris], capsys)
    assert status == 1 and "RIS record 1 (starting on line 1) has no title" in err
    counts = tmp_path / "c.csv"
    counts.write_text("box,label,n\nidentified,,100\nduplicates_removed,,10\nscreened,,91\nexcluded,,80\n"
                      "reports_excluded,,5\nstudies_included,,5\n")
    status, _, err = run(["review", "prisma", counts], capsys)
    assert status == 1 and "Error: file" in err and "PRISMA box 'Records screened' = 91 does not add up" in err


def test_workflow_end_to_end(example_files, tmp_path, capsys):
    proj = tmp_path / "p.duckdb"
    status, out, err = run(["review", "init", proj, *example_files, "--format", "json"], capsys)
    assert status == 0, err
    assert json.loads(out)["unique"] == 13
    ta = "title_abstract"
    for who, dec in (("YL", "include"), ("YD", "exclude")):
        sheet = tmp_path / f"{who}.xlsx"
        assert run(["review", "export", proj, "--reviewer", who, "--stage", ta, "--out", sheet], capsys)[0] == 0
        f = pd.read_excel(sheet, dtype=str, keep_default_na=False)
        f["decision"] = "include"
        f.loc[0, "decision"] = dec
        f.to_excel(sheet, index=False)
        status, out, err = run(["review", "import", proj, sheet, "--reviewer", who, "--stage", ta,
                                "--format", "json"], capsys)
        assert status == 0 and json.loads(out)["recorded"] == 13, err
    status, out, _ = run(["review", "conflicts", proj, "--stage", ta, "--out", tmp_path / "c.csv",
                          "--format", "json"], capsys)
    obj = json.loads(out)
    assert [c["record_id"] for c in obj["conflicts"]] == ["example_pubmed.nbib#1"]
    c = pd.read_csv(tmp_path / "c.csv", dtype=str, keep_default_na=False)
    c["decision"] = "include"
    c.to_csv(tmp_path / "c.csv", index=False)
    status, _, err = run(["review", "resolve", proj, tmp_path / "c.csv", "--reviewer", "YD", "--stage", ta], capsys)
    assert status == 1 and "YD screened record" in err
    status, _, _ = run(["review", "resolve", proj, tmp_path / "c.csv", "--reviewer", "XW", "--stage", ta], capsys)
    assert status == 0
    status, out, _ = run(["review", "status", proj, "--format", "json"], capsys)
    st = json.loads(out)["stages"]["title_abstract"]
    assert (st["included"], st["resolved"], st["agreed"]) == (13, 1, 12)
    # 12 of 13 agree, all "include" but one: kappa is 0 (rater YD never excludes after the first record)
    k = st["kappa"][0]
    assert k["raters"] == ["YD", "YL"] and k["n"] == 13 and k["po"] == pytest.approx(12 / 13)
    status, out, err = run(["review", "prisma", proj, "--allow-incomplete", "--plot", tmp_path / "f.png",
                            "--format", "json"], capsys)
    assert status == 0, err
    flow = json.loads(out)
    assert (flow["identified"], flow["screened"], flow["sought"], flow["awaiting_full_text"]) == (22, 13, 13, 13)
    assert (tmp_path / "f.png").stat().st_size > 5000
    status, _, err = run(["review", "prisma", proj], capsys)
    assert status == 1 and "13 records have no final full-text decision" in err


def test_prisma_rob_table1_commands(tmp_path, capsys):
    status, out, _ = run(["review", "prisma", "--liu2022", "--plot", tmp_path / "l.svg", "--format", "json"], capsys)
    assert status == 0 and json.loads(out)["screened"] == 604 and (tmp_path / "l.svg").exists()
    from hepatostat.review import rob
    from importlib import resources

    with resources.as_file(resources.files(rob.__package__).joinpath("data/example_rob1.csv")) as p:
        status, out, err = run(["review", "rob", p, "--traffic-light", tmp_path / "t.png", "--summary",
                                tmp_path / "s.pdf", "--weighted", "--format", "json"], capsys)
    assert status == 0, err
    assert json.loads(out)["tool"] == "rob1" and (tmp_path / "s.pdf").exists() and (tmp_path / "t.png").exists()
    status, out, _ = run(["review", "table1", "--out", tmp_path / "t1.docx", "--format", "json"], capsys)
    obj = json.loads(out)
    assert status == 0 and len(obj["rows"]) == 13 and obj["summary"]["patients"] == 846
    assert (tmp_path / "t1.docx").exists()
    status, out, _ = run(["review", "examples", tmp_path / "ex"], capsys)
    assert status == 0 and len(list((tmp_path / "ex").iterdir())) == 3
