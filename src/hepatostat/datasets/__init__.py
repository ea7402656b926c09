"""Bundled data sets: published aggregate data (cited) and, later, synthetic
cohorts (labelled synthetic in their names).

>>> from hepatostat import datasets
>>> "bcg" in datasets.names()
True
>>> datasets.load("bcg").shape
(13, 8)
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import pandas as pd

from ..errors import InputError

__all__ = ["names", "load", "info", "path"]


@lru_cache(maxsize=1)
def _catalog() -> dict:
    text = resources.files(__name__).joinpath("data/catalog.json").read_text(encoding="utf-8")
    return json.loads(text)


def names() -> list[str]:
    """Names of the bundled data sets."""
    return sorted(_catalog())


def info(name: str) -> dict:
    """Title, citation, provenance and kind of a bundled data set."""
    cat = _catalog()
    if name not in cat:
        raise InputError(f"unknown data set {name!r}; available: {', '.join(names())}")
    return dict(cat[name], name=name)


def path(name: str):
    """Path of a bundled data set's CSV file."""
    return resources.files(__name__).joinpath("data", info(name)["file"])


def load(name: str) -> pd.DataFrame:
    """A bundled data set as a DataFrame in hepatostat's input format."""
    with resources.as_file(path(name)) as p:
        if str(p).endswith(".parquet"):
            return pd.read_parquet(p)
        return pd.read_csv(p)
