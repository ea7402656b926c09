"""The ``hepatostat`` command: a thin layer over the public API.

Errors from hepatostat (bad input, models that cannot be estimated) and
usage errors print ``Error: …`` on stderr and exit with status 1, without a
traceback. Set ``HEPATOSTAT_DEBUG=1`` to see tracebacks of unexpected errors.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from .. import __version__
from ..errors import HepatostatError

#: command name -> (module, attribute, one-line help). Modules load only when their
#: command runs (or its own --help is asked for), so that ``hepatostat --help``
#: imports no engine and ``hepatostat meta pool`` does not pay for DuckDB or the
#: review engine. The one-line help here is what ``hepatostat --help`` lists;
#: tests/cli/test_cli.py checks it against each command's own docstring.
COMMANDS = {
    "meta": (".meta", "meta_group", "Meta-analysis of study-level data (effect sizes, pooling)."),
    "cohort": (".cohort", "cohort_group", "Patient cohorts: import, eligibility and attrition, groups, visits."),
    "review": (".review", "review_group",
               "Systematic-review workflow: import search exports, remove duplicates, screen in pairs, "
               "PRISMA 2020 flow, risk of bias."),
    "digitize": (".digitize", "digitize_group", "Read numbers off a published figure (what Engauge Digitizer did)."),
    "serve": (".digitize", "serve_cmd", "Open the graph digitiser as a local web page."),
    "demo": (".demo", "demo_cmd", "Run the bundled plans on bundled data and write their reports."),
    "run": (".run", "run_cmd", "Run an analysis plan (TOML) and write the report in HTML, Word and Excel."),
    "workbench": (".workbench", "workbench_cmd", "Serve the review workbench for PROJECT (a .duckdb review project; created empty if missing)."),
}


def load_command(name: str) -> click.Command:
    """Import and return the click command registered as ``name``."""
    module, attr, _ = COMMANDS[name]
    return getattr(importlib.import_module(module, __name__), attr)


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use.

    The listing in ``--help`` comes from :data:`COMMANDS`, so printing it
    imports none of the command modules (and none of pandas, scipy,
    matplotlib, DuckDB).
    """

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx, name):
        if name in COMMANDS and name not in self.commands:
            self.add_command(load_command(name), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        rows = []
        for name in self.list_commands(ctx):
            if name in COMMANDS and name not in self.commands:
                rows.append((name, COMMANDS[name][2]))
                continue
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            rows.append((name, cmd.get_short_help_str(limit=formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="hepatostat")
def cli():
    """hepatostat: cohort statistics and meta-analysis for cell therapy in
    end-stage liver disease, with numbers that agree with R.

    \b
    Examples:
      hepatostat demo
      hepatostat meta pool trials.csv --measure SMD --method auto --plot forest.png
    """



def main(argv=None) -> int:
    """Entry point; returns the exit status."""
    try:
        cli.main(args=argv, prog_name="hepatostat", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Error: aborted", err=True)
        return 1
    except click.ClickException as exc:
        msg = exc.format_message()
        ctx = getattr(exc, "ctx", None)
        if ctx is not None and isinstance(exc, click.UsageError):
            click.echo(ctx.get_usage(), err=True)
            click.echo(f"Try '{ctx.command_path} --help' for help.", err=True)
        click.echo(f"Error: {msg}", err=True)
        return 1
    except HepatostatError as exc:
        click.echo(f"Error: {exc}", err=True)
        return 1
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        return 0
    except Exception as exc:  # pragma: no cover - a bug; say so plainly
        if os.environ.get("HEPATOSTAT_DEBUG"):
            raise
        click.echo(f"Error: internal error ({type(exc).__name__}: {exc}); "
                   "please report it with the command you ran (HEPATOSTAT_DEBUG=1 shows the traceback)", err=True)
        return 1
    return 0


#: variables by which a user sets the BLAS thread count (OpenBLAS reads them in this order)
_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def _entry() -> None:
    if "numpy" not in sys.modules and not any(os.environ.get(v) for v in _BLAS_THREAD_VARIABLES):
        # One BLAS thread unless the user chose otherwise: hepatostat's models are small matrices in
        # batches, where OpenBLAS's thread pool gains nothing, and starting it took about 20 ms of every
        # command on a 2-core machine (benchmarks/README.md). Set before numpy is first imported.
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
    sys.exit(main())
