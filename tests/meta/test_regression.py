"""Meta-regression and permutation tests against R metafor 3.8-1.

Reference: tests/reference/meta_advanced.json (tests/reference/meta_advanced.R),
``rma(yi, vi, mods=..., method=..., test=...)`` and ``permutest()``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hepatostat.errors import InputError
from hepatostat.meta import effects
from hepatostat.meta.regression import meta_regression, permutation_test

from refdata import parse_mods, reference, reference_data

# DESIGN.md: agreement with metafor to 1e-6 (fixtures fitted with threshold 1e-12).
RTOL, ATOL = 1e-6, 1e-9

REF = reference("meta_advanced.json")


def _csv(name):
    from refdata import REFERENCE

    return pd.read_csv(REFERENCE / "data" / f"{name}.csv")


def _es(entry):
    return effects(_csv(entry["dataset"]), entry["measure"])


def _close(a, b, what):
    if b is None:
        assert a is None or not math.isfinite(a), f"{what}: expected NA, got {a}"
        return
    assert math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL), f"{what}: {a!r} != {b!r}"


REG = [e for e in REF["regression"] if e["error"] is None]


@pytest.mark.parametrize("ref", REG, ids=lambda e: f"{e['dataset']}{e['mods']}-{e['method']}{'-knha' if e['knha'] else ''}")
def test_regression_agrees_with_rma(ref):
    mods, cats = parse_mods(ref["mods"])
    res = meta_regression(_es(ref), mods, method=ref["method"], knha=ref["knha"], categorical=cats)
    assert res.k == ref["k"] and len(res.terms) == ref["p"]
    for field, ours in (("estimate", res.estimate), ("se", res.se), ("zval", res.stat), ("pval", res.pval),
                        ("ci_low", res.ci_low), ("ci_high", res.ci_high)):
        np.testing.assert_allclose(ours, ref[field], rtol=RTOL, atol=ATOL, err_msg=field)
    d = res.to_dict()
    for field, key in (("tau2", "tau2"), ("I2", "I2"), ("H2", "H2"), ("R2", "R2"), ("QM", "QM"), ("QMp", "QMp"),
                       ("QE", "QE"), ("QEp", "QEp")):
        _close(d[key], ref[field], field)
    if ref["method"] not in ("FE",):
        _close(d["se_tau2"], ref["se_tau2"], "se_tau2")
    assert d["QE_df"] == ref["QE_df"]
    assert d["QM_df"] == [x if x is None else int(x) for x in ref["QM_df"]]


def test_factor_coding_matches_r():
    # treatment contrasts, first level in sorted order as reference: factor(alloc)random, factor(alloc)systematic
    ref = next(e for e in REG if e["mods"] == "~factor(alloc)" and e["method"] == "REML" and not e["knha"])
    res = meta_regression(_es(ref), ["alloc"], method="REML")
    assert res.terms == ("intrcpt", "alloc[random]", "alloc[systematic]")
    assert [t.replace("factor(alloc)", "alloc[") + ("]" if "factor" in t else "") for t in ref["term"]] == list(res.terms)


def test_metafor_documentation_bcg_ablat():
    # metafor documentation (help(rma.uni); Viechtbauer 2010, J Stat Softw 36(3), section 4.3):
    # dat.bcg log RR ~ ablat, REML: tau^2 = 0.0763, R^2 = 75.63%, QM(1) = 16.3582, slope -0.0291
    res = meta_regression(effects(reference_data("bcg"), "RR"), ["ablat"], method="REML")
    assert round(res.tau2, 4) == 0.0763 and round(res.R2, 2) == 75.63
    assert round(res.QM, 4) == 16.3582 and round(res.estimate[1], 4) == -0.0291


PERM = [e for e in REF["permutation"] if e["error"] is None and len(e["term"]) > 1]


@pytest.mark.parametrize("ref", PERM, ids=lambda e: f"{e['dataset']}{e['mods']}-{e['method']}{'-knha' if e['knha'] else ''}")
def test_permutation_test_agrees_with_permutest(ref):
    mods, cats = parse_mods(ref["mods"])
    res = meta_regression(_es(ref), mods, method=ref["method"], knha=ref["knha"], categorical=cats)
    perm = permutation_test(res, iterations=ref["iter"] or 1000, seed=20261124, exact=True if ref["exact"] else None)
    assert perm.exact == ref["exact"]
    if ref["exact"]:
        # exact tests enumerate every distinct permutation: deterministic, same numbers
        assert perm.iterations == ref["n_perm"]
        np.testing.assert_allclose(perm.pval, ref["pval"], rtol=1e-12)
        assert perm.QM_pval == pytest.approx(ref["QMp"], rel=1e-12)
    else:
        # Monte Carlo: different random permutations; allow 4 binomial SEs (at least 0.01)
        for ours, theirs in zip(list(perm.pval) + [perm.QM_pval], list(ref["pval"]) + [ref["QMp"]]):
            se = math.sqrt(max(theirs * (1 - theirs), 1e-4) / ref["iter"])  # binomial SE of a Monte Carlo p
            assert abs(ours - theirs) <= max(4 * se, 0.01), (ours, theirs)


def test_permutation_is_reproducible_with_seed():
    res = meta_regression(effects(reference_data("bcg"), "RR"), ["ablat"], method="DL")
    a = permutation_test(res, iterations=99, seed=7)
    b = permutation_test(res, iterations=99, seed=7)
    np.testing.assert_array_equal(a.pval, b.pval)


# ---------------------------------------------------------------- bad input


def test_permutations_are_rankings_of_python_mersenne_twister_draws():
    # the documented contract: with a seed, permutation i is the ranking of k draws of random.Random(seed),
    # so a seed gives the same permutations (and p-values) whatever numpy's version
    import random

    from hepatostat.meta.kernel import fit

    es = effects(reference_data("bcg"), "RR")
    res = meta_regression(es, ["ablat"], method="REML")
    perm = permutation_test(res, iterations=200, seed=11)
    rng = random.Random(11)
    u = np.array([rng.random() for _ in range(199 * res.k)]).reshape(199, res.k)
    refit = fit(res.yi, res.vi, None, res.X[np.argsort(u, axis=1, kind="stable")], method="REML")
    hits = 1 + np.sum(np.abs(refit.stat) >= np.abs(res.stat) - np.sqrt(np.finfo(float).eps), axis=0)
    assert perm.iterations == 200
    np.testing.assert_array_equal(perm.pval, hits / 200)
    assert 0 < perm.pval[1] < 0.1  # ablat: metafor's permutest gives about 0.01 (test above, with its reference)


def test_moderator_with_one_level():
    data = reference_data("bcg").assign(alloc="random")
    with pytest.raises(InputError, match="moderator 'alloc' has one level"):
        meta_regression(effects(data, "RR"), ["alloc"])


def test_collinear_moderators():
    data = reference_data("bcg")
    data["ablat2"] = 2 * data["ablat"] + 1
    with pytest.raises(InputError, match="collinear: term 'ablat2' is a linear combination"):
        meta_regression(effects(data, "RR"), ["ablat", "ablat2"])


def test_unknown_moderator_and_no_moderator():
    es = effects(reference_data("bcg"), "RR")
    with pytest.raises(InputError, match="moderator column 'lat' not found"):
        meta_regression(es, ["lat"])
    with pytest.raises(InputError, match="at least one moderator"):
        meta_regression(es, [])


def test_missing_moderator_values_are_excluded_and_listed():
    data = reference_data("bcg")
    data.loc[0, "ablat"] = np.nan
    res = meta_regression(effects(data, "RR"), ["ablat"])
    assert res.k == 12 and res.excluded[0].study == "Aronson, 1948"
    assert "missing value of moderator 'ablat'" in res.excluded[0].reason


def test_permutations_need_k3_and_iterations():
    es = effects(reference_data("bcg").iloc[:3], "RR")
    res = meta_regression(es, ["ablat"], method="FE")
    with pytest.raises(InputError, match="iterations must be >= 2"):
        permutation_test(res, iterations=1)
    small = meta_regression(effects(reference_data("bcg").iloc[:3], "RR"), ["ablat"], method="FE")
    assert small.k == 3  # k = 3 is allowed


def test_too_few_studies_for_coefficients():
    from hepatostat.errors import EstimationError

    es = effects(reference_data("bcg").iloc[:2], "RR")
    with pytest.raises(EstimationError, match="cannot estimate 2 coefficients"):
        meta_regression(es, ["ablat"])
