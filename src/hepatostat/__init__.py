"""hepatostat: evidence toolkit for cell therapy in end-stage liver disease.

Retrospective cohort statistics and systematic-review meta-analysis with
numbers that agree with R (metafor, stats). See the README for the command
line; the Python API is reached through the subpackages, e.g.
``hepatostat.meta.pool``.

The subpackages are imported on first use (PEP 562 module ``__getattr__``),
so ``import hepatostat`` and ``hepatostat --help`` load neither pandas nor
scipy nor matplotlib; ``hepatostat.meta`` loads what the meta-analysis needs
the first time it is touched.
"""

from __future__ import annotations

import importlib
import importlib.util

from .errors import EstimationError, HepatostatError, InputError

__version__ = "0.1.0"

#: subpackages and modules loaded on first attribute access
_LAZY_SUBMODULES = ("meta", "cohort", "review", "digitize", "report", "scores", "units", "stats", "io", "datasets")

# only the subpackages this installation has (``from hepatostat import *`` must not fail)
__all__ = ["EstimationError", "HepatostatError", "InputError", "__version__",
           *(n for n in _LAZY_SUBMODULES if importlib.util.find_spec(f"{__name__}.{n}") is not None)]


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        try:
            module = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise  # a dependency is missing: say which
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        globals()[name] = module  # later look-ups skip this function
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))
