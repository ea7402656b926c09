"""Active learning for screening: the records most likely to be included first.

The screening queue is ordered by a classifier trained on the decisions made
so far and retrained as decisions arrive (certainty-based sampling: the
highest predicted relevance is screened next), as in the active-learning
screening literature (Cohen et al. 2006; Yu & Menzies 2019; van de Schoot et
al. 2021).

The default model, :data:`DEFAULT_SPEC` = :data:`ELAS_U4`, is the
configuration ASReview LAB (version 2 and later) publishes as its default,
"ELAS u4", tuned by its authors on the SYNERGY screening data sets [4]_:
TF-IDF of title + abstract (word unigrams and bigrams, no stop-word list,
sublinear term frequency, terms in at most 95% of the records; here at most
:data:`MAX_FEATURES` terms), fitted once on all records (unsupervised, so it
may use every record); a linear support vector machine (squared hinge loss,
L2 penalty, C = 0.11) refitted on the labelled records only, with sample
weights that give the included class 9.8 times its class-balanced weight;
the highest decision value is screened next. It is written here with
scikit-learn, not taken from ASReview; on 13 SYNERGY sets and 3 seeds it
reproduces ASReview's WSS@95 exactly (``benchmarks/screening/README.md``).
Ties (and the start, before both an include and an exclude are known) keep
the input order.

A :class:`ModelSpec` describes alternatives (stop words, the title counted
twice, character n-grams, crude stemming, class weights, rank averaging of
several classifiers; ``ModelSpec()`` is hepatostat's earlier default) that
``benchmarks/screening/model_selection.py`` compares. The same
:class:`Ranker` orders the workbench's queue and runs the simulation behind
``hepatostat review simulate``.

References
----------
.. [1] Cohen AM, Hersh WR, Peterson K, Yen PY (2006). Reducing workload in
   systematic review preparation using automated citation classification.
   J Am Med Inform Assoc 13(2):206-219. doi:10.1197/jamia.M1929 (WSS).
.. [2] Yu Z, Menzies T (2019). FAST2: an intelligent assistant for finding
   relevant papers. Expert Syst Appl 120:57-71. doi:10.1016/j.eswa.2018.11.021
.. [3] van de Schoot R, et al. (2021). An open source machine learning
   framework for efficient and transparent systematic reviews. Nat Mach
   Intell 3:125-133. doi:10.1038/s42256-020-00287-7 (ASReview; RRF, WSS).
.. [4] ASReview LAB 2.x model configurations ("ELAS u4": querier max,
   classifier svm with loss squared_hinge and C 0.11, balancer balanced with
   ratio 9.8, feature extractor tfidf with ngram_range (1, 2), sublinear_tf,
   min_df 1, max_df 0.95), asreview/models/models.py; optimisation set-up
   github.com/asreview/asreview-optuna (release ASReview2_0b4-nb-tfidf-full-1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from ..io.format import fmt_fixed, fmt_n, fmt_plain, fmt_seconds

__all__ = ["Ranker", "ModelSpec", "DEFAULT_SPEC", "ELAS_U4", "SimulationResult", "simulate", "draw_priors", "wss", "rrf"]

#: vocabulary cap (the most frequent terms); reached only by very large projects, it bounds retrain time
MAX_FEATURES = 300_000



@dataclass(frozen=True)
class ModelSpec:
    """Features and classifiers of the prioritisation model (one of them,
    :data:`DEFAULT_SPEC`, is used; the others exist for the benchmark's model
    selection, ``benchmarks/screening/model_selection.py``).

    ``classifiers``: ``(name, C or alpha)`` pairs among ``svm`` (linear SVM,
    squared hinge), ``lr`` (logistic regression) and ``nb`` (multinomial
    naive Bayes); with more than one, the records' ranks under each model are
    averaged (rank averaging). ``include_weight``: the included class's
    weight relative to class weights inversely proportional to the class
    sizes (1 = "balanced"). ``char``: ``(lo, hi)`` to add character
    n-grams (within words) of the title and abstract to the word n-grams.
    ``stem``: if > 0, words are cut to their first ``stem`` letters before
    the word n-grams are formed (a crude stemmer). ``tokens``: ``"words"``
    (a token starts with a letter) or ``"sklearn"`` (scikit-learn's default:
    two or more word characters, numbers included, as ASReview).
    """

    stop_words: bool = True
    title_twice: bool = True
    min_df: int = 2
    max_df: float = 0.9
    char: tuple = ()
    stem: int = 0
    classifiers: tuple = (("svm", 0.5),)
    include_weight: float = 1.0
    tokens: str = "words"

    def describe(self) -> str:
        feats = (f"tfidf(word 1-2 grams{', numbers as words' if self.tokens == 'sklearn' else ''}"
                 f"{', stop words removed' if self.stop_words else ''}"
                 f"{', title twice' if self.title_twice else ''}"
                 f"{f', words cut to {self.stem} letters' if self.stem else ''}, min_df {fmt_plain(self.min_df)}, "
                 f"max_df {fmt_plain(self.max_df)}"
                 f"{' + char {}-{} grams'.format(*self.char) if self.char else ''})")
        names = {"svm": "linear SVM (C={})", "lr": "logistic regression (C={})", "nb": "naive Bayes (alpha={})"}
        clf = " + ".join(names[n].format(fmt_plain(c)) for n, c in self.classifiers)
        rank = ", ranks averaged" if len(self.classifiers) > 1 else ""
        name = "ASReview's ELAS u4 configuration: " if self == ELAS_U4 else ""
        return (f"{name}{feats}; {clf}; class weights balanced x {fmt_plain(self.include_weight)} "
                f"for includes{rank}")


#: ASReview LAB's published default configuration "ELAS u4" (see the module's docstring and [4])
ELAS_U4 = ModelSpec(stop_words=False, title_twice=False, min_df=1, max_df=0.95, classifiers=(("svm", 0.11),),
                    include_weight=9.8, tokens="sklearn")

#: the model the workbench and ``review simulate`` use (benchmarks/screening/model_selection.py compares others)
DEFAULT_SPEC = ELAS_U4


def _texts(titles, abstracts, title_twice: bool = True) -> list[str]:
    out = []
    for t, a in zip(titles, abstracts):
        t = t if isinstance(t, str) else ""
        a = a if isinstance(a, str) else ""
        # the title may count twice: it is written to be informative
        out.append(f"{t} {t} {a}".strip() if title_twice else f"{t} {a}".strip())
    return out


def _ranks(s: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 of ``s`` (ties averaged), scaled to 0..1."""
    from scipy.stats import rankdata

    return (rankdata(s) - 1) / max(len(s) - 1, 1)


class Ranker:
    """TF-IDF features of a fixed set of records and a classifier refitted on
    any labelled subset.

    Parameters
    ----------
    titles, abstracts : sequences of str (missing = empty)
    spec : the model (default :data:`DEFAULT_SPEC`)
    """

    def __init__(self, titles: Sequence, abstracts: Sequence, spec: ModelSpec | None = None):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.spec = spec = spec or DEFAULT_SPEC
        texts = _texts(titles, abstracts, spec.title_twice)
        self.n = len(texts)
        if self.n == 0:
            self.X = None
            return
        min_df = spec.min_df if self.n >= 50 else 1
        # "words": tokens start with a letter (numbers and dosages are not words); "sklearn": scikit-learn's
        # default, any run of two or more word characters
        pattern = r"(?u)\b[^\W\d_][\w-]+\b" if spec.tokens == "words" else r"(?u)\b\w\w+\b"
        kw = {}
        if spec.stem:
            import re

            from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

            rx, stop, k = re.compile(pattern), ENGLISH_STOP_WORDS if spec.stop_words else frozenset(), spec.stem

            def analyzer(doc):
                toks = [w[:k] for w in rx.findall(doc.lower()) if w not in stop]
                return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:])]

            kw["analyzer"] = analyzer
        else:
            kw.update(ngram_range=(1, 2), stop_words="english" if spec.stop_words else None, token_pattern=pattern)
        vec = TfidfVectorizer(min_df=min_df, max_df=spec.max_df, sublinear_tf=True, dtype=np.float32,
                              max_features=MAX_FEATURES, **kw)
        try:
            X = vec.fit_transform(texts).tocsr()
        except ValueError:  # empty vocabulary (no text at all)
            self.X = None
            return
        if spec.char:
            import scipy.sparse as sp

            cvec = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(spec.char), min_df=max(min_df, 2),
                                   max_df=spec.max_df, sublinear_tf=True, dtype=np.float32, max_features=MAX_FEATURES)
            C_ = cvec.fit_transform(_texts(titles, abstracts, False))
            X = sp.hstack([X, C_], format="csr") * np.float32(1 / math.sqrt(2))
        self.X = X

    def _fit_one(self, name: str, c: float, Xl, y, w):
        if name == "svm":
            from sklearn.svm import LinearSVC

            m = LinearSVC(C=c)
            m.fit(Xl, y, sample_weight=w)
            return m.decision_function(self.X)
        if name == "lr":
            from sklearn.linear_model import LogisticRegression

            m = LogisticRegression(C=c, solver="liblinear")
            m.fit(Xl, y, sample_weight=w)
            return m.decision_function(self.X)
        if name == "nb":
            from sklearn.naive_bayes import MultinomialNB

            m = MultinomialNB(alpha=c)
            m.fit(Xl, y, sample_weight=w)
            lp = m.predict_log_proba(self.X)
            return lp[:, 1] - lp[:, 0]
        raise ValueError(name)

    def scores(self, labelled: Sequence[int], labels: Sequence[int]) -> np.ndarray | None:
        """Scores (higher = more likely included) for all records, from a
        model fitted on ``labelled`` row indices with 0/1 ``labels`` (the
        decision values of the single classifier, or the averaged 0-1 ranks of
        several); ``None`` until both classes are present."""
        y = np.asarray(labels, dtype=int)
        if self.X is None or len(y) == 0 or y.min() == y.max():
            return None
        idx = np.asarray(labelled, dtype=int)
        n1 = int(y.sum())
        n0 = len(y) - n1
        # class weights inversely proportional to class sizes, includes multiplied by include_weight
        w = np.where(y == 1, len(y) / (2 * n1) * self.spec.include_weight, len(y) / (2 * n0))
        w = w * (len(y) / w.sum())
        Xl = self.X[idx]
        outs = [self._fit_one(n, c, Xl, y, w) for n, c in self.spec.classifiers]
        if len(outs) == 1:
            return outs[0]
        return np.mean([_ranks(o) for o in outs], axis=0)

    def probabilities(self, labelled: Sequence[int], labels: Sequence[int],
                      scores: np.ndarray | None = None) -> np.ndarray | None:
        """Rough probabilities of inclusion for the stopping indicator: the
        scores mapped by a logistic curve fitted to the labelled
        records (Platt 1999 scaling, in-sample, so optimistic); ``None``
        until both classes are present."""
        y = np.asarray(labels, dtype=int)
        s = self.scores(labelled, labels) if scores is None else scores
        if s is None:
            return None
        from sklearn.linear_model import LogisticRegression

        idx = np.asarray(labelled, dtype=int)
        platt = LogisticRegression(C=1.0)
        platt.fit(s[idx].reshape(-1, 1), y)
        return platt.predict_proba(s.reshape(-1, 1))[:, 1]

    def order(self, candidates: Sequence[int], labelled: Sequence[int], labels: Sequence[int]) -> list[int]:
        """``candidates`` (row indices) most likely included first; input
        order when no model can be fitted yet."""
        cand = np.asarray(candidates, dtype=int)
        s = self.scores(labelled, labels)
        if s is None or len(cand) == 0:
            return [int(i) for i in cand]
        ranked = cand[np.argsort(-s[cand], kind="stable")]
        return [int(i) for i in ranked]


# =========================================================================== metrics

def wss(order_labels: Sequence[int], recall: float = 0.95) -> float:
    """Work saved over sampling at ``recall`` (Cohen et al. 2006):
    ``(N - n) / N - (1 - recall)`` with ``n`` the number of records screened,
    in the given order, until ``ceil(recall * n_included)`` inclusions are
    found. ``order_labels``: the 0/1 labels in screening order."""
    y = np.asarray(order_labels, dtype=int)
    N, k = len(y), int(y.sum())
    if k == 0:
        return math.nan
    need = math.ceil(round(recall * k, 9))
    n = int(np.searchsorted(np.cumsum(y), need) + 1)
    return (N - n) / N - (1 - recall)


def rrf(order_labels: Sequence[int], percent: float = 10.0) -> float:
    """Relevant records found: the proportion of included records among the
    first ``ceil(percent% of N)`` screened (ASReview's RRF@10)."""
    y = np.asarray(order_labels, dtype=int)
    N, k = len(y), int(y.sum())
    if k == 0:
        return math.nan
    n = math.ceil(round(percent / 100 * N, 9))
    return float(y[:n].sum() / k)


# =========================================================================== simulation

@dataclass(frozen=True)
class SimulationResult:
    """A simulated screening run (``hepatostat review simulate``)."""

    n_records: int
    n_included: int
    wss95: float
    wss100: float
    rrf10: float
    order: tuple
    seed: int
    priors: tuple
    retrains: int
    seconds: float
    notes: tuple = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"n_records": self.n_records, "n_included": self.n_included, "wss95": self.wss95,
                "wss100": self.wss100, "rrf10": self.rrf10, "order": list(self.order), "seed": self.seed,
                "priors": list(self.priors), "retrains": self.retrains, "seconds": self.seconds,
                "model": DEFAULT_SPEC.describe(), "notes": list(self.notes)}

    def summary(self) -> str:
        return (f"{fmt_n(self.n_records)} records, {fmt_n(self.n_included)} included; WSS@95 = "
                f"{fmt_fixed(self.wss95, 3)}, WSS@100 = {fmt_fixed(self.wss100, 3)}, RRF@10 = {fmt_fixed(self.rrf10, 3)} "
                f"(seed {self.seed}, priors {list(self.priors)}, {fmt_n(self.retrains)} retrains, "
                f"{fmt_seconds(self.seconds)})")


def draw_priors(labels, seed: int) -> tuple[int, int]:
    """The simulation's two starting records: one random included and one
    random excluded row, drawn with ``numpy.random.default_rng(seed)``."""
    y = np.asarray(labels, dtype=int)
    rng = np.random.default_rng(seed)
    inc0 = int(rng.choice(np.flatnonzero(y == 1)))
    exc0 = int(rng.choice(np.flatnonzero(y == 0)))
    return inc0, exc0


def simulate(titles, abstracts, labels, *, seed: int = 0, ranker: Ranker | None = None) -> SimulationResult:
    """Simulate screening with the workbench's prioritisation.

    Starts from one random included and one random excluded record (drawn
    with ``numpy.random.default_rng(seed)``), then repeatedly refits the
    model on every label seen so far and screens the top-ranked unscreened
    record, revealing its label. Once every included record has been found,
    the rest follow in the last model's order without refitting (that part
    of the order changes none of the metrics).
    """
    import time

    y = np.asarray(labels, dtype=int)
    N = len(y)
    if N == 0:
        raise InputError("no records to simulate")
    if not set(np.unique(y)) <= {0, 1}:
        raise InputError("label_included must be 0 or 1")
    k = int(y.sum())
    if k == 0 or k == N:
        raise InputError(f"the simulation needs at least one included and one excluded record "
                         f"(found {k} included of {N})", column="label_included")
    t0 = time.perf_counter()
    inc0, exc0 = draw_priors(y, seed)
    r = ranker or Ranker(titles, abstracts)
    order = [inc0, exc0]
    screened = np.zeros(N, dtype=bool)
    screened[order] = True
    found = int(y[inc0])
    retrains = 0
    s = None
    while len(order) < N:
        if found == k and s is not None:
            rest = np.flatnonzero(~screened)
            order.extend(int(i) for i in rest[np.argsort(-s[rest], kind="stable")])
            break
        lab = np.asarray(order)
        s = r.scores(lab, y[lab])
        retrains += 1
        if s is None:  # no usable features: input order
            rest = np.flatnonzero(~screened)
            order.extend(int(i) for i in rest)
            break
        s_masked = np.where(screened, -np.inf, s)
        nxt = int(np.argmax(s_masked))
        order.append(nxt)
        screened[nxt] = True
        found += int(y[nxt])
    ol = y[np.asarray(order)]
    return SimulationResult(n_records=N, n_included=k, wss95=wss(ol, 0.95), wss100=wss(ol, 1.0), rrf10=rrf(ol, 10),
                            order=tuple(order), seed=int(seed), priors=(inc0, exc0), retrains=retrains,
                            seconds=time.perf_counter() - t0)


# =========================================================================== labelled input

def read_labelled(path) -> tuple[list[str], list[str], list[int]]:
    """Titles, abstracts and 0/1 labels of a labelled screening set.

    CSV: columns ``title``, ``abstract`` and ``label_included`` (names
    case-insensitive; other columns ignored; a blank title or abstract is
    allowed). RIS: each record's label from an ``LB`` field (0/1) or, as
    ASReview writes it, ``N1  - ASReview_relevant`` / ``ASReview_irrelevant``.
    Raises :class:`InputError` naming the file, row/record and value.
    """
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    suffix = p.suffix.lower()
    if suffix in (".ris", ".txt"):
        return _read_labelled_ris(p)
    if suffix not in (".csv", ".tsv"):
        raise InputError(f"unknown format {suffix or '(none)'}; allowed: .csv, .ris", file=p)
    import pandas as pd

    try:
        frame = pd.read_csv(p, dtype=str, keep_default_na=False, sep="\t" if suffix == ".tsv" else ",",
                            encoding="utf-8-sig")
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the CSV: {str(exc).splitlines()[0]}", file=p) from None
    cols = {str(c).strip().lower(): c for c in frame.columns}
    for need in ("title", "label_included"):
        if need not in cols:
            raise InputError(f"missing column '{need}'; a labelled set needs title, abstract and label_included "
                             f"(0/1); found: {', '.join(map(str, frame.columns))}", file=p)
    titles = frame[cols["title"]].tolist()
    abstracts = frame[cols["abstract"]].tolist() if "abstract" in cols else [""] * len(frame)
    labels = []
    for i, v in enumerate(frame[cols["label_included"]], start=2):
        s = str(v).strip()
        if s in ("1", "1.0"):
            labels.append(1)
        elif s in ("0", "0.0"):
            labels.append(0)
        else:
            raise InputError("label_included must be 0 or 1", file=p, row=i, column="label_included", value=s)
    if not labels:
        raise InputError("the file has no records", file=p)
    return titles, abstracts, labels


def _read_labelled_ris(p) -> tuple[list[str], list[str], list[int]]:
    import re

    from .records import decode_bytes

    text, _ = decode_bytes(p.read_bytes())
    tag = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*))?$")
    titles, abstracts, labels = [], [], []
    cur: dict[str, list[str]] = {}
    start_line = 0
    n = 0
    for ln, raw in enumerate(text.splitlines(), start=1):
        m = tag.match(raw.rstrip())
        if not m:
            continue
        k, v = m.group(1), (m.group(2) or "").strip()
        if k == "TY":
            cur, start_line = {}, ln
        if k == "ER":
            n += 1
            lab = None
            for x in cur.get("LB", []):
                if x in ("0", "1"):
                    lab = int(x)
                else:
                    raise InputError("LB (label_included) must be 0 or 1", file=p, row=start_line,
                                     column="LB", value=x)
            notes = " ".join(cur.get("N1", []))
            if lab is None and "ASReview_relevant" in notes:
                lab = 1
            elif lab is None and "ASReview_irrelevant" in notes:
                lab = 0
            if lab is None:
                raise InputError(f"record {n} has no label (an LB field 0/1, or N1 ASReview_relevant/irrelevant)",
                                 file=p, row=start_line, column="LB")
            titles.append(" ".join(cur.get("TI", []) or cur.get("T1", [])))
            abstracts.append(" ".join(cur.get("AB", []) or cur.get("N2", [])))
            labels.append(lab)
            cur = {}
            continue
        cur.setdefault(k, []).append(v)
    if not labels:
        raise InputError("no RIS records (TY ... ER) found", file=p)
    return titles, abstracts, labels
