"""The blockwise candidate search (matching/candidates.py) against brute force."""

import random

import numpy as np
import pytest
import scipy.sparse as sp

import matching.candidates
from matching import SeniorRecord, Taxonomy, VolunteerRecord, hard_constraint_violations
from matching.candidates import Scorer, Side, search
from matching.constraints import SLOTS, encode
from matching.text import InterestVectorizer

TAXONOMY = Taxonomy.default()
WORDS = ["trädgård", "rosor", "fotboll", "Bajen", "korsord", "sudoku", "bastu", "kör",
         "sjunga", "deckare", "fiske", "resor", "hockey", "kubb", "stickning", "", "opera"]


def population(n_s, n_v, seed, languages=("sv", "fi", "en", "ar"), slots=SLOTS[:6],
               max_slots=3):
    rng = random.Random(seed)
    seniors = [SeniorRecord(
        id=i, interests=" ".join(rng.sample(WORDS, rng.randint(1, 3))),
        languages=frozenset(rng.sample(languages, rng.randint(1, 2))),
        gender=rng.choice(["female", "male"]),
        preferred_gender=rng.choice(["any", "female", "male"]),
        slots=frozenset(rng.sample(slots, rng.randint(1, max_slots))),
        waiting_since=0.0) for i in range(n_s)]
    volunteers = [VolunteerRecord(
        id=j, interests=" ".join(rng.sample(WORDS, rng.randint(1, 3))),
        languages=frozenset(rng.sample(languages, rng.randint(1, 2))),
        gender=rng.choice(["female", "male", "other"]),
        slots=frozenset(rng.sample(slots, rng.randint(1, max_slots))),
        free_capacity=1) for j in range(n_v)]
    return seniors, volunteers


def sides(seniors, volunteers, weight=0.7):
    texts = [s.interests for s in seniors] + [v.interests for v in volunteers]
    vectorizer = InterestVectorizer()
    words = vectorizer.fit_word_weights(texts).astype(np.float32)
    keys = TAXONOMY.keys
    cats = np.array([[k in TAXONOMY.categories(t) for k in keys] for t in texts], dtype=float)
    cats /= np.maximum(1, np.linalg.norm(cats, axis=1))[:, None]
    cats = sp.csr_matrix(cats, dtype=np.float32)
    codes = {c: i for i, c in enumerate(sorted({c for r in seniors + volunteers
                                               for c in r.languages}))}
    n = len(seniors)
    rows = Side(*encode(seniors, codes, seniors=True), words=words[:n], categories=cats[:n])
    cols = Side(*encode(volunteers, codes, seniors=False), words=words[n:], categories=cats[n:])
    tfidf = vectorizer.transform(texts).toarray()
    dense = cats.toarray()
    exact = weight * dense[:n] @ dense[n:].T + (1 - weight) * tfidf[:n] @ tfidf[n:].T
    return rows, cols, Scorer(vectorizer, weight), exact


def feasible_matrix(seniors, volunteers, rejected=()):
    return np.array([[not hard_constraint_violations(s, v, rejected=rejected)
                      for v in volunteers] for s in seniors], dtype=bool)


def check(found, exact, feasible, k):
    r, c, score = found
    pairs = list(zip(r.tolist(), c.tolist(), strict=True))
    assert len(set(pairs)) == len(pairs), "a pair came back twice"
    assert feasible[r, c].all(), "an infeasible pair came back"
    assert np.allclose(score, exact[r, c], atol=1e-5)
    for i in range(feasible.shape[0]):
        want = np.sort(exact[i][feasible[i]])[::-1][:k]
        got = np.sort(score[r == i])[::-1]
        assert len(got) == len(want)
        assert np.allclose(got, want, atol=1e-5), i


@pytest.mark.parametrize("k", [None, 1, 3, 10])
def test_top_k_of_every_feasible_pair(k):
    seniors, volunteers = population(150, 120, seed=k or 0)
    rows, cols, scorer, exact = sides(seniors, volunteers)
    feasible = feasible_matrix(seniors, volunteers)
    found = search(rows, cols, scorer, k)
    check(found, exact, feasible, k or len(volunteers))
    if k is None:
        assert len(found[0]) == feasible.sum()


def test_many_call_times_are_tested_pair_by_pair():
    seniors, volunteers = population(80, 80, seed=3, slots=SLOTS, max_slots=21)
    rows, cols, scorer, exact = sides(seniors, volunteers)
    assert any(None in g.parts for g in matching.candidates._groups(rows, cols))
    check(search(rows, cols, scorer, 5), exact, feasible_matrix(seniors, volunteers), 5)


def test_more_languages_than_one_bit_word():
    codes = [f"x{i}" for i in range(70)] + ["sv"]
    seniors, volunteers = population(90, 90, seed=4, languages=codes[60:])
    rows, cols, scorer, exact = sides(seniors, volunteers)
    assert rows.lang.shape[1] == 1
    seniors2, volunteers2 = population(60, 60, seed=5, languages=codes)
    rows2, cols2, scorer2, exact2 = sides(seniors2, volunteers2)
    assert rows2.lang.shape[1] == 2
    for r, c, s, e, people in ((rows, cols, scorer, exact, (seniors, volunteers)),
                               (rows2, cols2, scorer2, exact2, (seniors2, volunteers2))):
        check(search(r, c, s, 4), e, feasible_matrix(*people), 4)


def test_excluded_pairs_and_chosen_rows():
    seniors, volunteers = population(60, 50, seed=6)
    rows, cols, scorer, exact = sides(seniors, volunteers)
    feasible = feasible_matrix(seniors, volunteers)
    excluded = {(i, j) for i in range(60) for j in range(50) if feasible[i, j] and (i + j) % 3}
    found = search(rows, cols, scorer, 3, excluded=excluded)
    allowed = feasible.copy()
    for i, j in excluded:
        allowed[i, j] = False
    check(found, exact, allowed, 3)
    only = np.array([2, 7, 11])
    r, _, _ = search(rows, cols, scorer, 3, only_rows=only)
    assert set(r.tolist()) <= set(only.tolist()) and len(r)


def test_threads_and_the_sparse_kernel_give_the_same_answer(monkeypatch):
    seniors, volunteers = population(200, 200, seed=7)
    rows, cols, scorer, exact = sides(seniors, volunteers)
    one = search(rows, cols, scorer, 5, n_jobs=1)
    two = search(rows, cols, scorer, 5, n_jobs=2)
    assert sorted(zip(*map(np.ndarray.tolist, one), strict=True)) == \
        sorted(zip(*map(np.ndarray.tolist, two), strict=True))
    monkeypatch.setattr(matching.candidates, "MAX_DENSE_KERNEL", 0)
    rows, cols, scorer, exact = sides(seniors, volunteers)
    assert scorer.kernel is None
    check(search(rows, cols, scorer, 5), exact, feasible_matrix(seniors, volunteers), 5)


def test_nobody_on_one_side():
    seniors, volunteers = population(5, 1, seed=8)
    rows, cols, scorer, _ = sides(seniors, volunteers)
    empty = Side(cols.lang[:0], cols.slots[:0], cols.gender[:0], cols.accepts[:0],
                 cols.words[:0], cols.categories[:0])
    for k in (None, 3):
        r, c, s = search(rows, empty, scorer, k)
        assert r.size == c.size == s.size == 0
