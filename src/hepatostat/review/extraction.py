"""Dual data extraction: two extractors, their discrepancies, the adjudicator's choice.

The review in Liu et al. (2022) had two people extract the data
independently and a third settle their disagreements. This module stores that
process in the review project (DuckDB) as append-only events:

* ``extraction_studies`` — the studies to extract (added from the included
  records or by name); removing one is a new event.
* ``extraction_events`` — every value an extractor enters: one event per
  field of a study × outcome × time point × arm (``n, mean, sd, median, q1,
  q3, min, max, se, ci_low, ci_high, events``), of the row (``p_reported,
  unit, measure, effect, effect_ci_low, effect_ci_high``), of the study's
  characteristics (the review's Table 1 columns,
  :data:`~hepatostat.review.characteristics.TABLE1_COLUMNS`) or of its risk
  of bias (Cochrane RoB 1 / RoB 2 domains with a support quote). Values are
  kept as typed (``"22.90"`` keeps its two decimals, which the GRIM test
  needs); a change is a new event, the newest one counts. Each event may
  carry its provenance as JSON: a page or table, a digitised figure (file,
  pixel coordinates, calibration) or a conversion (method and inputs).
* ``extraction_adjudications`` — the adjudicator's choice for a field where
  the extractors differ, with every extractor's original value.
* ``extraction_flag_events`` — how each flag of
  :func:`hepatostat.meta.extraction_checks.check_extraction` raised on the
  adjudicated extraction was settled (``confirmed`` as published,
  ``corrected``, ``excluded`` from pooling).

Nothing is updated or deleted. :meth:`Extraction.export` writes the
adjudicated extraction as the long input of ``hepatostat meta outcomes`` /
``meta check-extraction``, the study characteristics, the risk-of-bias
table, the verification log and an analysis plan.

Conversions at entry (:func:`convert_median`, :func:`convert_se`,
:func:`convert_ci`, :func:`convert_p`) call :mod:`hepatostat.meta.convert`
and return a :class:`Conversion` whose ``provenance`` names the function,
the method and the inputs; :meth:`Extraction.apply_conversion` records the
derived mean/SD with that provenance and :meth:`Extraction.revert_conversion`
clears them again (the originals stay where they were).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io.format import fmt, fmt_plain

__all__ = [
    "SCHEMA", "ARM_FIELDS", "ROW_FIELDS", "CHARACTERISTIC_FIELDS", "ROB_TOOLS", "RESOLUTIONS", "LONG_COLUMNS",
    "Key", "Discrepancy", "Conversion", "Extraction", "convert_median", "convert_se", "convert_ci", "convert_p",
    "MEDIAN_CONVERSIONS", "derived",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS extraction_studies (
    event_id BIGINT PRIMARY KEY, at_time VARCHAR, username VARCHAR, study VARCHAR NOT NULL,
    record_id VARCHAR, action VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS extraction_events (
    event_id BIGINT PRIMARY KEY, at_time VARCHAR, extractor VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    study VARCHAR NOT NULL, outcome VARCHAR NOT NULL, timepoint VARCHAR NOT NULL, arm INTEGER NOT NULL,
    field VARCHAR NOT NULL, value VARCHAR, provenance VARCHAR, note VARCHAR);
CREATE TABLE IF NOT EXISTS extraction_adjudications (
    event_id BIGINT PRIMARY KEY, at_time VARCHAR, adjudicator VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    study VARCHAR NOT NULL, outcome VARCHAR NOT NULL, timepoint VARCHAR NOT NULL, arm INTEGER NOT NULL,
    field VARCHAR NOT NULL, originals VARCHAR NOT NULL, chosen VARCHAR, chosen_provenance VARCHAR, reason VARCHAR);
CREATE TABLE IF NOT EXISTS extraction_flag_events (
    event_id BIGINT PRIMARY KEY, at_time VARCHAR, username VARCHAR NOT NULL, study VARCHAR, outcome VARCHAR,
    timepoint VARCHAR, arm INTEGER, check_code VARCHAR NOT NULL, message VARCHAR, resolution VARCHAR NOT NULL,
    note VARCHAR)
"""

#: arm-level fields (arm 1 = experimental/treatment, arm 2 = control) and their long-table columns
ARM_FIELDS = {"n": "n", "mean": "m", "sd": "sd", "median": "med", "q1": "q1_", "q3": "q3_", "min": "min",
              "max": "max", "se": "se", "ci_low": "ci_low", "ci_high": "ci_high", "events": "e"}
#: row-level fields (arm 0)
ROW_FIELDS = ("p_reported", "unit", "measure", "effect", "effect_ci_low", "effect_ci_high")
#: numeric fields (must parse as numbers)
NUMERIC_FIELDS = set(ARM_FIELDS) | {"effect", "effect_ci_low", "effect_ci_high"}
#: ``kind`` values of events
KINDS = ("arm", "row", "characteristic", "rob")
#: how a flag can be settled
RESOLUTIONS = {
    "confirmed": "the value is as published (checked against the source); kept",
    "corrected": "an extraction error; the value was corrected (see the events)",
    "excluded": "the row is left out of pooling (listed in the verification log)",
}
#: columns of the exported long table
LONG_COLUMNS = ("study", "outcome", "timepoint", "measure", "m1", "sd1", "n1", "m2", "sd2", "n2", "e1", "e2",
                "med1", "q1_1", "q3_1", "min1", "max1", "med2", "q1_2", "q3_2", "min2", "max2", "p_reported",
                "unit", "converted1", "converted2")


def _characteristic_fields() -> tuple[str, ...]:
    from .characteristics import TABLE1_COLUMNS

    return tuple(k for k in TABLE1_COLUMNS if k != "ref")


CHARACTERISTIC_FIELDS = _characteristic_fields()


def _rob_tools() -> dict[str, dict]:
    from .rob import TOOLS

    return TOOLS


ROB_TOOLS = _rob_tools()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _number(text) -> float | None:
    if text is None:
        return None
    s = str(text).strip().replace("\u2212", "-")
    if s == "":
        return None
    try:
        x = float(s)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def derived(provenance) -> bool:
    """Whether a value was derived (a conversion, or read off a figure) rather than typed as printed.

    GRIM, GRIMMER and the p-value check judge printed numbers only; the long
    table marks derived means/SDs with ``converted1``/``converted2``.
    """
    if not provenance:
        return False
    try:
        d = json.loads(provenance) if isinstance(provenance, str) else provenance
    except ValueError:
        return False
    return isinstance(d, dict) and ("conversion" in d or "figure_id" in d)


def _provenance_text(provenance) -> str | None:
    """Provenance as JSON text of an object (at most 20,000 characters); ``None`` stays ``None``."""
    if provenance is None or provenance == "":
        return None
    if isinstance(provenance, str):
        try:
            obj = json.loads(provenance)
        except ValueError:
            raise InputError("provenance must be a JSON object", column="provenance", value=provenance[:80]) from None
    else:
        obj = provenance
    if not isinstance(obj, dict):
        raise InputError("provenance must be a JSON object", column="provenance", value=str(provenance)[:80])
    text = json.dumps(obj, ensure_ascii=False)
    if len(text) > 20000:
        raise InputError("provenance is longer than 20,000 characters", column="provenance", value=len(text))
    return text


def _same(a, b) -> bool:
    """Two entered values agree: equal numbers, or equal text ignoring case and spaces."""
    if a is None or b is None:
        return a is None and b is None
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na == nb
    return " ".join(str(a).split()).lower() == " ".join(str(b).split()).lower()


# --------------------------------------------------------------------------
# keys and records
# --------------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class Key:
    """One extracted field: ``kind`` (arm, row, characteristic, rob), study, outcome, time point, arm, field."""

    kind: str
    study: str
    outcome: str = ""
    timepoint: str = ""
    arm: int = 0
    field: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "study": self.study, "outcome": self.outcome, "timepoint": self.timepoint,
                "arm": self.arm, "field": self.field}

    def label(self) -> str:
        if self.kind == "arm":
            return f"{self.outcome} {self.timepoint} arm {self.arm} {self.field}"
        if self.kind == "row":
            return f"{self.outcome} {self.timepoint} {self.field}"
        return f"{self.kind}: {self.field}"


def _key(kind, study, field, outcome=None, timepoint=None, arm=None) -> Key:
    """A validated :class:`Key`."""
    kind = str(kind or "").strip()
    if kind not in KINDS:
        raise InputError(f"unknown kind; allowed: {', '.join(KINDS)}", column="kind", value=kind)
    study = str(study or "").strip()
    if not study:
        raise InputError("a study label is required", column="study", value=study)
    field = str(field or "").strip()
    outcome = "" if outcome is None else str(outcome).strip()
    timepoint = "" if timepoint is None else str(timepoint).strip()
    try:
        arm = 0 if arm in (None, "") else int(arm)
    except (TypeError, ValueError):
        raise InputError("arm must be 1 (experimental), 2 (control) or 0 (the whole row)", column="arm",
                         value=arm) from None
    if kind == "arm":
        if field not in ARM_FIELDS:
            raise InputError(f"unknown arm field; allowed: {', '.join(ARM_FIELDS)}", column="field", value=field)
        if arm not in (1, 2):
            raise InputError("arm must be 1 (experimental) or 2 (control)", column="arm", value=arm)
    elif kind == "row":
        if field not in ROW_FIELDS:
            raise InputError(f"unknown row field; allowed: {', '.join(ROW_FIELDS)}", column="field", value=field)
        arm = 0
    elif kind == "characteristic":
        if field not in CHARACTERISTIC_FIELDS:
            raise InputError(f"unknown study characteristic; allowed: {', '.join(CHARACTERISTIC_FIELDS)}",
                             column="field", value=field)
        outcome, timepoint, arm = "", "", 0
    else:  # rob
        domains = {d for t in ROB_TOOLS.values() for d, _ in t["domains"]} | {"overall"}
        if field not in domains:
            raise InputError(f"unknown risk-of-bias domain; allowed: {', '.join(sorted(domains))}",
                             column="field", value=field)
        outcome, timepoint, arm = "", "", 0
    if kind in ("arm", "row") and (not outcome or not timepoint):
        raise InputError("an outcome and a time point are required for arm and row fields",
                         column="outcome" if not outcome else "timepoint", value=outcome or timepoint)
    return Key(kind, study, outcome, timepoint, arm, field)


@dataclass(frozen=True)
class Discrepancy:
    """A field where the extractors' current values differ (a missing value counts)."""

    key: Key
    values: dict  # extractor -> value (None = not entered)
    provenance: dict  # extractor -> provenance JSON text or None
    adjudicated: bool
    chosen: str | None = None
    reason: str | None = None
    notes: dict = field(default_factory=dict)  # extractor -> note (e.g. the support quote of a RoB judgement)

    def to_dict(self) -> dict[str, Any]:
        return {**self.key.to_dict(), "values": self.values, "provenance": self.provenance,
                "adjudicated": self.adjudicated, "chosen": self.chosen, "reason": self.reason, "notes": self.notes}


# --------------------------------------------------------------------------
# conversions at entry
# --------------------------------------------------------------------------

#: methods offered for median -> mean/SD: the names of meta.convert plus "qe" (McGrath et al. 2020)
MEDIAN_CONVERSIONS = {
    "wan": "Wan et al. 2014 (Hozo/Bland/Wan means)",
    "luo": "Luo et al. 2018 mean, Wan et al. 2014 SD",
    "luo_shi": "Luo et al. 2018 mean, Shi et al. 2020 SD (metafor's conv.fivenum default)",
    "hozo": "Hozo et al. 2005 (range only)",
    "qe": "McGrath et al. 2020 quantile estimation (skewed data)",
}


@dataclass(frozen=True)
class Conversion:
    """A derived mean and/or SD with what it came from."""

    mean: float | None
    sd: float | None
    kind: str
    method: str
    inputs: dict
    function: str
    reference: str
    notes: tuple = field(default=())

    @property
    def provenance(self) -> dict[str, Any]:
        return {"conversion": self.kind, "method": self.method, "function": self.function, "inputs": self.inputs,
                "reference": self.reference, "mean": self.mean, "sd": self.sd, "notes": list(self.notes)}

    def to_dict(self) -> dict[str, Any]:
        return self.provenance


def _need(inputs: dict, names) -> dict:
    out = {}
    for k in names:
        v = inputs.get(k)
        x = _number(v)
        if v is not None and str(v).strip() != "" and x is None:
            raise InputError(f"{k} must be a number", column=k, value=v)
        out[k] = x
    return out


def convert_median(*, median, n, q1=None, q3=None, min=None, max=None, method: str = "luo_shi") -> Conversion:
    """Mean and SD from a median with quartiles and/or range (see :mod:`hepatostat.meta.convert`).

    ``method`` is one of :data:`MEDIAN_CONVERSIONS`: ``wan``, ``luo``,
    ``luo_shi`` (the default of metafor's ``conv.fivenum``), ``hozo`` call
    :func:`~hepatostat.meta.convert.mean_sd_from_median`; ``qe`` calls
    :func:`~hepatostat.meta.convert.mcgrath_qe`. The references are those
    functions' (Hozo 2005, Wan 2014, Luo 2018, Shi 2020, McGrath 2020).
    """
    from ..meta import convert

    if method not in MEDIAN_CONVERSIONS:
        raise InputError(f"unknown conversion method; allowed: {', '.join(MEDIAN_CONVERSIONS)}", column="method",
                         value=method)
    vals = _need({"median": median, "n": n, "q1": q1, "q3": q3, "min": min, "max": max},
                 ("median", "n", "q1", "q3", "min", "max"))
    kw = {k: vals[k] for k in ("q1", "q3", "min", "max") if vals[k] is not None}
    if method == "qe":
        mean, sd = convert.mcgrath_qe(median=vals["median"], n=vals["n"], **kw)
        func = "hepatostat.meta.convert.mcgrath_qe"
        ref = "McGrath S et al. (2020) Stat Methods Med Res 29(9):2520-2537, doi:10.1177/0962280219889080"
    else:
        mean, sd = convert.mean_sd_from_median(median=vals["median"], n=vals["n"], method=method, **kw)
        func = f"hepatostat.meta.convert.mean_sd_from_median(method={method!r})"
        ref = MEDIAN_CONVERSIONS[method]
    inputs = {k: v for k, v in {"median": median, "n": n, "q1": q1, "q3": q3, "min": min, "max": max}.items()
              if v is not None and str(v).strip() != ""}
    return Conversion(float(mean), float(sd), "median", method, inputs, func, ref)


def convert_se(*, se, n) -> Conversion:
    """SD = SE·√n (Cochrane Handbook v6.4, 6.5.2.2), via :func:`~hepatostat.meta.convert.sd_from_se`."""
    from ..meta import convert

    vals = _need({"se": se, "n": n}, ("se", "n"))
    sd = convert.sd_from_se(vals["se"], vals["n"])
    return Conversion(None, float(sd), "se", "handbook", {"se": se, "n": n},
                      "hepatostat.meta.convert.sd_from_se", "Cochrane Handbook v6.4 section 6.5.2.2")


def convert_ci(*, ci_low, ci_high, n, confidence_level: float = 0.95, distribution: str = "t") -> Conversion:
    """SD from a CI of a group mean: √n·(upper - lower)/(2·t or z) (Handbook 6.5.2.2); mean = midpoint."""
    from ..meta import convert

    vals = _need({"ci_low": ci_low, "ci_high": ci_high, "n": n}, ("ci_low", "ci_high", "n"))
    sd = convert.sd_from_ci(vals["ci_low"], vals["ci_high"], vals["n"], confidence_level=confidence_level,
                            distribution=distribution)
    return Conversion((vals["ci_low"] + vals["ci_high"]) / 2, float(sd), "ci", distribution,
                      {"ci_low": ci_low, "ci_high": ci_high, "n": n, "confidence_level": confidence_level},
                      "hepatostat.meta.convert.sd_from_ci", "Cochrane Handbook v6.4 section 6.5.2.2")


def convert_p(*, mean1, mean2, n1, n2, p) -> Conversion:
    """A common SD for both arms from the two-sided p of a two-sample t test (Handbook 6.5.2.3).

    t = t_{1-p/2, n1+n2-2}; SE = |MD|/t; SD = SE/√(1/n1 + 1/n2), via
    :func:`~hepatostat.meta.convert.se_from_p` and
    :func:`~hepatostat.meta.convert.sd_from_t`. Use exact p values only.
    """
    from ..meta import convert
    from ..meta import _dist

    if _number(p) is None:
        raise InputError("p must be an exact two-sided P value strictly between 0 and 1 (not '<0.05')", column="p",
                         value=p)
    vals = _need({"mean1": mean1, "mean2": mean2, "n1": n1, "n2": n2, "p": p}, ("mean1", "mean2", "n1", "n2", "p"))
    if vals["p"] is None or not (0 < vals["p"] < 1):
        raise InputError("p must be an exact two-sided P value strictly between 0 and 1 (not '<0.05')", column="p",
                         value=p)
    df = vals["n1"] + vals["n2"] - 2
    t = float(_dist.t_isf(vals["p"] / 2, df))
    sd = convert.sd_from_t(t, vals["n1"], vals["n2"], vals["mean1"] - vals["mean2"])
    return Conversion(None, float(sd), "p", "t", {"mean1": mean1, "mean2": mean2, "n1": n1, "n2": n2, "p": p},
                      "hepatostat.meta.convert.sd_from_t", "Cochrane Handbook v6.4 section 6.5.2.3",
                      notes=(f"t = {fmt(t, 'diag')} with {fmt_plain(df)} df; the same SD is used for both arms",))


# --------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------

class Extraction:
    """Dual extraction in a review project.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open read-write connection to the project (the workbench's
        ``wb.store.con`` inside ``wb.store.transaction()``/``run()``, or
        ``duckdb.connect(path)`` in a script). The tables of :data:`SCHEMA`
        are created when missing.
    """

    def __init__(self, con, *, create: bool = True):
        self.con = con
        if create:
            for stmt in SCHEMA.split(";"):
                if stmt.strip():
                    con.execute(stmt)

    @classmethod
    def open(cls, path) -> "Extraction":
        """Open (or create) a project file directly, for scripts and tests."""
        import duckdb

        return cls(duckdb.connect(str(path)))

    # ------------------------------------------------------------------ studies
    def _next(self, table: str) -> int:
        return int(self.con.execute(f"SELECT coalesce(max(event_id), 0) + 1 FROM {table}").fetchone()[0])

    def add_study(self, username: str, study: str, *, record_id: str | None = None) -> int:
        study = str(study or "").strip()
        if not study:
            raise InputError("a study label is required", column="study", value=study)
        eid = self._next("extraction_studies")
        self.con.execute("INSERT INTO extraction_studies VALUES (?, ?, ?, ?, ?, 'add')",
                         [eid, _now(), username, study, record_id])
        return eid

    def remove_study(self, username: str, study: str) -> int:
        eid = self._next("extraction_studies")
        self.con.execute("INSERT INTO extraction_studies VALUES (?, ?, ?, ?, NULL, 'remove')",
                         [eid, _now(), username, study])
        return eid

    def studies(self) -> list[str]:
        """Studies to extract, in the order they were added (latest action counts)."""
        rows = self.con.execute(
            "SELECT study, action, min_id FROM (SELECT study, action, row_number() OVER (PARTITION BY study "
            "ORDER BY event_id DESC) AS rn, min(event_id) OVER (PARTITION BY study) AS min_id "
            "FROM extraction_studies) WHERE rn = 1 ORDER BY min_id").fetchall()
        return [s for s, action, _ in rows if action == "add"]

    # ------------------------------------------------------------------ entries
    def record(self, extractor: str, kind: str, study: str, field: str, value, *, outcome=None, timepoint=None,
               arm=None, provenance: dict | str | None = None, note: str | None = None) -> int:
        """Append one entered value (``None``/empty clears the field); returns the event id."""
        extractor = str(extractor or "").strip()
        if not extractor:
            raise InputError("the extractor's name is required", column="extractor", value=extractor)
        key = _key(kind, study, field, outcome, timepoint, arm)
        text = None if value is None or str(value).strip() == "" else str(value).strip()
        if text is not None and key.field in NUMERIC_FIELDS and _number(text) is None:
            raise InputError(f"{key.field} must be a number (as printed, e.g. 22.9)", row=None,
                             column=key.field, value=value)
        if text is not None and key.field in ("n", "events"):
            x = _number(text)
            if x != int(x) or x < 0:
                raise InputError(f"{key.field} must be a whole number", column=key.field, value=value)
        if text is not None and key.kind == "rob":
            allowed = {j.lower(): j for t in ROB_TOOLS.values() for j in t["judgements"]}
            plain = " ".join(text.lower().split())
            for tail in (" risk of bias", " risk"):
                plain = plain[: -len(tail)] if plain.endswith(tail) else plain
            if plain not in allowed:
                raise InputError(f"unknown judgement; allowed: {', '.join(sorted(set(allowed.values())))}",
                                 column=key.field, value=value)
            text = allowed[plain]
        prov = _provenance_text(provenance)
        eid = self._next("extraction_events")
        self.con.execute("INSERT INTO extraction_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         [eid, _now(), extractor, key.kind, key.study, key.outcome, key.timepoint, key.arm,
                          key.field, text, prov, note])
        return eid

    def record_long(self, extractor: str, frame, *, source: str | None = None) -> int:
        """Enter a long table (the columns of :data:`LONG_COLUMNS`) as one extractor's values.

        Adds the table's studies to the study list. Returns the number of
        values recorded; each carries ``{"imported": source, "row": n}`` as
        provenance (``n`` = spreadsheet row, header = 1).
        """
        own_tx = self._begin()
        try:
            count = self._record_long(extractor, frame, source)
        except BaseException:
            if own_tx:
                self.con.execute("ROLLBACK")
            raise
        if own_tx:
            self.con.execute("COMMIT")
        return count

    def _begin(self) -> bool:
        """Start a transaction unless the caller has one (e.g. the workbench's ``store.transaction()``)."""
        import duckdb

        try:
            self.con.execute("BEGIN")
            return True
        except duckdb.TransactionException:
            return False

    def _record_long(self, extractor, frame, source) -> int:
        cols = dict((v, k) for k, v in ARM_FIELDS.items())
        count = 0
        known = set(self.studies())
        for i, rec in enumerate(frame.astype(object).to_dict(orient="records")):
            row = i + 2
            study = rec.get("study")
            if study is None or (isinstance(study, float) and math.isnan(study)) or not str(study).strip():
                raise InputError("a study label is required", file=source, row=row, column="study", value=study)
            study = str(study).strip()
            if study not in known:
                self.add_study(extractor, study)
                known.add(study)
            prov = {"imported": source, "row": row}
            for col, val in rec.items():
                if val is None or (isinstance(val, float) and math.isnan(val)) or str(val).strip() == "":
                    continue
                kind = fld = None
                arm = 0
                if col in ROW_FIELDS:
                    kind, fld = "row", col
                elif col[-1:] in ("1", "2"):
                    base, arm = col[:-1], int(col[-1])
                    if base in cols:
                        kind, fld = "arm", cols[base]
                if kind is None:
                    continue
                try:
                    self.record(extractor, kind, study, fld, val, outcome=rec.get("outcome"),
                                timepoint=rec.get("timepoint"), arm=arm, provenance=prov)
                except InputError as exc:
                    raise InputError(str(exc).split(": ", 1)[-1], file=source, row=row, column=col,
                                     value=val) from None
                count += 1
        return count

    def _current(self, extractor: str | None = None, study: str | None = None) -> list[tuple]:
        where, params = [], []
        if extractor is not None:
            where.append("extractor = ?")
            params.append(extractor)
        if study is not None:
            where.append("study = ?")
            params.append(study)
        w = ("WHERE " + " AND ".join(where)) if where else ""
        return self.con.execute(
            "SELECT extractor, kind, study, outcome, timepoint, arm, field, value, provenance, note, event_id "
            "FROM (SELECT *, row_number() OVER (PARTITION BY extractor, kind, study, outcome, timepoint, arm, field "
            f"ORDER BY event_id DESC) AS rn FROM extraction_events {w}) WHERE rn = 1 "
            "ORDER BY study, kind, outcome, timepoint, arm, field, extractor", params).fetchall()

    def entries(self, extractor: str, study: str | None = None) -> dict[Key, dict]:
        """One extractor's current values: ``{Key: {value, provenance, note, event_id}}`` (blind to others)."""
        out = {}
        for ex, kind, st, oc, tp, arm, fld, val, prov, note, eid in self._current(extractor, study):
            if val is None and prov is None and note is None:
                continue
            out[Key(kind, st, oc, tp, arm, fld)] = {"value": val, "provenance": prov, "note": note, "event_id": eid}
        return out

    def extractors(self, study: str | None = None) -> list[str]:
        sql = "SELECT DISTINCT extractor FROM extraction_events" + (" WHERE study = ?" if study else "")
        return sorted(r[0] for r in self.con.execute(sql, [study] if study else []).fetchall())

    def history(self, key: Key | None = None) -> list[dict]:
        """Every event (of one field, or all), oldest first."""
        sql = "SELECT * FROM extraction_events"
        params: list = []
        if key is not None:
            sql += " WHERE kind = ? AND study = ? AND outcome = ? AND timepoint = ? AND arm = ? AND field = ?"
            params = [key.kind, key.study, key.outcome, key.timepoint, key.arm, key.field]
        cur = self.con.execute(sql + " ORDER BY event_id", params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    # ------------------------------------------------------------------ conversions
    def apply_conversion(self, extractor: str, conversion: Conversion, *, study, outcome, timepoint, arm) -> list[int]:
        """Record a conversion's mean and/or SD for one arm, with its provenance."""
        ids = []
        for fld, val in (("mean", conversion.mean), ("sd", conversion.sd)):
            if val is not None:
                ids.append(self.record(extractor, "arm", study, fld, repr(float(val)), outcome=outcome,
                                       timepoint=timepoint, arm=arm, provenance=conversion.provenance))
        return ids

    def revert_conversion(self, extractor: str, *, study, outcome, timepoint, arm) -> list[int]:
        """Clear the mean/SD an extractor derived by conversion (the reported inputs stay)."""
        ids = []
        mine = self.entries(extractor, study)
        for fld in ("mean", "sd"):
            k = _key("arm", study, fld, outcome, timepoint, arm)
            e = mine.get(k)
            if e and e["provenance"] and "conversion" in (json.loads(e["provenance"]) or {}):
                ids.append(self.record(extractor, "arm", study, fld, None, outcome=outcome, timepoint=timepoint,
                                       arm=arm, provenance={"reverted": e["event_id"]}))
        return ids

    # ------------------------------------------------------------------ discrepancies
    def _adjudications(self) -> dict[Key, tuple]:
        rows = self.con.execute(
            "SELECT kind, study, outcome, timepoint, arm, field, chosen, reason, originals, chosen_provenance, "
            "adjudicator, event_id FROM (SELECT *, row_number() OVER (PARTITION BY kind, study, outcome, timepoint, "
            "arm, field ORDER BY event_id DESC) AS rn FROM extraction_adjudications) WHERE rn = 1").fetchall()
        return {Key(*r[:6]): r[6:] for r in rows}

    def _by_key(self, study: str | None = None) -> tuple[dict, dict]:
        """{Key: {extractor: (value, provenance)}} and {study: extractors}."""
        per: dict[Key, dict] = {}
        who: dict[str, set] = {}
        for ex, kind, st, oc, tp, arm, fld, val, prov, note, eid in self._current(None, study):
            who.setdefault(st, set()).add(ex)
            per.setdefault(Key(kind, st, oc, tp, arm, fld), {})[ex] = (val, prov)
        return per, who

    def discrepancies(self, study: str | None = None, *, include_adjudicated: bool = True) -> list[Discrepancy]:
        """Every field where the extractors of a study differ (one who left it empty differs too)."""
        per, who = self._by_key(study)
        adj = self._adjudications()
        notes: dict[Key, dict] = {}
        for ex, kind, st, oc, tp, arm, fld, val, prov, note, eid in self._current(None, study):
            if note:
                notes.setdefault(Key(kind, st, oc, tp, arm, fld), {})[ex] = note
        out = []
        for key, vals in sorted(per.items()):
            names = sorted(who[key.study])
            if len(names) < 2:
                continue
            values = {n: vals.get(n, (None, None))[0] for n in names}
            first = values[names[0]]
            if all(_same(first, v) for v in values.values()):
                continue
            a = adj.get(key)
            if a is not None and not include_adjudicated:
                continue
            out.append(Discrepancy(key, values, {n: vals.get(n, (None, None))[1] for n in names}, a is not None,
                                   None if a is None else a[0], None if a is None else a[1], notes.get(key, {})))
        return out

    def adjudicate(self, adjudicator: str, key: Key, chosen, *, reason: str | None = None,
                   provenance: dict | str | None = None) -> int:
        """Record the adjudicator's value for a field, with every extractor's original value."""
        adjudicator = str(adjudicator or "").strip()
        if not adjudicator:
            raise InputError("the adjudicator's name is required", column="adjudicator", value=adjudicator)
        key = _key(key.kind, key.study, key.field, key.outcome, key.timepoint, key.arm)
        per, who = self._by_key(key.study)
        vals = per.get(key, {})
        originals = {n: {"value": vals.get(n, (None, None))[0], "provenance": vals.get(n, (None, None))[1]}
                     for n in sorted(who.get(key.study, ()))}
        text = None if chosen is None or str(chosen).strip() == "" else str(chosen).strip()
        if text is not None and key.field in NUMERIC_FIELDS and _number(text) is None:
            raise InputError(f"{key.field} must be a number", column=key.field, value=chosen)
        if provenance is None and text is not None:  # the chosen extractor's provenance, when it is one of theirs
            for n, o in originals.items():
                if _same(o["value"], text) and o["provenance"]:
                    provenance = o["provenance"]
                    break
        prov = _provenance_text(provenance)
        eid = self._next("extraction_adjudications")
        self.con.execute("INSERT INTO extraction_adjudications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         [eid, _now(), adjudicator, key.kind, key.study, key.outcome, key.timepoint, key.arm,
                          key.field, json.dumps(originals), text, prov, reason])
        return eid

    def adjudications(self) -> list[dict]:
        cur = self.con.execute("SELECT * FROM extraction_adjudications ORDER BY event_id")
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        for r in rows:
            r["originals"] = json.loads(r["originals"])
        return rows

    # ------------------------------------------------------------------ the adjudicated extraction
    def final(self, study: str | None = None) -> tuple[dict[Key, dict], list[Discrepancy]]:
        """The agreed or adjudicated value of every field, and the discrepancies still open.

        A field entered by one extractor only, in a study that only one
        extractor has entered, counts as agreed (single extraction); the
        verification log says so (``extractors`` = 1).
        """
        per, who = self._by_key(study)
        adj = self._adjudications()
        final: dict[Key, dict] = {}
        open_: list[Discrepancy] = []
        for key, vals in sorted(per.items()):
            names = sorted(who[key.study])
            values = {n: vals.get(n, (None, None)) for n in names}
            a = adj.get(key)
            if a is not None:
                final[key] = {"value": a[0], "provenance": a[3], "source": f"adjudicated by {a[4]}",
                              "extractors": len(names)}
                continue
            first = values[names[0]]
            if all(_same(first[0], v[0]) for v in values.values()):
                if first[0] is not None:
                    final[key] = {"value": first[0], "provenance": first[1], "source": "agreed" if len(names) > 1
                                  else "single extractor", "extractors": len(names)}
            else:
                open_.append(Discrepancy(key, {n: v[0] for n, v in values.items()},
                                         {n: v[1] for n, v in values.items()}, False))
        return final, open_

    def long_table(self, *, allow_open: bool = False, exclude_flagged: bool = True):
        """The adjudicated arm data as the long table of ``meta outcomes`` (values as text, as entered).

        Raises :class:`InputError` while discrepancies are open unless
        ``allow_open`` (then the open fields are left empty). Rows whose
        flags were settled ``excluded`` are left out when ``exclude_flagged``.
        """
        import pandas as pd

        final, open_ = self.final()
        if open_ and not allow_open:
            first = open_[0].key
            raise InputError(f"{len(open_)} discrepancies are not adjudicated yet (first: {first.study}, "
                             f"{first.label()}); adjudicate them before exporting")
        rows: dict[tuple, dict] = {}
        for key, v in final.items():
            if key.kind not in ("arm", "row"):
                continue
            r = rows.setdefault((key.study, key.outcome, key.timepoint),
                                {"study": key.study, "outcome": key.outcome, "timepoint": key.timepoint})
            if key.kind == "row":
                if key.field in ("p_reported", "unit", "measure"):
                    r[key.field] = v["value"]
                continue
            prefix = ARM_FIELDS[key.field]
            if key.field in ("se", "ci_low", "ci_high"):
                continue  # kept in the events; the mean/SD derived from them are exported
            r[f"{prefix}{key.arm}"] = v["value"]
            if key.field in ("mean", "sd") and derived(v["provenance"]):
                r[f"converted{key.arm}"] = "true"
        from ..meta.extraction_checks import timepoint_days

        # studies in the order they were added, outcomes by name, time points in time order
        order = {s: i for i, s in enumerate(self.studies())}

        def sort_key(r):
            days = timepoint_days(r["timepoint"])
            return (order.get(r["study"], len(order)), r["study"], r["outcome"],
                    math.inf if days is None else days, r["timepoint"])

        frame = pd.DataFrame(sorted(rows.values(), key=sort_key))
        for c in LONG_COLUMNS:
            if c not in frame.columns:
                frame[c] = None
        frame = frame[list(LONG_COLUMNS)]
        if exclude_flagged:
            excluded = {(s, o, t) for (s, o, t, _a, _c), (res, *_rest) in self._settlements().items()
                        if res == "excluded"}
            keep = [(r.study, r.outcome, r.timepoint) not in excluded for r in frame.itertuples()]
            frame = frame[keep].reset_index(drop=True)
        return frame.dropna(axis=1, how="all").where(frame.notna(), None)

    def characteristics(self):
        """The adjudicated study characteristics (one row per study, Table 1 columns)."""
        import pandas as pd

        final, _ = self.final()
        rows: dict[str, dict] = {}
        for key, v in final.items():
            if key.kind == "characteristic":
                rows.setdefault(key.study, {"study": key.study})[key.field] = v["value"]
        return pd.DataFrame(list(rows.values()), columns=["study", *CHARACTERISTIC_FIELDS])

    def risk_of_bias(self):
        """The adjudicated risk-of-bias judgements (one row per study) and the support quotes."""
        import pandas as pd

        final, _ = self.final()
        per, _who = self._by_key()
        quotes = {}
        for ex, kind, st, oc, tp, arm, fld, val, prov, note, eid in self._current():
            if kind == "rob" and note:
                quotes.setdefault((st, fld), []).append(f"{ex}: {note}")
        rows: dict[str, dict] = {}
        for key, v in final.items():
            if key.kind == "rob":
                r = rows.setdefault(key.study, {"study": key.study})
                r[key.field] = v["value"]
                r[f"{key.field}_support"] = " | ".join(quotes.get((key.study, key.field), []))
        return pd.DataFrame(list(rows.values()))

    # ------------------------------------------------------------------ verification
    def check(self, *, integer_outcomes=(), allow_open: bool = True):
        """Run :func:`~hepatostat.meta.extraction_checks.check_extraction` on the adjudicated table."""
        from ..meta.extraction_checks import check_extraction

        table = self.long_table(allow_open=allow_open, exclude_flagged=False)
        return table, check_extraction(table, integer_outcomes=[o for o in integer_outcomes
                                                                if o in set(table.get("outcome", []))])

    def settle_flag(self, username: str, flag, resolution: str, *, note: str | None = None) -> int:
        """Record how a flag was settled: ``confirmed``, ``corrected`` or ``excluded`` (:data:`RESOLUTIONS`)."""
        if resolution not in RESOLUTIONS:
            raise InputError(f"unknown resolution; allowed: {', '.join(RESOLUTIONS)}", column="resolution",
                             value=resolution)
        if resolution in ("confirmed", "excluded") and not (note and note.strip()):
            raise InputError("say why (e.g. the page and table checked)", column="note", value=note)
        eid = self._next("extraction_flag_events")
        self.con.execute("INSERT INTO extraction_flag_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         [eid, _now(), username, flag.study, flag.outcome, flag.timepoint,
                          0 if flag.arm is None else int(flag.arm), flag.check, flag.message, resolution, note])
        return eid

    def _settlements(self) -> dict[tuple, tuple]:
        rows = self.con.execute(
            "SELECT study, outcome, timepoint, arm, check_code, resolution, note, username, at_time, message "
            "FROM (SELECT *, row_number() OVER (PARTITION BY study, outcome, timepoint, arm, check_code "
            "ORDER BY event_id DESC) AS rn FROM extraction_flag_events) WHERE rn = 1").fetchall()
        return {tuple(r[:5]): r[5:] for r in rows}

    def verification_log(self, *, integer_outcomes=()):
        """Every flag raised on the adjudicated extraction and how it was settled.

        Columns ``study, outcome, timepoint, arm, check, message, status,
        resolution, note, settled_by, settled_at``: ``status`` is ``open``
        (raised, not settled), ``settled`` or ``gone`` (settled earlier and
        no longer raised, e.g. after a correction).
        """
        import pandas as pd

        _table, res = self.check(integer_outcomes=integer_outcomes)
        settled = self._settlements()
        seen = set()
        rows = []
        for f in res.flags:
            k = (f.study, f.outcome, f.timepoint, 0 if f.arm is None else f.arm, f.check)
            seen.add(k)
            s = settled.get(k)
            rows.append({"study": f.study, "outcome": f.outcome, "timepoint": f.timepoint, "arm": f.arm,
                         "check": f.check, "message": f.message, "status": "settled" if s else "open",
                         "resolution": s[0] if s else None, "note": s[1] if s else None,
                         "settled_by": s[2] if s else None, "settled_at": s[3] if s else None})
        for k, s in settled.items():
            if k not in seen:
                rows.append({"study": k[0], "outcome": k[1], "timepoint": k[2], "arm": k[3] or None, "check": k[4],
                             "message": s[4], "status": "gone", "resolution": s[0], "note": s[1],
                             "settled_by": s[2], "settled_at": s[3]})
        cols = ["study", "outcome", "timepoint", "arm", "check", "message", "status", "resolution", "note",
                "settled_by", "settled_at"]
        return pd.DataFrame(rows, columns=cols)

    # ------------------------------------------------------------------ export
    def export(self, folder, *, integer_outcomes=(), measure: str = "SMD", title: str | None = None,
               allow_open: bool = False, allow_open_flags: bool = False) -> dict[str, Path]:
        """Write the adjudicated extraction and its verification log, plus a plan that pools it.

        Files: ``extraction.csv`` (the long input of ``meta outcomes``),
        ``characteristics.csv``, ``risk_of_bias.csv``,
        ``verification_log.csv``, ``adjudications.csv`` (every choice with
        both originals) and ``plan.toml`` (``hepatostat run plan.toml``).
        Refuses while discrepancies are open (unless ``allow_open``) or flags
        of the checks are not settled (unless ``allow_open_flags``): every
        flag is seen and answered before pooling.
        """
        import pandas as pd

        table = self.long_table(allow_open=allow_open)
        log = self.verification_log(integer_outcomes=integer_outcomes)
        n_open = int((log["status"] == "open").sum())
        if n_open and not allow_open_flags:
            first = log[log["status"] == "open"].iloc[0]
            raise InputError(f"{n_open} flag(s) of the checks are not settled yet (first: {first['study']}, "
                             f"{first['outcome']} {first['timepoint']}, {first['check']}); settle each as confirmed, "
                             "corrected or excluded before exporting")
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "extraction": out / "extraction.csv",
            "characteristics": out / "characteristics.csv",
            "risk_of_bias": out / "risk_of_bias.csv",
            "verification_log": out / "verification_log.csv",
            "adjudications": out / "adjudications.csv",
            "plan": out / "plan.toml",
        }
        table.to_csv(paths["extraction"], index=False)
        self.characteristics().to_csv(paths["characteristics"], index=False)
        self.risk_of_bias().to_csv(paths["risk_of_bias"], index=False)
        log.to_csv(paths["verification_log"], index=False)
        adj = self.adjudications()
        pd.DataFrame([{**{k: v for k, v in a.items() if k != "originals"},
                       "originals": json.dumps(a["originals"], ensure_ascii=False)} for a in adj],
                     columns=["event_id", "at_time", "adjudicator", "kind", "study", "outcome", "timepoint", "arm",
                              "field", "originals", "chosen", "chosen_provenance", "reason"]
                     ).to_csv(paths["adjudications"], index=False)
        paths["plan"].write_text(self.plan_text(table, log, measure=measure, title=title), encoding="utf-8")
        return paths

    @staticmethod
    def plan_text(table, log, *, measure: str = "SMD", title: str | None = None) -> str:
        """An analysis plan (TOML, :mod:`hepatostat.report.plan`) pooling every outcome × time point."""
        def q(s) -> str:
            return json.dumps(str(s), ensure_ascii=False)

        n_open = int((log["status"] == "open").sum()) if len(log) else 0
        n_settled = int((log["status"] != "open").sum()) if len(log) else 0
        lines = [
            "# Written by hepatostat.review.extraction from the adjudicated dual extraction.",
            f"# Verification log (verification_log.csv): {len(log)} flag(s), {n_settled} settled, {n_open} open.",
            f"title = {q(title or 'Meta-analysis of the adjudicated extraction')}",
            "",
            "[meta]",
            'data = "extraction.csv"',
            'verification_log = "verification_log.csv"',
            f"measure = {q(measure)}",
            'method = "auto"',
            "outcomes_table = true",
            "",
        ]
        has = table.copy()
        for (oc, tp), grp in has.groupby(["outcome", "timepoint"], sort=False):
            cont = grp.get("m1") is not None and grp["m1"].notna().any()
            lines += ["[[meta.analysis]]", f"name = {q(f'{oc} at {tp}')}", f"outcome = {q(oc)}",
                      f"timepoint = {q(tp)}"]
            if not cont:
                lines += ['measure = "OR"']
            lines.append("")
        return "\n".join(lines)
