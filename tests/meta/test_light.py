"""The pandas-free reading of a plain study table (meta/_light.py, issue 12 item 6)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from hepatostat.cli import main
from hepatostat.errors import InputError
from hepatostat.io import read_table
from hepatostat.meta import effects, pool
from hepatostat.meta._light import LightTable, read_light

CONT = ("study,m1,sd1,n1,m2,sd2,n2\nTrial A,12.1,3.2,20,14.0,3.5,21\nTrial B,10.4,2.9,35,12.2,3.1,33\n"
        "Trial C,11.8,4.1,18,12.1,3.9,19\nTrial D,9.7,2.5,40,11.9,2.8,42\n")
BIN = "study,e1,n1,e2,n2,year\nA,3,20,6,21,1999\nB,0,25,4,24,2001\nC,7,30,9,31,2003\nD,1,12,0,14,2005\n"
GEN = "study,yi,sei\nA,0.1,0.2\nB,-0.3,0.25\nC,0.45,0.3\n"


def _write(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("text, measure", [(CONT, "SMD"), (CONT, "MD"), (BIN, "OR"), (BIN, "RR"), (BIN, "RD"),
                                           (BIN, "PETO"), (GEN, "GEN")])
def test_fast_path_equals_the_pandas_path(tmp_path, text, measure):
    p = _write(tmp_path, text)
    light = read_light(p)
    assert isinstance(light, LightTable)
    fast = effects(light, measure, source=str(p))
    slow = effects(read_table(p), measure, source=str(p))
    assert fast.study == slow.study and fast.notes == slow.notes and fast.excluded == slow.excluded
    np.testing.assert_allclose(fast.yi, slow.yi, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(fast.vi, slow.vi, rtol=1e-13, atol=1e-15)
    if measure != "SMD":  # only the SMD's exact correction (math.lgamma vs gammaln) can differ in the last bits
        np.testing.assert_array_equal(fast.yi, slow.yi)
        np.testing.assert_array_equal(fast.vi, slow.vi)
    pd.testing.assert_frame_equal(fast.data, slow.data)  # built on demand from the same file
    for method in ("REML", "DL", "FE") + (("MH", "PETO") if measure in ("OR",) else ()):
        a, b = pool(fast, method).to_dict(), pool(slow, method).to_dict()
        for key in ("estimate", "se", "tau2", "Q", "pval", "ci_low", "ci_high", "I2"):
            assert a[key] == pytest.approx(b[key], rel=1e-11, abs=1e-13), (method, key)


def test_windows_line_ends_and_bom_take_the_fast_path(tmp_path):
    p = tmp_path / "win.csv"
    p.write_bytes(b"\xef\xbb\xbf" + CONT.replace("\n", "\r\n").encode())
    light = read_light(p)
    assert light is not None and light.header[0] == "study"
    fast, slow = effects(light, "SMD"), effects(read_table(p), "SMD")
    assert fast.study == slow.study
    np.testing.assert_allclose(fast.yi, slow.yi, rtol=1e-13)


@pytest.mark.parametrize("text", [
    "study,m1,sd1,n1,m2,sd2,n2\nA,1,1,10,2,1,10\n\nB,1,1,10,2,1,10\n",   # blank row (noted by read_table)
    "study;m1;sd1;n1;m2;sd2;n2\nA;1;1;10;2;1;10\nB;1;1;10;2;1;10\n",      # sniffed separator
    "study,m1,sd1,n1,m2,sd2,n2\n\"A \"\"x\"\"\",1,1,10,2,1,10\nB,1,1,10,2,1,10\n",  # doubled quotes in a cell
    "study,m1,sd1,n1,m2,sd2,n2\n\"A\nx\",1,1,10,2,1,10\nB,1,1,10,2,1,10\n",  # a line end inside quotes
    "study,m1,sd1,n1,m2,sd2,n2\nA \"x\",1,1,10,2,1,10\nB,1,1,10,2,1,10\n",  # a quote inside a cell
])
def test_unusual_files_go_to_read_table(tmp_path, text):
    assert read_light(_write(tmp_path, text)) is None


@pytest.mark.parametrize("text, column, row", [
    ("study,m1,sd1,n1,m2,sd2,n2\nA,1,1,10,2,1,10\nB,x,1,10,2,1,10\n", "m1", 3),     # not a number
    ("study,m1,sd1,n1,m2,sd2,n2\nA,1,0,10,2,1,10\nB,1,1,10,2,1,10\n", "sd1", 2),    # SD 0
    ("study,m1,sd1,n1,m2,sd2,n2\nA,1,1,10,2,1,10\nA,1,1,10,2,1,10\n", "study", 3),  # duplicate label
    ("study,m1,sd1,n1,m2,sd2,n2\nA,1,1,10.5,2,1,10\nB,1,1,10,2,1,10\n", "n1", 2),   # fractional n
])
def test_bad_cells_give_the_same_error_as_before(tmp_path, text, column, row):
    p = _write(tmp_path, text)
    with pytest.raises(InputError) as slow:
        effects(read_table(p), "SMD", source=str(p))
    with pytest.raises(InputError) as fast:
        effects(read_light(p), "SMD", source=str(p))
    assert str(fast.value) == str(slow.value)
    assert f"file {p}" in str(fast.value) and f"row {row}" in str(fast.value) and f"'{column}'" in str(fast.value)


def test_missing_value_is_still_an_exclusion(tmp_path):
    p = _write(tmp_path, "study,m1,sd1,n1,m2,sd2,n2\nA,1,1,10,2,1,10\nB,NA,1,10,2,1,10\nC,1,2,12,3,1,11\n")
    es = effects(read_light(p), "SMD", source=str(p))
    assert es.study == ("A", "C") and es.excluded[0].study == "B" and es.excluded[0].row == 3


def test_numeric_study_labels_keep_the_pandas_reading(tmp_path):
    # pandas reads 01, 02 as the numbers 1, 2: the fast path must not label them "01", "02"
    p = _write(tmp_path, "study,yi,vi\n01,0.1,0.04\n02,0.3,0.05\n")
    es = effects(read_light(p), "GEN", source=str(p))
    assert es.study == effects(read_table(p), "GEN").study


def test_long_numbers_keep_the_pandas_reading(tmp_path):
    p = _write(tmp_path, "study,yi,vi\nA,0.12345678901234567,0.04\nB,0.3,0.05\n")
    light = read_light(p)
    got = light.validated("generic")
    if int(pd.__version__.split(".")[0]) < 3:
        assert got is None  # > 15 digits: left to pandas' parser, which older pandas may round otherwise
    else:  # pandas 3 reads every decimal number correctly rounded (tests/meta/test_light_per.py checks it)
        np.testing.assert_array_equal(got[1]["yi"], read_table(p)["yi"].to_numpy())


def test_whole_quoted_cells_take_the_fast_path(tmp_path):
    p = _write(tmp_path, 'study,m1,sd1,n1,m2,sd2,n2\n"A, x",1,1,10,2,1,10\n"B",1,1,10,2,1,10\n')
    light = read_light(p)
    assert light is not None
    fast, slow = effects(light, "SMD", source=str(p)), effects(read_table(p), "SMD", source=str(p))
    assert fast.study == slow.study == ("A, x", "B")
    np.testing.assert_array_equal(fast.yi, slow.yi)


def test_meta_pool_imports_neither_pandas_nor_scipy(tmp_path):
    p = _write(tmp_path, CONT)
    code = ("import sys, json; from hepatostat.cli import main; "
            f"s = main(['meta', 'pool', {str(p)!r}, '--measure', 'SMD', '--method', 'REML', '--format', 'json']); "
            "print(json.dumps([s] + sorted(m for m in ('pandas', 'scipy', 'scipy.special', 'matplotlib') "
            "if m in sys.modules)), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == [0]
    assert json.loads(proc.stdout)["k"] == 4


def test_meta_pool_cli_same_output_both_ways(tmp_path, capsys):
    p = _write(tmp_path, BIN)
    assert main(["meta", "pool", str(p), "--measure", "OR", "--method", "MH", "--format", "json"]) == 0
    fast = json.loads(capsys.readouterr().out)
    slow = pool(effects(read_table(p), "OR", source=str(p)), "MH", convention="metafor").to_dict()
    assert fast["studies"] == slow["studies"] and fast["notes"] == slow["notes"]
    assert fast["estimate"] == pytest.approx(slow["estimate"], rel=1e-13)
