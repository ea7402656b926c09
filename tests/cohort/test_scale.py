"""Cohort extraction at scale: the synthetic OMOP generator, DuckDB over Parquet, pandas, Spark.

The pandas version and the existing-engine reference live in tests/cohort/scale_reference.py.

The reference for every comparison is the existing engine (read_omop + extract_visits) on the
same generated sample, and hepatostat.scores for MELD; all comparisons are exact (bit for bit).
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hepatostat import scores, units
from hepatostat.cohort import VisitSpec, load_criteria, scale
from hepatostat.cohort.visits import visit_lab_tests, visit_tables, window_table
from hepatostat.errors import InputError

from . import scale_reference as scale_ref

N = 300


@pytest.fixture(scope="module")
def omop(tmp_path_factory):
    d = tmp_path_factory.mktemp("omop")
    return scale.generate_omop(d, N, seed=1, chunk_persons=150)


@pytest.fixture(scope="module")
def duck(omop, tmp_path_factory):
    out = tmp_path_factory.mktemp("duck") / "visits.parquet"
    return scale.extract_at_scale(omop.path, out=out, memory_limit="1GB", threads=2)


@pytest.fixture(scope="module")
def duck_table(duck):
    return duck.to_frame()


def _identical(diff):
    return all(v == 0 for v in diff.values())


# ---- generator ---------------------------------------------------------------------------


def test_generation_is_deterministic_per_seed(omop, tmp_path):
    again = scale.generate_omop(tmp_path / "a", N, seed=1, chunk_persons=150)
    other = scale.generate_omop(tmp_path / "b", N, seed=2, chunk_persons=150)
    for t, f in omop.files.items():
        assert pq.read_table(f).equals(pq.read_table(again.files[t])), t
    assert not pq.read_table(omop.files["measurement"]).equals(pq.read_table(other.files["measurement"]))
    assert (again.n_measurement, again.n_drug_exposure) == (omop.n_measurement, omop.n_drug_exposure)


def test_blocks_are_independent_so_a_smaller_set_is_a_prefix(omop, tmp_path):
    small = scale.generate_omop(tmp_path / "s", 150, seed=1, chunk_persons=150)
    big = pq.read_table(omop.files["measurement"]).to_pandas()
    part = pq.read_table(small.files["measurement"]).to_pandas()
    pd.testing.assert_frame_equal(big[big["person_id"] <= 150].reset_index(drop=True), part)


def test_generated_files_are_labelled_synthetic(omop):
    for t, f in omop.files.items():
        assert f.rsplit("/", 1)[-1].startswith("synthetic_omop_")
        assert pq.read_schema(f).metadata[b"hepatostat.synthetic"] == b"true"
        if t != "concept":
            assert pq.read_table(f, columns=["synthetic"]).column(0).to_pandas().all()
    assert "SYNTHETIC" in omop.summary()


def test_generated_measurements_are_loinc_coded_in_mixed_units(omop):
    m = pq.read_table(omop.files["measurement"]).to_pandas()
    c = pq.read_table(omop.files["concept"]).to_pandas()
    assert set(m["measurement_source_value"].astype(str)) == {t.loinc for t in units.TESTS.values()}
    code = dict(zip(c["concept_id"], c["concept_code"]))
    assert (m["measurement_concept_id"].map(code) == m["measurement_source_value"].astype(str)).all()
    bili = m[m["measurement_source_value"] == units.TESTS["bilirubin"].loinc]
    assert {"µmol/L", "mg/dL"} <= set(bili["unit_source_value"].dropna().astype(str))
    assert abs(len(m) / N - 100) < 10  # about labs_per_person rows per person
    assert (m["operator_concept_id"] == 4171756).any() and m["value_as_number"].isna().any()


def test_generator_arguments_are_checked(tmp_path):
    with pytest.raises(InputError, match="n_persons must be an integer >= 1"):
        scale.generate_omop(tmp_path, 0)
    with pytest.raises(InputError, match="labs_per_person"):
        scale.generate_omop(tmp_path, 10, labs_per_person=0)


# ---- DuckDB = pandas = the existing engine ----------------------------------------------------


def test_duckdb_equals_pandas_and_the_existing_engine(omop, duck_table):
    pand = scale_ref.extract_pandas(omop.path)
    ref = scale_ref.extract_reference(omop.path)
    assert _identical(scale.compare_visits(duck_table, pand))
    assert _identical(scale.compare_visits(duck_table, ref))


def test_the_sample_exercises_the_rules(omop, duck, duck_table):
    long = duck_table
    m = pq.read_table(omop.files["measurement"]).to_pandas()
    key = ["person_id", "measurement_source_value", "measurement_date"]
    same_day = m[m.duplicated(key, keep=False)]
    chosen = set(long["source_row"].dropna().astype(int))
    assert chosen & set(same_day["measurement_id"])  # same-day ties were decided
    assert long["value"].isna().any() and (long["censored"] == "<").any()
    assert long["decline_interval"].notna().any() and long["decline_cumulative"].notna().any()
    rows = duck.lab_rows.set_index("test")
    assert rows["no_value"].sum() > 0
    assert (rows["n_rows"] == rows[["used", "no_value", "implausible", "no_date"]].sum(axis=1)).all()
    assert rows["n_rows"].sum() == duck.n_measurement_rows == omop.n_measurement
    spec = VisitSpec.default()
    assert duck.n_output_rows == duck.n_persons * len(spec.outcomes) * len(spec.windows) == len(long)
    assert 0 < duck.n_no_infusion < N and duck.synthetic


def test_the_scale_engine_runs_visit_sql_itself_with_the_windows_of_visits_py():
    """visits.window_table and visits.visit_lab_tests (added for this module) give visit_tables' inputs."""
    from hepatostat.cohort import visits

    from .tiny_cohort import tiny_data

    assert scale.VISIT_SQL is visits.VISIT_SQL
    for spec in (VisitSpec.default(), VisitSpec.default(outcomes=("alt", "meld_na")), load_criteria("seed_jia2020").visits):
        tables = visit_tables(tiny_data(), ["P1", "P2"], spec)
        pd.testing.assert_frame_equal(tables["windows"], window_table(spec))
        assert tables["outcomes"]["test"].tolist() == visit_lab_tests(spec)
    assert visit_lab_tests(VisitSpec.default(outcomes=("alt", "meld_na"))) == ["alt", "bilirubin", "inr", "creatinine",
                                                                            "sodium"]


def test_last_infusion_anchor_and_fewer_outcomes(omop, duck_table, tmp_path):
    spec = VisitSpec.default(anchor="last_infusion")
    res = scale.extract_at_scale(omop.path, out=tmp_path / "v.parquet", spec=spec, outcomes=["TBIL", "meld"],
                                 memory_limit="1GB")
    got = res.to_frame()
    assert set(got["outcome"]) == {"bilirubin", "meld"}
    assert _identical(scale.compare_visits(got, scale_ref.extract_pandas(omop.path, spec=spec, outcomes=["TBIL", "meld"])))
    assert _identical(scale.compare_visits(got, scale_ref.extract_reference(omop.path, spec=spec,
                                                                        outcomes=["TBIL", "meld"])))
    base = duck_table[(duck_table["outcome"] == "bilirubin") & (duck_table["visit"] == "W0")]
    mine = got[(got["outcome"] == "bilirubin") & (got["visit"] == "W0")]
    assert base["value"].equals(mine["value"].set_axis(base.index))  # the baseline stays at the first infusion


def test_tests_identified_by_source_value_without_a_concept_table(omop, duck_table, tmp_path):
    for t, f in omop.files.items():
        if t != "concept":
            shutil.copy(f, tmp_path)
    res = scale.extract_at_scale(tmp_path, out=tmp_path / "out" / "v.parquet", memory_limit="1GB")
    assert _identical(scale.compare_visits(res.to_frame(), duck_table))


def test_criteria_file_windows_are_used(omop, tmp_path):
    spec = load_criteria("seed_jia2020").visits
    res = scale.extract_at_scale(omop.path, out=tmp_path / "v.parquet", spec=spec, memory_limit="1GB")
    assert _identical(scale.compare_visits(res.to_frame(), scale_ref.extract_pandas(omop.path, spec=spec)))


# ---- MELD in SQL = hepatostat.scores ---------------------------------------------------------


def _sql_scores(frame):
    import duckdb

    con = duckdb.connect()
    con.register("comp", frame)
    out = con.execute(f"SELECT {scale.MELD_SQL} AS meld, {scale.MELD_NA_SQL} AS meld_na FROM "
                      f"(SELECT *, {scale.MELD_I_SQL} AS mi, {scale.DNA_SQL} AS dna FROM comp)").df()
    con.close()
    return out


def test_meld_in_sql_equals_scores_meld_exactly():
    rng = np.random.default_rng(7)
    n = 20000
    frame = pd.DataFrame({
        "bilirubin": np.round(np.exp(rng.uniform(np.log(0.1), np.log(49), n)), 2),
        "inr": np.round(rng.uniform(0.5, 9.0, n), 2),
        "creatinine": np.round(np.exp(rng.uniform(np.log(0.1), np.log(24), n)), 2),
        "sodium": np.round(rng.uniform(110, 160, n)),
    })
    # the bounds themselves, and the worked examples of scores.meld / scores.meld_na's docstrings
    edges = pd.DataFrame({"bilirubin": [1.0, 0.5, 1.9, 1.5, 40.0, 1.0], "inr": [1.0, 0.9, 1.2, 1.1, 8.0, 1.0],
                          "creatinine": [1.0, 4.0, 1.3, 2.7, 10.0, 0.7], "sodium": [137, 125, 140, 135, 120, 150]})
    frame = pd.concat([edges, frame], ignore_index=True)
    got = _sql_scores(frame)
    args = [frame[c].to_numpy() for c in ("bilirubin", "inr", "creatinine")]
    np.testing.assert_array_equal(got["meld"].to_numpy(), scores.meld(*args).astype(float))
    np.testing.assert_array_equal(got["meld_na"].to_numpy(), scores.meld_na(*args, frame["sodium"].to_numpy())
                                  .astype(float))
    assert got["meld"].iloc[2] == 13 and got["meld_na"].iloc[3] == 20  # the docstring examples


def test_meld_of_the_extracted_sample_equals_scores_meld(duck_table):
    wide = duck_table.pivot(index=["person_id", "visit"], columns="outcome", values="value")
    full = wide.dropna(subset=["bilirubin", "inr", "creatinine", "sodium"])
    assert len(full) > 500
    args = [full[c].to_numpy() for c in ("bilirubin", "inr", "creatinine")]
    np.testing.assert_array_equal(full["meld"].to_numpy(), scores.meld(*args).astype(float))
    np.testing.assert_array_equal(full["meld_na"].to_numpy(), scores.meld_na(*args, full["sodium"].to_numpy())
                                  .astype(float))
    part = wide[wide["creatinine"].isna()]
    assert len(part) and part["meld"].isna().all()  # a missing component gives a missing score


# ---- bad input ---------------------------------------------------------------------------------


def _copy_with(omop, tmp_path, measurement: pa.Table):
    for t, f in omop.files.items():
        if t != "measurement":
            shutil.copy(f, tmp_path)
    pq.write_table(measurement, tmp_path / "synthetic_omop_measurement.parquet")
    return tmp_path


def test_implausible_and_censored_components_agree_with_the_existing_engine(omop, tmp_path):
    """Implausible values are counted and not used (the engine logs them); a censored component flags the score."""
    m = pq.read_table(omop.files["measurement"]).to_pandas()
    bili = m.index[(m["measurement_source_value"].astype(str) == "1975-2")
                   & (m["unit_source_value"].astype(str) == "mg/dL")][:40:4]
    m.loc[bili, "value_as_number"] = 500.0  # 500 mg/dL: implausible
    crea = m.index[m["measurement_source_value"].astype(str) == "2160-0"][:200:2]
    m.loc[crea, "operator_concept_id"] = 4171754  # "<="
    d = _copy_with(omop, tmp_path, pa.Table.from_pandas(m, preserve_index=False))
    res = scale.extract_at_scale(d, out=tmp_path / "v.parquet", memory_limit="1GB")
    got = res.to_frame()
    assert res.lab_rows.set_index("test").loc["bilirubin", "implausible"] >= len(bili)
    assert (got["censored"] == "<=").any() and (got["censored"] == "from_censored").any()
    assert _identical(scale.compare_visits(got, scale_ref.extract_pandas(d)))
    assert _identical(scale.compare_visits(got, scale_ref.extract_reference(d)))


def test_a_unit_the_test_does_not_accept_is_an_error(omop, tmp_path):
    m = pq.read_table(omop.files["measurement"]).to_pandas()
    m["unit_source_value"] = m["unit_source_value"].astype(object)
    m.loc[m["measurement_source_value"].astype(str) == "1975-2", "unit_source_value"] = "mg"
    d = _copy_with(omop, tmp_path, pa.Table.from_pandas(m, preserve_index=False))
    with pytest.raises(InputError, match=r"unit 'mg' is not accepted for bilirubin .*allowed: mg/dL, µmol/L"):
        scale.extract_at_scale(d, out=tmp_path / "v.parquet", memory_limit="1GB")
    with pytest.raises(InputError, match=r"unit 'mg' is not accepted for bilirubin"):
        scale_ref.extract_pandas(d)


def test_an_unknown_operator_concept_is_an_error(omop, tmp_path):
    m = pq.read_table(omop.files["measurement"]).to_pandas()
    m.loc[m.index[:3], "operator_concept_id"] = 12345
    d = _copy_with(omop, tmp_path, pa.Table.from_pandas(m, preserve_index=False))
    with pytest.raises(InputError, match=r"operator_concept_id.*value 12345"):
        scale.extract_at_scale(d, out=tmp_path / "v.parquet", memory_limit="1GB")


def test_missing_tables_and_bad_arguments_are_errors(omop, tmp_path):
    shutil.copy(omop.files["person"], tmp_path)
    with pytest.raises(InputError, match="missing OMOP table.*drug_exposure, measurement"):
        scale.extract_at_scale(tmp_path)
    with pytest.raises(InputError, match="memory_limit"):
        scale.extract_at_scale(omop.path, memory_limit="lots")
    with pytest.raises(InputError, match="unknown outcome 'meld4'"):
        scale.extract_at_scale(omop.path, outcomes=["meld4"])


def test_result_object(duck):
    d = duck.to_dict()
    assert d["engine"] == "duckdb" and d["n_output_rows"] == duck.n_output_rows and d["rows_per_second"] > 0
    assert set(d["step_seconds"]) == {"prepare", "counts", "extract"}
    text = duck.summary()
    assert "SYNTHETIC" in text and "rows/s" in text and "implaus." in text


# ---- Spark -----------------------------------------------------------------------------------------


def _spark_or_skip():
    if shutil.which("java") is None:
        pytest.skip("Spark test needs Java 17+ on the PATH (java not found)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyspark warns about pandas 3
        pyspark = pytest.importorskip("pyspark", reason="Spark test needs pyspark (pip install pyspark)",
                                     exc_type=ImportError)
        from pyspark.sql import SparkSession
    return pyspark, SparkSession


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_runs_the_same_sql_with_identical_results(tmp_path):
    _, SparkSession = _spark_or_skip()
    data = scale.generate_omop(tmp_path / "omop", 200, seed=3)
    duck = scale.extract_at_scale(data.path, out=tmp_path / "duck.parquet", memory_limit="1GB").to_frame()
    spark = (SparkSession.builder.master("local[2]").appName("hepatostat-test")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "2").config("spark.sql.session.timeZone", "UTC")
             .getOrCreate())
    try:
        spark.sparkContext.setLogLevel("ERROR")
        tables = {t: f for t, f in data.files.items() if t != "person_attribute"}
        tables["drug_exposure"] = spark.read.parquet(tables["drug_exposure"])  # a DataFrame works too
        res = scale.extract_spark(tables=tables, out=str(tmp_path / "spark"), spark=spark)
    finally:
        spark.stop()
    assert res.engine == "spark" and res.n_output_rows == len(duck)
    assert _identical(scale.compare_visits(duck, res.to_frame()))
