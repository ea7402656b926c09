"""Shared by the light-path tests: run the CLI in-process, and run a command once on the light path and once
with it switched off, recording whether the light path answered."""

from __future__ import annotations

from hepatostat.cli import main
from hepatostat.meta import _light

FORMATS = ("csv", "json", "table")


def run(capsys, args):
    """(status, stdout, stderr) of ``hepatostat ARGS`` run in this process."""
    status = main(args)
    out = capsys.readouterr()
    return status, out.out, out.err


def spy(monkeypatch, name: str) -> list:
    """Wrap ``_light.<name>``; the list records, per call, whether it answered (did not return None)."""
    calls = []
    real = getattr(_light, name)

    def wrapped(*a, **k):
        got = real(*a, **k)
        calls.append(got is not None)
        return got

    monkeypatch.setattr(_light, name, wrapped)
    return calls


def both(capsys, monkeypatch, name: str, args):
    """(light, full, light_taken): the command with ``_light.<name>`` as it is and switched off (returning
    None, so the command takes the full path); ``light_taken``: whether its last call answered."""
    real = getattr(_light, name)
    calls = spy(monkeypatch, name)
    light = run(capsys, args)
    monkeypatch.setattr(_light, name, lambda *a, **k: None)
    full = run(capsys, args)
    monkeypatch.setattr(_light, name, real)
    return light, full, bool(calls and calls[-1])
