"""A fast path for a plain, clean study table: read with the standard library, no pandas.

``hepatostat meta pool`` on a small CSV spent most of its time importing
pandas (issue 12, item 6). :func:`read_light` reads a CSV/TSV whose every
required cell is an ordinary number and whose every row is complete and
legal into numpy arrays; :meth:`LightTable.validated` gives them to
:func:`hepatostat.meta.effects`. Anything unusual (another format, a
non-UTF-8 file, a sniffed decimal comma, a blank or short row, a missing or
bad value, a duplicate label, a numeric-looking study label, an impossible
value such as SD <= 0) makes the fast path step aside: the table is then
read by :func:`hepatostat.io.read_table` and checked by
:func:`hepatostat.meta.data.validate_meta_frame` as before, so every error
message and every exclusion stays exactly what it was. The pandas frame
behind :attr:`EffectSizes.data` is built on first use from the same file.

Numbers: a cell is taken here only when it has at most 15 significant
digits and a decimal exponent within +-22, where Python's ``float()`` and
pandas' parser both give the correctly rounded double, so the numbers are
identical on both paths.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np

__all__ = ["LightTable", "read_light"]

_NUMBER = re.compile(r"^[+-]?(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?$")
#: pandas' default missing-value markers: such a cell leaves the fast path
_NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
       "NA", "NULL", "NaN", "None", "n/a", "nan", "null", "."}
#: labels pandas may read as a float or a boolean (then printed differently)
_SPECIAL = {"inf", "infinity", "nan", "true", "false"}
_MAX_BYTES = 5_000_000  # a larger table is read by pandas (its C parser is faster than the csv module)


def _number(cell: str):
    """float(cell) when it is an ordinary decimal number both parsers read identically, else None."""
    m = _NUMBER.match(cell)
    if m is None:
        return None
    intpart, frac, frac_only, exp = m.groups()
    digits = ((intpart or "") + (frac or "") + (frac_only or "")).lstrip("0")
    if len(digits) > 15:
        return None
    e = int(exp) if exp else 0
    shift = -len(frac or frac_only or "") + e
    if abs(shift) > 22:
        return None
    return float(cell)


class LightTable:
    """A CSV table as text cells (header stripped), with its file name."""

    def __init__(self, source: str, header: list[str], rows: list[list[str]]):
        self.source = source
        self.header = header
        self.rows = rows

    def full(self):
        """The table as :func:`hepatostat.io.read_table` reads it (a pandas DataFrame)."""
        from ..io import read_table

        return read_table(self.source)

    def validated(self, kind: str):
        """``(study, columns)``: the labels and the required numeric columns as float arrays,
        when every row is complete and legal; None otherwise (use :meth:`full`)."""
        from .data import _required

        cols = {name: j for j, name in enumerate(self.header)}
        required = _required(kind, cols)
        if any(c not in cols for c in required):
            return None
        study = []
        for row in self.rows:
            label = row[cols["study"]].strip()
            if label in _NA or _NUMBER.match(label) or label.lower().lstrip("+-") in _SPECIAL:
                return None  # pandas would read a number, a boolean or NA here
            study.append(label)
        if len(set(study)) != len(study) or not study:
            return None
        out = {}
        for c in required[1:]:
            j = cols[c]
            vals = []
            for row in self.rows:
                v = _number(row[j])
                if v is None:
                    return None
                vals.append(v)
            out[c] = np.array(vals, dtype=float)
        if not _legal(kind, out):
            return None
        if "sei" in out:
            out["vi"] = out.pop("sei") ** 2
        return tuple(study), out

    def frame(self, kind: str):
        """The pandas frame :func:`effects` would have kept (``EffectSizes.data``), built on demand."""
        from .data import validate_meta_frame

        frame, _ = validate_meta_frame(self.full(), kind, source=self.source)
        return frame.drop(columns=["_row"], errors="ignore").reset_index(drop=True)


def _whole(v, least):
    return bool(np.all((v >= least) & (v == np.round(v))))


def _legal(kind: str, c: dict) -> bool:
    if kind == "continuous":
        return bool(np.all(c["sd1"] > 0) and np.all(c["sd2"] > 0) and _whole(c["n1"], 2) and _whole(c["n2"], 2))
    if kind == "binary":
        return (_whole(c["n1"], 1) and _whole(c["n2"], 1) and _whole(c["e1"], 0) and _whole(c["e2"], 0)
                and bool(np.all(c["e1"] <= c["n1"]) and np.all(c["e2"] <= c["n2"])))
    var = c.get("vi", c.get("sei"))
    return bool(np.all(var > 0))


def read_light(path) -> LightTable | None:
    """A plain UTF-8 CSV/TSV as a :class:`LightTable`, or None when anything needs the full reader."""
    from ..io.read import CSV_SUFFIXES, _SNIFF_LINES, _sniff_decimal, _sniff_separator

    if str(path) == "-":
        return None
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix not in CSV_SUFFIXES or not p.is_file() or not 0 < p.stat().st_size <= _MAX_BYTES:
            return None
        raw = p.read_bytes()
    except OSError:
        return None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    text = text.replace("\r\n", "\n")  # Windows line ends (pandas reads them alike)
    if "\r" in text or "\x00" in text:
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    if len(lines) < 2 or any(not ln.strip() for ln in lines):
        return None  # blank rows: the full reader skips them with a note
    sample = lines[:_SNIFF_LINES]
    sep = _sniff_separator(sample, suffix)
    if sep != ("\t" if suffix in (".tsv", ".tab") else ","):
        return None  # a sniffed separator is noted by the full reader
    if _sniff_decimal(sample, sep) != ".":
        return None
    try:
        parsed = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=sep, skipinitialspace=True, strict=True))
    except csv.Error:
        return None
    if len(parsed) != len(lines) or any('"' in ln for ln in lines):
        return None  # quoted cells (embedded separators or newlines): the full reader
    header = [h.strip() for h in parsed[0]]
    if any(h == "" for h in header) or len(set(header)) != len(header):
        return None
    n = len(header)
    body = parsed[1:]
    if any(len(r) != n for r in body):
        return None
    return LightTable(str(path), header, body)

