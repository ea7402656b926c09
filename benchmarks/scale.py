"""Cohort extraction at scale: criteria, visits and scores in DuckDB over a synthetic OMOP CDM of a million persons.

    python benchmarks/scale.py [--data /tmp/hepatostat-scale] [--persons 1000000] [--sample 20000]
                               [--memory-limits 16GB] [--threads 2] [--criteria seed_jia2020] [--spark]

Generates the SYNTHETIC OMOP data set once (``hepatostat.datasets.synthetic_omop.generate_omop``, about 100 lab
rows per person; kept in ``--data`` and reused when it is there), then, each in a fresh Python
process so that its peak resident memory is its own:

1. the full extraction in DuckDB (``extract_at_scale`` with ``criteria=``: eligibility criteria and
   groups in SQL, visit windows, MELD scores, the baseline requirement) for every ``--memory-limits``
   value;
2. on the first ``--sample`` persons (whole generator blocks, copied to ``<data>-sample``): DuckDB
   with the criteria, the in-memory engine (``read_omop`` + ``build_cohort``) and with ``--spark``
   Spark in local mode, checking that the attrition tables, every person's status and the visit
   tables are identical; then DuckDB without criteria against the plain pandas version
   (``extract_pandas``) and the existing engine (``extract_reference``), both in
   ``tests/cohort/scale_reference.py``;

and checks that the sample results are identical (``compare_visits``: every column, bit for bit).
Times are wall time of the extraction inside the process (reading the Parquet files included,
Python start-up and imports not). Prints a markdown table. Not a test: nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD_PRELUDE = f"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {str(ROOT)!r})  # tests.cohort.scale_reference: the pandas and in-memory references
from hepatostat.cohort import scale
from hepatostat.datasets.synthetic_omop import generate_omop
from tests.cohort import scale_reference as scale_ref
def done(**kw):
    ru = resource.getrusage(resource.RUSAGE_SELF)
    kw["peak_rss_bytes"] = ru.ru_maxrss * 1024
    kw["cpu_seconds"] = ru.ru_utime + ru.ru_stime  # the whole process, start-up included (load-independent)
    print("RESULT " + json.dumps(kw, default=str))
"""

CHILD = {
    "generate": """
r = generate_omop(sys.argv[1], int(sys.argv[2]), seed=1, log=lambda s: print(s, file=sys.stderr, flush=True))
done(seconds=r.seconds, n_measurement=r.n_measurement, n_persons=r.n_persons)
""",
    "duckdb": """
r = scale.extract_at_scale(sys.argv[1], out=sys.argv[2], threads=int(sys.argv[3]), memory_limit=sys.argv[4],
                           temp_directory=sys.argv[5], criteria=None if sys.argv[6] == "-" else sys.argv[6],
                           log=lambda s: print(s, file=sys.stderr, flush=True))
print(r.summary(), file=sys.stderr)
done(seconds=r.seconds, n_measurement=r.n_measurement_rows, n_output=r.n_output_rows, n_persons=r.n_persons,
     n_screened=r.n_screened, steps=dict(r.step_seconds),
     attrition=None if r.attrition is None else r.attrition.steps.to_dict("records"))
""",
    "build": """
from hepatostat.cohort import load_criteria
t = time.perf_counter()
att, long = scale_ref.build_reference(sys.argv[1], criteria=load_criteria(sys.argv[4]))
s = time.perf_counter() - t
long.to_parquet(sys.argv[2], index=False)
att.persons.to_parquet(sys.argv[3], index=False)
done(seconds=s, n_output=len(long), attrition=att.steps.to_dict("records"))
""",
    "pandas": """
t = time.perf_counter()
f = scale_ref.extract_pandas(sys.argv[1])
s = time.perf_counter() - t
f.to_parquet(sys.argv[2], index=False)
done(seconds=s, n_output=len(f))
""",
    "reference": """
t = time.perf_counter()
f = scale_ref.extract_reference(sys.argv[1])
s = time.perf_counter() - t
f.to_parquet(sys.argv[2], index=False)
done(seconds=s, n_output=len(f))
""",
    "spark": """
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[" + sys.argv[3] + "]").config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false").config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.shuffle.partitions", "8").config("spark.driver.memory", "8g").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
r = scale.extract_spark(sys.argv[1], out=sys.argv[2], spark=spark, criteria=None if sys.argv[4] == "-" else sys.argv[4])
spark.stop()
done(seconds=r.seconds, n_output=r.n_output_rows,
     attrition=None if r.attrition is None else r.attrition.steps.to_dict("records"))
""",
}


def child(kind: str, *args) -> dict:
    """Run one step in a fresh process; return its RESULT line."""
    cmd = [sys.executable, "-c", CHILD_PRELUDE + CHILD[kind], *map(str, args)]
    print(f"[{kind}] {' '.join(map(str, args))}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed (exit {proc.returncode})")
    lines = [ln[ln.index("RESULT "):] for ln in proc.stdout.splitlines() if "RESULT " in ln]
    if not lines:
        raise SystemExit(f"{kind} printed no result")
    out = json.loads(lines[-1][len("RESULT "):])
    print(f"[{kind}] {out['seconds']:.1f} s (process {time.perf_counter() - t0:.1f} s), "
          f"peak RSS {out['peak_rss_bytes'] / 2**30:.2f} GiB", file=sys.stderr, flush=True)
    return out


def make_sample(data: Path, sample: Path, n: int) -> None:
    """The first n persons of every table (and the whole concept table), as Parquet files."""
    import duckdb

    sample.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for f in sorted(data.glob("synthetic_omop_*.parquet")):
        where = "" if f.name.endswith("_concept.parquet") else f" WHERE person_id <= {int(n)}"
        order = " ORDER BY measurement_id" if f.name.endswith("_measurement.parquet") else ""
        con.execute(f"COPY (SELECT * FROM read_parquet('{f}'){where}{order}) TO '{sample / f.name}' "
                    "(FORMAT parquet, COMPRESSION zstd)")
    con.close()


def gib(b) -> str:
    return f"{b / 2**30:.2f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/tmp/hepatostat-scale", help="folder of the generated OMOP data (reused)")
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=20_000, help="persons in the sample (pandas, existing engine)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limits", default="16GB", help="comma-separated DuckDB memory limits for the full run")
    ap.add_argument("--criteria", default="seed_jia2020", help="criteria file or bundled name; '-' for none")
    ap.add_argument("--spark", action="store_true", help="also run Spark (local mode) on the sample")
    ap.add_argument("--skip-full", action="store_true", help="only the sample comparisons")
    args = ap.parse_args(argv)
    import pandas as pd

    from hepatostat.cohort import scale

    sys.path.insert(0, str(ROOT))
    from tests.cohort import scale_reference as scale_ref

    data = Path(args.data)
    work = Path(str(data) + "-out")
    work.mkdir(parents=True, exist_ok=True)
    gen = None
    if not (data / "synthetic_omop_measurement.parquet").exists():
        gen = child("generate", data, args.persons)
    crit = args.criteria
    rows = []
    if not args.skip_full:
        for limit in [x.strip() for x in args.memory_limits.split(",") if x.strip()]:
            r = child("duckdb", data, work / "visits_full.parquet", args.threads, limit, work / "spill", crit)
            rows.append(("all", r, None))

    sample = Path(str(data) + f"-sample{args.sample}")
    if not (sample / "synthetic_omop_measurement.parquet").exists():
        make_sample(data, sample, args.sample)
    limit0 = args.memory_limits.split(",")[0]
    checks = {}
    notes = []
    if crit != "-":
        dc = child("duckdb", sample, work / "crit_duckdb.parquet", args.threads, limit0, work / "spill", crit)
        rows.append((f"first {args.sample:,}", dc, None))
        b = child("build", sample, work / "crit_build_long.parquet", work / "crit_build_persons.parquet", crit)
        duck = pd.read_parquet(work / "crit_duckdb.parquet")
        same_steps = pd.DataFrame(dc["attrition"]).equals(pd.DataFrame(b["attrition"]))
        checks["in-memory build_cohort, visits"] = scale.compare_visits(duck, pd.read_parquet(
            work / "crit_build_long.parquet"))
        persons_diff = _persons_diff(scale_ref, work / "crit_duckdb_persons.parquet", work / "crit_build_persons.parquet")
        notes.append(f"Sample with criteria {crit}: attrition table DuckDB vs in-memory "
                     f"{'identical' if same_steps else 'DIFFERENT'} ({len(dc['attrition'])} steps); per-person status "
                     f"{'identical' if not persons_diff else 'DIFFERENT in ' + ', '.join(persons_diff)}; "
                     f"in-memory build_cohort {b['seconds']:.1f} s (peak RSS {gib(b['peak_rss_bytes'])} GiB).")
        if args.spark:
            sc = child("spark", sample, work / "crit_spark", args.threads, crit)
            same = pd.DataFrame(sc["attrition"]).equals(pd.DataFrame(dc["attrition"]))
            checks["Spark, visits (criteria)"] = scale.compare_visits(duck, pd.read_parquet(work / "crit_spark"))
            pdiff = _persons_diff(scale_ref, work / "crit_spark_persons", work / "crit_build_persons.parquet")
            notes.append(f"Spark local[{args.threads}] with criteria: attrition {'identical' if same else 'DIFFERENT'}, "
                         f"per-person status {'identical' if not pdiff else 'DIFFERENT in ' + ', '.join(pdiff)}; "
                         f"{sc['seconds']:.1f} s (session start-up not included).")
        print("Attrition (full run):" if rows and rows[0][0] == "all" else "Attrition (sample):")
        print("| step | criterion | before | excluded | after | unknown |")
        print("|---:|---|---:|---:|---:|---:|")
        for s in rows[0][1]["attrition"]:
            print(f"| {s['step']} | {s['criterion']} | {s['n_before']:,} | {s['n_excluded']:,} | {s['n_after']:,} "
                  f"| {s['n_missing']:,} |")
        print()
    d = child("duckdb", sample, work / "visits_sample_duckdb.parquet", args.threads, limit0, work / "spill", "-")
    p = child("pandas", sample, work / "visits_sample_pandas.parquet")
    ref = child("reference", sample, work / "visits_sample_reference.parquet")
    duck = pd.read_parquet(work / "visits_sample_duckdb.parquet")
    checks["pandas (no criteria)"] = scale.compare_visits(duck, pd.read_parquet(work / "visits_sample_pandas.parquet"))
    checks["existing engine (read_omop + extract_visits, no criteria)"] = scale.compare_visits(
        duck, pd.read_parquet(work / "visits_sample_reference.parquet"))

    print("| run | persons screened | persons in cohort | measurement rows | output rows | DuckDB memory_limit "
          "| wall (s) | CPU (s) | peak RSS (GiB) | rows/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, r, _ in rows:
        print(f"| {label} | {r['n_screened']:,} | {r['n_persons']:,} | {r['n_measurement']:,} | {r['n_output']:,} "
              f"| {limit0 if label != 'all' else args.memory_limits} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} "
              f"| {gib(r['peak_rss_bytes'])} | {r['n_measurement'] / r['seconds']:,.0f} |")
    print()
    for name, diff in checks.items():
        bad = {k: v for k, v in diff.items() if v}
        print(f"Sample, DuckDB vs {name}: {'identical in every column' if not bad else f'DIFFERENT: {bad}'}.")
    for n in notes:
        print(n)
    print(f"Sample without criteria: DuckDB {d['seconds']:.1f} s, pandas {p['seconds']:.1f} s (peak RSS "
          f"{gib(p['peak_rss_bytes'])} GiB), existing engine {ref['seconds']:.1f} s (peak RSS "
          f"{gib(ref['peak_rss_bytes'])} GiB).")
    if gen is not None:
        print(f"Generation: {gen['n_persons']:,} persons, {gen['n_measurement']:,} measurement rows in "
              f"{gen['seconds']:.1f} s, peak RSS {gib(gen['peak_rss_bytes'])} GiB.")
    if rows and rows[0][0] == "all":
        print("Full run steps (s): " + ", ".join(f"{k} {v:.1f}" for k, v in rows[0][1].get("steps", {}).items()))
    print(f"{platform.processor() or platform.machine()}, {args.threads} threads; Python {sys.version.split()[0]}.")


def _persons_diff(scale_ref, scale_path, build_path) -> list[str]:
    import pandas as pd

    return scale_ref.same_persons(pd.read_parquet(scale_path), pd.read_parquet(build_path))


if __name__ == "__main__":
    main()
