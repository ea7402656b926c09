"""One converter from library results to JSON-safe Python objects.

Every JSON that hepatostat writes (CLI ``--format json``, report JSON, the
manifest, web APIs) goes through :func:`to_jsonable`, so that NaN and
infinities become ``null``, numpy and pandas scalars become Python numbers,
and dates become ISO strings in exactly one way.
"""

from __future__ import annotations

import datetime as _dt
import json
import math

__all__ = ["to_jsonable", "dumps"]


def to_jsonable(obj):
    """Return ``obj`` with every value JSON can hold.

    Mappings keep their order (keys become ``str``); tuples, lists, sets and
    numpy arrays become lists; numpy/pandas scalars become ``int``, ``float``
    or ``bool``; NaN, infinities, ``pd.NA`` and ``pd.NaT`` become ``None``;
    dates and timestamps become ISO 8601 strings; objects with ``to_dict()``
    are converted through it.
    """
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (_dt.datetime, _dt.date)):
        if obj != obj:  # pd.NaT is a datetime that is not equal to itself
            return None
        # a midnight timestamp is a date in our tables (visit and birth dates)
        if isinstance(obj, _dt.datetime) and obj.time() == _dt.time(0) and obj.tzinfo is None:
            return obj.date().isoformat()
        return obj.isoformat()
    mod = type(obj).__module__
    if mod.startswith("numpy"):
        import numpy as np

        if isinstance(obj, np.ndarray):
            return [to_jsonable(v) for v in obj.tolist()]
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            return to_jsonable(float(obj))
        if isinstance(obj, np.datetime64):
            import pandas as pd

            return to_jsonable(pd.Timestamp(obj)) if not np.isnat(obj) else None
        return to_jsonable(obj.item()) if hasattr(obj, "item") else str(obj)
    if mod.startswith("pandas"):
        import pandas as pd

        if obj is pd.NA or obj is pd.NaT:
            return None
        if isinstance(obj, pd.Timestamp):
            return to_jsonable(obj.to_pydatetime())
        if isinstance(obj, pd.DataFrame):
            return [to_jsonable(r) for r in obj.to_dict(orient="records")]
        if isinstance(obj, pd.Series):
            return to_jsonable(obj.tolist())
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return to_jsonable(obj.to_dict())
    return str(obj)


def dumps(obj, *, indent=None) -> str:
    """``json.dumps`` of :func:`to_jsonable` (UTF-8 text, never NaN)."""
    return json.dumps(to_jsonable(obj), ensure_ascii=False, allow_nan=False, indent=indent)
