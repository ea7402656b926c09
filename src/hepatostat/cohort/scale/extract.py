"""The visit extraction at scale: prepare the views, count, run VISIT_SQL and the result query, write Parquet.

Steps (the same SQL for DuckDB and Spark, see :mod:`.sql`):

1. unit conversion to canonical units and the plausibility check, with the
   factors and ranges of :data:`hepatostat.units.TESTS` (:func:`.inputs.lab_keys`);
2. the anchors: first (and last) infusion per person from ``drug_exposure``;
3. window assignment, baseline and closest value: the text of
   :data:`~hepatostat.cohort.visits.VISIT_SQL` itself, unchanged, with its
   five input tables (``labs``, ``anchors``, ``windows``, ``cohort``,
   ``outcomes``) defined as views over the Parquet files;
4. MELD and MELD-Na per visit in SQL;
5. interval and cumulative declines (window functions).

With a :class:`~hepatostat.cohort.CohortSpec` (``criteria=``), the cohort is
the persons the eligibility criteria and groups admit, evaluated in SQL by
:mod:`.criteria`; otherwise every person of ``person`` with an infusion record.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from ... import units as _units
from ...errors import InputError
from ...io.format import fmt_fixed, fmt_n, fmt_seconds
from ..eligibility import CohortSpec, VisitSpec
from ..visits import VISIT_SQL, visit_lab_tests, window_table
from .criteria import ScaleAttrition, baseline_step, criteria_spec, prepare_eligibility, status_select
from .engines import Engine, duckdb_engine, require_pyspark, spark_engine, spark_frames, spark_session
from .inputs import (LAB_COLUMNS_NEEDED, int_argument, is_synthetic, lab_keys, memory_limit_argument, op_codes,
                     outcome_info, spec_for,
                     table_paths)
from .sql import (ANCHORS_SQL, COHORT_CRITERIA_SQL, COHORT_SQL, COUNTS_SQL, DUCKDB, KEYS_SQL, LAB_ROWS_SQL, LABS_SQL, MEASUREMENT_IN_SQL,
                  PERSONS_SQL, result_sql)

__all__ = ["ScaleExtraction", "extract_at_scale", "extract_spark"]


def _prepare(engine: Engine, paths: Mapping[str, str], spec: VisitSpec, log) -> dict:
    """Create the views (lab keys, windows, outcomes, labs, anchors, cohort); return the counts so far."""
    d = engine.dialect
    mfile = paths["measurement"]
    mcols = engine.columns("measurement")
    need = [c for c in LAB_COLUMNS_NEEDED if c not in mcols]
    if need:
        raise InputError(f"measurement has no column(s) {', '.join(need)}; OMOP CDM names are expected", file=mfile)
    for t, cols in (("person", ("person_id",)), ("drug_exposure", ("person_id", "drug_exposure_start_date"))):
        have = engine.columns(t)
        miss = [c for c in cols if c not in have]
        if miss:
            raise InputError(f"{t} has no column(s) {', '.join(miss)}", file=paths[t])
    concept_mode = "concept" in paths and "measurement_concept_id" in mcols
    if not concept_mode and "measurement_source_value" not in mcols:
        raise InputError("measurement needs measurement_concept_id (with a concept table) or measurement_source_value "
                         "to identify the tests", file=mfile)
    engine.execute(MEASUREMENT_IN_SQL.format(
        key="measurement_concept_id" if concept_mode else "measurement_source_value",
        unit="unit_source_value" if "unit_source_value" in mcols else "CAST(NULL AS STRING)",
        operator="operator_concept_id" if "operator_concept_id" in mcols else "CAST(NULL AS BIGINT)"))
    t0 = time.perf_counter()
    keys = engine.fetch(KEYS_SQL)
    loinc_of = None
    if concept_mode:
        loincs = ", ".join(d.lit(t.loinc) for t in _units.TESTS.values())
        con = engine.fetch(f"SELECT concept_id, concept_code FROM concept WHERE vocabulary_id = 'LOINC' "
                           f"AND concept_code IN ({loincs})")
        loinc_of = {int(a): str(b) for a, b in zip(con["concept_id"], con["concept_code"])}
    key_rows, other = lab_keys(keys, loinc_of, mfile)
    if not key_rows:
        raise InputError("measurement holds no results of the tests hepatostat knows "
                         f"({', '.join(f'{t.key} LOINC {t.loinc}' for t in _units.TESTS.values())})", file=mfile)
    key_cast = "BIGINT" if concept_mode else "STRING"
    engine.execute(d.values("lab_keys_raw", ("lab_key", "unit_key", "test", "mul", "div", "lo", "hi"), key_rows))
    engine.execute(f"CREATE OR REPLACE TEMPORARY VIEW lab_keys AS SELECT CAST(lab_key AS {key_cast}) AS lab_key, "
                   "unit_key, test, mul, div, lo, hi FROM lab_keys_raw")
    known = keys[keys["lab_key"].isin([k[0] for k in key_rows])]
    engine.execute(d.values("op_codes", ("operator_concept_id", "op_sign"),
                            op_codes(known["operator_concept_id"].unique(), mfile)))
    windows = window_table(spec)
    engine.execute(d.values("windows", list(windows.columns),
                            [(r.visit, int(r.visit_order), float(r.week), float(r.nominal_day), float(r.low_day),
                              float(r.high_day), int(r.is_baseline)) for r in windows.itertuples(index=False)]))
    engine.execute(d.values("outcomes", ("test",), [(t,) for t in visit_lab_tests(spec)]))
    engine.execute(d.values("outcome_info", ("outcome", "unit", "outcome_order"), outcome_info(spec)))
    engine.execute(LAB_ROWS_SQL.format(lab_day=d.day.format(x="m.measurement_date")))
    start = d.day.format(x="d.drug_exposure_start_date")
    engine.execute(ANCHORS_SQL.format(start_day=start,
                                       anchor_agg="MIN" if spec.anchor == "first_infusion" else "MAX"))
    engine.execute(COHORT_SQL)
    engine.execute(LABS_SQL)
    if log:
        log(f"lab keys: {len(key_rows)} (test, unit) pairs, {fmt_n(int(other['n_rows'].sum()) if len(other) else 0)} rows "
            f"of other tests; {fmt_seconds(time.perf_counter() - t0)}")
    return {"n_measurement_rows": int(keys["n_rows"].sum()), "other_tests": other}


def _lab_row_counts(engine: Engine, other: pd.DataFrame) -> pd.DataFrame:
    counts = engine.fetch(COUNTS_SQL)
    wide = counts.pivot_table(index="test", columns="status", values="n_rows", aggfunc="sum", fill_value=0)
    for c in ("used", "no value", "implausible", "no date"):
        if c not in wide.columns:
            wide[c] = 0
    wide = wide[["used", "no value", "implausible", "no date"]].astype("int64")
    order = [t for t in _units.TESTS if t in wide.index]
    out = wide.loc[order].reset_index().rename(columns={"no value": "no_value", "no date": "no_date"})
    out.insert(1, "n_rows", out[["used", "no_value", "implausible", "no_date"]].sum(axis=1))
    if len(other):
        out = pd.concat([out, pd.DataFrame([{"test": "(other tests, not read)", "n_rows": int(other["n_rows"].sum()),
                                             "used": 0, "no_value": 0, "implausible": 0, "no_date": 0}])],
                        ignore_index=True)
    out.columns.name = None
    return out


# --------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ScaleExtraction:
    """The per-person visit table written by :func:`extract_at_scale` or :func:`extract_spark`.

    Attributes
    ----------
    path : str
        Output Parquet (a file for DuckDB, a folder of parts for Spark).
    engine : str
        ``"duckdb"`` or ``"spark"``.
    spec : VisitSpec
        Windows and outcomes used.
    n_screened : int
        Persons in ``person``.
    n_persons : int
        Persons with an infusion record: the cohort (one block of rows each).
    n_measurement_rows : int
        Rows of ``measurement`` read.
    n_output_rows : int
        Rows written: persons x outcomes x visits.
    lab_rows : pandas.DataFrame
        Per test: ``test, n_rows, used, no_value, implausible, no_date``, plus
        a row for results of other tests (not read).
    seconds : float
        Wall time from the first query to the written output.
    step_seconds : Mapping[str, float]
        ``prepare`` (views, the scan for tests and units), ``counts`` (the
        exclusion counts), ``criteria`` (with criteria: fields, conditions, attrition), ``extract`` (the visit
        query, the baseline step with criteria, scores, written).
    threads : int or None
    memory_limit : str or None
    peak_rss_bytes : int or None
        Peak resident memory of this process so far (DuckDB runs in it; for
        Spark the work is in the JVM and this is None). For a clean number run
        the extraction in a fresh process (``benchmarks/scale.py``).
    synthetic : bool
        True when the measurement file is marked synthetic in its metadata.
    attrition : ScaleAttrition or None
        With ``criteria=``: the attrition table of
        :func:`~hepatostat.cohort.build_cohort` (criteria, groups and the
        baseline requirement) and the per-person status table
        (``attrition.persons_path``). ``n_persons`` is then the number included.
    """

    path: str
    engine: str
    spec: VisitSpec
    n_screened: int
    n_persons: int
    n_measurement_rows: int
    n_output_rows: int
    lab_rows: pd.DataFrame
    seconds: float
    step_seconds: Mapping[str, float] = field(default_factory=dict)
    threads: int | None = None
    memory_limit: str | None = None
    peak_rss_bytes: int | None = None
    synthetic: bool = False
    attrition: ScaleAttrition | None = None

    @property
    def n_no_infusion(self) -> int:
        """Persons of ``person`` without an infusion record."""
        if self.attrition is not None:
            return int(self.attrition.steps.loc[self.attrition.steps["criterion"] == "infusion_record",
                                                "n_excluded"].iloc[0])
        return self.n_screened - self.n_persons

    @property
    def rows_per_second(self) -> float:
        """Measurement rows processed per second of wall time."""
        return self.n_measurement_rows / self.seconds if self.seconds > 0 else math.inf

    def to_frame(self, columns=None) -> pd.DataFrame:
        """The output table read into pandas (meant for samples; the full table may not fit)."""
        import pyarrow.parquet as pq

        frame = pq.read_table(self.path, columns=list(columns) if columns is not None else None).to_pandas()
        return frame

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "engine": self.engine, "synthetic": self.synthetic, "n_screened": self.n_screened,
            "n_persons": self.n_persons, "n_no_infusion": self.n_no_infusion,
            "n_measurement_rows": self.n_measurement_rows, "n_output_rows": self.n_output_rows,
            "seconds": self.seconds, "rows_per_second": self.rows_per_second,
            "step_seconds": dict(self.step_seconds), "threads": self.threads, "memory_limit": self.memory_limit,
            "peak_rss_bytes": self.peak_rss_bytes, "visits": self.spec.to_dict(),
            "lab_rows": self.lab_rows.to_dict("records"),
            "attrition": None if self.attrition is None else self.attrition.to_dict(),
        }

    def summary(self) -> str:
        lines = []
        if self.synthetic:
            lines.append("SYNTHETIC DATA - not real patients")
        if self.attrition is not None:
            lines.append(self.attrition.summary().replace("SYNTHETIC DATA - not real patients\n", ""))
            lines.append(f"Visit table ({self.engine}): {fmt_n(self.n_persons)} persons included of {fmt_n(self.n_screened)}, "
                         f"outcomes {', '.join(self.spec.outcomes)}; {fmt_n(self.n_output_rows)} rows -> {self.path}")
        else:
            lines.append(f"Visit table ({self.engine}): {fmt_n(self.n_persons)} persons with an infusion record of "
                         f"{fmt_n(self.n_screened)} ({fmt_n(self.n_no_infusion)} without one), outcomes "
                         f"{', '.join(self.spec.outcomes)}; {fmt_n(self.n_output_rows)} rows -> {self.path}")
        rss = f", peak RSS {fmt_fixed(self.peak_rss_bytes / 2**30, 2)} GiB" if self.peak_rss_bytes else ""
        lines.append(f"{fmt_n(self.n_measurement_rows)} measurement rows in {fmt_seconds(self.seconds)} "
                     f"({fmt_fixed(self.rows_per_second, 0)} rows/s){rss}")
        lines.append(f"{'test':<24}{'rows':>14}{'used':>14}{'no value':>10}{'implaus.':>10}{'no date':>9}")
        for r in self.lab_rows.itertuples(index=False):
            lines.append(f"{r.test:<24}{fmt_n(r.n_rows):>14}{fmt_n(r.used):>14}{fmt_n(r.no_value):>10}{fmt_n(r.implausible):>10}{fmt_n(r.no_date):>9}")
        return "\n".join(lines)


def _peak_rss() -> int | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r if sys.platform == "darwin" else r * 1024)




def _run(engine: Engine, paths, spec, log, write: Callable[[str], int], cohort_spec: CohortSpec | None = None,
         write_persons: Callable[[str], None] | None = None):
    """Prepare, count, (criteria,) extract; return (counts dict, lab_rows, persons, n_output_rows, steps, attrition).

    ``attrition`` is ``(steps, groups)`` with criteria, else None.
    """
    d = engine.dialect
    steps = {}
    t = time.perf_counter()
    info = _prepare(engine, paths, spec, log)
    steps["prepare"] = time.perf_counter() - t
    t = time.perf_counter()
    lab_rows = _lab_row_counts(engine, info["other_tests"])
    persons = engine.fetch(PERSONS_SQL)
    steps["counts"] = time.perf_counter() - t
    if log:
        log(f"counts: {fmt_seconds(steps['counts'])}")
    attrition = None
    if cohort_spec is not None:
        t = time.perf_counter()
        att_steps, groups = prepare_eligibility(engine, paths, cohort_spec, log)
        group_labels = dict(zip(groups["group"], groups["label"]))
        engine.execute(COHORT_CRITERIA_SQL)
        steps["criteria"] = time.perf_counter() - t
    t = time.perf_counter()
    engine.execute(d.materialize.format(name="picked", sql=VISIT_SQL))
    if log:
        log(f"visit query (VISIT_SQL) materialised: {fmt_seconds(time.perf_counter() - t)}")
    if cohort_spec is not None:
        attrition = baseline_step(engine, att_steps, group_labels, spec)
        if write_persons is not None:
            write_persons(status_select(d, "person_final"))
    n_out = write(result_sql(d, spec, groups=cohort_spec is not None))
    steps["extract"] = time.perf_counter() - t
    if log:
        log(f"scores, declines, written: {fmt_seconds(steps['extract'])}")
    return info, lab_rows, persons, n_out, steps, attrition


def _persons_path(out, engine: str) -> str:
    o = str(out)
    if engine == "duckdb":
        return str(Path(o).with_name(Path(o).stem + "_persons.parquet"))
    return o.rstrip("/") + "_persons"


def _with_criteria(spec, outcomes, criteria):
    """(visit spec, cohort spec or None): the criteria file's visits unless ``spec`` is given."""
    if criteria is None:
        return spec_for(spec, outcomes), None
    cs = criteria_spec(criteria)
    return spec_for(spec if spec is not None else cs.visits, outcomes), cs


def _attrition(att, cs, engine, path, seconds, synthetic):
    if att is None:
        return None
    return ScaleAttrition(att[0], att[1], cs.name, engine, path, seconds, synthetic)


def _extraction(engine, out, spec, cs, paths, t0, info, lab_rows, persons, n_out, steps, att,
                **extra) -> ScaleExtraction:
    """The result of one run of :func:`_run` on ``engine`` (``extra``: the DuckDB-only fields)."""
    seconds = time.perf_counter() - t0
    synthetic = is_synthetic(paths["measurement"])
    attrition = _attrition(att, cs, engine, _persons_path(out, engine), seconds, synthetic)
    return ScaleExtraction(
        path=str(out), engine=engine, spec=spec, n_screened=int(persons["n_screened"].iloc[0]),
        n_persons=int(persons["n_persons"].iloc[0]) if attrition is None else attrition.n_included,
        n_measurement_rows=info["n_measurement_rows"],
        n_output_rows=n_out, lab_rows=lab_rows, seconds=seconds, step_seconds=MappingProxyType(steps),
        synthetic=synthetic, attrition=attrition, **extra,
    )


def extract_at_scale(parquet_dir=None, *, out=None, tables: Mapping[str, str] | None = None,
                     spec: VisitSpec | None = None, outcomes=None, criteria=None, threads: int = 2,
                     memory_limit: str = "16GB", temp_directory=None,
                     log: Callable[[str], None] | None = None) -> ScaleExtraction:
    """Visit windows, baseline, closest values, MELD and declines in DuckDB, straight from OMOP Parquet files.

    Parameters
    ----------
    parquet_dir : str or Path, optional
        Folder with the OMOP tables as Parquet: ``person``, ``drug_exposure``,
        ``measurement`` (required), ``concept`` (optional; then tests are
        identified by the LOINC code of ``measurement_concept_id``, otherwise
        by ``measurement_source_value``). A file ``<name>.parquet``, with any
        prefix (``synthetic_omop_measurement.parquet``), or a folder of parts.
    out : str or Path, optional
        Output Parquet file; default ``visits.parquet`` in ``parquet_dir``.
    tables : mapping, optional
        Table name -> Parquet path or glob, instead of ``parquet_dir``.
    spec : VisitSpec, optional
        Windows and outcomes (e.g. ``load_criteria("seed_jia2020").visits``);
        default :meth:`VisitSpec.default`.
    outcomes : list of str, optional
        Outcomes to extract instead of ``spec.outcomes`` (lab tests by key,
        alias or LOINC code; ``"meld"``, ``"meld_na"``).
    criteria : CohortSpec, str or Path, optional
        Eligibility criteria and groups (:func:`~hepatostat.cohort.load_criteria`,
        a criteria file or a bundled name such as ``"seed_jia2020"``), evaluated
        in SQL (:mod:`.criteria`): the cohort is the persons they admit who
        have a baseline value for each required outcome, as
        :func:`~hepatostat.cohort.build_cohort`; the output gets a ``group``
        column, the per-person status goes to ``<out>_persons.parquet`` and the
        attrition table to ``result.attrition``. Default visits: the criteria
        file's ``[visits]``.
    threads : int, default 2
    memory_limit : str, default "16GB"
        DuckDB's memory limit; beyond it DuckDB spills to ``temp_directory``.
    temp_directory : str or Path, optional
        Where DuckDB spills; default a fresh temporary folder, removed after.
    log : callable, optional
        Called with a progress line after each step.

    Returns
    -------
    ScaleExtraction

    Raises
    ------
    InputError
        Missing tables or columns, a unit a test does not accept (the message
        names the unit, the test, the number of rows and the allowed units),
        an unknown ``operator_concept_id``, bad arguments.

    Notes
    -----
    See the module notes: the SQL is :data:`~hepatostat.cohort.visits.VISIT_SQL`
    unchanged, on views over the Parquet files; nothing is loaded into pandas.
    """
    threads = int_argument("threads", threads, 1)
    memory_limit = memory_limit_argument(memory_limit)
    spec, cs = _with_criteria(spec, outcomes, criteria)
    paths = table_paths(parquet_dir, tables)
    out = Path(out) if out is not None else Path(parquet_dir if parquet_dir is not None else ".") / "visits.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    own_tmp = temp_directory is None
    tmp = Path(tempfile.mkdtemp(prefix="hepatostat_duckdb_")) if own_tmp else Path(temp_directory)
    tmp.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    engine = None
    try:
        engine = duckdb_engine(paths, threads=threads, memory_limit=memory_limit, temp_directory=tmp)
        con = engine.con

        def write(sql):
            n = con.execute(f"COPY ({sql}) TO {DUCKDB.lit(str(out))} (FORMAT parquet, COMPRESSION zstd)").fetchone()
            return int(n[0]) if n else 0

        def write_persons(sql):
            con.execute(f"COPY ({sql}) TO {DUCKDB.lit(_persons_path(out, 'duckdb'))} (FORMAT parquet)")

        info, lab_rows, persons, n_out, steps, att = _run(engine, paths, spec, log, write, cs, write_persons)
    finally:
        if engine is not None:
            engine.con.close()
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return _extraction("duckdb", out, spec, cs, paths, t0, info, lab_rows, persons, n_out, steps, att,
                       threads=threads, memory_limit=memory_limit, peak_rss_bytes=_peak_rss())


def extract_spark(parquet_dir=None, *, out, tables: Mapping[str, str] | None = None, spark=None,
                  spec: VisitSpec | None = None, outcomes=None, criteria=None,
                  log: Callable[[str], None] | None = None) -> ScaleExtraction:
    """The same extraction on Spark: the same SQL text through ``spark.sql``.

    Parameters
    ----------
    parquet_dir : str or Path, optional
        Local folder of OMOP Parquet files, as for :func:`extract_at_scale`.
    out : str
        Output folder (Parquet parts), any path Spark can write
        (``hdfs://...``, ``s3a://...``); replaced if it exists.
    tables : mapping, optional
        Table name -> path Spark can read (``s3a://bucket/cdm/measurement``)
        or a Spark DataFrame (e.g. ``drug_exposure`` restricted to the cell
        product's concepts), instead of ``parquet_dir``: this is how a
        cluster reads HDFS or S3.
    spark : pyspark.sql.SparkSession, optional
        The session to use (a cluster's, see ``docs/scale.md``); default the
        active session, else a local one (``local[2]``) that is stopped after.
    spec, outcomes, criteria, log
        As for :func:`extract_at_scale` (the status table goes to ``<out>_persons``).

    Returns
    -------
    ScaleExtraction
        ``peak_rss_bytes`` is None (the work runs in the JVM).

    Raises
    ------
    InputError
        As for :func:`extract_at_scale`; also when pyspark is not installed.
    """
    require_pyspark("extract_spark")
    spec, cs = _with_criteria(spec, outcomes, criteria)
    frames, named = spark_frames(tables)
    paths = table_paths(parquet_dir, named)
    t0 = time.perf_counter()
    with spark_session(spark) as spark:
        engine = spark_engine(spark, paths, frames)

        def write(sql):
            spark.sql(sql).write.mode("overwrite").parquet(str(out))
            return int(spark.read.parquet(str(out)).count())

        def write_persons(sql):
            spark.sql(sql).write.mode("overwrite").parquet(_persons_path(out, "spark"))

        info, lab_rows, persons, n_out, steps, att = _run(engine, paths, spec, log, write, cs, write_persons)
        spark.sql("UNCACHE TABLE IF EXISTS picked")
    return _extraction("spark", out, spec, cs, paths, t0, info, lab_rows, persons, n_out, steps, att)


