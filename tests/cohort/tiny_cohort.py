"""A hand-made cohort of 7 persons whose answers are worked out by hand.

First infusion of every treated person: 2015-01-10 (day 0), weekly.

P1  liver failure, 8 infusions (course 8 weeks -> group A). Bilirubin (mg/dL):
    day -20: 10 (outside the 14-day look-back), day -3: 12, day -1: 11 (baseline = last = 11),
    day 5: 9 and day 9: 8 (W1, both 2 days from day 7 -> the earlier: 9),
    day 27: 6 and day 30: 5 (W4, closest to 28: 6), nothing in W12 (missing),
    day 170: 2 (W24). ALT "<5" U/L at day 170 (censored).
    Declines: W0-W1 11-9 = 2, W1-W4 9-6 = 3, W4-W12 and W12-W24 missing;
    cumulative W1 2, W4 5, W12 missing, W24 9.
P2  cirrhosis, 4 infusions (group D). SI units at day 0: bilirubin 171 µmol/L (= 10 mg/dL),
    creatinine 176.8 µmol/L (= 2 mg/dL), INR 1.5, sodium 130 -> MELD 26
    (3.78 ln 10 + 11.2 ln 1.5 + 9.57 ln 2 + 6.43 = 26.31). W1: two bilirubin results on day 7,
    342 then 171 µmol/L -> the first in the file (20 mg/dL).
P3  cirrhosis, 4 infusions (group D). The same labs as P2 in conventional units -> MELD 26.
P4  cirrhosis, 4 infusions: bilirubin only at day -20 and day 7 -> no baseline (excluded).
P5  liver failure, age 65 at the first infusion -> fails "age between 16 and 60".
P6  liver failure, no infusion -> excluded at the data step.
P7  cirrhosis, HBsAg duration missing -> inclusion unknown -> excluded (missing: hbsag_months).
"""

from __future__ import annotations

import pandas as pd

DAY0 = pd.Timestamp("2015-01-10")

TINY_CRITERIA = {
    "name": "tiny",
    "inclusion": [
        {"id": "hbsag", "label": "HBsAg > 6 months", "when": "hbsag_months > 6"},
        {"id": "dx", "label": "Liver failure or cirrhosis", "when": "diagnosis in ['liver_failure', 'cirrhosis']"},
        {"id": "age", "label": "Age 16-60", "when": "age between 16 and 60"},
    ],
    "exclusion": [{"id": "cancer", "label": "Liver cancer", "when": "liver_cancer"}],
    "group": [
        {"id": "A", "label": "LF > 4 w", "when": "diagnosis == 'liver_failure' and course_weeks > 4"},
        {"id": "B", "label": "LF <= 4 w", "when": "diagnosis == 'liver_failure' and course_weeks <= 4"},
        {"id": "C", "label": "LC > 4 w", "when": "diagnosis == 'cirrhosis' and course_weeks > 4"},
        {"id": "D", "label": "LC <= 4 w", "when": "diagnosis == 'cirrhosis' and course_weeks <= 4"},
    ],
    "visits": {
        "outcomes": ["bilirubin", "alt", "inr", "creatinine", "sodium", "meld", "meld_na"],
        "require_baseline": ["bilirubin"],
    },
}


def _d(day: int) -> str:
    return (DAY0 + pd.Timedelta(days=day)).date().isoformat()


def tiny_tables() -> dict[str, pd.DataFrame]:
    persons = pd.DataFrame({
        "person_id": ["P1", "P2", "P3", "P4", "P5", "P6", "P7"],
        "sex": ["M", "F", "male", "M", "F", "M", "M"],
        "birth_date": ["1975-06-01", "1970-01-10", "1970-01-10", "1980-03-03", "1949-12-01", "1960-01-01", "1965-05-05"],
        "diagnosis": ["Liver failure", "cirrhosis", "Cirrhosis", "cirrhosis", "liver-failure", "liver_failure", "cirrhosis"],
        "hbsag_months": [24, 60, 60, 12, 36, 48, None],
        "liver_cancer": ["no", "no", "no", "no", "no", "no", "no"],
    })
    tr = []
    for pid, k in (("P1", 8), ("P2", 4), ("P3", 4), ("P4", 4), ("P5", 4), ("P7", 4)):
        tr += [(pid, _d(7 * j), 1.0) for j in range(k)]
    treatments = pd.DataFrame(tr, columns=["person_id", "date", "dose"])
    labs = [
        ("P1", -20, "TBIL", "10", "mg/dL"),
        ("P1", -3, "TBIL", "12", "mg/dL"),
        ("P1", -1, "TBIL", "11", "mg/dL"),
        ("P1", 5, "TBIL", "9", "mg/dL"),
        ("P1", 9, "TBIL", "8", "mg/dL"),
        ("P1", 27, "TBIL", "6", "mg/dL"),
        ("P1", 30, "TBIL", "5", "mg/dL"),
        ("P1", 170, "TBIL", "2", "mg/dL"),
        ("P1", 170, "ALT", "<5", "U/L"),
        ("P2", 0, "TBIL", "171", "µmol/L"),
        ("P2", 0, "CREA", "176.8", "umol/L"),
        ("P2", 0, "INR", "1.5", ""),
        ("P2", 0, "Na", "130", "mmol/L"),
        ("P2", 7, "TBIL", "342", "µmol/L"),
        ("P2", 7, "TBIL", "171", "µmol/L"),
        ("P3", 0, "bilirubin", "10", "mg/dL"),
        ("P3", 0, "creatinine", "2", "mg/dL"),
        ("P3", 0, "6301-6", "1.5", "ratio"),
        ("P3", 0, "sodium", "130", "mEq/L"),
        ("P4", -20, "TBIL", "5", "mg/dL"),
        ("P4", 7, "TBIL", "4", "mg/dL"),
        ("P5", 0, "TBIL", "3", "mg/dL"),
        ("P7", 0, "TBIL", "3", "mg/dL"),
    ]
    labs = pd.DataFrame([(p, _d(d), t, v, u) for p, d, t, v, u in labs],
                        columns=["person_id", "date", "test", "value", "unit"])
    return {"persons": persons, "treatments": treatments, "labs": labs}


def tiny_data():
    from hepatostat.cohort import cohort_data

    t = tiny_tables()
    return cohort_data(t["persons"], t["treatments"], t["labs"], source="tiny")


def tiny_spec():
    from hepatostat.cohort import parse_criteria

    return parse_criteria(TINY_CRITERIA, source="tiny")
