"""InterestMatcher: pairs waiting seniors with volunteers (a scikit-learn style estimator).

fit() runs four stages, each logged on the "matching" logger (DEBUG) with its duration:
vectorise (taxonomy categories + char n-gram TF-IDF), candidates (candidates.py),
assignment (assignment.py) and explanations (explain.py).
"""

import logging
import time
from collections.abc import Collection, Hashable, Sequence
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from . import candidates
from .assignment import assign
from .constraints import check_records, encode, is_available
from .explain import describe
from .records import Proposal, SeniorRecord, VolunteerRecord
from .taxonomy import Taxonomy
from .text import InterestVectorizer

log = logging.getLogger("matching")

# Up to this many senior x volunteer pairs every feasible pair is a candidate, so the
# assignment is the exact optimum; above it each senior keeps its top_k.
EXACT_PAIRS = 4_000_000
# Candidate scores come from float32 blocks; up to this many they are recomputed in float64,
# so the assignment and the proposals use exactly the scores score() gives.
RESCORE_EDGES = 100_000


class InterestMatcher(BaseEstimator):
    """Proposes one volunteer per waiting senior, optimal for the whole waiting list.

    Parameters
    ----------
    taxonomy : Taxonomy or None (Taxonomy.default())
    category_weight : weight of shared interest categories; 1 - it goes to char n-gram
        TF-IDF text similarity. Scores stay in [0, 1].
    top_k : candidates kept per senior in large runs (plus each volunteer's own best seniors
        when no senior kept them); None keeps every feasible pair.
    n_alternatives : next-best volunteers shown with each proposal.
    n_jobs : threads for the candidate search (None: 1, -1: all processors).

    Learned: proposals_, unmatched_, n_matched_, total_score_, taxonomy_, vectorizer_,
    n_candidates_, timings_ (seconds per stage).
    """

    def __init__(self, taxonomy=None, category_weight=0.7, top_k=50, n_alternatives=2,
                 n_jobs=None):
        self.taxonomy = taxonomy
        self.category_weight = category_weight
        self.top_k = top_k
        self.n_alternatives = n_alternatives
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ fit

    def fit(self, seniors: Sequence[SeniorRecord], volunteers: Sequence[VolunteerRecord],
            rejected: Collection[tuple[Hashable, Hashable]] = ()):
        self._check_params()
        seniors, volunteers = list(seniors), list(volunteers)
        check_records(seniors, volunteers)
        self.timings_ = {}
        self.taxonomy_ = self.taxonomy if self.taxonomy is not None else Taxonomy.default()
        volunteers = [v for v in volunteers if is_available(v)]
        with self._stage("vectorise"):
            rows, cols = self._vectorise(seniors, volunteers)
        with self._stage("candidates"):
            edges = self._candidates(seniors, volunteers, rows, cols, rejected)
        with self._stage("assignment"):
            order = sorted(range(len(seniors)), key=lambda i: seniors[i].waiting_since)
            waits = np.array([s.waiting_since for s in seniors], dtype=np.float64)
            distinct, rank = np.unique(waits, return_inverse=True)
            priority = 1.0 - rank / max(1, len(distinct) - 1)
            capacity = np.array([v.free_capacity for v in volunteers], dtype=np.int64)
            matched_s, matched_v = assign(*edges, capacity, priority)
        with self._stage("explanations"):
            chosen = dict(zip(matched_s.tolist(), matched_v.tolist(), strict=True))
            self._propose(seniors, volunteers, edges, chosen, order)
        del self._profiles
        return self

    def _check_params(self):
        if not isinstance(self.category_weight, Real) or not 0 <= self.category_weight <= 1:
            raise ValueError("category_weight ska vara ett tal från 0 till 1")
        if self.top_k is not None and (not isinstance(self.top_k, Integral) or self.top_k < 1):
            raise ValueError("top_k ska vara None eller ett heltal ≥ 1")
        if not isinstance(self.n_alternatives, Integral) or self.n_alternatives < 0:
            raise ValueError("n_alternatives ska vara ett heltal ≥ 0")
        if self.taxonomy is not None and not isinstance(self.taxonomy, Taxonomy):
            raise TypeError("taxonomy ska vara en Taxonomy eller None")

    @contextmanager
    def _stage(self, name: str):
        log.debug("stage %s start", name)
        start = time.perf_counter()
        yield
        self.timings_[name] = time.perf_counter() - start
        log.debug("stage %s end %.3f s", name, self.timings_[name])

    def _vectorise(self, seniors, volunteers):
        texts = [s.interests for s in seniors] + [v.interests for v in volunteers]
        self.vectorizer_ = InterestVectorizer()
        words = self.vectorizer_.fit_word_weights(texts)
        profiles = [self.taxonomy_.categories(t) for t in texts]
        cats = self._category_matrix(profiles)
        codes = {c for r in seniors for c in r.languages} | {c for r in volunteers
                                                              for c in r.languages}
        language_index = {c: i for i, c in enumerate(sorted(codes))}
        n = len(seniors)
        rows = candidates.Side(*encode(seniors, language_index, seniors=True),
                               words=words[:n].astype(np.float32),
                               categories=cats[:n].astype(np.float32))
        cols = candidates.Side(*encode(volunteers, language_index, seniors=False),
                               words=words[n:].astype(np.float32),
                               categories=cats[n:].astype(np.float32))
        self._profiles = (profiles, words, cats)
        return rows, cols

    def _category_matrix(self, profiles) -> sp.csr_matrix:
        index = {key: i for i, key in enumerate(self.taxonomy_.keys)}
        indptr, indices = [0], []
        for found in profiles:
            indices.extend(index[k] for k in found)
            indptr.append(len(indices))
        counts = np.diff(indptr)
        data = np.repeat(1.0 / np.sqrt(np.maximum(counts, 1)), counts)
        return sp.csr_matrix((data, indices, indptr), shape=(len(profiles), len(index)),
                             dtype=np.float64)

    def _candidates(self, seniors, volunteers, rows, cols, rejected):
        s_index = {s.id: i for i, s in enumerate(seniors)}
        v_index = {v.id: j for j, v in enumerate(volunteers)}
        excluded = {(s_index[s], v_index[v]) for s, v in rejected
                    if s in s_index and v in v_index}
        scorer = candidates.Scorer(self.vectorizer_, self.category_weight)
        k = self.top_k
        if k is None or len(seniors) * len(volunteers) <= EXACT_PAIRS:
            k = None
        s_idx, v_idx, score = candidates.search(rows, cols, scorer, k, excluded=excluded,
                                                n_jobs=self.n_jobs)
        if k is not None:
            # Volunteers in nobody's list would otherwise never be used: add their own best.
            unseen = np.setdiff1d(np.arange(len(volunteers)), v_idx)
            if len(unseen):
                v2, s2, sc2 = candidates.search(
                    cols, rows, scorer, k, excluded={(v, s) for s, v in excluded},
                    n_jobs=self.n_jobs, only_rows=unseen)
                s_idx, v_idx = np.concatenate([s_idx, s2]), np.concatenate([v_idx, v2])
                score = np.concatenate([score, sc2])
        score = score.astype(np.float64)
        if len(score) <= RESCORE_EDGES:
            score = self._exact_scores(s_idx, len(seniors) + v_idx)
        self.n_candidates_ = len(score)
        return s_idx, v_idx, np.clip(score, 0.0, 1.0)

    def _exact_scores(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Similarity of profile a[i] with profile b[i] (indices into the fitted texts)."""
        _, words, cats = self._profiles
        text = np.zeros(len(a))
        ngrams = self.vectorizer_.word_ngrams_
        for start in range(0, len(a), 20_000):
            x = words[a[start:start + 20_000]] @ ngrams
            y = words[b[start:start + 20_000]] @ ngrams
            text[start:start + 20_000] = np.asarray(x.multiply(y).sum(axis=1)).ravel()
        cat = np.asarray(cats[a].multiply(cats[b]).sum(axis=1)).ravel()
        w = float(self.category_weight)
        return np.clip(w * cat + (1.0 - w) * text, 0.0, 1.0)

    def _propose(self, seniors, volunteers, edges, chosen: dict, order: list[int]):
        profiles = self._profiles[0]
        n = len(seniors)
        s_idx, v_idx, score = edges
        best = np.lexsort((-score, s_idx))
        s_sorted, v_sorted = s_idx[best], v_idx[best]
        first = np.searchsorted(s_sorted, np.arange(n + 1))

        def alternatives(i, j):
            end = min(first[i + 1], first[i] + self.n_alternatives + 1)
            options = v_sorted[first[i]:end].tolist()
            return [o for o in options if o != j][:self.n_alternatives]

        wanted = []
        for i, j in chosen.items():
            wanted.append((i, j))
            wanted.extend((i, o) for o in alternatives(i, j))
        pairs = np.array(wanted, dtype=np.int64).reshape(-1, 2)
        scores = self._exact_scores(pairs[:, 0], n + pairs[:, 1]) if len(pairs) else []
        exact = dict(zip(map(tuple, pairs.tolist()), scores, strict=True))

        def proposal(i, j, alternatives=()):
            text, keys, langs, slots = describe(seniors[i], volunteers[j], self.taxonomy_,
                                                profiles[i], profiles[n + j])
            return Proposal(seniors[i].id, volunteers[j].id, float(exact[(i, j)]), text,
                            keys, langs, slots, tuple(alternatives))

        self.proposals_, self.unmatched_ = [], []
        for i in order:
            if i in chosen:
                j = int(chosen[i])
                self.proposals_.append(proposal(i, j, [proposal(i, o)
                                                       for o in alternatives(i, j)]))
            else:
                self.unmatched_.append(seniors[i].id)
        self.n_matched_ = len(self.proposals_)
        self.total_score_ = float(sum(p.score for p in self.proposals_))

    # ------------------------------------------------------------------ after fit

    def score(self, senior: SeniorRecord, volunteer: VolunteerRecord) -> float:
        """Interest similarity of any pair in [0, 1] (hard constraints are not checked)."""
        check_is_fitted(self, "vectorizer_")
        x = self.vectorizer_.transform([senior.interests, volunteer.interests])
        text = float(x[0].multiply(x[1]).sum())
        keys = self.taxonomy_.keys
        a = set(self.taxonomy_.categories(senior.interests)) & set(keys)
        b = set(self.taxonomy_.categories(volunteer.interests)) & set(keys)
        cat = len(a & b) / np.sqrt(len(a) * len(b)) if a and b else 0.0
        w = float(self.category_weight)
        return float(np.clip(w * cat + (1.0 - w) * text, 0.0, 1.0))
