"""Fuzzed TOML: criteria for ``hepatostat cohort build --criteria`` and plans for
``hepatostat run``.

Each document starts from a working one (the bundled Jia et al. 2020
criteria; a small meta-analysis plan) and has one or two values replaced by
anything TOML can hold — wrong types, NaN and infinities, 400-digit numbers,
empty and huge lists, expressions with unbalanced or deeply nested
parentheses, names of things that do not exist — or is damaged as text:
non-UTF-8 bytes, nesting 3,000 deep, cut off.
"""

from __future__ import annotations

import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ._harness import check, fuzz_settings, to_toml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_TMP = Path(tempfile.mkdtemp(prefix="hepatostat-fuzz-toml-"))
CRITERIA = Path(__file__).resolve().parents[2] / "src" / "hepatostat" / "cohort" / "criteria" / "seed_jia2020.toml"

EXPR_TOKENS = ["(", ")", "and", "or", "not", "age", "==", ">", "<=", "'liver_failure'", "in", "[", "]", "between",
               "16", "60", "diagnosis", "course_weeks", "n_infusions", "1" * 400, "__class__", "import", ";", ".",
               "nan", "true", "None", "'", "\"", "+", "**", "lambda", "os.system('x')"]


@st.composite
def expression(draw):
    kind = draw(st.sampled_from(["tokens", "deep", "valid"]))
    if kind == "deep":
        n = draw(st.sampled_from([50, 300, 3000]))
        return "(" * n + "age > 1" + ")" * draw(st.sampled_from([n, n - 1, 0]))
    if kind == "valid":
        return draw(st.sampled_from(["age > 18", "diagnosis == 'cirrhosis'", "course_weeks <= 4",
                                     "not liver_cancer", "n_infusions between 1 and 99"]))
    return " ".join(draw(st.lists(st.sampled_from(EXPR_TOKENS), max_size=8)))


VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.integers(min_value=10**399, max_value=10**400),
    st.floats(),
    st.booleans(),
    st.lists(st.one_of(st.text(max_size=6), st.integers(-5, 100)), max_size=4),
    st.dictionaries(st.sampled_from(["a", "id", "when", "week"]), st.integers(-3, 3), max_size=2),
    expression(),
)


def _paths(doc, prefix=()):
    """Every (path, value) of the scalars and lists in a parsed TOML document."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield prefix + (k,), v
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list) and doc and all(isinstance(x, dict) for x in doc):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


def _set(doc, path, value):
    for p in path[:-1]:
        doc = doc[p]
    if value is _DELETE:
        del doc[path[-1]]
    else:
        doc[path[-1]] = value


_DELETE = object()


@st.composite
def mutated(draw, base: dict):
    """A TOML text: ``base`` with one or two values changed, or damaged as text (bytes)."""
    import copy

    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 2))):
        paths = [p for p, _ in _paths(doc)]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        value = draw(st.one_of(VALUES, st.just(_DELETE)))
        if isinstance(path[-1], int) and value is _DELETE:
            continue
        if isinstance(path[-1], int) and not isinstance(value, dict):
            continue  # an array of tables holds tables
        _set(doc, path, value)
    data = to_toml(doc).encode("utf-8")
    damage = draw(st.sampled_from(["none"] * 6 + ["latin1", "deep", "cut", "bytes"]))
    if damage == "latin1":
        data = data.replace(b"name", "n\u00e4me".encode("latin-1"), 1) + "# \u00e9\n".encode("latin-1")
    elif damage == "deep":
        data += b"deep = " + b"[" * 3000 + b"]" * 3000 + b"\n"
    elif damage == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "bytes":
        pos = draw(st.integers(0, len(data)))
        data = data[:pos] + draw(st.binary(min_size=1, max_size=3)) + data[pos:]
    return data


# -- criteria ------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def small_cohort() -> Path:
    """The first 15 persons of the bundled SYNTHETIC cohort, as CSV (made once per session)."""
    import pandas as pd

    from hepatostat.datasets import synthetic_cohort

    frames = synthetic_cohort.load()
    out = _TMP / "cohort_small"
    out.mkdir(exist_ok=True)
    persons = next(f for name, f in frames.items() if "person" in name)
    keep = set(persons["person_id"].iloc[:15])
    for name, frame in frames.items():
        frame = frame[frame["person_id"].isin(keep)]
        if isinstance(frame, pd.DataFrame):
            frame.to_csv(out / f"synthetic_cohort_{name}.csv", index=False)
    return out


BASE_CRITERIA = tomllib.loads(CRITERIA.read_text(encoding="utf-8"))


@fuzz_settings(10)
@given(mutated(BASE_CRITERIA))
def test_fuzz_cohort_criteria(data):
    path = _TMP / "criteria.toml"
    path.write_bytes(data)
    check(["cohort", "build", small_cohort(), "--criteria", path, "--out", _TMP / "build", "--format", "json"],
          path, json_keys=("n_screened", "n_included", "attrition"))


def test_bundled_criteria_run_on_the_small_cohort():
    # the starting point of the fuzzing works, so mutations test what they change
    path = _TMP / "criteria_ok.toml"
    path.write_text(to_toml(BASE_CRITERIA), encoding="utf-8")
    status, obj = check(["cohort", "build", small_cohort(), "--criteria", path, "--out", _TMP / "build_ok",
                         "--format", "json"], path, json_keys=("n_screened", "n_included"))
    assert status == 0 and obj["n_screened"] == 15


# -- plans ---------------------------------------------------------------------------------------
STUDIES = "study,m1,sd1,n1,m2,sd2,n2,region\nA,12.1,3.2,20,14.0,3.5,21,x\nB,10.4,2.9,35,12.2,3.1,33,y\n" \
          "C,11.8,4.1,18,12.1,3.9,19,x\nD,9.7,2.5,40,11.9,2.8,42,y\n"


def base_plan() -> dict:
    data = _TMP / "plan_studies.csv"
    data.write_text(STUDIES)
    return {"title": "Fuzzed plan", "meta": {"data": str(data), "method": "REML", "analysis": [
        {"name": "MELD change", "measure": "SMD", "method": "DL", "leave_one_out": False, "bias": False}]}}


@fuzz_settings(10)
@given(mutated(base_plan()))
def test_fuzz_run_plan(data):
    path = _TMP / "plan.toml"
    path.write_bytes(data)
    check(["run", path, "--out", _TMP / "report", "--quiet", "--format", "json"], path,
          json_keys=("out", "files"))
