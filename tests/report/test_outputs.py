"""What a reader and a data-protection officer see: labels, privacy, atomic writes, clear errors (issues 14, 16)."""

from __future__ import annotations

import json
import os
import re

import openpyxl
import pandas as pd
import pytest

from hepatostat.errors import InputError
from hepatostat.report.cohort_tables import suppress_counts
from hepatostat.report.labels import Dictionary
from hepatostat.report.runner import run_plan

from refdata import reference_data

CODE_NAMES = ("alt_W0", "meld_decline", "pval", "ci_low", "mann_whitney", "n_pairs", "bilirubin_W0", "student_t")

COHORT = """
title = "Cohort check"
[cohort]
source = "bundled:synthetic_cohort"
criteria = "seed_jia2020"
outcomes = ["alt", "bilirubin", "meld"]
table1_variables = ["age", "sex", "alt_W0", "bilirubin_W0", "meld_W0"]
"""


@pytest.fixture(scope="module")
def cohort_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("cohort")
    (d / "plan.toml").write_text(COHORT)
    res = run_plan(d / "plan.toml", d / "out", quiet=True, min_cell=5)
    return d, res


def test_cohort_report_speaks_in_labels_and_units(cohort_run):
    d, res = cohort_run
    html = (d / "out" / "report.html").read_text()
    for code in CODE_NAMES:
        assert code not in html, code
    assert "TBIL (µmol/L)" in html and "ALT (U/L)" in html and "MELD" in html
    assert "÷ 17.1" in html or "× 17.1" in html  # the report says which units were converted and how
    # Table 1 of the seed: A vs B and C vs D side by side, each pair with its P value
    assert "P, A vs B" in html and "P, C vs D" in html and "P, A vs C" in html
    assert "0.000" not in re.sub(r"\d0\.000|0\.000\d", "", html)  # p never printed as 0.000


def test_cohort_report_numbers_tables_and_figures_as_the_seed_paper(cohort_run):
    d, res = cohort_run
    html = (d / "out" / "report.html").read_text()
    # Tables 1-3 and Figures 1-3 are the paper's; the attrition table and flow diagram are supplementary
    assert re.search(r"Table 1\. Patient demographics[^<]*group A vs group B and group C vs group D", html)
    assert re.search(r"Table 2\. Patient demographics[^<]*group A vs group C and group B vs group D", html)
    assert "Table 3. Decline (earlier minus later value) in each interval" in html
    assert "Figure 1.</strong> Values over the observation weeks" in html
    assert "Figure 2.</strong> Median decline in TBIL" in html and "Figure 3.</strong> Median cumulative decline" in html
    assert "Table S1. Attrition" in html and "Figure S1.</strong> Flow of patients" in html
    assert not re.search(r"Table [4-9]\.", html) and not re.search(r"Figure [4-9]\.", html)


def test_small_counts_are_suppressed_and_patient_logs_kept_apart(cohort_run):
    d, res = cohort_run
    out = d / "out"
    html = (out / "report.html").read_text()
    assert "&lt;5" in html  # the 3 women of group A
    assert not (out / "exclusions" / "cohort_exclusions.csv").exists()
    private = d / "out.private" / "cohort_exclusions.csv"
    assert private.exists() and "person_id" in private.read_text().splitlines()[0]
    manifest = json.loads((out / "manifest.json").read_text())
    on_disk = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != "manifest.json")
    assert manifest["files"] == on_disk and manifest["private_files"] == ["out.private/cohort_exclusions.csv"]


def test_suppress_counts():
    f = pd.DataFrame({"Characteristic": ["Female"], "A": ["3 (8.1)"], "B": ["22 (81.5)"], "C": ["0 (0.0)"]})
    assert suppress_counts(f, 5).iloc[0].tolist() == ["Female", "<5", "22 (81.5)", "0 (0.0)"]
    assert suppress_counts(f, 0).equals(f)


def test_dictionary_labels_derived_names(tmp_path):
    d = Dictionary()
    assert d.label("alt_W0") == "ALT at W0 (U/L)"
    assert d.label("bilirubin_decline_W4_W12") == "TBIL decline W4–W12 (µmol/L)"
    assert d.label("meld_cumdecline_W24") == "Cumulative MELD decline W0–W24"
    assert d.value("sex", "F") == "Female"
    (tmp_path / "dict.csv").write_text("variable,label,unit\nalt,Alanine aminotransferase,IU/L\n")
    assert Dictionary.from_file(tmp_path / "dict.csv").label("alt_W4") == "Alanine aminotransferase at W4 (IU/L)"


META = """
title = "BCG"
[meta]
data = "bcg.csv"
[[meta.analysis]]
name = "BCG risk ratio"
measure = "RR"
method = "REML"
"""


@pytest.fixture
def bcg_dir(tmp_path):
    data = reference_data("bcg").copy()
    data.loc[0, "study"] = '=HYPERLINK("http://example.invalid","click")'
    data.to_csv(tmp_path / "bcg.csv", index=False)
    (tmp_path / "plan.toml").write_text(META)
    return tmp_path


def test_formula_in_a_study_label_stays_text_in_tables_xlsx(bcg_dir):
    run_plan(bcg_dir / "plan.toml", bcg_dir / "out", quiet=True)
    wb = openpyxl.load_workbook(bcg_dir / "out" / "tables.xlsx")
    cells = [c for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert cells and all(c.data_type == "s" for c in cells)
    numbers = [c.value for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, (int, float))]
    assert len(numbers) > 40  # estimates, CIs and weights are numbers, not text


def test_rerun_replaces_the_report(bcg_dir):
    out = bcg_dir / "out"
    run_plan(bcg_dir / "plan.toml", out, quiet=True)
    (out / "figures" / "stale.png").write_bytes(b"old")
    run_plan(bcg_dir / "plan.toml", out, quiet=True)
    assert not (out / "figures" / "stale.png").exists()
    assert not [p for p in bcg_dir.iterdir() if p.name.startswith(".out")]  # no temporary folders left


def test_plan_naming_an_outcome_the_data_lack(bcg_dir):
    (bcg_dir / "bad.toml").write_text(META + 'outcome = "MELD"\n')
    with pytest.raises(InputError, match="no column 'outcome'"):
        run_plan(bcg_dir / "bad.toml", bcg_dir / "out2", quiet=True)
    assert not (bcg_dir / "out2").exists()


def test_output_below_a_file_or_unwritable(bcg_dir):
    (bcg_dir / "afile").write_text("x")
    with pytest.raises(InputError, match="below the file"):
        run_plan(bcg_dir / "plan.toml", bcg_dir / "afile" / "out", quiet=True)
    with pytest.raises(InputError, match="is a file"):
        run_plan(bcg_dir / "plan.toml", bcg_dir / "afile", quiet=True)
    if os.geteuid() != 0:  # root may write anywhere
        ro = bcg_dir / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(InputError, match="no write permission"):
            run_plan(bcg_dir / "plan.toml", ro / "out", quiet=True)


def test_plan_file_not_utf8_or_nested_too_deep(tmp_path):
    (tmp_path / "latin.toml").write_bytes('title = "Études"\n[meta]\ndata = "x.csv"\n'.encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        run_plan(tmp_path / "latin.toml", tmp_path / "o", quiet=True)
    (tmp_path / "deep.toml").write_text('title = "x"\nmeta = ' + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(InputError, match="nested too deeply"):
        run_plan(tmp_path / "deep.toml", tmp_path / "o", quiet=True)


def test_pooled_sentence_shows_ratios_on_their_scale_and_no_scientific_p():
    import math

    from hepatostat.meta import effects, pool
    from hepatostat.report.runner import _pool_sentence, _tidy_numbers

    res = pool(effects(reference_data("bcg"), "RR"), "REML")
    text = _pool_sentence(res, "BCG")
    assert f"risk ratio {math.exp(res.estimate):.2f}" in text and f"{math.exp(res.ci_low):.2f} to" in text
    assert "e-" not in text
    assert _tidy_numbers("auto: Q p = 5.55e-07 < 0.1") == "auto: Q p < 0.001 < 0.1"
