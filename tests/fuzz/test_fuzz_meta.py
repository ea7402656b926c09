"""Fuzzed study tables for ``hepatostat meta effects`` and ``meta pool``.

Tables are built from the three input shapes of the command-line contract
(continuous, binary, generic) with plausible numbers most of the time and,
mixed in, every kind of bad cell (blank, NA, NaN, inf, text, negative,
huge, decimal comma, a formula), extra, missing and duplicated columns,
blank lines, and stray bytes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ._harness import check, fuzz_settings

SHAPES = {
    "continuous": (["study", "m1", "sd1", "n1", "m2", "sd2", "n2"], ["SMD", "MD"]),
    "binary": (["study", "e1", "n1", "e2", "n2"], ["OR", "RR", "RD", "PETO"]),
    "generic": (["study", "yi", "vi"], ["GEN"]),
}
METHODS = ["FE", "DL", "REML", "ML", "PM", "SJ", "HE", "EB", "MH", "PETO", "auto"]

BAD_CELLS = ["", "NA", "nan", "NaN", "inf", "-inf", "-1", "0", "1e400", "1e-320", "2,5", " 3 ", "x", "=1+1",
             '"4"', "1.2.3", "\u00a05", "10000000000000000000000", "0x10", "true", "\u2212" + "2"]


def _plausible(col, rng):
    if col in ("n1", "n2"):
        return st.integers(1, 300).map(str)
    if col in ("e1", "e2"):
        return st.integers(0, 60).map(str)
    if col in ("sd1", "sd2", "vi"):
        return st.floats(0.001, 50, allow_nan=False).map(lambda v: f"{v:.4g}")
    return st.floats(-100, 100, allow_nan=False).map(lambda v: f"{v:.4g}")


def cell(col):
    return st.one_of(
        _plausible(col, None),
        _plausible(col, None),
        _plausible(col, None),
        st.sampled_from(BAD_CELLS),
        st.floats().map(repr),
        st.text(max_size=6),
    )


def _clean_row(draw, cols, r):
    vals = {}
    for c in cols:
        if c == "study":
            vals[c] = f"S{r}"
        elif c in ("n1", "n2"):
            vals[c] = draw(st.integers(2, 300))
        elif c in ("e1", "e2"):
            vals[c] = None
        else:
            vals[c] = draw(_plausible(c, None))
    for e, n in (("e1", "n1"), ("e2", "n2")):
        if e in vals:
            vals[e] = draw(st.integers(0, vals.get(n, 2)))
    return [str(vals[c]) for c in cols]


@st.composite
def study_table(draw):
    """(CSV bytes, measure): a third clean, a third with one bad cell, a third anything goes."""
    level = draw(st.sampled_from(["clean", "one_bad", "dirty"]))
    shape = draw(st.sampled_from(sorted(SHAPES)))
    cols, measures = SHAPES[shape]
    cols = list(cols)
    if level == "dirty" and draw(st.booleans()):  # disturb the header
        op = draw(st.sampled_from(["drop", "dup", "extra", "rename", "case"]))
        i = draw(st.integers(0, len(cols) - 1))
        if op == "drop":
            cols.pop(i)
        elif op == "dup":
            cols.insert(i, cols[i])
        elif op == "extra":
            cols.append(draw(st.sampled_from(["region", "year", "", "m1", "weight", "é"])))
        elif op == "rename":
            cols[i] = draw(st.text(min_size=0, max_size=5))
        else:
            cols[i] = cols[i].upper()
    k = draw(st.integers(0 if level == "dirty" else 1, 7))
    if level == "dirty":
        rows = [[f"S{r}" if c == "study" and draw(st.integers(0, 4)) else draw(cell(c)) for c in cols]
                for r in range(k)]
    else:
        rows = [_clean_row(draw, cols, r) for r in range(k)]
        if level == "one_bad":
            r, c = draw(st.integers(0, k - 1)), draw(st.integers(0, len(cols) - 1))
            rows[r][c] = draw(st.one_of(st.sampled_from(BAD_CELLS), st.floats().map(repr), st.text(max_size=6)))

    def esc(v):
        return f'"{v}"' if any(ch in v for ch in ',"\n\r') and not v.startswith('"') else v

    lines = [",".join(esc(c) for c in cols)] + [",".join(esc(v) for v in row) for row in rows]
    if level != "clean" and lines and draw(st.booleans()):
        lines.insert(draw(st.integers(1, len(lines))), draw(st.sampled_from(["", ",,,", "   "])))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if level == "dirty" and draw(st.integers(0, 3)) == 0:  # stray bytes somewhere
        pos = draw(st.integers(0, len(data)))
        data = data[:pos] + draw(st.binary(min_size=1, max_size=4)) + data[pos:]
    measure = draw(st.sampled_from(measures)) if level == "clean" else draw(st.sampled_from(measures + ["SMD", "OR", "GEN"]))
    return data, measure


_TMP = Path(tempfile.mkdtemp(prefix="hepatostat-fuzz-meta-"))


def _write(data: bytes, name="studies.csv") -> Path:
    p = _TMP / name
    p.write_bytes(data)
    return p


@fuzz_settings(40)
@given(study_table())
def test_fuzz_meta_effects(table):
    data, measure = table
    path = _write(data)
    status, obj = check(["meta", "effects", path, "--measure", measure, "--format", "json"], path,
                        json_keys=("studies",))
    if obj is not None:
        for s in obj["studies"]:
            assert {"study", "yi", "vi"} <= set(s)


POOL_KEYS = ("k", "estimate", "se", "ci_low", "ci_high", "pval", "tau2", "I2", "Q", "studies")


@fuzz_settings(40)
@given(study_table(), st.sampled_from(METHODS), st.booleans())
def test_fuzz_meta_pool(table, method, knha):
    data, measure = table
    path = _write(data)
    args = ["meta", "pool", path, "--measure", measure, "--method", method, "--format", "json"]
    if knha:
        args.append("--knha")
    status, obj = check(args, path, json_keys=POOL_KEYS,
                        option_errors=[r"^Error: (method|--method) (MH|PETO)\b.*needs", r"^Error: .*--knha"])
    if obj is not None:
        assert obj["k"] == len(obj["studies"]) >= 1
        if obj["estimate"] is not None and obj["ci_low"] is not None:
            assert obj["ci_low"] <= obj["estimate"] <= obj["ci_high"]
