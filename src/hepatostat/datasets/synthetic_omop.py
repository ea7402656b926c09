"""A SYNTHETIC OMOP CDM data set of cell-therapy patients, written block by block as Parquet files.

The persons are not real. Every table has a ``synthetic`` column that is True
throughout and the key ``hepatostat.synthetic = true`` in its Parquet metadata;
the file names start with ``synthetic_omop_``. Made for the scale extraction
(:mod:`hepatostat.cohort.scale`): a million persons and about a hundred million
measurement rows are written with the memory of one block.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from .. import units as _units
from ..cohort.scale.inputs import int_argument
from ..errors import InputError

__all__ = ["SyntheticOMOP", "generate_omop", "PREFIX"]


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
        from ..io.format import fmt_n as n, fmt_seconds

        return (f"SYNTHETIC OMOP CDM data - not real patients: {n(self.n_persons)} persons, "
                f"{n(self.n_drug_exposure)} infusions, {n(self.n_measurement)} measurements "
                f"(seed {self.seed}, {n(self.chunk_persons)} persons per block) in {self.path}; "
                f"{fmt_seconds(self.seconds)}")


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

    n_persons = int_argument("n_persons", n_persons, 1)
    chunk_persons = int_argument("chunk_persons", chunk_persons, 1)
    seed = int_argument("seed", seed, 0)
    if isinstance(labs_per_person, bool) or not isinstance(labs_per_person, (int, float)) or not labs_per_person >= 1:
        raise InputError(f"labs_per_person must be a number >= 1, got {labs_per_person!r}", value=labs_per_person)
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = {b"hepatostat.synthetic": b"true",
            b"hepatostat.description": b"SYNTHETIC OMOP CDM data generated by hepatostat; not real patients",
            b"hepatostat.generator": b"hepatostat.datasets.synthetic_omop.generate_omop",
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
                from ..io.format import fmt_n, fmt_seconds

                log(f"block {b + 1}/{n_blocks}: {fmt_n(min((b + 1) * chunk_persons, n_persons))} persons, "
                    f"{fmt_n(n_lab_total)} measurements, {fmt_seconds(time.perf_counter() - t0)}")
    finally:
        for w in writers.values():
            w.close()
    return SyntheticOMOP(path=str(out), files=MappingProxyType(files), n_persons=n_persons,
                         n_drug_exposure=n_inf_total, n_measurement=n_lab_total, seed=seed,
                         chunk_persons=chunk_persons, seconds=time.perf_counter() - t0)

