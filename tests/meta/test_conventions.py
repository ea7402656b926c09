"""Named conventions (--convention): defaults filled in, explicit options win, shown in results.

metafor numbers from tests/reference/meta_core.json (meta_core.R): cochrane2025 on bcg must equal
rma(method = "REML", test = "knha"), revman5/stata rma(method = "DL"), metafor rma(method = "REML").
"""

from __future__ import annotations

import json

import pytest

from hepatostat.cli import main
from hepatostat.errors import InputError
from hepatostat.meta import effects, pool
from hepatostat.meta.conventions import CONVENTIONS, get_convention

from refdata import reference, reference_data, reference_path

RTOL = 1e-6  # DESIGN.md: agreement with metafor to 1e-6
FITS = reference("meta_core.json")["fits"]


def _ref(method, knha):
    return next(f for f in FITS if f["dataset"] == "bcg" and f["measure"] == "RR" and f["method"] == method
                and bool(f["knha"]) == knha)


@pytest.mark.parametrize("name,method,knha", [("metafor", "REML", False), ("cochrane2025", "REML", True),
                                              ("revman5", "DL", False), ("stata", "DL", False)])
def test_convention_gives_metafors_numbers_for_its_defaults(name, method, knha):
    es = effects(reference_data("bcg"), "RR")
    r = pool(es, convention=name)
    ref = _ref(method, knha)
    assert (r.method, r.knha, r.convention) == (method, knha, name)
    for key in ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2"):
        assert getattr(r, key) == pytest.approx(ref[key], rel=RTOL), key
    assert r.to_dict()["convention"] == name and f"Convention: {name}" in r.summary()


def test_explicit_options_win_over_the_convention():
    es = effects(reference_data("bcg"), "RR")
    r = pool(es, "DL", knha=False, convention="cochrane2025")
    assert (r.method, r.knha) == ("DL", False)
    # the text names what this analysis used, not only the convention's defaults
    line = next(ln for ln in r.summary().splitlines() if ln.startswith("Convention:"))
    assert line.startswith("Convention: cochrane2025: REML, Hartung-Knapp-Sidik-Jonkman CI")
    assert line.endswith("this analysis used DL with Wald (z) CI instead")
    same = next(ln for ln in pool(es, convention="cochrane2025").summary().splitlines()
                if ln.startswith("Convention:"))
    assert "this analysis used" not in same


def test_unknown_convention_is_an_input_error():
    with pytest.raises(InputError, match="unknown convention"):
        get_convention("spss")
    assert set(CONVENTIONS) == {"metafor", "cochrane2025", "revman5", "stata"}


def test_cli_convention_shown_in_json(capsys):
    status = main(["meta", "pool", str(reference_path("bcg")), "--measure", "RR", "--convention", "cochrane2025",
                   "--format", "json"])
    d = json.loads(capsys.readouterr().out)
    assert status == 0 and d["convention"] == "cochrane2025" and d["method"] == "REML" and d["test"] == "knha"
    status = main(["meta", "loo", str(reference_path("bcg")), "--measure", "RR", "--convention", "revman5",
                   "--format", "json"])
    d = json.loads(capsys.readouterr().out)
    assert status == 0 and d["convention"] == "revman5" and d["method"] == "DL"
