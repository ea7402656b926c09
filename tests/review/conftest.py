"""Shared fixtures for the review tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hepatostat import review


@pytest.fixture
def example_files(tmp_path) -> list[Path]:
    """Copies of the bundled example exports (PubMed, Embase, Web of Science)."""
    out = []
    for src in review.example_paths():
        dest = tmp_path / Path(str(src)).name
        shutil.copyfile(src, dest)
        out.append(dest)
    return out


@pytest.fixture
def project(tmp_path, example_files):
    return review.create_project(tmp_path / "project.duckdb", example_files)
