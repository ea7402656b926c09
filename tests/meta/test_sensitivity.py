"""Leave-one-out, influence diagnostics and Baujat data against R metafor 3.8-1.

Reference: tests/reference/meta_advanced.json (``leave1out()``, ``influence()``,
``rstudent()``, ``baujat()``; calls recorded in the JSON).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepatostat.errors import InputError
from hepatostat.meta import effects, pool
from hepatostat.meta.sensitivity import baujat, influence, leave_one_out

from refdata import REFERENCE, reference, reference_data

# DESIGN.md: agreement with metafor to 1e-6 (fixtures fitted with threshold 1e-12).
RTOL, ATOL = 1e-6, 1e-9
REF = reference("meta_advanced.json")


def _csv(name):
    return pd.read_csv(REFERENCE / "data" / f"{name}.csv")


def _pooled(entry):
    measure = entry["measure"]
    method = entry["method"]
    es = effects(_csv(entry["dataset"]), "OR" if measure == "PETO" else measure)
    return pool(es, method, knha=entry.get("knha", False))


def _vec(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@pytest.mark.parametrize("ref", REF["leave1out"], ids=lambda e: f"{e['dataset']}-{e['measure']}-{e['method']}{'-knha' if e.get('knha') else ''}")
def test_leave_one_out_agrees_with_leave1out(ref):
    loo = leave_one_out(_pooled(ref))
    f = loo.frame
    assert list(f["omitted"]) == ref["omitted"]
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("stat", "zval"), ("pval", "pval"),
                         ("ci_low", "ci_low"), ("ci_high", "ci_high"), ("Q", "Q"), ("Q_pval", "Qp"),
                         ("I2", "I2"), ("H2", "H2")):
        np.testing.assert_allclose(f[ours].to_numpy(float), _vec(ref[theirs]), rtol=RTOL, atol=ATOL, err_msg=ours)
    if ref["tau2"] is not None:
        np.testing.assert_allclose(f["tau2"].to_numpy(float), _vec(ref["tau2"]), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("ref", REF["influence"], ids=lambda e: f"{e['dataset']}-{e['method']}")
def test_influence_agrees_with_metafor(ref):
    inf = influence(_pooled(ref)).frame
    for ours, theirs in (("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook_d"), ("cov_r", "cov_r"),
                         ("tau2_del", "tau2_del"), ("QE_del", "QE_del"), ("hat", "hat"), ("weight", "weight"),
                         ("resid", "rstudent_resid"), ("se_resid", "rstudent_se")):
        np.testing.assert_allclose(inf[ours].to_numpy(float), _vec(ref[theirs]), rtol=RTOL, atol=ATOL, err_msg=ours)
    dfbs = np.array(ref["dfbs"], dtype=float).reshape(len(inf), -1)
    np.testing.assert_allclose(inf["dfbs_intrcpt"].to_numpy(float), dfbs[:, 0], rtol=RTOL, atol=ATOL)
    assert list(inf["influential"]) == [bool(x) for x in ref["inf"]]


@pytest.mark.parametrize("ref", REF["baujat"], ids=lambda e: f"{e['dataset']}-{e['method']}")
def test_baujat_agrees_with_metafor(ref):
    b = baujat(_pooled(ref))
    np.testing.assert_allclose(b["x"], ref["x"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(b["y"], ref["y"], rtol=RTOL, atol=ATOL)


def test_loo_sentence_names_the_study_that_removes_heterogeneity():
    # The review's "by excluding Lin et al." sentence: a study that alone causes I^2 > 50 %
    data = pd.DataFrame({"study": ["A", "B", "C", "D", "Lin"], "yi": [0.1, 0.15, 0.05, 0.12, 1.5],
                         "vi": [0.02, 0.03, 0.025, 0.02, 0.03]})
    loo = leave_one_out(pool(effects(data, "GEN"), "REML"))
    assert loo.full.I2 > 50
    assert any(s.startswith("Excluding Lin lowers I²") for s in loo.sentences)


def test_loo_needs_two_studies():
    from hepatostat.errors import EstimationError

    with pytest.raises(EstimationError, match="at least 2 studies"):
        leave_one_out(pool(effects(reference_data("bcg").iloc[:1], "RR"), "REML"))


def test_influence_not_for_mh():
    with pytest.raises(InputError, match="not MH/Peto"):
        influence(pool(effects(reference_data("bcg"), "OR"), "MH"))
