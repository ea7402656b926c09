"""Systematic-review workflow: import search records, remove duplicates,
screen in pairs, draw the PRISMA 2020 flow, assess risk of bias and tabulate
study characteristics.

>>> from hepatostat import review
>>> recs = review.read_records(review.example_paths())
>>> dd = review.deduplicate(recs)
>>> (dd.records_in, dd.duplicates, dd.unique)
(22, 9, 13)
>>> review.liu2022_prisma().screened
604

Modules: :mod:`.records` (RIS, PubMed MEDLINE, BibTeX, EndNote XML, CSV),
:mod:`.dedup`, :mod:`.screening` (DuckDB project, blinding, conflicts,
Cohen's kappa), :mod:`.prisma`, :mod:`.rob` (RoB 1 / RoB 2 and robvis-style
plots), :mod:`.characteristics` (Liu et al. 2022, Table 1).
"""

from __future__ import annotations

from importlib import resources

from .characteristics import LIU2022_CITATION, MODERATORS, load_liu2022, summarize_characteristics, write_table
from .dedup import (
    Cluster,
    PairEvidence,
    compare,
    DedupResult,
    UncertainPair,
    deduplicate,
    first_author_key,
    normalize_doi,
    normalize_pmid,
    normalize_title,
)
from .prisma import BOXES, PrismaFlow, liu2022_prisma, prisma_flow, prisma_from_project
from .records import (
    FORMATS,
    FileSummary,
    Record,
    RecordSet,
    SkippedRecord,
    detect_format,
    parse_records,
    read_records,
    sniff_format,
)
from .rob import COLOURS, TOOLS, RobAssessment, example_rob, read_rob
from .screening import (
    DECISIONS,
    STAGES,
    ImportReport,
    KappaResult,
    Project,
    ScreeningStatus,
    cohen_kappa,
    create_project,
    open_project,
    relevance_scores,
)

__all__ = [
    # records
    "FORMATS", "Record", "RecordSet", "FileSummary", "SkippedRecord", "read_records", "parse_records",
    "detect_format", "sniff_format",
    # dedup
    "deduplicate", "DedupResult", "Cluster", "UncertainPair", "PairEvidence", "compare", "normalize_doi", "normalize_pmid",
    "normalize_title", "first_author_key",
    # screening
    "STAGES", "DECISIONS", "create_project", "open_project", "Project", "ImportReport", "ScreeningStatus",
    "KappaResult", "cohen_kappa", "relevance_scores",
    # prisma
    "BOXES", "PrismaFlow", "prisma_flow", "prisma_from_project", "liu2022_prisma",
    # risk of bias
    "TOOLS", "COLOURS", "RobAssessment", "read_rob", "example_rob",
    # characteristics
    "load_liu2022", "summarize_characteristics", "write_table", "MODERATORS", "LIU2022_CITATION",
    # bundled examples
    "EXAMPLE_EXPORTS", "example_paths",
]

#: the bundled example search exports (written for hepatostat; see data/README.md)
EXAMPLE_EXPORTS = ("example_pubmed.nbib", "example_embase.ris", "example_wos.bib")


def example_paths() -> list:
    """Paths of the bundled example search exports (PubMed, Embase, Web of
    Science), in that order. They hold 22 records with 9 known duplicates and
    one uncertain pair (a conference abstract of a published trial)."""
    base = resources.files(__name__).joinpath("data")
    return [base.joinpath(name) for name in EXAMPLE_EXPORTS]
