"""The demonstration run behind ``hepatostat demo``.

It grows as capabilities land. Now:

1. meta-analyses of bundled, published aggregate data sets (BCG vaccine
   trials, specialist stroke care), with forest plots, a meta-regression,
   subgroups, leave-one-out, influence and publication-bias checks;
2. a review in the shape of Liu et al. 2022 on a SYNTHETIC extraction table
   (outcomes × time points with the review's model rule and baseline check,
   subgroups, leave-one-out, funnel plot and bias tests);
3. the reported-statistics check of the review's own printed results.

Every analysis is written as JSON, CSV and text, with its figures as PNG and
SVG; ``README.txt`` indexes what was written.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from .. import __version__, datasets, meta
from ..cli.common import _clean

__all__ = ["DEMO_ANALYSES", "run_demo"]

#: (name, data set, measure, method, options, title)
DEMO_ANALYSES = (
    ("bcg_rr_reml", "bcg", "RR", "REML", {}, "BCG vaccine and tuberculosis: risk ratio, random effects (REML)"),
    ("bcg_or_mh", "bcg", "OR", "MH", {}, "BCG vaccine and tuberculosis: odds ratio, Mantel-Haenszel"),
    ("normand_smd_auto", "normand1999", "SMD", "AUTO", {}, "Specialist stroke care and length of stay: SMD, model by the review's rule"),
    ("normand_md_knha", "normand1999", "MD", "REML", {"knha": True}, "Specialist stroke care and length of stay (days): MD, REML with Knapp-Hartung"),
)


class _Writer:
    """Writes one analysis's JSON/CSV/text and keeps the index and summary."""

    def __init__(self, out: Path, echo: bool):
        self.out = out
        self.echo = echo
        self.index: list[str] = [f"hepatostat {__version__} demo", ""]
        self.entries: list[dict] = []

    def section(self, title: str) -> None:
        self.index += ["", f"## {title}", ""]
        if self.echo:
            click.echo("#" * 78)
            click.echo(f"# {title}")
            click.echo("#" * 78)

    def write(self, name: str, title: str, obj, frame, text: str, *, figures=(), source=None, summary=None) -> None:
        base = self.out / name
        payload = {"title": title, "data": source, "result": obj}
        base.with_suffix(".json").write_text(json.dumps(_clean(payload), indent=2, ensure_ascii=False), encoding="utf-8")
        if frame is not None:
            frame.to_csv(base.with_suffix(".csv"), index=False)
        header = f"{title}\n"
        if source:
            header += f"Data: {source.get('title', '')}\nSource: {source.get('citation', '')}\n"
        full = f"{header}\n{text}\n"
        base.with_suffix(".txt").write_text(full, encoding="utf-8")
        files = [f"{name}.json"] + ([f"{name}.csv"] if frame is not None else []) + [f"{name}.txt"]
        for fig_name in figures:
            files += [f"{fig_name}.png", f"{fig_name}.svg"]
        self.index += [title, f"  files: {', '.join(files)}"]
        if source:
            self.index.append(f"  data: {source.get('citation', '')}")
        self.index.append("")
        entry = {"name": name, "title": title, "files": [str(self.out / f) for f in files]}
        entry.update(summary or {})
        self.entries.append(entry)
        if self.echo:
            click.echo("=" * 78)
            click.echo(full)

    def figure(self, fig, name: str) -> None:
        import matplotlib.pyplot as plt

        from ..meta.plots import save_figure

        save_figure(fig, self.out / name)
        plt.close(fig)


def _pool_summary(res):
    ex = res.exp()
    return {"measure": res.measure, "method": res.method, "k": res.k, "estimate": res.estimate,
            "ci_low": res.ci_low, "ci_high": res.ci_high, "exp_estimate": ex["estimate"] if ex else None,
            "I2": res.I2, "model_rule": res.model_rule}


def _published(w: _Writer) -> None:
    from ..meta.bias import publication_bias
    from ..meta.plots import baujat_plot
    from ..meta.regression import meta_regression, permutation_test
    from ..meta.sensitivity import baujat, influence, leave_one_out
    from ..meta.subgroup import subgroup_analysis

    w.section("Meta-analyses of published aggregate data")
    for name, ds, measure, method, opts, title in DEMO_ANALYSES:
        info = datasets.info(ds)
        es = meta.effects(datasets.load(ds), measure, source=f"bundled:{ds}")
        res = meta.pool(es, method, **opts)
        w.figure(res.plot(title=title), f"{name}_forest")
        w.write(name, title, res.to_dict(), res.to_frame(), res.summary(), figures=[f"{name}_forest"], source=info,
                summary=_pool_summary(res))

    info = datasets.info("bcg")
    es = meta.effects(datasets.load("bcg"), "RR", source="bundled:bcg")
    res = meta.pool(es, "REML")
    reg = meta_regression(es, ["ablat"], method="REML", knha=True)
    perm = permutation_test(reg, iterations=1000, seed=2026)
    w.write("bcg_regression_ablat", "BCG: meta-regression on absolute latitude (REML, Knapp-Hartung) with a permutation test",
            {**reg.to_dict(), "permutation": perm.to_dict()}, perm.to_frame(), reg.summary() + "\n" + perm.summary(),
            source=info, summary={"R2": reg.R2, "QMp": reg.QM_pval, "QMp_perm": perm.QM_pval})
    sg = subgroup_analysis(es, "alloc", "REML")
    w.figure(sg.plot(), "bcg_subgroup_alloc_forest")
    w.write("bcg_subgroup_alloc", "BCG: subgroups by treatment allocation (REML, separate tau²)", sg.to_dict(),
            sg.to_frame(), sg.summary(), figures=["bcg_subgroup_alloc_forest"], source=info,
            summary={"Q_between": sg.Q_between, "Q_between_pval": sg.Q_between_pval})
    loo = leave_one_out(res)
    w.figure(loo.plot(), "bcg_loo_forest")
    w.write("bcg_loo", "BCG: leave-one-out sensitivity analysis (REML)", loo.to_dict(), loo.to_frame(), loo.summary(),
            figures=["bcg_loo_forest"], source=info)
    inf = influence(res)
    w.figure(baujat_plot(baujat(res), title="BCG: Baujat plot (REML)"), "bcg_baujat")
    w.write("bcg_influence", "BCG: influence diagnostics (REML)", inf.to_dict(), inf.to_frame(), inf.summary(),
            figures=["bcg_baujat"], source=info)
    bias = publication_bias(res)
    w.figure(bias.plot(title="BCG: contour-enhanced funnel plot with trim-and-fill"), "bcg_funnel")
    w.write("bcg_bias", "BCG: publication bias (Egger, Begg, trim-and-fill)", bias.to_dict(), bias.to_frame(),
            bias.summary(), figures=["bcg_funnel"], source=info,
            summary={"egger_p": bias.egger.pval, "begg_p": bias.begg.pval, "k0": bias.trimfill.k0})


def _synthetic_review(w: _Writer) -> None:
    from ..meta.bias import publication_bias
    from ..meta.outcomes import outcome_table
    from ..meta.sensitivity import leave_one_out
    from ..meta.subgroup import subgroup_analysis

    w.section("SYNTHETIC review in the shape of Liu et al. 2022 (invented trials, not real data)")
    info = datasets.info("synthetic_msc_trials_long")
    data = datasets.load("synthetic_msc_trials_long")
    tab = outcome_table(data, method="auto", source="bundled:synthetic_msc_trials_long")
    w.write("synthetic_review_outcomes", "SYNTHETIC data: every outcome × time point, model by the review's rule",
            tab.to_dict(), tab.to_frame(), tab.summary(), source=info)
    meld24 = data[(data["outcome"] == "MELD") & (data["timepoint"] == "W24")]
    es = meta.effects(meld24, "SMD", source="bundled:synthetic_msc_trials_long")
    res = meta.pool(es, "auto")
    title = "SYNTHETIC data: MELD at week 24 (SMD)"
    w.figure(res.plot(title=title, favours=("Favours MSC", "Favours control")), "synthetic_meld_w24_forest")
    w.write("synthetic_meld_w24", title, res.to_dict(), res.to_frame(), res.summary(),
            figures=["synthetic_meld_w24_forest"], source=info, summary=_pool_summary(res))
    sg = subgroup_analysis(es, "disease", res.method)
    w.figure(sg.plot(title="SYNTHETIC data: MELD week 24 by disease"), "synthetic_meld_w24_subgroup_forest")
    w.write("synthetic_meld_w24_subgroup", "SYNTHETIC data: MELD week 24, subgroups by disease (ACLF vs cirrhosis)",
            sg.to_dict(), sg.to_frame(), sg.summary(), figures=["synthetic_meld_w24_subgroup_forest"], source=info)
    loo = leave_one_out(res)
    w.figure(loo.plot(title="SYNTHETIC data: MELD week 24, leave-one-out"), "synthetic_meld_w24_loo_forest")
    w.write("synthetic_meld_w24_loo", "SYNTHETIC data: MELD week 24, leave-one-out sensitivity", loo.to_dict(),
            loo.to_frame(), loo.summary(), figures=["synthetic_meld_w24_loo_forest"], source=info)
    alb12 = data[(data["outcome"] == "ALB") & (data["timepoint"] == "W12")]
    res_alb = meta.pool(meta.effects(alb12, "SMD"), "auto")
    bias = publication_bias(res_alb)
    w.figure(bias.plot(title="SYNTHETIC data: ALB week 12 funnel plot"), "synthetic_alb_w12_funnel")
    w.write("synthetic_alb_w12_bias", "SYNTHETIC data: ALB week 12, publication bias", bias.to_dict(), bias.to_frame(),
            bias.summary(), figures=["synthetic_alb_w12_funnel"], source=info)


def _reported(w: _Writer) -> None:
    import pandas as pd

    from ..meta.check import check_reported

    w.section("Reported-statistics check of the review's printed results")
    info = datasets.info("liu2022_reported")
    with datasets.path("liu2022_reported").open(encoding="utf-8") as fh:
        data = pd.read_csv(fh, dtype=str)
    chk = check_reported(data, source="bundled:liu2022_reported")
    w.write("liu2022_check_reported", "Liu et al. 2022: do the printed estimates, CIs and p-values agree?",
            chk.to_dict(), chk.to_frame(), chk.summary(), source=info,
            summary={"n": len(chk.frame), "n_flagged": int((~chk.frame["ok"]).sum())})


def run_demo(out, *, echo: bool = True) -> dict:
    """Run the demo analyses, write their results under ``out``.

    Returns a dictionary with one entry per analysis (name, files, key numbers).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    w = _Writer(out, echo)
    _published(w)
    _synthetic_review(w)
    _reported(w)
    (out / "README.txt").write_text("\n".join(w.index), encoding="utf-8")
    elapsed = time.perf_counter() - t0
    if echo:
        click.echo("=" * 78)
        click.echo(f"Wrote {len(w.entries)} analyses (JSON, CSV, text, figures as PNG and SVG) to {out.resolve()} "
                   f"in {elapsed:.1f} s")
        click.echo(f"Index: {(out / 'README.txt').resolve()}")
    return {"out": str(out.resolve()), "seconds": elapsed, "analyses": w.entries}
