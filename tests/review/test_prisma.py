"""PRISMA 2020 flow: arithmetic checks, the review's own numbers, the figure."""

from __future__ import annotations

import pandas as pd
import pytest

from hepatostat import review
from hepatostat.errors import InputError

COUNTS = {"databases": {"PubMed": 300, "Embase": 400}, "registers": {"ClinicalTrials.gov": 20},
          "duplicates_removed": 200, "automation_removed": 10, "screened": 510,
          "excluded": {"animal studies": 300, "reviews": 120}, "sought": 90, "not_retrieved": 5,
          "reports_excluded": {"not an RCT": 60, "no control group": 13}, "studies_included": 10,
          "reports_included": 12}


def test_liu2022_numbers():
    # Liu et al. 2022, Results, "Search results": 892 identified, 288 duplicates, 176 + 8 + 67 + 81 excluded by
    # type and 238 after titles/abstracts, 34 further reviewed, 22 not included, 12 included.
    f = review.liu2022_prisma()
    assert (f.identified, f.duplicates_removed, f.screened) == (892, 288, 604)
    assert f.excluded == 570 == 176 + 8 + 67 + 81 + 238
    assert dict(f.excluded_reasons)["Meeting abstracts"] == 81
    assert (f.sought, f.not_retrieved, f.assessed, f.reports_excluded) == (34, 0, 34, 22)
    assert (f.studies_included, f.reports_included) == (12, 12)
    assert any("not reported" in n for n in f.notes)


def test_full_counts_check_and_derive():
    f = review.prisma_flow(COUNTS)
    assert (f.identified, f.assessed, f.excluded, f.reports_excluded) == (720, 85, 420, 73)
    d = {k: v for k, v in COUNTS.items() if k not in ("screened", "sought")}
    g = review.prisma_flow(d)
    assert (g.screened, g.sought) == (510, 90)
    assert g.to_dict()["excluded_reasons"] == {"animal studies": 300, "reviews": 120}


@pytest.mark.parametrize("change, box", [
    ({"screened": 511}, "Records screened"),
    ({"sought": 91}, "Reports sought for retrieval"),
    ({"excluded": 421}, "Records excluded"),
    ({"reports_excluded_reasons": {"not an RCT": 61, "no control group": 13}}, "Reports excluded"),
    ({"reports_included": 13}, "Reports of included studies"),
    ({"identified": 719}, "Records identified"),
])
def test_box_that_does_not_add_up_is_named(change, box):
    counts = dict(COUNTS, **change)
    if "excluded" in change:  # a number and the reasons: the reasons sum to 420
        counts["excluded_reasons"] = COUNTS["excluded"]
    if "reports_excluded_reasons" in change:
        counts["reports_excluded"] = 73
    with pytest.raises(InputError, match=f"PRISMA box '{box}' = .* does not add up"):
        review.prisma_flow(counts)


def test_message_shows_the_arithmetic():
    with pytest.raises(InputError) as e:
        review.prisma_flow(dict(COUNTS, screened=511))
    assert str(e.value) == ("PRISMA box 'Records screened' = 511 does not add up: Records identified (720) - "
                            "Duplicate records removed (200) - Records marked as ineligible by automation tools "
                            "(10) - Records removed for other reasons (0) = 510")


def test_other_bad_counts():
    with pytest.raises(InputError, match="'Studies included in review' = 13 exceeds"):
        review.prisma_flow(dict(COUNTS, studies_included=13))
    with pytest.raises(InputError, match="needs a whole number >= 0"):
        review.prisma_flow(dict(COUNTS, not_retrieved=-1))
    with pytest.raises(InputError, match="would be negative"):
        review.prisma_flow({"identified": 10, "duplicates_removed": 20, "excluded": 0, "studies_included": 0,
                            "reports_excluded": 0})
    with pytest.raises(InputError, match="cannot derive PRISMA box"):
        review.prisma_flow({"identified": 10})
    with pytest.raises(InputError, match="unknown PRISMA box"):
        review.prisma_flow({"identified": 10, "screnned": 5})


def test_csv_round_trip_and_box_names(tmp_path):
    f = review.prisma_flow(COUNTS)
    p = tmp_path / "counts.csv"
    f.to_frame().to_csv(p, index=False)
    pd.testing.assert_frame_equal(review.prisma_flow(p).to_frame(), f.to_frame())
    by_name = pd.DataFrame({"box": ["Records identified", "Duplicate records removed", "Records excluded",
                                    "Reports excluded", "Studies included in review"],
                            "n": [100, 10, 80, 5, 5]})
    g = review.prisma_flow(by_name)
    assert (g.screened, g.sought, g.assessed) == (90, 10, 10)
    bad = tmp_path / "bad.csv"
    bad.write_text("box,label,n\nscreened,,1\nscreened,,2\n")
    with pytest.raises(InputError, match=r"bad\.csv, row 3, column 'box', value 'screened': box 'Records screened' "
                                         "is given twice"):
        review.prisma_flow(bad)


def test_plot_png_svg_pdf(tmp_path):
    f = review.liu2022_prisma()
    fig = f.plot([tmp_path / "p.png", tmp_path / "p.svg", tmp_path / "p.pdf"])
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for label in ("Identification of studies via databases and registers", "Identification", "Screening",
                  "Included", "Records screened", "Reports sought for retrieval", "Reports not retrieved",
                  "Reports assessed for eligibility", "Studies included in review"):
        assert label in texts
    assert "(n\u00a0=\u00a0604)" in texts and "(n\u00a0=\u00a0288)" in texts
    for s in ("png", "svg", "pdf"):
        assert (tmp_path / f"p.{s}").stat().st_size > 5000
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "p.pdf").read_bytes()[:5] == b"%PDF-"
