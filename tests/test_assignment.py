"""The optimal assignment (matching/assignment.py) against brute force and a dense solver."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import maximum_bipartite_matching

from matching.assignment import _unmatchable_rows, assign, costs


def edges_of(feasible, scores):
    s, v = np.nonzero(feasible)
    return s, v, scores[s, v]


def check_valid(feasible, capacity, ms, mv):
    assert len(set(ms.tolist())) == len(ms)
    assert feasible[ms, mv].all()
    assert (np.bincount(mv, minlength=len(capacity)) <= capacity).all()


def brute_force(feasible, scores, capacity):
    """Best (matched, total) over all ways to give each senior one volunteer or none."""
    n_s, n_v = feasible.shape
    best = (0, 0.0)
    options = [[None] + list(np.flatnonzero(feasible[i])) for i in range(n_s)]
    for choice in itertools.product(*options):
        used = [j for j in choice if j is not None]
        if any(used.count(j) > capacity[j] for j in set(used)):
            continue
        total = sum(scores[i, j] for i, j in enumerate(choice) if j is not None)
        best = max(best, (len(used), total), key=lambda b: (b[0], round(b[1], 9)))
    return best


def dense(feasible, scores, capacity, priority):
    """The same objective with scipy.optimize.linear_sum_assignment on a full matrix."""
    n_s = feasible.shape[0]
    places = np.repeat(np.arange(len(capacity)), capacity)
    big = float(min(n_s, len(places)) + 2)
    cost = np.where(feasible[:, places], costs(scores[:, places], priority[:, None]), 1e9)
    cost = np.hstack([cost, np.where(np.eye(n_s) > 0, big, 1e9)])
    rows, cols = linear_sum_assignment(cost)
    real = (cols < len(places)) & (cost[rows, cols] < 1e9)
    return rows[real], places[cols[real]], cost[rows, cols].sum()


def total_cost(scores, priority, ms, mv, n_s, n_places):
    big = float(min(n_s, n_places) + 2)
    return costs(scores[ms, mv], priority[ms]).sum() + (n_s - len(ms)) * big


@st.composite
def problems(draw, max_s=6, max_v=6):
    n_s, n_v = draw(st.integers(1, max_s)), draw(st.integers(1, max_v))
    feasible = draw(arrays(bool, (n_s, n_v)))
    scores = draw(arrays(np.float64, (n_s, n_v),
                         elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0])))
    capacity = draw(arrays(np.int64, n_v, elements=st.integers(1, 2)))
    priority = draw(arrays(np.float64, n_s, elements=st.floats(0, 1)))
    return feasible, scores, capacity, priority


@settings(max_examples=80, deadline=None)
@given(problems())
def test_optimal_against_brute_force(problem):
    feasible, scores, capacity, priority = problem
    ms, mv = assign(*edges_of(feasible, scores), capacity, priority)
    check_valid(feasible, capacity, ms, mv)
    matched, total = brute_force(feasible, scores, capacity)
    assert len(ms) == matched
    assert scores[ms, mv].sum() == pytest.approx(total, abs=1e-5)


@pytest.mark.parametrize("n_s, n_v, density, seed", [
    (20, 15, 0.3, 0), (60, 60, 0.1, 1), (150, 90, 0.3, 2), (90, 200, 0.05, 3),
    (300, 250, 0.3, 4), (400, 100, 0.02, 5), (120, 400, 0.3, 6),
])
def test_equals_the_dense_optimum(n_s, n_v, density, seed):
    rng = np.random.default_rng(seed)
    feasible = rng.random((n_s, n_v)) < density
    scores = rng.random((n_s, n_v)).round(3)          # ties happen, as with real profiles
    capacity = rng.integers(1, 3, n_v)
    priority = rng.random(n_s)
    ms, mv = assign(*edges_of(feasible, scores), capacity, priority)
    check_valid(feasible, capacity, ms, mv)
    ds, dv, dense_cost = dense(feasible, scores, capacity, priority)
    assert len(ms) == len(ds)
    assert scores[ms, mv].sum() == pytest.approx(scores[ds, dv].sum(), abs=1e-9)
    assert total_cost(scores, priority, ms, mv, n_s, capacity.sum()) == \
        pytest.approx(total_cost(scores, priority, ds, dv, n_s, capacity.sum()), abs=1e-9)
    assert dense_cost >= 0


def test_count_comes_first_even_against_a_long_path():
    # With "1 + similarity" per pair, B-X and C-Y (4.0) would beat A-X, B-Y, C-Z (3.0).
    feasible = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]], dtype=bool)
    scores = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=float)
    ms, mv = assign(*edges_of(feasible, scores), np.ones(3, dtype=int), np.zeros(3))
    assert ms.tolist() == [0, 1, 2] and mv.tolist() == [0, 1, 2]


def test_priority_decides_a_tie():
    feasible = np.ones((2, 1), dtype=bool)
    scores = np.full((2, 1), 0.5)
    for priority, winner in (([1.0, 0.0], 0), ([0.0, 1.0], 1)):
        ms, mv = assign(*edges_of(feasible, scores), np.array([1]), np.array(priority))
        assert ms.tolist() == [winner] and mv.tolist() == [0]
    # With nothing in common either, waiting still decides.
    ms, _ = assign(*edges_of(feasible, np.zeros((2, 1))), np.array([1]), np.array([0.2, 0.9]))
    assert ms.tolist() == [1]


def test_capacity_places_and_no_edges():
    feasible = np.ones((3, 1), dtype=bool)
    ms, mv = assign(*edges_of(feasible, np.full((3, 1), 0.3)), np.array([2]), np.ones(3))
    assert len(ms) == 2 and mv.tolist() == [0, 0]
    empty = np.zeros((2, 2), dtype=bool)
    ms, mv = assign(*edges_of(empty, np.zeros((2, 2))), np.array([1, 1]), np.ones(2))
    assert ms.size == 0 and mv.size == 0


@settings(max_examples=100, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 5), st.integers(1, 5))))
def test_rows_left_unmatched_by_some_maximum_matching(feasible):
    graph = sp.csr_matrix(feasible.astype(float))
    n_rows, n_cols = feasible.shape
    size = int((maximum_bipartite_matching(graph, perm_type="column") >= 0).sum())
    expected = set()
    for cols in itertools.permutations(range(n_cols), min(n_rows, n_cols)):
        for rows in itertools.combinations(range(n_rows), min(n_rows, n_cols)):
            pairs = [(r, c) for r, c in zip(rows, cols, strict=True) if feasible[r, c]]
            if len(pairs) == size:
                expected |= set(range(n_rows)) - {r for r, _ in pairs}
    assert set(_unmatchable_rows(graph).tolist()) == expected
