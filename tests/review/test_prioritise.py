"""The prioritisation model: model variants, class weights, rank averaging,
starting records."""

from __future__ import annotations

import numpy as np
import pytest

from hepatostat.review.prioritise import DEFAULT_SPEC, ELAS_U4, ModelSpec, Ranker, draw_priors, simulate

LIVER = ["cirrhosis stem cell infusion trial", "mesenchymal stem cells in decompensated cirrhosis",
         "autologous bone marrow cells for liver failure", "stem cell therapy improves MELD in cirrhosis"]
OTHER = ["knee arthroplasty outcomes", "dental caries in children", "asthma inhaler adherence",
         "hip fracture rehabilitation", "school vision screening", "influenza vaccine uptake in adults",
         "migraine prophylaxis trial", "tennis elbow injections"]


def corpus(k=3):
    titles = (LIVER + OTHER) * k
    titles = [f"{t} report {i}" for i, t in enumerate(titles)]
    y = ([1] * len(LIVER) + [0] * len(OTHER)) * k
    return titles, [""] * len(titles), np.asarray(y)


@pytest.mark.parametrize("spec", [DEFAULT_SPEC, ModelSpec(char=(3, 5)), ModelSpec(stem=5),
                                  ModelSpec(classifiers=(("svm", 0.5), ("nb", 1.0))),
                                  ModelSpec(classifiers=(("svm", 0.5), ("lr", 10.0)), include_weight=3.0)])
def test_every_variant_ranks_the_unlabelled_liver_records_first(spec):
    t, a, y = corpus()
    r = Ranker(t, a, spec)
    lab = [0, 1, 2, 3, 4, 5, 6]  # the four liver records, three others (other copies unlabelled)
    s = r.scores(lab, y[lab])
    rest = [i for i in range(len(y)) if i not in lab]
    top = sorted(rest, key=lambda i: -s[i])[: int(y[rest].sum())]
    assert y[top].mean() == 1.0, spec.describe()


def test_balanced_weights_equal_sklearns_balanced_class_weight():
    from sklearn.svm import LinearSVC

    t, a, y = corpus()
    r = Ranker(t, a, ModelSpec())  # include_weight 1: plain class balance
    lab = np.arange(10)
    ref = LinearSVC(C=0.5, class_weight="balanced").fit(r.X[lab], y[lab]).decision_function(r.X)
    assert np.allclose(r.scores(lab, y[lab]), ref, atol=1e-4)  # up to the solver's tolerance


def test_default_is_elas_u4_with_asreviews_sample_weights():
    # ASReview's "balanced" balancer with ratio 9.8: weight 1 for includes, n1 / (9.8 n0) for excludes,
    # scaled to sum to n; LinearSVC(C = 0.11) fitted with them (asreview/models/balancers.py, models.py)
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    assert DEFAULT_SPEC == ELAS_U4
    t, a, y = corpus()
    r = Ranker(t, a)
    texts = [f"{ti} {ab}".strip() for ti, ab in zip(t, a)]
    X = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_df=0.95).fit_transform(texts)
    assert r.X.shape == X.shape
    lab = np.arange(12)
    yl = y[lab]
    w = np.where(yl == 1, 1.0, yl.sum() / (9.8 * (yl == 0).sum()))
    w = w * len(yl) / w.sum()
    ref = LinearSVC(C=0.11).fit(X[lab], yl, sample_weight=w).decision_function(X)
    assert np.allclose(r.scores(lab, yl), ref, atol=1e-4)  # float32 features, solver tolerance


def test_include_weight_moves_scores_towards_inclusion():
    t, a, y = corpus()
    lab = np.arange(12)
    s1 = Ranker(t, a, ModelSpec(include_weight=1.0)).scores(lab, y[lab])
    s5 = Ranker(t, a, ModelSpec(include_weight=5.0)).scores(lab, y[lab])
    assert s5.mean() > s1.mean()


def test_rank_average_is_in_unit_interval_and_none_before_both_classes():
    t, a, y = corpus()
    r = Ranker(t, a, ModelSpec(classifiers=(("svm", 0.5), ("nb", 1.0))))
    s = r.scores([0, 4], [1, 0])
    assert s.min() >= 0 and s.max() <= 1
    assert r.scores([0, 1], [1, 1]) is None


def test_priors_are_seeded_and_simulation_starts_from_them():
    t, a, y = corpus()
    p = draw_priors(y, 7)
    assert p == draw_priors(y, 7) and y[p[0]] == 1 and y[p[1]] == 0
    res = simulate(t, a, y, seed=7)
    assert tuple(res.order[:2]) == p and sorted(res.order) == list(range(len(y)))
    assert res.to_dict()["model"] == DEFAULT_SPEC.describe()
