"""Running plans: the report files, the manifest, synthetic labelling, no partial output."""

from __future__ import annotations

import json
import math
import zipfile

import pandas as pd
import pytest

from hepatostat.errors import InputError
from hepatostat.meta import effects, pool
from hepatostat.report.runner import run_plan

from refdata import reference_data

PLAN = """
title = "BCG"
[meta]
data = "bcg.csv"
[[meta.analysis]]
name = "BCG risk ratio"
measure = "RR"
method = "REML"
subgroups = ["alloc"]
leave_one_out = true
bias = true
regression = ["ablat"]
[[meta.analysis]]
name = "Too few"
data = "one.csv"
measure = "RR"
bias = true
"""


@pytest.fixture
def plan_dir(tmp_path):
    reference_data("bcg").to_csv(tmp_path / "bcg.csv", index=False)
    reference_data("bcg").iloc[:1].to_csv(tmp_path / "one.csv", index=False)
    (tmp_path / "plan.toml").write_text(PLAN)
    return tmp_path


def test_run_writes_the_report(plan_dir):
    out = plan_dir / "out"
    res = run_plan(plan_dir / "plan.toml", out, quiet=True)
    for name in ("report.html", "report.docx", "tables.xlsx", "manifest.json", "plan.toml"):
        assert (out / name).exists(), name
    html = (out / "report.html").read_text()
    assert "BCG risk ratio: forest plot" in html and "data:image/png;base64," in html
    assert not res.synthetic and "SYNTHETIC" not in html
    # the numbers in the report are the engine's numbers
    expected = pool(effects(reference_data("bcg"), "RR"), "REML")
    # (the sheet has a caption row and a blank row above the header; ratios are shown exponentiated)
    sheets = pd.read_excel(out / "tables.xlsx", sheet_name=None, header=2)
    first = next(v for k, v in sheets.items() if "studies, weights" in k or k.startswith("T1"))
    assert float(first.iloc[-1]["Risk ratio"]) == pytest.approx(math.exp(expected.estimate), rel=1e-9)
    # a Word file with real tables
    with zipfile.ZipFile(out / "report.docx") as z:
        assert z.read("word/document.xml").count(b"<w:tbl>") >= 4
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["versions"]["hepatostat"] and manifest["inputs"][0]["sha256"]
    assert "total" in manifest["timings_seconds"]
    figs = list((out / "figures").glob("*.png"))
    assert len(figs) >= 4 and len(list((out / "figures").glob("*.svg"))) == len(figs)


def test_an_analysis_that_cannot_be_estimated_is_reported(plan_dir):
    res = run_plan(plan_dir / "plan.toml", plan_dir / "out", quiet=True)
    texts = [b for s in res.report.sections for b in s.blocks if isinstance(b, str)]
    assert any("k = 1" in t or "not estimable" in t.lower() for t in texts)


def test_bad_plan_writes_nothing(plan_dir):
    (plan_dir / "bad.toml").write_text(PLAN.replace('data = "one.csv"', 'data = "gone.csv"'))
    with pytest.raises(InputError, match="meta.analysis\\[2\\].data': file not found"):
        run_plan(plan_dir / "bad.toml", plan_dir / "out2", quiet=True)
    assert not (plan_dir / "out2").exists()


def test_failure_during_the_run_writes_nothing(plan_dir):
    # valid plan, but the data do not fit the measure: found only while running
    (plan_dir / "bad2.toml").write_text(PLAN.replace('measure = "RR"\nmethod = "REML"', 'measure = "SMD"\nmethod = "REML"'))
    with pytest.raises(InputError, match="missing column"):
        run_plan(plan_dir / "bad2.toml", plan_dir / "out3", quiet=True)
    assert not (plan_dir / "out3").exists()


def test_synthetic_inputs_label_the_report(tmp_path):
    (tmp_path / "p.toml").write_text('title = "Synthetic check"\n[meta]\ndata = "bundled:synthetic_msc_trials_long"\n'
                                     'outcomes_table = true\n')
    res = run_plan(tmp_path / "p.toml", tmp_path / "out", quiet=True)
    html = (tmp_path / "out" / "report.html").read_text()
    assert res.synthetic and "SYNTHETIC DATA" in html
    assert pd.read_excel(tmp_path / "out" / "tables.xlsx", sheet_name="README").iloc[0, 0].startswith("SYNTHETIC")
