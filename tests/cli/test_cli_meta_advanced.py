"""CLI contract of the advanced meta-analysis commands (DESIGN.md)."""

from __future__ import annotations

import json


from hepatostat import datasets
from hepatostat.cli import main

from refdata import reference_path

BCG = str(reference_path("bcg"))


def run(args, capsys):
    status = main(args)
    out = capsys.readouterr()
    return status, out.out, out.err


def test_bias_contract(capsys, tmp_path):
    status, out, err = run(["meta", "bias", BCG, "--measure", "RR", "--method", "REML", "--format", "json",
                            "--plot", str(tmp_path / "funnel.png")], capsys)
    assert status == 0, err
    d = json.loads(out)
    assert {"intercept", "stat", "pval"} <= set(d["egger"]) and {"tau", "pval"} <= set(d["begg"])
    assert {"k0", "side", "estimate", "ci_low", "ci_high"} <= set(d["trimfill"])
    assert (tmp_path / "funnel.png").exists()


def test_loo_contract(capsys):
    status, out, _ = run(["meta", "loo", BCG, "--measure", "RR", "--method", "REML", "--format", "json"], capsys)
    d = json.loads(out)
    assert status == 0 and len(d["rows"]) == 13
    assert {"omitted", "estimate", "ci_low", "ci_high", "tau2", "I2"} <= set(d["rows"][0])
    assert d["rows"][0]["omitted"] == "Aronson, 1948"  # input order


def test_subgroup_contract(capsys):
    status, out, _ = run(["meta", "subgroup", BCG, "--measure", "RR", "--method", "REML", "--by", "alloc",
                          "--format", "json"], capsys)
    d = json.loads(out)
    assert status == 0
    assert {"level", "k", "estimate", "se", "ci_low", "ci_high", "tau2", "I2"} <= set(d["subgroups"][0])
    assert {"Q_between", "Q_between_df", "Q_between_pval"} <= set(d)
    assert {"tau2", "QM", "QMp"} <= set(d["common_tau2"])


def test_regress_contract(capsys):
    status, out, _ = run(["meta", "regress", BCG, "--measure", "RR", "--method", "REML", "--mods", "ablat,year",
                          "--knha", "--format", "json"], capsys)
    d = json.loads(out)
    assert status == 0 and [c["term"] for c in d["coefficients"]] == ["intrcpt", "ablat", "year"]
    assert {"term", "estimate", "se", "pval", "ci_low", "ci_high"} <= set(d["coefficients"][0])
    assert {"tau2", "QM", "QMp", "QE", "QEp", "R2"} <= set(d)


def test_regress_permutations(capsys):
    status, out, _ = run(["meta", "regress", BCG, "--measure", "RR", "--mods", "ablat", "--permutations", "50",
                          "--seed", "3", "--format", "json"], capsys)
    d = json.loads(out)
    assert status == 0 and d["permutation"]["iterations"] == 50 and d["permutation"]["seed"] == 3


def test_influence_and_outcomes_and_check(capsys, tmp_path):
    status, out, _ = run(["meta", "influence", BCG, "--measure", "RR", "--format", "json",
                          "--plot", str(tmp_path / "baujat.png")], capsys)
    assert status == 0 and len(json.loads(out)["rows"]) == 13
    status, out, _ = run(["meta", "check-reported", str(datasets.path("liu2022_reported")), "--format", "json"], capsys)
    assert status == 0 and json.loads(out)["n_flagged"] >= 3


def test_regress_errors(capsys):
    status, _, err = run(["meta", "regress", BCG, "--measure", "RR", "--mods", "nope"], capsys)
    assert status == 1 and "Error: moderator column 'nope' not found" in err
    status, _, err = run(["meta", "regress", BCG, "--measure", "OR", "--method", "MH", "--mods", "ablat"], capsys)
    assert status == 1 and "Error: meta-regression needs FE or a tau² estimator" in err
