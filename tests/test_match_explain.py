"""Swedish explanations of a pair (matching/explain.py)."""

import pytest

from matching import SeniorRecord, Taxonomy, VolunteerRecord, explain


@pytest.fixture(scope="module")
def taxonomy():
    return Taxonomy.default()


def senior(interests, languages=("sv",), slots=("tue-afternoon",)):
    return SeniorRecord(id=1, interests=interests, languages=frozenset(languages),
                        gender="female", preferred_gender="any", slots=frozenset(slots),
                        waiting_since=0.0)


def volunteer(interests, languages=("sv",), slots=("tue-afternoon",)):
    return VolunteerRecord(id=2, interests=interests, languages=frozenset(languages),
                           gender="female", slots=frozenset(slots), free_capacity=1)


def test_the_example_from_the_issue(taxonomy):
    assert explain(senior("rosor och körsång"), volunteer("trädgårdsarbete, körsång"),
                   taxonomy) == ("Båda gillar trädgård (rosor ↔ trädgårdsarbete) och körsång; "
                                 "båda talar svenska; tisdag eftermiddag passar båda")


def test_same_words_on_both_sides_are_said_once(taxonomy):
    assert explain(senior("Hammarby"), volunteer("Hammarby!"), taxonomy) == (
        "Båda gillar fotboll (Hammarby); båda talar svenska; tisdag eftermiddag passar båda")


def test_a_broad_category_is_left_out_when_a_narrow_one_says_it(taxonomy):
    # fotboll implies sport; saying both would repeat the same words.
    text = explain(senior("Bajen och V75"), volunteer("fotboll och travet"), taxonomy)
    assert text.startswith("Båda gillar fotboll (Bajen ↔ fotboll) och trav (V75 ↔ travet);")
    # Different sports: only the broad one is shared, so it is said.
    assert explain(senior("Hammarby"), volunteer("ishockey"), taxonomy).startswith(
        "Båda gillar sport (Hammarby ↔ ishockey);")


def test_several_languages_and_times(taxonomy):
    text = explain(
        senior("bastu", languages=("fi", "sv"), slots=("thu-evening", "tue-afternoon")),
        volunteer("Bastu och Finland", languages=("sv", "fi", "en"),
                  slots=("mon-morning", "tue-afternoon", "thu-evening")), taxonomy)
    assert text == ("Båda gillar Finland (bastu ↔ Bastu, Finland); båda talar svenska och "
                    "finska; tisdag eftermiddag och torsdag kväll passar båda")


def test_nothing_shared_is_said_honestly(taxonomy):
    assert explain(senior("korsord"), volunteer("fotboll"), taxonomy) == (
        "Inga gemensamma intressen hittades; båda talar svenska; "
        "tisdag eftermiddag passar båda")
    assert explain(senior(""), volunteer(""), taxonomy).startswith(
        "Inga gemensamma intressen hittades;")


def test_a_pair_that_breaks_constraints_says_so(taxonomy):
    assert explain(senior("korsord", languages=("fi",), slots=("mon-morning",)),
                   volunteer("sudoku"), taxonomy) == (
        "Båda gillar korsord (korsord ↔ sudoku); inget gemensamt språk; "
        "ingen gemensam samtalstid")
