"""The reports as manuscripts (issue 16): main and supplementary numbering, the review's Tables S1–S6,
plain-language result sentences."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from hepatostat.report.document import Report


def _report():
    from hepatostat.io.figures import new_figure

    rep = Report("Numbering")
    s = rep.section("Methods")
    s.text("Patients were screened (Supplementary Table S1).")
    s.table("Attrition", pd.DataFrame({"Step": ["a"], "n": [3]}), supplement=True)
    fig, axes = new_figure(3, 2)
    s.figure("Flow", fig, supplement=True)
    s = rep.section("Results")
    s.table("Baseline", pd.DataFrame({"Characteristic": ["Age"], "P": [0.5]}))
    fig, axes = new_figure(3, 2)
    s.figure("Values over weeks", fig)
    return rep


def test_supplementary_items_are_numbered_apart_and_placed_after_the_main_text(tmp_path):
    rep = _report()
    html = rep.to_html()
    assert "Table 1. Baseline" in html and "Table S1. Attrition" in html
    assert "Figure 1.</strong> Values over weeks" in html and "Figure S1.</strong> Flow" in html
    part = html.index(">Supplementary material</h2>")
    assert html.index("Table 1. Baseline") < part < html.index("Table S1. Attrition")
    assert html.index("Patients were screened") < part  # the text stays in the main part
    files = rep.write_figures(tmp_path)
    names = sorted(p.split("/")[-1] for p in files if p.endswith(".png"))
    assert names == ["figure01_values_over_weeks.png", "figureS01_flow.png"]
    rep.write_xlsx(tmp_path / "t.xlsx")
    assert [k for k in pd.read_excel(tmp_path / "t.xlsx", sheet_name=None) if k.startswith("T")] == ["T1 Baseline",
                                                                                                   "TS1 Attrition"]


def test_a_report_without_supplement_has_no_supplementary_heading():
    rep = Report("Plain")
    rep.section("Results").table("Baseline", pd.DataFrame({"a": [1]}))
    assert "Supplementary material" not in rep.to_html()


@pytest.fixture(scope="module")
def msc():
    from hepatostat import datasets

    return datasets.load("synthetic_msc_trials_long")


def test_subgroup_and_sensitivity_tables_cover_every_time_point_with_enough_studies(msc):
    from hepatostat.meta import effects, pool
    from hepatostat.meta.subgroup import subgroup_analysis
    from hepatostat.report.figures_meta import pool_blocks, time_label
    from hepatostat.report.meta_tables import sensitivity_table, subgroup_columns, subgroup_table

    by = subgroup_columns(msc)
    assert by == ["disease", "cell_source", "route", "injections"]
    blocks = pool_blocks(msc, "MELD")
    tab, notes = subgroup_table(blocks, by, time_label=time_label)
    times = [t for t in tab["Time point"] if t]
    assert times == ["Baseline", "Week 4", "Week 12", "Week 24"]  # every time point, not only the planned one
    # the week-24 disease rows are the engine's subgroup analysis (same estimator as the time point's fit)
    t, es, res = blocks[-1]
    sg = subgroup_analysis(es, "disease", res.method)
    start = tab.index[tab["Time point"] == "Week 24"][0]
    assert tab.loc[start, "SMD"] == pytest.approx(sg.results[0].estimate, rel=1e-12)
    assert tab.loc[start, "P (subgroup difference)"] == pytest.approx(sg.Q_between_pval, rel=1e-12)
    sens, sentences = sensitivity_table(blocks, time_label=time_label)
    assert len(sens) == sum(r.k + 1 for _, _, r in blocks)  # all studies, then each left out, per time point
    assert any("Synthetic trial 03" in s for s in sentences)  # the outlier at week 24 is named
    # too few studies: named in the notes, not dropped silently
    few = msc[msc["study"].isin(["Synthetic trial 01", "Synthetic trial 02", "Synthetic trial 03"])]
    tab, notes = subgroup_table(pool_blocks(few, "MELD"), by, time_label=time_label)
    assert tab.empty and len(notes) == 4 and all("too few" in n for n in notes)


def test_plain_language_sentences_follow_the_numbers(msc):
    from hepatostat.meta.outcomes import outcome_table
    from hepatostat.report.runner import _outcome_sentences

    frame = outcome_table(msc, None, "auto", outcome="outcome", timepoint="timepoint").to_frame()
    text = {s.split(":")[0]: s for s in _outcome_sentences(frame)}
    assert set(text) == set(frame["outcome"].map(lambda o: o[:1].upper() + o[1:]))
    meld = frame[(frame["outcome"] == "MELD") & (frame["timepoint"] == "W24")].iloc[0]
    assert meld["estimate"] < 0 and meld["pval"] < 0.05
    assert "MELD was lower with treatment than with control at" in text["MELD"]
    assert f"SMD {meld['estimate']:.2f}, 95% CI {meld['ci_low']:.2f} to {meld['ci_high']:.2f}" in text["MELD"]
    assert "at baseline the groups did not differ" in text["MELD"]
    surv = frame[frame["outcome"] == "survival"]
    assert (surv["pval"] >= 0.05).all() and "no statistically significant difference" in text["Survival"]
    assert not re.search(r"\d\.\d{4,}|e-\d", " ".join(text.values()))  # formatter's decimals, no scientific p


ROB_PLAN = """
title = "RoB"
[meta]
data = "bcg.csv"
[[meta.analysis]]
name = "BCG risk ratio"
measure = "RR"
method = "REML"
"""


def test_the_projects_own_risk_of_bias_is_used_and_not_labelled_example(tmp_path):
    from hepatostat.report.runner import run_plan
    from hepatostat.review.rob import TOOLS

    from refdata import reference_data

    reference_data("bcg").to_csv(tmp_path / "bcg.csv", index=False)
    (tmp_path / "plan.toml").write_text(ROB_PLAN)
    # as the workbench's export writes it: one column per domain and its support quotes
    doms = [k for k, _ in TOOLS["rob1"]["domains"]]
    rows = [{"study": f"Trial {i}", **{d: ("High" if (i + j) % 4 == 0 else "Low") for j, d in enumerate(doms)},
             **{f"{d}_support": "page 3" for d in doms}} for i in range(5)]
    pd.DataFrame(rows).to_csv(tmp_path / "risk_of_bias.csv", index=False)
    run_plan(tmp_path / "plan.toml", tmp_path / "out", quiet=True)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "The review team&#x27;s own judgements (risk_of_bias.csv)" in html
    assert "Trial 4" in html and "EXAMPLE" not in html


def test_illustrative_risk_of_bias_is_labelled_in_text_captions_and_figures(tmp_path):
    from hepatostat.io.figures import is_marked
    from hepatostat.report.runner import run_plan

    (tmp_path / "plan.toml").write_text('title = "x"\n[review]\nrob = "bundled:example_rob1"\n')
    res = run_plan(tmp_path / "plan.toml", tmp_path / "out", quiet=True)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "EXAMPLE table bundled with hepatostat" in html
    captions = re.findall(r"(?:Table|Figure) S?\d+\.(?:</strong>)? ([^<]*)", html)
    assert captions and all("[EXAMPLE DATA]" in c for c in captions), captions
    figs = [b for sec in res.report.sections for b in sec.blocks if hasattr(b, "fig")]
    assert figs and all(is_marked(f.fig) for f in figs)


def test_an_empty_or_incomplete_project_risk_of_bias_does_not_stop_the_report(tmp_path):
    from hepatostat.report.runner import run_plan

    from refdata import reference_data

    reference_data("bcg").to_csv(tmp_path / "bcg.csv", index=False)
    (tmp_path / "plan.toml").write_text(ROB_PLAN)
    (tmp_path / "risk_of_bias.csv").write_text("\n")  # what the export writes with no judgements yet
    run_plan(tmp_path / "plan.toml", tmp_path / "out", quiet=True)
    assert "risk of bias" not in (tmp_path / "out" / "report.html").read_text().lower()
    (tmp_path / "risk_of_bias.csv").write_text("study,random_sequence_generation\nTrial 1,maybe\n")
    run_plan(tmp_path / "plan.toml", tmp_path / "out", quiet=True)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "could not be used" in html and "missing domain column" in html


def test_block_forest_plots_are_split_to_stay_page_high(msc):
    from hepatostat.report.figures_meta import MAX_ROWS, forest_by_timepoint, pool_blocks, split_blocks

    blocks = pool_blocks(msc, "MELD")
    assert split_blocks(blocks) == [blocks]  # 4 time points of ~10 trials fit one page
    many = blocks * 3  # 12 blocks: too tall for one page
    parts = split_blocks(many)
    assert len(parts) > 1 and sum(len(p) for p in parts) == len(many)
    for p in parts:
        assert sum(r.k + 4 for _, _, r in p) <= MAX_ROWS
        w, h = forest_by_timepoint(p, outcome_label="MELD").get_size_inches()
        assert w <= 6.28 and h <= 9.69  # printed at full size on an A4 page with 1 in margins
