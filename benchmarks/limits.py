"""The largest input each command family handles, with its peak resident memory (issue 14, "Scale").

    python benchmarks/limits.py [--out /tmp/hepatostat-limits] [--timeout 120] [--quick]

Writes synthetic inputs (nothing real, nothing downloaded) into ``--out`` and runs each command as a user
would (``python -m hepatostat ...`` with this checkout's ``src`` first), one child process per measurement.
Peak resident memory is the child's own ``ru_maxrss`` from ``os.wait4`` (the same number
``/usr/bin/time -v`` prints as "Maximum resident set size"); wall time includes Python start-up.
Every run is killed after ``--timeout`` seconds (reported as "timeout", not as a result). Prints the
machine load before and after, and a markdown table. Not a test: nothing here runs in CI.

Families: ``meta pool`` (plain CSV of N studies), ``meta loo`` (k studies), ``meta pool --per`` (many
analyses), ``review records`` (BibTeX of 5 and 50 MB), ``review dedup`` (N RIS records),
``cohort table1`` (a CSV of N patients), ``digitize points`` (an image near the 25-megapixel budget).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], timeout: float) -> dict:
    """Run ``hepatostat ARGS`` in a child; return status, wall seconds, peak RSS (MiB), first stderr line."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "hepatostat", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)
    status = None
    while True:
        pid, raw, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status = os.waitstatus_to_exitcode(raw)
            break
        if time.perf_counter() - t0 > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            _, raw, usage = os.wait4(proc.pid, 0)
            status = "timeout"
            break
        time.sleep(0.05)
    proc.returncode = 0  # reaped by wait4 above
    err = proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
    proc.stderr.close()
    return {"status": status, "seconds": time.perf_counter() - t0, "rss_mib": usage.ru_maxrss / 1024,
            "message": err[0][:100] if err else ""}


# ---------------------------------------------------------------- synthetic inputs

def meta_csv(path: Path, n: int, groups: int = 0) -> Path:
    if path.exists():
        return path
    rng = random.Random(n)
    with path.open("w") as f:
        f.write("study,yi,vi" + (",analysis" if groups else "") + "\n")
        for i in range(n):
            row = f"S{i},{rng.gauss(0.3, 0.4):.6f},{rng.uniform(0.01, 0.2):.6f}"
            if groups:
                row += f",A{i % groups}"
            f.write(row + "\n")
    return path


WORDS = ("mesenchymal stem cell liver cirrhosis failure transplantation bone marrow umbilical cord "
         "randomised trial hepatic function albumin bilirubin outcome survival decompensated acute").split()


def title(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(12)).capitalize()


def bibtex(path: Path, megabytes: float) -> Path:
    if path.exists():
        return path
    rng = random.Random(1)
    target = int(megabytes * 1_000_000)
    size = i = 0
    with path.open("w") as f:
        while size < target:
            entry = (f"@article{{key{i},\n  title = {{{title(rng)}}},\n  author = {{Smith, A. and Lee, B.}},\n"
                     f"  journal = {{J Hepatol}},\n  year = {{{2000 + i % 25}}},\n  volume = {{{i % 90}}},\n"
                     f"  pages = {{{i % 900}--{i % 900 + 9}}},\n  doi = {{10.1000/x{i}}},\n"
                     f"  abstract = {{{' '.join(rng.choice(WORDS) for _ in range(60))}}}\n}}\n\n")
            f.write(entry)
            size += len(entry)
            i += 1
    return path


def ris(path: Path, n: int) -> Path:
    if path.exists():
        return path
    rng = random.Random(2)
    with path.open("w") as f:
        for i in range(n):
            j = i if i % 10 else i - 1  # every tenth record repeats the one before (a duplicate)
            r = random.Random(j)
            f.write(f"TY  - JOUR\nTI  - {title(r)}\nAU  - Smith, A\nPY  - {2000 + j % 25}\n"
                    f"JO  - J Hepatol\nVL  - {j % 90}\nSP  - {j % 900}\nDO  - 10.1000/y{j}\nER  - \n\n")
    del rng
    return path


def cohort_csv(path: Path, n: int) -> Path:
    if path.exists():
        return path
    rng = random.Random(3)
    with path.open("w") as f:
        f.write("person_id,group,age,sex,meld,albumin,bilirubin,child_pugh\n")
        for i in range(n):
            f.write(f"{i},{'AB'[i % 2]},{rng.gauss(52, 10):.1f},{'MF'[rng.random() < 0.3]},"
                    f"{rng.gauss(18, 5):.1f},{rng.gauss(32, 5):.1f},{rng.lognormvariate(1, 0.6):.2f},"
                    f"{'ABC'[rng.randrange(3)]}\n")
    return path


def image(path: Path, width: int, height: int) -> Path:
    if path.exists():
        return path
    from PIL import Image, ImageDraw
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    rng = random.Random(4)
    for _ in range(2000):
        x, y = rng.randrange(20, width - 20), rng.randrange(20, height - 20)
        draw.ellipse((x - 6, y - 6, x + 6, y + 6), fill=(214, 39, 40))
    img.save(path)
    return path


# ---------------------------------------------------------------- the measurements

def cases(d: Path, quick: bool):
    pool_sizes = (100_000,) if quick else (100_000, 1_000_000)
    for n in pool_sizes:
        yield "meta pool", f"{n:,} studies", ["meta", "pool", str(meta_csv(d / f"pool{n}.csv", n)), "--measure",
                                              "gen", "--method", "dl", "--format", "json"]
    for k in ((4_000,) if quick else (4_000, 16_000, 64_000)):
        yield "meta loo", f"k = {k:,}", ["meta", "loo", str(meta_csv(d / f"loo{k}.csv", k)), "--measure", "gen",
                                         "--method", "dl", "--format", "csv"]
    for g in ((1_000,) if quick else (1_000, 10_000)):
        yield "meta pool --per", f"{g:,} analyses x 10 studies", [
            "meta", "pool", str(meta_csv(d / f"per{g}.csv", g * 10, groups=g)), "--measure", "gen", "--method",
            "dl", "--per", "analysis", "--format", "csv"]
    for mb in ((5,) if quick else (5, 50)):
        yield "review records", f"BibTeX {mb} MB", ["review", "records", str(bibtex(d / f"big{mb}.bib", mb)),
                                                    "--format", "json"]
    for n in ((10_000,) if quick else (10_000, 100_000)):
        yield "review dedup", f"{n:,} RIS records", ["review", "dedup", str(ris(d / f"dedup{n}.ris", n)),
                                                     "--format", "json"]
    for n in ((100_000,) if quick else (100_000, 1_000_000)):
        yield "cohort table1", f"{n:,} patients, 6 variables", [
            "cohort", "table1", str(cohort_csv(d / f"t1_{n}.csv", n)), "--group", "group", "--format", "json"]
    for w, h in (((2000, 2000),) if quick else ((2000, 2000), (5000, 5000), (5000, 5001))):
        yield "digitize points", f"{w} x {h} px ({w * h / 1e6:.1f} MP)", [
            "digitize", "points", str(image(d / f"img{w}x{h}.png", w, h)), "--x-axis", f"0=0,{w}=1", "--y-axis",
            f"{h}=0,0=1", "--color", "#d62728", "--format", "json"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/hepatostat-limits")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--quick", action="store_true", help="only the smallest size of each family")
    opts = ap.parse_args()
    d = Path(opts.out)
    d.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()}; cores: {os.cpu_count()}", flush=True)
    print("| command | input | input size | exit | wall s | peak RSS MiB | message |")
    print("|---|---|---|---|---|---|---|", flush=True)
    for family, label, args in cases(d, opts.quick):
        path = Path(args[2])
        size = path.stat().st_size / 1e6
        r = run(args, opts.timeout)
        print(f"| `{family}` | {label} | {size:.1f} MB | {r['status']} | {r['seconds']:.1f} | {r['rss_mib']:.0f} | "
              f"{r['message'].replace('|', '/')} |", flush=True)
    print(f"load average after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
