"""The demonstration run behind ``hepatostat demo``.

Runs the bundled analysis plans on bundled data and writes one report per
plan:

- ``cohort/``: the retrospective cohort study of Jia et al. 2020 on the
  SYNTHETIC cohort (eligibility and attrition flow, Tables 1-3, Figures 1-3,
  MELD from correctly converted units, mixed models, ANCOVA, IPW);
- ``review/``: the systematic review of Liu et al. 2022: example search
  exports, de-duplication, the review's PRISMA counts and Table 1, an example
  risk-of-bias table, meta-analyses per outcome and time point on a SYNTHETIC
  extraction table, subgroups, leave-one-out, publication bias, the BCG trials
  (published data, cited) with meta-regression and a permutation test, and the
  check of the review's own printed results.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import click

__all__ = ["DEMO_PLANS", "run_demo"]

#: (folder, bundled plan)
DEMO_PLANS = (("cohort", "cohort_jia2020.toml"), ("review", "review_liu2022.toml"))


def run_demo(out, *, echo: bool = True, quiet: bool = False) -> dict:
    """Run the bundled plans into ``out``; return where the reports are."""
    from .runner import run_plan

    out = Path(out)
    t0 = time.perf_counter()
    reports = []
    for folder, name in DEMO_PLANS:
        with resources.as_file(resources.files("hepatostat.report").joinpath("plans", name)) as plan:
            if echo:
                click.echo(f"Running {name} ...", err=True)
            res = run_plan(plan, out / folder, quiet=quiet)
        reports.append({"plan": name, "out": str(res.out.resolve()), "synthetic": res.synthetic,
                        "report": str((res.out / "report.html").resolve()), "seconds": res.timings.get("total")})
        if echo:
            click.echo(res.summary())
    elapsed = time.perf_counter() - t0
    if echo:
        click.echo(f"\nDemo finished in {elapsed:.1f} s. Open the reports:")
        for r in reports:
            click.echo(f"  {r['report']}" + ("   (SYNTHETIC data)" if r["synthetic"] else ""))
    return {"out": str(out.resolve()), "seconds": elapsed, "reports": reports}
