"""Bundled data sets: catalogue, citations, synthetic labelling."""

from __future__ import annotations

import pandas as pd
import pytest

from hepatostat import datasets
from hepatostat.datasets.synthetic_trials import generate
from hepatostat.errors import InputError


def test_every_data_set_loads_and_is_cited():
    for name in datasets.names():
        info = datasets.info(name)
        assert info["citation"] and info["title"]
        assert len(datasets.load(name)) > 0


def test_synthetic_data_are_labelled_synthetic():
    for name in datasets.names():
        info = datasets.info(name)
        if info.get("synthetic"):
            assert name.startswith("synthetic") and "SYNTHETIC" in info["title"]


def test_synthetic_trials_file_is_what_the_generator_makes():
    shipped = datasets.load("synthetic_msc_trials_long")
    pd.testing.assert_frame_equal(shipped, generate(), check_dtype=False)
    assert shipped["synthetic"].all()


def test_unknown_data_set():
    with pytest.raises(InputError, match="unknown data set 'nope'"):
        datasets.info("nope")
