"""De-duplication benchmark: sensitivity, specificity and records/s of
``hepatostat.review.deduplicate`` on labelled data sets.

Data sets (none is committed; each is read from a path you give):

* ``--asysd PATH``: the labelled test set shipped with the ASySD R package
  (Hair et al. 2023, doi:10.1186/s12915-023-01686-z), file
  ``tests/testthat/labelled_test_set.csv`` of https://github.com/camaradesuk/ASySD
  (GPL-3; 1,845 records, Windows-1252). Column ``source`` is the gold label:
  ``unique`` for the one record of a publication that is kept, ``duplicate``
  for every other copy (its ``label`` column is not the gold standard: it
  is what another tool kept).
* ``--asysd-osf DIR``: the five labelled sets of the ASySD validation
  (``Diabetes``, ``NeuroImaging``, ``Cardiac``, ``Depression``, ``SRSR``
  ``_duplicates_labelled.csv``, OSF project 2b8uq) if you have them; columns
  ``record_id``, ``label`` (``Unique``/``Duplicate``) and, when present,
  ``duplicate_id`` (the group). Not available to us when this was written.
* ``--synthetic N``: a LABELLED SYNTHETIC set of about N records
  (``synthetic.py``; copies of one publication as several databases export
  it, plus hard negatives: supplement DOIs, recurring editorials,
  abstract + article, part I / part II).

Metrics (record level, as in Hair et al. 2023 and bib-dedupe): a
*duplicate* is a record that should be removed (every copy of a
publication but one). For each cluster the tool forms, with g distinct
gold publications among its m records: m - g removals are right (TP) and
g - 1 are wrong (FP: a unique publication lost). FN = gold duplicates -
TP; TN = gold publications - FP. Sensitivity = TP / (TP + FN),
specificity = TN / (TN + FP). Only automatic merges count: uncertain pairs
are left unmerged (they are what a person would check).

Usage::

    python benchmarks/dedup/run.py --asysd /path/labelled_test_set.csv --synthetic 100000 \
        --out benchmarks/dedup/results.json
"""

from __future__ import annotations

import argparse
import collections
import json
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def metrics(clusters, gold: dict) -> dict:
    """Record-level TP/FP/FN/TN from predicted clusters (tuples of ids) and
    gold publication labels by record id."""
    n = len(gold)
    pubs = len(set(gold.values()))
    dups = n - pubs
    tp = fp = 0
    for members in clusters:
        g = len({gold[m] for m in members})
        tp += len(members) - g
        fp += g - 1
    fn = dups - tp
    tn = pubs - fp
    return {"records": n, "publications": pubs, "gold_duplicates": dups, "TP": tp, "FP": fp, "FN": fn, "TN": tn,
            "sensitivity": tp / dups if dups else float("nan"), "specificity": tn / pubs if pubs else float("nan")}


def run_one(name, records, gold, **kw):
    from hepatostat.review import deduplicate

    t = time.perf_counter()
    c = time.process_time()
    res = deduplicate(records, **kw)
    wall = time.perf_counter() - t
    cpu = time.process_time() - c
    m = metrics([c.members for c in res.clusters], gold)
    m.update(name=name, seconds=round(wall, 2), cpu_seconds=round(cpu, 2),
             records_per_s=round(len(records) / wall), uncertain_pairs=len(res.uncertain),
             candidate_pairs=res.candidate_pairs)
    return m, res


def load_asysd(path):
    """Records and gold labels from ASySD's labelled_test_set.csv."""
    import csv

    from hepatostat.review import Record
    from hepatostat.review.records import decode_bytes

    text, _ = decode_bytes(Path(path).read_bytes())
    rows = list(csv.DictReader(text.splitlines(keepends=True)))
    records, gold = [], {}
    # the file gives no publication groups, only a unique/duplicate label per record: see asysd_metrics
    for row in rows:
        y = (row.get("year") or "").strip()
        rid = row["record_id"].strip()
        records.append(Record(
            record_id=rid, title=row.get("title") or "", authors=(row["author"],) if row.get("author") else (),
            year=int(y) if y.isdigit() else None, journal=row.get("journal") or None,
            volume=row.get("volume") or None, issue=row.get("number") or None, pages=row.get("pages") or None,
            doi=row.get("doi") or None, abstract=row.get("abstract") or None, source_file=Path(path).name))
        gold[rid] = row["source"].strip().lower()
    return records, gold


def asysd_metrics(clusters, label: dict) -> dict:
    """ASySD's record-level convention when only a unique/duplicate label per
    record is known: in each predicted cluster one record is kept (a
    gold-unique one when there is one: Hair et al.'s ``keep_label``);
    removing a gold-unique record is a FP, keeping a gold-duplicate a FN."""
    tp = fp = fn = 0
    in_cluster = set()
    for members in clusters:
        in_cluster.update(members)
        u = sum(1 for m in members if label[m] == "unique")
        d = len(members) - u
        if u:
            tp += d
            fp += u - 1
        else:
            tp += d - 1
            fn += 1
    for rid, lab in label.items():
        if rid not in in_cluster and lab == "duplicate":
            fn += 1
    uniq = sum(1 for v in label.values() if v == "unique")
    dups = len(label) - uniq
    return {"records": len(label), "publications": uniq, "gold_duplicates": dups, "TP": tp, "FP": fp, "FN": fn,
            "TN": uniq - fp, "sensitivity": tp / dups, "specificity": (uniq - fp) / uniq}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--asysd", help="path of ASySD's tests/testthat/labelled_test_set.csv")
    ap.add_argument("--synthetic", type=int, nargs="*", default=[], help="sizes of synthetic sets (e.g. 10000 100000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="write the results as JSON here")
    ap.add_argument("--detail", action="store_true", help="print the wrong merges and missed duplicates")
    args = ap.parse_args(argv)
    results = []
    if args.asysd:
        records, label = load_asysd(args.asysd)
        t = time.perf_counter()
        c = time.process_time()
        from hepatostat.review import deduplicate

        res = deduplicate(records)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        m = asysd_metrics([c.members for c in res.clusters], label)
        m.update(name="ASySD labelled_test_set.csv", seconds=round(wall, 2), cpu_seconds=round(cpu, 2),
                 records_per_s=round(len(records) / wall), uncertain_pairs=len(res.uncertain),
                 candidate_pairs=res.candidate_pairs)
        results.append(m)
        if args.detail:
            byid = {r.record_id: r for r in records}
            for c in res.clusters:
                if sum(1 for x in c.members if label[x] == "unique") > 1:
                    print("WRONG MERGE", c.reason)
                    for x in c.members:
                        r = byid[x]
                        print("   ", label[x], r.title[:80], r.year, r.pages, r.volume, r.doi)
    for n in args.synthetic:
        from synthetic import generate

        records, gold = generate(n, seed=args.seed)
        m, res = run_one(f"synthetic {len(records)} (seed {args.seed})", records, gold)
        m["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        results.append(m)
        if args.detail:
            byid = {r.record_id: r for r in records}
            for c in res.clusters:
                if len({gold[x] for x in c.members}) > 1:
                    print("WRONG MERGE", c.reason)
                    for x in c.members:
                        r = byid[x]
                        print("   ", gold[x], r.title[:70], r.year, r.pages, r.volume, r.doi, r.authors[:1], r.type)
            kept = {m for c in res.clusters for m in c.members}
            groups = collections.defaultdict(list)
            for r in records:
                groups[gold[r.record_id]].append(r)
            shown = 0
            pred = {m: k for k, c in enumerate(res.clusters) for m in c.members}
            for g, rs in groups.items():
                if (len(rs) > 1 and len({pred.get(r.record_id, r.record_id) for r in rs}) > 1 and shown < 15
                        and "comments" not in rs[0].title.lower()):
                    shown += 1
                    print("MISSED")
                    for r in rs:
                        print("   ", r.record_id, r.title[:70], r.year, r.pages, r.volume, r.journal, r.doi,
                              r.authors[:1], r.type, r.record_id in kept)
    for m in results:
        print(f"{m['name']}: {m['records']} records, sensitivity {m['sensitivity']:.4f}, specificity "
              f"{m['specificity']:.4f} (TP {m['TP']}, FP {m['FP']}, FN {m['FN']}, TN {m['TN']}), "
              f"{m['seconds']} s wall ({m['cpu_seconds']} s CPU), {m['records_per_s']} records/s, "
              f"{m['uncertain_pairs']} uncertain pairs")
    if args.out:
        import hepatostat
        import rapidfuzz

        meta = {"python": platform.python_version(), "machine": platform.machine(),
                "hepatostat": getattr(hepatostat, "__version__", "dev"), "rapidfuzz": rapidfuzz.__version__,
                "date": time.strftime("%Y-%m-%d")}
        Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
