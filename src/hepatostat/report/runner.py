"""Run an analysis plan and write the report (``hepatostat run PLAN --out DIR``).

Everything is computed in memory first; files are written only when every
step has run, so a failing plan leaves no partial report. A single analysis
that cannot be estimated (e.g. too few studies) does not stop the run: the
report shows it as not estimable, with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pandas as pd

from .. import __version__, datasets
from ..errors import EstimationError, InputError
from .document import Report
from .plan import Plan, load_plan

__all__ = ["RunResult", "run_plan"]


@dataclass
class RunResult:
    """What a run wrote and how long each step took."""

    out: Path
    files: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    synthetic: bool = False
    report: Report | None = None

    def summary(self) -> str:
        lines = [f"Report written to {self.out.resolve()}"]
        for name in ("report.html", "report.docx", "tables.xlsx", "manifest.json"):
            lines.append(f"  {self.out / name}")
        figs = [f for f in self.files if "/figures/" in f.replace("\\", "/") and f.endswith(".png")]
        lines.append(f"  {len(figs)} figures (PNG and SVG) in {self.out / 'figures'}")
        private = [f for f in self.files if not str(f).startswith(str(self.out) + "/") and not str(f).startswith(str(self.out) + "\\")]
        if private:
            lines.append(f"Patient-level logs (do not share): {', '.join(private)}")
        return "\n".join(lines)


class _Steps:
    """Progress over the plan's steps (rich progress bar unless quiet)."""

    def __init__(self, total: int, quiet: bool):
        self.timings: dict = {}
        self.quiet = quiet
        self._progress = None
        if not quiet:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description:<56}"), BarColumn(), TextColumn("step {task.completed}"),
                                      TimeElapsedColumn(), console=Console(stderr=True), transient=False)
            self._progress.start()
            self._task = self._progress.add_task("hepatostat run", total=None)

    def run(self, name: str, fn, *args, **kwargs):
        if self._progress is not None:
            self._progress.update(self._task, description=name)
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.timings[name] = round(time.perf_counter() - t0, 3)
            if self._progress is not None:
                self._progress.advance(self._task)

    def close(self):
        if self._progress is not None:
            done = self._progress.tasks[0].completed
            self._progress.update(self._task, description="done", total=done, completed=done)
            self._progress.stop()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _versions() -> dict:
    out = {"hepatostat": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "scipy", "pandas", "statsmodels", "matplotlib", "duckdb", "python-docx", "openpyxl"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


class _Inputs:
    """Resolves plan inputs and remembers them (with hashes) for the manifest."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.used: list = []
        self.synthetic = bool(plan.get("synthetic", default=False))

    def note(self, key, value, path=None, synthetic=False):
        entry = {"key": key, "value": value}
        if path is not None and Path(path).is_file():
            entry["sha256"] = _sha256(Path(path))
        self.used.append(entry)
        self.synthetic |= synthetic

    def table(self, key: str, value: str) -> pd.DataFrame:
        r = self.plan.resolve(value, key)
        if isinstance(r, tuple):
            info = datasets.info(r[1])
            with datasets.path(r[1]).open("rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
            self.used.append({"key": key, "value": value, "sha256": digest, "citation": info.get("citation")})
            self.synthetic |= bool(info.get("synthetic"))
            frame = datasets.load(r[1])
            frame.attrs["synthetic"] = bool(info.get("synthetic"))
            return frame
        from ..io import read_table

        frame = read_table(r)
        synth = "synthetic" in frame.columns and frame["synthetic"].astype(str).str.lower().isin(["true", "1", "yes"]).all()
        self.note(key, value, r, synthetic=bool(synth))
        frame.attrs["synthetic"] = bool(synth)
        return frame


# ---------------------------------------------------------------- cohort


def _cohort(plan: Plan, rep: Report, steps: _Steps, inputs: _Inputs, logs: dict, opts: dict):
    from .. import cohort as co
    from .cohort_tables import interval_table, pair_table, suppress_counts, to_display_units, visits_table
    from .figures_cohort import figure_declines, figure_over_time
    from .labels import Dictionary

    c = plan.spec.cohort
    min_cell = opts.get("min_cell", 0)
    src = plan.resolve(c.source, "cohort.source")
    if isinstance(src, tuple):
        if src[1] != "synthetic_cohort":
            raise InputError(f"plan key 'cohort.source': bundled:{src[1]} is not a cohort; use bundled:synthetic_cohort",
                             file=plan.source)
        from ..datasets import synthetic_cohort

        data = steps.run("cohort: read data", synthetic_cohort.load_cohort)
        inputs.note("cohort.source", c.source, synthetic=True)
    else:
        data = steps.run("cohort: read data", co.read_cohort, src)
        inputs.note("cohort.source", c.source, src)
    dictionary = Dictionary.from_file(plan.resolve(c.dictionary, "cohort.dictionary")) if c.dictionary else Dictionary()
    crit = c.criteria
    spec = co.load_criteria(plan.resolve(crit, "cohort.criteria") if crit.endswith(".toml") else crit)
    built = steps.run("cohort: eligibility, groups, visits", co.build_cohort, data, spec)
    outcomes = list(c.outcomes)
    pairs = list(c.pairs)
    long = built.visits.to_frame("long")
    wide = built.visits.to_frame("wide")
    missing = [o for o in outcomes if o not in set(long["outcome"])]
    if missing:
        raise InputError(f"plan key 'cohort.outcomes' names {', '.join(map(repr, missing))}, which the data lack; "
                         f"available: {', '.join(sorted(set(long['outcome'])))}", file=plan.source)
    logs["cohort_exclusions"] = built.exclusions if isinstance(built.exclusions, pd.DataFrame) else pd.DataFrame(built.exclusions)
    long, wide, unit_notes = to_display_units(long, wide, dictionary)
    groups_n = wide["group"].value_counts().to_dict()

    s = rep.section("Cohort study: eligibility and attrition")
    att = built.attrition.to_frame()
    private = opts.get("private_note", "")
    from ..io.format import fmt, fmt_n

    s.text(f"{fmt_n(int(att.iloc[0]['n_before'])) if 'n_before' in att.columns else ''} patients were screened against "
           f"the criteria '{spec.title if hasattr(spec, 'title') else crit}'; {fmt_n(len(wide))} were analysed "
           f"({', '.join(f'group {g}: {fmt_n(n)}' for g, n in sorted(groups_n.items()))}; Supplementary Table S1 and Figure "
           f"S1). {private}")
    s.text("Units. MELD is computed from bilirubin and creatinine in mg/dL (values recorded in µmol/L divided by "
           "17.1 and 88.4). " + " ".join(unit_notes))
    att_shown = att.drop(columns=[c for c in ("stage", "criterion", "reason") if c in att.columns])
    s.table("Attrition: patients before and after each criterion", _labelled(att_shown, {"label": "Criterion",
            "n_missing": "Missing data"}), note="Exclusion reasons per patient are in the patient-level log, which is "
            "kept outside the shareable report folder.", supplement=True)
    s.figure("Flow of patients through the eligibility criteria", built.attrition.plot(), supplement=True)

    s = rep.section("Cohort study: baseline characteristics (Tables 1 and 2)")
    variables = list(c.variables)
    categorical = list(c.table1_categorical)
    abbrev = dictionary.abbreviations([v.split("_W")[0] for v in variables])
    note = ("Mean ± SD when Shapiro–Wilk P ≥ 0.05 in both groups (t test), otherwise median (Q1–Q3) with the "
            "Mann–Whitney U test; n (%) with Pearson's χ² or Fisher's exact test; quartiles by SPSS's definition. "
            "Baseline = W0. " + abbrev)
    t1pairs = list(c.table1_pairs)
    t1 = steps.run("cohort: Table 1", co.table2, wide, "group", pairs=t1pairs, variables=variables, categorical=categorical)
    frame, kinds = pair_table(t1, _BaselineDict(dictionary), groups_n)
    # "(liver failure)" after a pair that is one of the plan's named sets of groups, as the paper's spanning headers
    sets = {frozenset(map(str, g)): n for g, n in zip(c.figure_combined or (), c.figure_combined_labels or ())}

    def named(a, b):
        n = sets.get(frozenset((str(a), str(b))))
        return f"group {a} vs group {b}" + (f" ({n.lower()})" if n else "")

    s.table("Patient demographics and baseline characteristics: " + " and ".join(named(a, b) for a, b in t1pairs),
            suppress_counts(frame, min_cell), note=note, kinds=kinds)
    t2pairs = list(c.table2_pairs)
    t2 = steps.run("cohort: Table 2", co.table2, wide, "group", pairs=t2pairs, variables=variables, categorical=categorical)
    frame, kinds = pair_table(t2, _BaselineDict(dictionary), groups_n)
    s.table("Patient demographics and baseline characteristics: " + " and ".join(f"group {a} vs group {b}" for a, b in t2pairs),
            suppress_counts(frame, min_cell), note=note, kinds=kinds)

    s = rep.section("Cohort study: changes over time (Table 3, Figures 1-3)")
    ch = steps.run("cohort: declines between groups (Table 3)", co.changes, long, outcomes, pairs=pairs)
    frame, kinds = interval_table(ch, dictionary)
    s.table("Decline (earlier minus later value) in each interval by group, with P values between groups",
            frame, kinds=kinds,
            note="Values: median (Q1 to Q3), or mean ± SD when normal in both groups of a pair. P: Mann–Whitney U or t "
                 "test for the pair named in 'P for' (each group row carries one pair's P value, as in the seed's "
                 "Table 3). " + abbrev)
    frame, kinds = interval_table(ch, dictionary, cumulative=True)
    s.table("Cumulative decline from W0 by group, with P values between groups", frame, kinds=kinds,
            note="Values and P as in Table 3.", supplement=True)
    ot = steps.run("cohort: within-group change over time", co.over_time, long, outcomes)
    frame, kinds = visits_table(ot, dictionary)
    s.table("Values at each visit by group: median (Q1 to Q3) [n], with the Friedman test across visits",
            frame, kinds=kinds, note="Friedman test over the patients with every visit. " + abbrev, supplement=True)
    s.figure("Values over the observation weeks in the liver-failure groups (A, B) and the cirrhosis groups (C, D): "
             "median and interquartile range (Figure 1 of the seed paper)",
             figure_over_time(long, outcomes, dictionary, min_cell=min_cell, points=opts.get("points", False)))
    focus = c.figure_outcome or ("bilirubin" if "bilirubin" in outcomes else outcomes[0])
    lab = dictionary.label(focus, unit=False)
    combined = None
    if c.figure_combined:
        sets = [tuple(map(str, g)) for g in c.figure_combined]
        names = list(c.figure_combined_labels or [" + ".join(g) for g in sets])
        if len(sets) != 2 or len(names) != 2:
            raise InputError("plan key 'cohort.figure_combined' needs two sets of groups (e.g. [[\"A\", \"B\"], "
                             "[\"C\", \"D\"]]) and 'figure_combined_labels' two names", file=plan.source)
        to = {g: names[i] for i, gs in enumerate(sets) for g in gs}
        c_long = long[long["group"].astype(str).isin(to)].assign(group=lambda f: f["group"].astype(str).map(to))
        c_ch = steps.run("cohort: declines of the pooled groups (Figures 2A, 3A)", co.changes, c_long, [focus],
                         pairs=[tuple(names)])
        combined = (c_long, c_ch, tuple(names))
    letters = "" if combined is None else f"{names[0]} vs {names[1].lower()} (A), then "
    s.figure(f"Median decline in {lab} in each interval: {letters}one panel per pair of groups (Figure 2 of the seed "
             "paper); * P < 0.05, ** P < 0.01 (tests as in Table 3)",
             figure_declines(long, ch, focus, dictionary, pairs=pairs, min_cell=min_cell, combined=combined))
    s.figure(f"Median cumulative decline in {lab} from W0: {letters}one panel per pair of groups (Figure 3 of the seed "
             "paper); * P < 0.05, ** P < 0.01 (tests as in Table 3)",
             figure_declines(long, ch, focus, dictionary, cumulative=True, pairs=pairs, min_cell=min_cell,
                             combined=combined))

    if c.mixed_model or c.ancova or c.ipw:
        s = rep.section("Cohort study: adjusted analyses")
        s.text("Beyond the seed study's unadjusted tests: a linear mixed model of each outcome over time, ANCOVA of "
               "the change adjusted for baseline, and inverse-probability weighting for groups unbalanced at baseline "
               "(tables and figure in the supplementary material).")
    if c.mixed_model:
        rows = []
        for o in outcomes:
            frame = long[long["outcome"] == o].rename(columns={"value": o})
            try:
                mm = steps.run(f"cohort: mixed model {o}", co.mixed_model, frame, o)
                f = mm.to_frame()
                f.insert(0, "Outcome", dictionary.label(o))
                rows.append(f)
            except EstimationError as exc:
                s.text(f"{dictionary.label(o)}: mixed model not estimable ({exc}).")
        if rows:
            s.table("Linear mixed models: outcome ~ group × week with a random intercept per patient (REML); "
                    "effects with 95% CI", _effects(pd.concat(rows, ignore_index=True), dictionary), supplement=True)
    if c.ancova:
        last = f"W{int(max(built.visits.weeks))}" if hasattr(built.visits, "weeks") else "W24"
        rows = []
        for o in outcomes:
            try:
                an = steps.run(f"cohort: ANCOVA {o}", co.ancova, wide, f"{o}_{last}", f"{o}_W0", "group")
                f = an.to_frame()
                f.insert(0, "Outcome", dictionary.label(o))
                rows.append(f)
            except (EstimationError, InputError) as exc:
                s.text(f"{dictionary.label(o)}: ANCOVA not estimable ({exc}).")
        if rows:
            s.table(f"ANCOVA of the value at {last} adjusted for the value at W0: effects with 95% CI",
                    _effects(pd.concat(rows, ignore_index=True), dictionary), supplement=True)
    ipw_cfg = c.ipw
    if ipw_cfg:
        from .figures_cohort import figure_balance

        tr, ct = ipw_cfg.treated, ipw_cfg.control
        sub = wide[wide["group"].isin([tr, ct])]
        res = steps.run("cohort: inverse-probability weighting", co.ipw, sub, "group", ipw_cfg.outcome,
                        list(ipw_cfg.covariates), treated=tr)
        bal = res.to_frame()
        worst = float(bal["smd_w"].abs().max())
        shown = bal.assign(covariate=[_BaselineDict(dictionary).label(v) for v in bal["covariate"]])
        shown = shown.rename(columns={"covariate": "Covariate", "mean_treated": f"Mean, group {tr}",
                                      "mean_control": f"Mean, group {ct}", "smd": "SMD",
                                      "mean_treated_w": f"Weighted mean, group {tr}",
                                      "mean_control_w": f"Weighted mean, group {ct}", "smd_w": "Weighted SMD"})
        s.table(f"Balance before and after inverse-probability weighting, group {tr} vs group {ct}", shown,
                kinds={"SMD": "smd", "Weighted SMD": "smd"},
                note="SMD: standardised mean difference (stabilised weights, average treatment effect). Balance is "
                     "usually taken as reached when every |SMD| ≤ 0.1.", supplement=True)
        eff = pd.DataFrame([{"Outcome": dictionary.label(ipw_cfg.outcome), f"Weighted mean, group {tr}": res.mean_treated,
                             f"Weighted mean, group {ct}": res.mean_control, "Difference": res.difference,
                             "95% CI lower": res.ci_low, "95% CI upper": res.ci_high, "P": res.pval,
                             f"Effective n, group {tr}": res.ess_treated, f"Effective n, group {ct}": res.ess_control}])
        s.table(f"Weighted effect (inverse-probability weighting), group {tr} vs group {ct}", eff,
                kinds={f"Effective n, group {tr}": "weight", f"Effective n, group {ct}": "weight"},
                note="Robust (HC0) standard error, which ignores the estimation of the propensity score.", supplement=True)
        if worst > 0.1:
            s.text(f"Warning: balance is not reached after weighting (largest |SMD| = {fmt(worst, 'smd')} > 0.1, "
                   f"{', '.join(shown.loc[bal['smd_w'].abs() > 0.1, 'Covariate'])}); the weighted effect is not a "
                   "fair comparison of the groups and should not be reported as one.")
        s.figure(f"Covariate balance before and after weighting, group {tr} vs group {ct}",
                 figure_balance(bal, dictionary, treated=tr, control=ct), supplement=True)


def _isnum(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


class _BaselineDict:
    """Table 1 rows name baseline values (``alt_W0``): label them as the paper does ("ALT (U/L)")."""

    def __init__(self, d):
        self.d = d
        self.entries = d.entries

    def label(self, name):
        base = name[:-3] if name.endswith("_W0") else name
        return self.d.label(base)

    def value(self, name, level):
        return self.d.value(name, level)


#: headers of the characteristics table (the review's Table 1)
CHARACTERISTICS = {
    "year": "Year", "author": "First author", "country": "Country", "liver_disease": "Liver disease",
    "etiology": "Aetiology", "cell_type": "Cell type", "dose": "Dose", "injections_text": "Injections",
    "route": "Route", "n_exp": "n (MSC)", "n_con": "n (control)", "age_exp": "Age, MSC (years)",
    "age_con": "Age, control (years)", "follow_up": "Follow-up", "adverse_event": "Adverse events",
}

#: readable headers for the engines' column names
HEADERS = {
    "study": "Study", "yi": "Estimate", "vi": "Variance", "sei": "SE", "ci_low": "95% CI lower",
    "ci_high": "95% CI upper", "weight": "Weight (%)", "omitted": "Study omitted", "estimate": "Estimate",
    "se": "SE", "stat": "z", "pval": "P", "Q": "Q", "Q_pval": "P (heterogeneity)", "tau2": "τ²", "I2": "I²",
    "H2": "H²", "outcome": "Outcome", "timepoint": "Time point", "measure": "Measure", "model": "Model", "flag": "Flag",
    "test": "Test", "statistic": "Statistic", "term": "Term", "k": "Studies (k)", "n": "n", "step": "Step",
    "n_before": "Patients before", "n_after": "Patients after", "n_excluded": "Excluded", "excluded": "Excluded",
    "reason": "Reason", "criterion": "Criterion", "label": "Result", "p_reported": "P reported",
    "se_implied": "SE implied", "p_implied": "P implied", "ok": "Consistent", "problems": "Problems",
    "rstudent": "Studentised residual", "dffits": "DFFITS", "cook_d": "Cook's distance", "hat": "Hat value",
    "cov_r": "Covariance ratio", "tau2_del": "τ² without", "QE_del": "Q without", "inf": "Influential",
    "df": "df", "tval": "t", "zval": "z", "QM": "QM", "QMp": "P (QM)", "QE": "QE", "QEp": "P (QE)",
    "smd_before": "SMD before", "smd_after": "SMD after", "smd_unweighted": "SMD before", "smd_weighted": "SMD after",
    "variable": "Variable", "coef": "Effect", "p_perm": "P (permutation)", "pval_perm": "P (permutation)",
    "influential": "Influential", "resid": "Residual", "status": "Status",
}


def _labelled(frame: pd.DataFrame, extra: dict | None = None) -> pd.DataFrame:
    """``frame`` with readable headers (code names replaced)."""
    m = {**HEADERS, **(extra or {})}
    out = frame.copy()
    out.columns = [m.get(str(c), str(c).replace("_", " ").capitalize() if "_" in str(c) else str(c)) for c in frame.columns]
    return out


def _study_table(res) -> pd.DataFrame:
    """Studies, weights and the pooled estimate; ratios on their natural scale."""
    import numpy as np

    f = res.to_frame()
    measure = str(getattr(res, "measure", "") or "").upper()
    names = {"OR": "Odds ratio", "RR": "Risk ratio", "HR": "Hazard ratio", "SMD": "SMD (Hedges' g)",
             "MD": "Mean difference", "RD": "Risk difference"}
    if measure in ("OR", "RR", "HR", "PETO"):
        f = f.assign(yi=np.exp(f["yi"]), ci_low=np.exp(f["ci_low"]), ci_high=np.exp(f["ci_high"])).drop(columns=["vi", "sei"])
    return _labelled(f, {"yi": names.get(measure, "Estimate")})


def _term(term: str, dictionary, reference: str = "A") -> str:
    """A model term in words: ``groupB`` -> "Group B vs A", ``groupB:week`` -> "Group B vs A × week"."""
    parts = []
    for t in str(term).split(":"):
        if t == "(Intercept)":
            parts.append(f"Intercept (group {reference})")
        elif t.startswith("group") and len(t) > 5:
            parts.append(f"Group {t[5:]} vs {reference}")
        elif t == "week":
            parts.append("Week")
        else:
            parts.append(_BaselineDict(dictionary).label(t) if not t.endswith("_W0") else dictionary.label(t))
    return " × ".join(parts)


def _effects(frame: pd.DataFrame, dictionary=None) -> pd.DataFrame:
    """A model table as effects with CI (terms in words, code names replaced)."""
    f = frame.copy()
    if dictionary is not None and "term" in f.columns:
        f["term"] = [_term(t, dictionary) for t in f["term"]]
    if "Outcome" in f.columns:
        f["Outcome"] = f["Outcome"].where(f["Outcome"].ne(f["Outcome"].shift()), "")
    f = _labelled(f, {"term": "Effect", "t": "t"})
    return f


def _pool_sentence(res, title: str) -> str:
    """The pooled result in one plain sentence (numbers through the one formatter)."""
    from ..io.format import fmt, fmt_ci, fmt_p_eq

    measure = str(res.measure).upper()
    ratio = measure in ("OR", "RR", "PETO") or bool(getattr(res, "log_scale", False))
    import math

    tr = math.exp if ratio else (lambda v: v)  # ratios on their natural scale
    est, lo, hi = tr(res.estimate), tr(res.ci_low), tr(res.ci_high)
    names = {"SMD": "standardised mean difference", "MD": "mean difference", "OR": "odds ratio", "RR": "risk ratio",
             "PETO": "odds ratio (Peto)", "RD": "risk difference"}
    model = "random-effects" if getattr(res, "random", False) else "fixed-effect"
    sig = "differed significantly" if res.pval < 0.05 else "did not differ significantly"
    rule = f" Model choice: {_tidy_numbers(res.model_rule)}." if getattr(res, "model_rule", None) else ""
    return (f"{title}: the groups {sig} ({names.get(measure, measure)} {fmt(est, 'estimate')}, 95% CI "
            f"{fmt_ci(lo, hi)}; {fmt_p_eq(res.pval)}; {model} model "
            f"({res.method}), k = {res.k}; I² = {fmt(res.I2, 'I2')}, τ² = {fmt(res.tau2, 'tau2')}; heterogeneity "
            f"{fmt_p_eq(res.Q_pval)}).{rule}")


def _tidy_numbers(text: str) -> str:
    """Numbers an engine put into a sentence, re-shown through the formatter (``5.55e-07`` -> ``<0.001``)."""
    import re

    from ..io.format import fmt_p, fmt_p_eq

    def one(m):
        x = float(m.group(2))
        if not 0 <= x < 1:
            return m.group(0)
        return fmt_p_eq(x, letter="").lstrip() if m.group(1) else fmt_p(x)  # "= 0.012", "< 0.001"

    return re.sub(r"(= )?(\d+(?:\.\d+)?e[-+]\d+)", one, str(text))


def _outcome_sentences(frame: pd.DataFrame, ocol: str = "outcome", tcol: str = "timepoint") -> list[str]:
    """One plain paragraph per pooled outcome, from the numbers of the outcome × time point table.

    "At baseline the groups did not differ (SMD 0.08, 95% CI -0.06 to 0.22; P = 0.288). MELD was lower with
    treatment than with control at week 4 (...) and week 24 (...); the difference at week 12 was not
    statistically significant (...)." Every number goes through the one formatter; ratios are on their own
    scale (the table's estimates are exponentiated already).
    """
    from ..io.format import fmt, fmt_ci, fmt_p_eq
    from .figures_meta import time_label

    def words(items, last="and"):
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {last} " + items[-1]

    out = []
    for outcome, rows in frame.groupby(ocol, sort=False):
        label = str(outcome)
        label = label[:1].upper() + label[1:]
        base, lower, higher, same, measure = None, [], [], [], ""
        for _, r in rows.iterrows():
            if r.get("estimate") is None or r["estimate"] != r["estimate"]:
                continue
            measure = str(r.get("measure", "")).upper()
            ratio = measure in ("OR", "RR", "PETO", "HR")
            null = 1.0 if ratio else 0.0
            i2 = "" if r.get("I2") is None or r["I2"] != r["I2"] else f"; I² = {fmt(r['I2'], 'I2')}"
            nums = (f"{measure} {fmt(r['estimate'], 'estimate')}, 95% CI {fmt_ci(r['ci_low'], r['ci_high'])}; "
                    f"{fmt_p_eq(r['pval'])}{i2}; {int(r['k'])} studies")
            t = str(r[tcol])
            when = time_label(t).lower()
            if t.lower() == "baseline":
                base = (r["pval"] < 0.05, nums)
                continue
            item = f"{when} ({nums})"
            if r["pval"] >= 0.05:
                same.append(item)
            elif r["estimate"] < null:
                lower.append(item)
            else:
                higher.append(item)
        what = {"OR": f"The odds of {label.lower()} were", "PETO": f"The odds of {label.lower()} were",
                "RR": f"The risk of {label.lower()} was"}.get(measure, f"{label} was")
        parts = []
        if base is not None:
            parts.append(f"{label}: at baseline the groups " + (f"already differed ({base[1]}), so later time points "
                         "compare groups that were not alike at the start." if base[0] else
                         f"did not differ ({base[1]})."))
        else:
            parts.append(f"{label}:")
        if lower:
            parts.append(f"{what} lower with treatment than with control at {words(lower)}.")
        if higher:
            parts.append(f"{what} higher with treatment than with control at {words(higher)}.")
        if same:
            parts.append(f"No statistically significant difference was found at {words(same, 'or')}.")
        if parts[0].endswith(":") and len(parts) > 1:  # "Survival: no statistically significant ..."
            if parts[1].startswith(("No ", "The ")):
                parts[1] = parts[1][:1].lower() + parts[1][1:]
        out.append(" ".join(parts))
    return out


def _symptom_sentences(table: pd.DataFrame) -> list[str]:
    from ..io.format import fmt, fmt_ci, fmt_p

    out, outcome = [], ""
    for _, r in table.iterrows():
        outcome = r["Outcome"] or outcome
        if r.get("Odds ratio") is None or r["Odds ratio"] != r["Odds ratio"]:
            continue
        p = r["P"]
        direction = ("less frequent" if r["Odds ratio"] < 1 else "more frequent") + " with MSC than with control"
        verdict = direction if p < 0.05 else "no significant difference between MSC and control"
        out.append(f"{outcome} ({r['Time point'].lower()}): {verdict} (OR {fmt(r['Odds ratio'], 'estimate')}, 95% CI "
                   f"{fmt_ci(r['95% CI lower'], r['95% CI upper'])}; P {'< 0.001' if p < 0.001 else '= ' + fmt_p(p)}; "
                   f"{int(r['Studies (k)'])} studies).")
    return out


def _rob_sentence(rob) -> str:
    """The risk-of-bias judgements in two sentences (counts from the judgements)."""
    n = len(rob.studies)
    if not n:
        return "No study has risk-of-bias judgements."
    from ..review.rob import TOOLS

    names = dict(TOOLS.get(rob.tool, {}).get("domains", ()))
    all_low = sum(all(j == "Low" for j in js if j) for js in rob.judgements)
    any_high = sum(any(j == "High" for j in js) for js in rob.judgements)
    high = [(sum(js[i] == "High" for js in rob.judgements), d) for i, d in enumerate(rob.domains)]
    high = sorted([h for h in high if h[0]], key=lambda h: -h[0])[:3]
    text = (f"{all_low} of {n} studies were judged at low risk of bias in every domain and {any_high} at high risk "
            "in at least one domain.")
    if high:
        text += " High risk came mainly from " + "; ".join(
            f"{names.get(d, d.replace('_', ' ')).split(' (')[0].lower()} ({k} {'study' if k == 1 else 'studies'})"
            for k, d in high) + "."
    return text


def _rob_section(rep: Report, rob, *, illustrative: bool, source: str = ""):
    """Risk of bias: the judgements (supplementary table), the traffic-light and summary figures.

    ``illustrative``: the bundled EXAMPLE table, labelled so in the text, every caption and every figure."""
    s = rep.section("Systematic review: risk of bias", mark="EXAMPLE DATA" if illustrative else False)
    if illustrative:
        s.text("The judgements below are an EXAMPLE table bundled with hepatostat to show the layout, not a published "
               "or real assessment; replace them with the review's own judgements (plan key review.rob, or the "
               "workbench's risk_of_bias.csv).")
    elif source:
        s.text(f"The review team's own judgements ({source}).")
    if getattr(rob, "label", None) and not illustrative:
        s.text(str(rob.label))
    s.text(("Illustration only: " if illustrative else "") + _rob_sentence(rob))
    s.table("Risk-of-bias judgements per study and domain", _labelled(rob.to_frame()), supplement=True)
    s.figure("Risk of bias: traffic-light plot", rob.plot_traffic_light())
    s.figure("Risk of bias: summary across studies", rob.plot_summary())


def _project_rob(plan: Plan):
    """The workbench's exported judgements (``risk_of_bias.csv`` next to the plan), if any; else None."""
    from .. import review as rv

    p = Path(plan.source).parent / "risk_of_bias.csv" if Path(plan.source).is_file() else None
    if p is None or not p.is_file():
        return None, None
    try:
        frame = pd.read_csv(p, dtype=str)
    except pd.errors.EmptyDataError:  # the export of a project without judgements
        return None, None
    frame = frame.drop(columns=[c for c in frame.columns if c.endswith("_support")])
    if frame.empty or len(frame.columns) < 2:
        return None, None
    try:
        return rv.read_rob(frame, source=str(p)), p
    except InputError as exc:  # judgements not complete yet: said in the report, the rest still runs
        return exc, p


# ---------------------------------------------------------------- review


def _review(plan: Plan, rep: Report, steps: _Steps, inputs: _Inputs, logs: dict):
    from .. import review as rv

    r = plan.spec.review
    examples = {p.stem: p for p in rv.example_paths()}
    if r.records:
        paths = []
        for i, rec in enumerate(r.records, 1):
            res = plan.resolve(rec, f"review.records[{i}]")
            if isinstance(res, tuple):
                p = examples.get(res[1])
                if p is None:
                    raise InputError(f"plan key 'review.records[{i}]': no bundled export '{res[1]}'; available: "
                                     f"{', '.join(examples)}", file=plan.source)
                inputs.note(f"review.records[{i}]", rec, p)
                paths.append(p)
            else:
                inputs.note(f"review.records[{i}]", rec, res)
                paths.append(res)
        rs = steps.run("review: import records", rv.read_records, paths)
        dd = steps.run("review: de-duplicate", rv.deduplicate, rs)
        example = all(isinstance(plan.resolve(rec, "review.records"), tuple) for rec in r.records)
        s = rep.section("Systematic review: search records and de-duplication", mark="EXAMPLE DATA" if example else False)
        s.text(dd.summary().splitlines()[0])
        per_file = pd.DataFrame([f.to_dict() for f in rs.files])
        if "file" in per_file.columns:
            per_file["file"] = per_file["file"].map(lambda f: Path(str(f)).name)
        for col in ("notes", "skipped"):  # lists in the engine's summary: one readable cell each
            if col in per_file.columns:
                per_file[col] = per_file[col].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple))
                                                  else ("" if v is None else v))
        if "notes" in per_file.columns and not per_file["notes"].astype(str).str.len().any():
            per_file = per_file.drop(columns=["notes"])
        s.table("Records per file", _labelled(per_file, {"file": "File", "format": "Format", "records": "Records",
                                                         "encoding": "Encoding", "database": "Database",
                                                         "skipped": "Records skipped", "notes": "Notes"}),
                supplement=True)
        frame = dd.to_frame()
        if "cluster" in frame.columns:
            sizes = frame["cluster"].map(frame["cluster"].value_counts())
            frame = frame[sizes > 1].sort_values(["cluster", "kept"], ascending=[True, False])
        if "title" in frame.columns:
            frame = frame.assign(title=frame["title"].map(lambda t: t if len(str(t)) <= 60 else str(t)[:57] + "..."))
        keep = [c for c in ("cluster", "kept", "database", "first_author", "year", "title", "reason") if c in frame.columns]
        frame = frame[keep] if keep else frame
        if "kept" in frame.columns:
            frame = frame.assign(kept=frame["kept"].map(lambda v: "kept" if v is True or str(v).lower() == "true" else ""))
        s.table("Duplicate clusters (kept record first) and why they matched",
                _labelled(frame, {"cluster": "Cluster", "kept": "Kept", "database": "Database",
                                  "first_author": "First author", "year": "Year", "title": "Title",
                                  "reason": "Why they matched"}),
                note="Uncertain pairs are listed for a person to decide, not merged; the full table is in "
                     "exclusions/review_duplicates.csv.", supplement=True)
        logs["review_duplicates"] = dd.to_frame()
    if r.prisma:
        res = plan.resolve(r.prisma, "review.prisma")
        if isinstance(res, tuple):
            flow = rv.liu2022_prisma()
            inputs.note("review.prisma", r.prisma)
        else:
            flow = rv.prisma_flow(res)
            inputs.note("review.prisma", r.prisma, res)
        s = rep.section("Systematic review: PRISMA 2020 flow", mark=False)
        pf = flow.to_frame()
        s.table("PRISMA 2020 flow: records and reports at each step",
                _labelled(pf.drop(columns=[c for c in ("box",) if c in pf.columns]), {"label": "Box", "n": "n"}),
                supplement=True)
        s.figure("PRISMA 2020 flow diagram", flow.plot())
    if r.rob:
        res = plan.resolve(r.rob, "review.rob")
        tool = r.rob_tool
        if isinstance(res, tuple):
            rob = rv.example_rob(tool or ("rob2" if res[1].endswith("rob2") else "rob1"))
            inputs.note("review.rob", r.rob)
        else:
            rob = rv.read_rob(res, tool=tool)
            inputs.note("review.rob", r.rob, res)
        _rob_section(rep, rob, illustrative=isinstance(res, tuple))
    if r.characteristics:
        res = plan.resolve(r.characteristics, "review.characteristics")
        frame = rv.load_liu2022() if isinstance(res, tuple) else pd.read_csv(res)
        inputs.note("review.characteristics", r.characteristics, None if isinstance(res, tuple) else res)
        cols = [c for c in ("year", "author", "country", "liver_disease", "etiology", "cell_type", "dose",
                            "injections_text", "route", "n_exp", "n_con", "age_exp", "age_con", "follow_up",
                            "adverse_event") if c in frame.columns]
        s = rep.section("Systematic review: characteristics of the included trials", mark=False)
        s.table("Characteristics of the included randomised trials (Table 1 of Liu et al. 2022)"
                if isinstance(res, tuple) else "Characteristics of the included trials",
                _labelled(frame[cols] if cols else frame, CHARACTERISTICS),
                note="MSC, mesenchymal stem cells; UC, umbilical cord; BM, bone marrow; ACLF, acute-on-chronic liver failure.")


# ---------------------------------------------------------------- meta-analysis


def _meta(plan: Plan, rep: Report, steps: _Steps, inputs: _Inputs, logs: dict):
    from .. import meta
    from ..meta.bias import publication_bias
    from ..meta.outcomes import outcome_table
    from ..meta.plots import baujat_plot
    from ..meta.regression import meta_regression, permutation_test
    from ..meta.sensitivity import baujat, influence, leave_one_out
    from ..meta.subgroup import subgroup_analysis
    from ..io.format import fmt, fmt_n, fmt_p, fmt_p_eq
    from .figures_meta import binary_outcome_table, forest_by_timepoint, pool_blocks, split_blocks, time_label

    m = plan.spec.meta
    ocol, tcol = m.outcome_col, m.time_col
    main_results = False
    main = inputs.table("meta.data", m.data) if m.data is not None else None
    if main is not None and m.check_extraction and {"study", "m1", "sd1", "n1"} <= set(main.columns):
        from ..meta.extraction_checks import check_extraction

        # numbers as text, so that the checks judge the decimals as printed in the table
        printed = main.astype(object).where(main.notna(), None).map(lambda v: None if v is None else (
            str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)))
        chk = steps.run("meta: checks of the extracted numbers", check_extraction, printed,
                        integer_outcomes=tuple(o for o in m.integer_outcomes if o in set(main[ocol].astype(str)))
                        if ocol in main.columns else (), source=str(m.data))
        s = rep.section("Checks of the extracted numbers (before pooling)", mark=bool(main.attrs.get("synthetic")))
        counts = chk.counts()
        s.text(f"{fmt_n(counts.get('rows', len(main)))} extracted rows were checked before pooling: GRIM and GRIMMER for "
               "whole-number outcomes, SD against the range, quartile order, mean within the range, the reported P "
               "against the means and SDs, an SE entered as an SD, a unit-scale mix-up (×10, ×17.1, ×88.4, ×1000), "
               "sample sizes that grow over time, and skew that makes a median-to-mean conversion doubtful. "
               + (f"{fmt_n(counts.get('flags', 0))} flag(s) on {fmt_n(counts.get('rows_flagged', 0))} row(s) were raised; they are "
                  "listed below and should be settled before the pooled results are used."
                  if counts.get("flags") else "No check raised a flag."))
        ff = chk.to_frame()
        if len(ff):
            s.table("Flags raised on the extracted numbers", _labelled(ff), supplement=True)
    if m.verification_log:
        vlog = inputs.table("meta.verification_log", m.verification_log)
        s = rep.section("Verification log of the extraction", mark=bool(vlog.attrs.get("synthetic")))
        status = vlog["status"].astype(str) if "status" in vlog.columns else None
        if status is None:
            raise InputError("the verification log needs a 'status' column (open, settled or gone), as the "
                             "workbench's export writes it", file=str(m.verification_log))
        s.text(f"The two extractors' adjudicated numbers raised {fmt_n(len(vlog))} flag(s) in the checks before pooling: "
               f"{fmt_n(int((status == 'settled').sum()))} settled, {fmt_n(int((status == 'gone').sum()))} gone after a "
               f"correction, {fmt_n(int((status == 'open').sum()))} open.")
        if len(vlog):
            keep = [c for c in ("study", "outcome", "timepoint", "arm", "check", "message", "status", "resolution",
                                "note", "settled_by") if c in vlog.columns]
            s.table("Flags raised on the extracted numbers and how each was settled", _labelled(vlog[keep]),
                    supplement=True)
    if main is not None and m.outcomes_table and ocol in main.columns and tcol in main.columns:
        tab = steps.run("meta: every outcome × time point", outcome_table, main, m.measure, m.method,
                        outcome=ocol, timepoint=tcol, baseline=m.baseline, source=str(m.data))
        s = rep.section("Meta-analysis: outcomes and time points", mark=bool(main.attrs.get("synthetic")))
        s.text("Each outcome at each time point is pooled on its own. Model: "
               + ("the review's rule (random effects when Cochran's Q P < 0.10 or I² > 50%, else fixed effect)"
                  if m.method.upper() == "AUTO" else m.method) + ".")
        tf = tab.to_frame().drop(columns=["note"])
        flagged = tf["flag"].notna() & tf["flag"].astype(str).ne("") if "flag" in tf.columns else None
        if flagged is not None and not flagged.any():
            tf = tf.drop(columns=["flag"])
        tf[tcol] = tf[tcol].map(time_label) if tcol in tf.columns else tf.get(tcol)
        s.table("Pooled results per outcome and time point (ratios exponentiated)", _labelled(tf),
                note="P (heterogeneity): Cochran's Q test. Flag: later time points of an outcome whose groups already "
                     "differed at baseline are not comparable." if flagged is not None and flagged.any() else
                "P (heterogeneity): Cochran's Q test.", supplement=True)
        s.text("In words:")
        for sentence in _outcome_sentences(tab.to_frame(), ocol, tcol):
            s.text(sentence)
        all_blocks = {}
        for outcome in dict.fromkeys(main[ocol].astype(str)):
            blocks = steps.run(f"meta: {outcome} across time points", pool_blocks, main, outcome, measure=m.measure,
                               method=m.method, outcome_col=ocol, time_col=tcol, source=str(m.data))
            if len([b for b in blocks if not isinstance(b[2], Exception)]) == 0:
                continue
            fav = ("lower with treatment", "higher with treatment")  # arm 1 = treatment; true for every outcome
            parts = split_blocks(blocks)  # a plot taller than a page would print in too small type
            for j, part in enumerate(parts, 1):
                more = f" (part {j} of {len(parts)}: {', '.join(time_label(b[0]) for b in part)})" if len(parts) > 1 else ""
                s.figure(f"Forest plot of {outcome} at each time point (blocks), with the pooled estimate per time "
                         f"point (as the review's Figures 3–8){more}",
                         forest_by_timepoint(part, outcome_label=outcome[:1].upper() + outcome[1:] + more,
                                             favours=fav))
            all_blocks[outcome] = blocks
            main_results = True
        _supplementary_meta(rep, main, all_blocks, m, steps, bool(main.attrs.get("synthetic")))
    if m.symptoms:
        sym = inputs.table("meta.symptoms", m.symptoms)
        st = steps.run("meta: symptom table", binary_outcome_table, sym, method=m.method,
                       outcome_col=ocol, time_col=tcol, source=str(m.symptoms))
        s = rep.section("Meta-analysis: clinical symptoms", mark=bool(sym.attrs.get("synthetic")))
        s.table("Meta-analysis of clinical symptoms before and after therapy (as the review's Table 2)",
                st.rename(columns={"Outcome": "Symptom"}), kinds={"Studies (k)": "int"},
                note="Odds ratio of the symptom, MSC vs control (Mantel–Haenszel/inverse-variance as chosen by the model "
                     "rule); I² and P (heterogeneity) from Cochran's Q; 95% CI, 95% confidence interval.")
        s.text("In words:")
        for sentence in _symptom_sentences(st):
            s.text(sentence)
    # with the per-outcome forest plots as the main results, the named analyses are supplementary material
    supp = bool(main_results)
    for i, a in enumerate(m.analysis, 1):
        key = f"meta.analysis[{i}]"
        data = inputs.table(f"{key}.data", a.data) if a.data is not None else main
        synth = bool(data.attrs.get("synthetic"))
        for k_, col in (("outcome", ocol), ("timepoint", tcol)):
            if getattr(a, k_) is not None:
                if col not in data.columns:
                    raise InputError(f"plan key '{key}.{k_}': the data have no column '{col}' "
                                     f"(columns: {', '.join(map(str, data.columns))})", file=plan.source)
                have = list(dict.fromkeys(data[col].astype(str)))
                if str(getattr(a, k_)) not in have:
                    raise InputError(f"plan key '{key}.{k_}' names {getattr(a, k_)!r}, which the data lack; available: "
                                     f"{', '.join(have)}", file=plan.source)
                data = data[data[col].astype(str) == str(getattr(a, k_))]
        measure = a.measure or m.measure
        if measure is None and "measure" in data.columns and data["measure"].nunique() == 1:
            measure = str(data["measure"].iloc[0])
        if measure is None:
            raise InputError(f"plan key '{key}.measure' is missing (no measure column either)", file=plan.source)
        method = a.method or m.method
        title = a.heading
        s = rep.section(f"Meta-analysis: {a.name}", mark=synth)
        try:
            es = meta.effects(data, measure, source=a.data or m.data)
            res = steps.run(f"meta: {a.name}", meta.pool, es, method, knha=a.knha)
        except EstimationError as exc:
            s.text(f"Not estimable: {exc}.")
            continue
        s.text(_pool_sentence(res, title))
        s.table(f"{title}: studies, weights and pooled estimate", _study_table(res), supplement=supp)
        fav = tuple(a.favours)
        if a.forest:
            s.figure(f"{title}: forest plot", res.plot(title=title, favours=fav), supplement=supp)
        sub_rows, sub_figs = [], []
        for by in a.subgroups:
            try:
                sg = steps.run(f"meta: {a.name} by {by}", subgroup_analysis, es, by, res.method, knha=res.knha)
                f = sg.to_frame().rename(columns={by: "level"})
                f.insert(0, "Subgroup", [by.replace("_", " ").capitalize()] + [""] * (len(f) - 1))
                f["P (subgroup difference)"] = [sg.Q_between_pval] + [None] * (len(f) - 1)
                sub_rows.append(f)
                sub_figs.append((by, sg))
            except (EstimationError, InputError) as exc:
                s.text(f"Subgroups by {by}: not estimable ({exc}).")
        if sub_rows:
            s.table(f"{title}: subgroup analyses",
                    _labelled(pd.concat(sub_rows, ignore_index=True), {"level": "Level"}),
                    note="Separate τ² per subgroup; P (subgroup difference): Q test between subgroups.", supplement=supp)
            for by, sg in sub_figs:
                s.figure(f"{title}: subgroups by {by.replace('_', ' ')}", sg.plot(favours=fav), supplement=supp)
        if a.leave_one_out and res.k >= 3:
            loo = steps.run(f"meta: {a.name} leave-one-out", leave_one_out, res)
            s.table(f"{title}: leave-one-out sensitivity analysis", _labelled(loo.to_frame()), supplement=supp)
            for sentence in loo.sentences:
                s.text(sentence)
            s.figure(f"{title}: leave-one-out", loo.plot(), supplement=supp)
        if a.influence and res.method not in ("MH", "PETO") and res.k >= 3:
            inf = influence(res)
            s.table(f"{title}: influence diagnostics (* = influential)", _labelled(inf.to_frame()), supplement=supp)
            bj = baujat_plot(baujat(res))
            left = getattr(bj, "unlabelled", [])
            s.figure(f"{title}: Baujat plot", bj, supplement=supp,
                     note=(f"Studies not labelled in the plot for lack of room: {'; '.join(left)}."
                           if left else ""))
        if a.bias and res.k >= 3:
            b = steps.run(f"meta: {a.name} publication bias", publication_bias, res)
            s.table(f"{title}: publication bias (Egger, Begg, trim-and-fill)", _labelled(b.to_frame()),
                    note=" ".join(b.notes), supplement=supp)
            s.figure(f"{title}: contour-enhanced funnel plot", b.plot(), supplement=supp)
        if a.regression:
            try:
                reg = meta_regression(es, list(a.regression), method=res.method if res.method not in ("MH", "PETO") else "REML",
                                      knha=res.knha)
                note = (f"QM = {fmt(reg.QM, 'stat')} ({fmt_p_eq(reg.QM_pval)}); residual τ² = {fmt(reg.tau2, 'tau2')}"
                        + (f"; R² = {fmt(reg.R2, 'percent')}%." if reg.R2 == reg.R2 else "."))
                frame = reg.to_frame()
                if a.permutations:
                    perm = steps.run(f"meta: {a.name} permutation test", permutation_test, reg,
                                     iterations=a.permutations, seed=a.seed)
                    frame = perm.to_frame()
                    note += (f" Permutation test ({fmt(perm.iterations, 'int')} permutations, seed {perm.seed}): "
                             f"{fmt_p_eq(perm.QM_pval, letter='P (QM)')}.")
                s.table(f"{title}: meta-regression on {', '.join(a.regression)}", _labelled(frame), note=note,
                        supplement=supp)
            except (EstimationError, InputError) as exc:
                s.text(f"Meta-regression on {', '.join(a.regression)}: not estimable ({exc}).")
        if res.excluded:
            logs[f"meta_{i}_excluded"] = pd.DataFrame([e.to_dict() for e in res.excluded])
    if m.check_reported:
        from ..meta.check import check_reported

        r = plan.resolve(m.check_reported, "meta.check_reported")
        if isinstance(r, tuple):
            with datasets.path(r[1]).open(encoding="utf-8") as fh:
                rep_data = pd.read_csv(fh, dtype=str)
            inputs.note("meta.check_reported", m.check_reported)
        else:
            rep_data = pd.read_csv(r, dtype=str)
            inputs.note("meta.check_reported", m.check_reported, r)
        chk = steps.run("meta: reported-statistics check", check_reported, rep_data, source=m.check_reported)
        s = rep.section("Reported-statistics check", mark=bool(rep_data.get("synthetic", pd.Series(["false"])).astype(str)
                                                               .str.lower().isin(["true", "1"]).all()))
        f = chk.to_frame()
        s.text(f"{fmt_n(int((~f['ok']).sum()))} of {fmt_n(len(f))} reported results contradict themselves (estimate outside its CI, "
               "an asymmetric CI, or a p-value the CI cannot give, allowing for rounding).")
        s.table("Reported results, the SE and p they imply, and the problems found",
                _labelled(f[["label", "measure", "estimate", "ci_low", "ci_high", "p_reported", "se_implied", "p_implied",
                             "ok", "problems"]]), supplement=True)


def _supplementary_meta(rep: Report, main: pd.DataFrame, all_blocks: dict, m, steps: _Steps, synthetic: bool):
    """Subgroup and leave-one-out tables for every outcome × time point with enough studies (Tables S1–S6 of
    Liu et al. 2022), each outcome's subgroup table followed by its sensitivity table."""
    from .figures_meta import time_label
    from .meta_tables import MIN_K_SENSITIVITY, MIN_K_SUBGROUP, sensitivity_table, subgroup_columns, subgroup_table

    by = subgroup_columns(main, outcome_col=m.outcome_col, time_col=m.time_col)
    s = rep.section("Meta-analysis: subgroup and sensitivity analyses per outcome and time point", mark=synthetic)
    s.text(f"Every outcome is analysed at every time point with at least {MIN_K_SUBGROUP} studies by "
           + (", ".join(b.replace("_", " ") for b in by) if by else "no subgroup variable (the extraction table has none)")
           + f", and with each study left out in turn at every time point with at least {MIN_K_SENSITIVITY} studies "
             "(supplementary tables, as the review's Tables S1–S6).")
    for outcome, blocks in all_blocks.items():
        label = outcome[:1].upper() + outcome[1:]
        if by:
            tab, notes = steps.run(f"meta: {outcome} subgroups per time point", subgroup_table, blocks, by,
                                   time_label=time_label)
            if len(tab):
                s.table(f"Results of subgroup analyses of the effect of treatment on {label}", tab,
                        kinds={"Studies (k)": "int"}, supplement=True,
                        note="Separate τ² per subgroup, the time point's model; P (subgroup difference): Q test "
                             "between subgroups. " + " ".join(notes))
        tab, sentences = steps.run(f"meta: {outcome} leave-one-out per time point", sensitivity_table, blocks,
                                   time_label=time_label)
        if len(tab):
            s.table(f"Results of sensitivity analyses (leave-one-out) of the effect of treatment on {label}", tab,
                    kinds={"Studies (k)": "int"}, supplement=True,
                    note="Each row: the time point's analysis without the study named. "
                         + " ".join(f"{x.split(': ', 1)[0]}: {x.split(': ', 1)[1][:1].lower()}{x.split(': ', 1)[1][1:]}"
                                    for x in sentences))


# ---------------------------------------------------------------- the run


def run_plan(plan, out, *, quiet: bool = False, min_cell: int = 0, private=None, points: bool = False) -> RunResult:
    """Run a plan (a :class:`Plan` or a path) and write the report into ``out``.

    Parameters
    ----------
    min_cell : int
        Counts of patients below this (but above 0) are shown as ``<min_cell``
        in tables and not drawn in figures (0 = no suppression).
    private : path, optional
        Folder for patient-level logs (the cohort exclusion log with person ids
        and raw values). Default: ``OUT.private`` next to the report folder, so
        the report folder itself can be shared.
    points : bool
        Draw single-patient values in figures (off by default).

    Everything is written into a temporary folder next to ``out`` and moved
    into place only when every file is written; a re-run replaces the
    previous report, and ``manifest.json`` lists exactly the files present.
    """
    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 0:
        raise InputError(f"--min-cell must be a whole number ≥ 0, got {min_cell!r}")
    out = Path(out)
    private = Path(private) if private is not None else out.with_name(out.name + ".private")
    _check_writable(out)
    _check_writable(private)
    parts = [p for p in ("cohort", "review", "meta") if plan.get(p)]
    steps = _Steps(None, quiet)
    inputs = _Inputs(plan)
    logs: dict = {}
    opts = {"min_cell": min_cell, "points": points,
            "private_note": "Every exclusion is listed in the patient-level log kept outside the report folder "
                            f"({private.name}/cohort_exclusions.csv)."}
    t0 = time.perf_counter()
    rep = Report(plan.title, subtitle=plan.get("subtitle", default=""))
    tmp = None
    try:
        if "cohort" in parts:
            _cohort(plan, rep, steps, inputs, logs, opts)
        if "review" in parts:
            _review(plan, rep, steps, inputs, logs)
        if not (plan.spec.review and plan.spec.review.rob):
            rob, rob_path = _project_rob(plan)  # the workbench export's own judgements, when present
            if isinstance(rob, InputError):
                rep.section("Systematic review: risk of bias", mark=False).text(
                    f"The review team's judgements ({rob_path.name}) could not be used: {rob}.")
            elif rob is not None:
                inputs.note("risk_of_bias.csv", rob_path.name, rob_path)
                _rob_section(rep, rob, illustrative=False, source=rob_path.name)
        if "meta" in parts:
            _meta(plan, rep, steps, inputs, logs)
        rep.synthetic = inputs.synthetic
        if rep.synthetic and "SYNTHETIC" not in rep.title.upper():
            rep.title = f"{rep.title} (SYNTHETIC DATA)"
        # everything computed: now write, into a temporary folder first
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        except OSError as exc:
            raise InputError(f"cannot create the report folder: {exc.strerror}", file=out) from None
        steps.run("write figures", rep.write_figures, tmp / "figures")
        steps.run("write report.html", rep.write_html, tmp / "report.html")
        steps.run("write report.docx", rep.write_docx, tmp / "report.docx")
        steps.run("write tables.xlsx", rep.write_xlsx, tmp / "tables.xlsx")
        patient_logs = {k: v for k, v in logs.items() if k.startswith("cohort")}
        shareable = {k: v for k, v in logs.items() if k not in patient_logs}
        if shareable:
            (tmp / "exclusions").mkdir()
            for name, frame in shareable.items():
                frame.to_csv(tmp / "exclusions" / f"{name}.csv", index=False)
        if Path(plan.source).is_file():
            shutil.copyfile(plan.source, tmp / "plan.toml")
        manifest = {
            "hepatostat": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": " ".join(sys.argv),
            "plan": {"path": plan.source, "sha256": _sha256(Path(plan.source)) if Path(plan.source).is_file() else None},
            "synthetic": inputs.synthetic,
            "inputs": inputs.used,
            "options": {"min_cell": min_cell, "points": points},
            "seeds": {f"meta.analysis[{i}]": a.seed for i, a in enumerate(plan.spec.meta.analysis if plan.spec.meta else (), 1)
                      if a.permutations},
            "versions": _versions(),
            "platform": platform.platform(),
            "timings_seconds": {**steps.timings, "total": round(time.perf_counter() - t0, 3)},
            "files": sorted(str(f.relative_to(tmp)).replace("\\", "/") for f in tmp.rglob("*") if f.is_file()),
            "private_files": [],
        }
        if patient_logs:
            ptmp = Path(tempfile.mkdtemp(prefix=f".{private.name}.tmp-", dir=private.parent if private.parent.exists() else out.parent))
            for name, frame in patient_logs.items():
                frame.to_csv(ptmp / f"{name}.csv", index=False)
            manifest["private_files"] = [f"{private.name}/{name}.csv" for name in patient_logs]
            _replace(ptmp, private)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        _replace(tmp, out)
        tmp = None
    except OSError as exc:
        raise InputError(f"cannot write the report: {exc.strerror or exc}", file=getattr(exc, "filename", None) or out) from None
    finally:
        steps.close()
        rep.close_figures()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    files = [str(out / f) for f in manifest["files"]] + [str(private.parent / f) for f in manifest["private_files"]]
    return RunResult(out=out, files=files, timings=manifest["timings_seconds"], synthetic=inputs.synthetic, report=rep)


def _check_writable(path: Path) -> None:
    """The report folder can be made: no file in its place or above it."""
    for p in [path, *path.parents]:
        if p.exists():
            if not p.is_dir():
                what = "is a file" if p == path else f"lies below the file {p}"
                raise InputError(f"cannot write the report folder here: it {what}; give a folder path", file=path)
            if not os.access(p, os.W_OK | os.X_OK):
                raise InputError(f"cannot write the report folder: no write permission in {p}", file=path)
            return


def _replace(tmp: Path, dest: Path) -> None:
    """Move the finished folder ``tmp`` to ``dest``, replacing what was there."""
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
