"""Shared pieces of the command line: output formats and error handling."""

from __future__ import annotations

import sys

import click

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
    """Deprecated alias of :func:`hepatostat.io.jsonsafe.to_jsonable` (kept for old imports)."""
    from ..io.jsonsafe import to_jsonable

    return to_jsonable(obj)


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
        from ..io.jsonsafe import dumps

        click.echo(dumps(obj))
    elif fmt == "csv":
        frame.to_csv(sys.stdout, index=False, lineterminator="\n")
    else:
        click.echo(text)
