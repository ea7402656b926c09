"""Run an analysis plan and write the report (``hepatostat run PLAN --out DIR``).

Everything is computed in memory first; files are written only when every
step has run, so a failing plan leaves no partial report. A single analysis
that cannot be estimated (e.g. too few studies) does not stop the run: the
report shows it as not estimable, with the reason.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import sys
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
            return datasets.load(r[1])
        from ..io import read_table

        self.note(key, value, r)
        return read_table(r)


# ---------------------------------------------------------------- cohort


def _cohort(plan: Plan, rep: Report, steps: _Steps, inputs: _Inputs, logs: dict):
    from .. import cohort as co

    c = plan.get("cohort")
    src = plan.resolve(c["source"], "cohort.source")
    if isinstance(src, tuple):
        if src[1] != "synthetic_cohort":
            raise InputError(f"plan key 'cohort.source': bundled:{src[1]} is not a cohort; use bundled:synthetic_cohort",
                             file=plan.source)
        from ..datasets import synthetic_cohort

        data = steps.run("cohort: read data", synthetic_cohort.load_cohort)
        inputs.note("cohort.source", c["source"], synthetic=True)
    else:
        data = steps.run("cohort: read data", co.read_cohort, src)
        inputs.note("cohort.source", c["source"], src)
    crit = c["criteria"]
    spec = co.load_criteria(plan.resolve(crit, "cohort.criteria") if crit.endswith(".toml") else crit)
    built = steps.run("cohort: eligibility, groups, visits", co.build_cohort, data, spec)
    outcomes = c.get("outcomes", ["alt", "ast", "bilirubin", "pta", "meld"])
    pairs = [tuple(p) for p in c.get("pairs", [["A", "B"], ["C", "D"], ["A", "C"], ["B", "D"]])]
    long = built.visits.to_frame("long")
    wide = built.visits.to_frame("wide")
    logs["cohort_exclusions"] = built.exclusions if isinstance(built.exclusions, pd.DataFrame) else pd.DataFrame(built.exclusions)

    s = rep.section("Cohort study: eligibility and attrition")
    att = built.attrition.to_frame()
    s.text(f"{int(att.iloc[0]['n_before']) if 'n_before' in att.columns else ''} patients were screened against "
           f"the criteria '{spec.title if hasattr(spec, 'title') else crit}'; "
           f"{len(wide)} were analysed. Every exclusion is listed in exclusions/cohort_exclusions.csv.")
    s.table("Attrition: patients before and after each criterion", att, raw=False)
    s.figure("Flow of patients through the eligibility criteria", built.attrition.plot())

    s = rep.section("Cohort study: baseline characteristics (Tables 1 and 2)")
    variables = c.get("table1_variables", ["age", "sex"] + [f"{o}_W0" for o in outcomes])
    categorical = c.get("table1_categorical", ["sex"])
    t1 = steps.run("cohort: Table 1", co.table1, wide, "group", variables=variables, categorical=categorical)
    s.table("Baseline characteristics by group (Table 1)", t1.to_frame(), raw=True,
            note="Shapiro-Wilk in every group decides mean ± SD with t test/ANOVA or median (Q1-Q3) with "
                 "Mann-Whitney/Kruskal-Wallis; χ² or Fisher's exact test for categories; quartiles by SPSS's definition.")
    t2pairs = [tuple(p) for p in c.get("table2_pairs", [["A", "C"], ["B", "D"]])]
    t2 = steps.run("cohort: Table 2", co.table2, wide, "group", pairs=t2pairs, variables=variables, categorical=categorical)
    s.table("Baseline characteristics for pairs of groups (Table 2)", t2.to_frame(), raw=True)

    s = rep.section("Cohort study: changes over time (Table 3, Figures 1-3)")
    ot = steps.run("cohort: within-group change over time", co.over_time, long, outcomes)
    s.table("Within-group change over the visits: Friedman test and Wilcoxon signed-rank against baseline (Holm)",
            ot.to_frame())
    s.figure("Values by week and group (Figure 1)", co.plot_over_time(ot))
    ch = steps.run("cohort: declines between groups (Table 3)", co.changes, long, outcomes, pairs=pairs)
    s.table("Interval and cumulative declines (earlier minus later) by group, with pairwise p-values (Table 3)",
            ch.to_frame(), raw=True)
    for o in outcomes:
        s.figure(f"{o}: median interval declines by group (Figure 2)", co.plot_declines(ch, o, kind="interval"))
        s.figure(f"{o}: median cumulative declines by group (Figure 3)", co.plot_declines(ch, o, kind="cumulative"))

    if c.get("mixed_model", False) or c.get("ancova", False) or c.get("ipw"):
        s = rep.section("Cohort study: adjusted analyses")
        s.text("Beyond the seed study's unadjusted tests: a linear mixed model of each outcome over time, ANCOVA of "
               "the change adjusted for baseline, and inverse-probability weighting for groups unbalanced at baseline.")
    if c.get("mixed_model", False):
        for o in outcomes:
            frame = long[long["outcome"] == o].rename(columns={"value": o})
            try:
                mm = steps.run(f"cohort: mixed model {o}", co.mixed_model, frame, o)
                s.table(f"{o}: linear mixed model, {o} ~ group × week, random intercept per patient (REML)", mm.to_frame())
            except EstimationError as exc:
                s.text(f"{o}: mixed model not estimable ({exc}).")
    if c.get("ancova", False):
        last = f"W{int(max(built.visits.weeks))}" if hasattr(built.visits, "weeks") else "W24"
        for o in outcomes:
            try:
                an = steps.run(f"cohort: ANCOVA {o}", co.ancova, wide, f"{o}_{last}", f"{o}_W0", "group")
                s.table(f"{o}: ANCOVA of the decline from W0 to {last}, adjusted for baseline", an.to_frame())
            except (EstimationError, InputError) as exc:
                s.text(f"{o}: ANCOVA not estimable ({exc}).")
    ipw_cfg = c.get("ipw")
    if ipw_cfg:
        sub = wide[wide["group"].isin([ipw_cfg["treated"], ipw_cfg["control"]])]
        res = steps.run("cohort: inverse-probability weighting", co.ipw, sub, "group", ipw_cfg["outcome"],
                        ipw_cfg["covariates"], treated=ipw_cfg["treated"])
        s.table(f"Balance before and after inverse-probability weighting, {ipw_cfg['treated']} vs {ipw_cfg['control']} "
                "(standardised mean differences)", res.to_frame())
        s.text(res.summary().splitlines()[-2] if len(res.summary().splitlines()) > 1 else res.summary())
        s.figure("Covariate balance before and after weighting", co.plot_balance(res))


# ---------------------------------------------------------------- review


def _review(plan: Plan, rep: Report, steps: _Steps, inputs: _Inputs, logs: dict):
    from .. import review as rv

    r = plan.get("review")
    examples = {p.stem: p for p in rv.example_paths()}
    if r.get("records"):
        paths = []
        for i, rec in enumerate(r["records"], 1):
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
        s = rep.section("Systematic review: search records and de-duplication")
        s.text(dd.summary().splitlines()[0])
        per_file = pd.DataFrame([f.to_dict() for f in rs.files])
        if "file" in per_file.columns:
            per_file["file"] = per_file["file"].map(lambda f: Path(str(f)).name)
        s.table("Records per file", per_file)
        frame = dd.to_frame()
        if "cluster" in frame.columns:
            sizes = frame["cluster"].map(frame["cluster"].value_counts())
            frame = frame[sizes > 1].sort_values(["cluster", "kept"], ascending=[True, False])
        if "title" in frame.columns:
            frame = frame.assign(title=frame["title"].map(lambda t: t if len(str(t)) <= 80 else str(t)[:77] + "..."))
        s.table("Duplicate clusters (kept record first) and why they matched", frame,
                note="Uncertain pairs are listed for a person to decide, not merged; the full table is in "
                     "exclusions/review_duplicates.csv.")
        logs["review_duplicates"] = dd.to_frame()
    if r.get("prisma"):
        res = plan.resolve(r["prisma"], "review.prisma")
        if isinstance(res, tuple):
            flow = rv.liu2022_prisma()
            inputs.note("review.prisma", r["prisma"])
        else:
            flow = rv.prisma_flow(res)
            inputs.note("review.prisma", r["prisma"], res)
        s = rep.section("Systematic review: PRISMA 2020 flow")
        s.table("PRISMA 2020 flow: records and reports at each step", flow.to_frame())
        s.figure("PRISMA 2020 flow diagram", flow.plot())
    if r.get("rob"):
        res = plan.resolve(r["rob"], "review.rob")
        tool = r.get("rob_tool")
        if isinstance(res, tuple):
            rob = rv.example_rob(tool or ("rob2" if res[1].endswith("rob2") else "rob1"))
            inputs.note("review.rob", r["rob"])
        else:
            rob = rv.read_rob(res, tool=tool)
            inputs.note("review.rob", r["rob"], res)
        s = rep.section("Systematic review: risk of bias")
        if getattr(rob, "label", None):
            s.text(str(rob.label))
        s.table("Risk-of-bias judgements per study and domain", rob.to_frame())
        s.figure("Risk of bias: traffic-light plot", rob.plot_traffic_light())
        s.figure("Risk of bias: summary across studies", rob.plot_summary())
    if r.get("characteristics"):
        res = plan.resolve(r["characteristics"], "review.characteristics")
        frame = rv.load_liu2022() if isinstance(res, tuple) else pd.read_csv(res)
        inputs.note("review.characteristics", r["characteristics"], None if isinstance(res, tuple) else res)
        cols = [c for c in ("year", "author", "country", "liver_disease", "etiology", "cell_type", "dose",
                            "injections_text", "route", "n_exp", "n_con", "age_exp", "age_con", "follow_up",
                            "adverse_event") if c in frame.columns]
        s = rep.section("Systematic review: characteristics of the included trials")
        s.table("Characteristics of the included randomised trials (Table 1 of Liu et al. 2022)"
                if isinstance(res, tuple) else "Characteristics of the included trials", frame[cols] if cols else frame)


# ---------------------------------------------------------------- meta-analysis


def _meta(plan: Plan, rep: Report, steps: _Steps, inputs: _Inputs, logs: dict):
    from .. import meta
    from ..meta.bias import publication_bias
    from ..meta.outcomes import outcome_table
    from ..meta.plots import baujat_plot
    from ..meta.regression import meta_regression, permutation_test
    from ..meta.sensitivity import baujat, influence, leave_one_out
    from ..meta.subgroup import subgroup_analysis

    m = plan.get("meta")
    ocol, tcol = m.get("outcome_col", "outcome"), m.get("time_col", "timepoint")
    main = inputs.table("meta.data", m["data"]) if "data" in m else None
    if main is not None and m.get("outcomes_table", True) and ocol in main.columns and tcol in main.columns:
        tab = steps.run("meta: every outcome × time point", outcome_table, main, m.get("measure"), m.get("method", "auto"),
                        outcome=ocol, timepoint=tcol, baseline=m.get("baseline"), source=str(m["data"]))
        s = rep.section("Meta-analysis: outcomes and time points")
        s.text("Each outcome at each time point is pooled on its own. Model: "
               + ("the review's rule (random effects when Cochran's Q p < 0.10 or I² > 50%, else fixed effect)"
                  if m.get("method", "auto").upper() == "AUTO" else m.get("method")) + ".")
        s.table("Pooled results per outcome and time point (ratios exponentiated)", tab.to_frame().drop(columns=["note"]),
                note="flag: later time points of an outcome whose groups already differed at baseline are not comparable.")
        for sentence in tab.sentences():
            s.text(sentence)
    for i, a in enumerate(m.get("analysis", []), 1):
        key = f"meta.analysis[{i}]"
        data = inputs.table(f"{key}.data", a["data"]) if "data" in a else main
        if "outcome" in a:
            data = data[data[ocol].astype(str) == str(a["outcome"])]
        if "timepoint" in a:
            data = data[data[tcol].astype(str) == str(a["timepoint"])]
        measure = a.get("measure") or m.get("measure")
        if measure is None and "measure" in data.columns and data["measure"].nunique() == 1:
            measure = str(data["measure"].iloc[0])
        if measure is None:
            raise InputError(f"plan key '{key}.measure' is missing (no measure column either)", file=plan.source)
        method = a.get("method", m.get("method", "auto"))
        title = a.get("title", a["name"])
        s = rep.section(f"Meta-analysis: {a['name']}")
        try:
            es = meta.effects(data, measure, source=a.get("data", m.get("data")))
            res = steps.run(f"meta: {a['name']}", meta.pool, es, method, knha=a.get("knha", False))
        except EstimationError as exc:
            s.text(f"Not estimable: {exc}.")
            continue
        s.text(res.summary().replace("\n", " · "))
        s.table(f"{title}: studies, weights and pooled estimate", res.to_frame())
        fav = tuple(a.get("favours", ["Favours treatment", "Favours control"]))
        if a.get("forest", True):
            s.figure(f"{title}: forest plot", res.plot(title=title, favours=fav))
        for by in a.get("subgroups", []):
            try:
                sg = steps.run(f"meta: {a['name']} by {by}", subgroup_analysis, es, by, res.method, knha=res.knha)
                s.table(f"{title}: subgroups by {by} (separate tau²)", sg.to_frame(),
                        note=f"Test for subgroup differences: Q = {sg.Q_between:.2f}, df = {sg.Q_between_df}, "
                             f"p = {sg.Q_between_pval:.3g}.")
                s.figure(f"{title}: subgroups by {by}", sg.plot(favours=fav))
            except (EstimationError, InputError) as exc:
                s.text(f"Subgroups by {by}: not estimable ({exc}).")
        if a.get("leave_one_out", False) and res.k >= 3:
            loo = steps.run(f"meta: {a['name']} leave-one-out", leave_one_out, res)
            s.table(f"{title}: leave-one-out sensitivity analysis", loo.to_frame())
            for sentence in loo.sentences:
                s.text(sentence)
            s.figure(f"{title}: leave-one-out", loo.plot())
        if a.get("influence", False) and res.method not in ("MH", "PETO") and res.k >= 3:
            inf = influence(res)
            s.table(f"{title}: influence diagnostics (* = influential)", inf.to_frame())
            s.figure(f"{title}: Baujat plot", baujat_plot(baujat(res)))
        if a.get("bias", False) and res.k >= 3:
            b = steps.run(f"meta: {a['name']} publication bias", publication_bias, res)
            s.table(f"{title}: publication bias (Egger, Begg, trim-and-fill)", b.to_frame(),
                    note=" ".join(b.notes))
            s.figure(f"{title}: contour-enhanced funnel plot", b.plot())
        if a.get("regression"):
            try:
                reg = meta_regression(es, a["regression"], method=res.method if res.method not in ("MH", "PETO") else "REML",
                                      knha=res.knha)
                note = (f"QM = {reg.QM:.3f} (p = {reg.QM_pval:.3g}); residual tau² = {reg.tau2:.4g}; R² = "
                        f"{reg.R2:.1f}%." if reg.R2 == reg.R2 else f"QM = {reg.QM:.3f} (p = {reg.QM_pval:.3g}).")
                frame = reg.to_frame()
                if a.get("permutations"):
                    perm = steps.run(f"meta: {a['name']} permutation test", permutation_test, reg,
                                     iterations=a["permutations"], seed=a.get("seed", 1))
                    frame = perm.to_frame()
                    note += f" Permutation test ({perm.iterations} permutations, seed {perm.seed}): QM p = {perm.QM_pval:.3g}."
                s.table(f"{title}: meta-regression on {', '.join(a['regression'])}", frame, note=note)
            except (EstimationError, InputError) as exc:
                s.text(f"Meta-regression on {', '.join(a['regression'])}: not estimable ({exc}).")
        if res.excluded:
            logs[f"meta_{i}_excluded"] = pd.DataFrame([e.to_dict() for e in res.excluded])
    if m.get("check_reported"):
        from ..meta.check import check_reported

        r = plan.resolve(m["check_reported"], "meta.check_reported")
        if isinstance(r, tuple):
            with datasets.path(r[1]).open(encoding="utf-8") as fh:
                rep_data = pd.read_csv(fh, dtype=str)
            inputs.note("meta.check_reported", m["check_reported"])
        else:
            rep_data = pd.read_csv(r, dtype=str)
            inputs.note("meta.check_reported", m["check_reported"], r)
        chk = steps.run("meta: reported-statistics check", check_reported, rep_data, source=m["check_reported"])
        s = rep.section("Reported-statistics check")
        f = chk.to_frame()
        s.text(f"{int((~f['ok']).sum())} of {len(f)} reported results contradict themselves (estimate outside its CI, "
               "an asymmetric CI, or a p-value the CI cannot give, allowing for rounding).")
        s.table("Reported results, the SE and p they imply, and the problems found",
                f[["label", "measure", "estimate", "ci_low", "ci_high", "p_reported", "se_implied", "p_implied", "ok",
                   "problems"]])


# ---------------------------------------------------------------- the run


def run_plan(plan, out, *, quiet: bool = False) -> RunResult:
    """Run a plan (a :class:`Plan` or a path) and write the report into ``out``."""
    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    out = Path(out)
    parts = [p for p in ("cohort", "review", "meta") if plan.get(p)]
    steps = _Steps(None, quiet)
    inputs = _Inputs(plan)
    logs: dict = {}
    t0 = time.perf_counter()
    try:
        rep = Report(plan.title, subtitle=plan.get("subtitle", default=""))
        if "cohort" in parts:
            _cohort(plan, rep, steps, inputs, logs)
        if "review" in parts:
            _review(plan, rep, steps, inputs, logs)
        if "meta" in parts:
            _meta(plan, rep, steps, inputs, logs)
        rep.synthetic = inputs.synthetic
        if rep.synthetic and "SYNTHETIC" not in rep.title.upper():
            rep.title = f"{rep.title} (SYNTHETIC DATA)"
        # everything computed: now write
        out.mkdir(parents=True, exist_ok=True)
        files = steps.run("write figures", rep.write_figures, out / "figures")
        files.append(steps.run("write report.html", rep.write_html, out / "report.html"))
        files.append(steps.run("write report.docx", rep.write_docx, out / "report.docx"))
        files.append(steps.run("write tables.xlsx", rep.write_xlsx, out / "tables.xlsx"))
    finally:
        steps.close()
    if logs:
        (out / "exclusions").mkdir(exist_ok=True)
        for name, frame in logs.items():
            p = out / "exclusions" / f"{name}.csv"
            frame.to_csv(p, index=False)
            files.append(str(p))
    if Path(plan.source).is_file():
        shutil.copyfile(plan.source, out / "plan.toml")
        files.append(str(out / "plan.toml"))
    manifest = {
        "hepatostat": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(sys.argv),
        "plan": {"path": plan.source, "sha256": _sha256(Path(plan.source)) if Path(plan.source).is_file() else None},
        "synthetic": inputs.synthetic,
        "inputs": inputs.used,
        "seeds": {f"meta.analysis[{i}]": a.get("seed", 1) for i, a in enumerate(plan.get("meta", "analysis", default=[]), 1)
                  if a.get("permutations")},
        "versions": _versions(),
        "platform": platform.platform(),
        "timings_seconds": {**steps.timings, "total": round(time.perf_counter() - t0, 3)},
        "files": [str(Path(f).relative_to(out)) if str(f).startswith(str(out)) else str(f) for f in files],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    files.append(str(out / "manifest.json"))
    return RunResult(out=out, files=files, timings=manifest["timings_seconds"], synthetic=inputs.synthetic, report=rep)
