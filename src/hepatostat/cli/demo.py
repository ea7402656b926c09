"""``hepatostat demo``: the main job on bundled data, end to end."""

from __future__ import annotations

import click

from .common import format_option, emit


@click.command("demo")
@click.option("--out", "out", type=click.Path(file_okay=False), default="hepatostat-demo", show_default=True,
              help="Folder for the results (created if needed).")
@format_option
def demo_cmd(out, fmt):
    """Run the bundled demonstration analyses and write their results.

    Meta-analyses of bundled published data sets (with citations): each
    pooled result is printed and written as JSON, CSV, a text summary and a
    forest plot (PNG and SVG) under --out.

    \b
    Example:
      hepatostat demo --out demo-results
    """
    from ..report.demo import run_demo

    summary = run_demo(out, echo=(fmt == "table"))
    if fmt != "table":
        emit(fmt, obj=summary, frame=summary_frame(summary))


def summary_frame(summary):
    import pandas as pd

    return pd.DataFrame(summary["analyses"])
