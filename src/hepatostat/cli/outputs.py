"""Output-path click types shared by the cohort and review commands.

Thin additions to :class:`hepatostat.cli.common.OutputPath`: figure paths,
which may end in ``.png``/``.svg``/``.pdf`` or have no suffix (then PNG and
SVG are written). Checked when the options are parsed, so a bad path is an
``Error:`` before any work is done. Imports nothing heavy.
"""

from __future__ import annotations

import os
from pathlib import PurePath

from .common import OutputPath, check_output_path

__all__ = ["FIGURE_SUFFIXES", "FigurePath", "DOCX", "XLSX", "CSV"]

#: suffixes a figure can be written with (no suffix: PNG and SVG)
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
DOCX = (".docx",)
XLSX = (".xlsx",)
CSV = (".csv",)


class FigurePath(OutputPath):
    """A figure file: ``.png``, ``.svg``, ``.pdf``, or no suffix for PNG and SVG."""

    def __init__(self):
        super().__init__(suffixes=FIGURE_SUFFIXES)

    def convert(self, value, param, ctx):
        from ..errors import InputError

        if value is None:
            return None
        option = param.opts[0] if param is not None and param.opts else "output"
        text = os.fspath(value)
        suffixes = FIGURE_SUFFIXES if PurePath(text).suffix else None
        try:
            return str(check_output_path(text, option=option, suffixes=suffixes))
        except InputError as exc:
            msg = str(exc)
            if suffixes and "must end in" in msg:
                msg += " (or no suffix for PNG and SVG)"
            self.fail(msg, param, ctx)
