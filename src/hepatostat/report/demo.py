"""The demonstration run behind ``hepatostat demo``.

It grows as capabilities land. Now: meta-analyses of bundled, published
aggregate data sets, each written as JSON, CSV, a text summary and a forest
plot, and an index (``README.txt``) of what was written.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from .. import __version__, datasets, meta
from ..cli.common import _clean

__all__ = ["DEMO_ANALYSES", "run_demo"]

#: (name, data set, measure, method, options, title)
DEMO_ANALYSES = (
    ("bcg_rr_reml", "bcg", "RR", "REML", {}, "BCG vaccine and tuberculosis: risk ratio, random effects (REML)"),
    ("bcg_or_mh", "bcg", "OR", "MH", {}, "BCG vaccine and tuberculosis: odds ratio, Mantel-Haenszel"),
    ("normand_smd_auto", "normand1999", "SMD", "AUTO", {}, "Specialist stroke care and length of stay: SMD, model by the review's rule"),
    ("normand_md_knha", "normand1999", "MD", "REML", {"knha": True}, "Specialist stroke care and length of stay (days): MD, REML with Knapp-Hartung"),
)


def run_demo(out, *, echo: bool = True) -> dict:
    """Run the demo analyses, write their results under ``out``.

    Returns a dictionary with one entry per analysis (name, files, estimate).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    entries = []
    index = [
        f"hepatostat {__version__} demo",
        "Meta-analyses of bundled published aggregate data (citations below).",
        "",
    ]
    for name, ds, measure, method, opts, title in DEMO_ANALYSES:
        info = datasets.info(ds)
        es = meta.effects(datasets.load(ds), measure, source=f"bundled:{ds}")
        res = meta.pool(es, method, **opts)
        base = out / name
        (base.with_suffix(".json")).write_text(
            json.dumps(_clean({"title": title, "data": info, "result": res.to_dict()}), indent=2, ensure_ascii=False),
            encoding="utf-8",
        )
        res.to_frame().to_csv(base.with_suffix(".csv"), index=False)
        text = f"{title}\nData: {info['title']}\nSource: {info['citation']}\n\n{res.summary()}\n"
        (base.with_suffix(".txt")).write_text(text, encoding="utf-8")
        fig = res.plot(out / f"{name}_forest", title=title)
        import matplotlib.pyplot as plt

        plt.close(fig)
        files = [f"{name}.json", f"{name}.csv", f"{name}.txt", f"{name}_forest.png", f"{name}_forest.svg"]
        index += [title, f"  files: {', '.join(files)}", f"  data: {info['citation']}", ""]
        ex = res.exp()
        entries.append(
            {
                "name": name,
                "title": title,
                "measure": res.measure,
                "method": res.method,
                "k": res.k,
                "estimate": res.estimate,
                "ci_low": res.ci_low,
                "ci_high": res.ci_high,
                "exp_estimate": ex["estimate"] if ex else None,
                "I2": res.I2,
                "model_rule": res.model_rule,
                "files": [str(out / f) for f in files],
            }
        )
        if echo:
            click.echo("=" * 78)
            click.echo(text)
    (out / "README.txt").write_text("\n".join(index), encoding="utf-8")
    elapsed = time.perf_counter() - t0
    if echo:
        click.echo("=" * 78)
        click.echo(f"Wrote {len(entries)} analyses (JSON, CSV, text, forest plots PNG+SVG) to {out.resolve()} in {elapsed:.1f} s")
        click.echo(f"Index: {(out / 'README.txt').resolve()}")
    return {"out": str(out.resolve()), "seconds": elapsed, "analyses": entries}
