"""The command-line contract of DESIGN.md, run as a user runs it."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from hepatostat.cli import cli, main
from hepatostat.meta import effects, pool

from refdata import reference_data, reference_path

POOL_KEYS = {"k", "estimate", "se", "ci_low", "ci_high", "pval", "tau2", "I2", "H2", "Q", "Q_df", "Q_pval",
             "pi_low", "pi_high", "model_rule", "studies"}


def run(args, capsys):
    """Run the CLI in-process; return (status, stdout, stderr)."""
    status = main(args)
    out = capsys.readouterr()
    return status, out.out, out.err


def test_pool_json_contract(capsys):
    status, out, err = run(["meta", "pool", str(reference_path("bcg")), "--measure", "OR", "--method", "REML",
                            "--format", "json"], capsys)
    assert status == 0, err
    obj = json.loads(out)
    assert POOL_KEYS <= set(obj)
    assert set(obj["studies"][0]) == {"study", "yi", "vi", "weight"}
    assert set(obj["exp"]) == {"estimate", "ci_low", "ci_high", "pi_low", "pi_high"}
    expected = pool(effects(reference_data("bcg"), "OR"), "REML")
    assert obj["estimate"] == expected.estimate and obj["tau2"] == expected.tau2


def test_pool_knha_and_auto(capsys):
    status, out, _ = run(["meta", "pool", str(reference_path("normand1999")), "--measure", "SMD", "--method", "auto",
                          "--knha", "--format", "json"], capsys)
    obj = json.loads(out)
    assert status == 0 and obj["test"] == "knha" and obj["model_rule"].startswith("auto:")


def test_effects_json_contract(capsys):
    status, out, _ = run(["meta", "effects", str(reference_path("normand1999")), "--measure", "SMD", "--format", "json"],
                         capsys)
    obj = json.loads(out)
    assert status == 0 and len(obj["studies"]) == 9
    assert set(obj["studies"][0]) == {"study", "yi", "vi"}


def test_table_and_csv_formats(capsys):
    f = str(reference_path("bcg"))
    status, out, _ = run(["meta", "pool", f, "--measure", "RR"], capsys)
    assert status == 0 and "Random-effects model (tau² estimator: REML)" in out and "RR = " in out
    status, out, _ = run(["meta", "effects", f, "--measure", "RR", "--format", "csv"], capsys)
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == ["study", "yi", "vi", "sei"] and len(frame) == 13


def test_per_json_and_csv(tmp_path, capsys):
    data = pd.concat([reference_data("normand1999").assign(timepoint="W4"),
                      reference_data("normand1999").iloc[:4].assign(timepoint="W12")])
    path = tmp_path / "long.csv"
    data.to_csv(path, index=False)
    status, out, err = run(["meta", "pool", str(path), "--measure", "SMD", "--method", "REML", "--per", "timepoint",
                            "--format", "json"], capsys)
    assert status == 0, err
    obj = json.loads(out)
    assert [a["per"] for a in obj["analyses"]] == ["W4", "W12"]
    assert POOL_KEYS <= set(obj["analyses"][0])
    status, out, _ = run(["meta", "pool", str(path), "--measure", "SMD", "--per", "timepoint", "--format", "csv"], capsys)
    frame = pd.read_csv(io.StringIO(out))
    assert {"timepoint", "k", "estimate", "se", "ci_low", "ci_high", "pval", "tau2", "I2", "Q", "Q_pval"} <= set(frame.columns)
    assert list(frame["k"]) == [9, 4]


def test_plot_is_written(tmp_path, capsys):
    target = tmp_path / "forest"
    status, _, err = run(["meta", "pool", str(reference_path("bcg")), "--measure", "RR", "--plot", str(target)], capsys)
    assert status == 0, err
    assert (tmp_path / "forest.png").stat().st_size > 10_000 and (tmp_path / "forest.svg").exists()


def test_excluded_studies_are_listed(tmp_path, capsys):
    data = reference_data("normand1999")
    data.loc[1, "m1"] = None
    path = tmp_path / "t.csv"
    data.to_csv(path, index=False)
    status, out, _ = run(["meta", "pool", str(path), "--measure", "SMD", "--format", "json"], capsys)
    obj = json.loads(out)
    assert obj["k"] == 8 and obj["excluded"][0]["study"] == "Orpington-Mild"
    status, out, _ = run(["meta", "pool", str(path), "--measure", "SMD"], capsys)
    assert "Excluded: Orpington-Mild: missing value in column 'm1' (row 3)" in out


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "content, args, message",
    [
        ("study,m1,sd1,n1,m2,sd2,n2\nA,1,abc,10,2,1,10\n", ["--measure", "SMD"],
         "row 2, column 'sd1', value 'abc': not a number"),
        ("study,e1,n1,e2,n2\nA,12,10,2,10\n", ["--measure", "OR"], "events exceed the group size"),
        ("study,m1,sd,n1,m2,sd2,n2\nA,1,1,10,2,1,10\n", ["--measure", "SMD"], "missing column(s) 'sd1'"),
        ("", ["--measure", "SMD"], "the file is empty"),
    ],
)
def test_bad_input_prints_error_and_exits_1(tmp_path, capsys, content, args, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    status, out, err = run(["meta", "pool", str(path), *args], capsys)
    assert status == 1 and out == ""
    assert err.startswith("Error: ") and message in err and str(path) in err
    assert "Traceback" not in err


def test_missing_file_and_bad_option(capsys):
    status, _, err = run(["meta", "pool", "nope.csv", "--measure", "SMD"], capsys)
    assert status == 1 and "Error: file nope.csv: file not found" in err
    status, _, err = run(["meta", "pool", "nope.csv", "--measure", "XX"], capsys)
    assert status == 1 and "Error: " in err and "'XX' is not one of" in err


def test_every_command_has_help_with_an_example():
    import click

    ctx = click.Context(cli)

    def walk(group, path):
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            yield path + [name], cmd
            if isinstance(cmd, click.Group):
                yield from walk(cmd, path + [name])

    runner = CliRunner()
    checked = []
    for path, cmd in walk(cli, []):
        result = runner.invoke(cli, path + ["--help"])
        assert result.exit_code == 0, path
        if not isinstance(cmd, click.Group):
            assert "Example" in result.output, f"{' '.join(path)} --help has no example"
            checked.append(" ".join(path))
    assert {"meta pool", "meta regress", "review dedup", "demo"} <= set(checked)


def test_installed_entry_point_runs():
    # the console script as a new user calls it (a separate process)
    proc = subprocess.run([sys.executable, "-m", "hepatostat", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and "hepatostat" in proc.stdout


def test_demo_runs(tmp_path, capsys):
    status, out, err = run(["demo", "--out", str(tmp_path / "demo"), "--quiet"], capsys)
    assert status == 0, err
    assert "Demo finished" in out and "(SYNTHETIC data)" in out
    for part in ("cohort", "review"):
        for name in ("report.html", "report.docx", "tables.xlsx", "manifest.json"):
            assert (tmp_path / "demo" / part / name).exists(), (part, name)
    html = (tmp_path / "demo" / "review" / "report.html").read_text()
    # the BCG REML estimate of metafor's documentation (see test_fit: log RR -0.7145, CI -1.0669 to -0.3622)
    # reaches the report, shown as a risk ratio: exp() = 0.49 (0.34 to 0.70)
    assert "risk ratio 0.49, 95% CI 0.34 to 0.70" in html and "SYNTHETIC DATA" in html
    cohort = (tmp_path / "demo" / "cohort" / "report.html").read_text()
    assert "Group A" in cohort or "A (n = 37)" in cohort


# -- lean start-up (issue 12 item 6) ------------------------------------------------
HEAVY_MODULES = ("numpy", "pandas", "scipy", "matplotlib", "duckdb", "sklearn", "statsmodels", "pyarrow")

_PROBE = """
import contextlib, io, json, sys
import hepatostat, hepatostat.cli
args = json.loads(sys.argv[1])
if args is not None:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        status = hepatostat.cli.main(args)
    assert status == 0 and "Usage:" in out.getvalue(), (status, out.getvalue())
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _heavy_loaded(args):
    """Heavy modules present after importing the CLI (and running ``args``) in a fresh process."""
    proc = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY_MODULES), json.dumps(args)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_import_hepatostat_cli_loads_no_heavy_module():
    assert _heavy_loaded(None) == []


_LEAN_HELP = [["--help"], ["digitize", "--help"], ["digitize", "points", "--help"], ["serve", "--help"],
              ["run", "--help"], ["demo", "--help"]]
# the command groups: their modules import engines only inside the commands
_ENGINE_HELP = [["meta", "--help"], ["cohort", "--help"], ["review", "--help"], ["workbench", "--help"]]
_COHORT_SUBCOMMANDS = ("build", "synthetic", "table1", "table2", "changes", "overtime")
_REVIEW_SUBCOMMANDS = ("examples", "records", "dedup", "init", "export", "import", "conflicts", "resolve",
                       "mark-duplicate", "status", "history", "simulate", "prisma", "rob", "table1")
_DIGITIZE_SUBCOMMANDS = ("points", "bars")
_SUBCOMMAND_HELP = ([["cohort", c, "--help"] for c in _COHORT_SUBCOMMANDS]
                    + [["review", c, "--help"] for c in _REVIEW_SUBCOMMANDS]
                    + [["digitize", c, "--help"] for c in _DIGITIZE_SUBCOMMANDS])


@pytest.mark.parametrize("args", _LEAN_HELP + _ENGINE_HELP, ids=lambda a: " ".join(a))
def test_help_loads_no_heavy_module(args):
    assert _heavy_loaded(args) == []


def test_every_subcommand_help_loads_no_heavy_module():
    # one process per group keeps this fast: every subcommand's --help in turn
    probe = """
import contextlib, io, json, sys
import hepatostat.cli
heavy = {heavy!r}
seen = {{}}
for args in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        status = hepatostat.cli.main(args)
    assert status == 0 and "Usage:" in out.getvalue(), (args, status, out.getvalue())
    seen[" ".join(args)] = sorted(m for m in heavy if m in sys.modules)
print(json.dumps(seen))
""".format(heavy=HEAVY_MODULES)
    proc = subprocess.run([sys.executable, "-c", probe, json.dumps(_SUBCOMMAND_HELP)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert set(seen) == {" ".join(a) for a in _SUBCOMMAND_HELP}
    assert {k: v for k, v in seen.items() if v} == {}


def test_subcommand_lists_cover_every_subcommand():
    from hepatostat.cli import load_command

    assert set(load_command("cohort").commands) == set(_COHORT_SUBCOMMANDS)
    assert set(load_command("review").commands) == set(_REVIEW_SUBCOMMANDS)
    assert set(load_command("digitize").commands) == set(_DIGITIZE_SUBCOMMANDS)


def test_cli_choice_constants_match_the_engines():
    # the CLI keeps these as plain constants so that --help imports no engine
    from hepatostat.cli import cohort_stats, review
    from hepatostat.cohort import describe
    from hepatostat.review import STAGES

    assert tuple(cohort_stats.NORMALITY) == tuple(describe.NORMALITY)
    assert tuple(review.STAGES) == tuple(STAGES)


def test_command_listing_matches_each_commands_own_help():
    # `hepatostat --help` lists COMMANDS' one-line help without importing the
    # commands; it must not drift from what each command says about itself.
    from hepatostat.cli import COMMANDS, load_command

    for name, (_, _, short) in COMMANDS.items():
        own = " ".join((load_command(name).help or "").split())
        head = short.split(":")[0].split("(")[0].rstrip(". ")
        assert own.startswith(head), (name, short, own[:80])


def test_package_attributes_load_lazily():
    # pandas loads when something needs it (here a frame), not on `import hepatostat` nor `hepatostat.meta`
    proc = subprocess.run([sys.executable, "-c", "import sys, hepatostat; a = 'pandas' in sys.modules; "
                           "m = hepatostat.meta; b = 'pandas' in sys.modules; "
                           "m.EffectSizes.from_arrays([0.1], [0.01]).data; "
                           "print(a, b, 'pandas' in sys.modules, m.__name__)"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False", "True", "hepatostat.meta"]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        import hepatostat

        hepatostat.nope  # noqa: B018


# -- output paths (issue 14: `--plot x.exe`, an output path below a file or unwritable) ------
def _out_cli():
    import click

    from hepatostat.cli.common import OutputPath

    @click.command()
    @click.option("--plot", type=OutputPath(suffixes=(".png", ".svg", ".pdf")))
    @click.option("--out", type=OutputPath(folder=True))
    def cmd(plot, out):
        click.echo(f"{plot} {out}")

    return cmd


def test_plot_with_exe_suffix_is_an_error(tmp_path):
    from hepatostat.cli.common import check_output_path
    from hepatostat.errors import InputError

    with pytest.raises(InputError, match=r"--plot: the file name must end in \.png, \.svg, \.pdf"):
        check_output_path(tmp_path / "x.exe", option="--plot", suffixes=(".png", ".svg", ".pdf"))
    assert check_output_path(tmp_path / "x.PNG", option="--plot", suffixes=(".png",)).name == "x.PNG"
    res = CliRunner().invoke(_out_cli(), ["--plot", str(tmp_path / "x.exe")])
    assert res.exit_code == 2 and "must end in .png" in res.output and "Traceback" not in res.output


def test_output_path_below_a_file_is_an_error(tmp_path):
    from hepatostat.cli.common import check_output_path
    from hepatostat.errors import InputError

    afile = tmp_path / "data.csv"
    afile.write_text("x\n")
    with pytest.raises(InputError, match="data.csv is a file, not a folder"):
        check_output_path(afile / "sub" / "forest.png", option="--plot", suffixes=(".png",))
    with pytest.raises(InputError, match="--out: this is a file, not a folder"):
        check_output_path(afile, folder=True)
    with pytest.raises(InputError, match="this is a folder; give a file name"):
        check_output_path(tmp_path, option="--plot")
    # a folder that does not exist yet is fine: the command creates it
    assert check_output_path(tmp_path / "new" / "deeper", folder=True) == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking writes nothing


def test_unwritable_output_folder_is_an_error(tmp_path):
    import os

    from hepatostat.cli.common import check_output_path
    from hepatostat.errors import InputError

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root may write anywhere: use a folder nobody can write in
            target = "/proc/hepatostat-out"
        else:
            target = str(locked / "report")
        with pytest.raises(InputError, match="cannot write in the folder"):
            check_output_path(target, folder=True)
    finally:
        locked.chmod(0o700)



# -- output paths checked before any work (issue 14: --plot x.exe, a path below a file, unwritable) ----
def _output_cases(tmp):
    """(args, option) pairs: each writes to a bad place; the inputs do not even exist, so an
    error naming the output option proves the output was checked before any work."""
    missing = str(tmp / "missing.csv")
    return {
        "suffix": [
            (["cohort", "table1", missing, "--group", "g", "--docx", str(tmp / "t.doc")], "--docx"),
            (["cohort", "table2", missing, "--group", "g", "--xlsx", str(tmp / "t.xls")], "--xlsx"),
            (["cohort", "changes", missing, "--outcomes", "a", "--plot", str(tmp / "f.exe")], "--plot"),
            (["cohort", "overtime", missing, "--outcomes", "a", "--plot", str(tmp / "f.exe")], "--plot"),
            (["review", "records", missing, "--out", str(tmp / "r.xlsx")], "--out"),
            (["review", "dedup", missing, "--out", str(tmp / "d.txt")], "--out"),
            (["review", "prisma", "--liu2022", "--plot", str(tmp / "p.exe")], "--plot"),
            (["review", "rob", missing, "--traffic-light", str(tmp / "tl.jpg")], "--traffic-light"),
            (["review", "rob", missing, "--summary", str(tmp / "s.gif")], "--summary"),
            (["review", "table1", "--out", str(tmp / "t.pdf")], "--out"),
            (["review", "export", missing, "--reviewer", "A", "--stage", "full_text", "--out", str(tmp / "s.ods")],
             "--out"),
        ],
        "below_file": [
            (["cohort", "build", missing, "--criteria", "seed_jia2020", "--out", str(tmp / "afile" / "out")], "--out"),
            (["cohort", "synthetic", "--out", str(tmp / "afile" / "out")], "--out"),
            (["cohort", "table1", missing, "--group", "g", "--docx", str(tmp / "afile" / "t.docx")], "--docx"),
            (["cohort", "overtime", missing, "--outcomes", "a", "--plot", str(tmp / "afile" / "fig")], "--plot"),
            (["run", missing, "--out", str(tmp / "afile" / "rep")], "--out"),
            (["run", missing, "--private", str(tmp / "afile" / "priv")], "--private"),
            (["demo", "--out", str(tmp / "afile" / "demo")], "--out"),
            (["review", "examples", str(tmp / "afile" / "ex")], "folder"),
            (["review", "init", str(tmp / "afile" / "p.duckdb"), missing], "project"),
            (["review", "table1", "--out", str(tmp / "afile" / "t.csv")], "--out"),
        ],
        "file_not_folder": [
            (["cohort", "build", missing, "--criteria", "seed_jia2020", "--out", str(tmp / "afile")], "--out"),
            (["run", missing, "--out", str(tmp / "afile")], "--out"),
            (["demo", "--out", str(tmp / "afile")], "--out"),
            (["cohort", "synthetic", "--out", str(tmp / "afile")], "--out"),
            (["review", "examples", str(tmp / "afile")], "folder"),
        ],
    }


@pytest.mark.parametrize("kind", ["suffix", "below_file", "file_not_folder"])
def test_output_path_is_checked_before_any_work(kind, tmp_path, capsys):
    (tmp_path / "afile").write_text("not a folder\n")
    for args, option in _output_cases(tmp_path)[kind]:
        before = sorted(p.name for p in tmp_path.iterdir())
        status, out, err = run(args, capsys)
        assert status == 1, (args, out, err)
        assert "Error:" in err and "internal error" not in err and "Traceback" not in err, (args, err)
        assert option in err, (args, err)
        assert sorted(p.name for p in tmp_path.iterdir()) == before, args  # nothing written


def test_output_in_an_unwritable_folder_is_an_error(tmp_path, capsys, monkeypatch):
    import tempfile

    locked = tmp_path / "locked"
    locked.mkdir()
    real = tempfile.TemporaryFile

    def refuse(*a, dir=None, **kw):  # root ignores chmod, so refuse the probe file instead
        if dir is not None and str(dir) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real(*a, dir=dir, **kw)

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    for args in (["cohort", "table1", str(tmp_path / "x.csv"), "--group", "g", "--xlsx", str(locked / "t.xlsx")],
                 ["run", str(tmp_path / "plan.toml"), "--out", str(locked / "report")],
                 ["review", "prisma", "--liu2022", "--plot", str(locked / "prisma.png")]):
        status, _, err = run(args, capsys)
        assert status == 1 and "cannot write in the folder" in err and "Permission denied" in err, (args, err)
    assert list(locked.iterdir()) == []


def test_figure_without_suffix_and_new_folders_are_accepted(tmp_path, capsys):
    # no suffix = PNG and SVG; a folder that does not exist yet is created
    status, out, err = run(["review", "prisma", "--liu2022", "--plot", str(tmp_path / "new" / "prisma")], capsys)
    assert status == 0, err
    assert (tmp_path / "new" / "prisma.png").exists() and (tmp_path / "new" / "prisma.svg").exists()


def test_changes_plot_with_a_suffix_writes_that_format(tmp_path, capsys):
    # before: --plot fig.pdf gave names like fig.pdf_tbil_interval, refused after all the work
    path = str(reference_path("cohort_synthetic_long", "cohort_stats.json"))
    status, _, err = run(["cohort", "changes", path, "--outcomes", "tbil", "--pairs", "A:B", "--no-cumulative",
                          "--format", "json", "--plot", str(tmp_path / "fig.pdf")], capsys)
    assert status == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig_tbil_interval.pdf"]


# -- issue 14 crashes once routed as fuzz KNOWN_FINDINGS, now clear errors, run as a user runs them ------------
@pytest.fixture(scope="module")
def cohort_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cohort") / "data"
    assert main(["cohort", "synthetic", "--out", str(folder), "--file-format", "csv", "--format", "json"]) == 0
    return folder


def _bundled(*parts):
    from importlib.resources import files

    return files("hepatostat").joinpath(*parts).read_text(encoding="utf-8")


@pytest.mark.parametrize("when, expected", [
    ("(" * 300 + "hbsag_months > 6" + ")" * 300, "nested more than 50 levels deep"),   # was RecursionError
    ("hbsag_months > " + "9" * 400, "is too large"),                                   # was OverflowError
])
def test_cohort_build_condition_limits_are_clear_errors(when, expected, cohort_folder, tmp_path, capsys):
    crit = tmp_path / "crit.toml"
    crit.write_text(_bundled("cohort", "criteria", "seed_jia2020.toml").replace('when = "hbsag_months > 6"',
                                                                                 f'when = "{when}"'), encoding="utf-8")
    status, _, err = run(["cohort", "build", str(cohort_folder), "--criteria", str(crit), "--out",
                          str(tmp_path / "out")], capsys)
    assert status == 1 and "internal error" not in err, err
    assert "crit.toml" in err and "inclusion criterion 'inc_A'" in err and expected in err, err
    assert not (tmp_path / "out").exists()


def test_cohort_build_non_utf8_criteria_names_file_and_line(cohort_folder, tmp_path, capsys):
    crit = tmp_path / "crit.toml"  # was UnicodeDecodeError
    text = _bundled("cohort", "criteria", "seed_jia2020.toml")
    line = text.splitlines().index('label = "Age 16 to 60 years"') + 1
    crit.write_bytes(text.replace('label = "Age 16 to 60 years"', 'label = "Age 16 \u2013 60 years"').encode("cp1252"))
    status, _, err = run(["cohort", "build", str(cohort_folder), "--criteria", str(crit), "--out",
                          str(tmp_path / "out")], capsys)
    assert status == 1 and "internal error" not in err, err
    assert "crit.toml" in err and f"line {line}" in err and "UTF-8" in err, err


def test_run_non_utf8_plan_names_file_and_line(tmp_path, capsys):
    plan = tmp_path / "plan.toml"  # was UnicodeDecodeError
    text = _bundled("report", "plans", "cohort_jia2020.toml")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("title = "))
    plan.write_bytes(text.replace('title = "UC-MSC', 'title = "Ji\u00e4 UC-MSC', 1).encode("latin-1"))
    status, _, err = run(["run", str(plan), "--out", str(tmp_path / "report"), "--quiet"], capsys)
    assert status == 1 and "internal error" not in err, err
    assert "plan.toml" in err and f"line {line}" in err and "UTF-8" in err, err
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize("given, expected", [({}, "1"), ({"OMP_NUM_THREADS": "2"}, None),
                                             ({"OPENBLAS_NUM_THREADS": "2"}, "2")])
def test_command_line_runs_one_blas_thread_unless_the_user_chose(given, expected):
    # OpenBLAS's thread pool took about 20 ms of every command's start-up (benchmarks/README.md)
    import os

    code = ("import os, sys\nfrom hepatostat.cli import _entry\nsys.argv = ['hepatostat', '--version']\n"
            "try:\n    _entry()\nexcept SystemExit:\n    pass\n"
            "import numpy\nprint(os.environ.get('OPENBLAS_NUM_THREADS'))")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")}
    env.update(given)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(expected)
