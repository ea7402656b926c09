"""De-duplication: identifiers, fuzzy titles, clusters, uncertain pairs."""

from __future__ import annotations

import pytest

from hepatostat import review
from hepatostat.errors import InputError
from hepatostat.review import Record


@pytest.mark.parametrize("raw, expected", [
    ("10.1002/hep.29189", "10.1002/hep.29189"),
    ("10.1002/HEP.29189", "10.1002/hep.29189"),
    ("https://doi.org/10.1002/HEP.29189", "10.1002/hep.29189"),
    ("http://dx.doi.org/10.1002/hep.29189", "10.1002/hep.29189"),
    ("doi:10.1155/2019/4130757", "10.1155/2019/4130757"),
    ("DOI: 10.1155/2019/4130757.", "10.1155/2019/4130757"),
    ("doi:https://doi.org/10.1186/S13287-020-01935-W", "10.1186/s13287-020-01935-w"),
    ("https://doi.org/10.1111%2Fj.1440-1746.2011.07024.x", "10.1111/j.1440-1746.2011.07024.x"),
    (" 10.1186/s13287-022-02882-4 ", "10.1186/s13287-022-02882-4"),
    ("not a doi", None),
    (None, None),
])
def test_normalize_doi(raw, expected):
    assert review.normalize_doi(raw) == expected


def test_normalize_title_and_author():
    assert review.normalize_title("Mesenchymal <i>stem</i> cells: A Randomized-Trial.") == \
        "mesenchymal stem cells a randomized trial"
    assert review.normalize_title("Thérapie cellulaire") == "therapie cellulaire"
    for a in ("Lin, Bing-Liang", "Lin BL", "Lin, B.-L.", "Bing-Liang Lin"):
        assert review.first_author_key(a) == "lin"
    assert review.first_author_key("El-Ansary M") == "elansary"
    assert review.first_author_key("da Silva AMP") == "dasilva"
    assert review.normalize_pmid("PMID: 0012345") == "12345"


def test_bundled_exports_known_duplicates(example_files):
    res = review.deduplicate(review.read_records(example_files))
    assert (res.records_in, res.unique, res.duplicates) == (22, 13, 9)
    clusters = {c.kept: (set(c.members), c.reason) for c in res.clusters}
    assert clusters == {
        "example_pubmed.nbib#1": ({"example_pubmed.nbib#1", "example_embase.ris#1", "example_wos.bib#1"},
                                  "same DOI; same title (similarity >= 100.0), year and first author"),
        "example_pubmed.nbib#2": ({"example_pubmed.nbib#2", "example_embase.ris#2"},
                                  "same title (similarity >= 100.0), year and first author"),
        "example_pubmed.nbib#3": ({"example_pubmed.nbib#3", "example_embase.ris#3"},
                                  "same title (similarity >= 100.0), year and first author"),
        "example_pubmed.nbib#5": ({"example_pubmed.nbib#5", "example_wos.bib#3"},
                                  "same PMID; same title (similarity >= 100.0), year and first author"),
        "example_pubmed.nbib#6": ({"example_pubmed.nbib#6", "example_wos.bib#5"},
                                  "same DOI; same title (similarity >= 100.0), year and first author"),
        "example_pubmed.nbib#7": ({"example_pubmed.nbib#7", "example_wos.bib#7"},
                                  "same DOI; same title (similarity >= 100.0), year and first author"),
        "example_pubmed.nbib#8": ({"example_pubmed.nbib#8", "example_embase.ris#7"},
                                  "same title (similarity >= 100.0), year and first author"),
        # the Web of Science copy has the abstract: it is the most complete
        "example_wos.bib#2": ({"example_wos.bib#2", "example_embase.ris#5"},
                              "same title (similarity >= 100.0), year and first author"),
    }
    assert all(c.members[0] == c.kept for c in res.clusters)
    # the conference abstract of Shi 2012 is left for a person
    assert len(res.uncertain) == 1
    u = res.uncertain[0]
    assert {u.a, u.b} == {"example_embase.ris#6", "example_pubmed.nbib#4"}
    assert 85 <= u.similarity < 95
    assert res.to_dict()["per_file"] == [
        {"file": str(example_files[0]), "records": 8, "kept": 8, "removed": 0},
        {"file": str(example_files[1]), "records": 7, "kept": 2, "removed": 5},
        {"file": str(example_files[2]), "records": 7, "kept": 3, "removed": 4},
    ]
    assert len(res.kept_records()) == 13


def _r(i, title, **kw):
    return Record(record_id=f"r{i}", title=title, source_file="t", record_no=i, **kw)


def test_kept_is_most_complete_then_first():
    t = "Stem cells for cirrhosis: a randomized trial"
    recs = [_r(1, t, authors=("Smith J",), year=2020),
            _r(2, t, authors=("Smith, John",), year=2020, journal="J", abstract="x", doi="10.1/a"),
            _r(3, t, authors=("Smith J",), year=2020, journal="J", abstract="longer abstract", pmid="9")]
    res = review.deduplicate(recs)
    assert res.clusters[0].kept == "r3"          # 6 fields, ties with r2; longer abstract wins
    recs2 = [_r(1, t, authors=("Smith J",), year=2020), _r(2, t, authors=("Smith J",), year=2020)]
    assert review.deduplicate(recs2).clusters[0].kept == "r1"   # full tie: first read


def test_conflicting_identifiers_never_merge():
    t = "Stem cells for cirrhosis: a randomized trial"
    recs = [_r(1, t, authors=("Smith J",), year=2020, doi="10.1000/a"),
            _r(2, t, authors=("Smith J",), year=2020, doi="10.1000/b")]
    res = review.deduplicate(recs)
    assert res.duplicates == 0 and len(res.uncertain) == 1
    assert res.uncertain[0].reason == "different DOIs"


def test_pmid_match_and_title_rules():
    recs = [_r(1, "Completely different title", pmid="PMID: 123"), _r(2, "Another one", pmid="123"),
            _r(3, "Umbilical cord MSC in ACLF", authors=("Li X",), year=2019),
            _r(4, "Umbilical cord MSC in ACLF", authors=("Li X",), year=2020),   # year +1: uncertain
            _r(5, "Umbilical cord MSC in ACLF", authors=("Li X",), year=2015),   # far apart: different
            _r(6, "Umbilical cord MSC in ACLF", authors=("Wang Y",), year=2019)]  # other first author
    res = review.deduplicate(recs)
    assert [(c.kept, c.members, c.reason) for c in res.clusters] == [("r1", ("r1", "r2"), "same PMID")]
    pairs = {(u.a, u.b): u.reason for u in res.uncertain}
    assert pairs == {("r3", "r4"): "years differ (2019 vs 2020)",
                     ("r3", "r6"): "first authors differ (Li X vs Wang Y)",
                     ("r4", "r6"): "years differ (2020 vs 2019); first authors differ (Li X vs Wang Y)"}


def test_thresholds_validated():
    with pytest.raises(InputError, match="thresholds must satisfy"):
        review.deduplicate([], merge_threshold=80, review_threshold=90)


def test_duplicate_record_ids_rejected():
    with pytest.raises(InputError, match="record id 'r1' occurs twice"):
        review.deduplicate([_r(1, "a"), _r(1, "b")])
