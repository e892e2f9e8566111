"""InterestMatcher (matching/matcher.py): hard constraints, optimality, ties, the
scikit-learn estimator contract."""

import itertools
import random
import subprocess
import sys
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

import matching.matcher
from matching import (
    InterestMatcher,
    Proposal,
    SeniorRecord,
    Taxonomy,
    VolunteerRecord,
    hard_constraint_violations,
)
from matching.assignment import costs

TAXONOMY = Taxonomy.default()
INTERESTS = ["trädgård", "rosor och pelargoner", "fotboll", "Hammarby", "Bajen, V75",
             "korsord", "sudoku och korsord", "bastu", "kyrkokör", "sjunga", "", "läsa deckare",
             "stickning", "fiske i skärgården", "resor till Spanien", "hockey", "kubb"]
LANGUAGES = ["sv", "fi", "en", "ar"]
SLOTS = ["mon-morning", "tue-afternoon", "wed-evening", "sat-morning"]
PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def populations(draw, max_seniors=8, max_volunteers=8):
    n_s = draw(st.integers(0, max_seniors))
    n_v = draw(st.integers(0, max_volunteers))
    langs = st.frozensets(st.sampled_from(LANGUAGES), min_size=1, max_size=2)
    slots = st.frozensets(st.sampled_from(SLOTS), max_size=3)
    seniors = [SeniorRecord(
        id=f"s{i}", interests=draw(st.sampled_from(INTERESTS)), languages=draw(langs),
        gender=draw(st.sampled_from(["female", "male"])),
        preferred_gender=draw(st.sampled_from(["any", "any", "female", "male"])),
        slots=draw(slots), waiting_since=float(draw(st.integers(0, 4))))
        for i in range(n_s)]
    volunteers = [VolunteerRecord(
        id=f"v{j}", interests=draw(st.sampled_from(INTERESTS)), languages=draw(langs),
        gender=draw(st.sampled_from(["female", "male", "other"])), slots=draw(slots),
        free_capacity=draw(st.sampled_from([0, 1, 1, 2])),
        status=draw(st.sampled_from(["approved"] * 5 + ["trained"])))
        for j in range(n_v)]
    rejected = set()
    if seniors and volunteers:
        rejected = draw(st.sets(st.tuples(st.sampled_from([s.id for s in seniors]),
                                          st.sampled_from([v.id for v in volunteers])),
                                max_size=4))
    return seniors, volunteers, rejected


def random_population(n_s, n_v, seed, langs=LANGUAGES, slots=SLOTS):
    """A seeded population for sizes hypothesis would be slow at."""
    rng = random.Random(seed)
    seniors = [SeniorRecord(
        id=i, interests=", ".join(rng.sample(INTERESTS, rng.randint(1, 3))),
        languages=frozenset(rng.sample(langs, rng.randint(1, 2))),
        gender=rng.choice(["female", "male"]),
        preferred_gender=rng.choice(["any", "any", "female", "male"]),
        slots=frozenset(rng.sample(slots, rng.randint(1, 2))),
        waiting_since=float(rng.randint(0, 50))) for i in range(n_s)]
    volunteers = [VolunteerRecord(
        id=10_000 + j, interests=", ".join(rng.sample(INTERESTS, rng.randint(1, 3))),
        languages=frozenset(rng.sample(langs, rng.randint(1, 2))),
        gender=rng.choice(["female", "male", "other"]),
        slots=frozenset(rng.sample(slots, rng.randint(1, 2))),
        free_capacity=rng.choice([1, 1, 2])) for j in range(n_v)]
    return seniors, volunteers


def fit(seniors, volunteers, rejected=(), **params):
    return InterestMatcher(taxonomy=TAXONOMY, **params).fit(seniors, volunteers, rejected)


def pairs_of(matcher):
    return [(p.senior_id, p.volunteer_id) for p in matcher.proposals_]


def priorities(seniors):
    waits = np.array([s.waiting_since for s in seniors])
    distinct, rank = np.unique(waits, return_inverse=True)
    return 1.0 - rank / max(1, len(distinct) - 1)


def score_matrix(matcher, seniors, volunteers):
    """Every pair's similarity, computed here from its definition: category cosine and
    TF-IDF cosine weighted by category_weight (checked against score() on a sample)."""
    texts = [s.interests for s in seniors] + [v.interests for v in volunteers]
    tfidf = matcher.vectorizer_.transform(texts).toarray()
    keys = TAXONOMY.keys
    cats = np.array([[k in TAXONOMY.categorize(t) for k in keys] for t in texts], dtype=float)
    cats /= np.maximum(1, np.linalg.norm(cats, axis=1))[:, None]
    w, n = matcher.category_weight, len(seniors)
    result = w * cats[:n] @ cats[n:].T + (1 - w) * tfidf[:n] @ tfidf[n:].T
    rng = random.Random(len(texts))
    for _ in range(5):
        i, j = rng.randrange(len(seniors)), rng.randrange(len(volunteers))
        assert result[i, j] == pytest.approx(matcher.score(seniors[i], volunteers[j]))
    return result


def dense_optimum(matcher, seniors, volunteers, rejected=()):
    """(matched, total) from scipy.optimize.linear_sum_assignment on every pair's score."""
    if not seniors or not volunteers:
        return 0, 0.0
    places = [j for j, v in enumerate(volunteers) for _ in range(max(0, v.free_capacity))]
    score = score_matrix(matcher, seniors, volunteers)[:, places]
    ok = np.array([[not hard_constraint_violations(s, volunteers[j], rejected=rejected)
                    for j in places] for s in seniors], dtype=bool).reshape(len(seniors), -1)
    big = float(min(len(seniors), len(places)) + 2)
    cost = np.where(ok, costs(score, priorities(seniors)[:, None]), 1e6)
    cost = np.hstack([cost, np.where(np.eye(len(seniors)) > 0, big, 1e6)])
    rows, cols = linear_sum_assignment(cost)
    real = (cols < len(places)) & (cost[rows, cols] < 1e6)
    return int(real.sum()), float(score[rows[real], cols[real]].sum())


def brute_force(matcher, seniors, volunteers, rejected=()):
    """The best (matched, total) over every way to give each senior a volunteer or none."""
    options = [[None] + [j for j, v in enumerate(volunteers)
                         if not hard_constraint_violations(s, v, rejected=rejected)]
               for s in seniors]
    score = score_matrix(matcher, seniors, volunteers) if seniors and volunteers else None
    best = (0, 0.0)
    for choice in itertools.product(*options):
        used = [j for j in choice if j is not None]
        if any(used.count(j) > volunteers[j].free_capacity for j in set(used)):
            continue
        total = sum(score[i, j] for i, j in enumerate(choice) if j is not None)
        if (len(used), total) > (best[0], best[1] + 1e-9):
            best = (len(used), total)
    return best


# ------------------------------------------------------------------ hard constraints

def check_proposals(matcher, seniors, volunteers, rejected):
    by_id = {s.id: s for s in seniors}
    vol_by_id = {v.id: v for v in volunteers}
    for p in matcher.proposals_:
        assert isinstance(p, Proposal)
        for option in (p, *p.alternatives):
            assert option.senior_id == p.senior_id
            assert hard_constraint_violations(by_id[option.senior_id],
                                              vol_by_id[option.volunteer_id],
                                              rejected=rejected) == []
            assert 0.0 <= option.score <= 1.0 and option.explanation
            assert option.alternatives == () or option is p
        assert len(p.alternatives) <= matcher.n_alternatives
        ids = [a.volunteer_id for a in p.alternatives]
        assert p.volunteer_id not in ids and len(set(ids)) == len(ids)
    used = [p.volunteer_id for p in matcher.proposals_]
    for v_id in set(used):
        assert used.count(v_id) <= vol_by_id[v_id].free_capacity
    matched = [p.senior_id for p in matcher.proposals_]
    assert len(set(matched)) == len(matched)
    assert sorted(matched + list(matcher.unmatched_), key=str) == sorted(by_id, key=str)
    waits = [by_id[i].waiting_since for i in matched]
    assert waits == sorted(waits)
    assert matcher.n_matched_ == len(matched)
    assert matcher.total_score_ == pytest.approx(sum(p.score for p in matcher.proposals_))


@PROPERTY
@given(populations())
def test_no_proposal_or_alternative_ever_breaks_a_hard_constraint(population):
    seniors, volunteers, rejected = population
    matcher = fit(seniors, volunteers, rejected)
    check_proposals(matcher, seniors, volunteers, rejected)


@PROPERTY
@given(populations(max_seniors=12, max_volunteers=12))
def test_constraints_hold_when_only_the_top_candidates_are_kept(population):
    seniors, volunteers, rejected = population
    with patch.object(matching.matcher, "EXACT_PAIRS", 0):    # the search of large runs
        matcher = fit(seniors, volunteers, rejected, top_k=2)
    check_proposals(matcher, seniors, volunteers, rejected)


# ------------------------------------------------------------------ optimality

@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(populations(max_seniors=5, max_volunteers=4))
def test_optimal_against_brute_force(population):
    seniors, volunteers, rejected = population
    matcher = fit(seniors, volunteers, rejected)
    matched, total = brute_force(matcher, seniors, volunteers, rejected)
    assert matcher.n_matched_ == matched
    assert matcher.total_score_ == pytest.approx(total, abs=1e-4)


@pytest.mark.parametrize("n_s, n_v, seed", [(30, 20, 1), (120, 80, 2), (250, 200, 3),
                                            (300, 120, 4)])
def test_optimal_against_dense_linear_sum_assignment(n_s, n_v, seed):
    seniors, volunteers = random_population(n_s, n_v, seed)
    rejected = {(s.id, v.id) for s, v in zip(seniors[::7], volunteers[::5], strict=False)}
    matcher = fit(seniors, volunteers, rejected)
    matched, total = dense_optimum(matcher, seniors, volunteers, rejected)
    assert 0 < matcher.n_matched_ == matched
    assert matcher.total_score_ == pytest.approx(total, abs=1e-6)


def test_top_candidates_reach_the_same_optimum(monkeypatch):
    monkeypatch.setattr(matching.matcher, "EXACT_PAIRS", 0)
    seniors, volunteers = random_population(300, 300, 5)
    matcher = fit(seniors, volunteers, top_k=50, n_jobs=2)
    assert matcher.n_candidates_ < 300 * 300 * 0.5
    matched, total = dense_optimum(matcher, seniors, volunteers)
    assert matcher.n_matched_ == matched
    assert matcher.total_score_ == pytest.approx(total, rel=1e-6)
    again = fit(seniors, volunteers, top_k=50, n_jobs=1)
    assert pairs_of(again) == pairs_of(matcher)


def test_more_seniors_matched_beats_a_better_score():
    # Greedy would give s1 its favourite v1 and leave s2 with nobody.
    s1, s2 = make_senior(1, "trädgård", 0.0), make_senior(2, "trädgård", 1.0,
                                                          slots={"mon-morning"})
    v1 = make_volunteer(10, "trädgård", slots={"tue-afternoon", "mon-morning"})
    v2 = make_volunteer(11, "fotboll", slots={"tue-afternoon"})
    matcher = fit([s1, s2], [v1, v2])
    assert sorted(pairs_of(matcher)) == [(1, 11), (2, 10)]


# ------------------------------------------------------------------ ties, capacity, rejections

def make_senior(i, interests, waiting, slots=("tue-afternoon",), **kw):
    return SeniorRecord(id=i, interests=interests, languages=frozenset({"sv"}),
                        gender="female", preferred_gender=kw.get("preferred_gender", "any"),
                        slots=frozenset(slots), waiting_since=waiting)


def make_volunteer(j, interests, slots=("tue-afternoon",), capacity=1, **kw):
    return VolunteerRecord(id=j, interests=interests, languages=frozenset({"sv"}),
                           gender=kw.get("gender", "female"), slots=frozenset(slots),
                           free_capacity=capacity, status=kw.get("status", "approved"))


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_longest_waiting_wins_a_tie(order):
    seniors = [make_senior("a", "korsord", 100.0), make_senior("b", "korsord", 50.0)]
    seniors = [seniors[i] for i in order]
    matcher = fit(seniors, [make_volunteer("v", "sudoku")])
    assert pairs_of(matcher) == [("b", "v")] and matcher.unmatched_ == ["a"]


def test_longest_waiting_gets_the_better_volunteer_when_totals_tie():
    seniors = [make_senior("new", "trädgård", 9.0), make_senior("old", "trädgård", 1.0)]
    volunteers = [make_volunteer("good", "trädgård"), make_volunteer("poor", "fotboll")]
    matcher = fit(seniors, volunteers)
    assert pairs_of(matcher) == [("old", "good"), ("new", "poor")]


def test_capacity_two_takes_two_seniors():
    seniors = [make_senior(i, "fiske", float(i)) for i in range(3)]
    matcher = fit(seniors, [make_volunteer("v", "fiske", capacity=2)])
    assert pairs_of(matcher) == [(0, "v"), (1, "v")] and matcher.unmatched_ == [2]


def test_unavailable_volunteers_are_never_proposed():
    seniors = [make_senior(1, "fiske", 0.0)]
    for volunteer in (make_volunteer("v", "fiske", capacity=0),
                      make_volunteer("v", "fiske", status="trained")):
        matcher = fit(seniors, [volunteer])
        assert matcher.proposals_ == [] and matcher.unmatched_ == [1]


def test_rejected_pairs_are_never_proposed_again():
    seniors = [make_senior(1, "fiske", 0.0)]
    volunteers = [make_volunteer("best", "fiske"), make_volunteer("other", "korsord")]
    matcher = fit(seniors, volunteers, rejected={(1, "best")})
    assert pairs_of(matcher) == [(1, "other")]
    assert matcher.proposals_[0].alternatives == ()
    assert fit(seniors, volunteers[:1], rejected=[(1, "best")]).unmatched_ == [1]


def test_gender_wish_is_kept():
    senior = make_senior(1, "fiske", 0.0, preferred_gender="male")
    matcher = fit([senior], [make_volunteer("f", "fiske", gender="female"),
                             make_volunteer("m", "korsord", gender="male")])
    assert pairs_of(matcher) == [(1, "m")]


def test_alternatives_are_the_next_best_with_their_own_explanation():
    senior = make_senior(1, "trädgård och fotboll", 0.0)
    volunteers = [make_volunteer("both", "trädgård, Hammarby"),
                  make_volunteer("garden", "rosor"), make_volunteer("ball", "Bajen"),
                  make_volunteer("none", "stickning")]
    matcher = fit([senior], volunteers)
    proposal = matcher.proposals_[0]
    assert proposal.volunteer_id == "both"
    assert proposal.shared_categories == ("garden", "football")
    assert proposal.shared_languages == ("sv",) and proposal.shared_slots == ("tue-afternoon",)
    alternatives = proposal.alternatives
    assert {a.volunteer_id for a in alternatives} == {"garden", "ball"}
    assert alternatives[0].score >= alternatives[1].score
    assert all(a.explanation.startswith("Båda gillar ") for a in alternatives)
    assert fit([senior], volunteers, n_alternatives=0).proposals_[0].alternatives == ()


# ------------------------------------------------------------------ scores and explanations

def test_scores_match_proposals_and_stay_in_range():
    seniors, volunteers = random_population(40, 30, 7)
    matcher = fit(seniors, volunteers)
    by_id = {v.id: v for v in volunteers}
    s_by_id = {s.id: s for s in seniors}
    for p in matcher.proposals_:
        for option in (p, *p.alternatives):
            assert matcher.score(s_by_id[p.senior_id], by_id[option.volunteer_id]) == \
                pytest.approx(option.score, abs=1e-9)
    same = make_senior(1, "trädgård och rosor", 0.0)
    assert matcher.score(same, make_volunteer(2, "trädgård och rosor")) == pytest.approx(1.0)
    assert matcher.score(same, make_volunteer(2, "")) == 0.0
    assert 0.0 < matcher.score(same, make_volunteer(2, "pelargoner")) < 1.0   # unseen word
    assert matcher.score(make_senior(1, "Hammarby", 0), make_volunteer(2, "fotboll")) >= 0.7


def test_interests_drive_the_pairing():
    seniors = [make_senior(1, "Hammarby", 0.0), make_senior(2, "pyssla i trädgården", 0.0),
               make_senior(3, "Solvalla och V75", 0.0)]
    volunteers = [make_volunteer("garden", "trädgårdsarbete"), make_volunteer("trot", "travet"),
                  make_volunteer("ball", "fotboll, Bajen")]
    matcher = fit(seniors, volunteers)
    assert sorted(pairs_of(matcher)) == [(1, "ball"), (2, "garden"), (3, "trot")]
    explanation = dict(zip(pairs_of(matcher), [p.explanation for p in matcher.proposals_],
                           strict=True))[(2, "garden")]
    assert explanation == ("Båda gillar trädgård (pyssla i trädgården ↔ trädgårdsarbete); "
                           "båda talar svenska; tisdag eftermiddag passar båda")


def test_empty_interests_and_empty_lists():
    matcher = fit([make_senior(1, "", 0.0)], [make_volunteer(2, "")])
    assert pairs_of(matcher) == [(1, 2)] and matcher.proposals_[0].score == 0.0
    assert matcher.proposals_[0].explanation.startswith("Inga gemensamma intressen hittades;")
    nobody = fit([], [])
    assert nobody.proposals_ == [] and nobody.unmatched_ == [] and nobody.total_score_ == 0.0
    alone = fit([make_senior(1, "fiske", 0.0)], [])
    assert alone.unmatched_ == [1] and alone.n_matched_ == 0


# ------------------------------------------------------------------ estimator contract

def test_scikit_learn_estimator_contract():
    assert issubclass(InterestMatcher, BaseEstimator)
    matcher = InterestMatcher(category_weight=5, top_k=-1)          # __init__ only stores
    assert matcher.get_params() == {"taxonomy": None, "category_weight": 5, "top_k": -1,
                                    "n_alternatives": 2, "n_jobs": None}
    matcher.set_params(category_weight=0.5, top_k=10)
    assert matcher.category_weight == 0.5 and matcher.top_k == 10
    twin = clone(InterestMatcher(taxonomy=TAXONOMY, n_alternatives=1))
    assert twin.get_params()["n_alternatives"] == 1 and twin.taxonomy == TAXONOMY
    assert not [a for a in vars(twin) if a.endswith("_")]
    with pytest.raises(NotFittedError):
        twin.score(make_senior(1, "x", 0), make_volunteer(2, "x"))
    seniors, volunteers = random_population(5, 5, 1)
    assert twin.fit(seniors, volunteers) is twin
    learned = {a for a in vars(twin) if a.endswith("_") and not a.startswith("_")}
    assert {"proposals_", "unmatched_", "n_matched_", "total_score_", "taxonomy_",
            "vectorizer_", "timings_"} <= learned
    assert set(twin.timings_) == {"vectorise", "candidates", "assignment", "explanations"}
    assert clone(twin).get_params() == twin.get_params()
    assert "n_alternatives=1" in repr(twin)


@pytest.mark.parametrize("params, message", [
    ({"category_weight": 1.5}, "category_weight"), ({"top_k": 0}, "top_k"),
    ({"n_alternatives": -1}, "n_alternatives"), ({"taxonomy": {"a": 1}}, "Taxonomy"),
])
def test_bad_parameters_are_refused_at_fit(params, message):
    with pytest.raises((ValueError, TypeError), match=message):
        InterestMatcher(**params).fit([], [])


def test_default_taxonomy_and_weights():
    seniors = [make_senior(1, "Bajen", 0.0)]
    volunteers = [make_volunteer(2, "fotboll")]
    text_only = InterestMatcher(category_weight=0.0).fit(seniors, volunteers)
    assert text_only.taxonomy_ == TAXONOMY and text_only.proposals_[0].score < 0.1
    categories_only = InterestMatcher(category_weight=1.0).fit(seniors, volunteers)
    assert categories_only.proposals_[0].score == pytest.approx(1.0)


def test_the_package_never_imports_the_app():
    code = ("import sys, matching; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'sqlmodel', 'sqlalchemy', 'vanringen', 'flask_babel')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
