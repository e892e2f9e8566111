"""The interest taxonomy: Swedish interest categories and the words that signal them.

Free text becomes categories here, so "Hammarby" and "fotboll" count as the same interest.
The data is a plain mapping, key -> {"label": ..., "terms": [...]}, shipped in
matching/data/taxonomy.toml and edited by the coordinators; the term syntax is described
there. Matching works on words: prefixes for inflection and compounds, noun endings for
exact words, compound tails, exclusions, implied categories, text typed without å/ä/ö,
a letter left out or added in longer words, and negation ("inte fotboll"). The word
handling itself is in words.py.
"""

import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .words import (
    KEEP,
    NEGATIONS,
    NOT_FUZZY,
    NOUN_ENDINGS,
    clauses,
    deletions,
    fold_swedish,
    one_indel,
    tokens,
)

MIN_INFIX = 5           # plain terms this long also match inside compounds (köksträdgård)
MIN_FUZZY = 5           # words and terms this long tolerate a letter left out or added


@dataclass(frozen=True)
class _Term:
    category: str
    patterns: tuple[int, ...]      # word-pattern ids, in order
    exclude: bool
    at_end: bool                   # "kör.": last word of its clause (the noun, not "kör bil")


class Taxonomy:
    """Interest categories and their terms. Build with default() or from_mapping()."""

    def __init__(self, categories: Mapping[str, Mapping]):
        self._labels: dict[str, str] = {}
        self._terms: dict[str, list[str]] = {}
        for key, entry in categories.items():
            key = str(key)
            if not key:
                raise ValueError("en kategori saknar nyckel")
            self._labels[key] = str(entry.get("label") or key)
            raw = entry.get("terms") or []
            if isinstance(raw, str):
                raise ValueError(f"kategorin {key}: terms ska vara en lista med ord")
            self._terms[key] = [str(t).strip() for t in raw if str(t).strip()]
        self._compile()
        self._text_cache: dict[str, dict[str, list[str]]] = {}
        self._word_cache: dict[str, frozenset[int]] = {}
        self._info_cache: dict[str, tuple] = {}

    # ------------------------------------------------------------------ construction

    @classmethod
    def default(cls) -> "Taxonomy":
        """The taxonomy shipped with the package (matching/data/taxonomy.toml). Loaded once
        and shared: a Taxonomy never changes after it is built."""
        return _shipped() if cls is Taxonomy else cls.from_mapping(_shipped().to_mapping())

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Mapping]) -> "Taxonomy":
        return cls(mapping)

    def to_mapping(self) -> dict[str, dict]:
        return {key: {"label": self._labels[key], "terms": list(self._terms[key])}
                for key in self._labels}

    def __repr__(self) -> str:
        return f"Taxonomy({len(self._labels)} kategorier)"

    def __eq__(self, other) -> bool:
        return isinstance(other, Taxonomy) and self.to_mapping() == other.to_mapping()

    __hash__ = None  # mutable caches inside; equal by content

    def __getstate__(self):
        # Pickled or deep-copied (sklearn.base.clone) without the caches of past texts.
        state = dict(self.__dict__)
        for cache in ("_text_cache", "_word_cache", "_info_cache"):
            state[cache] = {}
        return state

    def __len__(self) -> int:
        return len(self._labels)

    def __iter__(self):
        return iter(self._labels)

    @property
    def keys(self) -> list[str]:
        return list(self._labels)

    def label(self, key: str) -> str:
        return self._labels[key]

    def includes(self, key: str) -> frozenset[str]:
        """The categories whose matches also count for `key` (its @-terms, transitively)."""
        return self._closure.get(key, frozenset())

    def _compile(self) -> None:
        self._pattern_ids: dict[tuple[str, str], int] = {}
        self._prefix: dict[str, set[int]] = {}
        self._infix: dict[str, set[int]] = {}
        self._exact: dict[str, set[int]] = {}
        self._tail: dict[str, set[int]] = {}
        self._folded: dict[str, dict[str, set[int]]] = {
            "prefix": {}, "infix": {}, "exact": {}, "tail": {}}
        self._fuzzy: dict[str, set[tuple[int, str, str]]] = {}
        self._starts: dict[int, list[_Term]] = {}
        self._complete: set[int] = set()    # patterns that are a whole (positive) term
        includes: dict[str, set[str]] = {key: set() for key in self._labels}
        for key, terms in self._terms.items():
            for raw in terms:
                marker = raw[0] if raw[0] in "=*!@" else ""
                body = raw[len(marker):].strip()
                at_end = body.endswith(".")
                body = body.rstrip(".").strip()
                if marker == "@":
                    if body not in self._labels:
                        raise ValueError(f"kategorin {key}: okänd kategori i {raw!r}")
                    includes[key].add(body)
                    continue
                words = [w for w, _, _ in tokens(body)]
                if not words:
                    continue
                patterns = []
                for position, word in enumerate(words):
                    if marker == "=" or len(word) <= 2:
                        kind = "exact"
                    elif marker == "*" and position == len(words) - 1:
                        kind = "tail"
                    else:
                        kind = "prefix"
                    patterns.append(self._pattern(kind, word))
                term = _Term(key, tuple(patterns), marker == "!", at_end)
                self._starts.setdefault(patterns[0], []).append(term)
                if len(patterns) == 1 and marker != "!":
                    self._complete.add(patterns[0])
        self._closure = {key: frozenset(self._reach(key, includes)) for key in includes}
        self._closure_items = [(k, sorted(v)) for k, v in self._closure.items() if v]
        self.broad = frozenset(k for k, _ in self._closure_items)   # keys with @-terms
        self._order = {key: i for i, key in enumerate(self._labels)}

    @staticmethod
    def _reach(key: str, includes: dict[str, set[str]]) -> set[str]:
        seen, todo = set(), list(includes[key])
        while todo:
            child = todo.pop()
            if child not in seen and child != key:
                seen.add(child)
                todo.extend(includes[child])
        return seen

    def _pattern(self, kind: str, word: str) -> int:
        known = self._pattern_ids.get((kind, word))
        if known is not None:
            return known
        pid = len(self._pattern_ids)
        self._pattern_ids[(kind, word)] = pid
        index = {"prefix": self._prefix, "exact": self._exact, "tail": self._tail}[kind]
        index.setdefault(word, set()).add(pid)
        if kind == "prefix" and len(word) >= MIN_INFIX:
            self._infix.setdefault(word, set()).add(pid)
        plain = fold_swedish(word)
        if plain != word and len(plain) >= MIN_FUZZY:
            self._folded[kind].setdefault(plain, set()).add(pid)
            if kind == "prefix":
                self._folded["infix"].setdefault(plain, set()).add(pid)
        if len(plain) >= MIN_FUZZY and kind != "tail":
            for variant in deletions(plain):
                self._fuzzy.setdefault(variant, set()).add((pid, kind, plain))
        return pid

    # ------------------------------------------------------------------ matching words

    def _word_patterns(self, word: str) -> frozenset[int]:
        found = self._word_cache.get(word)
        if found is None:
            found = self._match_word(word, self._prefix, self._infix, self._exact, self._tail)
            # Only a word that matched no whole term of its own may be a variant of one.
            if not found & self._complete and not (KEEP & set(word)):
                f = self._folded
                found |= self._match_word(word, f["prefix"], f["infix"], f["exact"], f["tail"])
            if (not found & self._complete and len(word) >= MIN_FUZZY
                    and word not in NOT_FUZZY and word not in NEGATIONS):
                found |= self._match_fuzzy(fold_swedish(word))
            found = frozenset(found)
            if len(self._word_cache) < 500_000:
                self._word_cache[word] = found
        return found

    @staticmethod
    def _match_word(word, prefix, infix, exact, tail) -> set[int]:
        found: set[int] = set()
        for end in range(1, len(word) + 1):
            found.update(prefix.get(word[:end], ()))
        for start in range(2, len(word) - MIN_INFIX + 1):
            for end in range(start + MIN_INFIX, len(word) + 1):
                found.update(infix.get(word[start:end], ()))
        found.update(exact.get(word, ()))
        for ending in NOUN_ENDINGS:
            if not word.endswith(ending):
                continue
            stem = word[:len(word) - len(ending)]
            if len(stem) < 3:
                continue
            if ending:  # short words (be, os, ö) only ever match exactly
                found.update(exact.get(stem, ()))
            for start in range(2, len(stem) - 1):   # a compound tail needs a head
                found.update(tail.get(stem[start:], ()))
        return found

    def _match_fuzzy(self, word: str) -> set[int]:
        found: set[int] = set()
        for end in range(MIN_FUZZY - 1, len(word) + 1):
            piece = word[:end]
            for variant in deletions(piece):
                for pid, kind, plain in self._fuzzy.get(variant, ()):
                    if plain[0] != piece[0]:    # people seldom miss the first letter
                        continue
                    if kind == "exact" and end != len(word):
                        continue
                    # "fika" of "fikat" is not "fiska" missing its s: a shortened term only
                    # counts when the word ends there too (fotbol, hocky).
                    if len(piece) < len(plain) and end != len(word):
                        continue
                    if one_indel(piece, plain):
                            found.add(pid)
        return found

    # ------------------------------------------------------------------ categorize

    def categorize(self, text: str) -> dict[str, list[str]]:
        """Category key -> the words of `text` that matched, in the order they appear."""
        return {key: list(words) for key, words in self.categories(text).items()}

    def categories(self, text: str) -> dict[str, tuple[str, ...]]:
        """categorize() without the copy: the shared cached answer, not to be changed."""
        text = text or ""
        cached = self._text_cache.get(text)
        if cached is None:
            cached = self._categorize(text)
            if len(self._text_cache) < 200_000:
                self._text_cache[text] = cached
        return cached

    def _word_info(self, word: str) -> tuple:
        """(patterns, categories of one-word terms, categories it excludes, other terms
        starting with it) for a folded word."""
        info = self._info_cache.get(word)
        if info is None:
            pids = self._word_patterns(word)
            singles, excluded, longer = [], [], []
            for pid in pids:
                for term in self._starts.get(pid, ()):
                    if len(term.patterns) > 1 or term.at_end:
                        longer.append(term)
                    elif term.exclude:
                        excluded.append(term.category)
                    else:
                        singles.append(term.category)
            info = (pids, tuple(dict.fromkeys(singles)), frozenset(excluded), tuple(longer))
            if len(self._info_cache) < 500_000:
                self._info_cache[word] = info
        return info

    def _categorize(self, text: str) -> dict[str, tuple[str, ...]]:
        text = unicodedata.normalize("NFC", text)
        toks = tokens(text)
        if not toks:
            return {}
        infos = [self._word_info(word) for word, _, _ in toks]
        if not any(info[1] or info[3] for info in infos):
            return {}
        if any(info[3] for info in infos) or not NEGATIONS.isdisjoint(w for w, _, _ in toks):
            negated, clause_end = clauses(text, toks)
        else:
            negated = clause_end = None
        hits: list[tuple[int, int, str]] = []      # (first token, last token, category)
        blocked: set[tuple[int, str]] = set()
        for i, (_, singles, excluded, longer) in enumerate(infos):
            for key in excluded:
                blocked.add((i, key))
            for key in singles:
                hits.append((i, i, key))
            for term in longer:
                n = len(term.patterns)
                if i + n > len(toks) or (term.at_end and not clause_end[i + n - 1]):
                    continue
                if all(term.patterns[j] in infos[i + j][0] for j in range(1, n)):
                    if term.exclude:
                        blocked.update((i + j, term.category) for j in range(n))
                    else:
                        hits.append((i, i + n - 1, term.category))
        found: dict[str, list[tuple[int, str]]] = {}
        spans: dict[str, list[tuple[int, int]]] = {}
        for first, last, key in sorted(hits, key=lambda h: (h[0], -h[1])):
            if (negated and negated[first]) or (blocked and any((t, key) in blocked
                                                  for t in range(first, last + 1))):
                continue
            if any(a <= first and last <= b for a, b in spans.get(key, ())):
                continue        # "P1" inside "Sommar i P1": the phrase says it
            spans.setdefault(key, []).append((first, last))
            found.setdefault(key, []).append((first, text[toks[first][1]:toks[last][2]]))
        for key, children in self._closure_items:
            extra = [hit for child in children if child in found for hit in found[child]]
            if extra:
                found.setdefault(key, []).extend(extra)
        result = {}
        for key in sorted(found, key=lambda k: (min(found[k])[0], self._order[k])):
            words: dict[str, str] = {}
            for _, surface in sorted(found[key]):
                words.setdefault(surface.casefold(), surface)
            result[key] = tuple(words.values())
        return result


@lru_cache(maxsize=1)
def _shipped() -> Taxonomy:
    data = resources.files("matching").joinpath("data/taxonomy.toml").read_bytes()
    return Taxonomy.from_mapping(tomllib.loads(data.decode("utf-8")))
