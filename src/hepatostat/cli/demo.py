"""``hepatostat demo``: the main job on bundled data, end to end."""

from __future__ import annotations

import click

from .common import OutputPath, emit, format_option


@click.command("demo")
@click.option("--out", "out", type=OutputPath(folder=True), default="hepatostat-demo", show_default=True,
              help="Folder for the reports (created if needed).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--min-cell", "min_cell", type=click.IntRange(min=0), default=0, show_default=True,
              help="Show patient counts below N as '<N' in tables and leave them out of figures (0 = off).")
@click.option("--points", is_flag=True, help="Draw single-patient values in figures (off: privacy).")
@format_option
def demo_cmd(out, quiet, min_cell, points, fmt):
    """Run the bundled plans on bundled data and write their reports.

    Two reports, each as HTML, Word and Excel with every figure as PNG and SVG:
    the cohort study (Jia et al. 2020 design, on a SYNTHETIC cohort) and the
    systematic review and meta-analysis (Liu et al. 2022 workflow, on
    example records, published aggregate data and a SYNTHETIC extraction
    table). Synthetic data are labelled so in every figure and caption. The
    cohort's patient-level exclusion log is written to OUT/cohort.private/,
    apart from the shareable report folder.

    \b
    Example:
      hepatostat demo --out demo-results
    """
    from ..report.demo import run_demo

    summary = run_demo(out, echo=(fmt == "table"), quiet=quiet or fmt != "table", min_cell=min_cell, points=points)
    if fmt != "table":
        import pandas as pd

        emit(fmt, obj=summary, frame=lambda: pd.DataFrame(summary["reports"]))
