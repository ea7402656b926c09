"""Figures rendered once per test session (matplotlib, Agg, 100 dpi)."""

from __future__ import annotations

import pytest

from . import figures


@pytest.fixture(scope="session")
def figdir(tmp_path_factory):
    return tmp_path_factory.mktemp("digitize_figures")


@pytest.fixture(scope="session")
def scatter_linear(figdir):
    return figures.scatter(figdir / "scatter_linear.png")


@pytest.fixture(scope="session")
def scatter_log(figdir):
    return figures.scatter(figdir / "scatter_log.png", log=True)


@pytest.fixture(scope="session")
def bar_chart(figdir):
    return figures.bars(figdir / "bars.png")


@pytest.fixture(scope="session")
def errorbar_chart(figdir):
    return figures.errorbar_points(figdir / "errorbars.png")


@pytest.fixture(scope="session")
def line_chart(figdir):
    return figures.line(figdir / "line.png")


@pytest.fixture(scope="session")
def rotated_scatter(figdir, scatter_linear):
    return figures.rotate(scatter_linear, figdir / "scatter_rotated.png", 3.0)
