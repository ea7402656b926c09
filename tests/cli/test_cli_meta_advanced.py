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


def test_outcomes_csv_lists_a_study_dropped_for_a_blank_cell(capsys, tmp_path):
    # issue 14: with --format csv the study vanished (k shown, no exclusion line)
    f = tmp_path / "long.csv"
    f.write_text("study,outcome,timepoint,m1,sd1,n1,m2,sd2,n2\n"
                 "A,meld,W0,10,2,20,11,2,20\nB,meld,W0,10,2,20,,2,20\nC,meld,W0,12,2,25,11,2.5,20\n"
                 "D,,W0,12,2,25,11,2.5,20\n")
    status, out, err = run(["meta", "outcomes", str(f), "--measure", "SMD", "--format", "csv"], capsys)
    assert status == 0, err
    assert "B (row 3)" in out and "D (row 5)" in out
    status, out, _ = run(["meta", "outcomes", str(f), "--measure", "SMD"], capsys)
    assert "excluded B (row 3)" in out and "Excluded D (row 5)" in out


def test_per_csv_lists_blank_group_and_dropped_study(capsys, tmp_path):
    f = tmp_path / "per.csv"
    f.write_text("study,grp,yi,vi\na,x,0.1,0.01\nb,x,0.5,0.02\nc,,0.3,0.02\nd,y,0.2,0.03\ne,y,0.4,\n")
    status, out, err = run(["meta", "pool", str(f), "--measure", "GEN", "--per", "grp", "--format", "csv"], capsys)
    assert status == 0, err
    assert "None" not in out
    assert "c (row 4): no value of 'grp'" in out and "e (row 6)" in out


def test_seed_minus_one_is_a_clear_error(capsys):
    status, _, err = run(["meta", "regress", BCG, "--measure", "RR", "--mods", "ablat", "--permutations", "10",
                          "--seed", "-1"], capsys)
    assert status == 1 and err.startswith("Error:") and "seed" in err and "internal" not in err


def test_plot_with_unknown_suffix_is_a_clear_error(capsys, tmp_path):
    status, _, err = run(["meta", "pool", BCG, "--measure", "RR", "--plot", str(tmp_path / "x.exe")], capsys)
    assert status == 1 and err.startswith("Error:") and ".exe" in err
    assert not (tmp_path / "x.exe").exists()


def test_regress_formula_with_prediction_and_tau2_ci(capsys):
    from refdata import reference

    ref = reference("meta_next.json")["regression"][2]  # ~ ablat * factor(alloc), REML
    status, out, err = run(["meta", "regress", BCG, "--measure", "RR", "--mods", ref["formula"], "--predict",
                            "ablat=30,alloc=systematic", "--format", "json"], capsys)
    assert status == 0, err
    d = json.loads(out)
    assert [c["term"] for c in d["coefficients"]] == ref["terms"]
    assert abs(d["predictions"][0]["pred"] - ref["pred"][0]) < 1e-6
    assert abs(d["tau2_ci"][1] - ref["tau2_ci"][1]) < 1e-6
    assert {"tau2", "QM", "QMp", "QE", "QEp", "R2"} <= set(d)


def test_cumul_command_and_plot(capsys, tmp_path):
    status, out, err = run(["meta", "cumul", BCG, "--measure", "RR", "--order", "year", "--format", "json",
                            "--plot", str(tmp_path / "c.png")], capsys)
    assert status == 0, err
    d = json.loads(out)
    assert len(d["rows"]) == 13 and d["rows"][-1]["k"] == 13
    assert (tmp_path / "c.png").exists()


def test_bias_reports_egger_in_both_forms(capsys):
    status, out, _ = run(["meta", "bias", BCG, "--measure", "RR", "--method", "REML", "--format", "json"], capsys)
    d = json.loads(out)
    assert status == 0 and {"intercept", "stat", "pval"} <= set(d["egger"]) and {"stat", "pval"} <= set(d["egger_rma"])
