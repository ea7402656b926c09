"""Analysis plans: one TOML file that says what to run and what to report.

A plan has a title and up to three parts, each optional::

    title = "UC-MSC for HBV-related liver failure: cohort study"
    synthetic = false            # set automatically when an input is synthetic

    [cohort]                     # the retrospective cohort (Jia et al. 2020 design)
    source = "bundled:synthetic_cohort"      # or a folder of CSV/Parquet, a DuckDB file
    criteria = "seed_jia2020"                # bundled criteria or a TOML file
    outcomes = ["alt", "ast", "bilirubin", "pta", "meld"]
    pairs = [["A", "B"], ["C", "D"], ["A", "C"], ["B", "D"]]
    table2_pairs = [["A", "C"], ["B", "D"]]
    mixed_model = true
    ancova = true
    [cohort.ipw]
    treated = "A"
    control = "C"
    outcome = "meld_cumdecline_W24"
    covariates = ["age", "alt_W0", "bilirubin_W0", "pta_W0", "meld_W0"]

    [review]                     # the systematic-review workflow
    records = ["bundled:example_pubmed", "bundled:example_embase", "bundled:example_wos"]
    prisma = "bundled:liu2022"   # or a CSV of box counts
    rob = "bundled:example_rob1"
    characteristics = "bundled:liu2022"

    [meta]                       # meta-analyses
    data = "extraction.csv"      # long table: study, outcome, timepoint, arm data
    method = "auto"
    outcomes_table = true
    check_reported = "reported.csv"

    [[meta.analysis]]
    name = "MELD at week 24"
    outcome = "MELD"
    timepoint = "W24"
    subgroups = ["disease"]
    leave_one_out = true
    bias = true

Paths are relative to the plan file; ``bundled:NAME`` names a data set that
ships with hepatostat. Unknown keys and wrong types are errors that name the
key (e.g. ``meta.analysis[2].subgrups``); files are checked before anything
runs.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["Plan", "PlanSpec", "CohortPlan", "IpwPlan", "ReviewPlan", "MetaPlan", "AnalysisPlan", "load_plan",
           "parse_plan", "SCHEMA"]

STR, BOOL, INT, FLOAT, LIST, PAIRS, TABLE = "string", "true/false", "integer", "number", "list of strings", "list of pairs", "table"

_ANALYSIS = {
    "name": (STR, True), "title": (STR, False), "data": (STR, False), "measure": (STR, False),
    "method": (STR, False), "knha": (BOOL, False), "outcome": (STR, False), "timepoint": (STR, False),
    "forest": (BOOL, False), "subgroups": (LIST, False), "leave_one_out": (BOOL, False),
    "influence": (BOOL, False), "bias": (BOOL, False), "regression": (LIST, False), "permutations": (INT, False),
    "seed": (INT, False), "favours": (LIST, False),
}
_IPW = {"treated": (STR, True), "control": (STR, True), "outcome": (STR, True), "covariates": (LIST, True)}
SCHEMA: dict[str, Any] = {
    "title": (STR, True),
    "subtitle": (STR, False),
    "synthetic": (BOOL, False),
    "cohort": ({
        "source": (STR, True), "criteria": (STR, True), "outcomes": (LIST, False), "pairs": (PAIRS, False),
        "table1_variables": (LIST, False), "table1_categorical": (LIST, False), "table2_pairs": (PAIRS, False),
        "table1_pairs": (PAIRS, False), "dictionary": (STR, False), "figure_outcome": (STR, False),
        "figure_combined": (PAIRS, False), "figure_combined_labels": (LIST, False),
        "mixed_model": (BOOL, False), "ancova": (BOOL, False), "ipw": (_IPW, False), "weeks": (LIST, False),
    }, False),
    "review": ({
        "records": (LIST, False), "prisma": (STR, False), "rob": (STR, False), "rob_tool": (STR, False),
        "characteristics": (STR, False),
    }, False),
    "meta": ({
        "data": (STR, False), "measure": (STR, False), "method": (STR, False), "outcome_col": (STR, False),
        "time_col": (STR, False), "baseline": (STR, False), "outcomes_table": (BOOL, False),
        "check_extraction": (BOOL, False), "integer_outcomes": (LIST, False), "verification_log": (STR, False),
        "check_reported": (STR, False), "analysis": ([_ANALYSIS], False), "symptoms": (STR, False),
        "favours": (LIST, False),
    }, False),
}


def _type_ok(value, kind) -> bool:
    if kind == STR:
        return isinstance(value, str)
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == FLOAT:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == LIST:
        return isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value)
    if kind == PAIRS:
        return isinstance(value, list) and all(isinstance(p, list) and len(p) == 2 for p in value)
    return False


def _check(obj: dict, schema: dict, where: str, source) -> None:
    for key in obj:
        if key not in schema:
            raise InputError(f"plan key '{where}{key}' is unknown; allowed here: {', '.join(schema)}", file=source)
    for key, (kind, required) in schema.items():
        path = f"{where}{key}"
        if key not in obj:
            if required:
                raise InputError(f"plan key '{path}' is missing", file=source)
            continue
        value = obj[key]
        if isinstance(kind, dict):
            if not isinstance(value, dict):
                raise InputError(f"plan key '{path}' must be a table ([{path}])", file=source)
            _check(value, kind, path + ".", source)
        elif isinstance(kind, list):
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise InputError(f"plan key '{path}' must be a list of tables ([[{path}]])", file=source)
            for i, item in enumerate(value, 1):
                _check(item, kind[0], f"{path}[{i}].", source)
        elif not _type_ok(value, kind):
            raise InputError(f"plan key '{path}' must be a {kind}, got {value!r}", file=source)


# ---------------------------------------------------------------- typed plan objects (with their defaults)


@dataclass(frozen=True)
class IpwPlan:
    """``[cohort.ipw]``: inverse-probability weighting of ``treated`` vs ``control``."""

    treated: str
    control: str
    outcome: str
    covariates: tuple


@dataclass(frozen=True)
class CohortPlan:
    """``[cohort]``: the retrospective cohort study (defaults: the seed paper's design)."""

    source: str
    criteria: str
    outcomes: tuple = ("alt", "ast", "bilirubin", "pta", "meld")
    pairs: tuple = (("A", "B"), ("C", "D"), ("A", "C"), ("B", "D"))
    table1_variables: tuple | None = None  # None: age, sex and every outcome at W0
    table1_categorical: tuple = ("sex",)
    table1_pairs: tuple = (("A", "B"), ("C", "D"))
    table2_pairs: tuple = (("A", "C"), ("B", "D"))
    mixed_model: bool = False
    ancova: bool = False
    ipw: IpwPlan | None = None
    weeks: tuple | None = None
    dictionary: str | None = None
    figure_outcome: str | None = None
    #: Figures 2 and 3 open with a panel comparing two pooled sets of groups (the seed's Fig. 2A/3A: liver failure
    #: A+B vs cirrhosis C+D), e.g. ``[["A", "B"], ["C", "D"]]`` with ``figure_combined_labels``
    figure_combined: tuple | None = None
    figure_combined_labels: tuple | None = None

    @property
    def variables(self) -> tuple:
        return self.table1_variables or ("age", "sex") + tuple(f"{o}_W0" for o in self.outcomes)


@dataclass(frozen=True)
class ReviewPlan:
    """``[review]``: records, PRISMA counts, risk of bias, characteristics."""

    records: tuple = ()
    prisma: str | None = None
    rob: str | None = None
    rob_tool: str | None = None
    characteristics: str | None = None


@dataclass(frozen=True)
class AnalysisPlan:
    """``[[meta.analysis]]``: one meta-analysis and the extras to run with it."""

    name: str
    title: str | None = None
    data: str | None = None
    measure: str | None = None
    method: str | None = None
    knha: bool = False
    outcome: str | None = None
    timepoint: str | None = None
    forest: bool = True
    subgroups: tuple = ()
    leave_one_out: bool = False
    influence: bool = False
    bias: bool = False
    regression: tuple = ()
    permutations: int | None = None
    seed: int = 1
    favours: tuple = ("Favours treatment", "Favours control")

    @property
    def heading(self) -> str:
        return self.title or self.name


@dataclass(frozen=True)
class MetaPlan:
    """``[meta]``: the extraction table, the model rule and the analyses."""

    data: str | None = None
    measure: str | None = None
    method: str = "auto"
    outcome_col: str = "outcome"
    time_col: str = "timepoint"
    baseline: str | None = None
    outcomes_table: bool = True
    #: check the extracted numbers (GRIM, GRIMMER, SD/range, unit scale, ...) before pooling
    check_extraction: bool = True
    #: outcomes whose patient values are whole numbers (GRIM/GRIMMER run on these)
    integer_outcomes: tuple = ()
    #: the workbench's verification log (flags raised on the adjudicated extraction and how each was settled)
    verification_log: str | None = None
    check_reported: str | None = None
    symptoms: str | None = None
    favours: tuple | None = None
    analysis: tuple = ()


@dataclass(frozen=True)
class PlanSpec:
    """The whole plan as typed objects; absent parts are None."""

    title: str
    subtitle: str = ""
    synthetic: bool = False
    cohort: CohortPlan | None = None
    review: ReviewPlan | None = None
    meta: MetaPlan | None = None


def _tupled(v):
    if isinstance(v, list):
        return tuple(_tupled(x) for x in v)
    return v


def _build(cls, d: dict):
    names = {f.name for f in fields(cls)}
    return cls(**{k: _tupled(v) for k, v in d.items() if k in names})


def build_spec(data: dict) -> PlanSpec:
    """Typed objects from a validated plan dictionary (defaults filled in)."""
    c = data.get("cohort")
    cohort = None
    if c is not None:
        cohort = _build(CohortPlan, {**c, "ipw": None})
        if c.get("ipw"):
            cohort = CohortPlan(**{**{f.name: getattr(cohort, f.name) for f in fields(CohortPlan)},
                                   "ipw": _build(IpwPlan, c["ipw"])})
    m = data.get("meta")
    meta = None
    if m is not None:
        meta = _build(MetaPlan, {**m, "analysis": ()})
        meta = MetaPlan(**{**{f.name: getattr(meta, f.name) for f in fields(MetaPlan)},
                           "analysis": tuple(_build(AnalysisPlan, a) for a in m.get("analysis", []))})
    return PlanSpec(title=data["title"], subtitle=data.get("subtitle", ""), synthetic=bool(data.get("synthetic", False)),
                    cohort=cohort, review=_build(ReviewPlan, data["review"]) if "review" in data else None, meta=meta)


@dataclass(frozen=True)
class Plan:
    """A validated plan; ``base`` is the folder its relative paths start from."""

    data: dict
    base: Path
    source: str

    @property
    def title(self) -> str:
        return self.data["title"]

    @property
    def spec(self) -> PlanSpec:
        """The plan as typed objects carrying their defaults."""
        return build_spec(self.data)

    def get(self, *keys, default=None):
        d: Any = self.data
        for k in keys:
            if not isinstance(d, dict) or k not in d:
                return default
            d = d[k]
        return d

    def resolve(self, value: str, key: str):
        """A path relative to the plan, or ``("bundled", NAME)``."""
        if value.startswith("bundled:"):
            return ("bundled", value.split(":", 1)[1])
        p = Path(value)
        if not p.is_absolute():
            p = self.base / p
        if not p.exists():
            raise InputError(f"plan key '{key}': file not found: {p}", file=self.source)
        return p


def parse_plan(text: str, *, base=".", source="plan") -> Plan:
    """Parse and validate a plan from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=source) from None
    except RecursionError:
        raise InputError("not a usable plan: its tables or arrays are nested too deeply (a plan needs at most 3 "
                         "levels)", file=source) from None
    _check(data, SCHEMA, "", source)
    if not any(k in data for k in ("cohort", "review", "meta")):
        raise InputError("the plan has nothing to run: add a [cohort], [review] or [meta] part", file=source)
    plan = Plan(data=data, base=Path(base), source=str(source))
    _check_files(plan)
    return plan


def load_plan(path) -> Plan:
    """Read and validate a plan file."""
    p = Path(path)
    if not p.exists():
        raise InputError("plan file not found", file=p)
    if p.is_dir():
        raise InputError("is a folder; give the plan's TOML file", file=p)
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = p.read_bytes()[: exc.start].count(b"\n") + 1
        raise InputError(f"line {line}: byte 0x{p.read_bytes()[exc.start]:02x} is not UTF-8; TOML plans must be "
                         "saved as UTF-8", file=p) from None
    except OSError as exc:
        raise InputError(f"cannot read the plan: {exc.strerror}", file=p) from None
    return parse_plan(text, base=p.parent, source=str(p))


def _check_files(plan: Plan) -> None:
    """Every input file named in the plan exists (checked before anything runs)."""
    from .. import datasets

    def check(value, key):
        r = plan.resolve(value, key)
        if isinstance(r, tuple):
            name = r[1]
            known = set(datasets.names()) | _BUNDLED_EXTRA
            if name not in known:
                raise InputError(f"plan key '{key}': no bundled data set '{name}'; available: {', '.join(sorted(known))}",
                                 file=plan.source)

    c = plan.get("cohort")
    if c:
        check(c["source"], "cohort.source")
        if c["criteria"].endswith(".toml"):
            plan.resolve(c["criteria"], "cohort.criteria")
    r = plan.get("review")
    if r:
        for i, rec in enumerate(r.get("records", []), 1):
            check(rec, f"review.records[{i}]")
        for key in ("prisma", "rob", "characteristics"):
            if key in r:
                check(r[key], f"review.{key}")
    m = plan.get("meta")
    if m:
        if "data" in m:
            check(m["data"], "meta.data")
        for key in ("check_reported", "symptoms"):
            if key in m:
                check(m[key], f"meta.{key}")
        for i, a in enumerate(m.get("analysis", []), 1):
            if "data" in a:
                check(a["data"], f"meta.analysis[{i}].data")
            elif "data" not in m:
                raise InputError(f"plan key 'meta.analysis[{i}].data' is missing (and there is no meta.data)",
                                 file=plan.source)


#: bundled inputs that are not tables in hepatostat.datasets
_BUNDLED_EXTRA = {"synthetic_cohort", "liu2022", "example_pubmed", "example_embase", "example_wos",
                  "example_rob1", "example_rob2"}
