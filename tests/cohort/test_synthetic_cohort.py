"""The SYNTHETIC cohort: labelled, reproducible, and shaped like Jia et al. 2020.

Design numbers from the paper (doi:10.1186/s13287-020-01787-4): section 3.1 (513 treated, 123
analysed; A = 37, B = 27, C = 28, D = 31) and Table 1 (baseline medians and quartiles; TBIL in µmol/L
although printed "mmol/L"; sex counts from Table 2, as Table 1 prints C and D swapped).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from hepatostat.cohort import build_cohort, cohort_data, load_criteria
from hepatostat.datasets import synthetic_cohort as sc


@pytest.fixture(scope="module")
def shipped():
    return sc.load()


@pytest.fixture(scope="module")
def built():
    return build_cohort(sc.load_cohort(), load_criteria("seed_jia2020"))


def test_shipped_files_are_what_the_simulator_makes(shipped):
    fresh = sc.simulate()
    for name in ("persons", "treatments", "labs"):
        pd.testing.assert_frame_equal(shipped[name], fresh[name], check_dtype=False)


def test_every_table_is_marked_synthetic(shipped):
    from importlib import resources

    for name, frame in shipped.items():
        assert frame["synthetic"].all()
        with resources.as_file(resources.files("hepatostat.datasets").joinpath("data", sc.FILES[name])) as p:
            assert p.name.startswith("synthetic_") and p.stat().st_size < 700_000
            meta = pq.read_schema(p).metadata
        assert meta[b"hepatostat.synthetic"] == b"true" and b"SYNTHETIC" in meta[b"hepatostat.description"]
    assert "SYNTHETIC" in sc.__doc__ and "Not real patients" in sc.__doc__
    assert sc.load_cohort().synthetic


def test_attrition_reproduces_the_design(built):
    att = built.attrition
    steps = att.steps
    assert (steps["n_after"] == steps["n_before"] - steps["n_excluded"]).all()
    assert att.n_screened == 513 and att.n_included == 123
    excluded = dict(zip(steps["criterion"], steps["n_excluded"]))
    assert {k: excluded[k] for k in sc.DESIGN["first_failure"]} == sc.DESIGN["first_failure"]
    assert dict(zip(att.groups["group"], att.groups["n"])) == {"A": 37, "B": 27, "C": 28, "D": 31}
    assert steps["n_excluded"].sum() == 513 - 123
    assert steps.set_index("criterion").loc["exc_B", "n_missing"] > 0  # unrecorded conditions do not exclude


def test_baseline_is_close_to_table_1(built):
    wide = built.visits.wide
    for g, t in sc.TABLE1.items():
        sub = wide[wide["group"] == g]
        assert (sub["sex"] == "M").sum() == t["sex"][0]
        checks = {"age": sub["age"], "alt": sub["alt_W0"], "ast": sub["ast_W0"],
                  "tbil": sub["bilirubin_W0"] * 17.1, "pta": sub["pta_W0"]}
        for var, values in checks.items():
            # SPSS quartiles (HAVERAGE) = Hyndman-Fan type 6 = numpy's "weibull"
            q1, med, q3 = np.quantile(values.dropna().to_numpy(), [0.25, 0.5, 0.75], method="weibull")
            _, tq1, tmed, tq3, _ = t[var]
            iqr = tq3 - tq1
            assert abs(med - tmed) <= 0.25 * iqr + 1, (g, var, med, tmed)
            assert abs(q1 - tq1) <= 0.35 * iqr + 1 and abs(q3 - tq3) <= 0.35 * iqr + 1, (g, var, q1, q3)


def test_meld_is_realistic_and_outcomes_improve(built):
    wide = built.visits.wide
    meld = wide.groupby("group")["meld_W0"].median()
    assert ((meld >= 18) & (meld <= 32)).all()  # the 20s, not the paper's unit-error 78
    assert (wide.groupby("group")["bilirubin_cumdecline_W24"].median() > 0).all()
    assert (wide.groupby("group")["pta_cumdecline_W24"].median() < 0).all()  # PTA rises: a negative decline
    comp = built.visits.completeness()
    w24 = comp[(comp["outcome"] == "bilirubin") & (comp["visit"] == "W24")]
    assert 0 < (w24["n"] - w24["n_observed"]).sum() < 40  # some missing visits, kept as missing


def test_import_problems_are_exercised(built):
    log = built.data.exclusions
    assert log["reason"].str.startswith("implausible bilirubin").sum() >= 6
    assert log["reason"].str.startswith("implausible creatinine").any()
    assert log["reason"].str.contains("no value").any()
    assert built.data.labs["censored"].any()
    assert set(built.data.labs["unit_source"].dropna()) >= {"µmol/L", "mg/dL", "U/L", "IU/L", "g/L"}


def test_another_seed_keeps_the_design():
    t = sc.simulate(seed=7)
    res = build_cohort(cohort_data(t["persons"], t["treatments"], t["labs"]), load_criteria("seed_jia2020"))
    assert res.attrition.n_included == 123
    assert dict(zip(res.attrition.groups["group"], res.attrition.groups["n"])) == sc.DESIGN["groups"]


def test_write_formats(tmp_path):
    from hepatostat.cohort import read_cohort

    paths = sc.write(tmp_path, file_format="csv")
    assert [p.rsplit("/", 1)[1] for p in paths] == ["synthetic_cohort_persons.csv", "synthetic_cohort_treatments.csv",
                                                    "synthetic_cohort_labs.csv"]
    d = read_cohort(tmp_path)
    assert d.synthetic and d.n_persons == 513
