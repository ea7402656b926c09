"""Helpers for tests: the R reference results (tests/reference/*.json) and their input files."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pandas as pd

REFERENCE = Path(__file__).parent / "reference"


@lru_cache(maxsize=None)
def reference(name: str) -> dict:
    """A JSON file written by an R script in tests/reference/."""
    return json.loads((REFERENCE / name).read_text(encoding="utf-8"))


def reference_data(dataset: str, ref: str = "meta_core.json") -> pd.DataFrame:
    """The CSV input a reference entry was computed from."""
    meta = reference(ref)["datasets"][dataset]
    return pd.read_csv(REFERENCE / meta["csv"])


def reference_path(dataset: str, ref: str = "meta_core.json") -> Path:
    return REFERENCE / reference(ref)["datasets"][dataset]["csv"]


def parse_mods(formula: str):
    """'~ablat + factor(alloc)' -> (['ablat', 'alloc'], ['alloc'])."""
    mods, cats = [], []
    for term in formula.lstrip("~").split("+"):
        term = term.strip()
        m = re.fullmatch(r"factor\((\w+)\)", term)
        if m:
            mods.append(m.group(1))
            cats.append(m.group(1))
        else:
            mods.append(term)
    return mods, cats
