"""The candidate search: for every person on one side, the best feasible partners on the other.

Every pair that satisfies the hard constraints is scored, but never all at once, and
infeasible pairs are mostly never scored at all:

- people are grouped by a language both speak and by gender compatibility, and each group
  is split by call time, so every pair in a part is feasible and nothing is masked; a pair
  sharing two call times (or languages) is scored in two parts but kept only in the first:
  the owner check runs on each row's k best of a part, not on the whole part, which is
  exact because a row's k best overall are among its k best in the part that owns them;
- a group's rows are taken in chunks; a chunk goes through the word kernel once, then its
  scores against each part come from one sparse x dense product (float32) and
  np.argpartition keeps each row's k best; a per-row buffer merges the parts; chunks run
  on threads (NumPy and SciPy release the GIL in these loops);
- a profile is a short vector of word weights, and text cosines go through the word x word
  kernel of char n-gram TF-IDF (see text.py), so a score costs a handful of multiply-adds.

k=None keeps every feasible pair (small programmes: the assignment is then exact).
"""

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

CHUNK_CELLS = 1 << 21          # scores per chunk (8 MB of float32)
MAX_DENSE_KERNEL = 6000        # distinct words up to which the word kernel is kept dense


@dataclass
class Side:
    """One side of the search (seniors or volunteers) in the encodings of constraints.py."""
    lang: np.ndarray           # (n, words) uint64 language bits
    slots: np.ndarray          # (n,) uint32 call-time bits
    gender: np.ndarray         # (n,) uint8 own gender bit
    accepts: np.ndarray        # (n,) uint8 genders accepted in a partner
    words: sp.csr_matrix       # (n, V) float32 word weights (text.py word_weights)
    categories: sp.csr_matrix  # (n, C) float32 l2-normalised category indicators

    def __len__(self) -> int:
        return self.slots.shape[0]


class Scorer:
    """score(i, j) = w * categories_i . categories_j + (1 - w) * text cosine, in blocks."""

    def __init__(self, vectorizer, category_weight: float):
        self.weight = float(category_weight)
        self.text_scale = np.float32(np.sqrt(1.0 - self.weight))
        self.category_scale = np.float32(np.sqrt(self.weight))
        n_words = vectorizer.word_ngrams_.shape[0]
        self.kernel = vectorizer.word_kernel() if n_words <= MAX_DENSE_KERNEL else None
        self.ngrams = None if self.kernel is not None else \
            vectorizer.word_ngrams_.astype(np.float32)
        self.width = n_words + 64      # a row factor's length, near enough

    def row_factors(self, side: Side, rows: np.ndarray) -> np.ndarray:
        """(len(rows), words + categories) float32: the rows through the word kernel."""
        words = side.words[rows]
        if self.kernel is not None:
            text = words @ self.kernel
        else:
            text = ((words @ self.ngrams) @ self.ngrams.T).toarray()
        return np.hstack([text * self.text_scale,
                          side.categories[rows].toarray() * self.category_scale])

    def column_factors(self, side: Side, cols: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix]:
        """(the row-factor positions these columns use, their factors over those)."""
        words = side.words[cols]
        used = np.unique(words.indices)
        factors = sp.hstack([words[:, used] * self.text_scale,
                             side.categories[cols] * self.category_scale],
                            format="csr", dtype=np.float32)
        n_words = words.shape[1]
        return np.r_[used, n_words + np.arange(side.categories.shape[1])], factors


@dataclass
class _Group:
    """Pairs that share a language and suit each other's gender wishes, split by call time
    (parts[s] holds the columns with call time s) or, when people list so many call times
    that the repeats would cost more, kept whole and tested pair by pair (parts[None])."""
    language: int
    rows: np.ndarray
    row_slots: np.ndarray                       # (rows, 32) bool
    parts: dict                                 # slot or None -> column indices


def _groups(rows: Side, cols: Side) -> Iterator[_Group]:
    n_bits = rows.lang.shape[1] * 64
    row_class = rows.gender.astype(np.int64) * 8 + rows.accepts
    for bit in range(n_bits):
        r_lang, c_lang = np.flatnonzero(_has(rows.lang, bit)), np.flatnonzero(_has(cols.lang, bit))
        if not len(r_lang) or not len(c_lang):
            continue
        for key in np.unique(row_class[r_lang]):
            gender, accepts = key // 8, key % 8
            r_idx = r_lang[row_class[r_lang] == key]
            c_idx = c_lang[((cols.gender[c_lang] & accepts) != 0)
                           & ((cols.accepts[c_lang] & gender) != 0)]
            if not len(c_idx):
                continue
            r_has = _slot_matrix(rows.slots[r_idx])
            c_has = _slot_matrix(cols.slots[c_idx])
            by_slot = r_has.sum(axis=0).astype(np.float64) @ c_has.sum(axis=0)
            if by_slot > 1.7 * len(r_idx) * len(c_idx):
                yield _Group(bit, r_idx, r_has, {None: c_idx})
            else:
                parts = {s: c_idx[c_has[:, s]] for s in range(c_has.shape[1])
                         if c_has[:, s].any() and r_has[:, s].any()}
                if parts:
                    yield _Group(bit, r_idx, r_has, parts)


def _slot_matrix(bits: np.ndarray) -> np.ndarray:
    return ((bits[:, None] >> np.arange(32, dtype=np.uint32)[None, :]) & 1).astype(bool)


def _has(lang: np.ndarray, bit: int) -> np.ndarray:
    return (lang[:, bit // 64] & np.uint64(1 << (bit % 64))) != 0


def _owned(rows: Side, cols: Side, language: int, slot: int | None,
           r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Which pairs (r[i], c[i]) (any equal shapes) belong here: no language and, when split
    by call time, no call time they share comes before this one."""
    owned = np.ones(r.shape, dtype=bool)
    if slot:
        earlier = np.uint32((1 << slot) - 1)
        owned &= (rows.slots[r] & cols.slots[c] & earlier) == 0
    for word in range(language // 64 + 1):
        below = min(64, language - 64 * word)
        if below <= 0:
            break
        earlier = np.uint64((1 << below) - 1) if below < 64 else np.uint64(2**64 - 1)
        owned &= (rows.lang[r, word] & cols.lang[c, word] & earlier) == 0
    return owned


class _Buffer:
    """Each row's k best (score, column) so far."""

    def __init__(self, n: int, k: int):
        self.scores = np.full((n, k), -np.inf, dtype=np.float32)
        self.cols = np.full((n, k), -1, dtype=np.int64)

    def merge(self, rows, scores, cols) -> None:
        k = self.scores.shape[1]
        both_s = np.hstack([self.scores[rows], scores])
        both_c = np.hstack([self.cols[rows], cols])
        pick = np.argpartition(both_s, both_s.shape[1] - k, axis=1)[:, -k:]
        self.scores[rows] = np.take_along_axis(both_s, pick, axis=1)
        self.cols[rows] = np.take_along_axis(both_c, pick, axis=1)


def search(rows: Side, cols: Side, scorer: Scorer, k: int | None, *,
           excluded: set[tuple[int, int]] = frozenset(), n_jobs: int | None = None,
           only_rows: np.ndarray | None = None):
    """Feasible (row, column, score) triples: each row's k best, or all with k=None.
    `excluded` holds (row, column) pairs never to return (rejected earlier);
    `only_rows` limits the search to these rows."""
    wanted = None
    if only_rows is not None:
        wanted = np.zeros(len(rows), dtype=bool)
        wanted[only_rows] = True
    by_row: dict[int, list[int]] = {}
    for r, c in excluded:
        by_row.setdefault(int(r), []).append(int(c))
    by_row = {r: np.array(sorted(c), dtype=np.int64) for r, c in by_row.items()}
    has_excluded = np.zeros(len(rows), dtype=bool)
    has_excluded[list(by_row)] = True

    def score_part(group, slot, c_idx, c_factors, r_chunk, factors):
        scores = c_factors @ factors                                # (cols, rows)
        if slot is None:
            bad = (cols.slots[c_idx][:, None] & rows.slots[r_chunk][None, :]) == 0
            np.copyto(scores, -np.inf, where=bad)
        for j in np.flatnonzero(has_excluded[r_chunk]):
            gone = by_row[int(r_chunk[j])]
            at = np.minimum(np.searchsorted(c_idx, gone), len(c_idx) - 1)
            scores[at[c_idx[at] == gone], j] = -np.inf
        scores = np.ascontiguousarray(scores.T)                      # (rows, cols)
        if k is None or k >= len(c_idx):
            rr, cc = np.nonzero(scores > -np.inf)
            r_out, c_out, s_out = r_chunk[rr], c_idx[cc], scores[rr, cc]
            keep = _owned(rows, cols, group.language, slot, r_out, c_out)
            return r_out[keep], c_out[keep], s_out[keep], False
        pick = np.argpartition(scores, len(c_idx) - k, axis=1)[:, -k:]
        c_out = c_idx[pick]
        s_out = np.take_along_axis(scores, pick, axis=1)
        r_all = np.broadcast_to(r_chunk[:, None], pick.shape)
        s_out[~_owned(rows, cols, group.language, slot, r_all, c_out)] = -np.inf
        return r_chunk, c_out, s_out, True

    def run(group, column_parts, at):
        """One chunk of a group's rows against each of its call-time parts: the rows go
        through the word kernel once."""
        r_chunk = group.rows[at]
        factors = scorer.row_factors(rows, r_chunk)
        out = []
        for slot, (c_idx, (used, c_factors)) in column_parts.items():
            sel = group.row_slots[at, slot] if slot is not None else slice(None)
            if slot is not None and not sel.any():
                continue
            mine = np.ascontiguousarray(factors[sel][:, used].T)    # only the words used
            out.append(score_part(group, slot, c_idx, c_factors, r_chunk[sel], mine))
        return out

    jobs = _jobs(n_jobs)
    buffer = _Buffer(len(rows), k) if k is not None else None
    found = []

    def collect(results):
        for r_out, c_out, s_out, is_topk in results:
            if is_topk:
                buffer.merge(r_out, s_out, c_out)
            elif len(r_out):
                found.append((r_out, c_out, s_out))

    # Groups are prepared one after the other and only a few chunks are in flight, so
    # memory stays flat; results are merged here, in the order they were submitted.
    pending: deque = deque()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for group in _groups(rows, cols):
            chosen = np.arange(len(group.rows))
            if wanted is not None:
                chosen = chosen[wanted[group.rows]]
            if not len(chosen):
                continue
            parts = {s: (c, scorer.column_factors(cols, c)) for s, c in group.parts.items()}
            widest = max(len(c) for c, _ in parts.values())
            step = max(16, min(CHUNK_CELLS // widest, 4 * CHUNK_CELLS // scorer.width))
            for start in range(0, len(chosen), step):
                at = chosen[start:start + step]
                if jobs == 1:
                    collect(run(group, parts, at))
                else:
                    pending.append(pool.submit(run, group, parts, at))
                while len(pending) > 2 * jobs:
                    collect(pending.popleft().result())
        while pending:
            collect(pending.popleft().result())
    if found:
        r_all, c_all, s_all = (np.concatenate([f[i] for f in found]) for i in range(3))
        if buffer is None:
            return r_all, c_all, s_all
        _merge_ragged(buffer, r_all, c_all, s_all)
    if buffer is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, np.float32)
    ok = buffer.scores > -np.inf
    r_idx = np.repeat(np.arange(len(rows)), k).reshape(len(rows), k)
    return r_idx[ok], buffer.cols[ok], buffer.scores[ok]


def _merge_ragged(buffer: _Buffer, rows, cols, scores) -> None:
    """Merge distinct pairs given one by one (rows repeat) into the per-row buffer."""
    k = buffer.scores.shape[1]
    order = np.lexsort((-scores, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    first = np.r_[True, rows[1:] != rows[:-1]]
    starts = np.flatnonzero(first)
    group = np.cumsum(first) - 1
    rank = np.arange(len(rows)) - starts[group]
    keep = rank < k
    wide_s = np.full((len(starts), k), -np.inf, dtype=np.float32)
    wide_c = np.full((len(starts), k), -1, dtype=np.int64)
    wide_s[group[keep], rank[keep]] = scores[keep]
    wide_c[group[keep], rank[keep]] = cols[keep]
    buffer.merge(rows[starts], wide_s, wide_c)


def _jobs(n_jobs: int | None) -> int:
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return max(1, n_jobs)
