"""A LABELLED SYNTHETIC de-duplication set: publications exported by several
"databases" with the differences real exports show.

Each publication gets 1-4 copies (as PubMed, Embase, Web of Science, Scopus
would export it). A copy may: lose its DOI, pages, volume, issue or abstract;
carry an Ovid/Cochrane tag in its title (``[Review] [45 refs]``, ``(Provisional
abstract)``, ``[Article in Chinese]``); write authors as ``Surname, I.`` or
``Surname I`` or ``Surname Jr., I``; abbreviate the journal; change the title's
case, punctuation, British/American spelling or accents; write pages as
``221-8`` or ``221-228``. Hard negatives are generated on purpose: conference
abstracts of one supplement sharing the supplement's DOI, recurring
"Editor's comments" in one journal, an abstract and its full article with the
same title, and series articles whose titles differ by a part number.

Every record carries ``gold`` = the publication it belongs to. Written for
hepatostat; no real bibliographic data are used.
"""

from __future__ import annotations

import random

from hepatostat.review import Record

WORDS = ("mesenchymal stem cell liver cirrhosis hepatitis failure acute chronic randomized controlled trial "
         "outcome survival transplantation bone marrow umbilical cord infusion safety efficacy patients "
         "decompensated fibrosis regeneration hepatocyte autologous allogeneic phase study cohort meta analysis "
         "systematic review model score albumin bilirubin mortality portal hypertension ascites encephalopathy "
         "steatosis alcoholic viral injury inflammation macrophage cytokine signalling pathway mice rats "
         "expression therapy treatment clinical prospective retrospective multicentre long term short").split()
SURNAMES = ("Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Smith Jones Brown "
            "Muller Schmidt Garcia Martinez Rossi Russo Kim Lee Park Nguyen Tanaka Suzuki Sato Ito Yamamoto "
            "Kowalski Novak Silva Santos Oliveira Pereira Ahmed Khan Ali Hassan Cohen Levi Dubois Moreau "
            "Laurent Bernard Andersson Johansson Nielsen Hansen Jensen Wright O'Brien Murphy Kelly Walsh").split()
JOURNALS = [("Hepatology", "Hepatology"), ("Journal of Hepatology", "J Hepatol"),
            ("Liver International", "Liver Int"), ("Stem Cell Research & Therapy", "Stem Cell Res Ther"),
            ("Journal of Gastroenterology and Hepatology", "J Gastroenterol Hepatol"),
            ("Gastroenterology", "Gastroenterology"), ("World Journal of Gastroenterology", "World J Gastroenterol"),
            ("Cell Transplantation", "Cell Transplant"), ("Stem Cells Translational Medicine", "Stem Cells Transl Med"),
            ("Clinical Gastroenterology and Hepatology", "Clin Gastroenterol Hepatol")]
TAGS = [" [Review] [45 refs]", " (Provisional abstract)", " [Article in Chinese]", " [Erratum appears in Hepatology. 2019;70(2):757]"]
SPELL = [("randomized", "randomised"), ("tumor", "tumour"), ("signaling", "signalling"), ("center", "centre")]
DBS = ("PubMed", "Embase", "Web of Science", "Scopus")


def _title(rng):
    n = rng.randint(6, 18)
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def _base(rng, k):
    year = rng.randint(1995, 2024)
    j_full, j_abbr = rng.choice(JOURNALS)
    sp = rng.randint(1, 2400)
    authors = [(rng.choice(SURNAMES), "".join(rng.choice("ABCDEFGHJKLMNPRSTWXYZ") for _ in range(rng.randint(1, 2))))
               for _ in range(rng.randint(1, 8))]
    return {"gold": k, "title": _title(rng), "year": year, "journal": (j_full, j_abbr), "volume": str(rng.randint(1, 80)),
            "issue": str(rng.randint(1, 12)), "sp": sp, "ep": sp + rng.randint(0, 14), "authors": authors,
            "doi": f"10.{rng.randint(1000, 9999)}/syn.{k}", "pmid": str(10_000_000 + k),
            "abstract": " ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 160))), "type": "JOUR"}


def _copy(rng, pub, db, rid):
    t = pub["title"]
    if rng.random() < 0.25:
        t = t.upper() if rng.random() < 0.2 else t.lower()
    if rng.random() < 0.15:
        t = t + rng.choice(TAGS)
    if rng.random() < 0.2:
        a, b = rng.choice(SPELL)
        t = t.replace(a, b) if a in t else t + ("." if not t.endswith(".") else "")
    if rng.random() < 0.1:
        t = t.replace(" ", " - ", 1)
    style = rng.random()
    authors = []
    for s, ini in pub["authors"]:
        if style < 0.4:
            authors.append(f"{s}, {'.'.join(ini)}.")
        elif style < 0.8:
            authors.append(f"{s} {ini}")
        else:
            authors.append(f"{s}, {ini[0]}")
    if pub["authors"] and rng.random() < 0.05:
        authors[0] = pub["authors"][0][0] + " Jr., " + " ".join(pub["authors"][0][1])
    sp, ep = pub["sp"], pub["ep"]
    pages = f"{sp}-{ep}" if rng.random() < 0.6 else f"{sp}-{str(ep)[-1]}"
    j = pub["journal"][0] if rng.random() < 0.5 else pub["journal"][1]
    keep = lambda p: rng.random() > p  # noqa: E731
    return Record(
        record_id=f"{db}#{rid}", title=t, authors=tuple(authors), year=pub["year"] if keep(0.02) else None,
        journal=j, volume=pub["volume"] if keep(0.1) else None, issue=pub["issue"] if keep(0.2) else None,
        pages=pages if keep(0.15) else None, doi=pub["doi"] if keep(0.3) else None,
        pmid=pub["pmid"] if (db == "PubMed" and keep(0.05)) else None,
        abstract=pub["abstract"] if keep(0.2) else None, database=db, type=pub["type"], source_file=db,
    )


def generate(n_target: int, seed: int = 1):
    """About ``n_target`` records; returns (records, gold labels by record id)."""
    rng = random.Random(seed)
    pubs = []
    k = 0
    total = counted = 0
    while True:
        total += sum(c for _, c in pubs[counted:])
        counted = len(pubs)
        if total >= n_target:
            break
        r = rng.random()
        if r < 0.03:  # a supplement: several conference abstracts sharing its DOI
            supp_doi = f"10.{rng.randint(1000, 9999)}/supp.{k}"
            year = rng.randint(2005, 2024)
            for _ in range(rng.randint(3, 8)):
                p = _base(rng, k)
                p.update(doi=supp_doi, year=year, type="CONF", volume="70", issue="S1", sp=rng.randint(1, 999))
                p["ep"] = p["sp"]
                pubs.append((p, rng.randint(1, 2)))
                k += 1
        elif r < 0.05:  # recurring editorial column
            j = rng.choice(JOURNALS)
            for _ in range(rng.randint(2, 5)):
                p = _base(rng, k)
                p.update(title="Editor's comments", journal=j, authors=[("Editor", "A")], doi=None, abstract=None)
                pubs.append((p, rng.randint(1, 2)))
                k += 1
        elif r < 0.07:  # an abstract and the full article with the same title
            p = _base(rng, k)
            pubs.append((p, rng.randint(1, 3)))
            k += 1
            q = dict(p, gold=k, type="CONF", journal=("Hepatology. Conference: AASLD", "Hepatology"),
                     sp=rng.randint(1, 999), doi=None, pmid=None, year=p["year"] - rng.randint(0, 1))
            q["ep"] = q["sp"]
            pubs.append((q, rng.randint(1, 2)))
            k += 1
        elif r < 0.09:  # a series: part I and part II
            p = _base(rng, k)
            pubs.append((dict(p, title=p["title"] + " part I"), rng.randint(1, 3)))
            k += 1
            q = _base(rng, k)
            q.update(title=p["title"] + " part II", authors=p["authors"], journal=p["journal"], year=p["year"])
            pubs.append((q, rng.randint(1, 3)))
            k += 1
        else:
            pubs.append((_base(rng, k), rng.choices([1, 2, 3, 4], weights=[35, 35, 20, 10])[0]))
            k += 1
    records, gold = [], {}
    counter = {db: 0 for db in DBS}
    for p, copies in pubs:
        for db in rng.sample(DBS, copies):
            counter[db] += 1
            r = _copy(rng, p, db, counter[db])
            records.append(r)
            gold[r.record_id] = p["gold"]
    rng.shuffle(records)
    return records, gold
