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

#: command name -> (module, attribute); modules load only when their command runs,
#: so that ``hepatostat meta pool`` does not pay for DuckDB or the review engine
COMMANDS = {
    "meta": (".meta", "meta_group"),
    "cohort": (".cohort", "cohort_group"),
    "review": (".review", "review_group"),
    "digitize": (".digitize", "digitize_group"),
    "serve": (".digitize", "serve_cmd"),
    "demo": (".demo", "demo_cmd"),
    "run": (".run", "run_cmd"),
    "workbench": (".workbench", "workbench_cmd"),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx, name):
        if name in COMMANDS and name not in self.commands:
            module, attr = COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module, __name__), attr), name)
        return super().get_command(ctx, name)


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


def _entry() -> None:
    sys.exit(main())
