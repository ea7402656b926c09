"""Screening in pairs: project file, blinding, conflicts, third reviewer, kappa."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hepatostat import review
from hepatostat.errors import InputError

# --------------------------------------------------------------------------- kappa


def test_kappa_cohen_1968_table_1():
    # Cohen J (1968). Weighted kappa. Psychol Bull 70(4):213-220, Table 1: proportions of N = 200 cases
    # classified by two judges into three diagnostic categories; Cohen reports unweighted kappa = .492.
    # (The same matrix is the example of R psych::cohen.kappa: "cohen reports .492".)
    table = [[0.44, 0.07, 0.09], [0.05, 0.20, 0.05], [0.01, 0.03, 0.06]]
    k = review.cohen_kappa(table=table, n=200)
    assert round(k.kappa, 3) == 0.492
    assert k.po == pytest.approx(0.70, abs=1e-12) and k.pe == pytest.approx(0.41, abs=1e-12)
    assert k.kappa == pytest.approx(0.29 / 0.59, abs=1e-12)
    # Cohen 1960 large-sample SE sqrt(po(1-po)/(N(1-pe)^2)), by hand
    assert k.se == pytest.approx(math.sqrt(0.7 * 0.3 / (200 * 0.59 ** 2)), abs=1e-12)


def test_kappa_hand_computed_from_votes():
    # 50 records: 20 include/include, 5 include/exclude, 10 exclude/include, 15 exclude/exclude.
    # po = 35/50 = 0.7; rater 1 includes 25/50, rater 2 30/50; pe = .5*.6 + .5*.4 = .5; kappa = .2/.5 = .4
    a = ["include"] * 25 + ["exclude"] * 25
    b = ["include"] * 20 + ["exclude"] * 5 + ["include"] * 10 + ["exclude"] * 15
    k = review.cohen_kappa(a, b)
    assert (k.n, k.po, k.pe) == (50, pytest.approx(0.7), pytest.approx(0.5))
    assert k.kappa == pytest.approx(0.4, abs=1e-12)
    assert k.se == pytest.approx(math.sqrt(0.7 * 0.3 / (50 * 0.25)), abs=1e-12)
    assert k.ci_low == pytest.approx(0.4 - 1.959963984540054 * k.se, abs=1e-12)
    np.testing.assert_array_equal(k.table, [[15, 10], [5, 20]])  # categories sorted: exclude, include


def test_kappa_degenerate_and_errors():
    k = review.cohen_kappa(["exclude"] * 4, ["exclude"] * 4)
    assert math.isnan(k.kappa) and "not defined" in k.summary()
    assert review.cohen_kappa(["a", "b"], ["b", "a"]).kappa == pytest.approx(-1.0)
    with pytest.raises(InputError, match="rate the same items"):
        review.cohen_kappa(["a"], ["a", "b"])
    with pytest.raises(InputError, match="must be square"):
        review.cohen_kappa(table=[[1, 2, 3]])


# --------------------------------------------------------------------------- the workflow

def _sheet(project, reviewer, stage, tmp_path, suffix=".csv"):
    out = project.export_sheet(reviewer, stage, tmp_path / f"{reviewer}_{stage}{suffix}")
    if suffix == ".csv":
        return pd.read_csv(out, dtype=str, keep_default_na=False)
    return pd.read_excel(out, dtype=str, keep_default_na=False)


def _save(frame, path):
    if str(path).endswith(".xlsx"):
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def test_project_created_with_duplicates_removed(project):
    st = project.status()
    assert (st.records_in, st.duplicates_removed, st.unique, st.uncertain_pairs) == (22, 9, 13, 1)
    assert st.stages[0]["eligible"] == 13 and st.stages[1]["eligible"] == 0
    assert len(project.records()) == 13 and len(project.records(unique_only=False)) == 22


def test_round_trip_blinding_conflicts_resolution_kappa(project, tmp_path):
    ta = "title_abstract"
    yl = _sheet(project, "YL", ta, tmp_path, ".xlsx")
    assert len(yl) == 13 and (yl["decision"] == "").all()
    assert list(yl.columns) == ["record_id", "title", "authors", "year", "journal", "doi", "pmid", "abstract",
                                "decision", "reason", "note"]
    # YL includes the first 8 records, excludes the rest; leaves one blank for now
    yl["decision"] = ["include"] * 8 + ["exclude"] * 5
    yl.loc[12, "decision"] = ""
    yl.loc[8, "reason"] = "animal study"
    rep = project.import_sheet(_save(yl, tmp_path / "yl.xlsx"), "YL", ta)
    assert (rep.recorded, rep.blank) == (12, 1)

    # blinding: YD's sheet shows none of YL's votes, and no conflict is visible yet
    yd = _sheet(project, "YD", ta, tmp_path)
    assert (yd["decision"] == "").all() and (yd["reason"] == "").all()
    assert project.conflicts(ta).empty
    # YL's own sheet shows YL's own decisions back
    again = _sheet(project, "YL", ta, tmp_path)
    assert list(again["decision"][:9]) == ["include"] * 8 + ["exclude"] and again["reason"][8] == "animal study"

    # YD disagrees on records 7 and 8 (0-based 6, 7) and on 9
    yd["decision"] = ["include"] * 6 + ["exclude"] * 7
    yd.loc[8, "decision"] = "include"
    project.import_sheet(_save(yd, tmp_path / "yd.csv"), "YD", ta)
    c = project.conflicts(ta)
    ids = list(yl["record_id"])
    assert set(c["record_id"]) == {ids[6], ids[7], ids[8]}
    row = c.set_index("record_id").loc[ids[8]]
    assert row["votes"] == "YD: include; YL: exclude (animal study)"
    # the record YL left blank has one vote only: pending, not a conflict
    fin = project.final_decisions(ta).set_index("record_id")
    assert fin.loc[ids[12], "status"] == "pending"

    # kappa on the 12 records both decided, by hand: YL inc 8 / exc 4; YD inc 7 / exc 5; agree 9
    k = project.kappa(ta)
    assert len(k) == 1 and k[0].raters == ("YD", "YL") and k[0].n == 12
    po, pe = 9 / 12, (8 / 12) * (7 / 12) + (4 / 12) * (5 / 12)
    assert k[0].kappa == pytest.approx((po - pe) / (1 - pe), abs=1e-12)
    assert project.status().to_dict()["stages"]["title_abstract"]["kappa"][0]["kappa"] == pytest.approx(k[0].kappa)

    # a screener cannot settle a conflict; the third reviewer can
    sheet = project.export_conflicts(ta, tmp_path / "conflicts.xlsx")
    cs = pd.read_excel(sheet, dtype=str, keep_default_na=False)
    assert set(cs["record_id"]) == {ids[6], ids[7], ids[8]} and "votes" in cs.columns
    cs["decision"] = ["include", "exclude", "exclude"]
    cs["reason"] = ["", "not an RCT", "animal study"]
    with pytest.raises(InputError, match="YL screened record .* cannot settle its conflict"):
        project.resolve(_save(cs, tmp_path / "c_yl.xlsx"), "YL", ta)
    rep = project.resolve(_save(cs, tmp_path / "c_xw.xlsx"), "XW", ta)
    assert rep.recorded == 3 and rep.role == "arbiter"
    assert project.conflicts(ta).empty
    resolved = project.conflicts(ta, include_resolved=True)
    assert set(resolved["resolved_by"]) == {"XW"}

    # YL finishes the last record; the stage is complete
    yl2 = yl.copy()
    yl2.loc[12, "decision"] = "exclude"
    rep = project.import_sheet(_save(yl2, tmp_path / "yl2.csv"), "YL", ta)
    assert (rep.recorded, rep.unchanged) == (1, 12)
    s = project.status().to_dict()["stages"]["title_abstract"]
    assert (s["pending"], s["agreed"], s["conflicts"], s["resolved"], s["included"], s["excluded"]) == \
        (0, 10, 0, 3, 7, 6)

    # full text: only the 7 included records, exclusions need a reason
    ft = "full_text"
    a = _sheet(project, "YL", ft, tmp_path)
    assert len(a) == 7 and set(a["record_id"]) == set(ids[:7])
    a["decision"] = ["include"] * 4 + ["exclude", "exclude", "not_retrieved"]
    a.loc[4, "reason"] = "no control group"
    with pytest.raises(InputError, match=r"row 7, column 'reason': a full-text exclusion needs a reason"):
        project.import_sheet(_save(a, tmp_path / "a.csv"), "YL", ft)
    a.loc[5, "reason"] = "No control group"
    project.import_sheet(_save(a, tmp_path / "a.csv"), "YL", ft)
    b = _sheet(project, "YD", ft, tmp_path)
    b["decision"] = list(a["decision"])
    b["reason"] = ["", "", "", "", "no control group", "not an RCT", ""]
    project.import_sheet(_save(b, tmp_path / "b.csv"), "YD", ft)
    c = project.conflicts(ft)
    assert list(c["record_id"]) == [ids[5]] and c["conflict"].iloc[0] == "reason"
    project.resolve([{"record_id": ids[5], "decision": "exclude", "reason": "not an RCT"}], "XW", ft)

    flow = project.prisma()
    assert flow.databases == (("PubMed", 8), ("Embase", 7), ("Web of Science", 7))
    assert (flow.identified, flow.duplicates_removed, flow.screened, flow.excluded) == (22, 9, 13, 6)
    assert dict(flow.excluded_reasons) == {"animal study": 1, "no reason given": 4, "not an RCT": 1}
    assert (flow.sought, flow.not_retrieved, flow.assessed, flow.reports_excluded) == (7, 1, 6, 2)
    assert dict(flow.reports_excluded_reasons) == {"no control group": 1, "not an RCT": 1}
    assert (flow.studies_included, flow.reports_included) == (4, 4)


def test_conflicting_decisions_same_reviewer(project, tmp_path):
    s = _sheet(project, "YL", "title_abstract", tmp_path)
    rid = s["record_id"][0]
    rows = pd.DataFrame({"record_id": [rid, "x", rid], "decision": ["include", "", "exclude"]})
    rows.loc[1, "record_id"] = ""
    with pytest.raises(InputError, match=rf"row 4, column 'decision', value 'exclude': conflicting decisions on "
                                         rf"record '{rid}' by the same reviewer: row 2 says 'include', row 4 says "
                                         "'exclude'"):
        project.import_sheet(_save(rows, tmp_path / "c.csv"), "YL", "title_abstract")
    # the same decision twice is fine
    ok = pd.DataFrame({"record_id": [rid, rid], "decision": ["include", "yes"]})
    assert project.import_sheet(_save(ok, tmp_path / "ok.csv"), "YL", "title_abstract").recorded == 1
    # changing a stored decision needs replace
    later = pd.DataFrame({"record_id": [rid], "decision": ["exclude"]})
    with pytest.raises(InputError, match="YL already recorded 'include' and this file says 'exclude'"):
        project.import_sheet(_save(later, tmp_path / "l.csv"), "YL", "title_abstract")
    rep = project.import_sheet(tmp_path / "l.csv", "YL", "title_abstract", replace=True)
    assert rep.replaced == 1


def test_bad_sheet_input(project, tmp_path):
    rid = project.records()["record_id"][0]
    bad = pd.DataFrame({"record_id": [rid], "decision": ["perhaps"]})
    with pytest.raises(InputError, match=r"value 'perhaps': unknown decision; allowed at the title_abstract stage: "
                                         "include, exclude, maybe"):
        project.import_sheet(_save(bad, tmp_path / "b.csv"), "YL", "title_abstract")
    unknown = pd.DataFrame({"record_id": ["nope#1"], "decision": ["include"]})
    with pytest.raises(InputError, match="unknown record id 'nope#1'"):
        project.import_sheet(_save(unknown, tmp_path / "u.csv"), "YL", "title_abstract")
    dup = pd.DataFrame({"record_id": ["example_embase.ris#1"], "decision": ["include"]})
    with pytest.raises(InputError, match="was removed as a duplicate of 'example_pubmed.nbib#1'"):
        project.import_sheet(_save(dup, tmp_path / "d.csv"), "YL", "title_abstract")
    early = pd.DataFrame({"record_id": [rid], "decision": ["include"]})
    with pytest.raises(InputError, match="is not at the full_text stage"):
        project.import_sheet(_save(early, tmp_path / "e.csv"), "YL", "full_text")
    with pytest.raises(InputError, match="missing column 'decision'"):
        project.import_sheet(_save(pd.DataFrame({"record_id": [rid]}), tmp_path / "m.csv"), "YL", "title_abstract")
    with pytest.raises(InputError, match="unknown screening stage 'abstracts'"):
        project.export_sheet("YL", "abstracts", tmp_path / "x.csv")
    with pytest.raises(InputError, match="has no conflict"):
        project.resolve([{"record_id": rid, "decision": "include"}], "XW", "title_abstract")


def test_mark_duplicate_and_existing_project(project, tmp_path):
    project.mark_duplicate("example_embase.ris#6", of="example_pubmed.nbib#4")
    st = project.status()
    assert (st.duplicates_removed, st.unique, st.uncertain_pairs) == (10, 12, 0)
    with pytest.raises(InputError, match="already exists"):
        review.create_project(project.path, review.example_paths())
    with pytest.raises(InputError, match="no screening project here"):
        review.open_project(tmp_path / "missing.duckdb")


def test_relevance_order_and_scores(project, tmp_path):
    texts = ["mesenchymal stem cells randomized trial cirrhosis", "rat model thioacetamide fibrosis",
             "randomized controlled trial stem cells liver failure", "review of animal models"]
    p = review.relevance_scores(texts, [1, 0, 1, 0], ["randomized trial of stem cells", "animal rat model"])
    assert p[0] > 0.5 > p[1]
    assert np.isnan(review.relevance_scores(texts[:1], [1], ["x"])).all()
    ids = list(project.records()["record_id"])
    trial_like = [i for i, t in zip(ids, project.records()["title"]) if "trial" in t.lower()]
    votes = [{"record_id": i, "decision": "include" if i in trial_like else "exclude"} for i in ids[:9]]
    project.record_decisions(votes, "YL", "title_abstract")
    out = project.export_sheet("YD", "title_abstract", tmp_path / "r.csv", order="relevance")
    sheet = pd.read_csv(out)
    # YD has no votes and nothing is settled: no training data, input order kept (YL's votes never leak)
    assert sheet["relevance"].isna().all() and list(sheet["record_id"]) == ids
    out = project.export_sheet("YL", "title_abstract", tmp_path / "s.csv", order="relevance")
    sheet = pd.read_csv(out)
    undecided = sheet[sheet["decision"].isna()]
    assert list(undecided["relevance"]) == sorted(undecided["relevance"], reverse=True)
    assert len(undecided) == 4 and sheet["decision"].iloc[4:].notna().all()


def test_schema1_project_migrated_to_append_only_events(project, tmp_path):
    """Regression (issue 18): schema-1 projects deleted a decision on --replace;
    opening one now moves every decision into the append-only event table."""
    import duckdb

    rid = project.records()["record_id"][0]
    con = duckdb.connect(str(project.path))
    con.execute("DROP VIEW decisions")
    con.execute("DROP TABLE decision_events")
    con.execute("CREATE TABLE decisions (record_id VARCHAR, stage VARCHAR, reviewer VARCHAR, role VARCHAR, "
                "decision VARCHAR, reason VARCHAR, note VARCHAR, source VARCHAR, decided_at VARCHAR, "
                "PRIMARY KEY (record_id, stage, reviewer))")
    con.execute("INSERT INTO decisions VALUES (?, 'title_abstract', 'YL', 'screener', 'exclude', 'animal study', "
                "NULL, 'old.xlsx', '2026-01-01T00:00:00+00:00')", [rid])
    con.execute("UPDATE project SET value = '1' WHERE key = 'schema_version'")
    con.close()
    p = review.open_project(project.path)
    assert p.meta["schema_version"] == "2"
    h = p.history()
    assert list(h["decision"]) == ["exclude"] and h["event_id"].iloc[0] == 1 and h["source"].iloc[0] == "old.xlsx"
    # a change is now a new event; the old one stays
    p.record_decisions([{"record_id": rid, "decision": "include"}], "YL", "title_abstract", replace=True)
    assert list(review.open_project(project.path).history()["decision"]) == ["exclude", "include"]
    assert p.final_decisions("title_abstract").set_index("record_id").loc[rid, "votes"] == 1
