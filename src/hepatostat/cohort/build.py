"""From validated data and a design to the analysis tables: :func:`build_cohort`.

Steps: eligibility and groups (:func:`hepatostat.cohort.eligibility`), visit
extraction (:func:`hepatostat.cohort.extract_visits`), then the baseline
requirement: a person without a baseline value for any of the design's
``require_baseline`` outcomes is excluded at a final attrition step and
listed in the exclusion log. The visit tables hold the included persons
only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .eligibility import Attrition, CohortSpec, _group_labels, _screen
from .schema import EXCLUSION_COLUMNS, CohortData
from .visits import VisitTable, extract_visits

__all__ = ["CohortBuild", "build_cohort"]


@dataclass(frozen=True, eq=False)
class CohortBuild:
    """Everything :func:`build_cohort` produces.

    Attributes
    ----------
    data : CohortData
    spec : CohortSpec
    attrition : Attrition
        All steps, including the baseline requirement.
    visits : VisitTable
        Included persons only, with their groups.
    exclusions : pandas.DataFrame
        The full log: rows not used at import, then one row per excluded
        person (stage ``data``, ``inclusion``, ``exclusion``, ``grouping`` or
        ``baseline``) with the criterion and reason.
    """

    data: CohortData
    spec: CohortSpec
    attrition: Attrition
    visits: VisitTable
    exclusions: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The attrition table."""
        return self.attrition.to_frame()

    def to_dict(self) -> dict[str, Any]:
        att = self.attrition.to_dict()
        return {
            "name": self.spec.name,
            "synthetic": self.data.synthetic,
            "n_screened": att["n_screened"],
            "n_included": att["n_included"],
            "attrition": att["steps"],
            "groups": att["groups"],
            "n_exclusion_log": int(len(self.exclusions)),
            "exclusions_by_stage": {str(k): int(v) for k, v in self.exclusions.groupby("stage").size().items()},
            "visits": self.visits.to_dict(),
        }

    def summary(self) -> str:
        parts = []
        if self.data.synthetic:
            parts.append("SYNTHETIC DATA - not real patients")
        parts += [self.attrition.summary(), "", self.visits.summary(), ""]
        by_stage = self.exclusions.groupby("stage").size()
        from ..io.format import fmt_n

        parts.append("Exclusion log: " + ", ".join(f"{k} {fmt_n(v)}" for k, v in by_stage.items()) if len(by_stage) else "Exclusion log: empty")
        return "\n".join(parts)

    def plot(self, path=None, *, title=None):
        """The flow diagram (see :func:`hepatostat.cohort.flow_diagram`)."""
        return self.attrition.plot(path, title=title if title is not None else self.spec.name)

    def write(self, out_dir) -> list[str]:
        """Write ``attrition.csv``, ``flow.png``/``flow.svg``, ``visits_long.csv``,
        ``visits_wide.csv``, ``persons.csv`` (status of every screened person)
        and ``exclusions.csv`` into ``out_dir``; return the paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = []

        def csv(frame, name):
            p = out / name
            frame.to_csv(p, index=False, lineterminator="\n")
            written.append(str(p))

        csv(self.attrition.to_frame(), "attrition.csv")
        fig = self.plot(out / "flow")
        del fig  # Figure objects are not registered with pyplot
        written += [str(out / "flow.png"), str(out / "flow.svg")]
        csv(self.visits.to_frame("long"), "visits_long.csv")
        csv(self.visits.to_frame("wide"), "visits_wide.csv")
        csv(self.attrition.persons, "persons.csv")
        csv(self.exclusions, "exclusions.csv")
        return written


def build_cohort(data: CohortData, spec: CohortSpec) -> CohortBuild:
    """Eligibility, groups, visits and changes in one go.

    Parameters
    ----------
    data : CohortData
        From :func:`hepatostat.cohort.read_cohort` or
        :func:`hepatostat.cohort.cohort_data`.
    spec : CohortSpec
        From :func:`hepatostat.cohort.load_criteria`.

    Returns
    -------
    CohortBuild
    """
    b, frame = _screen(data, spec)
    still = b.remaining.copy()
    persons = frame.loc[still, [c for c in ("person_id", "diagnosis", "sex", "age") if c in frame.columns]].copy()
    persons.insert(1, "group", b.group[still])
    visits = extract_visits(data, persons, spec.visits)
    req = list(spec.visits.require_baseline)
    base = visits.long[(visits.long["visit"] == spec.visits.baseline.visit) & visits.long["outcome"].isin(req)]
    lacking = base[base["value"].isna()].groupby("person_id", sort=False)["outcome"].apply(list).to_dict()
    ids = frame["person_id"].tolist()
    no_base = np.array([p in lacking for p in ids], bool) & still
    from ..io.format import fmt_plain

    look = f"{fmt_plain(spec.visits.lookback_days)} days"
    reasons = np.empty(len(ids), dtype=object)
    for i in np.flatnonzero(no_base):
        reasons[i] = f"no baseline value within {look} before the first infusion for: {', '.join(lacking[ids[i]])}"
    if req:
        b.step("baseline", "baseline", f"Baseline value for {', '.join(req)}", no_base, reasons,
               reason=f"no baseline value within {look} before the first infusion for a required outcome ({', '.join(req)})")
    attrition = b.result(_group_labels(spec))
    keep = set(attrition.included)
    if len(keep) < len(persons):
        long = visits.long[visits.long["person_id"].isin(keep)].reset_index(drop=True)
        wide = visits.wide[visits.wide["person_id"].isin(keep)].reset_index(drop=True)
        visits = VisitTable(long=long, wide=wide, spec=visits.spec, time_axis=visits.time_axis)
    ex = attrition.persons[~attrition.persons["included"]]
    person_log = pd.DataFrame({
        "stage": ex["stage"].to_numpy(),
        "table": "person",
        "person_id": ex["person_id"].to_numpy(),
        "file": None,
        "row": pd.array([None] * len(ex), dtype="Int64"),
        "column": None,
        "value": None,
        "criterion": ex["criterion"].to_numpy(),
        "reason": ex["reason"].to_numpy(),
    }, columns=list(EXCLUSION_COLUMNS))
    logs = [f for f in (data.exclusions, person_log) if len(f)]
    exclusions = pd.concat(logs, ignore_index=True) if logs else person_log
    return CohortBuild(data=data, spec=spec, attrition=attrition, visits=visits, exclusions=exclusions)
