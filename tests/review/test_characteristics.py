"""The review's Table 1 as data, checked against the review's own text."""

from __future__ import annotations

import pandas as pd
from docx import Document

from hepatostat import review


def test_table1_shape_and_rows():
    t = review.load_liu2022()
    assert t.shape[0] == 13 and t["trial"].nunique() == 12
    peng = t.set_index("study").loc["Peng 2011"]
    assert (peng["n_exp"], peng["n_con"], peng["route_group"], peng["dose"]) == \
        (53, 105, "Hepatic arterial", "(3.4 ± 3.8) × 10^8")
    assert pd.isna(t.set_index("study").loc["Mohamadnejad 2013", "adverse_event"])  # "NA" in Table 1
    assert t.attrs["citation"].startswith("Liu Y, Dong Y")


def test_counts_match_the_reviews_text():
    # Liu et al. 2022, Results, "Study characteristics": 2011-2021; China 7, Egypt 2, South Korea 1, Brazil 1,
    # Iran 1; 846 patients, 411 MSC, 435 control; BM 8, UC 4; autologous 6, allogeneic 6; intravenous 9,
    # hepatic arterial 3; single injection 5, multiple 6, both 1. Adverse events: fever in 5 studies.
    s = review.summarize_characteristics()
    assert s["years"] == [2011, 2021]
    assert s["country"] == {"Brazil": 1, "China": 7, "Egypt": 2, "Iran": 1, "South Korea": 1}
    assert (s["patients"], s["patients_exp"], s["patients_con"]) == (846, 411, 435)
    assert s["cell_source"] == {"BM": 8, "UC": 4}
    assert s["cell_origin"] == {"Allogeneic": 6, "Autologous": 6}
    assert s["route_group"] == {"Hepatic arterial": 3, "Intravenous": 9}
    assert s["injection_schedule"] == {"both": 1, "multiple": 6, "single": 5}
    assert s["adverse_event"]["Fever"] == 5


def test_disease_counts_differ_from_the_text():
    # The text says cirrhosis n = 6 and ACLF n = 6; Table 1 itself lists 7 cirrhosis and 5 ACLF trials.
    s = review.summarize_characteristics()
    assert s["disease_group"] == {"ACLF": 5, "Cirrhosis": 7}


def test_moderators_usable():
    t = review.load_liu2022()
    assert set(review.MODERATORS) <= set(t.columns)
    assert t["multiple_injections"].sum() == 7  # rows: 6 multiple-injection trials + Suk 2016's two-injection arm
    assert set(t["disease_group"]) == {"ACLF", "Cirrhosis"}


def test_write_docx_xlsx_csv(tmp_path):
    review.write_table(None, tmp_path / "t.docx")
    doc = Document(tmp_path / "t.docx")
    table = doc.tables[0]
    assert len(table.rows) == 14 and table.rows[0].cells[0].text == "Year"
    assert [c.text for c in table.rows[1].cells][:4] == ["2021", "Shi", "27", "China"]
    assert any("doi:10.1186/s13287-022-02882-4" in para.text for para in doc.paragraphs)
    review.write_table(None, tmp_path / "t.xlsx")
    x = pd.read_excel(tmp_path / "t.xlsx", skiprows=2, nrows=13)
    assert list(x["Author"])[:2] == ["Shi", "Schacher"] and x["Patients, Exp"].sum() == 411
    review.write_table(review.load_liu2022(), tmp_path / "t.csv", columns={"study": "Study", "n_exp": "n"})
    assert list(pd.read_csv(tmp_path / "t.csv").columns) == ["Study", "n"]


def test_wide_table_alone_has_no_blank_portrait_page_before_it(tmp_path):
    # regression: the one Word writer opened a landscape section after an empty portrait page
    review.write_table(None, tmp_path / "t.docx")
    doc = Document(tmp_path / "t.docx")
    assert len(doc.sections) == 1
    assert doc.sections[0].page_width > doc.sections[0].page_height
