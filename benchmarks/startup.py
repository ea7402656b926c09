"""Start-up time of the command line, as a new user meets it, against R with metafor.

    python benchmarks/startup.py [--repeats 7] [--importtime]

Every case is a whole process (interpreter start-up and imports included),
run ``--repeats`` times, alternating between the two tools so that load on the
machine hits both, and reported as medians:

* ``hepatostat --help`` (target: at most 0.3 s), next to ``python -c pass``
  (the floor any Python command pays) and ``Rscript -e 0`` (R's floor);
* one small ``hepatostat meta pool`` (6 studies, SMD, REML, JSON out) against
  ``Rscript`` reading the same CSV and running ``metafor::rma`` (target: the
  R process at least 3x as long).

With ``--importtime`` it also runs ``python -X importtime`` on the
``meta pool`` command and lists the imports that dominate it (cumulative
microseconds of the top-level packages), which says where the remaining
start-up time goes. The data are a small SYNTHETIC table written to a
temporary folder. Needs ``Rscript`` with metafor on the PATH for the R
column (Debian: ``apt-get install r-base-core r-cran-metafor``); without it
the R cases are left out and said so. Not a test: nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEPATOSTAT = [sys.executable, "-m", "hepatostat"]

#: SYNTHETIC continuous outcome, 6 studies (made up for this benchmark)
SMALL_CSV = """study,m1,sd1,n1,m2,sd2,n2
Trial A,12.1,3.2,20,14.0,3.5,21
Trial B,10.4,2.9,35,12.2,3.1,33
Trial C,11.8,4.1,18,12.1,3.9,19
Trial D,9.7,2.5,40,11.9,2.8,42
Trial E,13.0,3.8,25,13.4,4.0,24
Trial F,10.9,3.0,30,12.8,3.3,29
"""

R_POOL = (
    "suppressPackageStartupMessages(library(metafor)); d <- read.csv(commandArgs(TRUE)[1]); "
    "r <- rma(measure='SMD', m1i=m1, sd1i=sd1, n1i=n1, m2i=m2, sd2i=sd2, n2i=n2, data=d, method='REML'); "
    "cat(sprintf('%.10f %.10f %.10f\\n', r$b[1], r$se, r$tau2))"
)


def run_once(cmd) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(map(str, cmd))}\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def alternate(cmds: dict, repeats: int) -> dict:
    """Median wall time of each command, the commands run in turn ``repeats`` times."""
    times = {name: [] for name in cmds}
    for name, cmd in cmds.items():  # one warm-up each (file cache), not counted
        run_once(cmd)
    for _ in range(repeats):
        for name, cmd in cmds.items():
            times[name].append(run_once(cmd)[0])
    return {name: statistics.median(t) for name, t in times.items()}


def import_profile(cmd_args, top: int = 12) -> list[tuple[str, str, int]]:
    """What ``python -X importtime`` says the command's imports cost.

    Returns ``(package, hepatostat module importing it, cumulative µs)`` for
    the packages hepatostat imports directly (what they import in turn is
    included: numpy in pandas), largest first.
    """
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "hepatostat", *cmd_args],
                          capture_output=True, text=True)
    lines = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            lines.append((len(m.group(3)), m.group(4), int(m.group(2))))

    def pkg(mod):
        parts = mod.split(".")
        return ".".join(parts[:2]) if parts[0] == "hepatostat" else parts[0]

    # importtime prints children before their parent (deeper indent); read backwards
    out: dict[tuple[str, str], int] = {}
    stack: list[tuple[int, str]] = []
    for indent, mod, cum in reversed(lines):
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else None
        # count a package where hepatostat (or the interpreter) imports it directly, so
        # that nested packages (numpy inside pandas) are not counted twice
        if not mod.startswith("hepatostat") and (parent is None or parent.startswith("hepatostat")):
            key = (pkg(mod), parent or "(interpreter)")
            out[key] = out.get(key, 0) + cum
        stack.append((indent, mod))
    rows = sorted(((p, o, c) for (p, o), c in out.items()), key=lambda r: -r[2])
    return rows[:top]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--importtime", action="store_true", help="also list what dominates meta pool's start-up")
    args = ap.parse_args(argv)

    rscript = shutil.which("Rscript")
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "small.csv"
        csv.write_text(SMALL_CSV)
        pool = [*HEPATOSTAT, "meta", "pool", str(csv), "--measure", "SMD", "--method", "REML", "--format", "json"]
        cmds = {"python -c pass": [sys.executable, "-c", "pass"],
                "hepatostat --help": [*HEPATOSTAT, "--help"],
                "hepatostat meta pool (k = 6, REML)": pool}
        if rscript:
            cmds["Rscript -e 0"] = [rscript, "-e", "0"]
            cmds["Rscript metafor rma (k = 6, REML)"] = [rscript, "-e", R_POOL, str(csv)]
        else:
            print("note: Rscript not found; the R cases are left out", file=sys.stderr)
        med = alternate(cmds, args.repeats)

        print(f"Machine: {machine()}. Medians of {args.repeats} runs, each a whole process.\n")
        print("| case | wall time (s) |")
        print("|---|---:|")
        for name, t in med.items():
            print(f"| `{name}` | {t:.3f} |")
        print()
        help_t = med["hepatostat --help"]
        print(f"- `hepatostat --help`: {help_t:.3f} s (target <= 0.3 s: {'met' if help_t <= 0.3 else 'NOT met'})")
        if rscript:
            ratio = med["Rscript metafor rma (k = 6, REML)"] / med["hepatostat meta pool (k = 6, REML)"]
            print(f"- metafor / hepatostat for one small pool: {ratio:.2f}x (target >= 3x: "
                  f"{'met' if ratio >= 3 else 'NOT met'})")
            ours = run_once(pool)[1]
            theirs = run_once([rscript, "-e", R_POOL, str(csv)])[1].split()
            import json

            o = json.loads(ours)
            diff = max(abs(o["estimate"] - float(theirs[0])), abs(o["se"] - float(theirs[1])),
                       abs(o["tau2"] - float(theirs[2])))
            print(f"- the two agree: largest absolute difference in estimate, SE, tau2 = {diff:.1e}")

        if args.importtime:
            print("\nImports of `hepatostat meta pool` (python -X importtime), by top-level package:\n")
            print("| package | imported by | cumulative (ms) |")
            print("|---|---|---:|")
            for pkg, owner, c in import_profile(pool[3:]):
                print(f"| {pkg} | {owner} | {c / 1000:.0f} |")


if __name__ == "__main__":
    main()
