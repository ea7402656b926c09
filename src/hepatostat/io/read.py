"""Read a user's table from any file a hospital or a statistics package exports.

:func:`read_table` is the one reader of tabular input: CSV/TSV/TXT (separator,
decimal comma and encoding sniffed), Excel (``.xlsx``/``.xlsm``/``.xls``),
SPSS (``.sav``/``.zsav``/``.por``) and Stata (``.dta``) with their variable
and value labels, Parquet, and DuckDB database files. It returns a pandas
DataFrame and records what it found and decided in ``frame.attrs``:

``attrs["source"]``
    the path as given; ``attrs["format"]``: ``csv``, ``excel``, ``spss``,
    ``stata``, ``parquet`` or ``duckdb``.
``attrs["labels"]``
    ``{column: variable label}`` (SPSS/Stata variable labels, data dictionary).
``attrs["value_labels"]``
    ``{column: {code: label}}`` as stored in the file or dictionary. A column
    whose every value has a label is returned as a pandas ``Categorical`` of
    the labels, in code order (so groups print by label: "male", not 1).
``attrs["units"]``, ``attrs["kinds"]``
    ``{column: unit}`` and ``{column: "categorical" | "continuous" | "id" |
    "date"}`` declared in a data dictionary.
``attrs["read_notes"]``
    sentences saying what was sniffed or changed (separator, decimal comma,
    encoding fallback, blank rows skipped, labels applied); commands print
    them.

Row numbers: the frame's index is the 0-based data row of the file, so the
spreadsheet row of a cell is ``index + 2`` (header = row 1) — also after a
blank line, which is skipped but keeps its number (issue 14: an error after
a blank line named the wrong row).

Nothing is validated here beyond what reading needs (duplicated column
names are an error: pandas would rename one to ``name.1`` silently); the
engine that uses the table checks its content.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .sniff import CSV_SUFFIXES, SNIFF_LINES as _SNIFF_LINES, sniff_decimal as _sniff_decimal, \
    sniff_separator as _sniff_separator

__all__ = [
    "read_table",
    "read_dictionary",
    "apply_dictionary",
    "DataDictionary",
    "VariableSpec",
    "TABLE_SUFFIXES",
    "CSV_SUFFIXES",
    "KINDS",
    "column_letter",
]

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
SPSS_SUFFIXES = (".sav", ".zsav", ".por")
STATA_SUFFIXES = (".dta",)
PARQUET_SUFFIXES = (".parquet", ".pq")
DUCKDB_SUFFIXES = (".duckdb", ".ddb", ".db")
TABLE_SUFFIXES = CSV_SUFFIXES + EXCEL_SUFFIXES + SPSS_SUFFIXES + STATA_SUFFIXES + PARQUET_SUFFIXES + DUCKDB_SUFFIXES
#: variable types a data dictionary may declare
KINDS = ("categorical", "continuous", "id", "date", "text")
_KIND_ALIASES = {"numeric": "continuous", "number": "continuous", "scale": "continuous", "factor": "categorical",
                 "nominal": "categorical", "ordinal": "categorical", "binary": "categorical", "string": "text",
                 "datetime": "date", "identifier": "id"}
_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


def column_letter(i: int) -> str:
    """Spreadsheet column letter of the 0-based column ``i`` (0 -> A, 26 -> AA)."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


# ---------------------------------------------------------------------------
# data dictionary
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VariableSpec:
    """One variable of a data dictionary: label, unit, type and value labels."""

    name: str
    label: str | None = None
    unit: str | None = None
    kind: str | None = None
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DataDictionary:
    """Variables declared by the user (:func:`read_dictionary`)."""

    variables: dict
    source: str | None = None

    def __contains__(self, name) -> bool:
        return name in self.variables

    def get(self, name):
        return self.variables.get(name)


def _kind(value, *, file, row=None, variable=None):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    k = str(value).strip().lower()
    k = _KIND_ALIASES.get(k, k)
    if k not in KINDS:
        raise InputError(f"unknown variable type; allowed: {', '.join(KINDS)}", file=file, row=row, column=variable,
                         value=value)
    return k


def _value_map(values, *, file, row=None, variable=None) -> dict:
    """``{code: label}`` from a TOML table or ``"1=male; 2=female"`` text."""
    if values is None:
        return {}
    if isinstance(values, dict):
        items = list(values.items())
    else:
        text = str(values).strip()
        if not text:
            return {}
        items = []
        for part in re.split(r"[;|]", text):
            if not part.strip():
                continue
            if "=" not in part:
                raise InputError("value labels are written code=label separated by ';', e.g. 1=male; 2=female",
                                 file=file, row=row, column=variable, value=part.strip())
            code, lab = part.split("=", 1)
            items.append((code.strip(), lab.strip()))
    out = {}
    for code, lab in items:
        out[_code(code)] = str(lab)
    return out


def _code(code):
    """A value-label code as a number where it is one (``"1"`` -> 1.0), else text."""
    if isinstance(code, (int, float)) and not isinstance(code, bool):
        return float(code)
    try:
        return float(str(code).strip())
    except ValueError:
        return str(code).strip()


def read_dictionary(path) -> DataDictionary:
    """Read a data dictionary: TOML or CSV.

    TOML::

        [tbil]
        label = "Total bilirubin"
        unit = "mg/dL"
        type = "continuous"

        [sex]
        type = "categorical"
        values = { 1 = "male", 2 = "female" }

    (a top-level ``[variables]`` table holding these is accepted too). CSV
    (or Excel) with the columns ``variable`` and any of ``label``, ``unit``,
    ``type``, ``values`` (``1=male; 2=female``). Types: categorical,
    continuous, id, date, text (numeric, factor, nominal, ordinal, binary are
    accepted as synonyms).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("data dictionary not found", file=p)
    specs: dict = {}
    if p.suffix.lower() == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        raw = p.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"the data dictionary is not UTF-8 text (byte {exc.start}); save it as UTF-8", file=p) from None
        try:
            doc = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, RecursionError) as exc:
            raise InputError(f"not valid TOML: {exc}", file=p) from None
        if isinstance(doc.get("variables"), dict):
            doc = doc["variables"]
        for name, entry in doc.items():
            if not isinstance(entry, dict):
                raise InputError("each variable is a table [name] with label, unit, type, values", file=p, column=name)
            unknown = set(entry) - {"label", "unit", "type", "values"}
            if unknown:
                raise InputError(f"unknown key(s) {', '.join(sorted(unknown))}; allowed: label, unit, type, values",
                                 file=p, column=name)
            specs[str(name)] = VariableSpec(str(name), entry.get("label"), entry.get("unit"),
                                            _kind(entry.get("type"), file=p, variable=name),
                                            _value_map(entry.get("values"), file=p, variable=name))
    else:
        frame = read_table(p)
        cols = {c.lower(): c for c in frame.columns}
        if "variable" not in cols:
            raise InputError("a data dictionary table needs a 'variable' column (and any of label, unit, type, values)",
                             file=p)
        for pos, (idx, r) in enumerate(frame.iterrows()):
            row = int(idx) + 2
            name = r[cols["variable"]]
            if name is None or str(name).strip() in ("", "nan"):
                continue

            def cell(key):
                v = r[cols[key]] if key in cols else None
                return None if v is None or (isinstance(v, float) and v != v) else str(v).strip() or None

            name = str(name).strip()
            specs[name] = VariableSpec(name, cell("label"), cell("unit"), _kind(cell("type"), file=p, row=row, variable=name),
                                       _value_map(cell("values"), file=p, row=row, variable=name))
    return DataDictionary(specs, str(p))


def _apply_value_labels(frame, column, mapping, notes) -> bool:
    """Turn ``column`` into a Categorical of labels when every value has one."""
    import pandas as pd

    s = frame[column]
    present = s.dropna().unique().tolist()
    if not present:
        return False

    def key(v):
        return _code(v) if not isinstance(v, str) else (_code(v) if _code(v) in mapping else v.strip())

    missing = [v for v in present if key(v) not in mapping]
    if missing:
        shown = ", ".join(map(str, missing[:5]))
        notes.append(f"column '{column}': value labels do not cover the value(s) {shown}; kept as stored")
        return False
    order = []
    for code in mapping:  # code order as declared / stored
        lab = mapping[code]
        if lab not in order:
            order.append(lab)
    labelled = [None if v is None or (isinstance(v, float) and v != v) else mapping[key(v)] for v in s.tolist()]
    frame[column] = pd.Categorical(labelled, categories=order)
    shown = ", ".join(f"{_fmt_code(c)} = {lab}" for c, lab in list(mapping.items())[:6])
    notes.append(f"column '{column}': values shown by their labels ({shown}{', …' if len(mapping) > 6 else ''})")
    return True


def _fmt_code(c):
    return str(int(c)) if isinstance(c, float) and c.is_integer() else str(c)


def apply_dictionary(frame, dictionary: DataDictionary | str | Path):
    """Apply a data dictionary to a frame read by :func:`read_table` (in place; returns it).

    Labels, units and types go to ``frame.attrs``; value labels turn a
    column into labelled categories; ``type = "date"`` parses dates; a
    declared ``continuous`` column must hold numbers (error naming the row).
    """
    import pandas as pd

    if not isinstance(dictionary, DataDictionary):
        dictionary = read_dictionary(dictionary)
    attrs = frame.attrs
    labels = dict(attrs.get("labels", {}))
    value_labels = dict(attrs.get("value_labels", {}))
    units = dict(attrs.get("units", {}))
    kinds = dict(attrs.get("kinds", {}))
    notes = list(attrs.get("read_notes", []))
    unused = [n for n in dictionary.variables if n not in frame.columns]
    for name, spec in dictionary.variables.items():
        if name not in frame.columns:
            continue
        if spec.label:
            labels[name] = spec.label
        if spec.unit:
            units[name] = spec.unit
        if spec.kind:
            kinds[name] = spec.kind
        if spec.values:
            value_labels[name] = dict(spec.values)
            _apply_value_labels(frame, name, spec.values, notes)
        if spec.kind == "continuous" and not pd.api.types.is_numeric_dtype(frame[name].dtype):
            conv = pd.to_numeric(frame[name], errors="coerce")
            bad = conv.isna() & frame[name].notna() & (frame[name].astype(str).str.strip() != "")
            if bad.any():
                i = int(bad.to_numpy().nonzero()[0][0])
                raise InputError("is declared continuous in the data dictionary but is not a number",
                                 file=attrs.get("source"), row=_row(frame, i), column=name, value=frame[name].iloc[i])
            frame[name] = conv
        if spec.kind == "date" and not pd.api.types.is_datetime64_any_dtype(frame[name].dtype):
            conv = pd.to_datetime(frame[name], errors="coerce")
            bad = conv.isna() & frame[name].notna()
            if bad.any():
                i = int(bad.to_numpy().nonzero()[0][0])
                raise InputError("is declared a date in the data dictionary but is not a date", file=attrs.get("source"),
                                 row=_row(frame, i), column=name, value=frame[name].iloc[i])
            frame[name] = conv
    if unused:
        notes.append(f"data dictionary {dictionary.source}: {len(unused)} variable(s) not in this table: "
                     + ", ".join(unused[:10]) + (", …" if len(unused) > 10 else ""))
    frame.attrs.update(labels=labels, value_labels=value_labels, units=units, kinds=kinds, read_notes=notes,
                       dictionary=dictionary.source)
    return frame


def _row(frame, pos: int) -> int:
    import pandas as pd

    if pd.api.types.is_integer_dtype(frame.index.dtype):
        return int(frame.index[pos]) + 2
    return pos + 2


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------


def _decode(raw: bytes, p, notes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        notes.append("encoding UTF-16")
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        try:
            text = raw.decode("cp1252")
            notes.append(f"encoding: not valid UTF-8 (first at line {line}); read as Windows-1252")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
            notes.append(f"encoding: not valid UTF-8 (first at line {line}); read as Latin-1")
        return text


def _check_header(names, p):
    seen: dict = {}
    for i, n in enumerate(names):
        key = str(n).strip()
        if key == "":
            continue
        if key in seen:
            j = seen[key]
            raise InputError(
                f"duplicated column name: columns {column_letter(j)} and {column_letter(i)} are both named '{key}'; "
                "rename one (hepatostat would otherwise have to drop or rename one silently)",
                file=p, row=1, column=key)
        seen[key] = i


def _check_row_lengths(text: str, sep: str, n_header: int, p) -> None:
    """A row with more (non-empty) cells than the header is an error naming its row: pandas would
    otherwise take the first column as an index or drop the extra cells."""
    body = text.split("\n", 1)[1] if "\n" in text else ""
    if '"' not in body and all(ln.count(sep) < n_header for ln in body.split("\n")):
        return  # no quoting: a row's cells are its separators + 1, and no row has too many
    for k, row in enumerate(csv.reader(io.StringIO(body), delimiter=sep), start=2):
        if len(row) > n_header and any(c.strip() for c in row[n_header:]):
            raise InputError(f"this row has {len(row)} cells but the header names {n_header} columns; "
                             "quote cells that contain the separator, or add the missing column names",
                             file=p, row=k, value=sep.join(row[n_header:])[:40])


def _read_csv_text(text: str, p, suffix: str, notes, *, sep=None, decimal=None):
    import pandas as pd

    lines = [ln for ln in text.splitlines() if ln.strip()][: _SNIFF_LINES]
    if not lines:
        raise InputError("the file has no columns; expected a table with a header row", file=p)
    if sep is None:
        sep = _sniff_separator(lines, suffix)
        if sep != ("\t" if suffix in (".tsv", ".tab") else ","):
            notes.append(f"separator: {_SEPARATORS[sep]} (sniffed)")
    if decimal is None:
        decimal = _sniff_decimal(lines, sep)
        if decimal == ",":
            notes.append("decimal comma (sniffed): 1,5 read as 1.5")
    header = next(csv.reader([lines[0]], delimiter=sep))
    _check_header(header, p)
    _check_row_lengths(text, sep, len(header), p)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal, skip_blank_lines=False,
                            skipinitialspace=True, index_col=False)
    except pd.errors.EmptyDataError:
        raise InputError("the file has no columns; expected a table with a header row", file=p) from None
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).splitlines()[0]
        m = re.search(r"line (\d+)", msg)
        raise InputError(f"cannot parse the file as a table: {msg}", file=p,
                         row=int(m.group(1)) if m else None) from None
    return frame


def _drop_blank_rows(frame, notes):
    blank = frame.isna().all(axis=1).to_numpy()
    if blank.any():
        # trailing blank lines are not worth a note
        last = len(blank) - 1
        while last >= 0 and blank[last]:
            last -= 1
        inner = [int(frame.index[i]) + 2 for i in blank.nonzero()[0] if i <= last]
        if inner:
            notes.append(f"{len(inner)} blank row(s) skipped (row {', '.join(map(str, inner[:10]))}"
                         + (", …" if len(inner) > 10 else "") + "); rows keep their spreadsheet numbers")
        frame = frame.loc[~blank]
    return frame


# ---------------------------------------------------------------------------
# the reader
# ---------------------------------------------------------------------------


def _read_excel(p, sheet, notes):
    import pandas as pd

    try:
        raw = pd.read_excel(p, sheet_name=sheet, header=None)
    except ImportError as exc:
        raise InputError(f"reading Excel files needs an optional package: {exc}; install hepatostat[all]", file=p) from None
    except (KeyError, IndexError) as exc:
        raise InputError(f"sheet {sheet!r} not found: {exc}", file=p) from None
    except Exception as exc:  # truncated or corrupt workbook: zipfile, openpyxl and xlrd raise many types
        raise InputError(f"cannot read the file as an Excel workbook ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else 'corrupt file'})", file=p) from None
    raw = raw.dropna(how="all", axis=1)
    nonblank = raw.notna().any(axis=1).to_numpy().nonzero()[0]
    if nonblank.size == 0:
        raise InputError("the sheet is empty; expected a table with a header row", file=p)
    h = int(nonblank[0])
    header = ["" if v is None or (isinstance(v, float) and v != v) else
              (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)).strip() for v in raw.iloc[h].tolist()]
    _check_header(header, p)
    if h:
        notes.append(f"header found on sheet row {h + 1}")
    body = raw.iloc[h + 1:].copy()
    body.columns = [c if c else f"Unnamed: {i}" for i, c in enumerate(header)]
    body.index = [int(i) - h - 1 for i in body.index]  # 0-based data rows below the header
    body = body.infer_objects()
    for c in body.columns:  # a column of numbers and blanks is float, as read_csv makes it
        if body[c].dtype == object:
            conv = pd.to_numeric(body[c], errors="coerce")
            if conv.notna().sum() == body[c].notna().sum() and body[c].notna().any():
                body[c] = conv
    return body


def _read_stat(p, suffix, notes):
    try:
        import pyreadstat
    except ImportError as exc:
        raise InputError(f"reading {suffix} files needs pyreadstat: {exc}; install hepatostat[all]", file=p) from None
    try:
        if suffix in STATA_SUFFIXES:
            frame, meta = pyreadstat.read_dta(str(p))
        elif suffix == ".por":
            frame, meta = pyreadstat.read_por(str(p))
        else:
            frame, meta = pyreadstat.read_sav(str(p))
    except Exception as exc:  # pyreadstat raises its own error types
        raise InputError(f"cannot read the file as {'Stata' if suffix == '.dta' else 'SPSS'} data: "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=p) from None
    labels = {c: lab for c, lab in (meta.column_names_to_labels or {}).items() if lab}
    value_labels = {c: {_code(k): str(v) for k, v in m.items()} for c, m in (meta.variable_value_labels or {}).items()}
    for c, m in value_labels.items():
        if c in frame.columns:
            _apply_value_labels(frame, c, m, notes)
    if labels:
        notes.append(f"{len(labels)} variable label(s) read")
    return frame, labels, value_labels


def _read_duckdb(p, table, notes):
    import duckdb

    try:
        con = duckdb.connect(str(p), read_only=True)
    except Exception as exc:  # duckdb.IOException and others
        raise InputError(f"cannot open the file as a DuckDB database: {str(exc).splitlines()[0]}", file=p) from None
    try:
        tables = [f"{s}.{t}" if s != "main" else t for s, t in
                  con.execute("SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2").fetchall()]
        if table is None:
            if len(tables) != 1:
                raise InputError(f"the database holds {len(tables)} tables; name one with table= (--table): "
                                 + ", ".join(tables[:20]), file=p)
            table = tables[0]
        if table not in tables:
            raise InputError(f"table not found; the database's tables are: {', '.join(tables[:20])}", file=p, value=table)
        parts = table.split(".")
        quoted = ".".join('"' + x.replace('"', '""') + '"' for x in parts)
        frame = con.execute(f"SELECT * FROM {quoted}").df()
        notes.append(f"table {table} of the DuckDB database")
        return frame
    finally:
        con.close()


def read_table(path, *, sheet=0, table=None, dictionary=None, sep=None, decimal=None, encoding=None):
    """Read a table; the format is chosen by the file's suffix.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.tsv``/``.txt``/``.tab`` (separator ``, ; tab |`` and decimal
        comma sniffed; UTF-8, falling back to Windows-1252), ``.xlsx``/``.xlsm``/
        ``.xls``, ``.sav``/``.zsav``/``.por`` (SPSS), ``.dta`` (Stata),
        ``.parquet``, ``.duckdb``/``.db``. ``-`` reads CSV from stdin.
    sheet : int or str
        Excel sheet.
    table : str, optional
        Table of a DuckDB file (needed when it holds more than one).
    dictionary : str, Path or DataDictionary, optional
        A data dictionary (:func:`read_dictionary`) applied after reading.
    sep, decimal, encoding : str, optional
        Override the sniffed CSV separator, decimal mark and encoding.

    Returns
    -------
    pandas.DataFrame
        With ``attrs`` ``source``, ``format``, ``labels``, ``value_labels``,
        ``units``, ``kinds``, ``read_notes`` (see the module docstring); the
        index is the 0-based data row of the file (spreadsheet row - 2).

    Raises
    ------
    hepatostat.errors.InputError
        Missing or empty file, unknown suffix, unreadable content,
        duplicated column names.
    """
    import pandas as pd

    notes: list[str] = []
    labels: dict = {}
    value_labels: dict = {}
    if str(path) == "-":
        import sys

        raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        if not raw.strip():
            raise InputError("standard input is empty; expected a CSV table with a header row", file="-")
        text = raw.decode(encoding) if encoding else _decode(raw, "-", notes)
        frame = _drop_blank_rows(_read_csv_text(text, "-", ".csv", notes, sep=sep, decimal=decimal), notes)
        fmt, p = "csv", "-"
    else:
        p = Path(path)
        if not p.exists():
            raise InputError("file not found", file=p)
        if p.is_dir():
            raise InputError("is a folder, not a file", file=p)
        suffix = p.suffix.lower()
        if suffix not in TABLE_SUFFIXES:
            raise InputError(f"unknown table format '{suffix or '(none)'}'; allowed: {', '.join(TABLE_SUFFIXES)}", file=p)
        if p.stat().st_size == 0:
            raise InputError("the file is empty; expected a table with a header row", file=p)
        if suffix in CSV_SUFFIXES:
            raw = p.read_bytes()
            if encoding:
                try:
                    text = raw.decode(encoding)
                except (UnicodeDecodeError, LookupError) as exc:
                    raise InputError(f"cannot decode the file as {encoding}: {exc}", file=p) from None
            else:
                text = _decode(raw, p, notes)
            frame = _drop_blank_rows(_read_csv_text(text, p, suffix, notes, sep=sep, decimal=decimal), notes)
            fmt = "csv"
        elif suffix in EXCEL_SUFFIXES:
            frame = _drop_blank_rows(_read_excel(p, sheet, notes), notes)
            fmt = "excel"
        elif suffix in SPSS_SUFFIXES + STATA_SUFFIXES:
            frame, labels, value_labels = _read_stat(p, suffix, notes)
            fmt = "stata" if suffix in STATA_SUFFIXES else "spss"
        elif suffix in PARQUET_SUFFIXES:
            try:
                frame = pd.read_parquet(p)
            except ImportError as exc:
                raise InputError(f"reading Parquet files needs pyarrow: {exc}; install hepatostat[all]", file=p) from None
            except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
                raise InputError(f"cannot read the file as Parquet: {str(exc).splitlines()[0]}", file=p) from None
            fmt = "parquet"
        else:
            frame = _read_duckdb(p, table, notes)
            fmt = "duckdb"
        _check_header(list(frame.columns), p)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.attrs.update(source=str(p), format=fmt, labels=labels, value_labels=value_labels, units={}, kinds={},
                       read_notes=notes)
    if dictionary is not None:
        apply_dictionary(frame, dictionary)
    return frame
