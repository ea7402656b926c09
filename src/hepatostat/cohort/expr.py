"""A small, safe condition language for eligibility criteria and groups.

Criteria files never run Python. A condition is parsed here, by hand, into a
tree of a few node types and evaluated column-wise on a table of persons.
Nothing else can be expressed: no attribute access, no function calls other
than ``all(...)`` and ``any(...)``, no names starting with ``_``.

Grammar
-------
::

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | primary
    primary    := "(" condition ")"
                | ("all" | "any") "(" condition ("," condition)* ")"
                | FIELD OP literal                   -- age >= 16
                | FIELD "between" literal "and" literal   -- inclusive at both ends
                | FIELD ["not"] "in" "[" literal ("," literal)* "]"
                | FIELD "is" ["not"] "missing"
                | FIELD                              -- a true/false (or 0/1) field
    OP         := "==" | "!=" | "<" | "<=" | ">" | ">="
    literal    := number | 'text' | "text" | true | false

Field names are letters, digits and ``_`` and start with a letter. The words
``and or not in between is missing true false all any`` are reserved.

The same conditions can be written as TOML/YAML structures::

    when = "age between 16 and 60"
    when = {all = ["hbsag_months > 6", "diagnosis in ['liver_failure', 'cirrhosis']"]}
    when = {field = "age", op = "between", value = [16, 60]}

Missing values (three-valued logic)
-----------------------------------
A comparison with a missing value is *unknown*, not false. ``and``, ``or``
and ``not`` follow Kleene's logic (unknown and false = false, unknown or true
= true, not unknown = unknown); ``is missing`` is never unknown. What an
unknown result means is decided by the caller: an inclusion criterion that is
unknown is not met, an exclusion criterion that is unknown does not exclude
(see :mod:`hepatostat.cohort.eligibility`).

Types
-----
Numeric fields compare with numbers; text fields with text (``==``, ``!=``,
``in`` only); true/false fields with ``true``/``false`` or ``1``/``0``;
date fields with ISO dates written as text (``birth_date < '1960-01-01'``).
Anything else is an error naming the field.
"""

from __future__ import annotations

import abc
import math
import re
import reprlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.format import fmt_n, fmt_plain

__all__ = ["Condition", "parse_condition", "ConditionError", "RESERVED", "MAX_DEPTH", "MAX_LENGTH"]

RESERVED = frozenset({"and", "or", "not", "in", "between", "is", "missing", "true", "false", "all", "any"})
#: deepest nesting of parentheses, not, all(...) and any(...) (and of the structured form) accepted
MAX_DEPTH = 50
#: longest condition text accepted (characters)
MAX_LENGTH = 10_000
_OPS = ("==", "!=", "<", "<=", ">", ">=")
_ALLOWED = (
    "allowed: field names, numbers, 'text', comparison operators == != < <= > >=, and, or, not, "
    "between ... and ..., in [...], is [not] missing, all(...), any(...), parentheses"
)

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[()\[\],])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)


class ConditionError(InputError):
    """A condition that cannot be parsed or evaluated; ``field`` names the field involved."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


# --------------------------------------------------------------------------
# nodes
# --------------------------------------------------------------------------

Truth = tuple  # (truth: bool array, known: bool array)


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    vals = series.dropna()
    if len(vals) and all(isinstance(v, (bool, np.bool_)) for v in vals):
        return "bool"
    if len(vals) and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in vals):
        return "number"
    return "text"


def _lit_repr(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v)
    return fmt_plain(v) if isinstance(v, float) else str(v)


def _column(frame: pd.DataFrame, field: str) -> pd.Series:
    if field not in frame.columns:
        raise ConditionError(f"unknown field {field!r}", field=field)
    return frame[field]


def _coerce(series: pd.Series, field: str, value, op: str):
    """(array of the field, literal) ready to compare, or a ConditionError."""
    kind = _kind(series)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConditionError(f"field {field!r} is numeric; compare it with a number, not {_lit_repr(value)}", field=field)
        return series.astype(float).to_numpy(), float(value)
    if kind == "bool":
        if op not in ("==", "!=", "in"):
            raise ConditionError(f"field {field!r} is true/false; use == or != (or the field alone), not {op}", field=field)
        if isinstance(value, bool):
            lit = value
        elif isinstance(value, (int, float)) and value in (0, 1):
            lit = bool(value)
        else:
            raise ConditionError(f"field {field!r} is true/false; compare it with true or false, not {_lit_repr(value)}", field=field)
        arr = series.astype(object).map(lambda v: np.nan if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else float(bool(v)))
        return arr.astype(float).to_numpy(), float(lit)
    if kind == "date":
        if not isinstance(value, str):
            raise ConditionError(f"field {field!r} holds dates; compare it with an ISO date such as '2014-03-01'", field=field)
        try:
            lit = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            lit = pd.NaT
        if lit is pd.NaT:
            raise ConditionError(f"field {field!r}: cannot read {value!r} as a date (use ISO, e.g. '2014-03-01')", field=field)
        arr = pd.to_datetime(series)
        days = (arr - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy() / 86400.0
        return days, (lit - pd.Timestamp("1970-01-01")).total_seconds() / 86400.0
    # text
    if op not in ("==", "!=", "in"):
        raise ConditionError(f"field {field!r} is text; only ==, != and in are allowed, not {op}", field=field)
    if not isinstance(value, str):
        raise ConditionError(f"field {field!r} is text; compare it with text in quotes, not {_lit_repr(value)}", field=field)
    return series.astype(object).to_numpy(), value


def _known(arr) -> np.ndarray:
    return ~pd.isna(arr)


class Condition(abc.ABC):
    """A parsed condition. ``evaluate(frame)`` gives ``(truth, known)`` arrays."""

    text: str = ""

    @property
    @abc.abstractmethod
    def fields(self) -> frozenset:
        """The fields the condition reads."""

    @abc.abstractmethod
    def evaluate(self, frame: pd.DataFrame) -> Truth:
        """Truth values and whether each is known, per row of ``frame``."""

    def __str__(self) -> str:  # pragma: no cover - overridden
        return self.text


@dataclass(frozen=True)
class Compare(Condition):
    field: str
    op: str
    value: object

    @property
    def fields(self):
        return frozenset({self.field})

    def evaluate(self, frame):
        arr, lit = _coerce(_column(frame, self.field), self.field, self.value, self.op)
        known = _known(arr)
        with np.errstate(invalid="ignore"):
            if self.op == "==":
                t = arr == lit
            elif self.op == "!=":
                t = arr != lit
            elif self.op == "<":
                t = arr < lit
            elif self.op == "<=":
                t = arr <= lit
            elif self.op == ">":
                t = arr > lit
            else:
                t = arr >= lit
        return np.asarray(t, dtype=bool) & known, known

    def __str__(self):
        return f"{self.field} {self.op} {_lit_repr(self.value)}"


@dataclass(frozen=True)
class Between(Condition):
    field: str
    low: object
    high: object

    @property
    def fields(self):
        return frozenset({self.field})

    def evaluate(self, frame):
        col = _column(frame, self.field)
        arr, lo = _coerce(col, self.field, self.low, "<=")
        _, hi = _coerce(col, self.field, self.high, "<=")
        known = _known(arr)
        with np.errstate(invalid="ignore"):
            t = (arr >= lo) & (arr <= hi)
        return np.asarray(t, dtype=bool) & known, known

    def __str__(self):
        return f"{self.field} between {_lit_repr(self.low)} and {_lit_repr(self.high)}"


@dataclass(frozen=True)
class In(Condition):
    field: str
    values: tuple
    negate: bool = False

    @property
    def fields(self):
        return frozenset({self.field})

    def evaluate(self, frame):
        col = _column(frame, self.field)
        lits = []
        arr = None
        for v in self.values:
            arr, lit = _coerce(col, self.field, v, "in")
            lits.append(lit)
        known = _known(arr)
        t = pd.Series(arr, dtype=object).isin(lits).to_numpy()
        if self.negate:
            t = ~t
        return t & known, known

    def __str__(self):
        return f"{self.field} {'not in' if self.negate else 'in'} [{', '.join(_lit_repr(v) for v in self.values)}]"


@dataclass(frozen=True)
class IsMissing(Condition):
    field: str
    negate: bool = False

    @property
    def fields(self):
        return frozenset({self.field})

    def evaluate(self, frame):
        miss = pd.isna(_column(frame, self.field)).to_numpy()
        t = ~miss if self.negate else miss
        return t, np.ones(len(t), bool)

    def __str__(self):
        return f"{self.field} is {'not ' if self.negate else ''}missing"


@dataclass(frozen=True)
class Flag(Condition):
    field: str

    @property
    def fields(self):
        return frozenset({self.field})

    def evaluate(self, frame):
        col = _column(frame, self.field)
        kind = _kind(col)
        if kind == "bool":
            arr, _ = _coerce(col, self.field, True, "==")
        elif kind == "number":
            arr = col.astype(float).to_numpy()
        else:
            raise ConditionError(
                f"field {self.field!r} is {kind}, not true/false; write a comparison "
                f"(e.g. {self.field} == 'value')",
                field=self.field,
            )
        known = _known(arr)
        with np.errstate(invalid="ignore"):
            t = (arr != 0) & known
        return t, known

    def __str__(self):
        return self.field


@dataclass(frozen=True)
class All(Condition):
    items: tuple

    @property
    def fields(self):
        return frozenset().union(*(i.fields for i in self.items))

    def evaluate(self, frame):
        n = len(frame)
        t = np.ones(n, bool)
        all_known = np.ones(n, bool)
        some_false = np.zeros(n, bool)
        for item in self.items:
            ti, ki = item.evaluate(frame)
            t &= ti
            all_known &= ki
            some_false |= ki & ~ti
        known = all_known | some_false
        return t & known, known

    def __str__(self):
        return " and ".join(_wrap(i) for i in self.items)


@dataclass(frozen=True)
class Any_(Condition):
    items: tuple

    @property
    def fields(self):
        return frozenset().union(*(i.fields for i in self.items))

    def evaluate(self, frame):
        n = len(frame)
        t = np.zeros(n, bool)
        all_known = np.ones(n, bool)
        for item in self.items:
            ti, ki = item.evaluate(frame)
            t |= ti
            all_known &= ki
        known = all_known | t
        return t, known

    def __str__(self):
        return " or ".join(_wrap(i) for i in self.items)


@dataclass(frozen=True)
class Not(Condition):
    item: Condition

    @property
    def fields(self):
        return self.item.fields

    def evaluate(self, frame):
        t, k = self.item.evaluate(frame)
        return ~t & k, k

    def __str__(self):
        return f"not {_wrap(self.item)}"


def _wrap(c: Condition) -> str:
    return f"({c})" if isinstance(c, (All, Any_)) and len(c.items) > 1 else str(c)


# --------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------


def _shown(text: str, limit: int = 60) -> str:
    """The condition as quoted in messages (long ones shortened)."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({fmt_n(len(text))} characters)"


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.depth = 0
        if len(text) > MAX_LENGTH:
            self._err(f"the condition is {fmt_n(len(text))} characters long; at most {fmt_n(MAX_LENGTH)} are allowed")
        self.tokens = self._tokenize(text)
        self.i = 0

    def _err(self, msg: str, pos: int | None = None):
        where = f" at position {pos + 1}" if pos is not None else ""
        raise ConditionError(f"cannot parse condition {_shown(self.text)}{where}: {msg}")

    def _enter(self, pos: int):
        """One level deeper (parenthesis, not, all/any); refused beyond MAX_DEPTH, before Python's own limit."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self._err(f"nested more than {MAX_DEPTH} levels deep (parentheses, not, all/any); simplify the condition",
                      pos)

    def _tokenize(self, text: str):
        tokens = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                ch = text[pos]
                hint = " (use == for equality)" if ch == "=" else ""
                self._err(f"unexpected character {ch!r}{hint}; {_ALLOWED}", pos)
            kind = m.lastgroup
            value = m.group()
            if kind == "name" and value.startswith("_"):
                self._err(f"names starting with '_' are not allowed ({value!r}); {_ALLOWED}", pos)
            if kind != "ws":
                if kind == "name" and value.lower() in RESERVED:
                    kind, value = "kw", value.lower()
                tokens.append((kind, value, pos))
            pos = m.end()
        tokens.append(("end", "", len(text)))
        return tokens

    def peek(self, k: int = 0):
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def take(self):
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, kind, value=None):
        tok = self.take()
        if tok[0] != kind or (value is not None and tok[1] != value):
            want = value or kind
            got = tok[1] or "end of text"
            self._err(f"expected {want!r}, found {got!r}", tok[2])
        return tok

    def parse(self) -> Condition:
        if self.peek()[0] == "end":
            self._err("empty condition")
        c = self.or_()
        tok = self.peek()
        if tok[0] != "end":
            self._err(f"unexpected {tok[1]!r}; {_ALLOWED}", tok[2])
        return c

    def or_(self):
        items = [self.and_()]
        while self.peek()[:2] == ("kw", "or"):
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else Any_(tuple(items))

    def and_(self):
        items = [self.not_()]
        while self.peek()[:2] == ("kw", "and"):
            self.take()
            items.append(self.not_())
        return items[0] if len(items) == 1 else All(tuple(items))

    def not_(self):
        if self.peek()[:2] == ("kw", "not"):
            self._enter(self.take()[2])
            c = Not(self.not_())
            self.depth -= 1
            return c
        return self.primary()

    def literal(self):
        kind, value, pos = self.take()
        if kind == "num":
            number = float(value) if any(c in value for c in ".eE") else int(value)
            try:
                finite = math.isfinite(float(number))
            except OverflowError:  # an integer beyond the range of a double
                finite = False
            if not finite:
                shown = value if len(value) <= 20 else f"{value[:12]}... ({len(value)} characters)"
                self._err(f"the number {shown} is too large; numbers must lie within +-1.8e308", pos)
            return number
        if kind == "str":
            return value[1:-1]
        if kind == "kw" and value in ("true", "false"):
            return value == "true"
        self._err(f"expected a number, 'text', true or false, found {value or 'end of text'!r}", pos)

    def primary(self):
        kind, value, pos = self.peek()
        if (kind, value) == ("punct", "("):
            self._enter(pos)
            self.take()
            c = self.or_()
            self.expect("punct", ")")
            self.depth -= 1
            return c
        if kind == "kw" and value in ("all", "any"):
            self._enter(pos)
            self.take()
            self.expect("punct", "(")
            items = [self.or_()]
            while self.peek()[:2] == ("punct", ","):
                self.take()
                items.append(self.or_())
            self.expect("punct", ")")
            self.depth -= 1
            return All(tuple(items)) if value == "all" else Any_(tuple(items))
        if kind != "name":
            self._err(f"expected a field name, found {value or 'end of text'!r}; {_ALLOWED}", pos)
        self.take()
        field = value
        nxt = self.peek()
        if nxt[:2] == ("punct", "("):
            self._err(f"function calls are not allowed ({field}(...)); only all(...) and any(...)", pos)
        if nxt[0] == "op":
            self.take()
            return Compare(field, nxt[1], self.literal())
        if nxt[:2] == ("kw", "between"):
            self.take()
            lo = self.literal()
            self.expect("kw", "and")
            hi = self.literal()
            return _between(field, lo, hi)
        if nxt[:2] == ("kw", "in") or (nxt[:2] == ("kw", "not") and self.peek(1)[:2] == ("kw", "in")):
            negate = nxt[1] == "not"
            self.take()
            if negate:
                self.take()
            self.expect("punct", "[")
            vals = [self.literal()]
            while self.peek()[:2] == ("punct", ","):
                self.take()
                vals.append(self.literal())
            self.expect("punct", "]")
            return In(field, tuple(vals), negate)
        if nxt[:2] == ("kw", "is"):
            self.take()
            negate = False
            if self.peek()[:2] == ("kw", "not"):
                self.take()
                negate = True
            self.expect("kw", "missing")
            return IsMissing(field, negate)
        return Flag(field)


def _between(field, lo, hi) -> Between:
    for v in (lo, hi):
        if isinstance(v, bool):
            raise ConditionError(f"between needs numbers or dates, not {_lit_repr(v)}", field=field)
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo > hi:
        raise ConditionError(f"{field} between {lo} and {hi}: the lower bound is above the upper bound", field=field)
    return Between(field, lo, hi)


_STRUCT_OPS = _OPS + ("between", "in", "not in", "is missing", "is not missing")


def _literal_value(v, where: str):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            finite = math.isfinite(float(v))
        except OverflowError:
            finite = False
        if not finite:
            shown = repr(v) if len(repr(v)) <= 20 else f"{repr(v)[:12]}... ({len(repr(v))} characters)"
            raise ConditionError(f"{where}: numbers must be finite and within +-1.8e308, got {shown}", field=where)
    if isinstance(v, (bool, int, float, str)):
        return v
    raise ConditionError(f"{where}: values must be numbers, text or true/false, got {type(v).__name__}")


def parse_condition(spec) -> Condition:
    """Parse a condition written as text or as a TOML/YAML structure.

    Parameters
    ----------
    spec : str, list or dict
        ``"age between 16 and 60"``; a list (all must hold); ``{"all":
        [...]}``, ``{"any": [...]}``, ``{"not": ...}``; or ``{"field": ...,
        "op": ..., "value": ...}`` with ``op`` one of ``== != < <= > >=
        between in "not in" "is missing" "is not missing"``.

    Returns
    -------
    Condition
        With ``.fields`` (the fields it reads), ``.evaluate(frame)`` and a
        readable ``str()``.

    Raises
    ------
    ConditionError
        (an :class:`~hepatostat.errors.InputError`) for anything outside the
        grammar, e.g. ``__import__('os')``.
    """
    return _parse(spec, 0)


def _parse(spec, _depth: int) -> Condition:
    if _depth > MAX_DEPTH:
        raise ConditionError(f"the condition is nested more than {MAX_DEPTH} levels deep (all, any, not, lists); "
                             "simplify it")
    if isinstance(spec, str):
        c = _Parser(spec).parse()
        return c
    if isinstance(spec, list):
        if not spec:
            raise ConditionError("an empty list is not a condition")
        items = tuple(_parse(s, _depth + 1) for s in spec)
        return items[0] if len(items) == 1 else All(items)
    if isinstance(spec, dict):
        keys = set(spec)
        if keys in ({"all"}, {"any"}):
            (k,) = keys
            sub = spec[k]
            if not isinstance(sub, list) or not sub:
                raise ConditionError(f"{k} needs a non-empty list of conditions")
            items = tuple(_parse(s, _depth + 1) for s in sub)
            return All(items) if k == "all" else Any_(items)
        if keys == {"not"}:
            return Not(_parse(spec["not"], _depth + 1))
        if "field" in keys and "op" in keys and keys <= {"field", "op", "value"}:
            field, op = spec["field"], spec["op"]
            if not isinstance(field, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", field) or field.lower() in RESERVED:
                raise ConditionError(f"field must be a name of letters, digits and _ starting with a letter, got {field!r}")
            if op not in _STRUCT_OPS:
                raise ConditionError(f"op {op!r} is not allowed; allowed: {', '.join(_STRUCT_OPS)}", field=field)
            if op in ("is missing", "is not missing"):
                if "value" in spec:
                    raise ConditionError(f"{op} takes no value", field=field)
                return IsMissing(field, op == "is not missing")
            if "value" not in spec:
                raise ConditionError(f"op {op!r} needs a value", field=field)
            value = spec["value"]
            if op == "between":
                if not isinstance(value, list) or len(value) != 2:
                    raise ConditionError("between needs value = [low, high]", field=field)
                return _between(field, _literal_value(value[0], field), _literal_value(value[1], field))
            if op in ("in", "not in"):
                if not isinstance(value, list) or not value:
                    raise ConditionError(f"{op} needs a non-empty list of values", field=field)
                return In(field, tuple(_literal_value(v, field) for v in value), op == "not in")
            return Compare(field, op, _literal_value(value, field))
        raise ConditionError(
            f"cannot read condition {reprlib.repr(spec)}; use text (\"age between 16 and 60\"), {{all = [...]}}, "
            "{any = [...]}, {not = ...} or {field = ..., op = ..., value = ...}"
        )
    raise ConditionError(f"a condition must be text, a list or a table, got {type(spec).__name__}")
