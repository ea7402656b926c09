"""``meta regress`` and ``meta analyse`` on a plain CSV without pandas (meta/_light.py, issue 13 item 5).

Every test runs the command twice, once as the command line runs it (a plain CSV is read by
``_light.read_light`` and, for ``regress``, its numeric moderator columns coded by
``_light.regression_design``) and once with the light reader switched off (the full path through
``io.read_table`` and pandas), and asks for the same bytes on stdout and stderr and the same exit status,
for --format csv, json and table. ``light`` says whether the pandas-free path was taken, so a test of a
file that must fall back checks that it did.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hepatostat import datasets
from hepatostat.cli import main
from hepatostat.meta import _light

from .light_paths import FORMATS, both, run, spy

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _run(capsys, args):
    return run(capsys, args)


def _both(capsys, monkeypatch, args):
    return both(capsys, monkeypatch, "read_light", args)


def _design_spy(monkeypatch):
    """Record whether regression_design built the model matrix (True) or stepped aside (False)."""
    return spy(monkeypatch, "regression_design")


@pytest.fixture(scope="module")
def bcg_frame():
    return datasets.load("bcg")


@pytest.fixture()
def bcg(tmp_path, bcg_frame):
    p = tmp_path / "BCG.csv"
    p.write_text(bcg_frame.to_csv(index=False))
    return p


REGRESS_CASES = [
    ["--mods", "ablat", "--permutations", "1000", "--seed", "1"],
    ["--mods", "ablat"],
    ["--mods", "ablat,year", "--knha"],
    ["--mods", "ablat, year", "--method", "DL", "--level", "0.9"],
    ["--mods", "year", "--method", "FE"],
    ["--mods", "ablat", "--knha", "--permutations", "200", "--seed", "3"],
    ["--mods", "ablat", "--method", "PM", "--convention", "cochrane2025"],
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("opts", REGRESS_CASES, ids=lambda o: " ".join(o))
def test_regress_bcg_same_bytes(capsys, monkeypatch, bcg, fmt, opts):
    design = _design_spy(monkeypatch)
    light, full, taken = _both(capsys, monkeypatch, ["meta", "regress", str(bcg), "--measure", "RR", *opts,
                                                     "--format", fmt])
    assert taken and design[0] is True
    assert light == full
    assert light[0] == 0 and light[1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_regress_smd_generic_same_bytes(capsys, monkeypatch, tmp_path, fmt):
    """Continuous and generic (yi, vi) tables, moderators with decimals and exponents."""
    p = tmp_path / "smd.csv"
    p.write_text("study,m1,sd1,n1,m2,sd2,n2,dose,age\n"
                 "A,10.2,2.1,20,9.1,2.3,21,1.5,40.5\nB,11.0,2.5,35,9.9,2.0,30,2.5e0,51\n"
                 "C,9.8,1.9,15,9.5,2.2,16,0.5,38.25\nD,12.1,3.0,40,10.0,2.8,42,3,60\n"
                 "E,10.5,2.2,25,10.1,2.4,24,1.0,45\n")
    design = _design_spy(monkeypatch)
    light, full, taken = _both(capsys, monkeypatch, ["meta", "regress", str(p), "--measure", "SMD",
                                                     "--mods", "dose,age", "--format", fmt])
    assert taken and design[0] is True and light == full and light[0] == 0
    g = tmp_path / "gen.csv"
    g.write_text("study,yi,vi,x\ns1,0.1,0.02,1\ns2,0.3,0.05,2\ns3,-0.2,0.04,0\ns4,0.5,0.1,3\ns5,0.2,0.03,1.5\n")
    light, full, taken = _both(capsys, monkeypatch, ["meta", "regress", str(g), "--measure", "GEN",
                                                     "--mods", "x", "--permutations", "50", "--seed", "2",
                                                     "--format", fmt])
    assert taken and light == full and light[0] == 0


def _fallback_files(tmp_path, bcg_frame):
    out = {}
    p = tmp_path / "bcg.xlsx"
    bcg_frame.to_excel(p, index=False)
    out["excel"] = p
    p = tmp_path / "comma.csv"
    bcg_frame.assign(ablat=bcg_frame["ablat"] + 0.5).to_csv(p, index=False, sep=";", decimal=",")
    out["decimal comma"] = p
    f = bcg_frame.copy().astype({"ablat": float})
    f.loc[3, "ablat"] = float("nan")
    p = tmp_path / "missing_mod.csv"
    f.to_csv(p, index=False)
    out["missing moderator"] = p
    f = bcg_frame.copy().astype({"e1": float})
    f.loc[2, "e1"] = float("nan")
    p = tmp_path / "missing_count.csv"
    f.to_csv(p, index=False)
    out["missing count"] = p
    f = bcg_frame.copy()
    f["ablat"] = f["ablat"].astype(str).str.replace("44", "forty-four")
    p = tmp_path / "text_mod.csv"
    f.to_csv(p, index=False)
    out["text moderator"] = p
    return out


FALLBACK_OPTS = [
    ["--mods", "ablat", "--permutations", "100", "--seed", "1"],
    ["--mods", "~ ablat + factor(alloc)"],
    ["--mods", "ablat,alloc"],
    ["--mods", "ablat,year", "--factors", "year"],
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_regress_fallbacks_same_bytes(capsys, monkeypatch, tmp_path, bcg_frame, bcg, fmt):
    """Files and options the light path must leave to the full path give the full path's bytes."""
    files = _fallback_files(tmp_path, bcg_frame)
    for name, p in files.items():
        for opts in FALLBACK_OPTS:
            design = _design_spy(monkeypatch)
            light, full, _ = _both(capsys, monkeypatch, ["meta", "regress", str(p), "--measure", "RR", *opts,
                                                         "--format", fmt])
            assert light == full, (name, opts)
            assert not any(design), (name, opts)
    # on the plain file: formulas, text moderators and --factors step aside too
    for opts in FALLBACK_OPTS[1:]:
        design = _design_spy(monkeypatch)
        light, full, taken = _both(capsys, monkeypatch, ["meta", "regress", str(bcg), "--measure", "RR", *opts,
                                                         "--format", fmt])
        assert taken and not any(design) and light == full, opts  # (--factors year: collinear, an error)
    # --predict reads through pandas
    light, full, taken = _both(capsys, monkeypatch, ["meta", "regress", str(bcg), "--measure", "RR", "--mods",
                                                     "ablat", "--predict", "ablat=10", "--format", fmt])
    assert not taken and light == full and light[0] == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_regress_errors_same_bytes(capsys, monkeypatch, tmp_path, bcg_frame, bcg, fmt):
    f = bcg_frame.copy()
    f["double"] = 2 * f["ablat"]
    f["const"] = 7
    p = tmp_path / "extra.csv"
    f.to_csv(p, index=False)
    cases = [
        [str(bcg), "--mods", "latitude"],
        [str(bcg), "--mods", "ablat,ablat"],
        [str(p), "--mods", "ablat,double"],
        [str(p), "--mods", "const"],
        [str(bcg), "--mods", "ablat", "--method", "MH"],
        [str(bcg), "--mods", "ablat", "--permutations", "10", "--seed", "-1"],
        [str(bcg), "--mods", "ablat", "--permutations", "1"],
        [str(tmp_path / "nothere.csv"), "--mods", "ablat"],
        [str(bcg), "--mods", "study"],
    ]
    small = tmp_path / "small.csv"
    bcg_frame.head(2).to_csv(small, index=False)
    cases.append([str(small), "--mods", "ablat"])
    for args in cases:
        light, full, _ = _both(capsys, monkeypatch, ["meta", "regress", *args[:1], "--measure", "RR", *args[1:],
                                                     "--format", fmt])
        assert light == full, args
        assert light[0] != 0, args
        assert "Traceback" not in light[2]


def _imports(args):
    code = ("import sys; from hepatostat.cli import main; rc = main(%r); "
            "print(sorted(m for m in ('pandas', 'scipy', 'formulaic', 'numpy.random', 'pathlib', 'hepatostat.io.read') "
            "if m in sys.modules), file=sys.stderr)" % args)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"})
    return r.stderr.strip().splitlines()[-1]


def test_regress_plain_csv_imports_no_pandas(bcg):
    """The point of the light path: the benchmark's command imports neither pandas nor scipy (nor numpy.random,
    pathlib or the full table reader: a few ms each of the start-up, issue 13's permutation target)."""
    got = _imports(["meta", "regress", str(bcg), "--measure", "RR", "--mods", "ablat", "--permutations", "1000",
                    "--seed", "1"])
    assert got == "[]"


ANALYSE_CASES = [
    ["--influence", "--no-bias"],
    [],
    ["--influence", "--no-loo", "--method", "DL", "--knha"],
    ["--influence", "--method", "FE", "--level", "0.9"],
    ["--influence", "--no-bias", "--convention", "revman5"],
    ["--influence", "--method", "MH"],
    ["--by", "alloc", "--mods", "~ ablat + factor(alloc)", "--cumul", "year", "--influence"],
    ["--mods", "ablat,year", "--cumul", "input"],
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("opts", ANALYSE_CASES, ids=lambda o: " ".join(o) or "defaults")
def test_analyse_bcg_same_bytes(capsys, monkeypatch, bcg, fmt, opts):
    light, full, taken = _both(capsys, monkeypatch, ["meta", "analyse", str(bcg), "--measure", "RR", *opts,
                                                     "--format", fmt])
    assert taken and light == full
    assert light[0] == 0 and light[1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_analyse_fallbacks_and_errors_same_bytes(capsys, monkeypatch, tmp_path, bcg_frame, bcg, fmt):
    files = _fallback_files(tmp_path, bcg_frame)
    for name, p in files.items():
        for opts in (["--influence", "--no-bias"], ["--by", "alloc", "--mods", "~ ablat + factor(alloc)"]):
            light, full, taken = _both(capsys, monkeypatch, ["meta", "analyse", str(p), "--measure", "RR", *opts,
                                                             "--format", fmt])
            assert light == full, (name, opts)
            if name in ("excel", "decimal comma"):  # (a blank count: read_light answers, effects() falls back)
                assert not taken, name
    dup = tmp_path / "dup.csv"
    bcg_frame.assign(study=["same"] * len(bcg_frame)).to_csv(dup, index=False)
    small = tmp_path / "small.csv"
    bcg_frame.head(2).to_csv(small, index=False)
    cases = [[str(bcg), "--by", "nothere"], [str(bcg), "--cumul", "nothere"], [str(dup)],
             [str(tmp_path / "nothere.csv")], [str(small), "--influence"], [str(bcg), "--mods", "latitude"]]
    for args in cases:
        light, full, _ = _both(capsys, monkeypatch, ["meta", "analyse", *args[:1], "--measure", "RR", *args[1:],
                                                     "--format", fmt])
        assert light == full, args
        assert "Traceback" not in light[2]


@pytest.mark.parametrize("fmt", FORMATS)
def test_loo_influence_not_estimable_same_bytes(capsys, monkeypatch, tmp_path, fmt):
    """Leave-one-out sentences and tables with refits that are not estimable (k = 2) and I² > 50%."""
    p = tmp_path / "two.csv"
    p.write_text("study,yi,vi\na,0.1,0.01\nb,0.9,0.02\n")
    for opts in (["--influence"], ["--no-bias"]):
        light, full, taken = _both(capsys, monkeypatch, ["meta", "analyse", str(p), "--measure", "GEN", *opts,
                                                         "--format", fmt])
        assert taken and light == full
    q = tmp_path / "het.csv"
    q.write_text("study,yi,vi\na,0.1,0.01\nb,0.9,0.02\nc,0.2,0.01\nd,-0.5,0.03\ne,0.15,0.02\nf,1.4,0.01\n")
    light, full, taken = _both(capsys, monkeypatch, ["meta", "analyse", str(q), "--measure", "GEN", "--influence",
                                                     "--format", fmt])
    assert taken and light == full and light[0] == 0


def test_analyse_plain_csv_imports_no_pandas(bcg):
    for fmt in FORMATS:
        got = _imports(["meta", "analyse", str(bcg), "--measure", "RR", "--influence", "--no-bias",
                        "--format", fmt])
        assert got == "[]", fmt
