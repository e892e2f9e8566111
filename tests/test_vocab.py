import pytest

from vanringen import vocab


def test_languages():
    assert vocab.parse_languages("sv;fi") == ["sv", "fi"]
    assert vocab.parse_languages(" SV ; fi ;sv") == ["sv", "fi"]
    with pytest.raises(ValueError, match="xx"):
        vocab.parse_languages("sv;xx")
    with pytest.raises(ValueError, match="minst ett språk"):
        vocab.parse_languages("")
    assert vocab.language_name("fi") == "finska"


def test_slots():
    assert vocab.parse_slots("wed-evening;mon-morning") == ["mon-morning", "wed-evening"]
    with pytest.raises(ValueError, match="mon-night"):
        vocab.parse_slots("mon-night")
    assert vocab.parse_slots("", required=False) == []
    with pytest.raises(ValueError):
        vocab.parse_slots("")
    assert len(vocab.SLOTS) == 21
    assert str(vocab.slot_label("tue-afternoon")) == "tisdag eftermiddag"


def test_districts_and_referrals_accept_everyday_spelling():
    assert vocab.parse_district("hägersten-älvsjö") == "Hägersten-Älvsjö"
    assert vocab.parse_district("Hagersten-Alvsjo") == "Hägersten-Älvsjö"
    assert vocab.parse_district("") is None
    with pytest.raises(ValueError, match="stadsdel"):
        vocab.parse_district("Göteborg")
    assert vocab.parse_referral("Vårdcentral") == "vardcentral"
    assert vocab.parse_referral("bistandshandlaggare") == "bistandshandlaggare"
    with pytest.raises(ValueError, match="remittent"):
        vocab.parse_referral("polisen")


def test_choice():
    assert vocab.parse_choice("Female", vocab.GENDERS, "kön") == "female"
    with pytest.raises(ValueError, match="kön"):
        vocab.parse_choice("x", vocab.GENDERS, "kön")
