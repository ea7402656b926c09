"""Shared pieces of the command line: output formats and error handling."""

from __future__ import annotations

import json
import math
import sys

import click
import numpy as np

FORMATS = ("table", "json", "csv")

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS, case_sensitive=False),
    default="table",
    show_default=True,
    help="Output: a readable table, one JSON object, or CSV.",
)


def _clean(obj):
    """Make an object JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_clean(v) for v in obj.tolist()]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def emit(fmt: str, *, obj=None, frame=None, text=None) -> None:
    """Write the result to stdout in the chosen format.

    Each of ``obj`` (JSON), ``frame`` (CSV) and ``text`` (table) may be a
    value or a function returning it; only the one asked for is computed.
    """
    fmt = fmt.lower()
    if fmt == "json":
        obj = obj() if callable(obj) else obj
    elif fmt == "csv":
        frame = frame() if callable(frame) else frame
    else:
        text = text() if callable(text) else text
    if fmt == "json":
        click.echo(json.dumps(_clean(obj), ensure_ascii=False, allow_nan=False, indent=None))
    elif fmt == "csv":
        frame.to_csv(sys.stdout, index=False, lineterminator="\n")
    else:
        click.echo(text)
