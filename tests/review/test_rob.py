"""Risk of bias: validation of judgements and the robvis-style plots."""

from __future__ import annotations

import pandas as pd
import pytest

from hepatostat import review
from hepatostat.errors import InputError

ROB1 = ["random_sequence_generation", "allocation_concealment", "blinding_participants_personnel",
        "blinding_outcome_assessment", "incomplete_outcome_data", "selective_reporting", "other_bias"]


def _rob1(**over):
    rows = {"study": ["A 2011", "B 2014"]}
    for d in ROB1:
        rows[d] = ["Low", "High"]
    rows.update(over)
    return pd.DataFrame(rows)


def test_rob1_aliases_and_frame():
    f = _rob1(allocation_concealment=["unclear risk", "?"], other_bias=["LOW RISK", "high risk of bias"])
    a = review.read_rob(f)
    assert a.tool == "rob1" and a.studies == ("A 2011", "B 2014")
    assert a.judgements[0][1] == "Unclear" and a.judgements[1][6] == "High"
    assert not a.has_overall and list(a.to_frame().columns) == ["study"] + ROB1


def test_unknown_judgement_names_allowed_values(tmp_path):
    p = tmp_path / "rob.csv"
    _rob1(selective_reporting=["Low", "Some concerns"]).to_csv(p, index=False)
    with pytest.raises(InputError) as e:
        review.read_rob(p)
    assert str(e.value) == (f"file {p}, row 3, column 'selective_reporting', value 'Some concerns': unknown "
                            "risk-of-bias judgement for Cochrane risk-of-bias tool (RoB 1); allowed: Low, Unclear, High")
    with pytest.raises(InputError, match="missing judgement; allowed: Low, Unclear, High"):
        review.read_rob(_rob1(other_bias=["Low", ""]))
    with pytest.raises(InputError, match=r"missing domain column\(s\).*other_bias \(Other bias\)"):
        review.read_rob(_rob1().drop(columns="other_bias"), tool="rob1")
    with pytest.raises(InputError, match="study 'A 2011' appears twice"):
        review.read_rob(_rob1(study=["A 2011", "A 2011"]))


def test_rob2_overall_rules():
    f = pd.DataFrame({"study": ["X", "Y"], "D1": ["Low", "Low"], "D2": ["Some concerns", "Low"],
                      "D3": ["Low", "Low"], "D4": ["Low", "Low"], "D5": ["Low", "Low"], "Overall": ["", "Low"]})
    a = review.read_rob(f)
    assert a.tool == "rob2" and a.overall == ("Some concerns", "Low") and a.overall_derived == (True, False)
    f.loc[0, "Overall"] = "Low"
    with pytest.raises(InputError, match="overall judgement 'Low' is better than the worst domain judgement"):
        review.read_rob(f)
    f.loc[0, "Overall"] = "Unclear"
    with pytest.raises(InputError, match="allowed: Low, Some concerns, High"):
        review.read_rob(f)


def test_counts_weighted_by_hand():
    a = review.example_rob("rob1")
    c = a.counts().set_index("domain")
    # incomplete outcome data: trials C and F of 7 are High
    assert c.loc["Incomplete outcome data (attrition bias)", "High"] == pytest.approx(200 / 7)
    w = a.counts(weighted=True).set_index("domain")
    total = 14.2 + 9.8 + 18.5 + 21.0 + 12.7 + 8.3 + 15.5
    assert w.loc["Incomplete outcome data (attrition bias)", "High"] == pytest.approx(100 * (18.5 + 8.3) / total)
    with pytest.raises(InputError, match="weighted summary needs a 'weight' column"):
        review.example_rob("rob2").counts(weighted=True)


def test_plots_render(tmp_path):
    a = review.example_rob("rob1")
    fig = a.plot_traffic_light([tmp_path / "tl.png", tmp_path / "tl.svg"])
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["D1", "D2", "D3", "D4", "D5", "D6", "D7"]
    fig = a.plot_summary(tmp_path / "s.png", weighted=True)
    bars = fig.axes[0].patches
    assert len(bars) == 7 * 3
    assert {b.get_facecolor()[:3] for b in bars} == {(2 / 255, 193 / 255, 0.0), (226 / 255, 223 / 255, 7 / 255),
                                                      (191 / 255, 0.0, 0.0)}
    b = review.example_rob("rob2")
    fig = b.plot_traffic_light(tmp_path / "tl2.png")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()][-1] == "Overall"
    for name in ("tl.png", "tl.svg", "s.png", "tl2.png"):
        assert (tmp_path / name).stat().st_size > 5000
