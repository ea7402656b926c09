"""SYNTHETIC extraction data in the shape of the MSC review (Liu et al. 2022).

The review's per-trial numbers were read off figures that its text
conversion does not carry, so the demo uses a *synthetic* data set of the
same shape: 10 invented trials ("Synthetic trial 01" ...) of mesenchymal
stem cell therapy against standard care, with arm-level mean, SD and n for
MELD, albumin (ALB) and total bilirubin (TBIL) at baseline and weeks 4, 12
and 24, survival counts at weeks 12 and 24, and trial characteristics as
moderators (disease, cell source, route, injections). The numbers are drawn
from a seeded random model; they describe no real patients or trials.

``generate()`` rebuilds the bundled file
``datasets/data/synthetic_msc_trials_long.csv`` exactly (same seed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["generate", "SEED"]

SEED = 20220516

#: outcome -> (control mean at baseline, SD, true SMD of MSC vs control by week, SD scale by week)
_OUTCOMES = {
    "MELD": (21.0, 5.0, {"baseline": 0.0, "W4": -0.30, "W12": -0.40, "W24": -0.55}),
    "ALB": (30.0, 4.5, {"baseline": 0.0, "W4": 0.55, "W12": 0.60, "W24": 0.75}),
    "TBIL": (180.0, 90.0, {"baseline": 0.0, "W4": -0.15, "W12": -0.25, "W24": -0.35}),
}
_WEEKS = ("baseline", "W4", "W12", "W24")


def generate(seed: int = SEED) -> pd.DataFrame:
    """The synthetic long extraction table (one row per trial × outcome × week)."""
    rng = np.random.default_rng(seed)
    k = 10
    trials = pd.DataFrame({
        "study": [f"Synthetic trial {i + 1:02d}" for i in range(k)],
        "disease": rng.choice(["ACLF", "cirrhosis"], size=k, p=[0.5, 0.5]),
        "cell_source": rng.choice(["BM", "UC"], size=k, p=[0.6, 0.4]),
        "route": rng.choice(["intravenous", "hepatic artery"], size=k, p=[0.6, 0.4]),
        "injections": rng.choice(["single", "multiple"], size=k, p=[0.5, 0.5]),
        "n1": rng.integers(15, 60, size=k),
        "n2": rng.integers(15, 60, size=k),
    })
    # trial-level heterogeneity in the true effects; one trial ("03") is an outlier at W24
    u = rng.normal(0, 0.25, size=k)
    rows = []
    for _, t in trials.iterrows():
        i = int(t["study"][-2:]) - 1
        for outcome, (mu, sd, effects) in _OUTCOMES.items():
            # a trial reports 3 of the 4 weeks on average
            for week in _WEEKS:
                if week != "baseline" and rng.random() < 0.2:
                    continue
                delta = effects[week] + (u[i] if week != "baseline" else 0.0)
                if outcome == "MELD" and week == "W24" and i == 2:
                    delta -= 1.4
                s1 = sd * rng.uniform(0.8, 1.2)
                s2 = sd * rng.uniform(0.8, 1.2)
                n1, n2 = int(t["n1"]), int(t["n2"])
                m2 = mu * (1 + (0.02 if week == "baseline" else -0.05 * _WEEKS.index(week))) + rng.normal(0, sd / np.sqrt(n2))
                m1 = m2 + delta * np.sqrt((s1**2 + s2**2) / 2) + rng.normal(0, sd / np.sqrt(n1))
                rows.append({"study": t["study"], "outcome": outcome, "timepoint": week, "measure": "SMD",
                             "m1": round(m1, 1), "sd1": round(s1, 1), "n1": n1,
                             "m2": round(m2, 1), "sd2": round(s2, 1), "n2": n2,
                             "e1": None, "e2": None})
        for week, p_ctrl in (("W12", 0.78), ("W24", 0.66)):
            n1, n2 = int(t["n1"]), int(t["n2"])
            e1 = rng.binomial(n1, min(0.97, p_ctrl + 0.06))
            e2 = rng.binomial(n2, p_ctrl)
            rows.append({"study": t["study"], "outcome": "survival", "timepoint": week, "measure": "OR",
                         "m1": None, "sd1": None, "n1": n1, "m2": None, "sd2": None, "n2": n2, "e1": e1, "e2": e2})
    long = pd.DataFrame(rows).merge(trials.drop(columns=["n1", "n2"]), on="study")
    long["synthetic"] = True
    return long
