"""A SYNTHETIC messy hospital export shaped like the Mayo Clinic PBC visit data.

Not real patients: values are drawn from a fixed seed with ranges like those of
the Mayo PBC trial (Fleming & Harrington 1991, Counting Processes and Survival
Analysis, appendix D; R survival::pbcseq). Shape as a hospital system exports
it: one row per visit, ``person_id``, semicolon separator, decimal commas,
Windows-1252 text, a blank line, study day of each visit (irregular), and
codes for treatment (1 = D-penicillamine, 2 = placebo).

``python tests/cohort/pbc_like.py`` rewrites tests/cohort/data/pbc_like_visits.csv.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PATH = Path(__file__).with_name("data") / "pbc_like_visits.csv"
HEADER = ["person_id", "trt", "sex", "age", "day", "bili", "chol", "albumin", "alk_phos", "ast", "platelet",
          "protime", "stage", "edema", "comment"]


def rows(seed: int = 1991, n_patients: int = 40):
    rng = np.random.default_rng(seed)
    out = []
    for pid in range(1, n_patients + 1):
        trt = 1 + (pid % 2)
        sex = "f" if rng.uniform() < 0.88 else "m"
        age = round(float(rng.uniform(30, 75)), 1)
        stage = int(rng.choice([1, 2, 3, 4], p=[0.05, 0.22, 0.38, 0.35]))
        n_visits = int(rng.integers(2, 7))
        days = [0] + sorted(int(d) for d in rng.choice(np.arange(150, 4000), n_visits - 1, replace=False))
        bili0 = float(np.exp(rng.normal(0.4, 1.0)))
        for v, day in enumerate(days):
            bili = round(bili0 * float(np.exp(rng.normal(0.08 * v, 0.2))), 1)
            out.append([
                pid, trt, sex, age, day, bili,
                int(rng.normal(350, 120)) if rng.uniform() > 0.1 else "",
                round(float(rng.normal(3.5, 0.4)), 2),
                round(float(np.exp(rng.normal(7.3, 0.7))), 1),
                round(float(np.exp(rng.normal(4.7, 0.4))), 2),
                int(rng.normal(260, 90)),
                round(float(rng.normal(10.7, 0.9)), 1),
                stage,
                float(rng.choice([0.0, 0.5, 1.0], p=[0.85, 0.1, 0.05])),
                "contrôle" if v == 0 else "",
            ])
    return out


def _cell(v):
    if isinstance(v, float):
        return f"{v:g}".replace(".", ",")
    return str(v)


def write(path: Path = PATH) -> Path:
    lines = [";".join(HEADER)]
    for i, r in enumerate(rows()):
        lines.append(";".join(_cell(v) for v in r))
        if i == 3:
            lines.append("")  # a blank line, as hand-edited exports have
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


if __name__ == "__main__":
    print(write())
