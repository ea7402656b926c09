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


def run_demo(out, *, echo: bool = True, quiet: bool = False, min_cell: int = 0, points: bool = False) -> dict:
    """Run the bundled plans into ``out``; return where the reports are.

    Both reports are written into a temporary folder next to ``out`` and
    moved into place together, so ``out`` never holds half a demo; a re-run
    replaces the previous demo. The cohort's patient-level exclusion log goes
    to ``out/cohort.private/``, outside the shareable ``out/cohort/``.
    """
    import shutil
    import tempfile

    from ..errors import InputError
    from .runner import _check_writable, _replace, run_plan

    out = Path(out)
    _check_writable(out)
    t0 = time.perf_counter()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as exc:
        raise InputError(f"cannot create the demo folder: {exc.strerror}", file=out) from None
    reports = []
    try:
        for folder, name in DEMO_PLANS:
            with resources.as_file(resources.files("hepatostat.report").joinpath("plans", name)) as plan:
                if echo:
                    click.echo(f"Running {name} ...", err=True)
                res = run_plan(plan, tmp / folder, quiet=quiet, min_cell=min_cell, points=points)
            reports.append({"plan": name, "folder": folder, "synthetic": res.synthetic, "seconds": res.timings.get("total"),
                            "files": len(res.files)})
        project = _workbench_project(tmp / "workbench")
        _replace(tmp, out)
        tmp = None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    for r in reports:
        r["out"] = str((out / r["folder"]).resolve())
        r["report"] = str((out / r["folder"] / "report.html").resolve())
    project = out / "workbench" / project.name
    elapsed = time.perf_counter() - t0
    if echo:
        for r in reports:
            click.echo(f"Report written to {r['out']}: report.html, report.docx, tables.xlsx, figures/, manifest.json")
        from ..io.format import fmt_seconds

        click.echo(f"\nDemo finished in {fmt_seconds(elapsed)}. Open the reports:")
        for r in reports:
            click.echo(f"  {r['report']}" + ("   (SYNTHETIC data)" if r["synthetic"] else ""))
        click.echo("\nScreen and extract the example search records in the browser (the review team's workbench):")
        click.echo(f"  hepatostat workbench {project}")
    return {"out": str(out.resolve()), "seconds": elapsed, "reports": reports, "workbench": str(project.resolve())}


def _workbench_project(folder: Path) -> Path:
    """A screening project made from the bundled EXAMPLE search exports, for ``hepatostat workbench``.

    The records are de-duplicated on the way in (as ``review init`` does); no account exists
    yet, so the first visit from this machine creates the owner.
    """
    from ..review.screening import create_project

    folder.mkdir(parents=True, exist_ok=True)
    files = resources.files("hepatostat.review").joinpath("data")
    names = ("example_pubmed.nbib", "example_embase.ris", "example_wos.bib")
    with resources.as_file(files) as data:
        project = create_project(folder / "example_review.duckdb", [Path(data) / n for n in names],
                                 database=dict(zip(names, ("PubMed", "Embase", "Web of Science"))))
    return Path(project.path)
