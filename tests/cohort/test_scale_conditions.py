"""Conditions compiled to SQL give exactly the in-memory truth and unknowns (Kleene logic as SQL NULL).

Random conditions (hypothesis) over a table with missing values of every kind: number, text,
true/false and date fields; DuckDB evaluates the compiled SQL, hepatostat.cohort.expr the same
condition in pandas, and both (truth, known) arrays must be identical.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hepatostat.cohort import parse_condition
from hepatostat.cohort.scale.criteria import condition_sql
from hepatostat.errors import InputError

FRAME = pd.DataFrame({
    "age": [15.0, 16.0, 40.0, 60.0, 61.0, np.nan, 33.5, 0.0],
    "diagnosis": ["cirrhosis", "liver_failure", "chb", None, "cirrhosis", "liver_failure", "", "x'y"],
    "liver_cancer": pd.array([False, True, False, None, False, True, None, True], dtype="boolean"),
    "birth_date": pd.to_datetime(["1950-01-01", "1960-01-01", "1970-06-15", None, "1990-01-01", "2000-01-01",
                                  "1960-01-01", None]),
})
KINDS = {"age": "number", "diagnosis": "text", "liver_cancer": "bool", "birth_date": "date"}


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    days = (FRAME["birth_date"] - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
    table = FRAME.assign(birth_date=days, liver_cancer=FRAME["liver_cancer"].astype(object))
    table["liver_cancer"] = table["liver_cancer"].where(table["liver_cancer"].notna(), None)
    c.register("frame_raw", table.reset_index())
    c.execute("CREATE TABLE frame AS SELECT index AS i, age, diagnosis, CAST(liver_cancer AS BOOLEAN) AS liver_cancer, "
              "birth_date FROM frame_raw")
    yield c
    c.close()


def _sql_truth(con, cond):
    sql = condition_sql(cond, KINDS)
    got = con.execute(f"SELECT i, {sql} AS v FROM frame ORDER BY i").df()["v"]
    known = got.notna().to_numpy()
    truth = got.fillna(False).astype(bool).to_numpy() & known
    return truth, known


ATOMS = st.sampled_from([
    "age > 30", "age <= 16", "age == 40", "age != 61", "age between 16 and 60", "age in [15, 40, 0]",
    "age not in [16]", "age is missing", "age is not missing", "age", "diagnosis == 'cirrhosis'",
    "diagnosis != 'chb'", "diagnosis in ['liver_failure', \"x'y\", '']", "diagnosis not in ['cirrhosis']",
    "diagnosis is missing", "liver_cancer", "liver_cancer == false", "liver_cancer != true", "liver_cancer in [1]",
    "liver_cancer is missing", "birth_date < '1965-01-01'", "birth_date >= '1960-01-01'",
    "birth_date between '1955-01-01' and '1980-12-31'", "birth_date == '1960-01-01'",
    "birth_date in ['1950-01-01', '2000-01-01']", "birth_date > '1969-12-31 12:00'", "age > 1e300",
])


def _combine(children):
    return st.one_of(
        st.tuples(children, st.sampled_from([" and ", " or "]), children).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
        children.map(lambda c: f"not ({c})"),
        st.lists(children, min_size=1, max_size=3).map(lambda cs: f"all({', '.join(cs)})"),
        st.lists(children, min_size=1, max_size=3).map(lambda cs: f"any({', '.join(cs)})"),
    )


CONDITIONS = st.recursive(ATOMS, _combine, max_leaves=8)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(CONDITIONS)
def test_sql_equals_the_in_memory_evaluation(con, text):
    cond = parse_condition(text)
    t, k = cond.evaluate(FRAME)
    st_, sk = _sql_truth(con, cond)
    assert sk.tolist() == k.tolist(), text
    assert st_.tolist() == t.tolist(), text


def test_every_atom_has_unknowns_or_both_answers(con):
    """The table exercises each atom: the comparison above is not vacuous."""
    seen = 0
    for text in ["age > 30", "diagnosis == 'cirrhosis'", "liver_cancer", "birth_date < '1965-01-01'"]:
        t, k = _sql_truth(con, parse_condition(text))
        assert t.any() and (~t & k).any() and (~k).any(), text
        seen += 1
    assert seen == 4


def test_a_condition_sql_cannot_evaluate_is_an_error():
    from hepatostat.cohort.expr import Compare

    with pytest.raises(InputError, match=r"cannot be evaluated in SQL: the number inf is not finite"):
        condition_sql(Compare("age", ">", float("inf")), KINDS)
