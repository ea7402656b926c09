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

Numbers: a cell is taken here only when it is an ordinary finite decimal
number that Python's ``float()`` and pandas' parser read as the same double:
with pandas 3 any such number (its parser rounds correctly, see
:func:`_long_numbers_ok`), with older pandas at most 15 significant digits and
a decimal exponent within +-22.

``meta pool --per`` (issue 13: 5,000 analyses spent most of their time in
pandas) uses :func:`split_per`, :func:`per_csv` and :func:`per_result`: the
table split by the column as :func:`hepatostat.meta.pool_per` splits it, and
its CSV written without pandas, byte for byte what the full path writes; any
table or option the full path would treat differently returns None there.
"""

from __future__ import annotations

import csv
import os
import re
from functools import partial
from itertools import repeat

import numpy as np

__all__ = ["LightTable", "read_light"]

_NUMBER = re.compile(r"^[+-]?(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?$")
#: pandas' default missing-value markers: such a cell leaves the fast path
_NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
       "NA", "NULL", "NaN", "None", "n/a", "nan", "null", "."}
#: labels pandas may read as a float or a boolean (then printed differently)
_SPECIAL = {"inf", "infinity", "nan", "true", "false"}
_MAX_BYTES = 5_000_000  # a larger table is read by pandas (its C parser is faster than the csv module)
_BLANK_LINE = re.compile(r"^\s*$", re.M)


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

    def __init__(self, source: str, header: list[str], rows: list[list[str]] | None, *, columns=None):
        self.source = source
        self.header = header
        self._rows = rows
        self._columns = columns
        self.header_exact = True  # no header cell had spaces around it

    @property
    def rows(self) -> list[list[str]]:
        if self._rows is None:
            self._rows = [list(r) for r in zip(*self._columns)]
        return self._rows

    @property
    def columns(self) -> list[list[str]]:
        """The body's cells column by column."""
        if self._columns is None:
            self._columns = [list(c) for c in zip(*self._rows)] if self._rows else [[] for _ in self.header]
        return self._columns

    def full(self):
        """The table as :func:`hepatostat.io.read_table` reads it (a pandas DataFrame)."""
        from ..io import read_table

        return read_table(self.source)

    def validated(self, kind: str):
        """``(study, columns)``: the labels and the required numeric columns as float arrays,
        when every row is complete and legal; None otherwise (use :meth:`full`)."""
        got = self._checked(kind)
        if got is None:
            return None
        study, out = got
        if len(set(study)) != len(study):
            return None
        return study, out

    def _checked(self, kind: str):
        """:meth:`validated` without the check for duplicate labels."""
        from .data import _required

        cols = {name: j for j, name in enumerate(self.header)}
        required = _required(kind, cols)
        if any(c not in cols for c in required):
            return None
        study = list(map(str.strip, self.columns[cols["study"]]))
        if not study or not all(map(_plain_label, set(study))):
            return None  # pandas would read a number, a boolean or NA here
        out = {}
        for c in required[1:]:
            vals = _numbers(self.columns[cols[c]])
            if vals is None:
                return None
            out[c] = vals
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


def _plain_label(label: str) -> bool:
    """A label pandas keeps as this very text (not NA, not a number, not a boolean or infinity)."""
    return not (label in _NA or _NUMBER.match(label) or label.lower().lstrip("+-") in _SPECIAL)


def _pandas_major() -> int:
    """The installed pandas' major version from its ``dist-info`` folder (``importlib.metadata`` costs more
    to import than the whole check saves); 0 when not found."""
    import os
    import sys

    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith("pandas-") and name.endswith((".dist-info", ".egg-info")):
                try:
                    return int(name[len("pandas-"):].split(".")[0])
                except ValueError:
                    return 0
        if "pandas" in names:
            return 0  # pandas without metadata here: assume the worst
    return 0


def _long_numbers_ok() -> bool:
    """pandas 3 reads decimal numbers correctly rounded, as Python's float() does, whatever their digits
    (checked on 1.8 million numbers written with %.17g and repr, and on 400,000 with 15-25 digits, exponents
    -320..300 and exact halfway cases: tests/meta/test_light_per.py); older pandas only up to 15 digits."""
    global _LONG_OK
    if _LONG_OK is None:
        _LONG_OK = _pandas_major() >= 3
    return _LONG_OK


_LONG_OK = None
_NUMBER_CHARS = re.compile(r"[0-9+\-.eE\n]*")
_EXP = re.compile(r"[eE][+-]?(\d+)")


def _numbers(cells: list[str]):
    """The cells as a float array when each is an ordinary finite decimal number that pandas' reader
    (``io.read_table``) and Python's ``float()`` read as the same double; else None."""
    joined = "\n".join(cells)
    if not _NUMBER_CHARS.fullmatch(joined):
        return None  # letters (NA, nan, inf, 1_000), spaces, other digits: leave it to pandas
    try:
        vals = np.array(list(map(float, cells)), dtype=float)
    except ValueError:
        return None
    if vals.size and not np.all(np.isfinite(vals)):
        return None  # nan, inf, infinity or an overflow
    if not ("." in joined or "e" in joined or "E" in joined):
        # pandas reads a column of whole numbers as integers: -0 becomes 0, and beyond int64 it differs
        if np.any((vals == 0) & np.signbit(vals)) or max(map(len, cells), default=0) > 18:
            return None
    if "e" in joined or "E" in joined:
        if any(len(e) > 3 or int(e) > 300 for e in set(_EXP.findall(joined))):
            return None  # near the ends of the range: leave it to pandas
    if not _long_numbers_ok() or max(map(len, cells), default=0) > 120:
        if any(_number(c) is None for c in cells):
            return None
    return vals


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


def read_light(path, max_bytes: int = _MAX_BYTES) -> LightTable | None:
    """A plain UTF-8 CSV/TSV as a :class:`LightTable`, or None when anything needs the full reader.

    Quoted cells are taken when every quote encloses a whole cell on one line (``"Aronson, 1948"``,
    no doubled quotes inside): the csv module and pandas then read them alike.
    """
    from ..io.sniff import CSV_SUFFIXES, SNIFF_LINES, sniff_decimal, sniff_separator

    if str(path) == "-":
        return None
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    try:
        if suffix not in CSV_SUFFIXES or not os.path.isfile(path) or not 0 < os.path.getsize(path) <= max_bytes:
            return None
        with open(path, "rb") as fh:
            raw = fh.read()
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
    if text.endswith("\n"):
        text = text[:-1]  # the final newline
    lines = text.split("\n")
    if len(lines) < 2 or _BLANK_LINE.search(text):
        return None  # blank rows: the full reader skips them with a note
    sample = lines[:SNIFF_LINES]
    sep = sniff_separator(sample, suffix)
    if sep != ("\t" if suffix in (".tsv", ".tab") else ","):
        return None  # a sniffed separator is noted by the full reader
    if sniff_decimal(sample, sep) != ".":
        return None
    header_raw = lines[0].split(sep)
    n = len(header_raw)
    if '"' in text or (sep + " ") in text or text.startswith(" ") or "\n " in text:
        if '"' in text:
            field = r'(?:"[^"\n]*"|[^"\n%s]*)' % re.escape(sep)
            line_re = re.compile(r"%s(?:%s *%s)*" % (field, re.escape(sep), field))
            if not all(line_re.fullmatch(ln) for ln in lines):
                return None  # quotes inside cells, doubled quotes, quoted line ends: the full reader
        try:
            parsed = list(csv.reader(lines, delimiter=sep, skipinitialspace=True, strict=True))
        except csv.Error:
            return None
        if len(parsed) != len(lines) or any(len(r) != n for r in parsed):
            return None
        header_raw = parsed[0]
        body = parsed[1:]
        columns = None
    else:
        # no quotes and no spaces after separators: a row's cells are its text between separators
        if list(map(str.count, lines, repeat(sep))).count(n - 1) != len(lines):
            return None
        flat = sep.join(lines[1:]).split(sep)
        columns = [flat[j::n] for j in range(n)]
        body = None
    header = [h.strip() for h in header_raw]
    if any(h == "" for h in header) or len(set(header)) != len(header):
        return None
    out = LightTable(str(path), header, body, columns=columns)
    out.header_exact = header == list(header_raw)
    return out


# ---------------------------------------------------------------------------
# ``meta pool --per`` on a plain table
# ---------------------------------------------------------------------------


class PerSplit:
    """The analyses of a plain table split by a column (``meta pool --per``), as
    :func:`hepatostat.meta.pool_per` would split them, with their effect sizes."""

    def __init__(self, table, per, measure, values, studies, yi, vi, flags, options, source, effect_options):
        self.table, self.per, self.measure = table, per, measure
        self.values, self.studies, self.yi, self.vi = values, studies, yi, vi
        self.flags, self.options, self.source = flags, options, source
        self.effect_options = effect_options

    def effect_sizes(self) -> list:
        """One :class:`~hepatostat.meta.effects.EffectSizes` per analysis (as ``split_by_code`` makes them)."""
        from .effects import EffectSizes, _notes

        out = []
        cache = {}
        for g, st in enumerate(self.studies):
            fl = {key: val[g] for key, val in self.flags.items()}
            out.append(EffectSizes(
                measure=self.measure, study=st, yi=self.yi[g], vi=self.vi[g], _data=partial(self._data, cache, g),
                excluded=(), notes=tuple(_notes(self.measure, st, fl, self.options)), options=dict(self.options),
                source=self.source, flags=fl))
        return out

    def _data(self, cache, g):
        """The pandas frame of analysis ``g``, from the full path (built on first use)."""
        if "split" not in cache:
            from .fit import _per_subsets

            cache["split"] = _per_subsets(self.table.full(), self.per, self.measure, self.source,
                                          self.effect_options)
        return cache["split"][g].data


def split_per(table: LightTable | None, per: str, measure: str, effect_options: dict, source):
    """A :class:`PerSplit` when the plain table gives exactly what the full path would, else None."""
    from .effects import MEASURES, _binary, _continuous

    if table is None or not table.header_exact or per not in table.header:
        return None  # a missing column: the full path names it
    kind = MEASURES[measure][0]
    eopts = dict(effect_options or {})
    if eopts.get("to") == "if0all" or per in ("study", "_row", "_per_code"):
        return None
    got = table._checked(kind)
    if got is None:
        return None
    study, cols = got
    if per in cols:
        return None
    percol = table.columns[table.header.index(per)]
    if not all(v == v.strip() and _plain_label(v) for v in set(percol)):
        return None  # blank, NA, numbers, booleans: pandas reads them otherwise (and blanks are excluded)
    index = {v: i for i, v in enumerate(dict.fromkeys(percol))}  # values in order of first appearance
    codes = np.array(list(map(index.__getitem__, percol)))
    options: dict = {}
    flags: dict = {}
    reasons = np.full(len(study), None, dtype=object)
    if kind == "continuous":
        yi, vi = _continuous(cols, measure, eopts.get("correction", "exact"), eopts.get("vtype", "LS"), options)
    elif kind == "binary":
        yi, vi = _binary(cols, measure, eopts.get("add", 0.5), eopts.get("to", "only0"), eopts.get("drop00", False),
                         options, flags, reasons)
    else:
        yi, vi = cols["yi"], cols["vi"]
    yi, vi = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    if not (np.all(np.isfinite(yi)) and np.all(np.isfinite(vi))):
        return None  # an effect not estimable: the full path logs it as an exclusion
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(index) + 1)).tolist()
    st = np.asarray(study, dtype=object)[order]
    yo, vo = yi[order], vi[order]
    sl = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    studies = [tuple(st[s].tolist()) for s in sl]
    if any(len(set(t)) != len(t) for t in studies):
        return None  # a duplicate label within an analysis: the full path's error
    flags = {key: [np.asarray(val)[order][s] for s in sl] for key, val in flags.items()}
    return PerSplit(table, per, measure, tuple(index), studies, [yo[s] for s in sl], [vo[s] for s in sl], flags,
                    options, None if source is None else str(source), eopts)


#: ``meta pool --per`` reads larger plain tables without pandas (the csv module beats pandas' import up to here)
PER_MAX_BYTES = 64_000_000


def per_result(split: PerSplit, method, knha, level, auto_random, convention):
    """:func:`hepatostat.meta.pool_per`'s :class:`~hepatostat.meta.fit.PerResult` for the split (None for MH
    and Peto, which pool from the counts of the pandas frame: the full path then)."""
    from .fit import PerResult, _per_results, _resolve

    conv, method, knha, auto_random = _resolve(method, knha, level, auto_random, convention)
    if method in ("MH", "PETO"):
        return None
    results, errors = _per_results(split.effect_sizes(), method, knha, level, auto_random, conv)
    return PerResult(split.per, tuple(split.values), results, errors, ())


def per_csv(split: PerSplit, method, knha, level, auto_random, convention) -> str:
    """The CSV of ``meta pool --per`` (``PerResult.to_frame().to_csv(index=False)``), written without pandas
    and without the analyses' Q-profile intervals, which it does not show. None for MH and Peto."""
    import types

    from .batch import pad
    from .fit import _in_file, _resolve, fit_sets

    _, method, knha, auto_random = _resolve(method, knha, level, auto_random, convention)
    if method in ("MH", "PETO"):
        return None
    y, v, mask = pad(split.yi, split.vi)
    fits, _, chosen = fit_sets(y, v, mask, method, knha, level, auto_random, qprofile=False, rules=False)
    n = len(split.values)
    keys = ("beta", "se", "ci_low", "ci_high", "pval", "tau2", "I2", "QE", "QE_pval")
    if len(fits) == 1:
        f = next(iter(fits.values()))
        arrays = [f.beta[:, 0], f.se[:, 0], f.ci_low[:, 0], f.ci_high[:, 0], f.pval[:, 0], f.tau2, f.I2, f.QE,
                  f.QE_pval]
        status, reason = f.status, f.reason
    else:  # auto: each analysis from the fit of the method it chose
        pick = [np.array([ch == name for ch in chosen]) for name in fits]
        arrays = []
        for key in keys:
            parts = [getattr(f, key) for f in fits.values()]
            parts = [x[:, 0] if x.ndim == 2 else x for x in parts]
            arrays.append(np.select(pick, parts))
        status = np.select(pick, [f.status for f in fits.values()])
        reason = np.select(pick, [f.reason for f in fits.values()])
    # floats as pandas writes them: the shortest repr, NaN as an empty cell
    columns = [[r if r != "nan" else "" for r in map(repr, a.tolist())] for a in arrays]
    ks = [len(st) for st in split.studies]
    method_col = list(chosen)
    status_col = ["ok"] * n
    error_col = [""] * n
    for j in np.flatnonzero(np.asarray(status) != "ok").tolist():
        st = split.studies[j]
        es = types.SimpleNamespace(k=len(st), study=st, source=split.source)
        ks[j], method_col[j], status_col[j] = 0, "", "not estimable"
        error_col[j] = _in_file(es, str(reason[j]), studies=True)
        for col in columns:
            col[j] = ""
    buf = _StringWriter()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([split.per, "k", "estimate", "se", "ci_low", "ci_high", "pval", "tau2", "I2", "Q", "Q_pval",
                "method", "status", "error", "excluded"])
    w.writerows(zip(split.values, ks, *columns, method_col, status_col, error_col, repeat("", n)))
    return buf.getvalue()


def _fmt(x: float) -> str:
    """A float as pandas' ``to_csv`` writes it: the shortest repr, NaN as an empty cell."""
    return "" if x != x else repr(x)


class _StringWriter:
    def __init__(self):
        self.parts = []

    def write(self, s):
        self.parts.append(s)

    def getvalue(self):
        return "".join(self.parts)


# ---------------------------------------------------------------------------
# ``meta regress`` and ``meta analyse`` on a plain table
# ---------------------------------------------------------------------------


def regression_design(table: LightTable | None, es, mods, categorical=()):
    """The :class:`~hepatostat.meta.regression.DesignMatrix` of numeric moderator columns of a plain table,
    exactly as :func:`~hepatostat.meta.regression.design_matrix` builds it from ``es.data``; None when the
    full path is needed (a formula, categorical or text moderators, a missing or unusual value, a column not
    found, a constant or collinear moderator: that path's messages) or when ``es`` did not come from every
    row of ``table`` in order."""
    if table is None or not table.header_exact or isinstance(mods, str) or categorical or not mods:
        return None
    mods = list(mods)
    if len(set(mods)) != len(mods) or any(m not in table.header or m in ("study", "_row") for m in mods):
        return None
    if getattr(es, "excluded", None) or len(table.columns[0]) != es.k:
        return None
    study = table.columns[table.header.index("study")] if "study" in table.header else None
    if study is None or tuple(map(str.strip, study)) != tuple(es.study):
        return None
    cols = [np.ones(es.k)]
    for m in mods:
        vals = _numbers(table.columns[table.header.index(m)])
        if vals is None or vals.size == 0 or np.ptp(vals) == 0:
            return None
        cols.append(vals)
    X = np.column_stack(cols)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return None
    from .regression import DesignMatrix

    return DesignMatrix(X=X, terms=("intrcpt", *mods), keep=np.ones(es.k, dtype=bool), excluded=(), levels={},
                        mods=tuple(mods), categorical=())


class ColumnFrame:
    """Columns ``(name, values)`` that write themselves as pandas' ``DataFrame.to_csv(index=False)`` would
    (floats as their shortest repr, NaN and None as empty cells); for ``cli.common.emit``."""

    def __init__(self, columns):
        self.columns = list(columns)

    def to_csv(self, buf, index=False, lineterminator="\n"):
        w = csv.writer(buf, lineterminator=lineterminator)
        w.writerow([name for name, _ in self.columns])
        cells = []
        for _, vals in self.columns:
            kind = getattr(getattr(vals, "dtype", None), "kind", "O")
            vals = vals.tolist() if hasattr(vals, "tolist") else list(vals)
            if kind == "f":
                cells.append(list(map(_fmt, vals)))
            elif kind == "O":
                cells.append(["" if v is None or (isinstance(v, float) and v != v) else
                              (_fmt(v) if isinstance(v, float) else v) for v in vals])
            else:
                cells.append(vals)
        w.writerows(zip(*cells))
