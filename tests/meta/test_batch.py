"""The batched fitters against metafor 3.8-1 and against one-at-a-time fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepatostat.meta import effects, pool
from hepatostat.meta.batch import fit_batch, fit_batch_reg, pad
from hepatostat.meta.regression import design_matrix

from refdata import REFERENCE, parse_mods, reference, reference_data

RTOL, ATOL = 1e-6, 1e-9  # DESIGN.md: agreement with metafor to 1e-6
REG = [e for e in reference("meta_advanced.json")["regression"] if e["error"] is None]


@pytest.mark.parametrize("ref", REG, ids=lambda e: f"{e['dataset']}{e['mods']}-{e['method']}{'-knha' if e['knha'] else ''}")
def test_fit_batch_reg_agrees_with_rma(ref):
    mods, cats = parse_mods(ref["mods"])
    es = effects(pd.read_csv(REFERENCE / "data" / f"{ref['dataset']}.csv"), ref["measure"])
    dm = design_matrix(es.data, mods, categorical=cats)
    X = np.stack([dm.X, dm.X])  # two copies: a batch of two identical models
    fit = fit_batch_reg(es.yi[dm.keep], es.vi[dm.keep], X, ref["method"], knha=ref["knha"])
    for j in range(2):
        np.testing.assert_allclose(fit["beta"][j], ref["estimate"], rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(fit["se"][j], ref["se"], rtol=RTOL, atol=ATOL)
        assert fit["QM"][j] == pytest.approx(ref["QM"], rel=RTOL, abs=ATOL)
        assert fit["tau2"][j] == pytest.approx(ref["tau2"], rel=RTOL, abs=ATOL)


def test_fit_batch_handles_mixed_k_including_one():
    ess = [effects(reference_data("bcg").iloc[:n], "RR") for n in (1, 2, 5, 13)]
    y, v, mask = pad([e.yi for e in ess], [e.vi for e in ess])
    out = fit_batch(y, v, mask, "REML", knha=True)
    for i, es in enumerate(ess):
        single = pool(es, "REML", knha=True)
        assert out["estimate"][i] == pytest.approx(single.estimate, rel=1e-12)
        assert out["se"][i] == pytest.approx(single.se, rel=1e-12)
    assert not out["knha"][0] and np.isnan(out["I2"][0])  # k = 1: z test, heterogeneity not estimable
