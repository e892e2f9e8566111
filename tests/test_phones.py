import re

import pytest

from vanringen.phones import display_phone, is_mobile, parse_phone, written_pattern


@pytest.mark.parametrize(("written", "e164"), [
    ("08-123 456 78", "+46812345678"),
    ("08-12345678", "+46812345678"),
    ("08 123 456 78", "+46812345678"),
    ("(08) 123 456 78", "+46812345678"),
    ("+46 8 123 456 78", "+46812345678"),
    ("0046 8 123 456 78", "+46812345678"),
    ("070-123 45 67", "+46701234567"),
    ("070 123 45 67", "+46701234567"),
    ("0701234567", "+46701234567"),
    ("+46 70 123 45 67", "+46701234567"),
    ("+46701234567", "+46701234567"),
    ("0046701234567", "+46701234567"),
    ("0046 70-123 45 67", "+46701234567"),
    ("031-12 34 56", "+4631123456"),
    ("+358 40 1234567", "+358401234567"),
])
def test_common_swedish_forms(written, e164):
    assert parse_phone(written) == e164


@pytest.mark.parametrize("bad", ["", "   ", "123", "abc", "070-123", "08-123 456 78 99 99",
                                 "+46 0", "0046"])
def test_invalid_numbers_raise_swedish_error(bad):
    with pytest.raises(ValueError, match="telefonnummer"):
        parse_phone(bad)


def test_mobile_required():
    assert parse_phone("070-123 45 67", mobile=True) == "+46701234567"
    with pytest.raises(ValueError, match="mobilnummer"):
        parse_phone("08-123 456 78", mobile=True)


def test_kind_and_display():
    assert is_mobile("+46701234567")
    assert not is_mobile("+46812345678")
    assert display_phone("+46701234567") == "070-123 45 67"
    assert display_phone("+46812345678") == "08-123 456 78"
    assert display_phone("+358401234567").startswith("+358")
    assert display_phone(None) == ""


@pytest.mark.parametrize("written", [
    "+46701234567", "+46 70-123 45 67", "0046 70 123 45 67", "070-123 45 67",
    "070.123.45.67", "0701234567", "ring 070-1234567!"])
def test_written_pattern_finds_every_way_of_writing_a_number(written):
    assert re.search(written_pattern("+46701234567"), written)


@pytest.mark.parametrize("text", ["0701234568", "10701234567", "07012345678", "070-123 45"])
def test_written_pattern_finds_no_other_number(text):
    assert not re.search(written_pattern("+46701234567"), text)


def test_written_pattern_of_a_foreign_number():
    pattern = written_pattern("+358401234567")
    assert all(re.search(pattern, t) for t in ("+358 (0)40 123 4567", "00358401234567",
                                               "040-123 4567"))
    assert written_pattern("") is None
