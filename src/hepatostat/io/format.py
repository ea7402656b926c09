"""The one place numbers become text: journal-style number formatting.

Every writer (HTML, Word, Excel number formats, the CLI's readable table)
asks this module how to show a number, so a p-value looks the same in every
output. A :class:`Style` holds the journal's settings; :data:`DEFAULT` is the
style of the seed papers (Stem Cell Research & Therapy):

- P values with three decimals, and ``<0.001`` below 0.001 (AMA/Vancouver
  practice; never ``0.000``, never ``5.55e-07``);
- decimals chosen per statistic (``kind``): estimates 2, SE 3, means and
  medians 1, percentages 1, tau² 3, I² 1 (with ``%``), test statistics 2;
- confidence intervals as "a to b" (or "a–b" with ``ci_sep="–"``; "a to b"
  is the default because "–" is ambiguous next to negative numbers);
- thousands separators for numbers of 10,000 or more (``thousands=","``;
  ``""`` switches them off), trailing zeros kept (``0.50``, not ``0.5``),
  integers (counts, n, k, df) as integers (``33``, never ``33.000``);
- missing values as ``missing`` (empty by default).

Kinds
-----
``p``, ``int``, ``estimate``, ``se``, ``ci`` (like ``estimate``), ``mean``,
``sd``, ``median``, ``percent``, ``I2``, ``tau2``, ``stat``, ``weight``,
``text`` and ``default``. :func:`kind_of` guesses a kind from a column name
(``pval`` -> ``p``, ``n``/``k``/``df`` -> ``int``, ``I2`` -> ``I2`` ...).

Helpers for text (the CLI's ``--format table`` and every ``summary()``):
:func:`fmt_n` (counts), :func:`fmt_pct` (percentages), :func:`fmt_sig`
(values of unknown scale: data, coordinates), :func:`fmt_plain` (settings
and thresholds the user gave, shortest text), :func:`fmt_seconds`
(timings), :func:`fmt_level` (``95%``), :func:`fmt_stat` (``Q(3) = 4.21``),
:func:`with_digits` (a style with more decimals, for ``summary(digits=4)``)
and :func:`table_text` (a data frame as an aligned text table).

Excel cells keep the number; :meth:`Style.excel_format` gives the matching
number format (for P: ``[<0.001]"<0.001";0.000``) so that the sheet shows
what the report shows.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

__all__ = ["Style", "DEFAULT", "fmt", "fmt_p", "fmt_p_eq", "fmt_ci", "fmt_est_ci", "kind_of", "format_frame", "merge_ci",
           "is_number", "fmt_fixed", "fmt_n", "fmt_pct", "fmt_sig", "fmt_plain", "fmt_seconds", "fmt_level", "fmt_stat",
           "with_digits", "table_text"]

_DECIMALS = {
    "estimate": 2, "ci": 2, "se": 3, "mean": 1, "sd": 1, "median": 1, "percent": 1, "I2": 1, "tau2": 3,
    "stat": 2, "weight": 1, "default": 2, "int": 0, "smd": 2, "ratio": 2,
    "kappa": 3,  # agreement statistics (kappa, observed and chance agreement), as Cohen reported them
    "diag": 3,  # regression diagnostics with small values: hat values, Cook's distances
}


@dataclass(frozen=True)
class Style:
    """Journal settings for numbers.

    Parameters
    ----------
    p_decimals : int
        Decimals of a P value (3 -> ``0.042``).
    p_floor : float
        P values below this are shown as ``<p_floor`` (``<0.001``).
    decimals : dict
        Decimals per kind; missing kinds use ``decimals["default"]``.
    ci_sep : str
        Between the two limits of an interval: ``" to "`` or ``"–"``.
    thousands : str
        Thousands separator (``","``, ``" "``, or ``""`` for none).
    thousands_from : float
        Only numbers with absolute value at least this get separators
        (journals write 1234 but 12,345).
    minus : str
        The minus sign (``"-"``; ``"−"`` for typeset output).
    missing : str
        Text for a missing value.
    """

    p_decimals: int = 3
    p_floor: float = 0.001
    decimals: dict = field(default_factory=lambda: dict(_DECIMALS))
    ci_sep: str = " to "
    thousands: str = ","
    thousands_from: float = 10000
    minus: str = "-"
    missing: str = ""

    def with_(self, **changes) -> "Style":
        """A copy with some settings changed (``decimals`` is merged)."""
        if "decimals" in changes:
            changes["decimals"] = {**self.decimals, **changes["decimals"]}
        return replace(self, **changes)

    def digits(self, kind: str) -> int:
        if kind == "p":
            return self.p_decimals
        return int(self.decimals.get(kind, self.decimals.get("default", 2)))

    def excel_format(self, kind: str, value=None) -> str:
        """The Excel number format showing a number as this style does."""
        if kind == "p":
            floor = f"{self.p_floor:.{self.p_decimals}f}"
            return f'[<{floor}]"<{floor}";0.{"0" * self.p_decimals}'
        if kind == "int" or (kind == "default" and isinstance(value, int)):
            return "#,##0" if self.thousands else "0"
        d = self.digits(kind)
        body = ("#,##0" if self.thousands else "0") + ("." + "0" * d if d > 0 else "")
        if kind in ("I2", "percent_sign"):
            return body + '"%"'
        return body


DEFAULT = Style()


def is_number(x) -> bool:
    """True for a real, finite-or-not number that is not a bool."""
    if isinstance(x, bool):
        return False
    try:
        import numpy as np

        if isinstance(x, np.bool_):
            return False
        if isinstance(x, (np.integer, np.floating)):
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(x, (int, float))


def _missing(x) -> bool:
    if x is None:
        return True
    if is_number(x):
        return not isinstance(x, int) and math.isnan(float(x))
    try:
        import pandas as pd

        return x is pd.NA or x is pd.NaT
    except ImportError:  # pragma: no cover
        return False


def _group(int_text: str, sep: str) -> str:
    out = []
    while len(int_text) > 3:
        out.insert(0, int_text[-3:])
        int_text = int_text[:-3]
    out.insert(0, int_text)
    return sep.join(out)


def _fixed(x: float, d: int, style: Style) -> str:
    if math.isinf(x):
        return ("" if x > 0 else style.minus) + "∞"
    s = f"{abs(x):.{d}f}"
    if style.thousands and abs(x) >= style.thousands_from:
        whole, _, frac = s.partition(".")
        s = _group(whole, style.thousands) + ("." + frac if frac else "")
    negative = x < 0 and any(ch not in "0." for ch in s)  # no "-0.00"
    return (style.minus if negative else "") + s


def fmt_p(p, style: Style = DEFAULT) -> str:
    """A P value: ``<0.001`` below the floor, else ``p_decimals`` decimals.

    A P value that rounds up to 1 is shown as ``1.000``; values outside
    [0, 1] are shown as they are (they are someone's bug, not ours to hide).
    """
    if _missing(p):
        return style.missing
    p = float(p)
    if 0 <= p < style.p_floor:
        return f"<{style.p_floor:.{style.p_decimals}f}"
    return _fixed(p, style.p_decimals, style)


def fmt_p_eq(p, style: Style = DEFAULT, *, letter: str = "P") -> str:
    """``P = 0.042`` or ``P < 0.001`` (for sentences)."""
    text = fmt_p(p, style)
    if text.startswith("<"):
        return f"{letter} < {text[1:]}"
    return f"{letter} = {text}" if text else f"{letter} not available"


def fmt(x, kind: str = "default", style: Style = DEFAULT) -> str:
    """A number as text in ``style`` for statistic ``kind`` (see the module notes).

    Non-numbers are returned as ``str(x)``; bools as ``yes``/``no``.
    """
    if isinstance(x, str):
        return x
    if _missing(x):
        return style.missing
    if isinstance(x, bool) or type(x).__name__ == "bool_":
        return "yes" if x else "no"
    if not is_number(x):
        return str(x)
    if kind == "p":
        return fmt_p(x, style)
    if kind == "text":
        return str(x)
    xf = float(x)
    if kind == "int" or (kind == "default" and isinstance(x, int)) or (
            kind == "default" and type(x).__name__.startswith("int")):
        if math.isfinite(xf) and xf == round(xf):
            return _fixed(xf, 0, style)
        kind = "default"
    s = _fixed(xf, style.digits(kind), style)
    return s + "%" if kind == "I2" else s


def fmt_ci(low, high, kind: str = "ci", style: Style = DEFAULT) -> str:
    """An interval ``a to b`` (or ``a–b``)."""
    if _missing(low) and _missing(high):
        return style.missing
    return f"{fmt(low, kind, style)}{style.ci_sep}{fmt(high, kind, style)}"


def fmt_est_ci(est, low, high, kind: str = "estimate", style: Style = DEFAULT) -> str:
    """``estimate (low to high)``."""
    if _missing(est):
        return style.missing
    return f"{fmt(est, kind, style)} ({fmt_ci(low, high, kind, style)})"


_INT_NAMES = {"n", "k", "df", "q_df", "q_between_df", "n_pairs", "n_exp", "n_con", "events", "k0", "friedman_n",
              "n_before", "n_after", "n_excluded", "excluded", "records", "count", "year", "iterations"}


def kind_of(name) -> str:
    """Guess the kind of statistic from a column name (code name or label)."""
    s = str(name).strip()
    low = s.lower()
    if low in ("p", "pval", "p value", "p-value", "q_pval", "qmp", "qep", "p_adj", "p (adjusted)") or \
            low.endswith("pval") or low.startswith("p (") or low.startswith("p_") or low.endswith("_p") or \
            low.startswith("p value") or low.endswith(" p") or low.startswith("p ") or low.startswith("p,"):
        return "p"
    if low in _INT_NAMES or low.startswith("n ") or low.startswith("n_") or low.endswith("_n") or low == "no." \
            or re.fullmatch(r"n \(.*\)", low) or low.endswith("(k)") or low.startswith("patients") \
            or low.startswith("records") or low.startswith("excluded") or low.startswith("missing data"):
        return "int"
    if low in ("i2", "i²", "i² (%)") or low.startswith("i2"):
        return "I2"
    if low in ("tau2", "tau²") or low.startswith("tau"):
        return "tau2"
    if low in ("se", "sei", "se_implied") or low.startswith("se "):
        return "se"
    if low in ("weight", "weight (%)") or low.startswith("weight"):
        return "weight"
    if low in ("mean", "median", "q1", "q3"):
        return "median"
    if low in ("sd",):
        return "sd"
    if low in ("q", "h2", "qm", "qe", "stat", "z", "t", "chi2"):
        return "stat"
    return "default"


def format_frame(frame, kinds: dict | None = None, style: Style = DEFAULT):
    """A copy of ``frame`` with every cell as text in ``style``.

    ``kinds`` maps a column to its kind; other columns are guessed with
    :func:`kind_of`. Integer-valued float columns whose kind is ``default``
    and that hold only whole numbers (counts read as floats) print as
    integers.
    """
    import pandas as pd

    kinds = dict(kinds or {})
    cols = []
    for j, c in enumerate(frame.columns):
        col = frame.iloc[:, j]
        kind = kinds.get(c) or kind_of(c)
        if kind == "default" and pd.api.types.is_float_dtype(col):
            vals = col.dropna()
            if len(vals) and (vals == vals.round()).all() and (vals.abs() < 1e15).all():
                kind = "int"
        cols.append([fmt(v, kind, style) for v in col.tolist()])
    out = pd.DataFrame(dict(enumerate(cols)), index=frame.index)
    out.columns = list(frame.columns)
    return out


def merge_ci(frame, low: str = "95% CI lower", high: str = "95% CI upper", name: str = "95% CI",
             kind: str = "ci", style: Style = DEFAULT):
    """Replace the numeric columns ``low`` and ``high`` by one text column ``a to b``."""
    if low not in frame.columns or high not in frame.columns:
        return frame
    out = frame.copy()
    at = list(out.columns).index(low)
    merged = [fmt_ci(a, b, kind, style) for a, b in zip(out[low].tolist(), out[high].tolist())]
    out = out.drop(columns=[low, high])
    out.insert(at, name, merged)
    return out


def _not_a_number(x, style: Style, other=None) -> str | None:
    """The text of ``x`` when it is not a number to format, else None: text as it is, a missing value
    as ``style.missing``, any other object as ``other(x)`` (default: as :func:`fmt` writes it)."""
    if isinstance(x, str):
        return x
    if _missing(x):
        return style.missing
    if not is_number(x):
        return other(x) if other is not None else fmt(x, "default", style)
    return None


def fmt_fixed(x, decimals: int, style: Style = DEFAULT, *, trim: bool = False) -> str:
    """A number with exactly ``decimals`` decimals, for when the decimals depend on the data
    (Table 1 chooses them from the values' magnitude); separators, minus and missing as ``style``.

    ``trim=True`` drops trailing zeros (``37.5``, ``5.25``, ``214``), the
    layout of the seed paper's Table 3 of declines.
    """
    text = _not_a_number(x, style)
    if text is not None:
        return text
    text = _fixed(float(x), int(decimals), style)
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def fmt_n(n, style: Style = DEFAULT) -> str:
    """A count (``12``, ``12,345``); a non-whole value keeps two decimals."""
    return fmt(n, "int", style)


def fmt_pct(x, kind: str = "percent", style: Style = DEFAULT) -> str:
    """A percentage that is already on the 0-100 scale, with the sign: ``12.5%``."""
    text = fmt(x, kind, style)
    return text if (not text or text.endswith("%")) else text + "%"


def fmt_sig(x, digits: int = 4, style: Style = DEFAULT) -> str:
    """A value of unknown scale (raw data, pixel coordinates) to ``digits`` significant digits.

    Fixed notation between 1e-4 and 1e15 (``0.0001234``, ``1,234.5``),
    scientific outside; trailing zeros are dropped (a data value, not a
    statistic with a set number of decimals).
    """
    text = _not_a_number(x, style)
    if text is not None:
        return text
    xf = float(x)
    if not math.isfinite(xf):
        return _fixed(xf, 0, style)
    if xf == 0:
        return "0"
    mag = math.floor(math.log10(abs(xf)))
    if mag < -4 or mag >= 15:
        text = f"{abs(xf):.{max(digits - 1, 0)}e}"
        mant, _, exp = text.partition("e")
        if "." in mant:
            mant = mant.rstrip("0").rstrip(".")
        return (style.minus if xf < 0 else "") + f"{mant}e{int(exp)}"
    d = max(digits - 1 - mag, 0)
    text = _fixed(round(xf, d), d, style)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", style.minus + "0", "-0") else text


def fmt_plain(x, style: Style = DEFAULT) -> str:
    """A setting or threshold as the user would write it: ``0.1``, ``50``, ``1e-06``.

    For numbers that are part of a rule or an option (``Q p < 0.1``,
    ``add=0.5``), not for results: six significant digits, no padding.
    """
    text = _not_a_number(x, style, str)
    if text is not None:
        return text
    xf = float(x)
    if math.isfinite(xf) and xf == round(xf) and abs(xf) < 1e15:
        return str(int(xf)) if xf >= 0 else style.minus + str(int(-xf))
    return fmt_sig(xf, 6, style.with_(thousands=""))


def fmt_seconds(seconds, style: Style = DEFAULT) -> str:
    """A duration: ``0.42 s``, ``12.3 s``, ``2 min 05 s``, ``1 h 02 min``."""
    if _missing(seconds):
        return style.missing
    s = float(seconds)
    if s < 10:
        return f"{_fixed(s, 2, style)} s"
    if s < 60:
        return f"{_fixed(s, 1, style)} s"
    whole = int(round(s))
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {(whole % 3600) // 60:02d} min"


def fmt_level(level, style: Style = DEFAULT) -> str:
    """A confidence level as a percentage: ``0.95`` -> ``95%``, ``0.975`` -> ``97.5%``."""
    return fmt_plain(round(100 * float(level), 10), style) + "%"


def fmt_stat(name: str, value, df=None, kind: str = "stat", style: Style = DEFAULT) -> str:
    """A test statistic with its degrees of freedom: ``Q(3) = 4.21``, ``t(4.5) = 2.10``, ``z = 1.96``.

    ``df`` may be a number or a pair (``F(2, 10)``); whole degrees of freedom
    print as integers, others with the fewest decimals needed (Welch, KNHA).
    """
    if df is None:
        head = name
    else:
        dfs = df if isinstance(df, (tuple, list)) else (df,)
        head = f"{name}({', '.join(fmt_plain(round(float(v), 2), style) for v in dfs)})"
    return f"{head} = {fmt(value, kind, style)}"


def with_digits(digits, style: Style = DEFAULT) -> Style:
    """``style`` with ``digits`` decimals for every statistic except P, I², percentages and counts.

    ``None`` returns ``style`` unchanged (the journal defaults).
    """
    if digits is None:
        return style
    keep = ("int", "I2", "percent", "weight")
    return style.with_(decimals={k: int(digits) for k in style.decimals if k not in keep})


def table_text(frame, kinds: dict | None = None, style: Style = DEFAULT, *, index: bool = False) -> str:
    """A data frame as an aligned plain-text table, every number through :func:`format_frame`.

    Text columns are left-aligned, number and P-value columns right-aligned
    (as a journal table reads in a terminal).
    """
    import pandas as pd

    if frame is None or len(frame.columns) == 0:
        return ""
    shown = frame.reset_index() if index else frame
    text = format_frame(shown, kinds, style)
    kinds = dict(kinds or {})
    # numbers, and P values already written as text ("<0.001"), are right-aligned so decimals line up
    numeric = [(pd.api.types.is_numeric_dtype(shown.iloc[:, j]) and not pd.api.types.is_bool_dtype(shown.iloc[:, j]))
               or (kinds.get(c) or kind_of(c)) == "p" for j, c in enumerate(shown.columns)]
    header = [str(c) for c in shown.columns]
    cells = [[str(v) for v in text.iloc[:, j].tolist()] for j in range(text.shape[1])]
    widths = [max([len(h)] + [len(v) for v in col]) for h, col in zip(header, cells)]

    def line(values):
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    rows = [line(header)]
    for i in range(len(shown)):
        rows.append(line([col[i] for col in cells]))
    return "\n".join(rows)


def table_text_columns(columns, kinds: dict | None = None, style: Style = DEFAULT) -> str:
    """:func:`table_text` without pandas: ``columns`` is a sequence of ``(name, values)``.

    ``values`` is a numpy array (numbers: right-aligned, as a numeric column of a frame) or a list
    (text, as an object column). The text is exactly what :func:`table_text` prints for
    ``pandas.DataFrame(dict(columns))`` (used on the command line's pandas-free paths).
    """
    if not columns:
        return ""
    kinds = dict(kinds or {})
    header, cells, numeric = [], [], []
    for name, values in columns:
        dtype_kind = getattr(getattr(values, "dtype", None), "kind", "O")
        kind = kinds.get(name) or kind_of(name)
        vals = values.tolist() if hasattr(values, "tolist") else list(values)
        if kind == "default" and dtype_kind == "f":
            fin = [v for v in vals if v == v]
            if fin and all(abs(v) < 1e15 and v == round(v) for v in fin):
                kind = "int"
        header.append(str(name))
        cells.append([str(fmt(v, kind, style)) for v in vals])
        numeric.append(dtype_kind in "iuf" or kind == "p")
    widths = [max([len(h)] + [len(v) for v in col]) for h, col in zip(header, cells)]

    def line(values):
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    n = len(cells[0])
    return "\n".join([line(header)] + [line([col[i] for col in cells]) for i in range(n)])
