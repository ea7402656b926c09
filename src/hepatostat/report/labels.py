"""The data dictionary: variable -> label, unit, type and value labels.

Every table header, axis, legend and caption of a report asks the
dictionary for a variable's words, so no code name (``alt_W0``,
``meld_decline``) reaches a reader. Built-in entries cover the liver tests of
the seed cohort study (Jia et al. 2020): ALT and AST in U/L, total bilirubin
(TBIL) in µmol/L, PTA in %, INR, creatinine in µmol/L, albumin in g/L,
sodium in mmol/L, the MELD and MELD-Na scores (no unit). A user's dictionary
(TOML or CSV: ``variable, label, unit, type, value_labels``), SPSS/Stata
labels carried in ``DataFrame.attrs`` and units found in the data override
the built-ins.

Derived names are read as the cohort engine writes them:
``alt_W0`` -> "ALT at W0", ``alt_decline_W0_W1`` -> "ALT decline W0–W1",
``alt_cumdecline_W24`` -> "Cumulative ALT decline W0–W24".
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputError

__all__ = ["Variable", "Dictionary", "BUILTIN", "TEST_NAMES", "test_name"]


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    unit: str = ""
    type: str = "continuous"
    long: str = ""  # spelled out, for table footnotes (abbreviations)
    values: dict = field(default_factory=dict)

    def with_unit(self) -> str:
        """``label (unit)`` or just ``label``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


_B = [
    Variable("age", "Age", "years"),
    Variable("sex", "Sex", "", "categorical", values={"M": "Male", "F": "Female", "m": "Male", "f": "Female"}),
    Variable("alt", "ALT", "U/L", long="alanine aminotransferase"),
    Variable("ast", "AST", "U/L", long="aspartate aminotransferase"),
    Variable("bilirubin", "TBIL", "µmol/L", long="total bilirubin"),
    Variable("tbil", "TBIL", "µmol/L", long="total bilirubin"),
    Variable("pta", "PTA", "%", long="prothrombin time activity"),
    Variable("inr", "INR", "", long="international normalised ratio"),
    Variable("creatinine", "Creatinine", "µmol/L"),
    Variable("albumin", "Albumin", "g/L"),
    Variable("sodium", "Sodium", "mmol/L"),
    Variable("meld", "MELD", "", long="model for end-stage liver disease score"),
    Variable("meld_na", "MELD-Na", "", long="MELD score with serum sodium"),
    Variable("group", "Group", "", "categorical"),
    Variable("diagnosis", "Diagnosis", "", "categorical"),
]
BUILTIN = {v.name: v for v in _B}

#: readable names of the tests the engines report by code
TEST_NAMES = {
    "student_t": "t test", "welch_t": "Welch's t test", "anova": "one-way ANOVA", "welch_anova": "Welch's ANOVA",
    "mann_whitney": "Mann–Whitney U", "kruskal": "Kruskal–Wallis", "chi2": "χ² test", "fisher": "Fisher's exact test",
    "wilcoxon": "Wilcoxon signed-rank", "friedman": "Friedman test",
}


def test_name(code) -> str:
    return TEST_NAMES.get(str(code), str(code).replace("_", " "))


_DERIVED = [
    (re.compile(r"^(?P<v>.+)_cumdecline_(?P<b>W\d+)$"), "Cumulative {label} decline W0–{b}"),
    (re.compile(r"^(?P<v>.+)_decline_(?P<a>W\d+)_(?P<b>W\d+)$"), "{label} decline {a}–{b}"),
    (re.compile(r"^(?P<v>.+)_(?P<a>W\d+)$"), "{label} at {a}"),
]


class Dictionary:
    """Labels and units for the variables of one report."""

    def __init__(self, entries: dict | None = None):
        self.entries: dict[str, Variable] = dict(BUILTIN)
        self.entries.update(entries or {})
        self.converted: list[str] = []  # sentences: which units were converted and how

    # ------------------------------------------------------------ sources
    @classmethod
    def from_file(cls, path) -> "Dictionary":
        """Read a dictionary from TOML (``[alt] label = "ALT" unit = "U/L"``) or CSV."""
        p = Path(path)
        d = cls()
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text (byte {exc.start}); save the dictionary as UTF-8", file=p) from None
        except OSError as exc:
            raise InputError(f"cannot read the dictionary: {exc.strerror}", file=p) from None
        if p.suffix.lower() == ".toml":
            import tomllib

            try:
                data = tomllib.loads(text)
            except (tomllib.TOMLDecodeError, RecursionError) as exc:
                raise InputError(f"not valid TOML: {str(exc)[:200]}", file=p) from None
            rows = [{"variable": k, **(v if isinstance(v, dict) else {})} for k, v in data.items()]
        else:
            rows = list(csv.DictReader(text.splitlines()))
        for i, r in enumerate(rows, 2):
            name = str(r.get("variable") or "").strip()
            if not name:
                raise InputError("empty variable name", file=p, row=i, column="variable")
            vals = r.get("value_labels") or {}
            if isinstance(vals, str):
                vals = dict(x.split("=", 1) for x in vals.split(";") if "=" in x)
            base = d.entries.get(name, Variable(name, name))
            d.entries[name] = replace(base, label=str(r.get("label") or base.label), unit=str(r.get("unit") or base.unit),
                                      type=str(r.get("type") or base.type), values={**base.values, **vals})
        return d

    def update_from_attrs(self, frame) -> None:
        """Take SPSS/Stata variable and value labels from ``frame.attrs`` (``labels``/``value_labels``)."""
        attrs = getattr(frame, "attrs", {}) or {}
        labels = attrs.get("labels") or attrs.get("variable_labels") or attrs.get("column_labels") or {}
        values = attrs.get("value_labels") or {}
        for name, lab in dict(labels).items():
            if lab and name not in BUILTIN:
                base = self.entries.get(name, Variable(name, name))
                self.entries[name] = replace(base, label=str(lab))
        for name, vals in dict(values).items():
            base = self.entries.get(name, Variable(name, name))
            self.entries[name] = replace(base, values={**base.values, **{str(k): str(v) for k, v in dict(vals).items()}})

    def set_unit(self, name: str, unit: str) -> None:
        base = self.entries.get(name, Variable(name, name))
        if unit and unit != "1":
            self.entries[name] = replace(base, unit=unit)

    # ------------------------------------------------------------ lookups
    def var(self, name: str) -> Variable:
        name = str(name)
        if name in self.entries:
            return self.entries[name]
        for rx, template in _DERIVED:
            m = rx.match(name)
            if m and m.group("v") in self.entries:
                base = self.entries[m.group("v")]
                lab = template.format(label=base.label, **{k: v for k, v in m.groupdict().items() if k != "v"})
                if lab[0].islower():
                    lab = lab[0].upper() + lab[1:]
                return Variable(name, lab, base.unit, base.type, base.long, base.values)
        return Variable(name, name.replace("_", " "))

    def label(self, name: str, *, unit: bool = True) -> str:
        v = self.var(name)
        return v.with_unit() if unit else v.label

    def unit(self, name: str) -> str:
        return self.var(name).unit

    def value(self, name: str, level) -> str:
        return self.var(name).values.get(str(level), str(level))

    def abbreviations(self, names) -> str:
        """The footnote spelling out abbreviations, in the seed's style."""
        seen, out = set(), []
        for n in names:
            v = self.var(n)
            if v.long and v.label not in seen:
                seen.add(v.label)
                out.append(f"{v.label}, {v.long}")
        return "; ".join(out) + ("." if out else "")
