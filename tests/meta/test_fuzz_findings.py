"""Fuzz findings routed to meta (tests/fuzz), each test named after what broke."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from hepatostat.cli import main
from hepatostat.errors import EstimationError
from hepatostat.meta import effects, pool, pool_many


def _run(args, capsys):
    status = main([str(a) for a in args])
    cap = capsys.readouterr()
    return status, cap.out, cap.err


def test_peto_with_a_huge_arm_overflowing_exp_is_inf_with_a_note_not_an_internal_error(tmp_path, capsys):
    # fuzz: 0 events in 3,557 vs 0 in 2 gives a log odds ratio of -593 with SE 296; exp() of the
    # prediction interval's upper end (710) overflowed: OverflowError: math range error
    path = tmp_path / "huge.csv"
    path.write_text("study,e1,n1,e2,n2\nS0,0,3557,0,2\nS1,0,2,0,2\n")
    status, out, err = _run(["meta", "pool", path, "--measure", "PETO", "--method", "DL", "--format", "json"], capsys)
    assert status == 0, err
    obj = json.loads(out)
    assert obj["pi_high"] > 709.8  # beyond log(largest float)
    assert obj["exp"]["pi_high"] is None
    assert obj["exp"]["estimate"] == pytest.approx(math.exp(obj["estimate"]), rel=1e-12)
    assert any("pi_high" in n and "largest floating-point number" in n for n in obj["notes"])
    status, out, err = _run(["meta", "pool", path, "--measure", "PETO", "--method", "DL"], capsys)
    assert status == 0, err
    assert "inf" in out and "largest floating-point number" in out


def test_exp_of_an_ordinary_result_has_no_overflow_note():
    es = effects(pd.DataFrame({"study": ["a", "b"], "e1": [3, 5], "n1": [20, 25], "e2": [6, 9], "n2": [21, 24]}), "OR")
    res = pool(es, "DL")
    assert all(math.isfinite(v) for v in res.exp().values())
    assert not any("floating-point" in n for n in res.to_dict()["notes"])


@pytest.mark.parametrize("method, name", [("MH", "Mantel-Haenszel"), ("PETO", "Peto")])
def test_mh_and_peto_not_estimable_name_the_file_and_the_studies(tmp_path, capsys, method, name):
    path = tmp_path / "nozero.csv"
    path.write_text("study,e1,n1,e2,n2\nAlpha,0,10,0,12\nBeta,0,2,0,2\n")
    status, out, err = _run(["meta", "pool", path, "--measure", "OR", "--method", method], capsys)
    assert status == 1 and "internal error" not in err
    line = [ln for ln in err.splitlines() if ln.startswith("Error: ")][0]
    assert f"file {path}" in line and f"{name}" in line and "not estimable" in line
    assert "Alpha" in line and "Beta" in line


def test_no_studies_left_to_pool_names_the_file_and_the_rows(tmp_path, capsys):
    path = tmp_path / "allmissing.csv"
    path.write_text("study,e1,n1,e2,n2\nS0,,10,0,12\nS1,0,,0,2\n")
    status, out, err = _run(["meta", "pool", path, "--measure", "OR", "--method", "DL"], capsys)
    assert status == 1
    line = [ln for ln in err.splitlines() if ln.startswith("Error: ")][0]
    assert f"file {path}" in line and "no studies left to pool" in line
    assert "(row 2)" in line and "(row 3)" in line


def test_a_tau2_estimator_failing_names_the_file_and_the_studies(monkeypatch):
    # fuzz: "ML: Fisher scoring did not converge" named neither; whatever reason the
    # kernel gives for an analysis it cannot estimate now comes with both.
    from hepatostat.meta import kernel

    real = kernel.fit

    def failing(y, v, mask=None, X=None, *, method="REML", **kw):
        f = real(y, v, mask, X, method=method, **kw)
        if method == "ML":
            f.status[:] = "not estimable"
            f.reason[:] = "ML: no tau² solves the estimating equation"
        return f

    monkeypatch.setattr(kernel, "fit", failing)
    es = effects(pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.5, -0.2], "vi": [0.01, 0.02, 0.03]}),
                 "GEN", source="trials.csv")
    with pytest.raises(EstimationError) as exc:
        pool(es, "ML")
    msg = str(exc.value)
    assert msg.startswith("file trials.csv: ML:") and "studies analysed: a, b, c" in msg
    out = pool_many([es], "ML")[0]
    assert out.reason == msg
    assert np.isfinite(pool(es, "REML").estimate)  # the other estimators are untouched


def test_peto_method_with_a_risk_ratio_names_the_file(tmp_path, capsys):
    # fuzz: `--measure RR --method PETO` on a one-study table: the error named no file
    path = tmp_path / "rr.csv"
    path.write_text("study,e1,n1,e2,n2\nS0,0,2,0,2\n")
    status, out, err = _run(["meta", "pool", path, "--measure", "RR", "--method", "PETO"], capsys)
    assert status == 1
    assert f"Error: file {path}: Peto's method pools odds ratios" in err
    status, out, err = _run(["meta", "pool", path, "--measure", "SMD", "--method", "MH"], capsys)
    assert status == 1 and f"file {path}" in err
