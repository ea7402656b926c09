"""``hepatostat review …``: search records, de-duplication, screening in
pairs, PRISMA 2020 flow, risk of bias and study characteristics."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from ..errors import InputError
from .common import OutputPath, emit, format_option
from .outputs import CSV, FigurePath

#: :data:`hepatostat.review.STAGES` as a plain constant, so that ``--help``
#: imports no engine (a test keeps the two equal)
STAGES = ("title_abstract", "full_text")
STAGE_CHOICE = click.Choice(list(STAGES), case_sensitive=False)
#: screening and conflict sheets
SHEET = (".xlsx", ".csv")

_stage_option = click.option("--stage", required=True, type=STAGE_CHOICE,
                             help="Screening stage: title_abstract or full_text.")
_reviewer_option = click.option("--reviewer", required=True, metavar="NAME", help="Reviewer's name or initials.")


def _database_option(f):
    return click.option("--database", "databases", multiple=True, metavar="[FILE=]NAME",
                        help="Source database of the records: NAME for all files, or FILE=NAME per file "
                             "(default: from the records, else the file name).")(f)


def _databases(values):
    if not values:
        return None
    mapping = {}
    for v in values:
        if "=" in v:
            k, name = v.split("=", 1)
            mapping[k.strip()] = name.strip()
        elif len(values) == 1:
            return v.strip()
        else:
            raise click.UsageError("with several --database options, write each as FILE=NAME")
    return mapping


def _paths(plot):
    return list(plot) if plot else None


_user_option = click.option(
    "--user", envvar="HEPATOSTAT_USER", default=None, metavar="NAME",
    help="Your workbench account (also HEPATOSTAT_USER; password from HEPATOSTAT_PASSWORD or a prompt). Needed "
         "once the project has accounts: blinding then holds on the command line too.")

_ROLE_RANK = {"reviewer": 0, "adjudicator": 1, "owner": 2}


def _gate(project, user, *, reviewer=None, role="reviewer"):
    """Blinding on the command line. A project with workbench accounts
    needs ``--user``: a reviewer reads and writes only their own decisions,
    conflicts (everyone's votes) need the adjudicator role, and acting for
    another reviewer needs the owner role. Projects without accounts are
    single-user and not checked."""
    accounts = project.accounts()
    if not accounts:
        return None
    if not user:
        raise InputError("this project has workbench accounts: give --user NAME (or HEPATOSTAT_USER) and the "
                         "password (HEPATOSTAT_PASSWORD or a prompt)", file=project.path)
    from .workbench import read_password

    got = project.authenticate(user, read_password(f"Password for {user}"))
    if _ROLE_RANK[got] < _ROLE_RANK[role]:
        raise InputError(f"{user} is a {got}; this needs the {role} role (blinding: other reviewers' votes are "
                         "hidden until the owner or an adjudicator looks)", file=project.path)
    if reviewer is not None and reviewer != user and got != "owner":
        raise InputError(f"{user} cannot read or write the decisions of {reviewer} (blinding); only the owner can",
                         file=project.path)
    return got


@click.group(name="review")
def review_group():
    """Systematic-review workflow: import search exports (RIS, PubMed, BibTeX,
    EndNote XML, CSV), remove duplicates, screen in pairs with blinding and a
    third reviewer, Cohen's kappa, PRISMA 2020 flow diagram, risk of bias
    (RoB 1 / RoB 2) and study characteristics.

    \b
    Example (the bundled example exports):
      hepatostat review examples searches/
      hepatostat review dedup searches/* --format json
      hepatostat review init project.duckdb searches/*
    """


@review_group.command("examples")
@click.argument("folder", type=OutputPath(folder=True))
@format_option
def examples_cmd(folder, fmt):
    """Copy the bundled example search exports (PubMed, Embase, Web of
    Science; written for hepatostat) into FOLDER.

    \b
    Example:
      hepatostat review examples searches/
    """
    import pandas as pd

    from .. import review as _review

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for src in _review.example_paths():
        dest = out / Path(str(src)).name
        shutil.copyfile(src, dest)
        written.append(str(dest))
    emit(fmt, obj={"files": written}, frame=pd.DataFrame({"file": written}),
         text="\n".join(written))


@review_group.command("records")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_database_option
@click.option("--out", type=OutputPath(suffixes=CSV), default=None, help="Write all records to this CSV file.")
@format_option
def records_cmd(files, databases, out, fmt):
    """Read search exports and count the records per file and database.

    Formats (sniffed from the content, else by suffix): RIS (.ris; Ovid,
    Embase, EBSCO, ProQuest, Scopus, Zotero, Mendeley, EndNote), PubMed
    MEDLINE (.nbib/.txt), BibTeX (.bib), EndNote XML (.xml), Web of Science
    plain text (.txt/.ciw) and tables (.csv/.tsv/.txt: PubMed, Scopus,
    Covidence, Rayyan, Zotero, EndNote or WoS tab-delimited). Encodings:
    UTF-8 (BOM or not), UTF-16, else Windows-1252. A record without a title
    is listed (file, line) and the rest imported.

    \b
    Example:
      hepatostat review records pubmed.nbib embase.ris wos.bib --out records.csv
    """
    import pandas as pd

    from .. import review as _review

    rs = _review.read_records(files, database=_databases(databases))
    if out:
        rs.to_frame().to_csv(out, index=False, lineterminator="\n")
    obj = rs.to_dict()
    obj.pop("records")
    emit(fmt, obj=obj, frame=pd.DataFrame([f.to_dict() for f in rs.files]), text=rs.summary())


@review_group.command("dedup")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_database_option
@click.option("--merge-threshold", type=click.FloatRange(0, 100), default=95.0, show_default=True,
              help="Title similarity (0-100) at or above which titles count as the same (3 points).")
@click.option("--review-threshold", type=click.FloatRange(0, 100), default=85.0, show_default=True,
              help="Title similarity below which a pair is neither merged nor listed as uncertain.")
@click.option("--prefer", default=None, metavar="DB1,DB2,...",
              help="Database preference order for the kept record (e.g. PubMed,Embase); default: the most "
                   "complete record.")
@click.option("--out", type=OutputPath(suffixes=CSV), default=None,
              help="Write one row per record (cluster, kept, duplicate_of, reason) to this CSV file.")
@format_option
def dedup_cmd(files, databases, merge_threshold, review_threshold, prefer, out, fmt):
    """Find duplicate records across search exports, with the evidence.

    Each candidate pair is compared on normalised DOI, PMID, title (database
    tags stripped), year, authors, journal, volume, issue, first page and
    abstract; a pair is merged only when no field vetoes it (different DOIs,
    PMIDs, first pages or volumes, years apart, abstract vs article) and its
    score reaches 8. A shared DOI alone never merges (supplement DOIs).
    Uncertain pairs are listed, not merged. JSON: records_in, unique,
    duplicates, clusters [{kept, members, reason, kept_because, evidence}],
    uncertain, per_file, kept_rule, candidate_pairs, skipped.

    \b
    Example:
      hepatostat review dedup pubmed.nbib embase.ris wos.bib --format json
      hepatostat review dedup *.ris --prefer PubMed,Embase --out dedup.csv
    """
    from .. import review as _review

    rs = _review.read_records(files, database=_databases(databases))
    order = tuple(p.strip() for p in prefer.split(",") if p.strip()) if prefer else ()
    res = _review.deduplicate(rs, merge_threshold=merge_threshold, review_threshold=review_threshold, prefer=order)
    if out:
        res.to_frame().to_csv(out, index=False, lineterminator="\n")
    emit(fmt, obj=res.to_dict(), frame=res.to_frame, text=res.summary)


@review_group.command("init")
@click.argument("project", type=OutputPath())
@click.argument("records", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_database_option
@click.option("--screeners", type=click.IntRange(min=2), default=2, show_default=True,
              help="Independent votes each record needs.")
@click.option("--merge-threshold", type=click.FloatRange(0, 100), default=95.0, show_default=True,
              help="De-duplication: title similarity for merging.")
@click.option("--review-threshold", type=click.FloatRange(0, 100), default=85.0, show_default=True,
              help="De-duplication: title similarity for listing a pair as uncertain.")
@click.option("--overwrite", is_flag=True, help="Replace an existing project file.")
@format_option
def init_cmd(project, records, databases, screeners, merge_threshold, review_threshold, overwrite, fmt):
    """Create a screening project (one DuckDB file) from search exports;
    duplicates are removed before screening.

    \b
    Example:
      hepatostat review init project.duckdb pubmed.nbib embase.ris wos.bib
    """
    from .. import review as _review

    p = _review.create_project(project, records, database=_databases(databases), merge_threshold=merge_threshold,
                               review_threshold=review_threshold, screeners_per_record=screeners, overwrite=overwrite)
    st = p.status()
    emit(fmt, obj=st.to_dict(), frame=st.to_frame(), text=st.summary())


@review_group.command("export")
@click.argument("project", type=click.Path(dir_okay=False, exists=True))
@_reviewer_option
@_stage_option
@click.option("--out", required=True, type=OutputPath(suffixes=SHEET), help="Screening sheet to write (.xlsx or .csv).")
@click.option("--order", type=click.Choice(["input", "relevance"]), default="input", show_default=True,
              help="relevance: undecided records most likely to be included first (TF-IDF + logistic regression "
                   "on settled decisions and this reviewer's own votes).")
@_user_option
@format_option
def export_cmd(project, reviewer, stage, out, order, user, fmt):
    """Write a reviewer's screening sheet (blinded: only this reviewer's own
    earlier decisions are shown).

    \b
    Example:
      hepatostat review export project.duckdb --reviewer YL --stage title_abstract --out yl.xlsx
    """
    import pandas as pd

    from .. import review as _review

    p = _review.open_project(project)
    _gate(p, user, reviewer=reviewer)
    path = p.export_sheet(reviewer, stage, out, order=order)
    obj = {"sheet": str(path), "reviewer": reviewer, "stage": stage}
    emit(fmt, obj=obj, frame=pd.DataFrame([obj]), text=f"wrote {path}")


@review_group.command("import")
@click.argument("project", type=click.Path(dir_okay=False, exists=True))
@click.argument("file", type=click.Path(dir_okay=False))
@_reviewer_option
@_stage_option
@click.option("--replace", is_flag=True, help="Allow changing decisions this reviewer recorded before (kept as new "
              "events; the earlier ones stay in the history). Not once every screener of the record has voted.")
@_user_option
@format_option
def import_cmd(project, file, reviewer, stage, replace, user, fmt):
    """Record a reviewer's decisions from a filled-in screening sheet.

    Decisions: include, exclude (full text also: not_retrieved); a full-text
    exclusion needs a reason. Empty decisions are skipped.

    \b
    Example:
      hepatostat review import project.duckdb yl.xlsx --reviewer YL --stage title_abstract
    """
    from .. import review as _review

    p = _review.open_project(project)
    _gate(p, user, reviewer=reviewer)
    rep = p.import_sheet(file, reviewer, stage, replace=replace)
    emit(fmt, obj=rep.to_dict(), frame=rep.to_frame(), text=rep.summary())


@review_group.command("conflicts")
@click.argument("project", type=click.Path(dir_okay=False, exists=True))
@_stage_option
@click.option("--out", type=OutputPath(suffixes=SHEET), default=None,
              help="Write a sheet for the third reviewer (.xlsx or .csv).")
@click.option("--all", "include_resolved", is_flag=True, help="Also list conflicts already resolved.")
@_user_option
@format_option
def conflicts_cmd(project, stage, out, include_resolved, user, fmt):
    """List disagreements between screeners (votes are shown only once all
    screeners of a record have voted).

    \b
    Example:
      hepatostat review conflicts project.duckdb --stage title_abstract --out conflicts.xlsx
    """
    from .. import review as _review

    p = _review.open_project(project)
    _gate(p, user, role="adjudicator")
    c = p.conflicts(stage, include_resolved=include_resolved)
    if out:
        p.export_conflicts(stage, out)
    cols = ["record_id", "conflict", "votes", "status", "resolved_by", "final", "title"]
    frame = c[cols]
    from ..io.format import fmt_n

    lines = [f"{fmt_n(len(c))} conflict(s) at {stage}" + (f"; sheet for the third reviewer: {out}" if out else "")]
    for r in frame.itertuples(index=False):
        lines.append(f"  {r.record_id}: {r.votes}" + (f" -> {r.final} ({r.resolved_by})" if r.resolved_by else "")
                     + f"  | {str(r.title)[:70]}")
    emit(fmt, obj={"stage": stage, "conflicts": frame.to_dict(orient="records")}, frame=frame, text="\n".join(lines))


@review_group.command("resolve")
@click.argument("project", type=click.Path(dir_okay=False, exists=True))
@click.argument("file", type=click.Path(dir_okay=False))
@_reviewer_option
@_stage_option
@click.option("--replace", is_flag=True, help="Allow changing this reviewer's earlier resolutions.")
@_user_option
@format_option
def resolve_cmd(project, file, reviewer, stage, replace, user, fmt):
    """Record the third reviewer's decisions on conflicts (from the sheet
    written by `review conflicts --out`). The third reviewer must not have
    screened the record.

    \b
    Example:
      hepatostat review resolve project.duckdb conflicts.xlsx --reviewer XW --stage title_abstract
    """
    from .. import review as _review

    p = _review.open_project(project)
    _gate(p, user, reviewer=reviewer, role="adjudicator")
    rep = p.resolve(file, reviewer, stage, replace=replace)
    emit(fmt, obj=rep.to_dict(), frame=rep.to_frame(), text=rep.summary())


@review_group.command("mark-duplicate")
@click.argument("project", type=click.Path(dir_okay=False, exists=True))
@click.argument("record")
@click.option("--of", "of", required=True, metavar="KEPT", help="The record it duplicates (kept).")
@format_option
def mark_duplicate_cmd(project, record, of, fmt):
    """Remove RECORD before screening as a duplicate of KEPT (a person's
    decision on an uncertain pair listed by `review status`/`review dedup`).

    \b
    Example:
      hepatostat review mark-duplicate project.duckdb example_embase.ris#6 --of example_pubmed.nbib#4
    """
    from .. import review as _review

    p = _review.open_project(project)
    p.mark_duplicate(record, of)
    st = p.status()
    emit(fmt, obj=st.to_dict(), frame=st.to_frame(), text=f"{record} marked as a duplicate of {of}\n" + st.summary())


@review_group.command("status")
@click.argument("project", type=click.Path(dir_okay=False, exists=True))
@format_option
def status_cmd(project, fmt):
    """Counts per stage (votes, agreed, conflicts, included, excluded) and
    Cohen's kappa for each pair of screeners.

    \b
    Example:
      hepatostat review status project.duckdb --format json
    """
    from .. import review as _review

    st = _review.open_project(project).status()
    emit(fmt, obj=st.to_dict(), frame=st.to_frame(), text=st.summary())


@review_group.command("history")
@click.argument("project", type=click.Path(dir_okay=False, exists=True))
@click.option("--record", default=None, metavar="ID", help="Only this record's events.")
@_user_option
@format_option
def history_cmd(project, record, user, fmt):
    """Every screening decision ever recorded (append-only events: who, when,
    what, from where), oldest first. Needs the owner role once the project
    has accounts.

    \b
    Example:
      HEPATOSTAT_USER=owner hepatostat review history project.duckdb --format csv
    """
    from .. import review as _review

    p = _review.open_project(project)
    _gate(p, user, role="owner")
    h = p.history(record)
    from ..io.format import table_text

    emit(fmt, obj={"events": h.to_dict(orient="records")}, frame=h,
         text=table_text(h) if len(h) else "no decisions yet")


@review_group.command("simulate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=0, show_default=True,
              help="Seed for the two starting records (one included, one excluded).")
@format_option
def simulate_cmd(file, seed, fmt):
    """Simulate prioritised screening of a labelled set with the workbench's
    model (TF-IDF + logistic regression, refitted after every decision).

    FILE: CSV (columns title, abstract, label_included 0/1) or RIS (with a
    label_included field, e.g. ``LB  - 1``). JSON: n_records, n_included,
    wss95, wss100, rrf10 (proportions), order (0-based rows in the order
    screened), seed, priors.

    \b
    Example:
      hepatostat review simulate labelled.csv --format json --seed 1
    """
    import pandas as pd

    from ..review.prioritise import read_labelled, simulate

    titles, abstracts, labels = read_labelled(file)
    res = simulate(titles, abstracts, labels, seed=seed)
    d = res.to_dict()
    emit(fmt, obj=d, frame=pd.DataFrame([{k: v for k, v in d.items() if k not in ("order", "notes", "priors")}]),
         text=res.summary())


@review_group.command("prisma")
@click.argument("source", required=False, type=click.Path(dir_okay=False))
@click.option("--liu2022", is_flag=True, help="Draw the study selection of Liu et al. 2022 (892 records ... 12 studies).")
@click.option("--plot", multiple=True, type=FigurePath(),
              help="Write the flow diagram (.png, .svg, .pdf; repeat for several; no suffix = PNG and SVG).")
@click.option("--title", default=None, help="Title above the diagram.")
@click.option("--allow-incomplete", is_flag=True,
              help="Project: show records without a final decision as awaiting, instead of an error.")
@format_option
def prisma_cmd(source, liu2022, plot, title, allow_incomplete, fmt):
    """PRISMA 2020 flow diagram from a screening project (.duckdb) or a CSV of
    counts (columns box,label,n), with its arithmetic checked.

    \b
    Examples:
      hepatostat review prisma project.duckdb --plot prisma.png --plot prisma.pdf
      hepatostat review prisma counts.csv --plot prisma.svg
      hepatostat review prisma --liu2022 --plot liu2022_prisma.png
    """
    from .. import review as _review

    if liu2022 == (source is not None):
        raise click.UsageError("give either SOURCE (a project .duckdb or a counts .csv) or --liu2022")
    if liu2022:
        flow = _review.liu2022_prisma()
    elif Path(source).suffix.lower() in (".duckdb", ".db"):
        flow = _review.open_project(source).prisma(allow_incomplete=allow_incomplete)
    elif Path(source).suffix.lower() == ".csv":
        flow = _review.prisma_flow(source)
    else:
        raise InputError("unknown source; give a screening project (.duckdb) or a CSV of counts (box,label,n)",
                         file=source)
    if plot:
        flow.plot(_paths(plot), title=title)
    emit(fmt, obj=flow.to_dict(), frame=flow.to_frame(), text=flow.summary())


@review_group.command("rob")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--tool", type=click.Choice(["rob1", "rob2"], case_sensitive=False), default=None,
              help="RoB 1 (7 domains; Low/Unclear/High) or RoB 2 (5 domains + overall; Low/Some concerns/High). "
                   "Default: from the columns.")
@click.option("--traffic-light", "traffic", multiple=True, type=FigurePath(),
              help="Write the traffic-light plot (.png, .svg, .pdf; repeatable).")
@click.option("--summary", "summary_plot", multiple=True, type=FigurePath(),
              help="Write the summary (stacked bar) plot (.png, .svg, .pdf; repeatable).")
@click.option("--weighted", is_flag=True, help="Summary plot weighted by the 'weight' column (meta-analysis weights).")
@format_option
def rob_cmd(file, tool, traffic, summary_plot, weighted, fmt):
    """Validate risk-of-bias judgements (one row per study, one column per
    domain) and draw robvis-style plots in Cochrane's colours.

    \b
    Example:
      hepatostat review rob rob.csv --tool rob1 --traffic-light rob_tl.png --summary rob_summary.png
    """
    from .. import review as _review

    a = _review.read_rob(file, tool=tool)
    if traffic:
        a.plot_traffic_light(_paths(traffic))
    if summary_plot:
        a.plot_summary(_paths(summary_plot), weighted=weighted)
    emit(fmt, obj=a.to_dict(), frame=a.to_frame(), text=a.summary())


@review_group.command("table1")
@click.option("--out", type=OutputPath(suffixes=(".docx", ".xlsx", ".csv")), default=None,
              help="Write the table (.docx, .xlsx or .csv).")
@format_option
def table1_cmd(out, fmt):
    """Characteristics of the 12 trials included by Liu et al. 2022 (Table 1,
    13 rows; CC BY 4.0), with moderator columns (disease_group, cell_source,
    cell_origin, route_group, injections).

    \b
    Example:
      hepatostat review table1 --out table1.docx
    """
    from .. import review as _review

    frame = _review.load_liu2022()
    if out:
        _review.write_table(None, out)
    summ = _review.summarize_characteristics(frame)
    from ..io.format import table_text

    text = table_text(frame[["study", "country", "disease_group", "cell_source", "route_group", "injections", "n_exp",
                             "n_con"]]) + "\n" + _review.LIU2022_CITATION
    emit(fmt, obj={"rows": frame.to_dict(orient="records"), "summary": summ, "citation": _review.LIU2022_CITATION},
         frame=frame, text=text)
