"""Hard constraints (matching/constraints.py): what a pair breaks, in Swedish."""

import numpy as np
import pytest

from matching import SeniorRecord, VolunteerRecord, hard_constraint_violations
from matching.constraints import check_records, encode, join_sv, slot_name, sorted_languages


def senior(**kw):
    base = dict(id="s1", interests="", languages=frozenset({"sv"}), gender="female",
                preferred_gender="any", slots=frozenset({"tue-afternoon"}), waiting_since=0.0)
    return SeniorRecord(**{**base, **kw})


def volunteer(**kw):
    base = dict(id="v1", interests="", languages=frozenset({"sv"}), gender="male",
                slots=frozenset({"tue-afternoon"}), free_capacity=1)
    return VolunteerRecord(**{**base, **kw})


def test_an_allowed_pair_has_no_violations():
    assert hard_constraint_violations(senior(), volunteer()) == []
    assert hard_constraint_violations(senior(preferred_gender="male"), volunteer()) == []


@pytest.mark.parametrize("s, v, message", [
    (senior(languages=frozenset({"fi"})), volunteer(languages=frozenset({"en", "sv"})),
     "Inget gemensamt språk (seniorn talar finska, volontären talar svenska och engelska)"),
    (senior(preferred_gender="female"), volunteer(gender="male"),
     "Seniorn vill ha en kvinnlig volontär"),
    (senior(preferred_gender="male"), volunteer(gender="other"),
     "Seniorn vill ha en manlig volontär"),
    (senior(), volunteer(slots=frozenset({"mon-morning"})), "Ingen gemensam samtalstid"),
    (senior(), volunteer(status="trained"), "Volontären är inte godkänd (status: utbildad)"),
    (senior(), volunteer(free_capacity=0), "Volontären har ingen ledig plats"),
])
def test_each_constraint_is_named(s, v, message):
    assert hard_constraint_violations(s, v) == [message]


def test_rejected_pairs_and_several_problems_at_once():
    assert hard_constraint_violations(senior(), volunteer(), rejected={("s1", "v1")}) == [
        "Paret har avböjts tidigare"]
    assert hard_constraint_violations(senior(), volunteer(), rejected=[("s1", "v2")]) == []
    problems = hard_constraint_violations(
        senior(preferred_gender="female", slots=frozenset()),
        volunteer(free_capacity=-1), rejected=[("s1", "v1")])
    assert problems == ["Seniorn vill ha en kvinnlig volontär", "Ingen gemensam samtalstid",
                        "Volontären har ingen ledig plats", "Paret har avböjts tidigare"]


def test_swedish_names_and_lists():
    assert sorted_languages({"fi", "ar", "sv"}) == ["sv", "ar", "fi"]      # arabiska, finska
    assert slot_name("sun-evening") == "söndag kväll"
    assert join_sv([]) == "" and join_sv(["a"]) == "a"
    assert join_sv(["a", "b", "c"]) == "a, b och c"


def test_unknown_codes_stop_a_run():
    with pytest.raises(ValueError, match="okänt kön"):
        check_records([senior(gender="kvinna")], [])
    with pytest.raises(ValueError, match="okänt önskat kön"):
        check_records([senior(preferred_gender="både")], [])
    with pytest.raises(ValueError, match="okänd tid"):
        check_records([], [volunteer(slots=frozenset({"tue-night"}))])
    with pytest.raises(ValueError, match="samma id"):
        check_records([senior(), senior()], [])


def test_bit_encodings():
    index = {f"l{i}": i for i in range(70)}       # more languages than one 64-bit word
    people = [senior(languages=frozenset({"l0", "l65"}), preferred_gender="female",
                     slots=frozenset({"mon-morning", "sun-evening"}))]
    lang, slots, gender, accepts = encode(people, index, seniors=True)
    assert lang.shape == (1, 2) and lang[0, 0] == 1 and lang[0, 1] == 2
    assert slots[0] == 1 | (1 << 20)
    assert gender[0] == 1 and accepts[0] == 1
    _, _, _, accepts_v = encode([volunteer()], index | {"sv": 70}, seniors=False)
    assert accepts_v.dtype == np.uint8 and accepts_v[0] == 7
