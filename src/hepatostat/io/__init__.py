"""Reading and writing tables.

:func:`read_table` (in :mod:`hepatostat.io.read`) reads every table format
hepatostat accepts; :func:`read_dictionary` reads a data dictionary.
Imported lazily so that ``import hepatostat.io`` loads no pandas.
"""

__all__ = ["read_table", "read_dictionary", "apply_dictionary"]


def __getattr__(name):
    if name in __all__:
        from . import read

        return getattr(read, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
