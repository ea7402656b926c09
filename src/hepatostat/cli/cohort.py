"""``hepatostat cohort …``: patient data to attrition, flow diagram and visit tables."""

from __future__ import annotations

import click

from ..errors import InputError
from .common import OutputPath, emit, format_option


@click.group(name="cohort")
def cohort_group():
    """Patient cohorts: import, eligibility and attrition, groups, visits.

    A cohort is three tables - persons, treatments (infusions) and labs -
    in a folder (CSV, Excel, SPSS .sav, Stata .dta, Parquet), one Excel
    workbook, or a DuckDB file with OMOP CDM tables (person, drug_exposure,
    measurement). See docs/cohort-data.md.
    """


@cohort_group.command("build")
@click.argument("source", type=click.Path(exists=False))
@click.option("--criteria", "criteria", required=True, metavar="FILE|NAME",
              help="Criteria file (.toml; .yaml with PyYAML) or a bundled set, e.g. seed_jia2020.")
@click.option("--out", "out_dir", type=OutputPath(folder=True), default="cohort_out", show_default=True,
              help="Folder for attrition.csv, flow.png/.svg, visits_long.csv, visits_wide.csv, persons.csv, exclusions.csv.")
@click.option("--schema", default=None, help="Schema of the OMOP tables in a DuckDB file (e.g. cdm).")
@click.option("--units", "units_file", type=click.Path(dir_okay=False), default=None,
              help="Table with columns column (or test) and unit: units of a wide lab sheet's columns, and the unit "
                   "of every lab test hepatostat does not know (ALP, platelets, cholesterol...), which then passes "
                   "through in that unit.")
@click.option("--ignore", default=None, metavar="A,B",
              help="Columns of a wide lab sheet that are not lab tests (notes, ward, ...).")
@click.option("--pt-to-inr", "pt_to_inr", default=None, metavar="ISI,MNPT",
              help="Derive INR from prothrombin time in seconds: INR = (PT/MNPT)^ISI (WHO), with the reagent's ISI "
                   "and the laboratory's mean normal PT in seconds. PTA (%) is never converted.")
@click.option("--unknown-tests", type=click.Choice(["error", "log"]), default="error", show_default=True,
              help="Lab tests hepatostat does not know: stop with an error, or list them in the exclusion log.")
@format_option
def build_cmd(source, criteria, out_dir, schema, units_file, ignore, pt_to_inr, unknown_tests, fmt):
    """Eligibility, attrition, groups and visit tables from patient data.

    Writes the attrition table, the CONSORT-style flow diagram, the visit
    tables (long: one row per person, outcome and visit; wide: one row per
    person) and the exclusion log into --out, and prints the attrition.

    \b
    Example:
      hepatostat cohort synthetic --out demo_data
      hepatostat cohort build demo_data --criteria seed_jia2020 --out demo_build
      hepatostat cohort build cohort.duckdb --schema cdm --criteria my_study.toml --format json
      hepatostat cohort build pbc_folder --criteria pbc.toml --units lab_units.csv --ignore comment --pt-to-inr 1.0,12.0
    """
    from .. import cohort as _cohort
    from ..io import read_table

    spec = _cohort.load_criteria(criteria)
    units = read_table(units_file) if units_file else None
    ign = [c.strip() for c in ignore.split(",") if c.strip()] if ignore else ()
    pt = None
    if pt_to_inr:
        bits = [b.strip() for b in pt_to_inr.split(",")]
        try:
            pt = tuple(float(b) for b in bits)
        except ValueError:
            pt = ()
        if len(pt) != 2:
            raise InputError("--pt-to-inr takes ISI,MNPT: two numbers, e.g. 1.0,12.0", value=pt_to_inr)
    data = _cohort.read_cohort(source, schema=schema, units=units, unknown_tests=unknown_tests, ignore=ign,
                               pt_to_inr=pt)
    res = _cohort.build_cohort(data, spec)
    written = res.write(out_dir)
    obj = res.to_dict()
    obj["files"] = written
    text = res.summary() + "\n\nWritten:\n" + "\n".join(f"  {p}" for p in written)
    if data.read_notes:  # issue 14: which files were read, appended or left out was said nowhere
        obj.setdefault("read_notes", list(data.read_notes))
        text += "\n\nRead:\n" + "\n".join(f"  {n}" for n in data.read_notes)
    emit(fmt, obj=obj, frame=res.to_frame(), text=text)


@cohort_group.command("synthetic")
@click.option("--out", "out_dir", type=OutputPath(folder=True), required=True,
              help="Folder to write the SYNTHETIC persons, treatments and labs tables into.")
@click.option("--seed", type=int, default=None, help="Random seed (default: the seed of the shipped files).")
@click.option("--file-format", type=click.Choice(["parquet", "csv", "xlsx"]), default="parquet", show_default=True,
              help="Format of the written tables.")
@format_option
def synthetic_cmd(out_dir, seed, file_format, fmt):
    """Write the SYNTHETIC cohort in the design of Jia et al. 2020 (not real patients).

    513 persons screened, 123 eligible in groups A-D of 37, 27, 28 and 31,
    with baseline labs after the paper's Table 1 and follow-up at weeks 1,
    4, 12 and 24, including censored, missing and implausible lab entries.

    \b
    Example:
      hepatostat cohort synthetic --out demo_data
      hepatostat cohort synthetic --out demo_csv --file-format csv --seed 7
    """
    from ..datasets import synthetic_cohort

    used = synthetic_cohort.DEFAULT_SEED if seed is None else seed
    written = synthetic_cohort.write(out_dir, seed=used, file_format=file_format)
    design = synthetic_cohort.DESIGN
    obj = {"synthetic": True, "seed": used, "files": written, "n_screened": design["n_screened"],
           "n_analysed": design["n_analysed"], "groups": design["groups"]}
    import pandas as pd

    frame = pd.DataFrame({"file": written})
    from ..io.format import fmt_n

    text = (f"SYNTHETIC cohort (seed {used}; not real patients): {fmt_n(design['n_screened'])} screened, "
            f"{fmt_n(design['n_analysed'])} eligible, groups "
            + ", ".join(f"{k} {fmt_n(v)}" for k, v in design["groups"].items())
            + "\n" + "\n".join(f"  {p}" for p in written))
    emit(fmt, obj=obj, frame=frame, text=text)


def _attach_statistics():
    from .cohort_stats import changes_cmd, overtime_cmd, table1_cmd, table2_cmd

    for cmd in (table1_cmd, table2_cmd, changes_cmd, overtime_cmd):
        cohort_group.add_command(cmd)


_attach_statistics()
