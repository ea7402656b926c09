"""Cohort extraction at scale: DuckDB over a synthetic OMOP CDM of a million persons, pandas on a sample.

    python benchmarks/scale.py [--data /tmp/hepatostat-scale] [--persons 1000000] [--sample 20000]
                               [--memory-limits 16GB] [--threads 2] [--spark]

Generates the SYNTHETIC OMOP data set once (``hepatostat.datasets.synthetic_omop.generate_omop``, about 100 lab
rows per person; kept in ``--data`` and reused when it is there), then, each in a fresh Python
process so that its peak resident memory is its own:

1. the full extraction in DuckDB (``extract_at_scale``) for every ``--memory-limits`` value;
2. on the first ``--sample`` persons (whole generator blocks, copied to ``<data>-sample``): DuckDB,
   the plain pandas version (``extract_pandas``) and the existing engine (``read_omop`` +
   ``extract_visits``, via ``extract_reference``), and with ``--spark`` Spark in local mode;

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
    kw["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("RESULT " + json.dumps(kw, default=str))
"""

CHILD = {
    "generate": """
r = generate_omop(sys.argv[1], int(sys.argv[2]), seed=1, log=lambda s: print(s, file=sys.stderr, flush=True))
done(seconds=r.seconds, n_measurement=r.n_measurement, n_persons=r.n_persons)
""",
    "duckdb": """
r = scale.extract_at_scale(sys.argv[1], out=sys.argv[2], threads=int(sys.argv[3]), memory_limit=sys.argv[4],
                           temp_directory=sys.argv[5], log=lambda s: print(s, file=sys.stderr, flush=True))
print(r.summary(), file=sys.stderr)
done(seconds=r.seconds, n_measurement=r.n_measurement_rows, n_output=r.n_output_rows, n_persons=r.n_persons,
     steps=dict(r.step_seconds))
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
r = scale.extract_spark(sys.argv[1], out=sys.argv[2], spark=spark)
spark.stop()
done(seconds=r.seconds, n_output=r.n_output_rows)
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
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    out = json.loads(line[len("RESULT "):])
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
    ap.add_argument("--spark", action="store_true", help="also run Spark (local mode) on the sample")
    args = ap.parse_args(argv)
    from hepatostat.cohort import scale

    data = Path(args.data)
    work = Path(str(data) + "-out")
    work.mkdir(parents=True, exist_ok=True)
    gen = None
    if not (data / "synthetic_omop_measurement.parquet").exists():
        gen = child("generate", data, args.persons)
    rows = []
    for limit in [x.strip() for x in args.memory_limits.split(",") if x.strip()]:
        r = child("duckdb", data, work / "visits_full.parquet", args.threads, limit, work / "spill")
        rows.append(("all", r["n_persons"], r["n_measurement"], r["n_output"], limit, r, None))

    sample = Path(str(data) + f"-sample{args.sample}")
    if not (sample / "synthetic_omop_measurement.parquet").exists():
        make_sample(data, sample, args.sample)
    d = child("duckdb", sample, work / "visits_sample_duckdb.parquet", args.threads, args.memory_limits.split(",")[0],
              work / "spill")
    p = child("pandas", sample, work / "visits_sample_pandas.parquet")
    ref = child("reference", sample, work / "visits_sample_reference.parquet")
    rows.append((f"first {args.sample:,}", d["n_persons"], d["n_measurement"], d["n_output"],
                 args.memory_limits.split(",")[0], d, p))
    sp = child("spark", sample, work / "visits_sample_spark", args.threads) if args.spark else None

    import pandas as pd

    duck = pd.read_parquet(work / "visits_sample_duckdb.parquet")
    checks = {"pandas": scale.compare_visits(duck, pd.read_parquet(work / "visits_sample_pandas.parquet")),
              "existing engine (read_omop + extract_visits)":
                  scale.compare_visits(duck, pd.read_parquet(work / "visits_sample_reference.parquet"))}
    if sp is not None:
        checks["Spark"] = scale.compare_visits(duck, pd.read_parquet(work / "visits_sample_spark"))

    print("| persons in cohort | measurement rows | output rows | DuckDB memory_limit | DuckDB (s) | peak RSS (GiB) | rows/s "
          "| pandas (s) | pandas / DuckDB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, n, nm, no, limit, r, pr in rows:
        pt = f"{pr['seconds']:.1f}" if pr else "–"
        ratio = f"{pr['seconds'] / r['seconds']:.1f}x" if pr else "–"
        print(f"| {n:,} ({label}) | {nm:,} | {no:,} | {limit} | {r['seconds']:.1f} | {gib(r['peak_rss_bytes'])} "
              f"| {nm / r['seconds']:,.0f} | {pt} | {ratio} |")
    print()
    for name, diff in checks.items():
        bad = {k: v for k, v in diff.items() if v}
        verdict = "identical in every column" if not bad else f"DIFFERENT: {bad}"
        print(f"Sample, DuckDB vs {name}: {len(duck):,} rows, {verdict}.")
    print(f"Existing engine on the sample: {ref['seconds']:.1f} s (peak RSS {gib(ref['peak_rss_bytes'])} GiB); "
          f"pandas peak RSS {gib(p['peak_rss_bytes'])} GiB.")
    if sp is not None:
        print(f"Spark local[{args.threads}] on the sample: {sp['seconds']:.1f} s (session start-up not included).")
    if gen is not None:
        print(f"Generation: {gen['n_persons']:,} persons, {gen['n_measurement']:,} measurement rows in "
              f"{gen['seconds']:.1f} s, peak RSS {gib(gen['peak_rss_bytes'])} GiB.")
    steps = rows[0][5].get("steps", {})
    print("Full run steps (s): " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()))
    print(f"{platform.processor() or platform.machine()}, {args.threads} threads; Python {sys.version.split()[0]}.")


if __name__ == "__main__":
    main()
