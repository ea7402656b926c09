"""Compatibility module: the reader moved to :mod:`hepatostat.io.read`."""

from __future__ import annotations

from .read import TABLE_SUFFIXES, read_table

__all__ = ["read_table", "TABLE_SUFFIXES"]
