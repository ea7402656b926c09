"""SYNTHETIC patient-level cohort in the design of Jia et al. 2020. Not real patients.

The seed paper's patient records are not public, so the cohort engine is
exercised on a *synthetic* data set of the same design, drawn from a seeded
random model. Every table carries a ``synthetic`` column that is True
throughout, and the Parquet files carry the key ``hepatostat.synthetic =
true`` in their metadata. The numbers describe no real person.

Design (Jia et al. 2020, Stem Cell Res Ther,
doi:10.1186/s13287-020-01787-4, sections 2-3 and Table 1):

* 513 persons screened; 123 analysed: group A (liver failure, > 4 weeks of
  weekly UC-MSC infusions) 37, B (liver failure, <= 4 weeks) 27, C
  (cirrhosis, > 4 weeks) 28, D (cirrhosis, <= 4 weeks) 31. The 390 others
  fail exactly one step first (:data:`DESIGN`), in the order of the bundled
  criteria ``seed_jia2020``; some fail later criteria too.
* Baseline ALT, AST, TBIL, PTA, age and sex per group follow Table 1
  (medians and quartiles, drawn by stratified inverse-quantile sampling). The
  paper's TBIL is printed in "mmol/L" but is µmol/L; its MELD of about 78 is
  what the formula gives from µmol/L entered as mg/dL. Here INR is derived
  from PTA and creatinine is drawn around 70 µmol/L, so MELD is in the 20s.
  Table 1 prints the sex counts of C and D swapped; Table 2's are used.
* Labs at baseline (0-5 days before the first infusion; 15-30 days before
  for the persons excluded for "no baseline value") and at weeks 1, 4, 12
  and 24, with scatter around the nominal day, some visits missing or
  outside their window, some extra unscheduled results, values improving
  over time (more with prolonged treatment), mixed units (bilirubin and
  creatinine in µmol/L or mg/dL, ALT in U/L or IU/L), censored strings
  (``"<10"``), empty values and implausible entries (µmol/L values labelled
  "mmol/L" or "mg/dL", g/L labelled g/dL) that the import puts in the
  exclusion log.

``simulate(seed)`` returns the raw tables as a hospital export would hold
them (lab values as text); :func:`load` reads the shipped Parquet files,
which :func:`regenerate` rebuilds exactly with the default seed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_SEED", "DESIGN", "TABLE1", "simulate", "load", "load_cohort", "write", "regenerate", "FILES"]

DEFAULT_SEED = 20200710

#: first failing step of each screened-out person (step id -> count) and the groups
DESIGN = {
    "n_screened": 513,
    "n_analysed": 123,
    "groups": {"A": 37, "B": 27, "C": 28, "D": 31},
    "first_failure": {
        "infusion_record": 14,
        "inc_A": 21,
        "inc_B": 96,
        "inc_C": 58,
        "exc_A": 40,
        "exc_B": 9,
        "exc_C": 17,
        "exc_D": 30,
        "exc_E": 4,
        "exc_F": 12,
        "exc_G": 26,
        "exc_H": 52,
        "baseline": 11,
    },
}

#: Table 1 of the paper: sex (M, F) and (min, Q1, median, Q3, max) per group;
#: min and max are not published and are plausible choices. TBIL in µmol/L.
TABLE1 = {
    "A": {"diagnosis": "liver_failure", "prolonged": True, "sex": (34, 3), "age": (18, 35, 40, 46.5, 59),
          "alt": (15, 46.5, 88, 312, 1600), "ast": (30, 68, 109, 173.5, 900), "tbil": (171, 346, 486, 550.5, 720),
          "pta": (12, 25.5, 35, 40.5, 55)},
    "B": {"diagnosis": "liver_failure", "prolonged": False, "sex": (22, 5), "age": (19, 33, 42, 50, 60),
          "alt": (14, 46, 77, 336, 1800), "ast": (28, 68, 103, 147, 800), "tbil": (120, 219, 381, 495, 680),
          "pta": (15, 31, 34, 47, 60)},
    "C": {"diagnosis": "cirrhosis", "prolonged": True, "sex": (23, 5), "age": (22, 37.5, 47.5, 56.5, 60),
          "alt": (10, 23.25, 48, 75.75, 300), "ast": (20, 45.25, 73, 131.5, 400), "tbil": (25, 85.25, 415, 488.5, 650),
          "pta": (15, 29.75, 40.5, 53, 75)},
    "D": {"diagnosis": "cirrhosis", "prolonged": False, "sex": (26, 5), "age": (20, 35, 44, 60, 60),
          "alt": (10, 25.25, 42.5, 89, 350), "ast": (22, 47.5, 65, 92, 300), "tbil": (22, 75.7, 149, 306.75, 520),
          "pta": (18, 34.75, 44.5, 59.25, 80)},
}

FLAGS = ("severe_complication", "autoimmune_disease", "other_hepatitis_virus", "organ_impairment",
         "pregnant_or_lactating", "liver_support_or_transplant", "alcoholic_liver_disease", "liver_cancer")
_EXC_FLAG = dict(zip(("exc_A", "exc_B", "exc_C", "exc_D", "exc_E", "exc_F", "exc_G", "exc_H"), FLAGS))
_ORDER = list(DESIGN["first_failure"])  # step order of the bundled criteria

#: multiplicative change from baseline at W0, W1, W4, W12, W24
_TBIL_RATIO = {"A": (1, 0.85, 0.62, 0.30, 0.16), "B": (1, 0.85, 0.55, 0.40, 0.30),
               "C": (1, 0.90, 0.78, 0.55, 0.42), "D": (1, 0.92, 0.85, 0.72, 0.62)}
_ALT_RATIO = {"liver_failure": (1, 0.60, 0.45, 0.35, 0.30), "cirrhosis": (1, 0.80, 0.75, 0.65, 0.60)}
_AST_RATIO = {"liver_failure": (1, 0.75, 0.60, 0.45, 0.40), "cirrhosis": (1, 0.85, 0.80, 0.70, 0.65)}
#: additive PTA gain (percentage points)
_PTA_GAIN = {"A": (0, 4, 10, 20, 26), "B": (0, 2, 8, 14, 17), "C": (0, 3, 5, 7, 9), "D": (0, 1, 2, 4, 5)}
_NOMINAL = (0, 7, 28, 84, 168)
_SCATTER = (0, 1.2, 2.5, 5.0, 8.0)
_TOLERANCE = (0, 3, 7, 14, 28)
_DROP = (0, 0.05, 0.08, 0.12, 0.15)

#: file names of the shipped tables
FILES = {"persons": "synthetic_cohort_persons.parquet", "treatments": "synthetic_cohort_treatments.parquet",
         "labs": "synthetic_cohort_labs.parquet"}
_META_KEY = b"hepatostat.synthetic"
_META_NOTE = (b"SYNTHETIC data generated by hepatostat.datasets.synthetic_cohort (design of Jia et al. 2020, "
              b"doi:10.1186/s13287-020-01787-4). Not real patients.")


def _quantile_draw(rng, n: int, q) -> np.ndarray:
    """n draws whose sample quartiles sit close to q = (min, Q1, median, Q3, max)."""
    u = (rng.permutation(n) + rng.uniform(size=n)) / n
    return np.interp(u, [0, 0.25, 0.5, 0.75, 1.0], q)


def _inr_from_pta(pta: np.ndarray, rng) -> np.ndarray:
    """A smooth PTA -> INR relation (INR 1 at 100 %, about 2.1 at 35 %)."""
    inr = 1.0 + 0.6 * (100.0 / np.clip(pta, 8, 150) - 1.0)
    return np.clip(inr * np.exp(rng.normal(0, 0.04, size=np.shape(pta))), 0.8, 8.0)


def _fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}f}"


def _persons(rng) -> pd.DataFrame:
    """One row per person with the study fields (before ids and dates)."""
    rows = []
    for g, n in DESIGN["groups"].items():
        t = TABLE1[g]
        male, female = t["sex"]
        sex = np.array(["M"] * male + ["F"] * female)
        rng.shuffle(sex)
        age = np.floor(_quantile_draw(rng, n, t["age"]) + 0.5)
        labs = {k: _quantile_draw(rng, n, t[k]) for k in ("alt", "ast", "tbil", "pta")}
        for i in range(n):
            rows.append(dict(fate="analysed", profile=g, group=g, sex=sex[i], age=age[i],
                             **{k: v[i] for k, v in labs.items()}))
    for step, n in DESIGN["first_failure"].items():
        for _ in range(n):
            g = str(rng.choice(list(TABLE1)))
            t = TABLE1[g]
            rows.append(dict(fate=step, profile=g, group=None, sex="M" if rng.uniform() < 0.82 else "F",
                             age=float(rng.integers(18, 61)),
                             **{k: float(_quantile_draw(rng, 1, t[k])[0]) for k in ("alt", "ast", "tbil", "pta")}))
    per = pd.DataFrame(rows)
    n = len(per)
    per["diagnosis"] = [TABLE1[g]["diagnosis"] for g in per["profile"]]
    per["prolonged"] = [TABLE1[g]["prolonged"] for g in per["profile"]]
    per["hbsag_months"] = np.round(rng.uniform(7, 240, size=n))
    for f in FLAGS:
        per[f] = False
    per[list(FLAGS)] = per[list(FLAGS)].astype(object)
    for i, fate in enumerate(per["fate"]):
        pos = _ORDER.index(fate) if fate in _ORDER else len(_ORDER)
        if fate == "inc_A":
            per.at[i, "hbsag_months"] = np.nan if rng.uniform() < 0.2 else float(rng.integers(1, 7))
        elif fate == "inc_B":
            per.at[i, "diagnosis"] = str(rng.choice(["chronic_hepatitis_b", "chronic_hepatitis_b", "hepatic_fibrosis",
                                                     "acute_hepatitis_b"]))
        elif fate == "inc_C":
            per.at[i, "age"] = float(rng.integers(12, 16) if rng.uniform() < 0.2 else rng.integers(61, 76))
        elif fate in _EXC_FLAG:
            per.at[i, _EXC_FLAG[fate]] = True
            if fate == "exc_E":
                per.at[i, "sex"] = "F"
        # some persons also fail a later step (counted at their first)
        if fate != "analysed" and pos < _ORDER.index("exc_H") and rng.uniform() < 0.15:
            later = [s for s in _ORDER[pos + 1:] if s in _EXC_FLAG and s != "exc_E"]
            per.at[i, _EXC_FLAG[str(rng.choice(later))]] = True
    # unknown (not recorded) conditions: do not exclude, counted as n_missing
    for i in np.flatnonzero((per["fate"] == "analysed").to_numpy()):
        if rng.uniform() < 0.05:
            per.at[i, "autoimmune_disease"] = None
    per.loc[per["sex"] == "M", "pregnant_or_lactating"] = False
    return per


def simulate(seed: int = DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """Draw the SYNTHETIC cohort: ``{"persons", "treatments", "labs"}`` raw tables.

    Parameters
    ----------
    seed : int
        Seed of :func:`numpy.random.default_rng`; the default rebuilds the
        shipped files.

    Returns
    -------
    dict of pandas.DataFrame
        ``persons`` (person_id, sex, birth_date, diagnosis, etiology,
        hbsag_months, the eight exclusion flags of the bundled criteria,
        synthetic), ``treatments`` (person_id, date, dose, dose_unit, drug,
        synthetic) and ``labs`` (person_id, date, test, value as text, unit,
        synthetic), in the layout :func:`hepatostat.cohort.cohort_data`
        reads. All SYNTHETIC.
    """
    rng = np.random.default_rng(seed)
    per = _persons(rng)
    n = len(per)
    per = per.iloc[rng.permutation(n)].reset_index(drop=True)
    per["person_id"] = [f"S{i + 1:04d}" for i in range(n)]
    start = pd.Timestamp("2014-02-10")
    first = [start + pd.Timedelta(days=int(d)) for d in rng.integers(0, 640, size=n)]
    per["first_date"] = first
    # birth date: exactly `age` completed years at the first infusion
    per["birth_date"] = [
        f - pd.DateOffset(years=int(a)) - pd.Timedelta(days=int(rng.integers(1, 360)))
        for f, a in zip(first, per["age"])
    ]

    # ---- treatments: weekly infusions -------------------------------------------------
    tr_rows = []
    for r in per.itertuples():
        if r.fate == "infusion_record":
            continue
        if r.prolonged:
            k = 8 if rng.uniform() < 0.8 else int(rng.integers(5, 8))
        else:
            k = 4 if rng.uniform() < 0.8 else int(rng.integers(1, 4))
        for j in range(k):
            jitter = 0 if j == 0 else int(rng.choice([-1, 0, 0, 0, 1]))
            tr_rows.append((r.person_id, r.first_date + pd.Timedelta(days=7 * j + jitter), 1.0))
    treatments = pd.DataFrame(tr_rows, columns=["person_id", "date", "dose"])
    treatments["dose_unit"] = "10^6 cells/kg"
    treatments["drug"] = "UC-MSC"

    # ---- labs ------------------------------------------------------------------------------
    lab_rows = []
    for r in per.itertuples():
        prof = r.profile
        diag = TABLE1[prof]["diagnosis"]
        bili_si = rng.uniform() < 0.85
        crea_si = rng.uniform() < 0.85
        alt_unit = "U/L" if rng.uniform() < 0.9 else "IU/L"
        crea0 = float(np.clip(72 * np.exp(rng.normal(0, 0.25)), 35, 400))
        alb0 = float(np.clip(rng.normal(30, 4), 18, 45))
        na0 = float(np.clip(rng.normal(136, 3), 122, 146))
        for v in range(5):
            if v == 0:
                lag = int(rng.integers(16, 31)) if r.fate == "baseline" else int(rng.integers(0, 6))
                day = -lag
            else:
                if rng.uniform() < _DROP[v]:
                    continue
                day = _NOMINAL[v] + int(np.round(rng.normal(0, _SCATTER[v])))
                if rng.uniform() < 0.03:  # a visit outside its window (W1 only late: early would be baseline)
                    side = 1 if v == 1 else int(rng.choice([-1, 1]))
                    day = _NOMINAL[v] + side * (_TOLERANCE[v] + int(rng.integers(2, 8)))
            date = r.first_date + pd.Timedelta(days=day)
            tbil = r.tbil * _TBIL_RATIO[prof][v] * (np.exp(rng.normal(0, 0.18)) if v else 1.0)
            alt = max(5.0, r.alt * _ALT_RATIO[diag][v] * (np.exp(rng.normal(0, 0.25)) if v else 1.0))
            ast = max(8.0, r.ast * _AST_RATIO[diag][v] * (np.exp(rng.normal(0, 0.25)) if v else 1.0))
            pta = float(np.clip(r.pta + _PTA_GAIN[prof][v] + (rng.normal(0, 6) if v else 0.0), 8, 130))
            inr = float(_inr_from_pta(np.array(pta), rng))
            crea = crea0 * np.exp(rng.normal(0, 0.08))
            alb = alb0 + (0, 0.5, 1.5, 3.0, 4.0)[v] + rng.normal(0, 2)
            na = na0 + rng.normal(0, 2)
            vals = [
                ("ALT", "<10" if alt < 10 else _fmt(alt, 0), alt_unit),
                ("AST", _fmt(ast, 0), alt_unit),
                ("TBIL", _fmt(tbil, 1) if bili_si else _fmt(tbil / 17.1, 2), "µmol/L" if bili_si else "mg/dL"),
                ("PTA", _fmt(pta, 0), "%"),
                ("INR", _fmt(inr, 2), ""),
                ("CREA", _fmt(crea, 0) if crea_si else _fmt(crea / 88.4, 2), "µmol/L" if crea_si else "mg/dL"),
                ("ALB", _fmt(alb, 1), "g/L"),
                ("Na", _fmt(na, 0), "mmol/L"),
            ]
            for test, value, unit in vals:
                lab_rows.append((r.person_id, date, test, value, unit, v))
            if v in (2, 3) and rng.uniform() < 0.1:  # an extra result further from the nominal day
                extra = date + pd.Timedelta(days=int(rng.choice([-1, 1])) * int(rng.integers(3, 6)))
                lab_rows.append((r.person_id, extra, "TBIL", _fmt(tbil * 1.1, 1) if bili_si else _fmt(tbil * 1.1 / 17.1, 2),
                                 "µmol/L" if bili_si else "mg/dL", -1))
        if rng.uniform() < 0.2:  # an unscheduled result between windows (day 14-18): in no window
            d = r.first_date + pd.Timedelta(days=int(rng.integers(14, 19)))
            lab_rows.append((r.person_id, d, "ALT", _fmt(r.alt * 0.7, 0), alt_unit, -1))
    labs = pd.DataFrame(lab_rows, columns=["person_id", "date", "test", "value", "unit", "visit_index"])

    # ---- problems the import must catch (exclusion log), never at a required baseline ----
    analysed = per.loc[per["fate"] == "analysed", "person_id"].to_numpy()
    chosen = rng.choice(analysed, size=6, replace=False)
    extra = []
    for pid in chosen:  # a duplicate baseline bilirubin whose µmol/L value is labelled mmol/L
        b = labs[(labs["person_id"] == pid) & (labs["test"] == "TBIL") & (labs["visit_index"] == 0)].iloc[0]
        value = b["value"] if b["unit"] == "µmol/L" else _fmt(float(b["value"]) * 17.1, 1)
        extra.append((pid, b["date"] + pd.Timedelta(days=0), "TBIL", value, "mmol/L", 0))
    labs = pd.concat([labs, pd.DataFrame(extra, columns=labs.columns)], ignore_index=True)
    follow = labs.index[(labs["visit_index"] > 0).to_numpy()]
    crea_rows = [i for i in follow if labs.at[i, "test"] == "CREA" and labs.at[i, "unit"] == "µmol/L"]
    for i in rng.choice(crea_rows, size=4, replace=False):  # creatinine µmol/L labelled mg/dL
        labs.at[i, "unit"] = "mg/dL"
    alb_rows = [i for i in follow if labs.at[i, "test"] == "ALB"]
    for i in rng.choice(alb_rows, size=3, replace=False):  # albumin g/L labelled g/dL
        labs.at[i, "unit"] = "g/dL"
    ast_rows = [i for i in follow if labs.at[i, "test"] == "AST"]
    for i in rng.choice(ast_rows, size=3, replace=False):  # a result never entered
        labs.at[i, "value"] = ""
    labs = labs.drop(columns="visit_index").sort_values(["person_id", "date", "test"], kind="stable").reset_index(drop=True)

    persons = pd.DataFrame({
        "person_id": per["person_id"],
        "sex": per["sex"],
        "birth_date": pd.to_datetime(per["birth_date"]).astype("datetime64[us]"),
        "diagnosis": per["diagnosis"],
        "etiology": "hbv",
        "hbsag_months": per["hbsag_months"].astype(float),
    })
    for f in FLAGS:
        persons[f] = pd.array(per[f].tolist(), dtype="boolean")
    treatments["date"] = pd.to_datetime(treatments["date"]).astype("datetime64[us]")
    labs["date"] = pd.to_datetime(labs["date"]).astype("datetime64[us]")
    out = {"persons": persons, "treatments": treatments, "labs": labs}
    for f in out.values():
        f["synthetic"] = True
    return out


def _data_dir():
    return resources.files(__package__).joinpath("data")


def load() -> dict[str, pd.DataFrame]:
    """The shipped SYNTHETIC tables (``persons``, ``treatments``, ``labs``)."""
    out = {}
    for name, file in FILES.items():
        with resources.as_file(_data_dir().joinpath(file)) as p:
            out[name] = pd.read_parquet(p)
    return out


def load_cohort():
    """The shipped SYNTHETIC tables validated as a :class:`hepatostat.cohort.CohortData`."""
    from ..cohort import cohort_data

    t = load()
    return cohort_data(t["persons"], t["treatments"], t["labs"], source={k: f for k, f in FILES.items()}, row_offset=1)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[_META_KEY] = b"true"
    meta[b"hepatostat.description"] = _META_NOTE
    pq.write_table(table.replace_schema_metadata(meta), path, compression="zstd")


def write(out_dir, *, seed: int = DEFAULT_SEED, file_format: str = "parquet") -> list[str]:
    """Write the SYNTHETIC cohort into ``out_dir``; return the paths.

    ``file_format`` is ``"parquet"`` (files named as the shipped ones, with
    the synthetic marker in their metadata), ``"csv"`` or ``"xlsx"``
    (``synthetic_cohort_persons.csv``, ...). :func:`hepatostat.cohort.read_cohort`
    reads the folder back.
    """
    from ..errors import InputError

    if file_format not in ("parquet", "csv", "xlsx"):
        raise InputError(f"file_format must be parquet, csv or xlsx, got {file_format!r}", value=file_format)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = simulate(seed)
    written = []
    for name, frame in tables.items():
        p = out / FILES[name].replace(".parquet", f".{file_format}")
        if file_format == "parquet":
            _write_parquet(frame, p)
        elif file_format == "csv":
            frame.to_csv(p, index=False, lineterminator="\n", date_format="%Y-%m-%d")
        else:
            f = frame.copy()
            for c in f.columns:
                if pd.api.types.is_bool_dtype(f[c]):
                    f[c] = f[c].astype(object)
            f.to_excel(p, index=False)
        written.append(str(p))
    return written


def regenerate() -> list[str]:
    """Rebuild the shipped Parquet files (default seed) in the package's data folder."""
    with resources.as_file(_data_dir()) as d:
        return write(d, seed=DEFAULT_SEED, file_format="parquet")
