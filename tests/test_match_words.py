"""Words of interest texts (matching/words.py)."""

import unicodedata

import pytest

from matching.words import clauses, deletions, fold, fold_swedish, one_indel, tokens


def test_fold_keeps_swedish_letters_and_positions():
    assert fold("Ålder ÄR Öl, café, Ærø, naïve") == "ålder är öl, cafe, ärö, naive"
    assert fold_swedish("körsång på ön") == "korsang pa on"
    text = unicodedata.normalize("NFC", "Fa\u030agel\u0301 och Å")     # decomposed input
    assert [(w, text[s:e]) for w, s, e in tokens(text)] == [
        ("fågel", "Fågeĺ"), ("och", "och"), ("å", "Å")]
    assert [w for w, _, _ in tokens("TV:n, rock’n’roll och V75!")] == [
        "tv:n", "rock'n'roll", "och", "v75"]
    assert tokens("") == [] and tokens(None) == []


def test_negation_reaches_four_words_within_its_clause():
    text = "gillar inte så mycket fotboll eller hockey, men trädgård"
    negated, _ = clauses(text, tokens(text))
    words = [w for w, _, _ in tokens(text)]
    assert [w for w, n in zip(words, negated, strict=True) if n] == [
        "så", "mycket", "fotboll", "eller"]
    text = "inte fotboll. Hockey"
    assert clauses(text, tokens(text))[0] == [False, True, False]


def test_clause_ends():
    text = "sjunger i kör och läser, kör bil"
    _, ends = clauses(text, tokens(text))
    words = [w for w, _, _ in tokens(text)]
    assert [w for w, e in zip(words, ends, strict=True) if e] == ["kör", "läser", "bil"]


@pytest.mark.parametrize("a, b, close", [
    ("fotbol", "fotboll", True), ("deckarre", "deckare", True), ("hocky", "hockey", True),
    ("fotboll", "fotboll", True), ("kyrckan", "kyrkan", True),
    ("fikat", "fiskat", False),        # the first three letters must be right
    ("sätter", "slåtter", False), ("köper", "körer", False),    # no letter typed wrong
    ("fotbollar", "fotboll", False),
])
def test_a_letter_left_out_or_added(a, b, close):
    assert one_indel(a, b) is close
    assert one_indel(b, a) is close


def test_deletions():
    assert deletions("kör") == {"kör", "ör", "kr", "kö"}
