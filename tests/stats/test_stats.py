"""hepatostat.stats: the thin scipy wrappers keep R's conventions and document degenerate cases.

Numbers against R come from tests/reference/cohort_stats.json (written by
tests/reference/cohort_stats.R); the per-row checks of every test are in
tests/cohort/test_describe.py, which reaches the same functions through the
compatibility names of hepatostat.cohort.describe. Here: the public package,
the conventions scipy does not share, and the module graph.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from hepatostat import stats
from hepatostat.cohort import describe
from refdata import reference

REF = reference("cohort_stats.json")
RTOL = 1e-9  # same closed forms in double precision (see tests/cohort/test_describe.py)


def test_describe_reexports_the_stats_functions():
    # one implementation: the names kept in cohort.describe are the stats objects
    for name in ("mann_whitney", "fisher_exact", "quantile", "student_t", "TestResult"):
        assert getattr(describe, name) is getattr(stats, name)


@pytest.mark.parametrize("q", REF["quantiles"], ids=lambda q: q["name"])
def test_numpy_quantile_types_agree_with_r(q):
    for t in range(1, 10):
        np.testing.assert_allclose(stats.quantile(q["x"], q["probs"], t), q["types"][t - 1], rtol=RTOL)


def test_mann_whitney_statistic_is_r_w_not_scipy_min():
    x, y = [1.1, 2.2, 3.3], [0.5, 4.4, 5.5, 6.6]
    r = stats.mann_whitney(x, y)
    assert r.statistic == 3.0  # ranks of x: 2, 3, 4 -> 9 - 6
    assert r.method == "normal approximation, tie and continuity corrected"


def test_signed_rank_reports_v_and_drops_zeros_with_a_note():
    r = stats.signed_rank([1.0, -2.0, 3.0, 0.0, 4.0])
    assert r.statistic == 1 + 3 + 4  # ranks of |1|,|-2|,|3|,|4| are 1..4; positives 1, 3, 4
    assert "1 zero difference dropped" in r.note


@pytest.mark.parametrize("fn, args, note", [
    (stats.student_t, ([1, 1], [2, 2]), "no variation"),
    (stats.welch_t, ([1], [2, 3]), "at least two values"),
    (stats.anova, ([1, 1], [2, 2]), "no variation"),
    (stats.welch_anova, ([1, 2], [3, 3]), "without variation"),
    (stats.mann_whitney, ([5, 5], [5, 5]), "all values are equal"),
    (stats.kruskal_wallis, ([5, 5], [5]), "all values are equal"),
    (stats.shapiro_wilk, ([1, 2],), "at least 3"),
])
def test_degenerate_samples_give_nan_with_a_note(fn, args, note):
    r = fn(*args)
    assert math.isnan(r.pval)
    assert note in r.note


def test_fisher_rxc_is_exact_where_scipy_is_not():
    # 2 x 3 table; the exact P value by full enumeration of all tables with these margins
    t = np.array([[3, 1, 0], [0, 2, 4]])
    from itertools import product
    from math import comb

    rows, cols = t.sum(1), t.sum(0)

    def prob(a):
        return math.prod(comb(int(c), int(x)) for c, x in zip(cols, a)) / comb(int(t.sum()), int(rows[0]))

    p_obs = prob(t[0])
    p = sum(prob(a) for a in product(*(range(c + 1) for c in cols)) if sum(a) == rows[0] and prob(a) <= p_obs * (1 + 1e-7))
    assert stats.fisher_exact(t).pval == pytest.approx(p, rel=1e-12)


def test_adjust_pvalues_lives_in_stats_and_models_reexports_it():
    from hepatostat.cohort import models

    assert models.adjust_pvalues is stats.adjust_pvalues
    np.testing.assert_allclose(stats.adjust_pvalues([0.01, 0.04, np.nan], "holm"), [0.02, 0.04, np.nan])


def _imports(path: Path) -> set[str]:
    """Sibling modules of hepatostat.cohort imported by a module (top level or inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            out.add(node.module.split(".")[0])
    return out


def test_cohort_modules_have_no_import_cycle():
    # regression: longitudinal <-> models <-> plots imported each other (issue 12)
    root = Path(describe.__file__).parent
    graph = {p.stem: _imports(p) for p in root.glob("*.py") if p.stem != "__init__"}
    seen, stack = set(), []

    def visit(n):
        if n in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
        if n in seen or n not in graph:
            return
        stack.append(n)
        for m in graph[n]:
            visit(m)
        stack.pop()
        seen.add(n)

    for n in graph:
        visit(n)
