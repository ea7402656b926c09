"""hepatostat: evidence toolkit for cell therapy in end-stage liver disease.

Retrospective cohort statistics and systematic-review meta-analysis with
numbers that agree with R (metafor, stats). See the README for the command
line; the Python API is re-exported here.
"""

from . import meta
from .errors import EstimationError, HepatostatError, InputError

__version__ = "0.1.0"

__all__ = ["EstimationError", "HepatostatError", "InputError", "meta", "__version__"]
