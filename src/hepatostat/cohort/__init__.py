"""Cohort engine: patient data in, analysis-ready visit tables out.

>>> from hepatostat import cohort
>>> data = cohort.read_cohort("cohort_folder/")                  # doctest: +SKIP
>>> spec = cohort.load_criteria("seed_jia2020")                  # doctest: +SKIP
>>> res = cohort.build_cohort(data, spec)                        # doctest: +SKIP
>>> print(res.summary()); res.plot("flow")                       # doctest: +SKIP
>>> res.visits.to_frame("wide")                                  # doctest: +SKIP

Modules: :mod:`~hepatostat.cohort.schema` (the data model, import
validation, the wide sheet), :mod:`~hepatostat.cohort.sources` (files,
DuckDB, OMOP), :mod:`~hepatostat.cohort.expr` (the condition language),
:mod:`~hepatostat.cohort.eligibility` (criteria, attrition, groups),
:mod:`~hepatostat.cohort.visits` (windows, baseline, scores, declines),
:mod:`~hepatostat.cohort.flow` (the flow diagram),
:mod:`~hepatostat.cohort.build` (the pipeline),
:mod:`~hepatostat.cohort.describe` (Table 1 / Table 2 and the elementary tests),
:mod:`~hepatostat.cohort.longitudinal` (changes over time, Table 3),
:mod:`~hepatostat.cohort.models` (mixed model, ANCOVA, IPW, Hodges-Lehmann),
:mod:`~hepatostat.cohort.plots` (Figures 1-3) and
:mod:`~hepatostat.cohort.tables_out` (CSV, JSON, Word, Excel).
"""

from . import describe, longitudinal, models, plots, tables_out
from .build import CohortBuild, build_cohort
from .describe import (
    Table1Result,
    Table1Row,
    Table2Result,
    TestResult,
    anova,
    chi_square,
    fisher_exact,
    format_p,
    kruskal_wallis,
    mann_whitney,
    quantile,
    quartile_type,
    shapiro_wilk,
    signed_rank,
    standardized_difference,
    standardized_difference_categorical,
    student_t,
    table1,
    table2,
    welch_anova,
    welch_t,
)
from .eligibility import (
    DERIVED_FIELDS,
    Attrition,
    CohortSpec,
    Criterion,
    GroupDef,
    VisitSpec,
    VisitWindow,
    bundled_criteria,
    eligibility,
    load_criteria,
    parse_criteria,
    person_fields,
)
from .expr import Condition, parse_condition
from .flow import flow_diagram
from .longitudinal import changes, friedman_test, over_time, patient_declines
from .models import adjust_pvalues, ancova, hodges_lehmann, ipw, mixed_model
from .plots import plot_balance, plot_declines, plot_over_time
from .tables_out import write_table
from .schema import EXCLUSION_COLUMNS, CohortData, cohort_data, wide_to_long
from .sources import read_cohort, read_omop, write_cohort
from .visits import VISIT_SQL, VisitTable, extract_visits, visit_tables

__all__ = [
    "adjust_pvalues",
    "ancova",
    "changes",
    "friedman_test",
    "hodges_lehmann",
    "ipw",
    "longitudinal",
    "mixed_model",
    "models",
    "over_time",
    "patient_declines",
    "plot_balance",
    "plot_declines",
    "plot_over_time",
    "plots",
    "tables_out",
    "write_table",
    "Attrition",
    "CohortBuild",
    "CohortData",
    "CohortSpec",
    "Condition",
    "Criterion",
    "DERIVED_FIELDS",
    "EXCLUSION_COLUMNS",
    "GroupDef",
    "VISIT_SQL",
    "VisitSpec",
    "VisitTable",
    "VisitWindow",
    "build_cohort",
    "bundled_criteria",
    "cohort_data",
    "eligibility",
    "extract_visits",
    "flow_diagram",
    "load_criteria",
    "parse_condition",
    "parse_criteria",
    "person_fields",
    "read_cohort",
    "read_omop",
    "visit_tables",
    "wide_to_long",
    "write_cohort",
    # describe (Table 1 / Table 2)
    "describe",
    "Table1Result",
    "Table1Row",
    "Table2Result",
    "TestResult",
    "anova",
    "chi_square",
    "fisher_exact",
    "format_p",
    "kruskal_wallis",
    "mann_whitney",
    "quantile",
    "quartile_type",
    "shapiro_wilk",
    "signed_rank",
    "standardized_difference",
    "standardized_difference_categorical",
    "student_t",
    "table1",
    "table2",
    "welch_anova",
    "welch_t",
]
