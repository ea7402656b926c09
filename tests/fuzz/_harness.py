"""What every fuzz test checks, and small writers for the fuzzed inputs.

The rule (issue 14): a command given any input ends in one of two ways —
status 0 with a result (for ``--format json``, one JSON object with the keys
of the command-line contract), or status 1 with a message starting
``Error:`` that names the input file. Never ``internal error``, never a
traceback, never another status.

Commands run in this process through :func:`hepatostat.cli.main` (the same
error handling as the console script) with click's stream isolation, so a
fuzz example costs milliseconds, not an interpreter start-up.

Findings this suite made that are not fixed yet are listed in
:data:`KNOWN_FINDINGS` (a pattern of the ``internal error`` message and
where it was routed). They are tolerated, with a warning, so the suite stays
green while they are open; delete an entry once it is fixed.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings

from click.testing import CliRunner
from hypothesis import HealthCheck, currently_in_test_context, event, settings

from hepatostat.cli import main

#: HEPATOSTAT_FUZZ_SCALE multiplies every test's number of examples (default 1)
SCALE = float(os.environ.get("HEPATOSTAT_FUZZ_SCALE", "1"))

#: ``internal error`` messages already reported and routed, not yet fixed:
#: regular expression -> where it was reported. Keep this list short and honest.
KNOWN_FINDINGS: dict[str, str] = {
}


class KnownFinding(UserWarning):
    """A fuzz example hit a finding already listed in KNOWN_FINDINGS."""


def fuzz_settings(max_examples: int):
    """Bounded, reproducible settings (HEPATOSTAT_FUZZ_RANDOM=1 explores new examples)."""
    return settings(
        max_examples=max(1, int(max_examples * SCALE)),
        deadline=None,
        derandomize=os.environ.get("HEPATOSTAT_FUZZ_RANDOM") != "1",
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                               HealthCheck.function_scoped_fixture],
    )


def invoke(args) -> tuple[int, str, str]:
    """Run ``hepatostat ARGS`` in this process; return (status, stdout, stderr)."""
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        status = main([str(a) for a in args])
    return status, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace")


def _known(err: str) -> bool:
    for pattern, routed in KNOWN_FINDINGS.items():
        if re.search(pattern, err):
            warnings.warn(f"known finding ({routed}): {err.strip()[:300]}", KnownFinding, stacklevel=3)
            return True
    return False


def check(args, path, *, json_keys=(), option_errors=()) -> tuple[int, dict | None]:
    """Run a command on a fuzzed file and assert the rule; return (status, JSON or None).

    ``option_errors``: regular expressions of errors about the options given
    (not the file's content), which need not name the file.
    """
    status, out, err = invoke(args)
    if currently_in_test_context():
        event(f"exit status {status}")  # --hypothesis-show-statistics shows the mix
    shown = f"hepatostat {' '.join(map(str, args))}\nstatus {status}\nstdout: {out[:500]!r}\nstderr: {err[-1500:]!r}"
    assert "Traceback" not in out + err, shown
    if "internal error" in err:
        if _known(err):
            return status, None
        raise AssertionError("internal error:\n" + shown)
    if status == 0:
        obj = None
        if "--format" in args and args[list(args).index("--format") + 1] == "json":
            obj = json.loads(out)
            assert isinstance(obj, dict), shown
            missing = [k for k in json_keys if k not in obj]
            assert not missing, f"JSON lacks {missing}\n{shown}"
        return status, obj
    assert status == 1, shown
    lines = [ln for ln in err.splitlines() if ln.startswith("Error: ")]
    assert lines, shown
    name = os.path.basename(str(path))
    if any(re.search(p, err) for p in option_errors):
        return status, None
    if name not in err and _known(err):
        return status, None
    assert name in err, f"the error does not name the file {name}\n{shown}"
    return status, None


# -- writers ------------------------------------------------------------------------------------
def toml_value(v) -> str:
    """A TOML literal for a Python value (str, bool, int, float, list, dict as inline table)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        # JSON string escapes are TOML basic-string escapes, except that TOML has no
        # surrogate pairs: keep non-ASCII characters as they are
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def toml_key(k) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k, ensure_ascii=False)


def to_toml(doc: dict) -> str:
    """A TOML document: scalars first, then tables, then arrays of tables (one level deep,
    deeper dicts as inline tables)."""
    lines = []
    tables, arrays = {}, {}
    for k, v in doc.items():
        if isinstance(v, dict):
            tables[k] = v
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            arrays[k] = v
        else:
            lines.append(f"{toml_key(k)} = {toml_value(v)}")
    for k, v in tables.items():
        sub_arrays = {kk: vv for kk, vv in v.items() if isinstance(vv, list) and vv and all(isinstance(x, dict) for x in vv)}
        lines.append(f"\n[{toml_key(k)}]")
        lines += [f"{toml_key(kk)} = {toml_value(vv)}" for kk, vv in v.items() if kk not in sub_arrays]
        for kk, vv in sub_arrays.items():
            for item in vv:
                lines.append(f"\n[[{toml_key(k)}.{toml_key(kk)}]]")
                lines += [f"{toml_key(a)} = {toml_value(b)}" for a, b in item.items()]
    for k, v in arrays.items():
        for item in v:
            lines.append(f"\n[[{toml_key(k)}]]")
            lines += [f"{toml_key(a)} = {toml_value(b)}" for a, b in item.items()]
    return "\n".join(lines) + "\n"
