"""Eligibility criteria, attrition and treatment groups.

A study's design is declared in a criteria file (TOML, read with the
standard library's :mod:`tomllib`; YAML only if PyYAML happens to be
installed). Conditions use the small language of
:mod:`hepatostat.cohort.expr`; no Python is ever evaluated. The bundled
example ``seed_jia2020`` encodes Jia et al. 2020 (doi:10.1186/s13287-020-01787-4)::

    name = "..."

    [[inclusion]]
    id = "inc_A"
    label = "HBsAg positive for more than 6 months"
    when = "hbsag_months > 6"

    [[exclusion]]
    id = "exc_H"
    label = "Liver cancer"
    when = "liver_cancer"

    [[group]]
    id = "A"
    label = "Liver failure, > 4 weeks of UC-MSC"
    when = "diagnosis == 'liver_failure' and course_weeks > 4"

    [visits]                      # see hepatostat.cohort.visits
    baseline_lookback_days = 14
    outcomes = ["alt", "ast", "bilirubin", "pta", "meld"]

Fields
------
Conditions may name any column of the person table plus these, derived
from the treatments:

==============  ==================================================================
n_infusions     number of infusion records
course_weeks    weeks covered by (weekly) infusions: round((last - first) / 7) + 1,
                so 4 weekly infusions on days 0, 7, 14, 21 give 4 weeks and 8
                give 8; missing without infusions
first_infusion  date (or study day) of the first infusion
last_infusion   date (or study day) of the last infusion
total_dose      sum of ``dose``
age             as given, else completed years from birth_date to the first infusion
==============  ==================================================================

Attrition
---------
Steps are applied in this order, each to the persons still in: (1) the data
requirement "has an infusion record" (it defines the index date), (2) each
inclusion criterion in file order, (3) each exclusion criterion in file
order, (4) "assigned to a group" when groups are declared, and, in
:func:`hepatostat.cohort.build_cohort`, (5) a baseline value for the
required outcomes. A person is counted once, at the first step that removes
them (CONSORT practice); the person table of :class:`Attrition` also lists
every criterion each person fails. ``n_after = n_before - n_excluded`` at
every step and the sum of ``n_excluded`` equals screened minus analysed;
:class:`Attrition` checks this when it is made.

An inclusion criterion that cannot be evaluated for a person (a missing
value) is *not met*: the person is excluded and the reason says which field
was missing. An exclusion criterion that cannot be evaluated does *not*
exclude. ``n_missing`` counts, at every step, the persons for whom the
criterion was unknown.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import units as _units
from ..errors import InputError
from ..io.format import fmt_n, fmt_plain
from .expr import Condition, ConditionError, parse_condition
from .timeunits import week_label
from .schema import CohortData

__all__ = [
    "Criterion",
    "GroupDef",
    "VisitWindow",
    "VisitSpec",
    "CohortSpec",
    "Attrition",
    "load_criteria",
    "parse_criteria",
    "bundled_criteria",
    "person_fields",
    "eligibility",
    "DERIVED_FIELDS",
    "SCORE_OUTCOMES",
]

DERIVED_FIELDS = ("n_infusions", "course_weeks", "first_infusion", "last_infusion", "total_dose", "age")
#: outcomes computed from labs per visit (hepatostat.scores)
SCORE_OUTCOMES = ("meld", "meld_na")
_ANCHORS = ("first_infusion", "last_infusion")
_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


# --------------------------------------------------------------------------
# the specification
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    """One inclusion or exclusion criterion."""

    id: str
    label: str
    kind: str
    condition: Condition = field(repr=False)
    text: str = ""

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "kind": self.kind, "when": self.text}


@dataclass(frozen=True)
class GroupDef:
    """A comparison group: persons for whom ``condition`` holds."""

    id: str
    label: str
    condition: Condition = field(repr=False)
    text: str = ""

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "when": self.text}


@dataclass(frozen=True)
class VisitWindow:
    """A nominal visit and its window, in days relative to the anchor.

    For the baseline visit the window is ``[-lookback, 0]`` days relative to
    the first infusion and the *last* value in it is used; for the others
    the value closest to ``nominal_day`` within ``[nominal_day - before,
    nominal_day + after]`` (ties: the earlier).
    """

    visit: str
    week: float
    before: float
    after: float
    is_baseline: bool = False

    @property
    def nominal_day(self) -> float:
        return 7.0 * self.week

    @property
    def low(self) -> float:
        return self.nominal_day - self.before

    @property
    def high(self) -> float:
        return self.nominal_day + self.after

    def to_dict(self) -> dict:
        return {"visit": self.visit, "week": self.week, "nominal_day": self.nominal_day, "low": self.low,
                "high": self.high, "is_baseline": self.is_baseline}


#: default follow-up windows (visit, week, tolerance in days either side)
DEFAULT_WINDOWS = (("W1", 1, 3), ("W4", 4, 7), ("W12", 12, 14), ("W24", 24, 28))
DEFAULT_LOOKBACK = 14.0
DEFAULT_OUTCOMES = ("alt", "ast", "bilirubin", "pta", "inr", "creatinine", "albumin", "sodium", "meld", "meld_na")


@dataclass(frozen=True)
class VisitSpec:
    """Visit windows, baseline rule and outcomes (see :mod:`hepatostat.cohort.visits`).

    Defaults: baseline ``W0`` = the last value 14 days before up to the day
    of the first infusion; W1 = day 7 ± 3, W4 = day 28 ± 7, W12 = day 84 ±
    14, W24 = day 168 ± 28 after the first infusion; outcomes: every lab test
    hepatostat knows plus MELD and MELD-Na; every lab outcome needs a
    baseline value.
    """

    windows: tuple
    lookback_days: float = DEFAULT_LOOKBACK
    anchor: str = "first_infusion"
    outcomes: tuple = DEFAULT_OUTCOMES
    require_baseline: tuple = tuple(o for o in DEFAULT_OUTCOMES if o not in SCORE_OUTCOMES)

    @property
    def baseline(self) -> VisitWindow:
        return self.windows[0]

    @property
    def visits(self) -> tuple:
        return tuple(w.visit for w in self.windows)

    @property
    def lab_outcomes(self) -> tuple:
        return tuple(o for o in self.outcomes if o not in SCORE_OUTCOMES)

    @classmethod
    def default(cls, **kw) -> "VisitSpec":
        lookback = float(kw.pop("lookback_days", DEFAULT_LOOKBACK))
        windows = (VisitWindow("W0", 0, lookback, 0, True),) + tuple(
            VisitWindow(v, w, tol, tol) for v, w, tol in DEFAULT_WINDOWS
        )
        return cls(windows=windows, lookback_days=lookback, **kw)

    def to_dict(self) -> dict:
        return {
            "anchor": self.anchor,
            "baseline_lookback_days": self.lookback_days,
            "windows": [w.to_dict() for w in self.windows],
            "outcomes": list(self.outcomes),
            "require_baseline": list(self.require_baseline),
        }


@dataclass(frozen=True)
class CohortSpec:
    """A study design: criteria, groups and visits (from :func:`load_criteria`)."""

    name: str
    inclusion: tuple
    exclusion: tuple
    groups: tuple
    visits: VisitSpec
    description: str = ""
    reference: str = ""
    source: str | None = None

    @property
    def criteria(self) -> tuple:
        return self.inclusion + self.exclusion

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "reference": self.reference,
            "source": self.source,
            "inclusion": [c.to_dict() for c in self.inclusion],
            "exclusion": [c.to_dict() for c in self.exclusion],
            "groups": [g.to_dict() for g in self.groups],
            "visits": self.visits.to_dict(),
        }


def bundled_criteria() -> list[str]:
    """Names of the criteria files that ship with hepatostat (e.g. ``seed_jia2020``)."""
    d = resources.files(__package__).joinpath("criteria")
    return sorted(p.name.rsplit(".", 1)[0] for p in d.iterdir() if p.name.endswith(".toml"))


def _read_mapping(path) -> tuple[dict, str]:
    text_name = str(path)
    if isinstance(path, str) and not any(ch in path for ch in "/\\") and not path.lower().endswith((".toml", ".yaml", ".yml")):
        names = bundled_criteria()
        if path not in names:
            raise InputError(
                f"criteria {path!r} is neither a file nor a bundled criteria set; bundled: {', '.join(names)}",
                value=path,
            )
        res = resources.files(__package__).joinpath("criteria", f"{path}.toml")
        import tomllib

        return tomllib.loads(res.read_text(encoding="utf-8")), f"{path} (bundled)"
    p = Path(path)
    if not p.exists():
        raise InputError("criteria file not found", file=p)
    suffix = p.suffix.lower()
    if suffix == ".toml":
        import tomllib

        try:
            return tomllib.loads(_utf8(p)), text_name
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"cannot read the criteria file as TOML: {exc}", file=p) from None
        except RecursionError:
            raise InputError("cannot read the criteria file as TOML: nested too deeply", file=p) from None
    if suffix in (".yaml", ".yml"):
        try:
            import yaml  # optional; not a dependency
        except ImportError:
            raise InputError("reading YAML criteria needs PyYAML, which is not installed; write the criteria as TOML", file=p) from None
        try:
            data = yaml.safe_load(_utf8(p))
        except yaml.YAMLError as exc:
            raise InputError(f"cannot read the criteria file as YAML: {exc}", file=p) from None
        if not isinstance(data, dict):
            raise InputError("the criteria file must hold a mapping at its top level", file=p)
        return data, text_name
    raise InputError(f"unknown criteria format {suffix or '(none)'!r}; allowed: .toml (or .yaml/.yml with PyYAML)", file=p)


def _utf8(p: Path) -> str:
    """A criteria file's text; InputError naming the line when it is not UTF-8."""
    raw = p.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"line {line}: the criteria file is not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                         "save it as UTF-8", file=p) from None


def load_criteria(path) -> CohortSpec:
    """Read a criteria file (TOML, or YAML with PyYAML) or a bundled set by name.

    Parameters
    ----------
    path : str or Path
        A ``.toml``/``.yaml`` file, or the name of a bundled set
        (:func:`bundled_criteria`, e.g. ``"seed_jia2020"``).

    Returns
    -------
    CohortSpec

    Raises
    ------
    InputError
        Unreadable file, unknown keys (typos are not ignored), conditions
        outside the language (the message names the criterion), duplicate
        ids, invalid windows or outcomes.
    """
    mapping, name = _read_mapping(path)
    return parse_criteria(mapping, source=name)


def _check_keys(d: dict, allowed: set, where: str, source):
    if not isinstance(d, dict):
        raise InputError(f"{where} must be a table", file=source)
    unknown = set(d) - allowed
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; allowed: {', '.join(sorted(allowed))}", file=source)


def _condition(entry: dict, where: str, source) -> tuple[Condition, str]:
    if "when" not in entry:
        raise InputError(f"{where}: no 'when' condition", file=source)
    try:
        cond = parse_condition(entry["when"])
    except ConditionError as exc:
        raise InputError(f"{where}: {exc}", file=source, column=exc.field) from None
    text = entry["when"] if isinstance(entry["when"], str) else str(cond)
    return cond, text


def _criteria(items, kind: str, source) -> tuple:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise InputError(f"{kind} must be an array of tables ([[{kind}]])", file=source)
    out = []
    for k, entry in enumerate(items, 1):
        where = f"{kind} #{k}"
        _check_keys(entry, {"id", "label", "when"}, where, source)
        cid = str(entry.get("id", f"{kind[:3]}_{k}"))
        if not _ID_RE.match(cid):
            raise InputError(f"{where}: id must be letters, digits and _ starting with a letter, got {cid!r}", file=source)
        where = f"{kind} criterion {cid!r}"
        cond, text = _condition(entry, where, source)
        out.append(Criterion(cid, str(entry.get("label", text)), kind, cond, text))
    return tuple(out)


def _finite_number(v) -> bool:
    """A real number: not a bool, not NaN or infinite (TOML allows nan and inf)."""
    return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)


def _visits(d, source) -> VisitSpec:
    if d is None:
        return VisitSpec.default()
    _check_keys(d, {"anchor", "baseline", "baseline_lookback_days", "outcomes", "require_baseline", "window"}, "[visits]", source)
    anchor = d.get("anchor", "first_infusion")
    if anchor not in _ANCHORS:
        raise InputError(f"[visits] anchor must be one of {', '.join(_ANCHORS)}, got {anchor!r}", file=source)
    lookback = d.get("baseline_lookback_days", DEFAULT_LOOKBACK)
    if not _finite_number(lookback) or lookback < 0:
        raise InputError(f"[visits] baseline_lookback_days must be a number >= 0, got {lookback!r}", file=source)
    base_name = str(d.get("baseline", "W0"))
    windows = [VisitWindow(base_name, 0, float(lookback), 0.0, True)]
    raw = d.get("window")
    if raw is None:
        windows += [VisitWindow(v, w, tol, tol) for v, w, tol in DEFAULT_WINDOWS]
    else:
        if not isinstance(raw, list) or not raw:
            raise InputError("[visits] window must be a non-empty array of tables ([[visits.window]])", file=source)
        for k, w in enumerate(raw, 1):
            _check_keys(w, {"visit", "week", "tolerance_days", "before_days", "after_days"}, f"[[visits.window]] #{k}", source)
            if "week" not in w:
                raise InputError(f"[[visits.window]] #{k}: no week", file=source)
            week = w["week"]
            if not _finite_number(week) or week <= 0:
                raise InputError(f"[[visits.window]] #{k}: week must be a number > 0, got {week!r}", file=source)
            tol = w.get("tolerance_days")
            before = w.get("before_days", tol)
            after = w.get("after_days", tol)
            if before is None or after is None:
                raise InputError(f"[[visits.window]] #{k}: give tolerance_days (or before_days and after_days)", file=source)
            for nm, v in (("before_days", before), ("after_days", after)):
                if not _finite_number(v) or v < 0:
                    raise InputError(f"[[visits.window]] #{k}: {nm} must be a number >= 0, got {v!r}", file=source)
            name = str(w.get("visit", week_label(week)))
            windows.append(VisitWindow(name, float(week), float(before), float(after)))
    names = [w.visit for w in windows]
    if len(set(names)) != len(names):
        raise InputError(f"[visits] visit names must be unique, got {', '.join(names)}", file=source)
    follow = windows[1:]
    for a, b in zip(follow, follow[1:]):
        if b.week <= a.week:
            raise InputError(f"[visits] windows must be in increasing week order ({a.visit} then {b.visit})", file=source)
        if b.low <= a.high:
            raise InputError(
                f"[visits] windows {a.visit} (days {fmt_plain(a.low)} to {fmt_plain(a.high)}) and {b.visit} "
                f"(days {fmt_plain(b.low)} to {fmt_plain(b.high)}) "
                "overlap; a value could count for two visits",
                file=source,
            )
    if follow and follow[0].low <= 0:
        raise InputError(
            f"[visits] window {follow[0].visit} starts on day {fmt_plain(follow[0].low)}; follow-up windows must start after day 0 "
            "(the baseline is on or before the first infusion)",
            file=source,
        )
    outcomes = _outcome_list(d.get("outcomes", list(DEFAULT_OUTCOMES)), "outcomes", source)
    default_req = [o for o in outcomes if o not in SCORE_OUTCOMES]
    req = _outcome_list(d.get("require_baseline", default_req), "require_baseline", source, allow_empty=True)
    bad = [o for o in req if o in SCORE_OUTCOMES or o not in outcomes]
    if bad:
        raise InputError(f"[visits] require_baseline may list only lab outcomes that are in outcomes; not: {', '.join(bad)}", file=source)
    return VisitSpec(tuple(windows), float(lookback), anchor, tuple(outcomes), tuple(req))


def _outcome_list(values, key, source, allow_empty=False) -> list[str]:
    if not isinstance(values, list) or (not values and not allow_empty):
        raise InputError(f"[visits] {key} must be a{'' if allow_empty else ' non-empty'} list of outcome names", file=source)
    out = []
    allowed = ", ".join(list(_units.TESTS) + list(SCORE_OUTCOMES))
    for v in values:
        name = str(v).strip().lower().replace("-", "_")
        if name in SCORE_OUTCOMES:
            key_ = name
        else:
            try:
                key_ = _units.get_test(str(v)).key
            except InputError:
                # any other lab test of the data (declared with its unit when the cohort is read)
                key_ = re.sub(r"[^0-9a-z]+", "_", str(v).strip().lower()).strip("_")
                if not key_ or not re.match(r"^[a-z][a-z0-9_]*$", key_):
                    raise InputError(f"[visits] {key}: outcome {v!r} is not a test name; built in: {allowed}, "
                                     "or any lab test of the data", file=source, value=v) from None
        if key_ not in out:
            out.append(key_)
    return out


def parse_criteria(mapping: dict, *, source=None) -> CohortSpec:
    """Build a :class:`CohortSpec` from a parsed TOML/YAML mapping (see :func:`load_criteria`)."""
    _check_keys(mapping, {"name", "description", "reference", "inclusion", "exclusion", "group", "visits"}, "criteria", source)
    inclusion = _criteria(mapping.get("inclusion"), "inclusion", source)
    exclusion = _criteria(mapping.get("exclusion"), "exclusion", source)
    ids = [c.id for c in inclusion + exclusion]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise InputError(f"criterion ids must be unique; repeated: {', '.join(dup)}", file=source)
    groups = []
    raw_groups = mapping.get("group") or []
    if not isinstance(raw_groups, list):
        raise InputError("group must be an array of tables ([[group]])", file=source)
    for k, g in enumerate(raw_groups, 1):
        _check_keys(g, {"id", "label", "when"}, f"group #{k}", source)
        if "id" not in g:
            raise InputError(f"group #{k}: no id", file=source)
        gid = str(g["id"])
        cond, text = _condition(g, f"group {gid!r}", source)
        groups.append(GroupDef(gid, str(g.get("label", text)), cond, text))
    gids = [g.id for g in groups]
    if len(set(gids)) != len(gids):
        raise InputError(f"group ids must be unique, got {', '.join(gids)}", file=source)
    return CohortSpec(
        name=str(mapping.get("name", "cohort")),
        inclusion=inclusion,
        exclusion=exclusion,
        groups=tuple(groups),
        visits=_visits(mapping.get("visits"), source),
        description=str(mapping.get("description", "")).strip(),
        reference=str(mapping.get("reference", "")).strip(),
        source=None if source is None else str(source),
    )


# --------------------------------------------------------------------------
# fields
# --------------------------------------------------------------------------


def _completed_years(birth: pd.Series, at: pd.Series) -> pd.Series:
    """Age in completed years (birthdays counted exactly, leap days included)."""
    b = pd.to_datetime(birth)
    a = pd.to_datetime(at)
    years = a.dt.year - b.dt.year
    before_birthday = (a.dt.month < b.dt.month) | ((a.dt.month == b.dt.month) & (a.dt.day < b.dt.day))
    return (years - before_birthday.astype(float)).astype(float)


def person_fields(data: CohortData) -> pd.DataFrame:
    """The person table plus the treatment-derived fields (:data:`DERIVED_FIELDS`)."""
    p = data.persons.copy()
    tr = data.treatments
    g = tr.groupby("person_id")
    stats = pd.DataFrame(
        {
            "n_infusions": g.size(),
            "first_day": g["day"].min(),
            "last_day": g["day"].max(),
            "total_dose": g["dose"].sum(min_count=1),
        }
    )
    p = p.merge(stats, how="left", left_on="person_id", right_index=True)
    p["n_infusions"] = p["n_infusions"].fillna(0).astype(int)
    span = (p["last_day"] - p["first_day"]) / 7.0
    p["course_weeks"] = np.floor(span + 0.5) + 1.0
    if data.time_axis == "date":
        epoch = pd.Timestamp("1970-01-01")
        p["first_infusion"] = epoch + pd.to_timedelta(p["first_day"], unit="D")
        p["last_infusion"] = epoch + pd.to_timedelta(p["last_day"], unit="D")
        if "birth_date" in p.columns:
            derived = _completed_years(p["birth_date"], p["first_infusion"])
            p["age"] = p["age"].where(p["age"].notna(), derived) if "age" in p.columns else derived
    else:
        p["first_infusion"] = p["first_day"]
        p["last_infusion"] = p["last_day"]
    if "age" not in p.columns:
        p["age"] = np.nan
    return p


# --------------------------------------------------------------------------
# attrition
# --------------------------------------------------------------------------

_STEP_COLUMNS = ("step", "stage", "criterion", "label", "n_before", "n_excluded", "n_after", "n_missing", "reason")


def check_attrition_steps(steps: pd.DataFrame, n_included: int) -> None:
    """Stop when an attrition table does not add up: after = before - excluded in every step, each step
    starts where the one before ended, and the last ends with ``n_included`` (a bug, never user input)."""
    ok = (steps["n_after"] == steps["n_before"] - steps["n_excluded"]).all() and (
        steps["n_before"].iloc[1:].to_numpy() == steps["n_after"].iloc[:-1].to_numpy()).all()
    if not ok or int(steps["n_after"].iloc[-1]) != int(n_included):
        raise AssertionError("attrition table does not add up")


@dataclass(frozen=True, eq=False)
class Attrition:
    """Who was screened, who was excluded at which step and why, and the groups.

    Attributes
    ----------
    steps : pandas.DataFrame
        ``step, stage, criterion, label, n_before, n_excluded, n_after,
        n_missing, reason``; step 0 is the screened population.
    persons : pandas.DataFrame
        One row per screened person: ``person_id, included, step, stage,
        criterion, reason, failed`` (every criterion the person fails,
        ``;``-separated) and ``group``.
    groups : pandas.DataFrame
        ``group, label, n`` (included persons).
    name : str
        The design's name.
    """

    steps: pd.DataFrame
    persons: pd.DataFrame
    groups: pd.DataFrame
    name: str = ""

    def __post_init__(self):
        check_attrition_steps(self.steps, int(self.persons["included"].sum()))

    @property
    def n_screened(self) -> int:
        return int(self.steps["n_before"].iloc[0])

    @property
    def n_included(self) -> int:
        return int(self.steps["n_after"].iloc[-1])

    @property
    def included(self) -> list[str]:
        return self.persons.loc[self.persons["included"], "person_id"].tolist()

    def to_frame(self) -> pd.DataFrame:
        return self.steps.copy()

    def to_dict(self) -> dict[str, Any]:
        def clean(v):
            if isinstance(v, (np.integer,)):
                return int(v)
            if isinstance(v, float) and math.isnan(v):
                return None
            return v

        return {
            "name": self.name,
            "n_screened": self.n_screened,
            "n_included": self.n_included,
            "steps": [{k: clean(v) for k, v in r.items()} for r in self.steps.to_dict("records")],
            "groups": [{k: clean(v) for k, v in r.items()} for r in self.groups.to_dict("records")],
        }

    def summary(self) -> str:
        lines = [f"Attrition{': ' + self.name if self.name else ''}"]
        w = max([14] + [len(str(c)) for c in self.steps["criterion"]])
        lines.append(f"{'step':>4}  {'criterion':<{w}} {'before':>6} {'excl.':>6} {'after':>6} {'unknown':>7}  reason")
        for r in self.steps.itertuples():
            lines.append(
                f"{r.step:>4}  {str(r.criterion):<{w}} {fmt_n(r.n_before):>6} {fmt_n(r.n_excluded):>6} "
                f"{fmt_n(r.n_after):>6} {fmt_n(r.n_missing):>7}  {r.reason}"
            )
        lines.append(f"Screened {fmt_n(self.n_screened)}, included {fmt_n(self.n_included)}, "
                     f"excluded {fmt_n(self.n_screened - self.n_included)}")
        if len(self.groups):
            lines.append("Groups: " + ", ".join(f"{g.group} = {fmt_n(g.n)}" for g in self.groups.itertuples()))
        return "\n".join(lines)

    def plot(self, path=None, *, title=None):
        """CONSORT/STROBE-style flow diagram (see :func:`hepatostat.cohort.flow_diagram`)."""
        from .flow import flow_diagram

        return flow_diagram(self, path, title=title)


class _AttritionBuilder:
    """Applies steps in order to the persons still in (internal)."""

    def __init__(self, ids, name: str):
        self.ids = list(ids)
        self.name = name
        self.remaining = np.ones(len(self.ids), bool)
        self.rows: list[dict] = []
        self.first: dict[int, tuple] = {}
        self.failed: dict[int, list] = {i: [] for i in range(len(self.ids))}
        self.group = np.full(len(self.ids), None, dtype=object)
        n = len(self.ids)
        self.rows.append(dict(step=0, stage="screened", criterion="screened", label="Persons in the data source",
                              n_before=n, n_excluded=0, n_after=n, n_missing=0, reason="screened"))

    def step(self, stage, criterion, label, excluded, reasons, n_missing=0, reason=""):
        """``excluded``/``reasons`` over all persons; only those still in count."""
        excluded = np.asarray(excluded, bool)
        n_before = int(self.remaining.sum())
        hit = excluded & self.remaining
        for i in np.flatnonzero(excluded):
            self.failed[i].append(criterion)
        for i in np.flatnonzero(hit):
            self.first[i] = (len(self.rows), stage, criterion, reasons[i] if not isinstance(reasons, str) else reasons)
        self.remaining &= ~hit
        self.rows.append(dict(step=len(self.rows), stage=stage, criterion=criterion, label=label, n_before=n_before,
                              n_excluded=int(hit.sum()), n_after=int(self.remaining.sum()), n_missing=int(n_missing),
                              reason=reason))

    def result(self, group_labels: dict) -> Attrition:
        steps = pd.DataFrame(self.rows, columns=list(_STEP_COLUMNS))
        persons = pd.DataFrame({
            "person_id": self.ids,
            "included": self.remaining.copy(),
            "step": [self.first[i][0] if i in self.first else None for i in range(len(self.ids))],
            "stage": [self.first[i][1] if i in self.first else None for i in range(len(self.ids))],
            "criterion": [self.first[i][2] if i in self.first else None for i in range(len(self.ids))],
            "reason": [self.first[i][3] if i in self.first else None for i in range(len(self.ids))],
            "failed": [";".join(self.failed[i]) for i in range(len(self.ids))],
            "group": [g if inc else None for g, inc in zip(self.group, self.remaining)],
        })
        persons["step"] = persons["step"].astype("Int64")
        inc = persons[persons["included"]]
        groups = pd.DataFrame(
            [{"group": g, "label": lab, "n": int((inc["group"] == g).sum())} for g, lab in group_labels.items()],
            columns=["group", "label", "n"],
        )
        return Attrition(steps, persons, groups, self.name)


def _check_fields(spec: CohortSpec, frame: pd.DataFrame):
    available = sorted(frame.columns)
    items = [(f"{c.kind} criterion {c.id!r}", c) for c in spec.criteria] + [(f"group {g.id!r}", g) for g in spec.groups]
    for where, item in items:
        unknown = sorted(f for f in item.condition.fields if f not in frame.columns)
        if unknown:
            raise InputError(
                f"{where} ({item.text}) names unknown field(s) {', '.join(repr(u) for u in unknown)}; "
                f"available fields: {', '.join(available)}",
                column=unknown[0],
            )


def _evaluate(item, where: str, frame: pd.DataFrame):
    try:
        return item.condition.evaluate(frame)
    except ConditionError as exc:
        raise InputError(f"{where} ({item.text}): {exc}", column=exc.field) from None


def _missing_fields(item, frame: pd.DataFrame, i: int) -> list[str]:
    return [f for f in sorted(item.condition.fields) if pd.isna(frame[f].iloc[i])]


def _label_text(c) -> str:
    return c.label if c.label == c.text else f"{c.label} [{c.text}]"


def _screen(data: CohortData, spec: CohortSpec) -> tuple[_AttritionBuilder, pd.DataFrame]:
    """Steps (1)-(4) of the module notes; returns the builder and the person fields."""
    frame = person_fields(data)
    _check_fields(spec, frame)
    b = _AttritionBuilder(frame["person_id"].tolist(), spec.name)
    no_tr = (frame["n_infusions"] == 0).to_numpy()
    b.step("data", "infusion_record", "Has an infusion record", no_tr, "no infusion record (treatment table)",
           reason="no infusion record")
    for c in spec.inclusion:
        t, known = _evaluate(c, f"inclusion criterion {c.id!r}", frame)
        fail = ~t
        reasons = np.empty(len(frame), dtype=object)
        for i in np.flatnonzero(fail):
            miss = _missing_fields(c, frame, i) if not known[i] else []
            reasons[i] = f"not met: {c.label}" + (f" (missing: {', '.join(miss)})" if miss else "")
        n_unknown = int((~known & b.remaining).sum())
        b.step("inclusion", c.id, c.label, fail, reasons, n_unknown, reason=f"not met: {_label_text(c)}")
    for c in spec.exclusion:
        t, known = _evaluate(c, f"exclusion criterion {c.id!r}", frame)
        n_unknown = int((~known & b.remaining).sum())
        b.step("exclusion", c.id, c.label, t, f"met: {c.label}", n_unknown, reason=f"met: {_label_text(c)}")
    if spec.groups:
        member = np.zeros((len(frame), len(spec.groups)), bool)
        for k, g in enumerate(spec.groups):
            t, _ = _evaluate(g, f"group {g.id!r}", frame)
            member[:, k] = t
        both = (member.sum(axis=1) > 1) & b.remaining
        if both.any():
            i = int(np.flatnonzero(both)[0])
            gs = [spec.groups[k].id for k in np.flatnonzero(member[i])]
            raise InputError(
                f"groups {' and '.join(repr(g) for g in gs)} overlap for person_id {frame['person_id'].iloc[i]!r}; "
                "group conditions must be mutually exclusive",
                value=frame["person_id"].iloc[i],
            )
        none = member.sum(axis=1) == 0
        b.step("grouping", "no_group", "Assigned to a group", none, "fits no group",
               reason="fits no group: " + "; ".join(f"{g.id} = {g.text}" for g in spec.groups))
        for k, g in enumerate(spec.groups):
            b.group[member[:, k]] = g.id
    else:
        b.group[:] = "all"
    return b, frame


def _group_labels(spec: CohortSpec) -> dict:
    return {g.id: g.label for g in spec.groups} if spec.groups else {"all": "All included persons"}


def eligibility(data: CohortData, spec: CohortSpec) -> Attrition:
    """Apply the data requirement, the criteria and the groups of ``spec``.

    Parameters
    ----------
    data : CohortData
    spec : CohortSpec
        From :func:`load_criteria`.

    Returns
    -------
    Attrition
        Steps (1)-(4) of the module notes. :func:`build_cohort` adds the
        baseline step.

    Raises
    ------
    InputError
        A criterion or group naming an unknown field (the message names the
        criterion, the field and the available fields), a comparison of the
        wrong type, or overlapping groups.
    """
    b, _ = _screen(data, spec)
    return b.result(_group_labels(spec))
