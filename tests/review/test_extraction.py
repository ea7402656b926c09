"""Dual extraction: entries, discrepancies, adjudication, conversions, verification log, export."""

from __future__ import annotations

import json
import math

import duckdb
import pandas as pd
import pytest

from hepatostat.errors import InputError
from hepatostat.meta import convert
from hepatostat.review.extraction import (
    Extraction,
    Key,
    convert_ci,
    convert_median,
    convert_p,
    convert_se,
)


@pytest.fixture
def ex(tmp_path):
    con = duckdb.connect(str(tmp_path / "p.duckdb"))
    e = Extraction(con)
    e.add_study("OW", "Xu 2019")
    e.add_study("OW", "Lin 2017")
    yield e
    con.close()


def enter(e, who, study, outcome, tp, arm, **vals):
    for f, v in vals.items():
        e.record(who, "arm", study, f, v, outcome=outcome, timepoint=tp, arm=arm)


def test_entries_are_blind_and_append_only(ex):
    enter(ex, "R1", "Xu 2019", "MELD", "W4", 1, n="30", mean="18.2", sd="4.1")
    enter(ex, "R2", "Xu 2019", "MELD", "W4", 1, n="30", mean="18.20", sd="4.7")
    ex.record("R1", "arm", "Xu 2019", "sd", "4.2", outcome="MELD", timepoint="W4", arm=1)  # a change
    mine = ex.entries("R1")
    assert {k.field: v["value"] for k, v in mine.items()} == {"n": "30", "mean": "18.2", "sd": "4.2"}
    assert all(k.study == "Xu 2019" for k in mine)
    hist = ex.history(Key("arm", "Xu 2019", "MELD", "W4", 1, "sd"))
    assert [(h["extractor"], h["value"]) for h in hist] == [("R1", "4.1"), ("R2", "4.7"), ("R1", "4.2")]
    assert ex.con.execute("SELECT count(*) FROM extraction_events").fetchone()[0] == 7


def test_discrepancies_and_adjudication_keep_both_originals(ex):
    enter(ex, "R1", "Xu 2019", "MELD", "W4", 1, n="30", mean="18.2", sd="4.1")
    enter(ex, "R2", "Xu 2019", "MELD", "W4", 1, n="30", mean="18.20", sd="4.7")
    enter(ex, "R1", "Xu 2019", "MELD", "W4", 2, n="30", mean="20.5", sd="5.0")
    enter(ex, "R2", "Xu 2019", "MELD", "W4", 2, n="30", sd="5.0")  # R2 missed the control mean
    d = ex.discrepancies()
    # "18.2" and "18.20" agree (same number); sd1 and the missing m2 differ
    assert [(x.key.arm, x.key.field, x.values) for x in d] == [
        (1, "sd", {"R1": "4.1", "R2": "4.7"}), (2, "mean", {"R1": "20.5", "R2": None})]
    with pytest.raises(InputError, match="2 discrepancies are not adjudicated"):
        ex.long_table()
    ex.adjudicate("AD", d[0].key, "4.7", reason="Table 2 p. 5 says 4.7")
    ex.adjudicate("AD", d[1].key, "20.5", reason="R2 skipped it")
    adj = ex.adjudications()
    assert adj[0]["originals"] == {"R1": {"value": "4.1", "provenance": None},
                                   "R2": {"value": "4.7", "provenance": None}}
    assert adj[0]["chosen"] == "4.7" and adj[0]["adjudicator"] == "AD"
    assert all(x.adjudicated for x in ex.discrepancies())
    assert ex.discrepancies(include_adjudicated=False) == []
    t = ex.long_table()
    assert t.to_dict("records") == [{"study": "Xu 2019", "outcome": "MELD", "timepoint": "W4", "m1": "18.2",
                                     "sd1": "4.7", "n1": "30", "m2": "20.5", "sd2": "5.0", "n2": "30"}]
    # a second adjudication is a new event; the newest counts, the first stays
    ex.adjudicate("AD", d[0].key, "4.1", reason="re-read: 4.7 is the SE row")
    assert len(ex.adjudications()) == 3 and ex.long_table().loc[0, "sd1"] == "4.1"


def test_study_list_is_append_only(ex):
    ex.remove_study("OW", "Lin 2017")
    assert ex.studies() == ["Xu 2019"]
    ex.add_study("OW", "Lin 2017")
    assert ex.studies() == ["Xu 2019", "Lin 2017"]


# --------------------------------------------------------------------------
# conversions at entry
# --------------------------------------------------------------------------

def test_convert_median_calls_meta_convert_with_the_named_method():
    kw = dict(median="23", q1="19", q3="28", min="12", max="40", n="30")
    for method in ("wan", "luo", "luo_shi"):
        c = convert_median(method=method, **kw)
        m, s = convert.mean_sd_from_median(median=23, q1=19, q3=28, min=12, max=40, n=30, method=method)
        assert (c.mean, c.sd) == (m, s) and c.method == method
        assert c.provenance["inputs"] == kw and "mean_sd_from_median" in c.provenance["function"]
    qe = convert_median(method="qe", **kw)
    assert (qe.mean, qe.sd) == convert.mcgrath_qe(median=23, q1=19, q3=28, min=12, max=40, n=30)
    with pytest.raises(InputError, match="unknown conversion method"):
        convert_median(method="magic", **kw)


def test_handbook_conversions():
    # Cochrane Handbook v6.4 6.5.2.2: SD = SE x sqrt(N); for N = 25 a 95% CI is 2 x 2.0639 = 4.128 SEs wide
    assert convert_se(se="2", n="25").sd == pytest.approx(10.0)
    c = convert_ci(ci_low="10", ci_high="14.128", n="25")
    assert c.sd == pytest.approx(5.0, rel=1e-4) and c.mean == pytest.approx(12.064)
    # 6.5.2.3: MD = 3.8, P = 0.008, groups of 25 and 22: t = 2.78, SE = 1.37, SD = SE / sqrt(1/25 + 1/22)
    p = convert_p(mean1="3.8", mean2="0", n1="25", n2="22", p="0.008")
    assert round(p.sd * math.sqrt(1 / 25 + 1 / 22), 2) == 1.37
    with pytest.raises(InputError, match="exact two-sided P value"):
        convert_p(mean1="3.8", mean2="0", n1="25", n2="22", p="<0.05")


def test_conversion_is_recorded_and_reversible(ex):
    enter(ex, "R1", "Lin 2017", "TBIL", "W4", 1, n="56", median="180", q1="120", q3="260")
    c = convert_median(median="180", q1="120", q3="260", n="56", method="luo_shi")
    ex.apply_conversion("R1", c, study="Lin 2017", outcome="TBIL", timepoint="W4", arm=1)
    mine = ex.entries("R1", "Lin 2017")
    k = Key("arm", "Lin 2017", "TBIL", "W4", 1, "mean")
    assert float(mine[k]["value"]) == c.mean
    prov = json.loads(mine[k]["provenance"])
    assert prov["conversion"] == "median" and prov["method"] == "luo_shi"
    t = ex.long_table()
    assert t.loc[0, "converted1"] == "true" and t.loc[0, "med1"] == "180"
    ex.revert_conversion("R1", study="Lin 2017", outcome="TBIL", timepoint="W4", arm=1)
    mine = ex.entries("R1", "Lin 2017")
    assert k not in mine or mine[k]["value"] is None
    assert Key("arm", "Lin 2017", "TBIL", "W4", 1, "median") in mine  # the reported numbers stay
    assert "m1" not in ex.long_table().columns


# --------------------------------------------------------------------------
# characteristics and risk of bias
# --------------------------------------------------------------------------

def test_characteristics_and_rob_with_quotes(ex):
    for who in ("R1", "R2"):
        ex.record(who, "characteristic", "Xu 2019", "country", "China")
        ex.record(who, "rob", "Xu 2019", "random_sequence_generation", "low risk",
                  note="'randomly assigned using a computer-generated list' (Methods)")
    ex.record("R1", "rob", "Xu 2019", "allocation_concealment", "Unclear", note="not described")
    ex.record("R2", "rob", "Xu 2019", "allocation_concealment", "High", note="open list")
    d = ex.discrepancies()
    assert [(x.key.field, x.values) for x in d] == [("allocation_concealment", {"R1": "Unclear", "R2": "High"})]
    ex.adjudicate("AD", d[0].key, "Unclear", reason="no description of concealment")
    rob = ex.risk_of_bias()
    assert rob.loc[0, "random_sequence_generation"] == "Low"
    assert rob.loc[0, "allocation_concealment"] == "Unclear"
    assert "R2: open list" in rob.loc[0, "allocation_concealment_support"]
    assert ex.characteristics().loc[0, "country"] == "China"
    with pytest.raises(InputError, match="unknown judgement"):
        ex.record("R1", "rob", "Xu 2019", "other_bias", "maybe")


@pytest.mark.parametrize("kw, column", [
    (dict(kind="arm", field="mean", value="12,5", outcome="MELD", timepoint="W4", arm=1), "mean"),
    (dict(kind="arm", field="weight", value="1", outcome="MELD", timepoint="W4", arm=1), "field"),
    (dict(kind="arm", field="n", value="30.5", outcome="MELD", timepoint="W4", arm=1), "n"),
    (dict(kind="arm", field="n", value="30", outcome="MELD", timepoint="W4", arm=3), "arm"),
    (dict(kind="arm", field="n", value="30", outcome="MELD", timepoint="", arm=1), "timepoint"),
    (dict(kind="characteristic", field="colour", value="x"), "field"),
    (dict(kind="arm", field="n", value="30", outcome="MELD", timepoint="W4", arm=1, provenance="{not json"),
     "provenance"),
    (dict(kind="arm", field="n", value="30", outcome="MELD", timepoint="W4", arm=1, provenance="[1, 2]"), "provenance"),
])
def test_bad_entries_name_column_and_value(ex, kw, column):
    with pytest.raises(InputError) as exc:
        ex.record("R1", study="Xu 2019", **kw)
    assert exc.value.column == column


# --------------------------------------------------------------------------
# verification log and export
# --------------------------------------------------------------------------

def _both(ex, study, outcome, tp, arm, **vals):
    enter(ex, "R1", study, outcome, tp, arm, **vals)
    enter(ex, "R2", study, outcome, tp, arm, **vals)


def test_verification_log_and_export(ex, tmp_path):
    from hepatostat.report.plan import load_plan

    _both(ex, "Xu 2019", "MELD", "baseline", 1, n="9", mean="18.25", sd="3.1")  # GRIM: impossible with n = 9
    _both(ex, "Xu 2019", "MELD", "baseline", 2, n="9", mean="18.0", sd="3.0")
    _both(ex, "Xu 2019", "MELD", "W4", 1, n="9", mean="16.0", sd="3.2")
    _both(ex, "Xu 2019", "MELD", "W4", 2, n="11", mean="17.0", sd="3.1")  # n grows 9 -> 11
    _both(ex, "Lin 2017", "MELD", "baseline", 1, n="56", mean="22.1", sd="4.0")
    _both(ex, "Lin 2017", "MELD", "baseline", 2, n="54", mean="22.3", sd="4.2")
    log = ex.verification_log(integer_outcomes=["MELD"])
    assert sorted(zip(log["check"], log["status"])) == [("grim", "open"), ("n_change", "open")]
    with pytest.raises(InputError, match="2 flag\\(s\\) of the checks are not settled"):
        ex.export(tmp_path / "early", integer_outcomes=["MELD"])
    assert not (tmp_path / "early").exists()
    _, res = ex.check(integer_outcomes=["MELD"])
    grim = next(f for f in res.flags if f.check == "grim")
    nchg = next(f for f in res.flags if f.check == "n_change")
    with pytest.raises(InputError, match="say why"):
        ex.settle_flag("AD", grim, "confirmed")
    ex.settle_flag("AD", grim, "confirmed", note="Table 2 prints 18.25 (n = 9); the authors' rounding")
    ex.settle_flag("AD", nchg, "corrected", note="n2 at W4 is 9 (flow chart)")
    for who in ("R1", "R2"):
        ex.record(who, "arm", "Xu 2019", "n", "9", outcome="MELD", timepoint="W4", arm=2)
    log = ex.verification_log(integer_outcomes=["MELD"]).set_index("check")
    assert log.loc["grim", "status"] == "settled" and log.loc["grim", "resolution"] == "confirmed"
    assert log.loc["n_change", "status"] == "gone" and log.loc["n_change", "resolution"] == "corrected"

    paths = ex.export(tmp_path / "out", integer_outcomes=["MELD"])
    table = pd.read_csv(paths["extraction"], dtype=str)
    assert list(table.columns[:3]) == ["study", "outcome", "timepoint"]
    assert len(table) == 3 and table.loc[table.timepoint == "W4", "n2"].item() == "9"
    assert pd.read_csv(paths["verification_log"]).shape[0] == 2
    plan = load_plan(paths["plan"])
    names = [a["name"] for a in plan.data["meta"]["analysis"]]
    assert names == ["MELD at baseline", "MELD at W4"]
    assert plan.spec.meta.verification_log == "verification_log.csv"
    # the report shows the verification log: every flag raised and how it was settled (issue 19 item 5)
    from hepatostat.report.runner import run_plan

    run_plan(paths["plan"], tmp_path / "report", quiet=True)
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "Verification log of the extraction" in html
    assert "raised 2 flag(s)" in html and "1 settled, 1 gone after a correction, 0 open" in html
    # a row settled "excluded" leaves the pooled table but stays in the log
    ex.settle_flag("AD", grim, "excluded", note="cannot be verified")
    t = ex.long_table()
    assert not ((t.study == "Xu 2019") & (t.timepoint == "baseline")).any()
    assert "excluded" in set(ex.verification_log(integer_outcomes=["MELD"])["resolution"])
