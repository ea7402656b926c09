"""The condition language: grammar, three-valued logic, types, and what it refuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepatostat.cohort import parse_condition
from hepatostat.errors import InputError

FRAME = pd.DataFrame({
    "age": [15.0, 16.0, 40.0, 60.0, 61.0, np.nan],
    "diagnosis": ["cirrhosis", "liver_failure", "chb", None, "cirrhosis", "liver_failure"],
    "liver_cancer": pd.array([False, True, False, None, False, False], dtype="boolean"),
    "birth_date": pd.to_datetime(["1950-01-01", "1960-01-01", "1970-01-01", None, "1990-01-01", "2000-01-01"]),
})


def ev(text):
    t, k = parse_condition(text).evaluate(FRAME)
    return t.tolist(), k.tolist()


def test_between_is_inclusive_and_missing_is_unknown():
    t, k = ev("age between 16 and 60")
    assert t == [False, True, True, True, False, False]
    assert k == [True, True, True, True, True, False]


def test_comparisons_in_and_flags():
    assert ev("age >= 60")[0] == [False, False, False, True, True, False]
    assert ev("diagnosis in ['liver_failure', 'cirrhosis']")[0] == [True, True, False, False, True, True]
    assert ev("diagnosis not in ['chb']")[0] == [True, True, False, False, True, True]
    assert ev("liver_cancer")[0] == [False, True, False, False, False, False]
    assert ev("liver_cancer == false")[0] == [True, False, True, False, True, True]
    assert ev("liver_cancer is missing")[0] == [False, False, False, True, False, False]
    assert ev("birth_date < '1965-01-01'")[0] == [True, True, False, False, False, False]


def test_kleene_logic():
    # row 5: age unknown; "unknown and false" is false (known), "unknown or true" is true
    t, k = ev("age > 30 and diagnosis == 'cirrhosis'")
    assert (t[5], k[5]) == (False, True)
    t, k = ev("age > 30 or diagnosis == 'liver_failure'")
    assert (t[5], k[5]) == (True, True)
    t, k = ev("not (age > 30)")
    assert k[5] is False
    assert ev("all(age > 20, not liver_cancer)")[0] == [False, False, True, False, True, False]
    assert ev("any(age < 16, age > 60)")[0] == [True, False, False, False, True, False]


def test_structured_forms_equal_text():
    a = parse_condition({"field": "age", "op": "between", "value": [16, 60]})
    b = parse_condition({"all": ["age >= 16", {"field": "age", "op": "<=", "value": 60}]})
    c = parse_condition("age between 16 and 60")
    for x in (a, b):
        assert x.evaluate(FRAME)[0].tolist() == c.evaluate(FRAME)[0].tolist()
    assert str(c) == "age between 16 and 60"
    assert parse_condition(["age > 1", "liver_cancer"]).fields == {"age", "liver_cancer"}


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('ls')",
        "age.__class__",
        "exec('x = 1')",
        "open('/etc/passwd')",
        "lambda: 1",
        "age > 1; import os",
        "age = 16",
        "age > ",
        "",
        "(age > 1",
        "age between 60 and 16",
        "age > 1 age",
        "[1, 2]",
    ],
)
def test_unsafe_or_malformed_expressions_are_refused(text):
    with pytest.raises(InputError, match="cannot parse condition|not allowed|lower bound|empty"):
        parse_condition(text)


def test_dunder_names_are_refused_with_a_clear_message():
    with pytest.raises(InputError, match="names starting with '_' are not allowed"):
        parse_condition("__import__")
    with pytest.raises(InputError, match="function calls are not allowed"):
        parse_condition("eval('1')")


def test_type_errors_name_the_field():
    with pytest.raises(InputError, match="'age' is numeric") as e:
        parse_condition("age == 'old'").evaluate(FRAME)
    assert e.value.field == "age"
    with pytest.raises(InputError, match="'diagnosis' is text; only ==, != and in"):
        parse_condition("diagnosis > 'a'").evaluate(FRAME)
    with pytest.raises(InputError, match="'diagnosis' is text, not true/false"):
        parse_condition("diagnosis").evaluate(FRAME)
    with pytest.raises(InputError, match="unknown field 'weight'"):
        parse_condition("weight > 50").evaluate(FRAME)


def test_structured_form_refuses_unknown_operators_and_names():
    with pytest.raises(InputError, match="op 'like' is not allowed"):
        parse_condition({"field": "age", "op": "like", "value": 1})
    with pytest.raises(InputError, match="field must be a name"):
        parse_condition({"field": "__class__", "op": "==", "value": 1})
    with pytest.raises(InputError, match="cannot read condition"):
        parse_condition({"python": "1"})
