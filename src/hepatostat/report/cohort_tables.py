"""The seed cohort paper's tables, with labels and units (Jia et al. 2020 layout).

- Table 1/2: two pairs of groups side by side, each pair with its P value
  (Table 1: A vs B and C vs D; Table 2: A vs C and B vs D);
- Table 3: interval declines W0–W1 ... W12–W24 per outcome and group, each
  with a P value for the paper's pairs (A: A vs B, B: B vs D, C: C vs D,
  D: A vs C), the other pairs' P values below;
- the over-time table compact: one row per outcome and group, visits as
  columns, median (Q1 to Q3), with the Friedman P value.

Cells are built with :mod:`hepatostat.io.format` (the one formatter).
"""

from __future__ import annotations

import re

import pandas as pd

from ..io.format import DEFAULT, fmt, fmt_ci, fmt_p
from .labels import Dictionary, test_name

__all__ = ["pair_table", "interval_table", "visits_table", "DISPLAY_UNITS", "to_display_units", "suppress_counts"]

#: units the report shows (those of the seed paper and the source data); the engine works in MELD's units
DISPLAY_UNITS = {"bilirubin": "µmol/L", "creatinine": "µmol/L", "albumin": "g/L"}


def to_display_units(long: pd.DataFrame, wide: pd.DataFrame, dictionary: Dictionary):
    """Convert engine units (mg/dL, g/dL) back to the units of the paper; returns (long, wide, sentences)."""
    from ..units import convert

    long, wide = long.copy(), wide.copy()
    sentences = []
    for outcome, target in DISPLAY_UNITS.items():
        rows = long["outcome"] == outcome
        if not rows.any():
            continue
        src = str(long.loc[rows, "unit"].iloc[0])
        if src == target:
            dictionary.set_unit(outcome, target)
            continue
        factor = float(convert(1.0, outcome, src, target))
        for col in ("value", "decline_interval", "decline_cumulative"):
            if col in long.columns:
                long.loc[rows, col] = long.loc[rows, col] * factor
        long.loc[rows, "unit"] = target
        for c in wide.columns:
            if c == outcome or c.startswith(outcome + "_") and not c.startswith(outcome + "_na"):
                if pd.api.types.is_numeric_dtype(wide[c]):
                    wide[c] = wide[c] * factor
        dictionary.set_unit(outcome, target)
        sentences.append(f"{dictionary.label(outcome, unit=False)}: the engine works in {src} (the unit MELD needs); "
                         f"tables and figures show {target} (× {factor:g}).")
    for outcome in long["outcome"].unique():
        if outcome not in DISPLAY_UNITS:
            unit = str(long.loc[long["outcome"] == outcome, "unit"].iloc[0])
            if unit not in ("score", "ratio", "nan", ""):
                dictionary.set_unit(outcome, unit)
    return long, wide, sentences


_COUNT = re.compile(r"^(\d+) \(([\d.]+)\)$")


def suppress_counts(frame: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Counts below ``min_cell`` (but above 0) shown as ``<min_cell`` (with their percentage)."""
    if not min_cell or min_cell <= 1:
        return frame
    out = frame.copy()
    for c in out.columns[1:]:
        def hide(v):
            if isinstance(v, str):
                m = _COUNT.match(v)
                if m and 0 < int(m.group(1)) < min_cell:
                    return f"<{min_cell}"
            elif isinstance(v, (int,)) and 0 < v < min_cell:
                return f"<{min_cell}"
            return v
        out[c] = out[c].map(hide)
    return out


def _var_name(text: str) -> tuple[str, str]:
    name, _, rest = str(text).partition(", ")
    return name.strip(), rest.strip()


def pair_table(t2, dictionary: Dictionary, groups_n: dict) -> tuple[pd.DataFrame, dict]:
    """Table 1/2 of the seed: two pairs side by side. Returns (frame, kinds)."""
    raw = t2.to_frame()
    cols = list(raw.columns)
    pairs = [re.search(r"\((\w+) vs (\w+)\)", c).groups() for c in cols if c.startswith("p (")]
    rows = []
    current = None
    for _, r in raw.iterrows():
        first = str(r[cols[0]])
        name, rest = _var_name(first)
        is_level = all(str(r[c]) in ("", "nan") for c in cols if c.startswith("p ("))
        if not is_level or name in dictionary.entries or "_" in name:
            current = name
            label = dictionary.label(name)
            if rest.startswith("n (%)"):
                label += ", n (%)"
            out = {"Characteristic": label}
        else:
            out = {"Characteristic": "    " + dictionary.value(current, first)}
        for a, b in pairs:
            for g in (a, b):
                src = next(c for c in cols if c.startswith(f"{g} (n"))
                out[f"Group {g} (n = {groups_n.get(g, '')})"] = r[src]
            pv = r.get(f"p ({a} vs {b})")
            out[f"P, {a} vs {b}"] = pd.to_numeric(pd.Series([pv]), errors="coerce").iloc[0] if str(pv) not in ("", "nan") else None
            if str(pv).startswith("<"):
                out[f"P, {a} vs {b}"] = str(pv)
            tc = f"test ({a} vs {b})"
            out[f"Test, {a} vs {b}"] = test_name(r[tc]) if str(r.get(tc, "")) not in ("", "nan") else ""
        rows.append(out)
    frame = pd.DataFrame(rows)
    return frame, {c: ("p" if c.startswith("P, ") else "text") for c in frame.columns}


#: the seed's assignment of pair P values to group rows in Table 3
SEED_PAIR_OF_ROW = {"A": ("A", "B"), "B": ("B", "D"), "C": ("C", "D"), "D": ("A", "C")}


def interval_table(ch, dictionary: Dictionary, *, cumulative: bool = False) -> tuple[pd.DataFrame, dict]:
    """Table 3 in the seed's layout: value and P per interval, one row per outcome and group."""
    raw = ch.to_frame()
    intervals = [c for c in raw.columns if c not in ("outcome", "group") and c.startswith("cumulative") == cumulative]
    rows = []
    for outcome, sub in raw.groupby("outcome", sort=False):
        groups = sub[~sub["group"].astype(str).str.startswith("P (")]
        prow = {tuple(re.findall(r"\((\w+) vs (\w+)\)", g)[0]): r
                for g, r in zip(sub["group"].astype(str), sub.to_dict("records")) if g.startswith("P (")}
        for i, (_, g) in enumerate(groups.iterrows()):
            grp = str(g["group"])
            out = {"Outcome": dictionary.label(outcome) if i == 0 else "", "Group": f"Group {grp}"}
            pair = SEED_PAIR_OF_ROW.get(grp)
            if pair not in prow:
                pair = next(iter(prow), None)
            for iv in intervals:
                out[iv.replace("cumulative ", "")] = g[iv]
                pv = prow[pair][iv] if pair in prow else ""
                out[f"P {iv}"] = (f"{pv} ({pair[0]}{pair[1]})" if pair and str(pv) not in ("", "nan") else "")
            rows.append(out)
    frame = pd.DataFrame(rows)
    frame.columns = [("P" if c.startswith("P ") else c) for c in frame.columns]
    return frame, {}


def visits_table(ot, dictionary: Dictionary, style=DEFAULT) -> tuple[pd.DataFrame, dict]:
    """Over time, compact: outcome × group rows, visits as columns, median (Q1 to Q3)."""
    raw = ot.to_frame()
    weeks = sorted(raw["week"].dropna().unique())
    rows = []
    for outcome, sub in raw.groupby("outcome", sort=False):
        for i, (grp, g) in enumerate(sub.groupby("group", sort=True)):
            out = {"Outcome": dictionary.label(outcome) if i == 0 else "", "Group": f"Group {grp}"}
            for w in weeks:
                r = g[g["week"] == w]
                if len(r):
                    r = r.iloc[0]
                    out[f"W{int(w)}"] = (f"{fmt(r['median'], 'median', style)} ({fmt_ci(r['q1'], r['q3'], 'median', style)})"
                                         + f" [{fmt(int(r['n']), 'int', style)}]")
                else:
                    out[f"W{int(w)}"] = ""
            fp = g["friedman_p"].dropna()
            out["P (Friedman)"] = fmt_p(fp.iloc[0], style) if len(fp) else ""
            rows.append(out)
    frame = pd.DataFrame(rows)
    return frame, {c: "text" for c in frame.columns}
