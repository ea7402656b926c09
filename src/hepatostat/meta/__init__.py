"""Meta-analysis: effect sizes, pooling, heterogeneity and figures.

>>> import pandas as pd
>>> from hepatostat import meta
>>> es = meta.effects(pd.read_csv("trials.csv"), "SMD")      # doctest: +SKIP
>>> res = meta.pool(es, method="REML")                       # doctest: +SKIP
>>> print(res.summary()); res.plot("forest.png")             # doctest: +SKIP
"""

from .data import Exclusion
from .effects import MEASURES, EffectSizes, effects
from .estimators import METHODS, RE_METHODS
from .fit import ALL_METHODS, PerResult, PoolResult, pool, pool_per, review_rule
from .plots import forest

__all__ = [
    "ALL_METHODS",
    "EffectSizes",
    "Exclusion",
    "MEASURES",
    "METHODS",
    "PerResult",
    "PoolResult",
    "RE_METHODS",
    "effects",
    "forest",
    "pool",
    "pool_per",
    "review_rule",
]
