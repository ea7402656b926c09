"""``hepatostat run PLAN``: run an analysis plan and write its report."""

from __future__ import annotations

import click

from .common import emit, format_option


@click.command("run")
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--out", "out", type=click.Path(file_okay=False), default="hepatostat-report", show_default=True,
              help="Folder for report.html, report.docx, tables.xlsx, figures/, exclusions/ and manifest.json.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@format_option
def run_cmd(plan, out, quiet, fmt):
    """Run an analysis plan (TOML) and write the report in HTML, Word and Excel.

    The plan names the inputs and the analyses (cohort study, review workflow,
    meta-analyses); see docs/plans.md and the bundled plans under
    hepatostat/report/plans/. Inputs are checked before anything runs, and
    nothing is written unless every step succeeds.

    \b
    Example:
      hepatostat run review.toml --out review-report
    """
    from ..report.runner import run_plan

    res = run_plan(plan, out, quiet=quiet or fmt != "table")
    obj = {"out": str(res.out.resolve()), "synthetic": res.synthetic, "files": res.files, "timings": res.timings}
    import pandas as pd

    emit(fmt, obj=obj, frame=lambda: pd.DataFrame({"file": res.files}), text=res.summary)
