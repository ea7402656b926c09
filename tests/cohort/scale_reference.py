"""Reference extractors for checking the scale engine (test and benchmark helpers, not library code).

:func:`extract_pandas` is the extraction of :func:`hepatostat.cohort.scale.extract_at_scale`
written directly in pandas; :func:`extract_reference` runs the existing in-memory engine
(:func:`~hepatostat.cohort.read_omop` + :func:`~hepatostat.cohort.extract_visits`) on a sample;
:func:`eligibility_reference` runs :func:`~hepatostat.cohort.eligibility` the same way. Each gives
its result in the layout of the scale output, so the engines can be compared exactly
(:func:`hepatostat.cohort.scale.compare_visits`). Used by ``tests/cohort/test_scale*.py`` and
``benchmarks/scale.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from hepatostat import scores as _scores
from hepatostat.cohort.eligibility import SCORE_OUTCOMES, VisitSpec
from hepatostat.cohort.scale.inputs import lab_keys, op_codes, outcome_info, spec_for, table_paths
from hepatostat.cohort.scale.sql import DUCKDB, OUTPUT_COLUMNS
from hepatostat.cohort.visits import visit_lab_tests, window_table

__all__ = ["extract_pandas", "extract_reference", "read_omop_sample"]


def _read_local(paths: Mapping[str, str], name: str, columns=None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return pq.read_table(paths[name], columns=columns).to_pandas()


def extract_pandas(parquet_dir=None, *, tables: Mapping[str, str] | None = None, spec: VisitSpec | None = None,
                   outcomes=None) -> pd.DataFrame:
    """The extraction of :func:`extract_at_scale` in plain pandas, for a sample that fits in memory.

    The same steps written directly in pandas (merges, a sort and
    ``drop_duplicates`` for the closest value, :func:`hepatostat.scores.meld`
    and :func:`~hepatostat.scores.meld_na` for the scores, ``groupby().shift``
    for the declines), with the same unit key table from
    :mod:`hepatostat.units`. It exists to time against DuckDB and to check
    the SQL (including MELD in SQL against :func:`hepatostat.scores.meld`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`OUTPUT_COLUMNS`, sorted by person, outcome and visit.
    """
    spec = spec_for(spec, outcomes)
    paths = table_paths(parquet_dir, tables)
    mfile = paths["measurement"]
    m = _read_local(paths, "measurement")
    person = _read_local(paths, "person", ["person_id"])
    de = _read_local(paths, "drug_exposure", ["person_id", "drug_exposure_start_date"])
    concept_mode = "concept" in paths and "measurement_concept_id" in m.columns
    m["lab_key"] = m["measurement_concept_id" if concept_mode else "measurement_source_value"]
    m["unit_key"] = (m["unit_source_value"].astype(object) if "unit_source_value" in m.columns
                     else pd.Series(None, index=m.index, dtype=object))
    m["unit_key"] = m["unit_key"].where(m["unit_key"].notna(), "").astype(object)
    if "operator_concept_id" not in m.columns:
        m["operator_concept_id"] = pd.NA
    m["lab_key"] = m["lab_key"].astype(object)
    keys = m.groupby(["lab_key", "unit_key"], dropna=False, observed=True).size().rename("n_rows").reset_index()
    loinc_of = None
    if concept_mode:
        c = _read_local(paths, "concept", ["concept_id", "concept_code", "vocabulary_id"])
        c = c[c["vocabulary_id"] == "LOINC"]
        loinc_of = {int(a): str(b) for a, b in zip(c["concept_id"], c["concept_code"])}
    rows, _ = lab_keys(keys, loinc_of, mfile)
    kt = pd.DataFrame(rows, columns=["lab_key", "unit_key", "test", "mul", "div", "lo", "hi"]).astype({"lab_key": object})
    ops = dict(op_codes(m["operator_concept_id"].dropna().unique(), mfile))
    labs = m.merge(kt, on=["lab_key", "unit_key"], how="inner")
    v = labs["value_as_number"].astype(float).to_numpy()
    value = v * labs["mul"].to_numpy() / labs["div"].to_numpy()
    with np.errstate(invalid="ignore"):
        ok = ~np.isnan(v) & (v >= 0) & (value >= labs["lo"].to_numpy()) & (value <= labs["hi"].to_numpy())
    ok &= labs["measurement_date"].notna().to_numpy()
    labs = labs.assign(value=value)[ok & labs["test"].isin(visit_lab_tests(spec)).to_numpy()]
    opc = pd.Series(labs["operator_concept_id"].to_numpy(dtype=float))
    labs = pd.DataFrame({
        "person_id": labs["person_id"].astype("int64").to_numpy(),
        "test": labs["test"].to_numpy(),
        "value": labs["value"].to_numpy(),
        "op_sign": opc.map({float(k): v for k, v in ops.items()}).fillna("").to_numpy(dtype=object),
        "row_id": labs["measurement_id"].astype("int64").to_numpy(),
        "lab_day": (pd.to_datetime(labs["measurement_date"]) - pd.Timestamp("1970-01-01")).dt.days.to_numpy(),
    })
    de = de[de["drug_exposure_start_date"].notna() & de["person_id"].isin(person["person_id"])]
    de_day = (pd.to_datetime(de["drug_exposure_start_date"]) - pd.Timestamp("1970-01-01")).dt.days
    g = de_day.groupby(de["person_id"].to_numpy())
    anchors = pd.DataFrame({"first_day": g.min(), "anchor_day": g.min() if spec.anchor == "first_infusion" else g.max()})
    anchors.index.name = "person_id"
    anchors = anchors.reset_index()

    rel = labs.merge(anchors, on="person_id", how="inner")
    rel["t_first"] = rel["lab_day"] - rel["first_day"]
    rel["t_anchor"] = rel["lab_day"] - rel["anchor_day"]
    windows = window_table(spec)
    cands = []
    for w in windows.itertuples(index=False):
        t = rel["t_first"] if w.is_baseline else rel["t_anchor"]
        sel = rel[(t >= w.low_day) & (t <= w.high_day)]
        ts = (sel["t_first"] if w.is_baseline else sel["t_anchor"])
        key = -ts if w.is_baseline else (ts - w.nominal_day).abs()
        cands.append(sel.assign(visit_order=w.visit_order, t=ts.astype(float), _key=key.astype(float)))
    cand = pd.concat(cands, ignore_index=True)
    cand = cand.sort_values(["person_id", "test", "visit_order", "_key", "lab_day", "row_id"], kind="stable")
    chosen = cand.drop_duplicates(["person_id", "test", "visit_order"], keep="first")

    lab_tests = visit_lab_tests(spec)
    grid = pd.MultiIndex.from_product([np.sort(anchors["person_id"].to_numpy()), lab_tests, windows["visit_order"]],
                                      names=["person_id", "test", "visit_order"]).to_frame(index=False)
    picked = grid.merge(chosen[["person_id", "test", "visit_order", "value", "op_sign", "lab_day", "t", "row_id"]],
                        on=["person_id", "test", "visit_order"], how="left")
    picked["op_sign"] = picked["op_sign"].where(picked["op_sign"].notna(), "")

    parts = [picked[picked["test"].isin(spec.lab_outcomes)].rename(columns={"test": "outcome", "op_sign": "censored"})]
    wanted = [s for s in SCORE_OUTCOMES if s in spec.outcomes]
    if wanted:
        vals = picked.pivot(index=["person_id", "visit_order"], columns="test", values="value")
        cens = picked.assign(c=picked["op_sign"] != "").pivot(index=["person_id", "visit_order"], columns="test",
                                                             values="c")
        for s in wanted:
            comps = ["bilirubin", "inr", "creatinine"] + (["sodium"] if s == "meld_na" else [])
            arrays = [vals[c].to_numpy(dtype=float) for c in comps]
            score = np.asarray(_scores.meld(*arrays) if s == "meld" else _scores.meld_na(*arrays), dtype=float)
            flag = cens[comps].to_numpy(dtype=bool).any(axis=1) & ~np.isnan(score)
            frame = vals.index.to_frame(index=False)
            frame["outcome"] = s
            frame["value"] = score
            frame["censored"] = np.where(flag, "from_censored", "")
            frame["lab_day"] = np.nan
            frame["t"] = np.nan
            frame["row_id"] = np.nan
            parts.append(frame)
    long = pd.concat(parts, ignore_index=True)
    order = {o: k for k, o in enumerate(spec.outcomes)}
    long = long.assign(_o=long["outcome"].map(order)).sort_values(["person_id", "_o", "visit_order"], kind="stable")
    long = long.merge(windows[["visit_order", "visit", "week", "nominal_day"]], on="visit_order", how="left")
    keys_ = [long["person_id"], long["outcome"]]
    first = long["visit_order"] == 0
    prev = long.groupby(keys_, sort=False)["value"].shift(1)
    base = long["value"].where(first).groupby(keys_, sort=False).transform("max")
    visits = list(windows["visit"])
    long["interval"] = long["visit_order"].map({k: f"{visits[k - 1]}-{visits[k]}" for k in range(1, len(visits))})
    long["decline_interval"] = (prev - long["value"]).where(~first)
    long["decline_cumulative"] = (base - long["value"]).where(~first)
    long["unit"] = long["outcome"].map({o: u for o, u, _ in outcome_info(spec)})
    long["date"] = pd.Timestamp("1970-01-01") + pd.to_timedelta(long["lab_day"], unit="D")
    long["source_row"] = long["row_id"].astype("Int64")
    long["t"] = long["t"].astype(float)
    return long[list(OUTPUT_COLUMNS)].reset_index(drop=True)


def read_omop_sample(parquet_dir=None, *, tables: Mapping[str, str] | None = None):
    """The OMOP Parquet sample through the existing import: ``(CohortData, measurement_id by source row)``.

    The tables are copied into an in-memory DuckDB database (``measurement`` in
    ``measurement_id`` order) and read by :func:`hepatostat.cohort.read_omop`
    (tests by ``measurement_source_value``; every check and unit conversion of
    :func:`~hepatostat.cohort.cohort_data`).
    """
    import duckdb

    from hepatostat.cohort import read_omop

    paths = table_paths(parquet_dir, tables)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        for name in ("person", "person_attribute", "drug_exposure", "measurement"):
            if name in paths:
                src = str(Path(paths[name]) / "**" / "*.parquet") if Path(paths[name]).is_dir() else paths[name]
                order = " ORDER BY measurement_id" if name == "measurement" else ""
                con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet({DUCKDB.lit(src)}){order}")
        ids = con.execute("SELECT measurement_id FROM measurement").fetchnumpy()["measurement_id"]
        data = read_omop(con, source=str(parquet_dir or "tables"))
    finally:
        con.close()
    return data, ids


def extract_reference(parquet_dir=None, *, tables: Mapping[str, str] | None = None, spec: VisitSpec | None = None,
                      outcomes=None, persons=None) -> pd.DataFrame:
    """The existing engine on a small OMOP Parquet sample, in the layout of the scale output.

    :func:`read_omop_sample`, then :func:`hepatostat.cohort.extract_visits` for
    ``persons`` (OMOP integers; default every person with an infusion record).
    ``source_row`` is mapped back to ``measurement_id`` and ``person_id`` to
    OMOP's integer, so the result compares directly with
    :func:`~hepatostat.cohort.scale.extract_at_scale`. Meant for samples: the
    import checks every row in Python.
    """
    from hepatostat.cohort import extract_visits

    spec = spec_for(spec, outcomes)
    data, ids = read_omop_sample(parquet_dir, tables=tables)
    if persons is None:
        persons = sorted(set(data.treatments["person_id"]) & set(data.persons["person_id"]), key=int)
    else:
        persons = [str(int(p)) for p in persons]
    vt = extract_visits(data, persons, spec)
    long = vt.long.copy()
    long["person_id"] = long["person_id"].astype("int64")
    sr = long["source_row"]
    long["source_row"] = pd.array([None if pd.isna(r) else int(ids[int(r) - 1]) for r in sr], dtype="Int64")
    return long[list(OUTPUT_COLUMNS)].reset_index(drop=True)


def eligibility_reference(parquet_dir=None, *, criteria, tables: Mapping[str, str] | None = None):
    """:func:`hepatostat.cohort.eligibility` on the sample (the in-memory attrition)."""
    from hepatostat.cohort import eligibility

    data, _ = read_omop_sample(parquet_dir, tables=tables)
    return eligibility(data, criteria)


def build_reference(parquet_dir=None, *, criteria, tables: Mapping[str, str] | None = None):
    """:func:`hepatostat.cohort.build_cohort` on the sample: ``(attrition, long)``, the visit table in the
    layout of the scale output plus ``group``."""
    from hepatostat.cohort import build_cohort

    data, ids = read_omop_sample(parquet_dir, tables=tables)
    b = build_cohort(data, criteria)
    long = b.visits.long.copy()
    long["person_id"] = long["person_id"].astype("int64")
    long["source_row"] = pd.array([None if pd.isna(r) else int(ids[int(r) - 1]) for r in long["source_row"]],
                                  dtype="Int64")
    return b.attrition, long[list(OUTPUT_COLUMNS) + ["group"]].reset_index(drop=True)


def same_persons(scale_persons: pd.DataFrame, attrition) -> list[str]:
    """Columns of the per-person status tables (scale vs in-memory ``Attrition`` or its ``persons``) that
    differ; [] when identical."""
    a = scale_persons.copy()
    a["person_id"] = a["person_id"].astype("int64").astype(str)
    b = (attrition.persons if hasattr(attrition, "persons") else attrition).copy()
    b["person_id"] = b["person_id"].astype(str)
    a = a.sort_values("person_id", kind="stable").reset_index(drop=True)
    b = b.sort_values("person_id", kind="stable").reset_index(drop=True)
    if len(a) != len(b) or not (a["person_id"].to_numpy() == b["person_id"].to_numpy()).all():
        return ["person_id"]
    bad = []
    for c in ("included", "step", "stage", "criterion", "reason", "failed", "group"):
        x = a[c].astype(object).where(a[c].notna(), None).tolist()
        y = b[c].astype(object).where(b[c].notna(), None).tolist()
        if c == "step":
            x = [None if v is None else int(v) for v in x]
            y = [None if v is None else int(v) for v in y]
        if c == "failed":
            x = [v or "" for v in x]
            y = [v or "" for v in y]
        if x != y:
            bad.append(c)
    return bad
