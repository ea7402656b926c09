"""Cohort extraction at scale: a synthetic OMOP CDM generator and the visit
query run by DuckDB (out of core) and by Spark over Parquet files.

The cohort engine (:mod:`hepatostat.cohort.visits`) reads a cohort into
pandas and runs :data:`~hepatostat.cohort.visits.VISIT_SQL` on it. That is
right for a trial-sized cohort and wrong for a multi-centre EHR extract of a
million persons and a hundred million lab results. This module runs the
same relational steps *inside the database engine*, straight from the OMOP
Parquet files, and writes the per-person visit table back to Parquet:

1. unit conversion to canonical units and the plausibility check, with the
   factors and ranges of :data:`hepatostat.units.TESTS` (a small key table
   made in Python from the registry and joined in SQL; nothing is retyped);
2. the anchors: first (and last) infusion per person from ``drug_exposure``;
3. window assignment, baseline and closest value: the text of
   :data:`~hepatostat.cohort.visits.VISIT_SQL` itself, unchanged, with its
   five input tables (``labs``, ``anchors``, ``windows``, ``cohort``,
   ``outcomes``) defined as views over the Parquet files;
4. MELD and MELD-Na per visit in SQL (OPTN formula and bounds, as
   :func:`hepatostat.scores.meld` and :func:`hepatostat.scores.meld_na`);
5. interval and cumulative declines (window functions).

The same SQL text runs on DuckDB (:func:`extract_at_scale`) and on Spark
(:func:`extract_spark`); :func:`extract_pandas` is a plain pandas version of
the same steps for samples, and :func:`extract_reference` runs the existing
engine (:func:`~hepatostat.cohort.read_omop` then
:func:`~hepatostat.cohort.extract_visits`) on a sample, so the four can be
checked against each other.

Output
------
One row per person, outcome and visit (the layout of
:attr:`VisitTable.long <hepatostat.cohort.VisitTable>`): ``person_id``
(OMOP's integer), ``outcome, visit, week, nominal_day, value, unit, t``
(days from the anchor; from the first infusion for the baseline),
``date``, ``censored`` (``""``, ``<``, ``<=``, ``>``, ``>=``;
``from_censored`` for a score), ``source_row`` (the ``measurement_id`` of
the chosen result), ``interval, decline_interval, decline_cumulative``.
Missing visits are rows with a missing value. There is no ``group``
column: eligibility criteria are not evaluated here (see Notes).

Differences from the in-memory engine, on purpose
-------------------------------------------------
* Same-day ties go to the lowest ``measurement_id`` rather than to the first
  row of the file: a distributed store has no file order. For files written
  in ``measurement_id`` order (as :func:`generate_omop` writes them) the two
  are the same.
* Only ``value_as_number`` is read; a text ``value_source_value`` such as
  ``"<5"`` is not parsed (use ``operator_concept_id``). Rows without a
  number are counted as ``no value``.
* Results of tests hepatostat does not know (other concepts) are ignored
  and counted, as :func:`~hepatostat.cohort.read_omop` ignores them.
* ``operator_concept_id`` 4172703 (``=``) means "not censored".

Nothing disappears silently: :attr:`ScaleExtraction.lab_rows` counts every
measurement row by test and status (``used``, ``no value``,
``implausible``, ``no date``; other tests) and the person counts say how
many persons had no infusion record.

Dialects
--------
Everything after the table readers is one SQL text. Two things differ
between engines and are filled in per dialect: day numbers from dates
(DuckDB ``date - DATE '1970-01-01'``, Spark ``UNIX_DATE``) and back, and how
the chosen values are materialised (DuckDB ``CREATE TEMPORARY TABLE``, Spark
``CACHE TABLE``), because the result query reads them twice.

Notes
-----
MELD in SQL follows the OPTN definition used by :func:`hepatostat.scores.meld`
(Kamath et al. 2001, doi:10.1053/jhep.2001.22172; OPTN policy notice,
November 2015): ``10 * (0.957 ln Cr + 0.378 ln bilirubin + 1.120 ln INR +
0.643)`` with bilirubin, INR and creatinine below 1 set to 1 and creatinine
above 4 mg/dL set to 4, rounded half up after rounding to 9 decimals and
bounded to 6-40; MELD-Na (Kim et al. 2008, doi:10.1056/NEJMoa0801209) adds
``1.32 (137 - Na) - 0.033 MELD(i) (137 - Na)`` when MELD(i) > 11, sodium
bounded to 125-137. Dialysis is not recorded and taken as absent, as in the
in-memory engine. A score with a missing component is missing. The SQL
keeps numpy's order of operations, so the unrounded score is the same
double; ``ROUND(x, 9)`` rounds a tie at the ninth decimal away from zero
(DuckDB) or on the decimal representation (Spark) where numpy rounds it to
even, which could change the integer only for a score within 1e-9 of a
half-integer. The tests check equality with :func:`hepatostat.scores.meld`
on 20,000 random values and the bounds.

Eligibility criteria (:func:`hepatostat.cohort.eligibility`) are not
evaluated at scale: the cohort is every person of ``person`` with an
infusion record. Restrict ``person`` (a view, or a filtered Parquet file)
to apply them.
"""

from __future__ import annotations

import abc
import dataclasses
import math
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from .. import scores as _scores
from .. import units as _units
from ..errors import InputError
from .eligibility import SCORE_OUTCOMES, VisitSpec
from .schema import _OPERATOR_CONCEPTS, _OPERATORS
from .visits import VISIT_SQL, visit_lab_tests, window_table

__all__ = [
    "SyntheticOMOP",
    "ScaleExtraction",
    "generate_omop",
    "extract_at_scale",
    "extract_pandas",
    "extract_spark",
    "extract_reference",
    "compare_visits",
]

# --------------------------------------------------------------------------
# the synthetic OMOP data set
# --------------------------------------------------------------------------

#: file name prefix of every generated table
PREFIX = "synthetic_omop_"
#: OMOP reserves concept ids above 2,000,000,000 for local (site) concepts
_CONCEPT_BASE = 2_000_000_000
_TYPE_EHR = 32817  # OMOP type concept "EHR"
_OP_LT = 4171756  # operator_concept_id "<"
_EPOCH = np.datetime64("1970-01-01", "D")
_FIRST_INFUSION_FROM = int((np.datetime64("2014-01-01", "D") - _EPOCH).astype(int))
#: scheduled panels: (nominal day from the first infusion, sd of the scatter in days)
_SCHEDULE = ((-3, 2.0), (7, 2.0), (28, 4.0), (84, 8.0), (168, 14.0))
_P_ATTENDED = 0.85
_P_TEST_IN_PANEL = 0.95
_P_SAME_DAY_REPEAT = 0.01
_P_NO_VALUE = 0.0005
_P_UNIT_ERROR = 0.0005
_P_NO_INFUSION = 0.02
_FLAGS = ("severe_complication", "autoimmune_disease", "other_hepatitis_virus", "organ_impairment",
          "pregnant_or_lactating", "liver_support_or_transplant", "alcoholic_liver_disease", "liver_cancer")
_DIAGNOSES = ("liver_failure", "cirrhosis", "chronic_hepatitis_b")

#: per test (canonical units): medians for liver failure / cirrhosis / other, between-person sd of
#: the log, clip range, direction of improvement (+1 falls, -1 rises, 0 none) and its size
_LAB_MODEL = {
    "bilirubin": ((8.0, 2.5, 1.2), 0.7, (0.1, 45.0), 1, 1.0),
    "creatinine": ((1.1, 0.9, 0.8), 0.35, (0.3, 15.0), 1, 0.2),
    "albumin": ((2.9, 3.2, 3.8), 0.12, (1.2, 6.0), -1, 0.15),
    "inr": ((2.0, 1.4, 1.1), 0.25, (0.8, 10.0), 1, 0.5),
    "sodium": ((133.0, 136.0, 139.0), 0.025, (110.0, 170.0), 0, 0.0),
    "alt": ((180.0, 60.0, 45.0), 0.8, (3.0, 8000.0), 1, 1.0),
    "ast": ((200.0, 70.0, 45.0), 0.7, (3.0, 8000.0), 1, 1.0),
    "pta": ((40.0, 65.0, 85.0), 0.3, (5.0, 150.0), -1, 0.4),
}
#: units written per test: (conventional, SI) as hepatostat.units spells them; decimals of each
_WRITTEN = {
    "bilirubin": (("mg/dL", 2), ("µmol/L", 1)),
    "creatinine": (("mg/dL", 2), ("µmol/L", 0)),
    "albumin": (("g/dL", 1), ("g/L", 0)),
    "inr": (("INR", 2), ("INR", 2)),
    "sodium": (("mmol/L", 0), ("mEq/L", 0)),
    "alt": (("U/L", 0), ("IU/L", 0)),
    "ast": (("U/L", 0), ("IU/L", 0)),
    "pta": (("%", 0), ("%", 0)),
}
#: censored at a limit (canonical units): bilirubin below 0.2 mg/dL, ALT/AST below 10 U/L
_LIMITS = {"bilirubin": 0.2, "alt": 10.0, "ast": 10.0}


@dataclass(frozen=True, eq=False)
class SyntheticOMOP:
    """What :func:`generate_omop` wrote.

    Attributes
    ----------
    path : str
        The folder.
    files : Mapping[str, str]
        OMOP table name -> Parquet file.
    n_persons, n_drug_exposure, n_measurement : int
        Rows written.
    seed, chunk_persons : int
    seconds : float
        Wall time of the generation.
    """

    path: str
    files: Mapping[str, str]
    n_persons: int
    n_drug_exposure: int
    n_measurement: int
    seed: int
    chunk_persons: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"synthetic": True, "path": self.path, "files": dict(self.files), "n_persons": self.n_persons,
                "n_drug_exposure": self.n_drug_exposure, "n_measurement": self.n_measurement, "seed": self.seed,
                "chunk_persons": self.chunk_persons, "seconds": self.seconds}

    def to_frame(self) -> pd.DataFrame:
        """One row per table: ``table, file, rows``."""
        rows = {"person": self.n_persons, "person_attribute": self.n_persons, "drug_exposure": self.n_drug_exposure,
                "measurement": self.n_measurement, "concept": len(_units.TESTS)}
        return pd.DataFrame([{"table": t, "file": f, "rows": rows.get(t)} for t, f in self.files.items()])

    def summary(self) -> str:
        return (f"SYNTHETIC OMOP CDM data - not real patients: {self.n_persons:,} persons, "
                f"{self.n_drug_exposure:,} infusions, {self.n_measurement:,} measurements "
                f"(seed {self.seed}, {self.chunk_persons:,} persons per block) in {self.path}; "
                f"{self.seconds:.1f} s")


def _int_arg(name, value, lo):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise InputError(f"{name} must be an integer >= {lo}, got {value!r}", column=name, value=value)
    return int(value)


def _dict_array(indices: np.ndarray, dictionary, mask=None):
    import pyarrow as pa

    idx = pa.array(indices.astype(np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(dictionary), pa.string()))


def _dates(days: np.ndarray):
    import pyarrow as pa

    return pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32())


def _block(rng: np.random.Generator, first_id: int, m: int, labs_per_person: float, unit_dict: list,
           loinc_dict: list):
    """Persons, infusions and labs of one block of ``m`` persons (numpy arrays)."""
    tests = list(_units.TESTS)
    pid = np.arange(first_id, first_id + m, dtype=np.int64)
    female = rng.random(m) < 0.3
    age = rng.uniform(14.0, 72.0, m)
    first = _FIRST_INFUSION_FROM + rng.integers(0, 6 * 365, m)
    birth = (_EPOCH + (first - np.round(age * 365.25).astype(np.int64) - rng.integers(0, 365, m)).astype("timedelta64[D]"))
    dx = rng.choice(3, size=m, p=[0.45, 0.45, 0.10])
    hbsag = np.where(rng.random(m) < 0.05, rng.integers(0, 7, m), rng.integers(7, 361, m))
    flags = {f: rng.random(m) < 0.02 for f in _FLAGS}
    has_inf = rng.random(m) >= _P_NO_INFUSION
    n_inf = np.where(rng.random(m) < 0.5, 4, 8)
    odd = rng.random(m) < 0.05
    n_inf = np.where(odd, rng.integers(1, 13, m), n_inf) * has_inf
    persons = {"pid": pid, "female": female, "birth": birth, "dx": dx, "hbsag": hbsag, "flags": flags}

    # infusions: weekly from the first, +-1 day after the first
    tot = int(n_inf.sum())
    p_inf = np.repeat(np.arange(m), n_inf)
    k_inf = np.arange(tot) - np.repeat(np.cumsum(n_inf) - n_inf, n_inf)
    jitter = np.where(k_inf > 0, rng.integers(-1, 2, tot), 0)
    inf_day = first[p_inf] + 7 * k_inf + jitter
    dose = rng.choice(np.array([0.5, 1.0, 2.0]), size=tot)
    infusions = {"p": p_inf, "day": inf_day, "dose": dose}

    # panels: the scheduled visits (attended or moved anywhere), then unscheduled ones
    lam = labs_per_person / (len(tests) * _P_TEST_IN_PANEL * (1 + _P_SAME_DAY_REPEAT))
    npan = 1 + rng.poisson(max(lam - 1.0, 0.0), m)
    P = int(npan.sum())
    p_pan = np.repeat(np.arange(m), npan)
    k_pan = np.arange(P) - np.repeat(np.cumsum(npan) - npan, npan)
    day = rng.integers(-90, 251, P)
    nominal = np.array([s[0] for s in _SCHEDULE])
    sd = np.array([s[1] for s in _SCHEDULE])
    sched = (k_pan < len(_SCHEDULE)) & (rng.random(P) < _P_ATTENDED)
    ks = np.minimum(k_pan, len(_SCHEDULE) - 1)
    day = np.where(sched, nominal[ks] + np.round(rng.normal(0.0, 1.0, P) * sd[ks]).astype(np.int64), day)
    order = np.lexsort((day, p_pan))
    p_pan, day = p_pan[order], day[order]
    present = rng.random((P, len(tests))) < _P_TEST_IN_PANEL
    pan_i, test_i = np.nonzero(present)
    rep = 1 + (rng.random(len(pan_i)) < _P_SAME_DAY_REPEAT)
    pan_i, test_i = np.repeat(pan_i, rep), np.repeat(test_i, rep)
    R = len(pan_i)
    p_lab = p_pan[pan_i]
    t_lab = day[pan_i]

    # values: person level x improvement over the first 24 weeks x measurement noise
    improve = rng.normal(0.35, 0.25, m)
    si = rng.random(m) < 0.5
    alt_unit = rng.random(m) < 0.3
    na_unit = rng.random(m) < 0.2
    canon = np.empty(R)
    unit_idx = np.empty(R, dtype=np.int32)
    value = np.empty(R)
    op = np.zeros(R, dtype=np.int64)
    frac = np.clip(t_lab, 0, 168) / 168.0
    for k, test in enumerate(tests):
        rows = np.flatnonzero(test_i == k)
        medians, sigma, (lo, hi), direction, size = _LAB_MODEL[test]
        base = np.log(np.asarray(medians)[dx]) + rng.normal(0.0, sigma, m)
        noise = rng.normal(0.0, 0.015 if test == "sodium" else 0.08, len(rows))
        pr = p_lab[rows]
        if test == "inr":  # the excess over 1 improves
            excess = np.exp(base[pr]) - 0.8
            c = 0.8 + excess * np.exp(-direction * size * improve[pr] * frac[rows] + noise)
        else:
            c = np.exp(base[pr] - direction * size * improve[pr] * frac[rows] + noise)
        c = np.clip(c, lo, hi)
        use_second = {"alt": alt_unit, "ast": alt_unit, "sodium": na_unit}.get(test, si)[pr]
        limit = _LIMITS.get(test)
        cens = np.zeros(len(rows), bool) if limit is None else c < limit
        for j, (unit, decimals) in enumerate(_WRITTEN[test]):
            sel = use_second == bool(j)
            target = np.where(cens[sel], limit, c[sel]) if limit is not None else c[sel]
            written = np.round(np.asarray(_units.convert(target, test, _units.canonical_unit(test), unit), float),
                               decimals)
            value[rows[sel]] = written
            unit_idx[rows[sel]] = unit_dict.index(unit)
        canon[rows] = c
        op[rows[cens]] = _OP_LT
    # INR without a unit now and then (a single-unit test may omit it)
    unit_mask = (test_i == tests.index("inr")) & (rng.random(R) < 0.15)
    # unit errors: a bilirubin in µmol/L labelled mmol/L (1000-fold: implausible, logged at extraction)
    bili_si = (test_i == tests.index("bilirubin")) & (unit_idx == unit_dict.index("µmol/L")) & (value >= 1.0)
    unit_err = bili_si & (rng.random(R) < _P_UNIT_ERROR)
    unit_idx[unit_err] = unit_dict.index("mmol/L")
    no_value = rng.random(R) < _P_NO_VALUE
    labs = {"p": p_lab, "day": first[p_lab] + t_lab, "test": test_i, "value": value, "no_value": no_value,
            "unit": unit_idx, "unit_mask": unit_mask, "op": op, "loinc_dict": loinc_dict}
    return persons, infusions, labs


def _schemas(meta: dict):
    import pyarrow as pa

    s = pa.string()
    dict_s = pa.dictionary(pa.int32(), s)
    return {
        "person": pa.schema([("person_id", pa.int64()), ("gender_concept_id", pa.int32()),
                             ("year_of_birth", pa.int32()), ("month_of_birth", pa.int32()),
                             ("day_of_birth", pa.int32()), ("race_concept_id", pa.int32()),
                             ("ethnicity_concept_id", pa.int32()), ("gender_source_value", dict_s),
                             ("synthetic", pa.bool_())], metadata=meta),
        "person_attribute": pa.schema([("person_id", pa.int64()), ("diagnosis", dict_s), ("etiology", dict_s),
                                       ("hbsag_months", pa.int32())] + [(f, pa.bool_()) for f in _FLAGS]
                                      + [("synthetic", pa.bool_())], metadata=meta),
        "drug_exposure": pa.schema([("drug_exposure_id", pa.int64()), ("person_id", pa.int64()),
                                    ("drug_concept_id", pa.int32()), ("drug_exposure_start_date", pa.date32()),
                                    ("drug_exposure_end_date", pa.date32()), ("drug_type_concept_id", pa.int32()),
                                    ("quantity", pa.float64()), ("drug_source_value", dict_s),
                                    ("synthetic", pa.bool_())], metadata=meta),
        "measurement": pa.schema([("measurement_id", pa.int64()), ("person_id", pa.int64()),
                                  ("measurement_concept_id", pa.int32()), ("measurement_date", pa.date32()),
                                  ("measurement_type_concept_id", pa.int32()), ("operator_concept_id", pa.int32()),
                                  ("value_as_number", pa.float64()), ("unit_source_value", dict_s),
                                  ("measurement_source_value", dict_s), ("synthetic", pa.bool_())], metadata=meta),
        "concept": pa.schema([("concept_id", pa.int32()), ("concept_name", s), ("domain_id", s),
                              ("vocabulary_id", s), ("concept_class_id", s), ("standard_concept", s),
                              ("concept_code", s), ("valid_start_date", pa.date32()),
                              ("valid_end_date", pa.date32()), ("invalid_reason", s)], metadata=meta),
    }


def generate_omop(out_dir, n_persons: int = 1_000_000, *, seed: int = 1, labs_per_person: float = 100.0,
                  chunk_persons: int = 10_000, compression: str = "zstd",
                  log: Callable[[str], None] | None = None) -> SyntheticOMOP:
    """Write a SYNTHETIC OMOP CDM data set of cell-therapy patients as Parquet files.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``synthetic_omop_person.parquet``, ``..._person_attribute``,
        ``..._drug_exposure``, ``..._measurement`` and ``..._concept``
        (created; existing files of these names are replaced).
    n_persons : int, default 1,000,000
    seed : int, default 1
    labs_per_person : float, default 100
        Mean number of ``measurement`` rows per person (about 100 million
        rows for a million persons).
    chunk_persons : int, default 10,000
        Persons per block: each block is drawn from its own random stream
        (``seed``, block number) and written as one row group, so memory is
        bounded by one block (about 1 million lab rows) whatever
        ``n_persons`` is. The data depend on ``seed`` and ``chunk_persons``;
        blocks are independent, so the first ``k`` whole blocks of a larger
        data set are the data set of ``k * chunk_persons`` persons.
    compression : str, default "zstd"
        Parquet compression.
    log : callable, optional
        Called with a progress line after each block.

    Returns
    -------
    SyntheticOMOP

    Notes
    -----
    The persons are not real. Every table has a ``synthetic`` column that is
    True throughout and the key ``hepatostat.synthetic = true`` in its
    Parquet metadata; the file names start with ``synthetic_omop_``.

    Model (per person): sex (30 % female), age 14-72 at the first infusion,
    diagnosis (liver failure 45 %, cirrhosis 45 %, chronic hepatitis B 10 %),
    HBsAg months, the exclusion flags of the bundled ``seed_jia2020``
    criteria (2 % each) in ``person_attribute``; 2 % have no infusion; the
    others 4 or 8 weekly UC-MSC infusions (5 %: 1-12). Lab panels of the
    eight tests of :data:`hepatostat.units.TESTS` (each present with
    probability 0.95) at the scheduled visits (day -3, 7, 28, 84, 168, with
    scatter; 85 % attended) and unscheduled days -90 to 250; 1 % same-day
    repeats. Values are drawn per diagnosis and improve over 24 weeks. A
    site uses SI or conventional units (bilirubin, creatinine: µmol/L or
    mg/dL; albumin g/L or g/dL), values converted with
    :func:`hepatostat.units.convert`. Bilirubin below 0.2 mg/dL and ALT/AST
    below 10 U/L are censored (``operator_concept_id`` 4171756, "<"); 0.05 %
    of values are missing and 0.05 % of SI bilirubin results are labelled
    mmol/L (implausible). Tests are coded by LOINC in
    ``measurement_source_value`` and by local concepts (ids above
    2,000,000,000, as OMOP reserves for site concepts) in
    ``measurement_concept_id``, described in ``concept``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    n_persons = _int_arg("n_persons", n_persons, 1)
    chunk_persons = _int_arg("chunk_persons", chunk_persons, 1)
    seed = _int_arg("seed", seed, 0)
    if isinstance(labs_per_person, bool) or not isinstance(labs_per_person, (int, float)) or not labs_per_person >= 1:
        raise InputError(f"labs_per_person must be a number >= 1, got {labs_per_person!r}", value=labs_per_person)
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = {b"hepatostat.synthetic": b"true",
            b"hepatostat.description": b"SYNTHETIC OMOP CDM data generated by hepatostat; not real patients",
            b"hepatostat.generator": b"hepatostat.cohort.scale.generate_omop",
            b"hepatostat.seed": str(seed).encode(), b"hepatostat.chunk_persons": str(chunk_persons).encode()}
    schemas = _schemas(meta)
    files = {t: str(out / f"{PREFIX}{t}.parquet") for t in schemas}
    tests = list(_units.TESTS)
    loinc_dict = [_units.TESTS[t].loinc for t in tests]
    unit_dict = sorted({u for pair in _WRITTEN.values() for u, _ in pair} | {"mmol/L"})
    dx_dict = list(_DIAGNOSES)

    # concept: the eight LOINC codes as local concepts
    far = np.array([(np.datetime64("2099-12-31", "D") - _EPOCH).astype(int)])
    concept = pa.table({
        "concept_id": pa.array([_CONCEPT_BASE + 1 + k for k in range(len(tests))], pa.int32()),
        "concept_name": [_units.TESTS[t].name for t in tests],
        "domain_id": ["Measurement"] * len(tests),
        "vocabulary_id": ["LOINC"] * len(tests),
        "concept_class_id": ["Lab Test"] * len(tests),
        "standard_concept": pa.array([None] * len(tests), pa.string()),
        "concept_code": loinc_dict,
        "valid_start_date": _dates(np.zeros(len(tests), np.int64)),
        "valid_end_date": _dates(np.repeat(far, len(tests))),
        "invalid_reason": pa.array([None] * len(tests), pa.string()),
    }, schema=schemas["concept"])
    pq.write_table(concept, files["concept"], compression=compression)

    writers = {t: pq.ParquetWriter(files[t], schemas[t], compression=compression)
               for t in ("person", "person_attribute", "drug_exposure", "measurement")}
    n_inf_total = n_lab_total = 0
    try:
        n_blocks = math.ceil(n_persons / chunk_persons)
        for b in range(n_blocks):
            m = min(chunk_persons, n_persons - b * chunk_persons)
            rng = np.random.default_rng([seed, b])
            persons, inf, labs = _block(rng, b * chunk_persons + 1, m, float(labs_per_person), unit_dict, loinc_dict)
            pid = persons["pid"]
            birth = persons["birth"]
            years = birth.astype("datetime64[Y]").astype(np.int64) + 1970
            months = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
            days = (birth - birth.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
            true_m = pa.array(np.ones(m, bool))
            writers["person"].write_table(pa.table({
                "person_id": pid,
                "gender_concept_id": pa.array(np.where(persons["female"], 8532, 8507), pa.int32()),
                "year_of_birth": pa.array(years, pa.int32()),
                "month_of_birth": pa.array(months, pa.int32()),
                "day_of_birth": pa.array(days, pa.int32()),
                "race_concept_id": pa.array(np.zeros(m, np.int32)),
                "ethnicity_concept_id": pa.array(np.zeros(m, np.int32)),
                "gender_source_value": _dict_array(persons["female"].astype(np.int32), ["M", "F"]),
                "synthetic": true_m,
            }, schema=schemas["person"]))
            attr = {"person_id": pid, "diagnosis": _dict_array(persons["dx"], dx_dict),
                    "etiology": _dict_array(np.zeros(m, np.int32), ["hbv"]),
                    "hbsag_months": pa.array(persons["hbsag"], pa.int32())}
            attr.update({f: pa.array(v) for f, v in persons["flags"].items()})
            attr["synthetic"] = true_m
            writers["person_attribute"].write_table(pa.table(attr, schema=schemas["person_attribute"]))

            ni = len(inf["p"])
            writers["drug_exposure"].write_table(pa.table({
                "drug_exposure_id": np.arange(n_inf_total + 1, n_inf_total + ni + 1, dtype=np.int64),
                "person_id": pid[inf["p"]],
                "drug_concept_id": pa.array(np.zeros(ni, np.int32)),
                "drug_exposure_start_date": _dates(inf["day"]),
                "drug_exposure_end_date": _dates(inf["day"]),
                "drug_type_concept_id": pa.array(np.full(ni, _TYPE_EHR, np.int32)),
                "quantity": inf["dose"],
                "drug_source_value": _dict_array(np.zeros(ni, np.int32), ["UC-MSC"]),
                "synthetic": pa.array(np.ones(ni, bool)),
            }, schema=schemas["drug_exposure"]))
            n_inf_total += ni

            nl = len(labs["p"])
            op = labs["op"]
            writers["measurement"].write_table(pa.table({
                "measurement_id": np.arange(n_lab_total + 1, n_lab_total + nl + 1, dtype=np.int64),
                "person_id": pid[labs["p"]],
                "measurement_concept_id": pa.array((_CONCEPT_BASE + 1 + labs["test"]).astype(np.int32)),
                "measurement_date": _dates(labs["day"]),
                "measurement_type_concept_id": pa.array(np.full(nl, _TYPE_EHR, np.int32)),
                "operator_concept_id": pa.array(op.astype(np.int32), mask=(op == 0) | labs["no_value"]),
                "value_as_number": pa.array(labs["value"], mask=labs["no_value"]),
                "unit_source_value": _dict_array(labs["unit"], unit_dict, mask=labs["unit_mask"]),
                "measurement_source_value": _dict_array(labs["test"], loinc_dict),
                "synthetic": pa.array(np.ones(nl, bool)),
            }, schema=schemas["measurement"]))
            n_lab_total += nl
            if log is not None:
                log(f"block {b + 1}/{n_blocks}: {min((b + 1) * chunk_persons, n_persons):,} persons, "
                    f"{n_lab_total:,} measurements, {time.perf_counter() - t0:.1f} s")
    finally:
        for w in writers.values():
            w.close()
    return SyntheticOMOP(path=str(out), files=MappingProxyType(files), n_persons=n_persons,
                         n_drug_exposure=n_inf_total, n_measurement=n_lab_total, seed=seed,
                         chunk_persons=chunk_persons, seconds=time.perf_counter() - t0)


# --------------------------------------------------------------------------
# locating the tables
# --------------------------------------------------------------------------

_REQUIRED = ("person", "drug_exposure", "measurement")
_OPTIONAL = ("concept", "person_attribute")
_LAB_COLUMNS_NEEDED = ("person_id", "measurement_id", "measurement_date", "value_as_number")


def _table_paths(parquet_dir, tables) -> dict[str, str]:
    """OMOP table name -> Parquet file or folder (or URL, for Spark)."""
    if tables is not None:
        if not isinstance(tables, Mapping):
            raise InputError("tables must map OMOP table names (person, drug_exposure, measurement, ...) to paths")
        found = {str(k): str(v) for k, v in tables.items()}
        unknown = sorted(set(found) - set(_REQUIRED) - set(_OPTIONAL))
        if unknown:
            raise InputError(f"unknown table name(s) {', '.join(unknown)}; allowed: {', '.join(_REQUIRED + _OPTIONAL)}")
    else:
        if parquet_dir is None:
            raise InputError("give parquet_dir (a folder of OMOP Parquet files) or tables= (name -> path)")
        folder = Path(parquet_dir)
        if not folder.is_dir():
            raise InputError("not a folder of Parquet files", file=folder)
        found = {}
        for name in _REQUIRED + _OPTIONAL:
            hits = []
            for p in sorted(folder.iterdir()):
                stem = p.name[: -len(".parquet")] if p.name.endswith(".parquet") else (p.name if p.is_dir() else None)
                if stem is not None and (stem == name or stem.endswith("_" + name)):
                    hits.append(p)
            if len(hits) > 1:
                raise InputError(f"more than one {name} table: {', '.join(h.name for h in hits)}; keep one", file=folder)
            if hits:
                found[name] = str(hits[0])
    missing = [t for t in _REQUIRED if t not in found]
    if missing:
        raise InputError(
            f"missing OMOP table(s) {', '.join(missing)}; expected {', '.join(n + '.parquet' for n in missing)} "
            "(a prefix such as synthetic_omop_ is allowed) or a folder of that name",
            file=parquet_dir,
        )
    return found


def _is_synthetic(path: str) -> bool:
    """True when the Parquet metadata says ``hepatostat.synthetic = true`` (local files only)."""
    import pyarrow.parquet as pq

    p = Path(path)
    try:
        if p.is_dir():
            parts = sorted(p.glob("*.parquet"))
            if not parts:
                return False
            p = parts[0]
        meta = pq.read_schema(p).metadata or {}
    except (OSError, ValueError):  # URLs, unreadable or non-Parquet files: unknown, so not marked
        return False
    return meta.get(b"hepatostat.synthetic") == b"true"


# --------------------------------------------------------------------------
# the SQL (one text for every engine)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dialect:
    name: str
    day: str  # day number (days since 1970-01-01) of the DATE expression {x}
    date: str  # DATE of the day number {x}
    materialize: str  # make table {name} from query {sql}
    backslash_escapes: bool  # whether \ escapes in string literals

    def lit(self, v) -> str:
        """A SQL literal for a Python value (typed, so VALUES columns get one type)."""
        if v is None:
            return "NULL"
        if isinstance(v, (bool, np.bool_)):
            return "TRUE" if v else "FALSE"
        if isinstance(v, (int, np.integer)):
            return f"CAST({int(v)} AS BIGINT)"
        if isinstance(v, (float, np.floating)):
            if not math.isfinite(float(v)):
                raise InputError(f"cannot put a non-finite number into SQL: {v!r}", value=v)
            return f"CAST({float(v)!r} AS DOUBLE)"
        s = str(v).replace("'", "''")
        if self.backslash_escapes:
            s = s.replace("\\", "\\\\")
        return f"'{s}'"

    def values(self, name: str, columns, rows) -> str:
        body = ", ".join("(" + ", ".join(self.lit(x) for x in r) + ")" for r in rows)
        return f"CREATE OR REPLACE TEMPORARY VIEW {name} AS SELECT * FROM (VALUES {body}) AS t({', '.join(columns)})"


_DUCKDB = _Dialect(
    "duckdb",
    day="CAST(CAST({x} AS DATE) - DATE '1970-01-01' AS BIGINT)",
    date="CAST(DATE '1970-01-01' + CAST({x} AS INTEGER) AS DATE)",
    materialize="CREATE OR REPLACE TEMPORARY TABLE {name} AS {sql}",
    backslash_escapes=False,
)
_SPARK = _Dialect(
    "spark",
    day="CAST(UNIX_DATE(CAST({x} AS DATE)) AS BIGINT)",
    date="DATE_ADD(DATE '1970-01-01', CAST({x} AS INT))",
    materialize="CACHE TABLE {name} AS {sql}",
    backslash_escapes=True,
)

#: distinct (test key, unit, operator) of the measurement table, with counts
_KEYS_SQL = """
SELECT lab_key, unit_key, operator_concept_id, COUNT(*) AS n_rows
FROM measurement_in
GROUP BY lab_key, unit_key, operator_concept_id
"""

_MEASUREMENT_IN_SQL = """
CREATE OR REPLACE TEMPORARY VIEW measurement_in AS
SELECT person_id, measurement_id, measurement_date, value_as_number,
       {key} AS lab_key,
       COALESCE({unit}, '') AS unit_key,
       {operator} AS operator_concept_id
FROM measurement
"""

_LAB_ROWS_SQL = """
CREATE OR REPLACE TEMPORARY VIEW lab_rows AS
SELECT m.person_id, k.test,
       m.value_as_number * k.mul / k.div AS value,
       CASE WHEN m.operator_concept_id IS NULL THEN '' ELSE o.op_sign END AS op_sign,
       m.measurement_id AS row_id,
       {lab_day} AS lab_day,
       CASE WHEN m.value_as_number IS NULL THEN 'no value'
            WHEN NOT (m.value_as_number >= 0
                      AND m.value_as_number * k.mul / k.div >= k.lo
                      AND m.value_as_number * k.mul / k.div <= k.hi) THEN 'implausible'
            WHEN m.measurement_date IS NULL THEN 'no date'
            ELSE 'used' END AS status
FROM measurement_in m
JOIN lab_keys k ON k.lab_key = m.lab_key AND k.unit_key = m.unit_key
LEFT JOIN op_codes o ON o.operator_concept_id = m.operator_concept_id
"""

_ANCHORS_SQL = """
CREATE OR REPLACE TEMPORARY VIEW anchors AS
SELECT d.person_id, MIN({start_day}) AS first_day, {anchor_agg}({start_day}) AS anchor_day
FROM drug_exposure d
WHERE d.drug_exposure_start_date IS NOT NULL
  AND d.person_id IN (SELECT person_id FROM person)
GROUP BY d.person_id
"""

_COHORT_SQL = "CREATE OR REPLACE TEMPORARY VIEW cohort AS SELECT person_id FROM anchors"

_LABS_SQL = """
CREATE OR REPLACE TEMPORARY VIEW labs AS
SELECT person_id, test, value, op_sign, row_id, lab_day
FROM lab_rows
WHERE status = 'used' AND test IN (SELECT test FROM outcomes)
"""

_COUNTS_SQL = """
SELECT test, status, COUNT(*) AS n_rows
FROM lab_rows
GROUP BY test, status
"""

_PERSONS_SQL = """
SELECT (SELECT COUNT(*) FROM person) AS n_screened,
       (SELECT COUNT(*) FROM cohort) AS n_persons
"""


def _meld_i(b: str, i: str, c: str) -> str:
    """OPTN MELD(i) * 10 before rounding, as in hepatostat.scores._meld_inner (same order of operations)."""
    return (f"(1.0E1 * (0.957E0 * LN(LEAST(GREATEST({c}, 1.0E0), 4.0E0)) + 0.378E0 * LN(GREATEST({b}, 1.0E0))"
            f" + 1.120E0 * LN(GREATEST({i}, 1.0E0)) + 0.643E0))")


def _half_up(x: str) -> str:
    """Round half up after rounding to 9 decimals (hepatostat.scores._round_half_up)."""
    return f"CAST(FLOOR(ROUND({x}, 9) + 0.5E0) AS DOUBLE)"


def _bounded(x: str) -> str:
    return f"LEAST(GREATEST({x}, 6.0E0), 40.0E0)"


#: rounded MELD(i) * 10 (``mi``) and 137 - bounded sodium (``dna``), per person and visit
MELD_I_SQL = _half_up(_meld_i("bilirubin", "inr", "creatinine"))
DNA_SQL = "(137.0E0 - LEAST(GREATEST(sodium, 125.0E0), 137.0E0))"
#: MELD from ``mi`` (scores.meld: the rounded score bounded to 6-40)
MELD_SQL = _bounded("mi")
#: MELD-Na from ``mi`` and ``dna`` (scores.meld_na, same order of operations)
MELD_NA_SQL = _bounded(_half_up("CASE WHEN mi > 11.0E0 THEN mi + 1.32E0 * dna - 0.033E0 * mi * dna ELSE mi END"))
_SCORE_SQL = {
    "meld": (MELD_SQL, ("bilirubin", "inr", "creatinine")),
    "meld_na": (MELD_NA_SQL, ("bilirubin", "inr", "creatinine", "sodium")),
}


def _result_sql(d: _Dialect, spec: VisitSpec) -> str:
    """Lab rows + scores per visit + declines, from the materialised ``picked`` (VISIT_SQL's result)."""
    scores_wanted = [s for s in SCORE_OUTCOMES if s in spec.outcomes]
    parts = ["""
lab_out AS (
    SELECT p.person_id, p.test AS outcome, p.visit, p.visit_order, p.week, p.nominal_day, p.value,
           COALESCE(p.op_sign, '') AS censored, p.lab_day, CAST(p.t AS DOUBLE) AS t, p.row_id
    FROM picked p
    WHERE p.test IN (SELECT outcome FROM outcome_info)
)"""]
    union = ["SELECT * FROM lab_out"]
    if scores_wanted:
        parts.append("""
comp AS (
    SELECT person_id, visit, visit_order, week, nominal_day,
           MAX(CASE WHEN test = 'bilirubin' THEN value END) AS bilirubin,
           MAX(CASE WHEN test = 'inr' THEN value END) AS inr,
           MAX(CASE WHEN test = 'creatinine' THEN value END) AS creatinine,
           MAX(CASE WHEN test = 'sodium' THEN value END) AS sodium,
           MAX(CASE WHEN test IN ('bilirubin', 'inr', 'creatinine') AND op_sign <> '' THEN 1 ELSE 0 END) AS cens_meld,
           MAX(CASE WHEN test IN ('bilirubin', 'inr', 'creatinine', 'sodium') AND op_sign <> '' THEN 1 ELSE 0 END)
               AS cens_meld_na
    FROM picked
    GROUP BY person_id, visit, visit_order, week, nominal_day
)""")
        cols = []
        for s in scores_wanted:
            expr, comps = _SCORE_SQL[s]
            missing = " OR ".join(f"{c} IS NULL" for c in comps)
            cols.append(f"CASE WHEN {missing} THEN NULL ELSE {expr} END AS {s}")
            cols.append(f"cens_{s}")
        parts.append(f"""
meld_i AS (
    SELECT comp.*, {MELD_I_SQL} AS mi, {DNA_SQL} AS dna
    FROM comp
)""")
        parts.append(f"""
score_values AS (
    SELECT person_id, visit, visit_order, week, nominal_day, {', '.join(cols)}
    FROM meld_i
)""")
        for s in scores_wanted:
            union.append(f"""SELECT person_id, '{s}' AS outcome, visit, visit_order, week, nominal_day, {s} AS value,
           CASE WHEN cens_{s} = 1 AND {s} IS NOT NULL THEN 'from_censored' ELSE '' END AS censored,
           CAST(NULL AS BIGINT) AS lab_day, CAST(NULL AS DOUBLE) AS t, CAST(NULL AS BIGINT) AS row_id
    FROM score_values""")
    parts.append("\nall_rows AS (\n    " + "\n    UNION ALL\n    ".join(union) + "\n)")
    date = d.date.format(x="a.lab_day")
    return "WITH" + ",".join(parts) + f"""
SELECT a.person_id, a.outcome, a.visit, a.week, a.nominal_day, a.value, i.unit, a.t,
       {date} AS date,
       a.censored, a.row_id AS source_row,
       CASE WHEN a.visit_order = 0 THEN NULL ELSE CONCAT(pw.visit, '-', a.visit) END AS interval,
       CASE WHEN a.visit_order = 0 THEN NULL
            ELSE LAG(a.value) OVER (PARTITION BY a.person_id, a.outcome ORDER BY a.visit_order) - a.value
       END AS decline_interval,
       CASE WHEN a.visit_order = 0 THEN NULL
            ELSE MAX(CASE WHEN a.visit_order = 0 THEN a.value END) OVER (PARTITION BY a.person_id, a.outcome) - a.value
       END AS decline_cumulative
FROM all_rows a
JOIN outcome_info i ON i.outcome = a.outcome
LEFT JOIN windows pw ON pw.visit_order = a.visit_order - 1
ORDER BY a.person_id, i.outcome_order, a.visit_order
"""


#: columns of the output table, in order
OUTPUT_COLUMNS = ("person_id", "outcome", "visit", "week", "nominal_day", "value", "unit", "t", "date", "censored",
                  "source_row", "interval", "decline_interval", "decline_cumulative")


def _spec_for(spec: VisitSpec | None, outcomes) -> VisitSpec:
    spec = spec or VisitSpec.default()
    if not isinstance(spec, VisitSpec):
        raise InputError(f"spec must be a VisitSpec (e.g. load_criteria(...).visits), got {type(spec).__name__}")
    if outcomes is None:
        return spec
    if isinstance(outcomes, str):
        outcomes = [outcomes]
    allowed = ", ".join(list(_units.TESTS) + list(SCORE_OUTCOMES))
    keys = []
    for o in outcomes:
        name = str(o).strip().lower().replace("-", "_")
        if name not in SCORE_OUTCOMES:
            try:
                name = _units.get_test(str(o)).key
            except InputError:
                raise InputError(f"unknown outcome {o!r}; allowed: {allowed}", column="outcomes", value=o) from None
        if name not in keys:
            keys.append(name)
    if not keys:
        raise InputError(f"outcomes must name at least one outcome; allowed: {allowed}", column="outcomes")
    return dataclasses.replace(spec, outcomes=tuple(keys),
                               require_baseline=tuple(o for o in spec.require_baseline if o in keys))


def _outcome_info(spec: VisitSpec) -> list[tuple]:
    return [(o, "score" if o in SCORE_OUTCOMES else _units.canonical_unit(o), k) for k, o in enumerate(spec.outcomes)]


def _lab_keys(keys: pd.DataFrame, loinc_of: Mapping | None, measurement_file) -> tuple[list[tuple], pd.DataFrame]:
    """The lab key table (test, conversion factors and plausible range per test key and unit).

    ``keys``: distinct ``lab_key, unit_key, n_rows``. ``loinc_of``: concept id -> LOINC code
    (concept mode) or None (``measurement_source_value`` holds the test). Factors and ranges are
    those of :data:`hepatostat.units.TESTS`. An accepted test with a unit it does not accept is an
    error, as in :func:`hepatostat.cohort.cohort_data`. Returns the rows and the rows of other tests.
    """
    rows = []
    other = []
    test_of: dict = {}
    for r in keys.groupby(["lab_key", "unit_key"], dropna=False)["n_rows"].sum().reset_index().itertuples(index=False):
        key = None if pd.isna(r.lab_key) else (int(r.lab_key) if loinc_of is not None else str(r.lab_key))
        if key not in test_of:
            name = key if loinc_of is None else loinc_of.get(key)
            try:
                test_of[key] = None if name is None else _units.get_test(name.strip())
            except InputError:
                test_of[key] = None
        t = test_of[key]
        if t is None:
            other.append({"lab_key": key, "n_rows": int(r.n_rows)})
            continue
        unit = r.unit_key
        if unit == "":
            if len(t.units) != 1:
                raise InputError(f"measurement: the unit of {t.key} is missing in {int(r.n_rows):,} row(s); "
                                 f"allowed: {', '.join(t.units)}", file=measurement_file, column="unit_source_value",
                                 value=None)
            ukey = t.canonical
        else:
            spelled = re.sub(r"\[([^\]]*)\]", r"\1", unit)  # UCUM "[iU]/L" -> "iU/L", as cohort_data reads it
            try:
                _units.normalize_unit(spelled, t)
            except InputError:
                raise InputError(f"measurement: unit {unit!r} is not accepted for {t.key} ({int(r.n_rows):,} row(s)); "
                                 f"allowed: {', '.join(t.units)}", file=measurement_file, column="unit_source_value",
                                 value=unit) from None
            ukey = _units._norm_unit_key(spelled)
        mul, div = t.factors[ukey]
        lo, hi = t.plausible
        rows.append((key, unit, t.key, float(mul), float(div), float(lo), float(hi)))
    return rows, pd.DataFrame(other, columns=["lab_key", "n_rows"])


def _op_codes(codes, measurement_file) -> list[tuple]:
    """operator_concept_id -> censoring sign (schema's OMOP operator concepts; "=" is not censored)."""
    out = []
    for c in codes:
        if c is None or pd.isna(c):
            continue
        c = int(c)
        if c in _OPERATOR_CONCEPTS:
            out.append((c, _OPERATORS[_OPERATOR_CONCEPTS[c]]))
        elif c == 0:
            out.append((c, ""))
        else:
            raise InputError("measurement: operator_concept_id must be one of 4171756 (<), 4171754 (<=), "
                             "4172704 (>), 4171755 (>=), 4172703 (=) or 0", file=measurement_file,
                             column="operator_concept_id", value=c)
    return out or [(-1, "")]  # no operator codes: a row that matches nothing keeps the VALUES typed


class _Engine(abc.ABC):
    """What the SQL needs from an engine: run a statement, fetch a small result, columns of a table."""

    dialect: _Dialect

    @abc.abstractmethod
    def execute(self, sql: str) -> None:
        """Run one statement."""

    @abc.abstractmethod
    def fetch(self, sql: str) -> pd.DataFrame:
        """Run a query and return its (small) result."""

    @abc.abstractmethod
    def columns(self, table: str) -> list[str]:
        """Column names of a table or view."""


class _DuckEngine(_Engine):
    dialect = _DUCKDB

    def __init__(self, con):
        self.con = con

    def execute(self, sql):
        self.con.execute(sql)

    def fetch(self, sql):
        return self.con.execute(sql).df()

    def columns(self, table):
        return [r[0].lower() for r in self.con.execute(f"DESCRIBE SELECT * FROM {table}").fetchall()]


class _SparkEngine(_Engine):
    dialect = _SPARK

    def __init__(self, spark):
        self.spark = spark

    def execute(self, sql):
        self.spark.sql(sql)

    def fetch(self, sql):
        df = self.spark.sql(sql)
        return pd.DataFrame([tuple(r) for r in df.collect()], columns=df.columns)

    def columns(self, table):
        return [c.lower() for c in self.spark.table(table).columns]


def _prepare(engine: _Engine, paths: Mapping[str, str], spec: VisitSpec, log) -> dict:
    """Create the views (lab keys, windows, outcomes, labs, anchors, cohort); return the counts so far."""
    d = engine.dialect
    mfile = paths["measurement"]
    mcols = engine.columns("measurement")
    need = [c for c in _LAB_COLUMNS_NEEDED if c not in mcols]
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
    engine.execute(_MEASUREMENT_IN_SQL.format(
        key="measurement_concept_id" if concept_mode else "measurement_source_value",
        unit="unit_source_value" if "unit_source_value" in mcols else "CAST(NULL AS STRING)",
        operator="operator_concept_id" if "operator_concept_id" in mcols else "CAST(NULL AS BIGINT)"))
    t0 = time.perf_counter()
    keys = engine.fetch(_KEYS_SQL)
    loinc_of = None
    if concept_mode:
        loincs = ", ".join(d.lit(t.loinc) for t in _units.TESTS.values())
        con = engine.fetch(f"SELECT concept_id, concept_code FROM concept WHERE vocabulary_id = 'LOINC' "
                           f"AND concept_code IN ({loincs})")
        loinc_of = {int(a): str(b) for a, b in zip(con["concept_id"], con["concept_code"])}
    lab_keys, other = _lab_keys(keys, loinc_of, mfile)
    if not lab_keys:
        raise InputError("measurement holds no results of the tests hepatostat knows "
                         f"({', '.join(f'{t.key} LOINC {t.loinc}' for t in _units.TESTS.values())})", file=mfile)
    key_cast = "BIGINT" if concept_mode else "STRING"
    engine.execute(d.values("lab_keys_raw", ("lab_key", "unit_key", "test", "mul", "div", "lo", "hi"), lab_keys))
    engine.execute(f"CREATE OR REPLACE TEMPORARY VIEW lab_keys AS SELECT CAST(lab_key AS {key_cast}) AS lab_key, "
                   "unit_key, test, mul, div, lo, hi FROM lab_keys_raw")
    known = keys[keys["lab_key"].isin([k[0] for k in lab_keys])]
    engine.execute(d.values("op_codes", ("operator_concept_id", "op_sign"),
                            _op_codes(known["operator_concept_id"].unique(), mfile)))
    windows = window_table(spec)
    engine.execute(d.values("windows", list(windows.columns),
                            [(r.visit, int(r.visit_order), float(r.week), float(r.nominal_day), float(r.low_day),
                              float(r.high_day), int(r.is_baseline)) for r in windows.itertuples(index=False)]))
    engine.execute(d.values("outcomes", ("test",), [(t,) for t in visit_lab_tests(spec)]))
    engine.execute(d.values("outcome_info", ("outcome", "unit", "outcome_order"), _outcome_info(spec)))
    engine.execute(_LAB_ROWS_SQL.format(lab_day=d.day.format(x="m.measurement_date")))
    start = d.day.format(x="d.drug_exposure_start_date")
    engine.execute(_ANCHORS_SQL.format(start_day=start,
                                       anchor_agg="MIN" if spec.anchor == "first_infusion" else "MAX"))
    engine.execute(_COHORT_SQL)
    engine.execute(_LABS_SQL)
    if log:
        log(f"lab keys: {len(lab_keys)} (test, unit) pairs, {int(other['n_rows'].sum()) if len(other) else 0:,} rows "
            f"of other tests; {time.perf_counter() - t0:.1f} s")
    return {"n_measurement_rows": int(keys["n_rows"].sum()), "other_tests": other}


def _lab_row_counts(engine: _Engine, other: pd.DataFrame) -> pd.DataFrame:
    counts = engine.fetch(_COUNTS_SQL)
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
        exclusion counts), ``extract`` (the visit query and scores, written).
    threads : int or None
    memory_limit : str or None
    peak_rss_bytes : int or None
        Peak resident memory of this process so far (DuckDB runs in it; for
        Spark the work is in the JVM and this is None). For a clean number run
        the extraction in a fresh process (``benchmarks/scale.py``).
    synthetic : bool
        True when the measurement file is marked synthetic in its metadata.
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

    @property
    def n_no_infusion(self) -> int:
        """Persons of ``person`` without an infusion record (not in the cohort)."""
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
        }

    def summary(self) -> str:
        lines = []
        if self.synthetic:
            lines.append("SYNTHETIC DATA - not real patients")
        lines.append(f"Visit table ({self.engine}): {self.n_persons:,} persons with an infusion record of "
                     f"{self.n_screened:,} ({self.n_no_infusion:,} without one), outcomes "
                     f"{', '.join(self.spec.outcomes)}; {self.n_output_rows:,} rows -> {self.path}")
        rss = f", peak RSS {self.peak_rss_bytes / 2**30:.2f} GiB" if self.peak_rss_bytes else ""
        lines.append(f"{self.n_measurement_rows:,} measurement rows in {self.seconds:.1f} s "
                     f"({self.rows_per_second:,.0f} rows/s){rss}")
        lines.append(f"{'test':<24}{'rows':>14}{'used':>14}{'no value':>10}{'implaus.':>10}{'no date':>9}")
        for r in self.lab_rows.itertuples(index=False):
            lines.append(f"{r.test:<24}{r.n_rows:>14,}{r.used:>14,}{r.no_value:>10,}{r.implausible:>10,}{r.no_date:>9,}")
        return "\n".join(lines)


def _peak_rss() -> int | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r if sys.platform == "darwin" else r * 1024)


_MEMORY_RE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)\s*$", re.IGNORECASE)


def _run(engine: _Engine, paths, spec, log, write: Callable[[str], int]):
    """Prepare, count, extract; return (counts dict, lab_rows, n_output_rows, steps)."""
    d = engine.dialect
    steps = {}
    t = time.perf_counter()
    info = _prepare(engine, paths, spec, log)
    steps["prepare"] = time.perf_counter() - t
    t = time.perf_counter()
    lab_rows = _lab_row_counts(engine, info["other_tests"])
    persons = engine.fetch(_PERSONS_SQL)
    steps["counts"] = time.perf_counter() - t
    if log:
        log(f"counts: {steps['counts']:.1f} s")
    t = time.perf_counter()
    engine.execute(d.materialize.format(name="picked", sql=VISIT_SQL))
    if log:
        log(f"visit query (VISIT_SQL) materialised: {time.perf_counter() - t:.1f} s")
    n_out = write(_result_sql(d, spec))
    steps["extract"] = time.perf_counter() - t
    if log:
        log(f"scores, declines, written: {steps['extract']:.1f} s")
    return info, lab_rows, persons, n_out, steps


def extract_at_scale(parquet_dir=None, *, out=None, tables: Mapping[str, str] | None = None,
                     spec: VisitSpec | None = None, outcomes=None, threads: int = 2, memory_limit: str = "16GB",
                     temp_directory=None, log: Callable[[str], None] | None = None) -> ScaleExtraction:
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
    import duckdb

    threads = _int_arg("threads", threads, 1)
    if not isinstance(memory_limit, str) or not _MEMORY_RE.match(memory_limit):
        raise InputError(f"memory_limit must be a size such as '16GB' or '512MB', got {memory_limit!r}",
                         value=memory_limit)
    spec = _spec_for(spec, outcomes)
    paths = _table_paths(parquet_dir, tables)
    out = Path(out) if out is not None else Path(parquet_dir if parquet_dir is not None else ".") / "visits.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    own_tmp = temp_directory is None
    tmp = Path(tempfile.mkdtemp(prefix="hepatostat_duckdb_")) if own_tmp else Path(temp_directory)
    tmp.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit, "temp_directory": str(tmp),
                                 "preserve_insertion_order": False})
    try:
        con.execute("SET enable_progress_bar = false")
        for name, p in paths.items():
            src = str(Path(p) / "**" / "*.parquet") if Path(p).is_dir() else str(p)
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet({_DUCKDB.lit(src)})")
        engine = _DuckEngine(con)

        def write(sql):
            n = con.execute(f"COPY ({sql}) TO {_DUCKDB.lit(str(out))} (FORMAT parquet, COMPRESSION zstd)").fetchone()
            return int(n[0]) if n else 0

        info, lab_rows, persons, n_out, steps = _run(engine, paths, spec, log, write)
    finally:
        con.close()
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.perf_counter() - t0
    return ScaleExtraction(
        path=str(out), engine="duckdb", spec=spec, n_screened=int(persons["n_screened"].iloc[0]),
        n_persons=int(persons["n_persons"].iloc[0]), n_measurement_rows=info["n_measurement_rows"],
        n_output_rows=n_out, lab_rows=lab_rows, seconds=seconds, step_seconds=MappingProxyType(steps),
        threads=threads, memory_limit=memory_limit, peak_rss_bytes=_peak_rss(),
        synthetic=_is_synthetic(paths["measurement"]),
    )


def extract_spark(parquet_dir=None, *, out, tables: Mapping[str, str] | None = None, spark=None,
                  spec: VisitSpec | None = None, outcomes=None,
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
    spec, outcomes, log
        As for :func:`extract_at_scale`.

    Returns
    -------
    ScaleExtraction
        ``peak_rss_bytes`` is None (the work runs in the JVM).

    Raises
    ------
    InputError
        As for :func:`extract_at_scale`; also when pyspark is not installed.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError("extract_spark needs pyspark (pip install pyspark) and Java 17 or later") from None
    spec = _spec_for(spec, outcomes)
    frames = {k: v for k, v in (tables or {}).items() if hasattr(v, "createOrReplaceTempView")}
    paths = _table_paths(parquet_dir, None if tables is None else
                         {k: (f"<DataFrame {k}>" if k in frames else v) for k, v in tables.items()})
    if spark is None:
        spark = SparkSession.getActiveSession()
    own = spark is None
    if own:
        spark = (SparkSession.builder.master("local[2]").appName("hepatostat-scale")
                 .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                 .config("spark.sql.shuffle.partitions", "8").config("spark.sql.session.timeZone", "UTC")
                 .getOrCreate())
    t0 = time.perf_counter()
    try:
        for name, p in paths.items():
            (frames[name] if name in frames else spark.read.parquet(p)).createOrReplaceTempView(name)
        engine = _SparkEngine(spark)

        def write(sql):
            spark.sql(sql).write.mode("overwrite").parquet(str(out))
            return int(spark.read.parquet(str(out)).count())

        info, lab_rows, persons, n_out, steps = _run(engine, paths, spec, log, write)
        spark.sql("UNCACHE TABLE IF EXISTS picked")
    finally:
        if own:
            spark.stop()
    seconds = time.perf_counter() - t0
    return ScaleExtraction(
        path=str(out), engine="spark", spec=spec, n_screened=int(persons["n_screened"].iloc[0]),
        n_persons=int(persons["n_persons"].iloc[0]), n_measurement_rows=info["n_measurement_rows"],
        n_output_rows=n_out, lab_rows=lab_rows, seconds=seconds, step_seconds=MappingProxyType(steps),
        synthetic=_is_synthetic(paths["measurement"]),
    )


# --------------------------------------------------------------------------
# the same in pandas (samples), and the existing engine on a sample
# --------------------------------------------------------------------------


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
    spec = _spec_for(spec, outcomes)
    paths = _table_paths(parquet_dir, tables)
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
    rows, _ = _lab_keys(keys, loinc_of, mfile)
    kt = pd.DataFrame(rows, columns=["lab_key", "unit_key", "test", "mul", "div", "lo", "hi"]).astype({"lab_key": object})
    ops = dict(_op_codes(m["operator_concept_id"].dropna().unique(), mfile))
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
    long["unit"] = long["outcome"].map({o: u for o, u, _ in _outcome_info(spec)})
    long["date"] = pd.Timestamp("1970-01-01") + pd.to_timedelta(long["lab_day"], unit="D")
    long["source_row"] = long["row_id"].astype("Int64")
    long["t"] = long["t"].astype(float)
    return long[list(OUTPUT_COLUMNS)].reset_index(drop=True)


def extract_reference(parquet_dir=None, *, tables: Mapping[str, str] | None = None, spec: VisitSpec | None = None,
                      outcomes=None) -> pd.DataFrame:
    """The existing engine on a small OMOP Parquet sample, in the layout of the scale output.

    Reads the tables into an in-memory DuckDB database, then
    :func:`hepatostat.cohort.read_omop` (tests by ``measurement_source_value``;
    every check and unit conversion of :func:`~hepatostat.cohort.cohort_data`)
    and :func:`hepatostat.cohort.extract_visits` for every person with an
    infusion record. ``source_row`` is mapped back to ``measurement_id`` and
    ``person_id`` to OMOP's integer, so the result compares directly with
    :func:`extract_at_scale`. Meant for samples: the import checks every row in
    Python.
    """
    import duckdb

    from .sources import read_omop
    from .visits import extract_visits

    spec = _spec_for(spec, outcomes)
    paths = _table_paths(parquet_dir, tables)
    con = duckdb.connect()
    try:
        for name in ("person", "person_attribute", "drug_exposure", "measurement"):
            if name in paths:
                src = str(Path(paths[name]) / "**" / "*.parquet") if Path(paths[name]).is_dir() else paths[name]
                order = " ORDER BY measurement_id" if name == "measurement" else ""
                con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet({_DUCKDB.lit(src)}){order}")
        ids = con.execute("SELECT measurement_id FROM measurement").fetchnumpy()["measurement_id"]
        data = read_omop(con, source=str(parquet_dir or "tables"))
    finally:
        con.close()
    persons = sorted(set(data.treatments["person_id"]) & set(data.persons["person_id"]), key=int)
    vt = extract_visits(data, persons, spec)
    long = vt.long.copy()
    long["person_id"] = long["person_id"].astype("int64")
    sr = long["source_row"]
    long["source_row"] = pd.array([None if pd.isna(r) else int(ids[int(r) - 1]) for r in sr], dtype="Int64")
    return long[list(OUTPUT_COLUMNS)].reset_index(drop=True)


def compare_visits(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, int]:
    """Rows that differ between two visit tables of the scale layout, per column.

    Exact comparison (floats bit for bit); missing equals missing. Rows are
    matched on ``person_id, outcome, visit``.

    Returns
    -------
    dict
        Column -> number of rows that differ; all zero when the tables are
        identical.

    Raises
    ------
    InputError
        When the two tables do not hold the same (person, outcome, visit) rows.
    """
    key = ["person_id", "outcome", "visit"]

    def norm(f: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in OUTPUT_COLUMNS if c not in f.columns]
        if missing:
            raise InputError(f"not a visit table of the scale layout: no column(s) {', '.join(missing)}")
        f = f[list(OUTPUT_COLUMNS)].copy()
        f["person_id"] = f["person_id"].astype("int64")
        f["date"] = pd.to_datetime(f["date"])
        f["source_row"] = f["source_row"].astype("Int64")
        for c in ("outcome", "visit", "unit", "censored", "interval"):
            f[c] = f[c].astype(object).where(f[c].notna(), None)
        for c in ("week", "nominal_day", "value", "t", "decline_interval", "decline_cumulative"):
            f[c] = f[c].astype(float)
        return f.sort_values(key, kind="stable").reset_index(drop=True)

    a, b = norm(a), norm(b)
    if len(a) != len(b) or not (a[key].to_numpy() == b[key].to_numpy()).all():
        raise InputError(f"the two visit tables do not hold the same (person, outcome, visit) rows "
                         f"({len(a):,} and {len(b):,} rows)")
    out = {}
    for c in OUTPUT_COLUMNS:
        x, y = a[c], b[c]
        same = (x == y).astype("boolean").fillna(False).to_numpy(dtype=bool) | (x.isna() & y.isna()).to_numpy()
        out[c] = int((~same).sum())
    return out
