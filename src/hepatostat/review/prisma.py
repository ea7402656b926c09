"""PRISMA 2020 flow diagram (new systematic reviews; searches of databases
and registers only), with its arithmetic checked.

The boxes and their names follow the PRISMA 2020 template (Page et al.
2021, Figure 1). Counts come from a screening project
(:func:`prisma_from_project`) or from a plain mapping / CSV of counts
(:func:`prisma_flow`), so a published review's own numbers can be drawn
(:func:`liu2022_prisma`). Boxes that can be derived from the others may be
left out; every box given is checked:

1. Records identified = sum over databases + sum over registers
2. Records screened = identified - duplicate records removed - records
   marked as ineligible by automation tools - records removed for other
   reasons
3. Records excluded = sum of its reasons (when reasons are given)
4. Reports sought for retrieval = screened - excluded - records awaiting
   screening
5. Reports assessed for eligibility = sought - reports not retrieved
6. Reports excluded = sum of its reasons (when reasons are given)
7. Reports of included studies = assessed - reports excluded - reports
   awaiting assessment
8. Studies included in review <= reports of included studies (a study may
   have several reports); when only one of the two is given, they are equal.

A box that does not add up raises :class:`~hepatostat.errors.InputError`
naming the box and showing the arithmetic.

References
----------
.. [1] Page MJ, McKenzie JE, Bossuyt PM, et al. (2021). The PRISMA 2020
   statement: an updated guideline for reporting systematic reviews.
   BMJ 372:n71. doi:10.1136/bmj.n71
.. [2] Liu Y, Dong Y, Wu X, Xu X, Niu J (2022). The assessment of
   mesenchymal stem cells therapy in acute on chronic liver failure and
   chronic liver disease: a systematic review and meta-analysis of
   randomized controlled trials. Stem Cell Res Ther (2022).
   doi:10.1186/s13287-022-02882-4 (Results, "Search results"; CC BY 4.0)
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ..errors import InputError

__all__ = ["BOXES", "PrismaFlow", "prisma_flow", "prisma_from_project", "liu2022_prisma"]

#: the boxes, in flow order, with their PRISMA 2020 names
BOXES = {
    "identified": "Records identified",
    "duplicates_removed": "Duplicate records removed",
    "automation_removed": "Records marked as ineligible by automation tools",
    "other_removed": "Records removed for other reasons",
    "screened": "Records screened",
    "excluded": "Records excluded",
    "awaiting_screening": "Records awaiting screening",
    "sought": "Reports sought for retrieval",
    "not_retrieved": "Reports not retrieved",
    "assessed": "Reports assessed for eligibility",
    "reports_excluded": "Reports excluded",
    "awaiting_full_text": "Reports awaiting assessment",
    "studies_included": "Studies included in review",
    "reports_included": "Reports of included studies",
}
_ZERO_DEFAULTS = ("automation_removed", "other_removed", "awaiting_screening", "not_retrieved", "awaiting_full_text")
_LIST_BOXES = {"database": "databases", "register": "registers", "excluded_reason": "excluded_reasons",
               "reports_excluded_reason": "reports_excluded_reasons"}

TEMPLATE_CITATION = ("Flow diagram after the PRISMA 2020 template: Page MJ, et al. BMJ 2021;372:n71. "
                     "doi:10.1136/bmj.n71")


@dataclass(frozen=True)
class PrismaFlow:
    """Counts of a PRISMA 2020 flow diagram, arithmetic checked.

    ``databases``, ``registers``, ``excluded_reasons`` and
    ``reports_excluded_reasons`` are tuples of ``(name, n)``.
    """

    databases: tuple
    registers: tuple
    identified: int
    duplicates_removed: int
    automation_removed: int
    other_removed: int
    screened: int
    excluded: int
    excluded_reasons: tuple
    awaiting_screening: int
    sought: int
    not_retrieved: int
    assessed: int
    reports_excluded: int
    reports_excluded_reasons: tuple
    awaiting_full_text: int
    studies_included: int
    reports_included: int
    title: str | None = None
    notes: tuple = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in BOXES}
        out["databases"] = dict(self.databases)
        out["registers"] = dict(self.registers)
        out["excluded_reasons"] = dict(self.excluded_reasons)
        out["reports_excluded_reasons"] = dict(self.reports_excluded_reasons)
        out["title"] = self.title
        out["notes"] = list(self.notes)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per box (``box, label, n``), lists expanded, in flow
        order; the format :func:`prisma_flow` reads back."""
        rows = [{"box": "database", "label": k, "n": v} for k, v in self.databases]
        rows += [{"box": "register", "label": k, "n": v} for k, v in self.registers]
        for key, label in BOXES.items():
            rows.append({"box": key, "label": label, "n": getattr(self, key)})
            if key == "excluded":
                rows += [{"box": "excluded_reason", "label": k, "n": v} for k, v in self.excluded_reasons]
            if key == "reports_excluded":
                rows += [{"box": "reports_excluded_reason", "label": k, "n": v} for k, v in self.reports_excluded_reasons]
        return pd.DataFrame(rows, columns=["box", "label", "n"])

    def summary(self) -> str:
        from ..io.format import fmt_n as n

        lines = [self.title or "PRISMA 2020 flow"]
        lines.append(f"Identification: records identified n = {n(self.identified)} ("
                     + ", ".join(f"{k} {n(v)}" for k, v in self.databases + self.registers) + ")")
        lines.append(f"  removed before screening: duplicates {n(self.duplicates_removed)}, automation tools "
                     f"{n(self.automation_removed)}, other reasons {n(self.other_removed)}")
        lines.append(f"Screening: records screened {n(self.screened)}; excluded {n(self.excluded)}"
                     + (" (" + ", ".join(f"{k} {n(v)}" for k, v in self.excluded_reasons) + ")" if self.excluded_reasons else "")
                     + (f"; awaiting screening {n(self.awaiting_screening)}" if self.awaiting_screening else ""))
        lines.append(f"  reports sought for retrieval {n(self.sought)}; not retrieved {n(self.not_retrieved)}")
        lines.append(f"  reports assessed for eligibility {n(self.assessed)}; excluded {n(self.reports_excluded)}"
                     + (" (" + ", ".join(f"{k} {n(v)}" for k, v in self.reports_excluded_reasons) + ")"
                        if self.reports_excluded_reasons else "")
                     + (f"; awaiting assessment {n(self.awaiting_full_text)}" if self.awaiting_full_text else ""))
        lines.append(f"Included: studies {n(self.studies_included)}; reports of included studies {n(self.reports_included)}")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def plot(self, path=None, *, title: str | None = None, footnote: bool = True):
        """Draw the flow diagram in the PRISMA 2020 layout.

        ``path`` may be one path or a list (``.png``, ``.svg``, ``.pdf``; no
        suffix writes PNG and SVG). Returns the matplotlib figure.
        """
        return _draw(self, path, title=title if title is not None else self.title, footnote=footnote)


# --------------------------------------------------------------------------- building

def _as_int(box: str, value, source) -> int | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InputError(f"PRISMA box '{BOXES.get(box, box)}' needs a whole number", file=source, value=value) from None
    if f != int(f) or f < 0:
        raise InputError(f"PRISMA box '{BOXES.get(box, box)}' needs a whole number >= 0", file=source, value=value)
    return int(f)


def _pairs(box: str, value, source) -> tuple:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        items = list(value.items())
    else:
        items = list(value)
    out = []
    for name, n in items:
        v = _as_int(box, n, source)
        if v is None:
            raise InputError(f"PRISMA box '{box}' entry {name!r} has no count", file=source)
        out.append((str(name), v))
    return tuple(out)


def _from_frame(frame: pd.DataFrame, source) -> dict:
    cols = {str(c).strip().lower(): c for c in frame.columns}
    if "box" not in cols or "n" not in cols:
        raise InputError(f"a PRISMA counts table needs columns box, n (and label for lists); found: "
                         f"{', '.join(map(str, frame.columns))}", file=source)
    by_label = {v.lower(): k for k, v in BOXES.items()}
    d: dict[str, Any] = {}
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        box = str(row[frame.columns.get_loc(cols["box"])]).strip()
        n = row[frame.columns.get_loc(cols["n"])]
        label = row[frame.columns.get_loc(cols["label"])] if "label" in cols else None
        key = box.lower().replace(" ", "_")
        key = by_label.get(box.lower(), key)
        if key in _LIST_BOXES:
            if label is None or (isinstance(label, float) and pd.isna(label)) or not str(label).strip():
                raise InputError(f"a '{key}' row needs a label (the database, register or reason)", file=source,
                                 row=i, column="label")
            d.setdefault(_LIST_BOXES[key], []).append((str(label).strip(), n))
        elif key in BOXES:
            if key in d:
                raise InputError(f"box '{BOXES[key]}' is given twice", file=source, row=i, column="box", value=box)
            d[key] = n
        else:
            raise InputError("unknown PRISMA box; allowed: " + ", ".join(list(BOXES) + list(_LIST_BOXES)),
                             file=source, row=i, column="box", value=box)
    return d


def prisma_flow(counts, *, title: str | None = None, source=None) -> PrismaFlow:
    """A checked :class:`PrismaFlow` from counts.

    Parameters
    ----------
    counts : mapping, DataFrame, or path of a CSV
        Keys (or CSV ``box`` values, which may also be the PRISMA box names)
        from :data:`BOXES`, plus ``databases`` / ``registers`` (mapping name →
        n, or a single int for all databases), ``excluded_reasons`` and
        ``reports_excluded_reasons`` (mapping reason → n); ``excluded`` and
        ``reports_excluded`` may be given as a mapping of reasons too. In a
        CSV (``box,label,n``) list entries are rows with box ``database``,
        ``register``, ``excluded_reason`` or ``reports_excluded_reason``.
    title : str, optional

    Raises
    ------
    InputError
        A box that does not add up (named, with the arithmetic), a negative
        or fractional count, a box that cannot be derived from those given.
    """
    notes: list[str] = []
    if isinstance(counts, (str, Path)):
        source = str(counts)
        p = Path(counts)
        if not p.exists():
            raise InputError("file not found", file=p)
        counts = _from_frame(pd.read_csv(p, dtype=str, keep_default_na=False), source)
    elif isinstance(counts, pd.DataFrame):
        counts = _from_frame(counts, source)
    else:
        counts = dict(counts)
    unknown = set(counts) - set(BOXES) - set(_LIST_BOXES.values()) - {"title", "notes"}
    if unknown:
        raise InputError(f"unknown PRISMA box(es) {sorted(unknown)}; allowed: "
                         + ", ".join(list(BOXES) + list(_LIST_BOXES.values())), file=source)
    title = title or counts.get("title")
    notes += list(counts.get("notes", ()))
    v: dict[str, int | None] = {}
    for key in BOXES:
        val = counts.get(key)
        if isinstance(val, Mapping):
            reason_key = {"excluded": "excluded_reasons", "reports_excluded": "reports_excluded_reasons"}.get(key)
            if reason_key is None:
                raise InputError(f"PRISMA box '{BOXES[key]}' takes a number, not a list", file=source)
            counts[reason_key] = val
            val = None
        v[key] = _as_int(key, val, source)
    dbs = counts.get("databases")
    if isinstance(dbs, (int, float, str)) and not isinstance(dbs, bool):
        dbs = {"Databases": dbs}
    databases = _pairs("databases", dbs, source)
    registers = _pairs("registers", counts.get("registers"), source)
    exc_r = _pairs("excluded_reasons", counts.get("excluded_reasons"), source)
    rep_r = _pairs("reports_excluded_reasons", counts.get("reports_excluded_reasons"), source)
    for key in _ZERO_DEFAULTS:
        if v[key] is None:
            v[key] = 0
    if not databases and not registers:
        if v["identified"] is None:
            raise InputError("PRISMA box 'Records identified' is missing: give 'identified' or 'databases'",
                             file=source)
        databases = (("Databases", v["identified"]),)

    # equations: lhs = sum(sign * term) (+ constant)
    # constants first (sums of lists), then the flow top-down: a given box that disagrees is then named
    # where the arithmetic first fails
    eqs = [("identified", [], sum(n for _, n in databases + registers))]
    if exc_r:
        eqs.append(("excluded", [], sum(n for _, n in exc_r)))
    if rep_r:
        eqs.append(("reports_excluded", [], sum(n for _, n in rep_r)))
    eqs += [
        ("screened", [(1, "identified"), (-1, "duplicates_removed"), (-1, "automation_removed"), (-1, "other_removed")], 0),
        ("sought", [(1, "screened"), (-1, "excluded"), (-1, "awaiting_screening")], 0),
        ("assessed", [(1, "sought"), (-1, "not_retrieved")], 0),
        ("reports_included", [(1, "assessed"), (-1, "reports_excluded"), (-1, "awaiting_full_text")], 0),
    ]

    given = {k for k, x in v.items() if x is not None}

    def text(lhs, terms, const):
        parts = [f"{BOXES[t]} ({v[t]})" for _, t in terms]
        if not terms:
            what = {"identified": "the databases and registers", "excluded": "its reasons",
                    "reports_excluded": "its reasons"}[lhs]
            return f"the sum over {what} is {const}"
        expr = parts[0] + "".join(f" {'+' if s > 0 else '-'} {p}" for (s, _), p in zip(terms[1:], parts[1:]))
        return f"{expr} = {const + sum(s * v[t] for s, t in terms)}"

    def solve():
        progress = True
        while progress:
            progress = False
            for lhs, terms, const in eqs:
                unknowns = [t for _, t in terms if v[t] is None] + ([lhs] if v[lhs] is None else [])
                if len(unknowns) != 1:
                    continue
                u = unknowns[0]
                if u == lhs:
                    val = const + sum(s * v[t] for s, t in terms)
                else:
                    s_u = next(s for s, t in terms if t == u)
                    rest = const + sum(s * v[t] for s, t in terms if t != u)
                    val = (v[lhs] - rest) * s_u
                if val < 0:
                    raise InputError(f"PRISMA box '{BOXES[u]}' would be negative ({val}); the counts given do not "
                                     "add up", file=source)
                v[u] = int(val)
                progress = True

    solve()
    if v["reports_included"] is None and v["studies_included"] is not None:
        v["reports_included"] = v["studies_included"]
        solve()
    if v["studies_included"] is None and v["reports_included"] is not None:
        v["studies_included"] = v["reports_included"]
    missing = [k for k, x in v.items() if x is None]
    if missing:
        raise InputError("cannot derive PRISMA box(es) " + ", ".join(f"'{BOXES[k]}'" for k in missing)
                         + " from the counts given; give them", file=source)
    for lhs, terms, const in eqs:
        expected = const + sum(s * v[t] for s, t in terms)
        if v[lhs] != expected:
            # name the box the user gave that disagrees; the lhs when given
            raise InputError(f"PRISMA box '{BOXES[lhs]}' = {v[lhs]} does not add up: {text(lhs, terms, const)}",
                             file=source)
    if v["studies_included"] > v["reports_included"]:
        raise InputError(f"PRISMA box '{BOXES['studies_included']}' = {v['studies_included']} exceeds "
                         f"'{BOXES['reports_included']}' = {v['reports_included']} (each study has at least one report)",
                         file=source)
    derived = [k for k in BOXES if k not in given and k not in _ZERO_DEFAULTS]
    if derived:
        notes.append("derived from the other boxes: " + ", ".join(BOXES[k] for k in derived))
    return PrismaFlow(databases=databases, registers=registers, excluded_reasons=exc_r,
                      reports_excluded_reasons=rep_r, title=title, notes=tuple(notes),
                      **{k: int(v[k]) for k in BOXES})


def prisma_from_project(project, *, allow_incomplete: bool = False, title: str | None = None) -> PrismaFlow:
    """The flow of a screening project (:class:`~hepatostat.review.Project`).

    Records per source database, duplicates removed (automatically and by a
    reviewer), records screened and excluded at title/abstract (with reasons
    when reviewers gave them), reports sought, not retrieved, assessed and
    excluded with reasons at full text, and included. Each included report
    counts as one study (link reports of one study by hand in the counts if
    needed). Records without a final decision raise :class:`InputError`
    unless ``allow_incomplete``; then they are shown as awaiting screening /
    assessment.
    """
    c = project._prisma_counts()
    ta, ft = c["title_abstract"], c["full_text"]
    open_ta = ta[ta["final"].isna()]
    open_ft = ft[ft["final"].isna()]
    if not allow_incomplete and (len(open_ta) or len(open_ft)):
        parts = []
        for name, o in (("title/abstract", open_ta), ("full-text", open_ft)):
            if len(o):
                st = o["status"].value_counts()
                parts.append(f"{len(o)} records have no final {name} decision ({int(st.get('pending', 0))} awaiting "
                             f"votes, {int(st.get('conflict', 0))} unresolved conflicts)")
        raise InputError("; ".join(parts) + "; finish screening, or allow an incomplete flow (allow_incomplete=True, "
                         "--allow-incomplete) to show them as awaiting", file=project.path)

    def reasons(frame, label_missing):
        ex = frame[frame["final"] == "exclude"]
        if not len(ex):
            return {}
        r = ex["reason"].fillna(label_missing).replace("", label_missing)
        # group case-insensitively, keep the first spelling
        out: dict[str, int] = {}
        spelling: dict[str, str] = {}
        for x in r:
            k = " ".join(str(x).lower().split())
            spelling.setdefault(k, str(x).strip())
            out[spelling[k]] = out.get(spelling[k], 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    ta_reasons = reasons(ta, "no reason given")
    counts = {
        "databases": c["databases"],
        "duplicates_removed": c["duplicates_removed"],
        "screened": len(ta),
        "excluded": int((ta["final"] == "exclude").sum()),
        "awaiting_screening": len(open_ta),
        "sought": int((ta["final"] == "include").sum()),
        "not_retrieved": int((ft["final"] == "not_retrieved").sum()),
        "reports_excluded": int((ft["final"] == "exclude").sum()),
        "reports_excluded_reasons": reasons(ft, "no reason given"),
        "awaiting_full_text": len(open_ft),
        "reports_included": int((ft["final"] == "include").sum()),
        "studies_included": int((ft["final"] == "include").sum()),
    }
    if set(ta_reasons) != {"no reason given"}:
        counts["excluded_reasons"] = ta_reasons
    flow = prisma_flow(counts, title=title, source=str(project.path))
    return _with_notes(flow, ["each included report counted as one study"])


def _with_notes(flow: PrismaFlow, notes) -> PrismaFlow:
    from dataclasses import replace

    return replace(flow, notes=tuple(flow.notes) + tuple(notes))


def liu2022_prisma() -> PrismaFlow:
    """The study-selection numbers of Liu et al. (2022), Results, "Search
    results": 892 records identified, 288 duplicates removed, 604 screened,
    570 excluded (176 animal experiments, 8 case reports or letters, 67
    reviews or meta-analyses, 81 meeting abstracts, 238 after reading titles
    and abstracts), 34 reports assessed, 22 excluded (sufficient data not
    available or not an RCT; the split between the two reasons is not
    reported), 12 studies included. Per-database counts and reports not
    retrieved are not reported (the latter is taken as 0)."""
    src = resources.files(__package__).joinpath("data/liu2022_prisma.csv")
    with resources.as_file(src) as p:
        flow = prisma_flow(p, title="Liu et al. 2022 (Stem Cell Res Ther (2022)): study selection")
    return _with_notes(flow, ["Reports not retrieved is not reported by Liu et al. 2022; taken as 0"])


# --------------------------------------------------------------------------- drawing

_HEADER_FILL = "#F6C143"   # the template's gold header
_PHASE_FILL = "#A6CAEC"    # the template's light-blue phase labels
_WRAP = 52


def _wrap_lines(lines, width=_WRAP):
    out = []
    for ln in lines:
        indent = len(ln) - len(ln.lstrip(" "))
        ln = ln.replace("(n = ", "(n\u00a0=\u00a0")  # never break inside "(n = 12)"
        w = textwrap.wrap(ln.strip(), width=width - indent, subsequent_indent="  ") or [""]
        out += [" " * indent + x for x in w]
    return out


def _box_texts(f: PrismaFlow):
    ident = ["Records identified from:"]
    ident += [f"  {k} (n = {n})" for k, n in f.databases]
    ident += [f"  {k} (n = {n})" for k, n in f.registers] if f.registers else ["  Registers (n = 0)"]
    removed = ["Records removed before screening:",
               f"  Duplicate records removed (n = {f.duplicates_removed})",
               f"  Records marked as ineligible by automation tools (n = {f.automation_removed})",
               f"  Records removed for other reasons (n = {f.other_removed})"]
    screened = ["Records screened", f"(n = {f.screened})"]
    excluded = [f"Records excluded (n = {f.excluded})"] + ([f"  {k} (n = {n})" for k, n in f.excluded_reasons])
    if f.awaiting_screening:
        excluded.append(f"Records awaiting screening (n = {f.awaiting_screening})")
    sought = ["Reports sought for retrieval", f"(n = {f.sought})"]
    notret = ["Reports not retrieved", f"(n = {f.not_retrieved})"]
    assessed = ["Reports assessed for eligibility", f"(n = {f.assessed})"]
    repexc = [f"Reports excluded (n = {f.reports_excluded}):" if f.reports_excluded_reasons else
              f"Reports excluded (n = {f.reports_excluded})"]
    repexc += [f"  {k} (n = {n})" for k, n in f.reports_excluded_reasons]
    if f.awaiting_full_text:
        repexc.append(f"Reports awaiting assessment (n = {f.awaiting_full_text})")
    included = ["Studies included in review", f"(n = {f.studies_included})",
                "Reports of included studies", f"(n = {f.reports_included})"]
    return [(ident, removed), (screened, excluded), (sought, notret), (assessed, repexc), (included, None)]


def _draw(f: PrismaFlow, path, *, title, footnote):
    from matplotlib.figure import Figure

    from ..meta.plots import save_figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    rows = [(_wrap_lines(a, 50), _wrap_lines(b, 60) if b is not None else None) for a, b in _box_texts(f)]
    fs = 9.0
    lh = 0.185            # line height (inches) at 9 pt
    pad = 0.13
    gap = 0.42            # vertical space between rows (for the arrows)
    header_h = 0.42
    x_phase, w_phase = 0.12, 0.42
    x_main, w_main = 0.78, 3.95
    x_side, w_side = 5.35, 4.25
    width = 9.85
    heights = [max(len(a), len(b) if b else 0) * lh + 2 * pad for a, b in rows]
    title_h = 0.45 if title else 0.0
    foot_h = 0.35 if footnote else 0.1
    total = title_h + header_h + 0.3 + sum(heights) + gap * (len(rows) - 1) + foot_h + 0.1
    fig = Figure(figsize=(width, total))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, width)
    ax.set_ylim(0, total)
    ax.axis("off")

    def box(x, y_top, w, h, fill="white", lw=1.0, rounding=0.04):
        ax.add_patch(FancyBboxPatch((x, y_top - h), w, h, boxstyle=f"round,pad=0,rounding_size={rounding}",
                                    facecolor=fill, edgecolor="black", linewidth=lw))

    def text_in(x, y_top, w, h, lines, center=False):
        if center:
            ax.text(x + w / 2, y_top - h / 2, "\n".join(lines), ha="center", va="center", fontsize=fs,
                    linespacing=1.25)
        else:
            ax.text(x + pad, y_top - pad, "\n".join(lines), ha="left", va="top", fontsize=fs, linespacing=1.25)

    def arrow(x0, y0, x1, y1):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=12, linewidth=1.0,
                                     color="black", shrinkA=0, shrinkB=0))

    y = total - 0.1
    if title:
        ax.text(width / 2, y - title_h / 2, title, ha="center", va="center", fontsize=11, fontweight="bold")
        y -= title_h
    box(x_main, y, x_side + w_side - x_main, header_h, fill=_HEADER_FILL, rounding=0.08)
    ax.text((x_main + x_side + w_side) / 2, y - header_h / 2, "Identification of studies via databases and registers",
            ha="center", va="center", fontsize=10.5, fontweight="bold")
    y -= header_h + 0.3
    tops = []
    for (main, side), h in zip(rows, heights):
        tops.append(y)
        center_main = len(main) <= 4 and side is not None and max(len(s) for s in main) < 40
        box(x_main, y, w_main, h)
        text_in(x_main, y, w_main, h, main, center=center_main or side is None)
        if side is not None:
            box(x_side, y, w_side, h)
            text_in(x_side, y, w_side, h, side)
            arrow(x_main + w_main, y - h / 2, x_side, y - h / 2)
        y -= h + gap
    for i in range(len(rows) - 1):
        arrow(x_main + w_main / 2, tops[i] - heights[i], x_main + w_main / 2, tops[i + 1])
    phases = [("Identification", 0, 0), ("Screening", 1, 3), ("Included", 4, 4)]
    for name, a, b in phases:
        top, bottom = tops[a], tops[b] - heights[b]
        box(x_phase, top, w_phase, top - bottom, fill=_PHASE_FILL, rounding=0.08)
        ax.text(x_phase + w_phase / 2, (top + bottom) / 2, name, rotation=90, ha="center", va="center",
                fontsize=10, fontweight="bold")
    if footnote:
        ax.text(x_main, 0.12, TEMPLATE_CITATION, ha="left", va="bottom", fontsize=7, color="0.35")
    if path is not None:
        for p in (path if isinstance(path, (list, tuple)) else [path]):
            save_figure(fig, p)
    return fig
