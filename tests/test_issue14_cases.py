"""Issue 14 re-run: the cases that had no regression test yet, and the leftovers found when re-running them.

Every other case of the issue already has a test named after it elsewhere (docs/reliability.md lists
where). These go through the command line (``hepatostat.cli.main``, the console script's error handling)
as a user would, on small files written here.
"""

from __future__ import annotations

import struct
import warnings
import zlib

import openpyxl
import pandas as pd
import pytest

from hepatostat.cli import main
from hepatostat.cohort.sources import read_cohort

from .cohort.tiny_cohort import tiny_tables


def run(args, capsys):
    status = main([str(a) for a in args])
    out = capsys.readouterr()
    return status, out.out, out.err


# ---------------------------------------------------------------- meta


def test_pool_csv_kept_quiet_about_a_study_dropped_for_a_blank_cell(capsys, tmp_path):
    f = tmp_path / "blank.csv"
    f.write_text("study,yi,vi\nA,0.1,0.01\nB,0.2,0.02\nC,,0.03\nD,0.4,0.02\n")
    status, out, err = run(["meta", "pool", f, "--measure", "GEN", "--format", "csv"], capsys)
    assert status == 0, err
    frame = pd.read_csv(pd.io.common.StringIO(out))
    assert frame["study"].tolist()[:3] == ["A", "B", "D"]  # the pooled studies first, then the pooled row
    last = frame.iloc[-1]
    assert last["study"] == "C" and "row 4" in last["excluded"] and "'yi'" in last["excluded"]
    assert frame["yi"].notna().sum() == 4  # three studies and the pooled row; C has no numbers


def test_pool_csv_without_exclusions_keeps_its_columns(capsys, tmp_path):
    f = tmp_path / "ok.csv"
    f.write_text("study,yi,vi\nA,0.1,0.01\nB,0.2,0.02\nC,0.3,0.03\n")
    status, out, err = run(["meta", "pool", f, "--measure", "GEN", "--format", "csv"], capsys)
    assert status == 0, err
    assert out.splitlines()[0] == "study,yi,vi,sei,ci_low,ci_high,weight"


BLANK = "study,yi,vi,g\nA,0.1,0.01,x\nB,0.2,0.02,x\nC,,0.03,y\nD,0.4,0.02,y\nE,0.3,0.02,y\nF,0.25,0.02,x\n"


@pytest.mark.parametrize("command, fmt", [
    (["meta", "effects"], "csv"), (["meta", "loo"], "csv"), (["meta", "cumul"], "csv"), (["meta", "bias"], "csv"),
    (["meta", "subgroup", "--by", "g"], "csv"), (["meta", "regress", "--mods", "g"], "csv"),
    (["meta", "influence"], "csv"), (["meta", "influence"], "json"), (["meta", "influence"], "table")])
def test_csv_of_other_meta_commands_kept_quiet_about_a_dropped_study(capsys, tmp_path, command, fmt):
    f = tmp_path / "blank.csv"
    f.write_text(BLANK)
    status, out, err = run([*command[:2], f, *command[2:], "--measure", "GEN", "--format", fmt], capsys)
    assert status == 0, err
    assert "Excluded (not in the" in err and "C (row 4): missing value in column 'yi'" in err
    assert "\nC," not in out  # the study is not among the rows


def test_csv_with_nothing_excluded_says_nothing_on_stderr(capsys, tmp_path):
    f = tmp_path / "ok.csv"
    f.write_text("study,yi,vi\nA,0.1,0.01\nB,0.2,0.02\nC,0.3,0.03\n")
    status, _, err = run(["meta", "loo", f, "--measure", "GEN", "--format", "csv"], capsys)
    assert status == 0 and err == ""


@pytest.mark.parametrize("command", [["meta", "pool"], ["meta", "loo"], ["meta", "bias"]])
def test_plot_path_below_a_file_was_an_internal_error(capsys, tmp_path, command):
    f = tmp_path / "ok.csv"
    f.write_text("study,yi,vi\nA,0.1,0.01\nB,0.2,0.02\nC,0.3,0.03\nD,0.5,0.01\n")
    (tmp_path / "afile").write_text("x")
    status, out, err = run([*command, f, "--measure", "GEN", "--plot", tmp_path / "afile" / "forest.png"], capsys)
    assert status == 1 and err.startswith("Error:"), err
    assert "internal error" not in err and "afile" in err and "not a folder" in err
    assert out == ""  # checked before any work


# ---------------------------------------------------------------- cohort


def test_prefixed_labs_file_split_by_period_was_skipped_unsaid(tmp_path):
    t = tiny_tables()
    t["persons"].to_csv(tmp_path / "study_persons.csv", index=False)
    t["treatments"].to_csv(tmp_path / "study_treatments.csv", index=False)
    labs = t["labs"]
    half = len(labs) // 2
    labs.iloc[:half].to_csv(tmp_path / "study_labs.csv", index=False)
    labs.iloc[half:].to_csv(tmp_path / "study_labs_2021.csv", index=False)
    d = read_cohort(tmp_path)
    assert len(d.labs) == len(labs)
    assert any("study_labs.csv, study_labs_2021.csv" in n for n in d.read_notes)


def test_cohort_build_text_never_said_which_files_were_left_out(capsys, tmp_path):
    t = tiny_tables()
    folder = tmp_path / "data"
    folder.mkdir()
    for name, frame in t.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    (folder / "bloods_2021.csv").write_text("person_id,value\n1,2\n")  # not a name hepatostat knows
    crit = tmp_path / "c.toml"
    crit.write_text('name = "t"\n[[inclusion]]\nid = "a"\nwhen = "age > 1"\n', encoding="utf-8")
    status, out, err = run(["cohort", "build", folder, "--criteria", crit, "--out", tmp_path / "o"], capsys)
    assert status == 0, err
    assert "not a cohort table, not read: bloods_2021.csv" in out


# ---------------------------------------------------------------- digitize


def _png_claiming(width: int, height: int) -> bytes:
    """A 1 x 1 PNG whose header claims WIDTH x HEIGHT (what a decompression bomb's header says)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr:ihdr + 17]))
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


def test_image_above_pillows_limit_printed_pillows_warning_before_the_error(capsys, tmp_path):
    f = tmp_path / "bomb.png"
    f.write_bytes(_png_claiming(9500, 9500))  # 90 megapixels: above Pillow's 89-megapixel warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, out, err = run(["digitize", "points", f, "--x-axis", "0=0,100=1", "--y-axis", "100=0,0=1",
                                "--color", "#000000"], capsys)
    assert status == 1 and err.startswith("Error: file") and "90.2 megapixels" in err, err
    assert not [w for w in caught if "DecompressionBomb" in type(w.message).__name__]


# ---------------------------------------------------------------- a plan's report


@pytest.fixture(scope="module")
def outcomes_plan(tmp_path_factory):
    from hepatostat.datasets import load

    d = tmp_path_factory.mktemp("plan14")
    long = load("synthetic_msc_trials_long").copy()
    sel = long.index[(long["outcome"] == "MELD") & (long["timepoint"] == "W24")]
    blanked = long.loc[sel[0], "study"]
    long.loc[sel[0], "sd1"] = None
    long.loc[sel[1], "study"] = "Trial \x07\x0b with control characters"
    long.to_csv(d / "long.csv", index=False)
    (d / "plan.toml").write_text('title = "Outcomes"\n[meta]\ndata = "long.csv"\noutcomes_table = true\n'
                                 '[[meta.analysis]]\nname = "MELD W24"\noutcome = "MELD"\ntimepoint = "W24"\n')
    status = main(["run", str(d / "plan.toml"), "--out", str(d / "out"), "--quiet"])
    return d, status, blanked


def test_plan_outcomes_table_lost_a_study_dropped_for_a_blank_cell(outcomes_plan):
    d, status, blanked = outcomes_plan
    assert status == 0
    wb = openpyxl.load_workbook(d / "out" / "tables.xlsx")
    text = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)
    assert f"{blanked} (row" in text and "missing value in column 'sd1'" in text


def test_control_characters_in_a_label_left_a_partial_report(outcomes_plan):
    d, status, _ = outcomes_plan
    assert status == 0
    out = d / "out"
    assert {"report.html", "report.docx", "tables.xlsx", "manifest.json"} <= {p.name for p in out.iterdir()}
    import docx

    text = "\n".join(c.text for t in docx.Document(str(out / "report.docx")).tables for r in t.rows for c in r.cells)
    assert "with control characters" in text
