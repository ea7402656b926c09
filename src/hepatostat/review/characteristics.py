"""Characteristics of included studies: the review's Table 1, as data.

:func:`load_liu2022` returns Table 1 of Liu et al. (2022) — 12 randomized
controlled trials of mesenchymal stem cells in chronic liver disease, 13
rows because Suk 2016 randomized two MSC arms (one and two injections)
against one control group — with the published columns and, derived from
them for use as meta-analysis moderators (subgroups, meta-regression):

``disease_group``
    ``ACLF`` or ``Cirrhosis`` (decompensated or not), from *Liver disease*.
``cell_source`` / ``cell_origin``
    ``BM`` (bone marrow) or ``UC`` (umbilical cord); ``Autologous`` or
    ``Allogeneic``, from *Cell type*.
``route_group``
    ``Intravenous`` or ``Hepatic arterial``, from *Administration route*.
``injections``
    Number of injections (1-4), from *Times of treatment*;
    ``multiple_injections`` is ``injections > 1``.
``follow_up_value`` / ``follow_up_unit``
    *Follow-up time* split into number and unit (not converted).

``study`` is a unique label per row ("Suk 2016 (1 injection)"); ``trial``
names the trial ("Suk 2016"). ``adverse_event`` "NA" in the table (not
reported) is a missing value. Ages are the table's "median age".

Two things a user should know, both checked in the tests: counted per
trial, Table 1 has 7 cirrhosis and 5 ACLF trials while the review's text
says 6 and 6; and the text's 435 control patients count Suk 2016's shared
control group (18) twice, as the table's rows do.

Source: Liu Y, Dong Y, Wu X, Xu X, Niu J (2022). The assessment of
mesenchymal stem cells therapy in acute on chronic liver failure and chronic
liver disease: a systematic review and meta-analysis of randomized
controlled trials. Stem Cell Res Ther (2022).
doi:10.1186/s13287-022-02882-4. Table 1; licensed CC BY 4.0.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError

__all__ = ["LIU2022_CITATION", "MODERATORS", "load_liu2022", "summarize_characteristics", "write_table",
           "TABLE1_COLUMNS"]

LIU2022_CITATION = ("Liu Y, Dong Y, Wu X, Xu X, Niu J (2022). The assessment of mesenchymal stem cells therapy in "
                    "acute on chronic liver failure and chronic liver disease: a systematic review and meta-analysis "
                    "of randomized controlled trials. Stem Cell Res Ther (2022). doi:10.1186/s13287-022-02882-4. "
                    "Table 1 (CC BY 4.0).")

#: derived columns usable as moderators
MODERATORS = ("disease_group", "cell_source", "cell_origin", "route_group", "injections", "multiple_injections")

#: columns and headers of the published table, in its order
TABLE1_COLUMNS = {
    "year": "Year", "author": "Author", "ref": "Ref.", "country": "Country", "liver_disease": "Liver disease",
    "etiology": "Disease etiology", "cell_type": "Cell type", "dose": "Cell dosage",
    "injections_text": "Times of treatment", "route": "Administration route", "n_exp": "Patients, Exp",
    "n_con": "Patients, Con", "age_exp": "Median age, Exp", "age_con": "Median age, Con",
    "follow_up": "Follow-up time", "adverse_event": "Adverse event",
}


def load_liu2022() -> pd.DataFrame:
    """Table 1 of Liu et al. (2022) with derived moderator columns (see the
    module docstring)."""
    src = resources.files(__package__).joinpath("data/liu2022_table1.csv")
    with resources.as_file(src) as p:
        frame = pd.read_csv(p)
    frame["multiple_injections"] = frame["injections"] > 1
    frame.attrs["citation"] = LIU2022_CITATION
    return frame


def summarize_characteristics(frame: pd.DataFrame | None = None) -> dict[str, Any]:
    """Counts as a review's text reports them: per trial (rows sharing a
    ``trial`` count once) for country, disease, cell source and origin,
    route and injection schedule; patient totals summed over rows."""
    f = load_liu2022() if frame is None else frame
    need = {"trial", "year", "country", "disease_group", "cell_source", "cell_origin", "route_group", "injections",
            "n_exp", "n_con"}
    missing = sorted(need - set(f.columns))
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} in the characteristics table")
    per_trial = f.groupby("trial", sort=False)

    def count(col):
        return {str(k): int(v) for k, v in per_trial[col].first().value_counts().sort_index().items()}

    sched = per_trial["injections"].agg(lambda s: "single" if (s == 1).all() else
                                        ("multiple" if (s > 1).all() else "both"))
    out = {
        "trials": int(f["trial"].nunique()),
        "rows": int(len(f)),
        "years": [int(f["year"].min()), int(f["year"].max())],
        "country": count("country"),
        "disease_group": count("disease_group"),
        "cell_source": count("cell_source"),
        "cell_origin": count("cell_origin"),
        "route_group": count("route_group"),
        "injection_schedule": {str(k): int(v) for k, v in sched.value_counts().sort_index().items()},
        "patients_exp": int(f["n_exp"].sum()),
        "patients_con": int(f["n_con"].sum()),
        "patients": int(f["n_exp"].sum() + f["n_con"].sum()),
    }
    if "adverse_event" in f.columns:
        out["adverse_event"] = {str(k): int(v) for k, v in
                                per_trial["adverse_event"].first().fillna("not reported").value_counts().sort_index().items()}
    return out


def write_table(frame: pd.DataFrame | None, path, *, columns: dict[str, str] | None = None,
                title: str | None = None, note: str | None = None) -> Path:
    """Write a characteristics table as Word (``.docx``, landscape),
    Excel (``.xlsx``) or CSV (``.csv``).

    ``columns`` maps frame columns to printed headers (default: Table 1's
    published columns). The Liu 2022 table gets its citation as the note.
    """
    f = load_liu2022() if frame is None else frame
    cols = columns or {k: v for k, v in TABLE1_COLUMNS.items() if k in f.columns}
    missing = [c for c in cols if c not in f.columns]
    if missing:
        raise InputError(f"unknown column(s) {', '.join(missing)}; available: {', '.join(map(str, f.columns))}")
    out = f[list(cols)].rename(columns=cols)
    title = title or ("Table 1. Characteristics of the included randomized controlled trials" if frame is None else None)
    note = note or f.attrs.get("citation")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        out.to_csv(p, index=False, lineterminator="\n")
    elif suffix == ".xlsx":
        from ..io.xlsx import Sheet, write_workbook

        # the one Excel writer: numbers stored as numbers, text never a formula
        write_workbook(p, [Sheet("table", out, caption=title or "", notes=[note] if note else [])])
    elif suffix == ".docx":
        from ..io.docx import DocxDocument

        # the one Word writer: landscape when the table is wide, header rows repeat
        doc = DocxDocument()
        text = out.astype(object).where(out.notna(), "NA").map(str)
        doc.table(text, caption=title or "", notes=[note] if note else [])
        doc.save(p)
    else:
        raise InputError(f"unknown table format '{suffix or '(none)'}'; allowed: .docx, .xlsx, .csv", file=p)
    return p
