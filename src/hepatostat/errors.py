"""Errors raised by hepatostat.

Every problem with user input is a :class:`HepatostatError` (a ``ValueError``)
whose message names, as far as they are known, the file, the row, the column,
the offending value and what is allowed. The command line prints the message
as ``Error: ...`` and exits with status 1.
"""

from __future__ import annotations

__all__ = ["HepatostatError", "InputError", "EstimationError"]


class HepatostatError(ValueError):
    """Base class of hepatostat's own errors (a ``ValueError``)."""


class InputError(HepatostatError):
    """Bad user input: a file, a column, a cell or an argument.

    Parameters
    ----------
    message : str
        What is wrong and what is allowed.
    file, row, column, value : optional
        Where the problem is. ``row`` is the 1-based data row as a
        spreadsheet user counts it (the header is row 1, so the first data
        row is row 2).
    """

    def __init__(self, message: str, *, file=None, row=None, column=None, value=None):
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.value = value
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        if value is not None:
            where.append(f"value {value!r}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)


class EstimationError(HepatostatError):
    """A model cannot be estimated from legal input (e.g. no studies left)."""
