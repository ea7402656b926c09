"""``hepatostat run PLAN``: run an analysis plan and write its report."""

from __future__ import annotations

import click

from .common import OutputPath, emit, format_option


@click.command("run")
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--out", "out", type=OutputPath(folder=True), default="hepatostat-report", show_default=True,
              help="Folder for report.html, report.docx, tables.xlsx, figures/, exclusions/ and manifest.json.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--min-cell", "min_cell", type=click.IntRange(min=0), default=0, show_default=True,
              help="Show patient counts below N as '<N' in tables and leave them out of figures (0 = off).")
@click.option("--private", "private", type=OutputPath(folder=True), default=None,
              help="Folder for patient-level logs (default: OUT.private, next to the report folder).")
@click.option("--points", is_flag=True, help="Draw single-patient values in figures (off: privacy).")
@format_option
def run_cmd(plan, out, quiet, min_cell, private, points, fmt):
    """Run an analysis plan (TOML) and write the report in HTML, Word and Excel.

    The plan names the inputs and the analyses (cohort study, review workflow,
    meta-analyses); see docs/plans.md and the bundled plans under
    hepatostat/report/plans/. Inputs are checked before anything runs, and
    nothing is written unless every step succeeds: the report is built in a
    temporary folder and moved into place (a re-run replaces it). Patient-level
    logs go to OUT.private (or --private), not into the shareable folder.

    \b
    Example:
      hepatostat run review.toml --out review-report
    """
    from ..report.runner import run_plan

    res = run_plan(plan, out, quiet=quiet or fmt != "table", min_cell=min_cell, private=private, points=points)
    obj = {"out": str(res.out.resolve()), "synthetic": res.synthetic, "files": res.files, "timings": res.timings}
    import pandas as pd

    emit(fmt, obj=obj, frame=lambda: pd.DataFrame({"file": res.files}), text=res.summary)
