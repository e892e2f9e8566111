"""The assignment for the whole waiting list: first as many seniors as possible get a
volunteer, then the total similarity is as large as possible, and among equal answers the
seniors who have waited longest win. Optimal on the candidate graph it is given.

A minimum-cost full matching (scipy.sparse.csgraph.min_weight_full_bipartite_matching,
LAPJVsp) on a sparse graph: a volunteer with room for two seniors is two "places"; each row
also gets its own "stay unmatched" place, so a full matching always exists. Costs:

    senior i with volunteer j:  2 - s_ij - TIE * p_i * (1 + s_ij)
    row left unmatched:         BIG = min(rows, columns) + 2

s_ij in [0, 1] is the similarity and p_i in [0, 1] the senior's waiting priority (1 = waited
longest). A matched pair costs 1 to 2 and an unmatched row more than any possible gain in
similarity, so the number matched always comes first. (With "1 + similarity" as the only
reward, a long augmenting path could trade a matched senior for similarity.) The TIE term
only decides between answers whose similarity totals differ by less than about TIE, and
then gives the better volunteer to the senior who has waited longer.

Two things keep LAPJVsp fast (measured on 50 000 x 50 000 candidate graphs): the smaller
side is made the rows (14 s against 205 s), and only rows that some maximum matching leaves
unmatched get an "unmatched" place (19 s with a place for every row, 8 s with none). Those
rows are found with Hopcroft-Karp (maximum_bipartite_matching) and one breadth-first search
along alternating paths (the Dulmage-Mendelsohn decomposition): every other row is matched
in every maximum matching, so the optimum matches it anyway.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import (
    breadth_first_order,
    maximum_bipartite_matching,
    min_weight_full_bipartite_matching,
)

TIE = 1e-6


def costs(scores: np.ndarray, priority: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    return 2.0 - scores - TIE * np.asarray(priority, dtype=np.float64) * (1.0 + scores)


def assign(seniors: np.ndarray, volunteers: np.ndarray, scores: np.ndarray,
           capacity: np.ndarray, priority: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Optimal (senior, volunteer) index pairs among the given feasible edges.

    seniors, volunteers, scores: one entry per feasible edge (no pair twice);
    capacity: places per volunteer (>= 1); priority: per senior, in [0, 1]."""
    seniors = np.asarray(seniors, dtype=np.int64)
    volunteers = np.asarray(volunteers, dtype=np.int64)
    if not len(seniors):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    capacity = np.asarray(capacity, dtype=np.int64)
    edge_cost = costs(scores, np.asarray(priority)[seniors])

    # One column per place: a volunteer with capacity 2 appears twice.
    copies = capacity[volunteers]
    first_place = np.concatenate([[0], np.cumsum(capacity)[:-1]])
    edge = np.repeat(np.arange(len(seniors)), copies)
    offset = np.arange(len(edge)) - np.repeat(np.cumsum(copies) - copies, copies)
    place = first_place[volunteers[edge]] + offset
    place_owner = np.repeat(np.arange(len(capacity)), capacity)

    senior_ids, senior_pos = np.unique(seniors[edge], return_inverse=True)
    place_ids, place_pos = np.unique(place, return_inverse=True)
    if len(senior_ids) <= len(place_ids):
        rows, cols, n_rows, n_cols = senior_pos, place_pos, len(senior_ids), len(place_ids)
    else:
        rows, cols, n_rows, n_cols = place_pos, senior_pos, len(place_ids), len(senior_ids)
    graph = sp.csr_matrix((edge_cost[edge], (rows, cols)), shape=(n_rows, n_cols))
    spare = _unmatchable_rows(graph)
    if len(spare):
        big = float(min(n_rows, n_cols) + 2)
        dummies = n_cols + np.arange(len(spare))
        graph = sp.csr_matrix(
            (np.concatenate([edge_cost[edge], np.full(len(spare), big)]),
             (np.concatenate([rows, spare]), np.concatenate([cols, dummies]))),
            shape=(n_rows, n_cols + len(spare)))
    row_ind, col_ind = min_weight_full_bipartite_matching(graph)
    real = col_ind < n_cols
    row_ind, col_ind = row_ind[real], col_ind[real]
    if len(senior_ids) <= len(place_ids):
        matched_seniors, matched_places = senior_ids[row_ind], place_ids[col_ind]
    else:
        matched_seniors, matched_places = senior_ids[col_ind], place_ids[row_ind]
    order = np.argsort(matched_seniors, kind="stable")
    return matched_seniors[order], place_owner[matched_places[order]]


def _unmatchable_rows(graph: sp.csr_matrix) -> np.ndarray:
    """Rows that some maximum matching leaves unmatched: those reachable from an unmatched
    row by alternating paths (any edge from a row, the matched edge back from a column)."""
    n_rows, n_cols = graph.shape
    match = maximum_bipartite_matching(graph, perm_type="column")   # row -> column or -1
    free = np.flatnonzero(match < 0)
    if not len(free):
        return free
    coo = graph.tocoo()
    matched = np.flatnonzero(match >= 0)
    source = n_rows + n_cols
    heads = np.concatenate([coo.row, n_rows + match[matched], np.full(len(free), source)])
    tails = np.concatenate([n_rows + coo.col, matched, free])
    walk = sp.csr_matrix((np.ones(len(heads), dtype=np.int8), (heads, tails)),
                         shape=(source + 1, source + 1))
    reached = breadth_first_order(walk, source, directed=True, return_predecessors=False)
    return np.sort(reached[reached < n_rows])
