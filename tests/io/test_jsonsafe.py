"""The one JSON converter: NaN -> null, numpy/pandas scalars -> Python, dates -> ISO."""

import datetime as dt
import json

import numpy as np
import pandas as pd

from hepatostat.io.jsonsafe import dumps, to_jsonable


def test_non_finite_and_missing_become_null():
    obj = {"a": float("nan"), "b": np.float64("inf"), "c": pd.NA, "d": pd.NaT, "e": None}
    assert to_jsonable(obj) == {"a": None, "b": None, "c": None, "d": None, "e": None}


def test_numpy_scalars_and_arrays_become_python():
    out = to_jsonable({"i": np.int64(3), "f": np.float32(0.5), "b": np.bool_(True), "arr": np.array([1.0, np.nan])})
    assert out == {"i": 3, "f": 0.5, "b": True, "arr": [1.0, None]}
    assert type(out["i"]) is int and type(out["b"]) is bool


def test_dates_are_iso_and_midnight_timestamps_are_dates():
    assert to_jsonable(pd.Timestamp("2020-03-01")) == "2020-03-01"
    assert to_jsonable(dt.datetime(2020, 3, 1, 12, 30)) == "2020-03-01T12:30:00"
    assert to_jsonable(np.datetime64("NaT")) is None


def test_frames_become_records_and_dumps_is_strict_json():
    frame = pd.DataFrame({"x": [1, 2], "y": [np.nan, 0.25]})
    text = dumps({"rows": frame})
    assert json.loads(text) == {"rows": [{"x": 1, "y": None}, {"x": 2, "y": 0.25}]}
    assert "NaN" not in text
