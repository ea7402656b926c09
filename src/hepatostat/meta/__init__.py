"""Meta-analysis: effect sizes, pooling, heterogeneity and figures.

>>> import pandas as pd
>>> from hepatostat import meta
>>> es = meta.effects(pd.read_csv("trials.csv"), "SMD")      # doctest: +SKIP
>>> res = meta.pool(es, method="REML")                       # doctest: +SKIP
>>> print(res.summary()); res.plot("forest.png")             # doctest: +SKIP

The names below are imported on first use (PEP 562), so ``import
hepatostat.meta`` loads neither pandas nor scipy: the command line starts fast.
"""

from __future__ import annotations

import importlib
import sys
import types

from .codes import ALL_METHODS, MEASURES, METHODS, RE_METHODS

#: public name -> submodule that defines it
_LAZY = {
    "AnalysisSpec": "analyse", "MetaAnalysis": "analyse", "analyse": "analyse",
    "Exclusion": "data",
    "EffectSizes": "effects", "effects": "effects",
    "NotEstimable": "fit", "PerResult": "fit", "PoolResult": "fit", "pool": "fit", "pool_many": "fit",
    "pool_per": "fit", "review_rule": "fit",
    "forest": "plots",
}

__all__ = ["ALL_METHODS", "MEASURES", "METHODS", "RE_METHODS", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """Keeps ``meta.effects`` and ``meta.analyse`` the functions when their submodules load.

    (The import system binds a loaded submodule on its package; the
    submodules stay reachable as ``sys.modules["hepatostat.meta.effects"]``.)
    """

    def __setattr__(self, name, value):
        if name in ("effects", "analyse") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
