"""Shared pieces of the command line: output formats, output-path checks and error handling.

:func:`check_output_path` (and the click type :class:`OutputPath`) check an output file or
folder before any work is done: allowed suffixes, a parent that is a file, a folder that
cannot be written in. Every command that writes files should use them.
"""

from __future__ import annotations

import sys

import click

FORMATS = ("table", "json", "csv")

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS, case_sensitive=False),
    default="table",
    show_default=True,
    help="Output: a readable table, one JSON object, or CSV.",
)


def _clean(obj):
    """Deprecated alias of :func:`hepatostat.io.jsonsafe.to_jsonable` (kept for old imports)."""
    from ..io.jsonsafe import to_jsonable

    return to_jsonable(obj)


def emit(fmt: str, *, obj=None, frame=None, text=None) -> None:
    """Write the result to stdout in the chosen format.

    Each of ``obj`` (JSON), ``frame`` (CSV) and ``text`` (table) may be a
    value or a function returning it; only the one asked for is computed.
    """
    fmt = fmt.lower()
    if fmt == "json":
        obj = obj() if callable(obj) else obj
    elif fmt == "csv":
        frame = frame() if callable(frame) else frame
    else:
        text = text() if callable(text) else text
    if fmt == "json":
        from ..io.jsonsafe import dumps

        click.echo(dumps(obj))
    elif fmt == "csv":
        frame.to_csv(sys.stdout, index=False, lineterminator="\n")
    else:
        click.echo(text)


def check_output_path(path, *, option: str = "--out", suffixes=None, folder: bool = False):
    """Check, before any work is done, that an output file or folder can be written.

    Parameters
    ----------
    path : str or os.PathLike
        Where the command will write.
    option : str
        The option or argument that gave ``path`` (named in the error).
    suffixes : iterable of str, optional
        Allowed file suffixes, lower case with the dot (e.g. ``(".png", ".svg",
        ".pdf")``); the suffix is compared case-insensitively.
    folder : bool
        ``path`` is a folder to create or fill (``--out DIR``), not a file.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    hepatostat.errors.InputError
        If the suffix is not allowed, the path is a folder where a file is
        expected (or the other way round), a parent is a file, or the nearest
        existing folder cannot be written in. The message names the option
        and the path.
    """
    import os
    import tempfile
    from pathlib import Path

    from ..errors import InputError

    text = os.fspath(path)
    if not text or "\x00" in text:
        raise InputError(f"{option} needs a file name", value=text)
    p = Path(text)
    what = "folder" if folder else "file"
    if suffixes and not folder:
        allowed = tuple(s.lower() for s in suffixes)
        if p.suffix.lower() not in allowed:
            raise InputError(f"{option}: the {what} name must end in {', '.join(allowed)}", value=text)
    try:
        if p.exists():
            if folder and not p.is_dir():
                raise InputError(f"{option}: this is a file, not a folder", value=text)
            if not folder and p.is_dir():
                raise InputError(f"{option}: this is a folder; give a file name", value=text)
        # the nearest existing ancestor must be a folder we can write in
        parent = p if (folder and p.is_dir()) else p.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        parent = parent if str(parent) else Path(".")
        if not parent.is_dir():
            raise InputError(f"{option}: cannot write here: {parent} is a file, not a folder", value=text)
        try:
            with tempfile.TemporaryFile(dir=parent):
                pass
        except OSError as exc:
            raise InputError(f"{option}: cannot write in the folder {parent} ({exc.strerror or exc})",
                             value=text) from None
    except OSError as exc:  # e.g. a name too long for the file system
        raise InputError(f"{option}: not a usable {what} name ({exc.strerror or exc})", value=text) from None
    return p


class OutputPath(click.ParamType):
    """A click type for output files and folders, checked by :func:`check_output_path`.

    Example: ``click.option("--plot", type=OutputPath(suffixes=(".png", ".svg", ".pdf")))``.
    """

    name = "path"

    def __init__(self, *, suffixes=None, folder: bool = False):
        self.suffixes = tuple(suffixes) if suffixes else None
        self.folder = folder

    def convert(self, value, param, ctx):
        from ..errors import InputError

        if value is None:
            return None
        option = param.opts[0] if param is not None and param.opts else "output"
        try:
            return str(check_output_path(value, option=option, suffixes=self.suffixes, folder=self.folder))
        except InputError as exc:
            self.fail(str(exc), param, ctx)
