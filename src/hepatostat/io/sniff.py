"""How a text table is laid out: its separator and its decimal mark.

Shared by the full reader (:mod:`hepatostat.io.read`) and the light CSV reader of the meta-analysis
commands (:mod:`hepatostat.meta._light`), which must decide alike; kept apart from ``read`` so that
the light path imports neither ``pathlib`` nor the rest of the full reader (start-up time).
"""

from __future__ import annotations

import csv
import re

__all__ = ["CSV_SUFFIXES", "SNIFF_LINES", "sniff_separator", "sniff_decimal"]

#: text-table file suffixes
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")
#: lines looked at to decide the separator and the decimal mark
SNIFF_LINES = 200
_DEC_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
_DEC_POINT = re.compile(r"^\s*[-+]?\d*\.\d+\s*$")


def sniff_separator(lines: list[str], suffix: str) -> str:
    """The separator giving the most columns, the same number on every sampled line."""
    default = "\t" if suffix in (".tsv", ".tab") else ","
    best, best_cols = default, 1
    for sep in (",", ";", "\t", "|"):
        counts = [len(r) for r in csv.reader(lines, delimiter=sep)]
        if not counts or counts[0] < 2:
            continue
        header = counts[0]
        consistent = sum(c == header for c in counts) / len(counts)
        if consistent >= 0.9 and (header > best_cols or (header == best_cols and sep == default)):
            best, best_cols = sep, header
    return best


def sniff_decimal(lines: list[str], sep: str) -> str:
    """``","`` when the data rows hold decimals written with a comma and none with a point, else ``"."``."""
    if sep == ",":
        return "."
    comma = point = 0
    for r in csv.reader(lines[1:], delimiter=sep):
        for cell in r:
            if _DEC_COMMA.match(cell):
                comma += 1
            elif _DEC_POINT.match(cell):
                point += 1
    return "," if comma > 0 and point == 0 else "."
