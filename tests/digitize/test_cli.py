"""``hepatostat digitize points|bars`` and ``hepatostat serve``: the CLI contract of DESIGN.md."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from hepatostat.cli import cli, main
from hepatostat.cli.digitize import digitize_group, serve_cmd

from . import figures as F


@pytest.fixture
def run(capsys, monkeypatch):
    """Run the CLI in-process with the digitize commands registered."""
    monkeypatch.setitem(cli.commands, "digitize", digitize_group)
    monkeypatch.setitem(cli.commands, "serve", serve_cmd)

    def _run(args):
        status = main(args)
        out = capsys.readouterr()
        return status, out.out, out.err

    return _run


def _axis(pair):
    return ",".join(f"{float(p)!r}={float(v)!r}" for p, v in pair)


def test_points_json_contract(run, scatter_linear):
    r = scatter_linear
    status, out, err = run(["digitize", "points", r.path, "--x-axis", _axis(r.x_axis), "--y-axis", _axis(r.y_axis),
                            "--color", F.RED, "--format", "json"])
    assert status == 0, err
    obj = json.loads(out)
    assert {"points", "calibration"} <= set(obj)
    assert set(obj["points"][0]) == {"x", "y"}
    assert len(obj["points"]) == len(r.truth["x"])
    assert obj["calibration"]["kind"] == "axes" and obj["calibration"]["x_log"] is False
    xs = np.array([p["x"] for p in obj["points"]])
    assert np.all(np.diff(xs) >= -0.1)


def test_points_log_and_csv(run, scatter_log):
    r = scatter_log
    status, out, err = run(["digitize", "points", r.path, "--x-axis", _axis(r.x_axis), "--y-axis", _axis(r.y_axis),
                            "--x-log", "--y-log", "--color", F.RED, "--tolerance", "60", "--format", "csv"])
    assert status == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == ["x", "y"] and len(frame) == len(r.truth["x"])
    assert frame.x.min() > 1 and frame.y.max() < 1000


def test_points_affine_refs(run, rotated_scatter, scatter_linear):
    path, refs, _ = rotated_scatter
    args = ["digitize", "points", path, "--color", F.RED, "--format", "json"]
    for px, py, x, y in refs:
        args += ["--ref", f"{float(px)!r},{float(py)!r}={float(x)!r},{float(y)!r}"]
    status, out, err = run(args)
    assert status == 0, err
    obj = json.loads(out)
    assert obj["calibration"]["kind"] == "affine" and len(obj["points"]) == len(scatter_linear.truth["x"])


def test_bars_json_and_csv(run, bar_chart):
    r = bar_chart
    args = ["digitize", "bars", r.path, "--y-axis", _axis(r.y_axis), "--color", F.GREEN]
    status, out, err = run(args + ["--format", "json"])
    assert status == 0, err
    obj = json.loads(out)
    assert [set(b) for b in obj["bars"]] == [{"x_px", "value"}] * len(r.truth["value"])
    values = np.array([b["value"] for b in obj["bars"]])
    np.testing.assert_array_less(np.abs(values - r.truth["value"]) / r.span[1], 0.01)
    status, out, _ = run(args + ["--format", "csv"])
    frame = pd.read_csv(io.StringIO(out))
    assert status == 0 and list(frame.columns) == ["x_px", "value"] and len(frame) == 6
    status, out, _ = run(args)
    assert status == 0 and "6 bar(s)" in out


@pytest.mark.parametrize("args, message", [
    (["--x-axis", "100=0,100=10", "--y-axis", "400=0,40=100"], "x-axis calibration points coincide"),
    (["--x-axis", "100=0,500=10", "--y-axis", "400=0,40=100", "--y-log"], "log y axis needs positive"),
    (["--x-axis", "100=0,500=10", "--y-axis", "400=0,40=100", "--color", "#00ff00"], "no pixel matches the colour"),
    (["--x-axis", "100=0", "--y-axis", "400=0,40=100"], "two PIXEL=VALUE pairs"),
    (["--y-axis", "400=0,40=100"], "missing --x-axis"),
    (["--x-axis", "100=0,500=10", "--y-axis", "400=0,40=100", "--region", "1,2,3"], "--region must be"),
])
def test_errors_exit_1(run, scatter_linear, args, message):
    full = ["digitize", "points", scatter_linear.path] + args
    if "--color" not in args:
        full += ["--color", F.RED]
    status, out, err = run(full)
    assert status == 1 and out == ""
    assert err.strip().splitlines()[-1].startswith("Error: ") and message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_bars_baseline_nan_is_an_error(run, bar_chart, value):
    # issue 14: `--baseline nan` returned wrong values with exit 0
    status, out, err = run(["digitize", "bars", bar_chart.path, "--y-axis", "400=0,40=100", "--color", F.GREEN,
                            "--baseline", value])
    assert status == 1 and out == "" and "Traceback" not in err
    assert err.startswith("Error: column 'baseline'") and "must be a finite number" in err


def test_unreadable_image_exit_1(run, tmp_path):
    bad = tmp_path / "scan.png"
    bad.write_bytes(b"\x89PNG broken")
    status, _, err = run(["digitize", "bars", str(bad), "--y-axis", "400=0,40=100", "--color", "#000"])
    assert status == 1 and err.startswith(f"Error: file {bad}: cannot read the image")


def test_every_command_has_help_with_example(run):
    for args in (["digitize"], ["digitize", "points"], ["digitize", "bars"], ["serve"]):
        status, out, _ = run(args + ["--help"])
        assert status == 0 and "Usage:" in out
        if args != ["digitize"]:
            assert "Example:" in out
