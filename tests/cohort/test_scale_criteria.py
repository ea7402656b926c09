"""Eligibility criteria at scale: the same attrition table and included set in DuckDB, Spark and in memory.

The reference is the in-memory engine (read_omop + eligibility / build_cohort) on the same OMOP
Parquet sample (tests/cohort/scale_reference.py). Every comparison is exact: each attrition row
(step, counts, unknowns, wording), every person's status (included, step, criterion, reason, every
criterion failed, group) and the visit table.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hepatostat.cohort import load_criteria, parse_criteria, scale
from hepatostat.datasets.synthetic_omop import generate_omop
from hepatostat.errors import InputError

from . import scale_reference as scale_ref

N = 150


@pytest.fixture(scope="module")
def omop(tmp_path_factory):
    return generate_omop(tmp_path_factory.mktemp("omop"), N, seed=4, chunk_persons=150)


def _same_steps(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)


# ---- a hand-made sample with the awkward cases ---------------------------------------------------


def _edge_tables(d) -> dict:
    """person, person_attribute, drug_exposure, measurement with missing values, text flags, 0/1 numbers,
    padded and hyphenated text, impossible birth dates and persons without infusions."""
    n = 200
    rng = np.random.default_rng(11)
    pid = np.arange(1, n + 1, dtype=np.int64)
    yob = rng.integers(1940, 2005, n).astype(float)
    yob[[3, 17]] = np.nan
    mob = rng.integers(1, 13, n).astype(float)
    dob = rng.integers(1, 29, n).astype(float)
    mob[5], dob[5] = 2, 30  # 30 February: no date of birth, so no age (as the import reads it)
    mob[6] = np.nan  # month missing: July, as the import assumes
    person = pd.DataFrame({"person_id": pid, "gender_concept_id": np.where(rng.random(n) < 0.4, 8532, 8507),
                           "year_of_birth": yob, "month_of_birth": mob, "day_of_birth": dob})
    diag = rng.choice(["Liver-Failure ", " cirrhosis", "liver failure", "CHB", "NA", "cirrhosis"], n)
    hbsag = rng.integers(0, 30, n).astype(float)
    hbsag[[2, 9, 21]] = np.nan
    smoker = rng.choice(["No", " NA ", "n", "yes", "Y"], n, p=[0.5, 0.2, 0.2, 0.05, 0.05])
    dialysis = pd.array((rng.random(n) < 0.15).astype(int), dtype="Int64")
    dialysis[[4, 8]] = pd.NA
    cancer = pd.array(rng.random(n) < 0.15, dtype="boolean")
    cancer[[1, 12, 30]] = pd.NA
    site = rng.choice([" A", "B ", "c", "n/a"], n)
    score = rng.normal(5, 2, n)
    score[[7, 25]] = np.nan
    attr = pd.DataFrame({"person_id": pid, "Diagnosis": diag, "HBsAg months": hbsag, "smoker": smoker,
                         "dialysis": dialysis, "liver_cancer": cancer, "site": site, "risk_score": score,
                         "enrolled": pd.to_datetime("2014-06-01") + pd.to_timedelta(rng.integers(0, 400, n), "D")})
    rows = []
    for p in pid:
        if p % 13 == 0:
            continue  # no infusion record
        first = pd.Timestamp("2014-01-01") + pd.Timedelta(days=int(rng.integers(0, 700)))
        k = int(rng.choice([1, 4, 8]))
        for j in range(k):
            rows.append((len(rows) + 1, p, first + pd.Timedelta(days=7 * j), float(rng.choice([0.5, 1.0, 2.0]))))
    de = pd.DataFrame(rows, columns=["drug_exposure_id", "person_id", "drug_exposure_start_date", "quantity"])
    de["drug_exposure_start_date"] = de["drug_exposure_start_date"].dt.date
    m = []
    for p, g in de.groupby("person_id"):
        first = g["drug_exposure_start_date"].min()
        for test, loinc, unit, v in (("alt", "1742-6", "U/L", 80.0), ("bilirubin", "1975-2", "mg/dL", 3.0)):
            if rng.random() < 0.8:
                m.append((len(m) + 1, p, first - pd.Timedelta(days=int(rng.integers(0, 10))), v * rng.uniform(0.5, 2),
                          unit, loinc))
    meas = pd.DataFrame(m, columns=["measurement_id", "person_id", "measurement_date", "value_as_number",
                                    "unit_source_value", "measurement_source_value"])
    tables = {"person": person, "person_attribute": attr, "drug_exposure": de, "measurement": meas}
    for name, f in tables.items():
        f.to_parquet(d / f"{name}.parquet", index=False)
    return tables


EDGE_CRITERIA = {
    "name": "edge cases",
    "inclusion": [
        {"id": "inc_hbsag", "label": "HBsAg", "when": "hbsag_months >= 3"},
        {"id": "inc_dx", "label": "Diagnosis", "when": "diagnosis in ['liver_failure', 'cirrhosis']"},
        {"id": "inc_age", "label": "Adult", "when": "age between 18 and 75 or age is missing"},
        {"id": "inc_when", "label": "Treated 2014-2015", "when": "first_infusion < '2015-09-01'"},
    ],
    "exclusion": [
        {"id": "exc_smoker", "when": "smoker"},
        {"id": "exc_dialysis", "when": "dialysis == 1"},
        {"id": "exc_cancer", "when": "liver_cancer and not (site == 'A')"},
        {"id": "exc_score", "when": "risk_score > 8.5 or site not in ['A', 'B', 'c']"},
        {"id": "exc_dose", "when": "total_dose > 9 and n_infusions >= 8"},
        {"id": "exc_late", "when": "enrolled > '2015-05-01 12:00'"},
    ],
    "group": [
        {"id": "long", "label": "Long course", "when": "course_weeks > 4"},
        {"id": "short", "label": "Short course", "when": "course_weeks <= 4 and sex in ['F', 'M']"},
    ],
    "visits": {"outcomes": ["alt", "bilirubin"], "require_baseline": ["alt"]},
}


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    d = tmp_path_factory.mktemp("edge")
    _edge_tables(d)
    return d


# ---- DuckDB = in memory ---------------------------------------------------------------------------


def test_seed_criteria_give_the_in_memory_attrition_in_duckdb(omop, tmp_path):
    spec = load_criteria("seed_jia2020")
    got = scale.eligibility_at_scale(omop.path, criteria=spec, out=tmp_path / "p.parquet", memory_limit="1GB")
    ref = scale_ref.eligibility_reference(omop.path, criteria=spec)
    _same_steps(got.steps, ref.steps)
    pd.testing.assert_frame_equal(got.groups, ref.groups, check_dtype=False)
    assert scale_ref.same_persons(got.persons(), ref) == []
    assert got.n_included == ref.n_included and 0 < got.n_included < N
    assert got.steps["n_excluded"].iloc[1:].gt(0).sum() >= 8  # the sample exercises most steps
    assert got.synthetic and "SYNTHETIC" in got.summary()
    assert got.to_attrition().summary() == ref.summary()  # a real Attrition, printed as the in-memory one


def test_extraction_with_criteria_equals_build_cohort(omop, tmp_path):
    spec = load_criteria("seed_jia2020")
    res = scale.extract_at_scale(omop.path, out=tmp_path / "v.parquet", criteria=spec, memory_limit="1GB")
    att, long = scale_ref.build_reference(omop.path, criteria=spec)
    _same_steps(res.attrition.steps, att.steps)
    assert res.attrition.steps["stage"].iloc[-1] == "baseline" and res.attrition.steps["n_excluded"].iloc[-1] > 0
    assert scale_ref.same_persons(res.attrition.persons(), att) == []
    got = res.to_frame()
    assert not any(scale.compare_visits(got, long).values())
    key = ["person_id", "outcome", "visit"]
    merged = got.merge(long, on=key, suffixes=("", "_ref"))
    assert len(merged) == len(got) and (merged["group"] == merged["group_ref"]).all()
    assert res.n_persons == att.n_included == got["person_id"].nunique()
    assert res.n_output_rows == res.n_persons * len(spec.visits.outcomes) * len(spec.visits.windows)
    assert "baseline" in res.summary() and res.to_dict()["attrition"]["n_included"] == res.n_persons
    assert set(res.step_seconds) == {"prepare", "counts", "criteria", "extract"}
    assert res.n_no_infusion == int(att.steps.loc[1, "n_excluded"])


def test_awkward_data_give_the_in_memory_attrition(edge, tmp_path):
    spec = parse_criteria(EDGE_CRITERIA)
    got = scale.eligibility_at_scale(edge, criteria=spec, out=tmp_path / "p.parquet", memory_limit="1GB")
    ref = scale_ref.eligibility_reference(edge, criteria=spec)
    _same_steps(got.steps, ref.steps)
    assert scale_ref.same_persons(got.persons(), ref) == []
    # the sample has unknown inclusion criteria with the missing fields named, and unknown exclusions
    assert got.steps.set_index("criterion").loc["inc_hbsag", "n_missing"] > 0
    reasons = got.persons()["reason"].dropna()
    assert reasons.str.contains(r"\(missing: hbsag_months\)").any()


def test_awkward_data_through_the_whole_extraction(edge, tmp_path):
    spec = parse_criteria(EDGE_CRITERIA)
    res = scale.extract_at_scale(edge, out=tmp_path / "v.parquet", criteria=spec, memory_limit="1GB")
    att, long = scale_ref.build_reference(edge, criteria=spec)
    _same_steps(res.attrition.steps, att.steps)
    assert scale_ref.same_persons(res.attrition.persons(), att) == []
    assert not any(scale.compare_visits(res.to_frame(), long).values())


# ---- what SQL cannot do, and bad criteria: clear errors naming the criterion ---------------------------


def _spec(when, kind="inclusion"):
    return parse_criteria({"name": "t", kind: [{"id": "crit_x", "when": when}]})


def test_unknown_fields_and_wrong_types_are_errors_naming_the_criterion(edge):
    with pytest.raises(InputError, match=r"inclusion criterion 'crit_x' \(weight > 50\) names unknown field"):
        scale.eligibility_at_scale(edge, criteria=_spec("weight > 50"), memory_limit="1GB")
    with pytest.raises(InputError, match=r"inclusion criterion 'crit_x' \(age == 'old'\): field 'age' is numeric"):
        scale.eligibility_at_scale(edge, criteria=_spec("age == 'old'"), memory_limit="1GB")
    with pytest.raises(InputError, match=r"exclusion criterion 'crit_x' \(site\): field 'site' is text"):
        scale.eligibility_at_scale(edge, criteria=_spec("site", "exclusion"), memory_limit="1GB")


def test_a_field_sql_cannot_compare_is_an_error_not_a_different_answer(edge, tmp_path):
    for f in edge.iterdir():
        shutil.copy(f, tmp_path)
    attr = pq.read_table(edge / "person_attribute.parquet")
    codes = pa.array([[1, 2]] * attr.num_rows, pa.list_(pa.int64()))
    pq.write_table(attr.append_column("icd_codes", codes), tmp_path / "person_attribute.parquet")
    with pytest.raises(InputError, match=r"inclusion criterion 'crit_x' \(icd_codes is missing\) cannot be "
                                         r"evaluated in SQL: field 'icd_codes'"):
        scale.eligibility_at_scale(tmp_path, criteria=_spec("icd_codes is missing"), memory_limit="1GB")


def test_overlapping_groups_and_duplicate_persons_are_errors(edge, tmp_path):
    spec = parse_criteria({"name": "t", "group": [{"id": "a", "when": "n_infusions >= 1"},
                                                   {"id": "b", "when": "n_infusions >= 4"}]})
    with pytest.raises(InputError, match=r"groups 'a' and 'b' overlap for person_id"):
        scale.eligibility_at_scale(edge, criteria=spec, memory_limit="1GB")
    for f in edge.iterdir():
        shutil.copy(f, tmp_path)
    p = pd.read_parquet(edge / "person.parquet")
    pd.concat([p, p.iloc[:2]]).to_parquet(tmp_path / "person.parquet", index=False)
    with pytest.raises(InputError, match="duplicate person_id"):
        scale.eligibility_at_scale(tmp_path, criteria=_spec("age > 1"), memory_limit="1GB")


def test_an_impossible_birth_month_is_an_error_as_at_import(edge, tmp_path):
    for f in edge.iterdir():
        shutil.copy(f, tmp_path)
    p = pd.read_parquet(edge / "person.parquet")
    p.loc[0, "month_of_birth"] = 13
    p.to_parquet(tmp_path / "person.parquet", index=False)
    with pytest.raises(InputError, match=r"month_of_birth must be a whole number from 1 to 12"):
        scale.eligibility_at_scale(tmp_path, criteria=_spec("age > 1"), memory_limit="1GB")


def test_criteria_by_bundled_name(omop):
    res = scale.eligibility_at_scale(omop.path, criteria="seed_jia2020", memory_limit="1GB")
    assert res.name.startswith("Jia et al. 2020") and res.persons_path is None
    with pytest.raises(InputError, match="no per-person table"):
        res.persons()


# ---- Spark (local mode) = DuckDB = in memory --------------------------------------------------------


@pytest.fixture(scope="module")
def spark():
    if shutil.which("java") is None:
        pytest.skip("Spark test needs Java 17+ on the PATH (java not found)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyspark warns about pandas 3
        pytest.importorskip("pyspark", reason="Spark test needs pyspark (pip install pyspark)", exc_type=ImportError)
        from pyspark.sql import SparkSession
    s = (SparkSession.builder.master("local[2]").appName("hepatostat-test-criteria")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.shuffle.partitions", "2").config("spark.sql.session.timeZone", "UTC").getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_gives_the_same_attrition_and_visits(omop, edge, spark, tmp_path):
    seed = load_criteria("seed_jia2020")
    res = scale.extract_spark(omop.path, out=str(tmp_path / "spark"), criteria=seed, spark=spark)
    duck = scale.extract_at_scale(omop.path, out=tmp_path / "d.parquet", criteria=seed, memory_limit="1GB")
    _same_steps(res.attrition.steps, duck.attrition.steps)
    att, long = scale_ref.build_reference(omop.path, criteria=seed)
    assert scale_ref.same_persons(res.attrition.persons(), att) == []
    assert not any(scale.compare_visits(res.to_frame(), long).values())

    spec = parse_criteria(EDGE_CRITERIA)
    got = scale.eligibility_spark(edge, criteria=spec, out=str(tmp_path / "edge_persons"), spark=spark)
    ref = scale_ref.eligibility_reference(edge, criteria=spec)
    _same_steps(got.steps, ref.steps)
    assert scale_ref.same_persons(got.persons(), ref) == []
