"""Normalised fields of bibliographic records, for matching.

Databases export one publication in different shapes: Ovid MEDLINE appends
``[Review] [45 refs]`` to titles, the Cochrane Library ``(Provisional
abstract)``, PubMed wraps translated titles in brackets and adds ``[Erratum
appears in …]``; Embase writes ``Wright Jr., T C`` where PubMed writes
``Wright TC Jr``; some exports run the author list together
(``Adeli K.Lewis G. F.``); BibTeX writes accents as LaTeX (``{\\"u}``) and
others as Unicode, in composed or decomposed form. The functions here map
each of these to one comparable form. They never change the records
themselves: the kept record is shown as it was exported.

References
----------
.. [1] Bramer WM, Giustini D, de Jonge GB, Holland L, Bekhuis T (2016).
   De-duplication of database search results for systematic reviews in
   EndNote. J Med Libr Assoc 104(3):240-243. doi:10.3163/1536-5050.104.3.014
   (which field differences are common between databases).
.. [2] Hair K, Bahor Z, Macleod M, Liao J, Sena ES (2023). The Automated
   Systematic Search Deduplicator (ASySD): a rapid, open-source,
   interoperable tool to remove duplicate citations in biomedical
   systematic reviews. BMC Biol 21:189. doi:10.1186/s12915-023-01686-z
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import unquote

__all__ = [
    "fold",
    "latex_to_text",
    "strip_database_tags",
    "normalize_title",
    "normalize_doi",
    "normalize_pmid",
    "split_authors",
    "author_surname",
    "surnames",
    "first_page",
    "normalize_volume",
    "normalize_journal",
    "journals_agree",
    "is_conference",
]

# --------------------------------------------------------------------------- text

_ACCENTS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
            ".": "\u0307", "c": "\u0327", "v": "\u030c", "u": "\u0306", "H": "\u030b", "k": "\u0328"}
_LATEX_SYMBOLS = {r"\ss": "ß", r"\o": "ø", r"\O": "Ø", r"\aa": "å", r"\AA": "Å", r"\ae": "æ", r"\AE": "Æ",
                  r"\l": "ł", r"\L": "Ł", r"\i": "ı", r"\oe": "œ", r"\OE": "Œ"}


def latex_to_text(s: str) -> str:
    """The LaTeX of a BibTeX value as plain Unicode text: accents composed
    (``J{\\"u}ni`` -> ``Jüni``), symbols (``G{\\o}tzsche`` -> ``Gøtzsche``),
    ``--`` dashes, ``\\emph{…}`` and braces removed, whitespace collapsed."""
    if "\\" not in s and "{" not in s and "~" not in s and "--" not in s:
        return " ".join(s.split())

    def accent(m):
        return m.group(2) + _ACCENTS[m.group(1)]

    s = re.sub(r"\\([cvuHk])\s*\{\s*(\w)\s*\}", accent, s)
    s = re.sub(r"\\([cvuHk])\s+(\w)", accent, s)
    s = re.sub(r"\\(['`^\"~=.])\s*\{\s*(\\?\w)\s*\}", lambda m: (m.group(2).lstrip("\\")) + _ACCENTS[m.group(1)], s)
    s = re.sub(r"\\(['`^\"~=.])(\w)", accent, s)
    for k in sorted(_LATEX_SYMBOLS, key=len, reverse=True):
        s = re.sub(re.escape(k) + r"(?![A-Za-z])\s?", _LATEX_SYMBOLS[k], s)
    s = re.sub(r"\\([&%$#_{}])", r"\1", s)
    s = s.replace("---", "\u2014").replace("--", "\u2013")
    s = re.sub(r"(?<!\\)~", " ", s)
    s = re.sub(r"\\[a-zA-Z]+\s*\{([^{}]*)\}", r"\1", s)  # \emph{x}, \textit{x}
    s = re.sub(r"\\(?:em|it|bf|sc|rm|sl|tt|sf|normalfont)\b\s*", "", s)  # {\em x}
    s = s.replace("{", "").replace("}", "")
    return unicodedata.normalize("NFC", " ".join(s.split()))


_FOLD_EXTRA = str.maketrans({"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
                             "ł": "l", "Ł": "L", "ı": "i", "đ": "d", "Đ": "D", "þ": "th", "\u2010": "-",
                             "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-"})


def fold(s: str) -> str:
    """Lower-case ASCII-like text: LaTeX resolved, Unicode decomposed (NFKD)
    and combining marks dropped, ``ß``/``ø``/``æ``… spelt out."""
    s = latex_to_text(s)
    if s.isascii():
        return s.lower()
    s = unicodedata.normalize("NFKD", s.translate(_FOLD_EXTRA))
    return "".join(c for c in s if not unicodedata.combining(c)).lower()


# --------------------------------------------------------------------------- titles

_LANGUAGES = ("chinese|japanese|german|french|spanish|italian|russian|portuguese|polish|korean|dutch|czech|"
              "hungarian|turkish|persian|danish|swedish|norwegian|finnish|greek|hebrew|croatian|serbian|"
              "slovak|slovenian|romanian|bulgarian|ukrainian|lithuanian|estonian|latvian|arabic|thai|"
              "vietnamese|indonesian|malay|catalan|icelandic|afrikaans|english")
_TAGS = [
    # Ovid / MEDLINE tags in square brackets
    re.compile(r"\[\s*(?:review|erratum|comment|retracted|retraction|corrected|published erratum|see comments?|"
               r"news|editorial|letter|abstract|english abstract|article in|in process|epub|"
               r"corrigendum|expression of concern|withdrawn)\b[^\]]*\]", re.I),
    re.compile(r"\[\s*\d+\s*refs?\.?\s*\]", re.I),
    re.compile(r"\[\s*(?:" + _LANGUAGES + r")(?:\s*(?:,|and|&)\s*(?:" + _LANGUAGES + r"))*\s*(?:abstract|text)?\s*\]", re.I),
    # Cochrane / CRD / Ovid round-bracket tags
    re.compile(r"\(\s*(?:provisional|structured|structural)\s+abstract\s*\)", re.I),
    re.compile(r"\(\s*(?:database of abstracts of reviews of effects|dare|nhs eed|hta)\s*\)", re.I),
    re.compile(r"\(\s*(?:" + _LANGUAGES + r")\s*\)\s*$", re.I),
    # Embase / WoS suffixes
    re.compile(r"\s*-\s*(?:erratum|correction|retraction)\s*$", re.I),
]
_HTML = re.compile(r"<[^>]{0,40}>")
_HTML_INLINE = re.compile(r"</?(?:inf|sup|sub|i|b|em|strong|scp|u|mml:[a-z]+)\b[^>]{0,30}>", re.I)
_NONWORD = re.compile(r"[\W_]+")


def strip_database_tags(title: str) -> str:
    """Remove tags that databases add to titles: ``[Review] [45 refs]``,
    ``[Erratum appears in …]``, ``[Article in Chinese]``, ``[German]``,
    ``(Provisional abstract)``, ``(Structured abstract)``. A title wholly in
    square brackets (MEDLINE's translated titles) loses the brackets."""
    s = _HTML.sub(" ", _HTML_INLINE.sub("", title))
    for _ in range(3):  # tags nest ("[Erratum appears in J 2020;1(2):3]")
        before = s
        for pat in _TAGS:
            s = pat.sub(" ", s)
        if s == before:
            break
    s = s.strip().rstrip(".").strip()
    if s.startswith("[") and s.endswith("]"):
        s = s[1:-1]
    return s


def normalize_title(title: str | None) -> str:
    """Title for comparison: database tags stripped
    (:func:`strip_database_tags`), LaTeX, accents and case folded
    (:func:`fold`), HTML tags and punctuation removed, whitespace collapsed.

    >>> normalize_title("Mesenchymal <i>stem</i> cells: a trial [Review] [45 refs]")
    'mesenchymal stem cells a trial'
    """
    if not title:
        return ""
    s = fold(strip_database_tags(title))
    return " ".join(_NONWORD.sub(" ", s).split())


# --------------------------------------------------------------------------- identifiers

_DOI_PREFIX = re.compile(r"^(?:https?://)?(?:dx\.)?(?:www\.)?doi\.org/|^doi:\s*|^doi\s+", re.IGNORECASE)
_DOI = re.compile(r"10\.\d{4,9}/\S+")


def normalize_doi(doi: str | None) -> str | None:
    """Normalise a DOI for comparison: lower case, no resolver or ``doi:``
    prefix, URL escapes decoded, no trailing punctuation. ``None`` when the
    value holds no DOI (a DOI starts with ``10.`` and a registrant code).
    DOI names are case-insensitive (DOI Handbook 2.4, doi:10.1000/182).

    >>> normalize_doi("https://doi.org/10.1002/HEP.29189")
    '10.1002/hep.29189'
    >>> normalize_doi("doi: 10.1155/2019/4130757.")
    '10.1155/2019/4130757'
    """
    if doi is None:
        return None
    s = unquote(str(doi)).strip()
    prev = None
    while prev != s:  # "doi:https://doi.org/10..." has two prefixes
        prev = s
        s = _DOI_PREFIX.sub("", s).strip()
    m = _DOI.search(s)
    if not m:
        return None
    return m.group(0).rstrip(".,;)]").lower()


def normalize_pmid(pmid) -> str | None:
    """A PMID as digits without leading zeros (``"PMID: 012345"`` -> ``"12345"``)."""
    if pmid is None:
        return None
    m = re.search(r"\d+", str(pmid))
    if not m:
        return None
    v = str(int(m.group(0)))
    return None if v == "0" else v


# --------------------------------------------------------------------------- authors

_SUFFIX = re.compile(r"^(?:jr|sr|jnr|snr|ii|iii|iv|2nd|3rd)\.?$", re.I)
_INITIALS = re.compile(r"^(?:[A-Z]\.?){1,4}$|^[A-Z]\.?(?:-[A-Z]\.?)+$|^(?:[A-Z]\.\s?)+$")
# a run-together list: "Adeli K.Lewis G. F." -> "Adeli K." | "Lewis G. F."
_RUN_TOGETHER = re.compile(r"(?<=[A-Z]\.)(?=[A-Z][a-z\u00c0-\u024f'])")


def split_authors(value) -> tuple:
    """Authors as a tuple of names from a tuple, a ``;``/`` and ``-separated
    string, or a run-together string (``"Adeli K.Lewis G. F."``)."""
    if value is None:
        return ()
    if isinstance(value, str):
        items = [value]
    else:
        items = list(value)
    out = []
    for item in items:
        if not item:
            continue
        parts = re.split(r"\s*;\s*|\s+and\s+", item) if (";" in item or " and " in item) else [item]
        for p in parts:
            if "." in p[:-1]:
                out.extend(x for x in _RUN_TOGETHER.split(p) if x.strip())
            else:
                out.append(p)
    return tuple(x.strip() for x in out)


@lru_cache(maxsize=262144)
def author_surname(author: str | None) -> str:
    """The surname of one author name, folded to lower-case ASCII letters.

    ``"Lin, Bing-Liang"``, ``"Lin BL"`` and ``"Bing-Liang Lin"`` give ``"lin"``;
    ``"Wright Jr., T C"``, ``"Wright, Jr"``, ``"Wright TC Jr"`` give
    ``"wright"``; ``"El-Ansary M"`` gives ``"elansary"``.
    """
    if not author:
        return ""
    a = fold(author).strip()
    if "," in a:
        head = [t for t in a.split(",") if t.strip()]
        toks = head[0].split() if head else []
        toks = [t for t in toks if not _SUFFIX.match(t)]
        if not toks and len(head) > 1:
            toks = head[1].split()
        surname = " ".join(toks)
    else:
        raw = author.strip().split()
        toks = [t for t in raw if not _SUFFIX.match(fold(t))]
        if len(toks) > 1 and (_INITIALS.match(toks[-1]) or len(toks[-1].rstrip(".")) == 1):
            # "Lin BL", "Widdop R. E." (initials last)
            k = len(toks) - 1
            while k > 1 and (_INITIALS.match(toks[k - 1]) or len(toks[k - 1].rstrip(".")) == 1):
                k -= 1
            surname = " ".join(toks[:k])
        elif len(toks) > 1:
            surname = toks[-1]
        else:
            surname = toks[0] if toks else a
        surname = fold(surname)
    return _NONWORD.sub("", surname)


def surnames(authors) -> tuple:
    """Folded surnames of all authors (see :func:`author_surname`), empty
    names and "anonymous" dropped."""
    out = []
    for a in split_authors(authors if isinstance(authors, str) else tuple(authors)[:12]):
        s = author_surname(a)
        if s and s not in ("anonymous", "anon", "others", "etal"):
            out.append(s)
    return tuple(out)


# --------------------------------------------------------------------------- numbers

_PAGE = re.compile(r"[A-Za-z]{0,3}\d+")
_MONTH = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.I)


def first_page(pages: str | None) -> str | None:
    """The first page of a page range, lower case without leading zeros
    (``"221-8"`` -> ``"221"``, ``"e1002"`` -> ``"e1002"``; ``"S12-S13"`` ->
    ``"s12"``). ``None`` when there is no page number."""
    if not pages:
        return None
    if _MONTH.search(str(pages)):
        return None  # "11-Sep", "Nov-19": page ranges turned into dates by a spreadsheet
    m = _PAGE.search(str(pages))
    if not m:
        return None
    p = m.group(0).lower()
    letters = "".join(c for c in p if c.isalpha())
    digits = p[len(letters):].lstrip("0") or "0"
    return letters + digits


def normalize_volume(v: str | None) -> str | None:
    """A volume or issue number as its first run of digits (``"Vol. 66"`` -> ``"66"``)."""
    if not v:
        return None
    m = re.search(r"\d+", str(v))
    return m.group(0).lstrip("0") or "0" if m else None


_JOURNAL_STOP = {"the", "of", "and", "in", "for", "on", "de", "la", "le", "der", "und", "journal", "j"}


def normalize_journal(j: str | None) -> tuple:
    """Journal title as folded words without articles and prepositions;
    parenthesised parts (``Hepatology (Baltimore, Md.)``) dropped."""
    if not j:
        return ()
    s = re.sub(r"\([^)]*\)", " ", fold(j))
    s = re.split(r"[.:]\s*(?:conference|meeting|congress|supplement)\b", s)[0]
    s = s.replace("&", " and ")
    return tuple(w for w in _NONWORD.sub(" ", s).split() if w not in _JOURNAL_STOP)


def journals_agree(a: tuple, b: tuple) -> bool | None:
    """Whether two normalised journal titles name one journal: equal, or
    one the ISO-style abbreviation of the other (each abbreviated word the
    start of the full word in order: ``Curr Opin Lipidol`` ~ ``Current
    opinion in lipidology``). ``None`` when either is missing."""
    if not a or not b:
        return None
    if a == b:
        return True
    short, long_ = (a, b) if len("".join(a)) <= len("".join(b)) else (b, a)
    if len(short) != len(long_):
        return False
    return all(l.startswith(s) for s, l in zip(short, long_))


_CONF = re.compile(r"conf|abstract|meeting|congress|proceeding|poster|inproceedings", re.I)


def is_conference(type_: str | None, journal: str | None = None) -> bool:
    """Whether a record is a conference abstract or paper (RIS ``CONF``/
    ``CPAPER``/``ABST``, Embase ``Conference Abstract``, BibTeX
    ``inproceedings``)."""
    if type_ and (_CONF.search(type_) or type_.upper() in ("ABST", "CPAPER", "CONF")):
        return True
    return False
