"""``meta pool --per`` on a plain CSV without pandas (meta/_light.py, issue 13 item 5).

Every test runs the command twice, once on the pandas-free path and once with it switched off (the full
path through ``io.read_table`` and ``pool_per``), and asks for the same bytes on stdout and stderr and the
same exit status, for --format csv, json and table.
"""

from __future__ import annotations

import io
import random
import sys
from decimal import Decimal, localcontext
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hepatostat.cli import main
from hepatostat.meta import _light
from hepatostat.meta._light import read_light, split_per

from .light_paths import FORMATS, both, run


def _run(capsys, args):
    return run(capsys, args)


def _both(capsys, monkeypatch, args):
    return both(capsys, monkeypatch, "split_per", args)


def _gen_table(n, seed=1, hard=0):
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n):
        k = int(rng.integers(1, 12))
        vi = 4 / rng.integers(20, 240, k) + 0.01
        yi = rng.normal(rng.normal(0, 0.4), np.sqrt(vi + rng.normal(0, 0.3) ** 2))
        rows += [(f"A{a:03d}", f"s{i:02d}", y, v) for i, (y, v) in enumerate(zip(yi, vi))]
    if hard:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
        from meta_adversarial import generate

        y, v, mask, _ = generate(hard, seed)
        for j in range(hard):
            rows += [(f"H{j:03d}", f"s{i:02d}", yy, vv) for i, (yy, vv) in enumerate(zip(y[j][mask[j]], v[j][mask[j]]))]
    return pd.DataFrame(rows, columns=["analysis", "study", "yi", "vi"])


def _write_frame(tmp_path, frame, name="per.csv", **kw):
    p = tmp_path / name
    frame.to_csv(p, index=False, **kw)
    return p


@pytest.fixture(scope="module")
def gen_table():
    return _gen_table(40, hard=60)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("opts", [
    ["--method", "REML"],
    ["--method", "DL", "--knha"],
    ["--method", "FE"],
    ["--method", "auto"],
    ["--method", "auto", "--auto-random", "REML", "--knha", "--level", "0.9"],
    ["--method", "PM", "--level", "0.8"],
    ["--convention", "cochrane2025"],
    [],
])
def test_generic_analyses_same_bytes(tmp_path, capsys, monkeypatch, gen_table, fmt, opts):
    p = _write_frame(tmp_path, gen_table, float_format="%.17g")
    light, full, taken = _both(capsys, monkeypatch, ["meta", "pool", str(p), "--measure", "GEN", "--per", "analysis",
                                                      "--format", fmt, *opts])
    assert taken
    assert light == full
    assert light[0] == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_repr_numbers_and_sei(tmp_path, capsys, monkeypatch, gen_table, fmt):
    t = gen_table.assign(sei=np.sqrt(gen_table["vi"])).drop(columns="vi")
    p = _write_frame(tmp_path, t)  # pandas' own repr of every float (up to 17 digits)
    light, full, taken = _both(capsys, monkeypatch, ["meta", "pool", str(p), "--measure", "GEN", "--per",
                                                      "analysis", "--format", fmt])
    assert taken and light == full


CONT = ("outcome,study,m1,sd1,n1,m2,sd2,n2\n"
        "MELD,Trial A,12.1,3.2,20,14.0,3.5,21\nMELD,Trial B,10.4,2.9,35,12.2,3.1,33\n"
        "ALB,Trial A,31.8,4.1,18,30.1,3.9,19\nALB,Trial C,29.7,2.5,40,31.9,2.8,42\nALB,Trial D,33.0,5.5,25,30.2,4.8,24\n"
        "TBIL,Trial E,40.2,12.0,15,52.3,14.1,16\n")
BIN = ("outcome,study,e1,n1,e2,n2\nsurv,A,3,20,6,21\nsurv,B,0,25,4,24\nsurv,C,7,30,9,31\n"
       "death,A,1,12,0,14\ndeath,B,5,40,9,38\ndeath,\"C, 2001\",0,10,0,11\n")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("text, args", [
    (CONT, ["--measure", "SMD"]),
    (CONT, ["--measure", "SMD", "--correction", "approx", "--vtype", "UB", "--method", "DL"]),
    (CONT, ["--measure", "MD", "--method", "auto"]),
    (BIN, ["--measure", "OR"]),
    (BIN, ["--measure", "RR", "--method", "DL", "--to", "all"]),
    (BIN, ["--measure", "RD", "--method", "FE"]),
    (BIN, ["--measure", "PETO", "--method", "REML"]),
])
def test_arm_level_tables_same_bytes(tmp_path, capsys, monkeypatch, fmt, text, args):
    p = tmp_path / "arms.csv"
    p.write_text(text)
    light, full, taken = _both(capsys, monkeypatch, ["meta", "pool", str(p), "--per", "outcome", "--format", fmt, *args])
    assert taken and light == full and light[0] == 0


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name, text, args", [
    # missing values and other exclusions: the full path logs them
    ("blank.csv", "analysis,study,yi,vi\nA,s1,0.1,0.04\nA,s2,,0.05\nB,s1,0.3,0.02\nB,s2,0.2,0.03\n", ["--measure", "GEN"]),
    ("na.csv", "analysis,study,yi,vi\nA,s1,0.1,0.04\nA,s2,NA,0.05\nB,s1,0.3,0.02\n", ["--measure", "GEN"]),
    ("noper.csv", "analysis,study,yi,vi\nA,s1,0.1,0.04\n,s2,0.2,0.05\nB,s1,0.3,0.02\n", ["--measure", "GEN"]),
    ("numper.csv", "analysis,study,yi,vi\n1,s1,0.1,0.04\n1,s2,0.2,0.05\n2,s1,0.3,0.02\n", ["--measure", "GEN"]),
    ("semi.csv", "analysis;study;yi;vi\nA;s1;0,1;0,04\nA;s2;0,2;0,05\nB;s1;0,3;0,02\n", ["--measure", "GEN"]),
    ("dup.csv", "analysis,study,yi,vi\nA,s1,0.1,0.04\nA,s1,0.2,0.05\nB,s1,0.3,0.02\n", ["--measure", "GEN"]),
    ("missing.csv", "analysis,study,yi,vi\nA,s1,0.1,0.04\n", ["--measure", "GEN", "--per", "outcome"]),
    ("zero.csv", "analysis,study,yi,vi\nA,s1,0.1,0\nA,s2,0.2,0.05\nB,s1,0.3,0.02\n", ["--measure", "GEN"]),
    ("text.csv", "analysis,study,yi,vi\nA,s1,0.1,x\nA,s2,0.2,0.05\n", ["--measure", "GEN"]),
    ("numstudy.csv", "analysis,study,yi,vi\nA,1,0.1,0.04\nA,2,0.2,0.05\nB,1,0.3,0.02\n", ["--measure", "GEN"]),
    ("spaces.csv", "analysis , study,yi,vi\nA,s1,0.1,0.04\nB,s1,0.3,0.02\n", ["--measure", "GEN"]),
    ("trail.csv", "analysis,study,yi,vi\nA ,s1,0.1,0.04\nA,s2,0.2,0.05\n", ["--measure", "GEN"]),
    ("negzero.csv", "analysis,study,yi,vi\nA,s1,-0,1\nA,s2,2,1\nB,s1,3,2\n", ["--measure", "GEN"]),
    ("quoted.csv", 'analysis,study,yi,vi\n"A, b","s ""1""",0.1,0.04\n"A, b",s2,0.2,0.05\n', ["--measure", "GEN"]),
    ("lead.csv", " analysis,study,yi,vi\n A,s1,0.1,0.04\n A, s2,0.2,0.05\nB,s1, 0.3,0.02\n", ["--measure", "GEN"]),
    ("comma.csv", 'analysis,"study",yi,vi\n"A, b","s 1",0.1,0.04\n"A, b",s2,0.2,0.05\nB,"s1",0.3,0.02\n',
     ["--measure", "GEN"]),
    ("peto.csv", BIN, ["--measure", "OR", "--method", "PETO"]),
    ("mh.csv", BIN, ["--measure", "RR", "--method", "MH"]),
    ("if0all.csv", BIN, ["--measure", "OR", "--to", "if0all"]),
    ("drop00.csv", BIN, ["--measure", "OR", "--drop00"]),
    ("badn.csv", "outcome,study,e1,n1,e2,n2\nx,A,3,2,6,21\n", ["--measure", "OR"]),
    ("level.csv", "analysis,study,yi,vi\nA,s1,0.1,0.04\n", ["--measure", "GEN", "--auto-random", "REML",
                                                          "--method", "auto", "--level", "0.999999"]),
])
def test_messy_files_and_errors_same_bytes(tmp_path, capsys, monkeypatch, fmt, name, text, args):
    p = tmp_path / name
    p.write_text(text)
    per = [] if "--per" in args else ["--per", "outcome" if text.startswith("outcome") else "analysis"]
    light, full, _ = _both(capsys, monkeypatch, ["meta", "pool", str(p), "--format", fmt, *per, *args])
    assert light == full


@pytest.mark.parametrize("name, text", [
    ("blank.csv", "analysis,study,yi,vi\nA,s1,0.1,0.04\nA,s2,,0.05\n"),
    ("numper.csv", "analysis,study,yi,vi\n1,s1,0.1,0.04\n"),
    ("dup.csv", "analysis,study,yi,vi\nA,s1,0.1,0.04\nA,s1,0.2,0.05\n"),
    ("trail.csv", "analysis,study,yi,vi\nA ,s1,0.1,0.04\n"),
    ("negzero.csv", "analysis,study,yi,vi\nA,s1,-0,1\n"),
    ("inf.csv", "analysis,study,yi,vi\nA,s1,inf,1\n"),
    ("under.csv", "analysis,study,yi,vi\nA,s1,1_0,1\n"),
    ("tiny.csv", "analysis,study,yi,vi\nA,s1,1e-400,1\n"),
])
def test_unusual_cells_leave_the_light_path(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    assert split_per(read_light(p, max_bytes=_light.PER_MAX_BYTES), "analysis", "GEN", {}, str(p)) is None


def test_excel_falls_back(tmp_path, capsys, monkeypatch):
    p = tmp_path / "t.xlsx"
    pd.DataFrame({"analysis": ["A", "A", "B"], "study": ["a", "b", "a"], "yi": [0.1, 0.2, 0.3],
                  "vi": [0.01, 0.02, 0.03]}).to_excel(p, index=False)
    light, full, taken = _both(capsys, monkeypatch, ["meta", "pool", str(p), "--measure", "GEN", "--per", "analysis",
                                                      "--format", "csv"])
    assert not taken and light == full and light[0] == 0


def test_csv_path_needs_no_pandas(tmp_path, gen_table):
    import subprocess

    p = _write_frame(tmp_path, gen_table, float_format="%.17g")
    code = ("import sys; from hepatostat.cli import main; "
            f"s = main(['meta', 'pool', {str(p)!r}, '--measure', 'GEN', '--per', 'analysis', '--format', 'csv']); "
            "print(s, sorted(m for m in ('pandas', 'scipy') if m in sys.modules), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stderr.strip().splitlines()[-1] == "0 []"
    assert proc.stdout.count("\n") == 1 + gen_table["analysis"].nunique()


def test_pandas_reads_decimal_numbers_as_float_does():
    """The light reader takes numbers of any length on pandas 3 because its parser rounds them correctly,
    as Python's float() does; this checks it on long, short, tiny, huge and exact halfway numbers."""
    if _light._pandas_major() < 3:
        pytest.skip("older pandas: the light reader keeps to 15 significant digits")
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.normal(0, 1, 20000), rng.lognormal(0, 30, 20000) * rng.choice([-1, 1], 20000)])
    cells = ["%.17g" % v for v in x] + [repr(float(v)) for v in x]
    r = random.Random(3)
    for _ in range(20000):
        nd = r.randint(15, 25)
        digits = "".join(r.choice("0123456789") for _ in range(nd))
        cut = r.randint(0, nd)
        cells.append(("-" if r.random() < 0.5 else "") + digits[:cut] + "." + digits[cut:] + f"e{r.randint(-300, 300)}")
    with localcontext() as ctx:  # exactly half-way between two doubles (up to about 110 characters)
        ctx.prec = 150
        for _ in range(5000):
            a = r.uniform(-1e3, 1e3) * 10.0 ** r.randint(-20, 20)
            cells.append(str((Decimal(a) + Decimal(float(np.nextafter(a, np.inf)))) / 2))
    assert 100 < max(map(len, cells)) <= 120
    cells = [c for c in cells if np.isfinite(float(c))]  # (25 digits before e300 overflow)
    ours = _light._numbers(cells)
    theirs = pd.read_csv(io.StringIO("a\n" + "\n".join(cells) + "\n"))["a"].to_numpy(dtype=float)
    assert ours is not None
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("method", ["REML", "auto"])
def test_an_analysis_not_estimable_same_bytes(tmp_path, capsys, monkeypatch, gen_table, fmt, method):
    """The kernel reports some analyses as not estimable (forced here: plain data never are): both paths
    give the same status, reason and empty numbers for them."""
    from hepatostat.meta import kernel

    real = kernel.fit

    def failing(y, v, mask=None, *a, **k):
        f = real(y, v, mask, *a, **k)
        for j in range(0, len(f.status), 7):
            f.status[j], f.reason[j] = "not estimable", "forced by the test"
        return f

    monkeypatch.setattr(kernel, "fit", failing)
    p = _write_frame(tmp_path, gen_table, float_format="%.17g")
    light, full, taken = _both(capsys, monkeypatch, ["meta", "pool", str(p), "--measure", "GEN", "--per", "analysis",
                                                      "--format", fmt, "--method", method])
    assert taken and light == full and "forced by the test" in light[1]


def test_light_effect_sizes_equal_the_full_split(tmp_path):
    """The EffectSizes the light path hands to pool_many (JSON and table output) are those of pool_per,
    their pandas frames (built on demand) included."""
    from hepatostat.io import read_table
    from hepatostat.meta.fit import _per_split

    p = tmp_path / "arms.csv"
    p.write_text(BIN)
    opts = {"add": 0.5, "to": "only0", "drop00": False}
    light = split_per(read_light(p, max_bytes=_light.PER_MAX_BYTES), "outcome", "OR", opts, str(p)).effect_sizes()
    values, full, excluded = _per_split(read_table(p), "outcome", "OR", str(p), opts)
    assert not excluded and len(light) == len(full) == 2
    for a, b in zip(light, full):
        assert (a.study, a.notes, a.excluded, a.options, a.source, a.measure) == \
               (b.study, b.notes, b.excluded, b.options, b.source, b.measure)
        np.testing.assert_array_equal(a.yi, b.yi)
        np.testing.assert_array_equal(a.vi, b.vi)
        assert a.flags.keys() == b.flags.keys()
        for key in a.flags:
            np.testing.assert_array_equal(a.flags[key], b.flags[key])
        pd.testing.assert_frame_equal(a.data, b.data)
