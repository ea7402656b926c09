"""Meta-analysis: effect sizes, pooling, heterogeneity and figures.

>>> import pandas as pd
>>> from hepatostat import meta
>>> es = meta.effects(pd.read_csv("trials.csv"), "SMD")      # doctest: +SKIP
>>> res = meta.pool(es, method="REML")                       # doctest: +SKIP
>>> print(res.summary()); res.plot("forest.png")             # doctest: +SKIP
"""

from .analyse import AnalysisSpec, MetaAnalysis, analyse
from .data import Exclusion
from .effects import MEASURES, EffectSizes, effects
from .fit import ALL_METHODS, NotEstimable, PerResult, PoolResult, pool, pool_many, pool_per, review_rule
from .kernel import METHODS, RE_METHODS
from .plots import forest

__all__ = [
    "AnalysisSpec",
    "MetaAnalysis",
    "analyse",
    "ALL_METHODS",
    "EffectSizes",
    "Exclusion",
    "MEASURES",
    "NotEstimable",
    "METHODS",
    "PerResult",
    "PoolResult",
    "RE_METHODS",
    "effects",
    "forest",
    "pool",
    "pool_many",
    "pool_per",
    "review_rule",
]
