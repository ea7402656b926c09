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

from ..io.format import DEFAULT, fmt, fmt_n, fmt_plain
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
                         f"tables and figures show {target} (× {fmt_plain(factor)}).")
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
                    return f"<{fmt_n(min_cell)}"
            elif isinstance(v, (int,)) and 0 < v < min_cell:
                return f"<{fmt_n(min_cell)}"
            return v
        out[c] = out[c].map(hide)
    return out


def _decimals(values) -> int:
    """Decimals for one variable, the same in every group: by the size of its typical value."""
    vals = [abs(float(v)) for v in values if v is not None and v == v]
    big = max(vals) if vals else 0.0
    return 0 if big >= 100 else (1 if big >= 1 else 2)


def _summary(g: dict, normal, d: int, style) -> str:
    if g is None or not g.get("n"):
        return style.missing
    kind = "median"
    st = style.with_(decimals={kind: d})
    if normal:
        return f"{fmt(g['mean'], kind, st)} ± {fmt(g['sd'], kind, st)}"
    sep = "–" if (g.get("q1") is not None and g["q1"] >= 0) else " to "  # "–" is ambiguous after a negative number
    return f"{fmt(g['median'], kind, st)} ({fmt(g['q1'], kind, st)}{sep}{fmt(g['q3'], kind, st)})"


def pair_table(t2, dictionary, groups_n: dict, style=DEFAULT) -> tuple[pd.DataFrame, dict]:
    """Table 1/2 of the seed: two pairs of groups side by side, each with its P value and test.

    Built from the result's numbers (``to_dict()``); continuous rows show
    mean ± SD when both groups of the pair are normal, else median (Q1–Q3);
    categorical rows n (%) per level. Returns (frame, kinds).
    """
    d = t2.to_dict()
    pairs = d["pairs"]
    variables = [r["variable"] for r in pairs[0]["rows"]]
    rows = []
    for vi, name in enumerate(variables):
        prs = [p["rows"][vi] for p in pairs]
        kind = prs[0]["kind"]
        label = dictionary.label(name) + (", n (%)" if kind == "categorical" else "")
        head = {"Characteristic": label}
        levels = prs[0].get("levels") or []
        if kind != "categorical":
            dec = _decimals([g.get("median") for r in prs for g in r["groups"].values()])
        for p, r in zip(pairs, prs):
            a, b = p["pair"] if "pair" in p else p["groups"]
            for g in (a, b):
                col = f"Group {g} (n = {groups_n.get(g, p.get('n', {}).get(g, ''))})"
                head[col] = "" if kind == "categorical" else _summary(r["groups"].get(g), r.get("normal"), dec, style)
            head[f"P, {a} vs {b}"] = r.get("pval")
            head[f"Test, {a} vs {b}"] = test_name(r.get("test"))
        rows.append(head)
        for lev in levels:
            row = {"Characteristic": "    " + dictionary.value(name, lev)}
            for p, r in zip(pairs, prs):
                a, b = p["pair"] if "pair" in p else p["groups"]
                for g in (a, b):
                    gg = r["groups"].get(g) or {}
                    n = (gg.get("counts") or {}).get(lev)
                    pc = (gg.get("percent") or {}).get(lev)
                    row[f"Group {g} (n = {groups_n.get(g, '')})"] = (
                        "" if n is None else f"{fmt(int(n), 'int', style)} ({fmt(pc, 'percent', style)})")
                row[f"P, {a} vs {b}"] = None
                row[f"Test, {a} vs {b}"] = ""
            rows.append(row)
    frame = pd.DataFrame(rows)
    return frame, {c: ("p" if c.startswith("P, ") else "text") for c in frame.columns}


#: the seed's assignment of pair P values to group rows in Table 3
SEED_PAIR_OF_ROW = {"A": ("A", "B"), "B": ("B", "D"), "C": ("C", "D"), "D": ("A", "C")}


def interval_table(ch, dictionary, *, cumulative: bool = False, style=DEFAULT) -> tuple[pd.DataFrame, dict]:
    """Table 3 in the seed's layout: value and P per interval, one row per outcome and group.

    Each group row carries the P value of one pair, as in the seed (A: A vs
    B, B: B vs D, C: C vs D, D: A vs C), named in the column "P for".
    """
    d = ch.to_dict()
    cells = [c for c in d["cells"] if bool(c["cumulative"]) == cumulative]
    intervals = list(dict.fromkeys(c["column"] for c in cells))
    avail = {tuple(p) for p in d["pairs"]}
    rows = []
    for outcome in d["outcomes"]:
        oc = {c["column"]: c for c in cells if c["outcome"] == outcome}
        dec = _decimals([g.get("median") for c in oc.values() for g in c["groups"].values()])
        dec = max(dec, 1)
        for i, grp in enumerate(d["groups"]):
            pair = SEED_PAIR_OF_ROW.get(grp)
            if pair not in avail:
                pair = next((tuple(p) for p in d["pairs"] if grp in p), None)
            out = {"Outcome": dictionary.label(outcome) if i == 0 else "", "Group": f"Group\u00a0{grp}",
                   "P for": f"{pair[0]} vs {pair[1]}" if pair else ""}
            for iv in intervals:
                c = oc.get(iv)
                out[iv] = _summary(c["groups"].get(grp), c.get("normal"), dec, style) if c else ""
                pv = None
                if c and pair:
                    pv = next((q.get("pval") for q in c["pairs"] if tuple(q["pair"]) == pair), None)
                out[f"P {iv}"] = pv
            rows.append(out)
    frame = pd.DataFrame(rows)
    frame.columns = [("P" if str(c).startswith("P ") and c != "P for" else c) for c in frame.columns]
    kinds = {c: ("p" if c == "P" else "text") for c in frame.columns}
    return frame, kinds


def visits_table(ot, dictionary: Dictionary, style=DEFAULT) -> tuple[pd.DataFrame, dict]:
    """Over time, compact: outcome × group rows, visits as columns, median (Q1 to Q3)."""
    raw = ot.to_frame()
    weeks = sorted(raw["week"].dropna().unique())
    rows = []
    for outcome, sub in raw.groupby("outcome", sort=False):
        dec = _decimals(sub["median"].tolist())
        for i, (grp, g) in enumerate(sub.groupby("group", sort=True)):
            out = {"Outcome": dictionary.label(outcome) if i == 0 else "", "Group": str(grp)}
            for w in weeks:
                r = g[g["week"] == w]
                if len(r):
                    r = r.iloc[0]
                    out[f"W{int(w)}"] = (_summary(dict(r), False, dec, style)
                                         + f" [{fmt(int(r['n']), 'int', style)}]")
                else:
                    out[f"W{int(w)}"] = ""
            fp = g["friedman_p"].dropna()
            out["P (Friedman)"] = float(fp.iloc[0]) if len(fp) else None
            rows.append(out)
    frame = pd.DataFrame(rows)
    return frame, {c: ("p" if c == "P (Friedman)" else "text") for c in frame.columns}
