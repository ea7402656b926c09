"""Issue 14 (cohort): silent losses and crashes, each with a regression test named after what broke."""

from __future__ import annotations

import pytest

from hepatostat.cli import main
from hepatostat.cohort import load_criteria, read_cohort
from hepatostat.errors import InputError

from .tiny_cohort import tiny_data, tiny_tables


def _folder(tmp_path, split_labs=True):
    t = tiny_tables()
    t["persons"].to_csv(tmp_path / "persons.csv", index=False)
    t["treatments"].to_csv(tmp_path / "treatments.csv", index=False)
    labs = t["labs"]
    if split_labs:
        half = len(labs) // 2
        labs.iloc[:half].to_csv(tmp_path / "labs.csv", index=False)
        labs.iloc[half:].to_csv(tmp_path / "labs_2021.csv", index=False)
    else:
        labs.to_csv(tmp_path / "labs.csv", index=False)
    return tmp_path


def test_second_labs_file_was_silently_ignored(tmp_path):
    d = read_cohort(_folder(tmp_path))
    assert len(d.labs) == len(tiny_data().labs)
    assert {f.rsplit("/", 1)[-1] for f in d.labs["file"]} == {"labs.csv", "labs_2021.csv"}
    assert any("labs: 2 files read and appended: labs.csv, labs_2021.csv" in n for n in d.read_notes)
    assert "labs_2021.csv" in d.summary()


def test_labs_files_of_two_formats_are_an_error(tmp_path):
    folder = _folder(tmp_path, split_labs=False)
    tiny_tables()["labs"].to_parquet(folder / "labs_copy.parquet")
    with pytest.raises(InputError, match="more than one labs table"):
        read_cohort(folder)


def test_lab_rows_after_a_blank_line_keep_their_file_row(tmp_path):
    folder = _folder(tmp_path, split_labs=False)
    text = (folder / "labs.csv").read_text().splitlines()
    (folder / "labs.csv").write_text("\n".join(text[:3] + [""] + text[3:]) + "\n")
    d = read_cohort(folder)
    rows = sorted(d.labs["row"].tolist()) if "row" in d.labs.columns else []
    assert 4 not in rows and 5 in rows and max(rows) == len(text) + 1  # blank file line 4


def _criteria(tmp_path, visits: str):
    p = tmp_path / "c.toml"
    p.write_text('name = "t"\n[[inclusion]]\nid = "a"\nwhen = "age > 1"\n[visits]\n' + visits, encoding="utf-8")
    return p


@pytest.mark.parametrize("visits, what", [
    ("baseline_lookback_days = nan\n", "baseline_lookback_days"),
    ("baseline_lookback_days = inf\n", "baseline_lookback_days"),
    ("[[visits.window]]\nweek = nan\ntolerance_days = 3\n", "week must be a number"),
    ("[[visits.window]]\nweek = 4\ntolerance_days = nan\n", "before_days must be a number"),
])
def test_criteria_with_nan_were_accepted(tmp_path, visits, what):
    with pytest.raises(InputError, match=what):
        load_criteria(_criteria(tmp_path, visits))


def test_non_utf8_criteria_file_crashed(tmp_path, capsys):
    p = tmp_path / "c.toml"
    p.write_bytes('name = "Kriterien für Zirrhose"\n'.encode("latin-1"))
    with pytest.raises(InputError, match=r"line 1: the criteria file is not UTF-8"):
        load_criteria(p)
    assert main(["cohort", "build", str(_folder(tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path)),
                 "--criteria", str(p), "--out", str(tmp_path / "o")]) == 1
    assert "Error:" in capsys.readouterr().err


def test_criteria_toml_nested_3000_deep_crashed(tmp_path):
    p = tmp_path / "deep.toml"
    p.write_text("x = " + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="criteria file"):
        load_criteria(p)
