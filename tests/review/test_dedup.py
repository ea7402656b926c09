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
    clusters = {c.kept: set(c.members) for c in res.clusters}
    assert clusters == {
        "example_pubmed.nbib#1": {"example_pubmed.nbib#1", "example_embase.ris#1", "example_wos.bib#1"},
        "example_pubmed.nbib#2": {"example_pubmed.nbib#2", "example_embase.ris#2"},
        "example_pubmed.nbib#3": {"example_pubmed.nbib#3", "example_embase.ris#3"},
        "example_pubmed.nbib#5": {"example_pubmed.nbib#5", "example_wos.bib#3"},
        "example_pubmed.nbib#6": {"example_pubmed.nbib#6", "example_wos.bib#5"},
        "example_pubmed.nbib#7": {"example_pubmed.nbib#7", "example_wos.bib#7"},
        "example_pubmed.nbib#8": {"example_pubmed.nbib#8", "example_embase.ris#7"},
        # the Web of Science copy has the abstract: it is the most complete
        "example_wos.bib#2": {"example_wos.bib#2", "example_embase.ris#5"},
    }
    assert all(c.members[0] == c.kept for c in res.clusters)
    by_kept = {c.kept: c for c in res.clusters}
    # every merge names the fields that agreed and its score
    first = by_kept["example_pubmed.nbib#1"]
    assert "DOI" in first.reason and "first page" in first.reason and "score" in first.reason
    assert len(first.evidence) >= 2 and all(e.decision == "merge" and e.score >= 8 for e in first.evidence)
    assert "PMID" in by_kept["example_pubmed.nbib#5"].reason
    assert by_kept["example_wos.bib#2"].kept_because.startswith("most complete")
    # the conference abstract of Shi 2012 is left for a person
    assert len(res.uncertain) == 1
    u = res.uncertain[0]
    assert {u.a, u.b} == {"example_embase.ris#6", "example_pubmed.nbib#4"}
    assert 85 <= u.similarity < 95 and "conference abstract" in u.reason
    assert res.to_dict()["per_file"] == [
        {"file": str(example_files[0]), "records": 8, "kept": 8, "removed": 0},
        {"file": str(example_files[1]), "records": 7, "kept": 2, "removed": 5},
        {"file": str(example_files[2]), "records": 7, "kept": 3, "removed": 4},
    ]
    assert len(res.kept_records()) == 13


def _r(i, title, **kw):
    kw.setdefault("source_file", "t")
    return Record(record_id=f"r{i}", title=title, record_no=i, **kw)


_ART = dict(journal="Hepatology", volume="66", issue="1", pages="209-219", year=2017)


def test_kept_is_most_complete_then_first():
    t = "Stem cells for cirrhosis: a randomized trial"
    recs = [_r(1, t, authors=("Smith J",), **_ART),
            _r(2, t, authors=("Smith, John",), abstract="x", doi="10.1000/a", **_ART),
            _r(3, t, authors=("Smith J",), abstract="longer abstract", pmid="9", **_ART)]
    res = review.deduplicate(recs)
    assert res.clusters[0].kept == "r3"          # ties with r2 on fields; longer abstract wins
    assert "tie broken" in res.clusters[0].kept_because
    recs2 = [_r(1, t, authors=("Smith J",), **_ART), _r(2, t, authors=("Smith J",), **_ART)]
    assert review.deduplicate(recs2).clusters[0].kept == "r1"   # full tie: first read


def test_prefer_database_order_sets_the_kept_record():
    t = "Stem cells for cirrhosis: a randomized trial"
    recs = [_r(1, t, authors=("Smith J",), database="Embase", abstract="long abstract here", doi="10.1000/a", **_ART),
            _r(2, t, authors=("Smith J",), database="PubMed", **_ART)]
    assert review.deduplicate(recs).clusters[0].kept == "r1"
    res = review.deduplicate(recs, prefer=("pubmed", "Embase"))
    assert res.clusters[0].kept == "r2" and res.clusters[0].kept_because == "database preference: PubMed"
    assert "pubmed > Embase" in res.kept_rule


def test_conflicting_identifiers_never_merge():
    t = "Stem cells for cirrhosis: a randomized trial"
    recs = [_r(1, t, authors=("Smith J",), doi="10.1000/a", **_ART),
            _r(2, t, authors=("Smith J",), doi="10.1000/b", **_ART)]
    res = review.deduplicate(recs)
    assert res.duplicates == 0 and len(res.uncertain) == 1
    assert res.uncertain[0].reason.startswith("different DOIs")


def test_pmid_match_and_title_rules():
    recs = [_r(1, "Completely different title of one paper", pmid="PMID: 123"),
            _r(2, "Another one about something else", pmid="123"),
            _r(3, "Umbilical cord MSC in ACLF", authors=("Li X",), year=2019),
            _r(4, "Umbilical cord MSC in ACLF", authors=("Li X",), year=2020),   # year +1: uncertain
            _r(5, "Umbilical cord MSC in ACLF", authors=("Li X",), year=2015),   # far apart: different
            _r(6, "Umbilical cord MSC in ACLF", authors=("Wang Y",), year=2019)]  # other first author
    res = review.deduplicate(recs)
    # one PMID but unrelated titles: a data error for a person, not a merge
    assert res.clusters == ()
    pairs = {(u.a, u.b): u.reason for u in res.uncertain}
    assert set(pairs) == {("r1", "r2"), ("r3", "r4"), ("r3", "r6"), ("r4", "r6")}
    assert pairs[("r1", "r2")].startswith("title similarity") and "PMID" in pairs[("r1", "r2")]
    assert "year (2019 vs 2020)" in pairs[("r3", "r4")]
    assert "first author" in pairs[("r3", "r6")].split("(agree")[0]


# ----------------------------------------------------------------- issue 17 regressions

def test_embase_supplement_doi_does_not_merge_different_abstracts():
    # Embase gives every abstract of a supplement the supplement's DOI
    doi = "10.1016/S0168-8278(20)30000-0"
    titles = ["Mesenchymal stem cells in ACLF: a pilot study", "Albumin infusion and survival in cirrhosis",
              "Portal hypertension after TIPS in children", "Liver stiffness predicts decompensation",
              "Autologous bone marrow cells in alcoholic hepatitis", "Rifaximin for hepatic encephalopathy"]
    recs = [_r(k, t, authors=(f"Author{k} A",), year=2020, journal="Journal of Hepatology", volume="73",
               issue="S1", pages=f"S{100 + k}", doi=doi, type="Conference Abstract")
            for k, t in enumerate(titles, start=1)]
    res = review.deduplicate(recs)
    assert res.duplicates == 0 and res.uncertain == ()


def test_conference_abstract_and_article_with_one_title_not_merged():
    t = "Umbilical cord mesenchymal stem cells improve liver function in decompensated cirrhosis"
    art = _r(1, t, authors=("Zhang Z",), year=2012, journal="J Gastroenterol Hepatol", volume="27",
             pages="112-120", type="JOUR")
    abst = _r(2, t, authors=("Zhang Z",), year=2012, journal="Hepatology. Conference: AASLD", volume="56",
              pages="S451", type="CONF")
    res = review.deduplicate([art, abst])
    assert res.duplicates == 0
    assert len(res.uncertain) == 1 and "different first pages" in res.uncertain[0].reason


def test_recurring_editors_comments_not_merged():
    recs = [_r(k, "Editor's comments", authors=("Editor A",), year=2019, journal="Hepatology", volume="70",
               issue=str(k), pages=str(100 * k)) for k in range(1, 5)]
    recs += [_r(9, "Editor's comments", authors=("Editor A",), year=2015, journal="Hepatology")]
    res = review.deduplicate(recs)
    assert res.duplicates == 0
    assert all(u.reason.startswith(("different first pages", "the title is too short")) for u in res.uncertain)


@pytest.mark.parametrize("tagged", [
    "Mesenchymal stem cells for liver cirrhosis: a systematic review [Review] [45 refs]",
    "Mesenchymal stem cells for liver cirrhosis: a systematic review (Provisional abstract)",
    "Mesenchymal stem cells for liver cirrhosis: a systematic review [Erratum appears in Hepatology. 2019;70(2):757]",
    "[Mesenchymal stem cells for liver cirrhosis: a systematic review]. [Article in Chinese]",
])
def test_database_tags_do_not_hide_duplicates(tagged):
    plain = "Mesenchymal stem cells for liver cirrhosis: a systematic review"
    assert review.normalize_title(tagged) == review.normalize_title(plain)
    recs = [_r(1, plain, authors=("Lin BL",), **_ART), _r(2, tagged, authors=("Lin, B.-L.",), **_ART)]
    res = review.deduplicate(recs)
    assert res.duplicates == 1 and "title (identical)" in res.clusters[0].reason


@pytest.mark.parametrize("a, b", [
    ("Wright Jr., T C", "Wright, Jr"),
    ("Wright Jr., T C", "Wright TC Jr"),
    ("Gøtzsche, Peter C.", "G{\\o}tzsche PC"),
    ("Jüni P", "J{\\\"u}ni, P."),
    ("Ju\u0308ni P", "Jüni, P."),   # decomposed vs composed Unicode
    ("El-Ansary M", "El Ansary, Mahmoud"),
])
def test_author_names_normalised(a, b):
    assert review.first_author_key(a) == review.first_author_key(b) != ""


def test_run_together_author_string_is_split():
    from hepatostat.review.normalise import split_authors, surnames
    assert split_authors("Adeli K.Lewis G. F.") == ("Adeli K.", "Lewis G. F.")
    assert surnames(("Adeli K.Lewis G. F.",)) == ("adeli", "lewis")
    t = "Intestinal lipoprotein overproduction in insulin-resistant states"
    recs = [_r(1, t, authors=("Adeli K.Lewis G. F.",), **_ART), _r(2, t, authors=("Adeli, K.", "Lewis, G. F."), **_ART)]
    res = review.deduplicate(recs)
    assert res.duplicates == 1 and "authors" in res.clusters[0].reason


def test_latex_and_unicode_titles_fold_to_one_key():
    assert review.normalize_title("Effect of {\\ss}-blockers in M{\\\"u}nchen") == \
        review.normalize_title("Effect of ß-blockers in München") == "effect of ss blockers in munchen"
    assert review.normalize_title("K<inf>Ca</inf>3.1 channels") == review.normalize_title("KCa3.1 channels")


def test_part_one_and_part_two_not_merged():
    base = "Cell therapy for end-stage liver disease: a practical guide, part "
    recs = [_r(1, base + "I", authors=("Ito K",), year=2018, journal="Hepatology"),
            _r(2, base + "II", authors=("Ito K",), year=2018, journal="Hepatology"),
            _r(3, base + "2", authors=("Ito K",), year=2018, journal="Hepatology", volume="3")]
    res = review.deduplicate(recs)
    assert all(set(c.members) != {"r1", "r2"} for c in res.clusters)
    assert not any({"r1", "r2"} <= set(c.members) for c in res.clusters)


def test_chain_through_a_sparse_record_is_not_made():
    # r2 (no pages, no DOI) matches both r1 and r3, which are two different papers
    t = "Bone marrow cell infusion in decompensated cirrhosis: long-term outcomes"
    recs = [_r(1, t, authors=("Kim S",), year=2016, journal="Liver Int", volume="36", pages="100-110", doi="10.1000/x1",
               abstract=None),
            _r(2, t, authors=("Kim S",), year=2016, journal="Liver International", volume="36"),
            _r(3, t, authors=("Kim S",), year=2016, journal="Liver Int", volume="36", pages="500-510", doi="10.1000/x2")]
    res = review.deduplicate(recs)
    assert not any({"r1", "r3"} <= set(c.members) for c in res.clusters)


def test_blocking_is_linear_for_one_shared_doi():
    # 3,000 abstracts sharing one supplement DOI: candidate pairs grow with n, not n^2
    recs = [_r(k, f"Abstract number {k} on topic {k % 97} of hepatology", authors=(f"A{k} B",), year=2020,
               doi="10.1000/supp", pages=f"S{k}") for k in range(3000)]
    res = review.deduplicate(recs)
    assert res.duplicates == 0
    assert res.candidate_pairs < 3000 * 25


def test_compare_explains_a_pair():
    t = "Stem cells for cirrhosis: a randomized trial"
    ev = review.compare(_r(1, t, authors=("Smith J",), doi="10.1000/a", **_ART),
                        _r(2, t.upper(), authors=("Smith, J.",), doi="https://doi.org/10.1000/A", **_ART))
    assert ev.decision == "merge"
    assert {"title (identical)", "DOI", "year", "first author", "journal", "volume", "issue",
            "first page"} <= set(ev.agreed)
    assert ev.disagreed == () and ev.vetoes == ()


def test_thresholds_validated():
    with pytest.raises(InputError, match="thresholds must satisfy"):
        review.deduplicate([], merge_threshold=80, review_threshold=90)


def test_duplicate_record_ids_rejected():
    with pytest.raises(InputError, match="record id 'r1' occurs twice"):
        review.deduplicate([_r(1, "a"), _r(1, "b")])


def test_cli_dedup_prefer_and_evidence(example_files, capsys):
    import json

    from hepatostat.cli import cli, main
    from hepatostat.cli.review import review_group

    if "review" not in cli.commands:
        cli.add_command(review_group)
    status = main(["review", "dedup", *map(str, example_files), "--prefer", "Embase,PubMed", "--format", "json"])
    obj = json.loads(capsys.readouterr().out)
    assert status == 0 and (obj["records_in"], obj["duplicates"]) == (22, 9)
    first = next(c for c in obj["clusters"] if "example_pubmed.nbib#1" in c["members"])
    assert first["kept"] == "example_embase.ris#1" and first["kept_because"] == "database preference: Embase"
    assert all(e["decision"] == "merge" and "DOI" in e["agreed"] for e in first["evidence"][:1])
    assert obj["kept_rule"].startswith("the record from the first database in the preference order Embase > PubMed")
