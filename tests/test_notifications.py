import io
import xml.etree.ElementTree as ET

import pytest

from notifications import (
    VOICES,
    ConsoleBackend,
    OutboxBackend,
    PermanentError,
    TemporaryError,
    TwilioBackend,
    gather_twiml,
    get_backend,
    is_gsm7,
    say_twiml,
    segments,
    to_gsm7,
    voice_for,
)


def test_outbox_records_nothing_and_gives_unique_ids():
    backend = OutboxBackend()
    first = backend.send_sms("+46701234567", "Hej")
    second = backend.send_sms("+46701234567", "Hej")
    assert first.status == "recorded" and first.provider == "outbox"
    assert first.provider_id != second.provider_id


def test_console_prints():
    stream = io.StringIO()
    result = ConsoleBackend(stream).send_sms("+46701234567", "Tack för din anmälan")
    assert "+46701234567" in stream.getvalue() and "Tack för din anmälan" in stream.getvalue()
    assert result.provider == "console"


def test_outbox_records_calls_too():
    result = OutboxBackend().start_call("+46701234567", twiml_url="https://x.example/twiml/1",
                                        status_callback="https://x.example/status")
    assert result.provider == "outbox" and result.status == "recorded"
    assert result.provider_id.startswith("OB")


def test_console_prints_one_line_per_message():
    stream = io.StringIO()
    console = ConsoleBackend(stream)
    console.send_sms("+46701234567", "Hej", status_callback="https://x.example/status")
    result = console.start_call("+46701234567", twiml_url="https://x.example/twiml/1")
    assert stream.getvalue() == ("[SMS till +46701234567] Hej\n"
                                 "[Samtal till +46701234567] https://x.example/twiml/1\n")
    assert result.provider == "console"


def test_outbox_and_console_delete_recordings_without_a_word_to_anyone():
    assert OutboxBackend().delete_recording("RE" + "1" * 32) is None
    stream = io.StringIO()
    ConsoleBackend(stream).delete_recording("RE" + "1" * 32)
    assert stream.getvalue() == f"[Radera inspelning RE{'1' * 32}]\n"


def test_backend_by_name():
    assert isinstance(get_backend("outbox"), OutboxBackend)
    assert isinstance(get_backend("console"), ConsoleBackend)
    twilio = get_backend("twilio", account_sid="AC" + "0" * 32, auth_token="token",
                         from_number="+46766861004")
    assert isinstance(twilio, TwilioBackend)
    with pytest.raises(ValueError, match="TWILIO_ACCOUNT_SID"):
        get_backend("twilio")
    with pytest.raises(ValueError):
        get_backend("sms-gateway")


def test_errors_say_whether_to_retry():
    assert PermanentError("x", code=21211).permanent
    assert not TemporaryError("x").permanent
    assert PermanentError("x", code=21211).code == 21211


def test_no_flask_or_app_imports():
    import ast
    import pathlib

    import notifications

    for path in pathlib.Path(notifications.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("flask", "vanringen", "sqlmodel")), (path, name)


# SMS length

@pytest.mark.parametrize(("text", "expected"), [
    ("", (1, "GSM-7")),
    ("a" * 160, (1, "GSM-7")),
    ("a" * 161, (2, "GSM-7")),
    ("a" * 306, (2, "GSM-7")),
    ("a" * 307, (3, "GSM-7")),
    ("Å" * 160, (1, "GSM-7")),  # Swedish letters are in the basic set
    ("€" + "a" * 158, (1, "GSM-7")),  # the escape counts: 160 septets
    ("€" + "a" * 159, (2, "GSM-7")),  # 161 septets in 160 characters
    ("a" * 152 + "€" + "a" * 152, (3, "GSM-7")),  # the pair is not split across parts
    ("ş" * 70, (1, "UCS-2")),
    ("ş" * 71, (2, "UCS-2")),
    ("ş" * 134, (2, "UCS-2")),
    ("ş" * 135, (3, "UCS-2")),
    ("😊" * 35, (1, "UCS-2")),  # two UTF-16 units each
    ("😊" * 35 + "a", (2, "UCS-2")),
    ("a" * 66 + "😊" + "a" * 66, (3, "UCS-2")),  # nor is a surrogate pair
    ("a" * 159 + "ş", (3, "UCS-2")),  # one character outside GSM-7 costs the lot
])
def test_segments(text, expected):
    assert segments(text) == expected


def test_is_gsm7():
    assert is_gsm7("Hej Åsa! Välkommen till Vänringen, 50 % rabatt [sic] €5 {x} ~^|\\")
    assert not is_gsm7("Hej Ayşe")
    assert not is_gsm7("Hej 😊")


@pytest.mark.parametrize(("text", "expected"), [
    ("Hej – “Greta” … ’s", 'Hej - "Greta" ... \'s'),
    ("Ćevapi hos Ayşe, crème brûlée", "Cevapi hos Ayse, crème brulée"),  # è, é are GSM-7
    ("Åsa, Märta, Örjan, Ñandú, Ülle", "Åsa, Märta, Örjan, Ñandu, Ülle"),
    ("ﬁka\u00a0kl\t14", "fika kl 14"),
    ("€ [a] {b} ~ ^ | \\", "€ [a] {b} ~ ^ | \\"),  # the extended table stays
    ("Hej 😊 你好", "Hej ? ??"),
    ("Łucja Đurić, Yıldız, Œuvre", "Lucja Duric, Yildiz, OEuvre"),  # no NFKD base letter
])
def test_to_gsm7(text, expected):
    assert to_gsm7(text) == expected
    assert is_gsm7(to_gsm7(text))


# TwiML

def test_say_twiml_reads_in_swedish_and_hangs_up():
    root = ET.fromstring(say_twiml("Hej Greta & Jonas <3"))
    assert root.tag == "Response" and [e.tag for e in root] == ["Say", "Hangup"]
    say = root[0]
    assert say.text == "Hej Greta & Jonas <3"
    assert say.attrib == {"language": "sv-SE", "voice": "Polly.Astrid"}
    assert [e.tag for e in ET.fromstring(say_twiml("Hej", hangup=False))] == ["Say"]


def test_gather_twiml_asks_for_one_key():
    root = ET.fromstring(gather_twiml(
        "Jonas ringer dig i dag klockan 14.", "Tryck 1 om det passar, 2 om det inte passar.",
        action_url="https://vanringen.example/twilio/gather/7", timeout=8,
        no_input_text="Vi hörde ingen knapp. Hej då!"))
    assert [e.tag for e in root] == ["Gather", "Say", "Hangup"]
    gather = root[0]
    assert gather.attrib == {"input": "dtmf", "numDigits": "1", "method": "POST",
                             "action": "https://vanringen.example/twilio/gather/7",
                             "timeout": "8"}
    assert [(e.tag, e.text) for e in gather] == [
        ("Say", "Jonas ringer dig i dag klockan 14."),
        ("Say", "Tryck 1 om det passar, 2 om det inte passar.")]
    assert root[1].text == "Vi hörde ingen knapp. Hej då!"
    assert all(say.get("voice") == "Polly.Astrid" for say in root.iter("Say"))


def test_gather_twiml_without_no_input_text_just_hangs_up():
    root = ET.fromstring(gather_twiml("Hej", "Tryck 1", action_url="https://x.example/g"))
    assert [e.tag for e in root] == ["Gather", "Hangup"]
    assert root[0].get("timeout") == "6"


def test_a_finnish_senior_hears_finnish():
    root = ET.fromstring(gather_twiml("Hei", "Paina 1", action_url="https://x.example/g",
                                      language_code="fi", no_input_text="Näkemiin"))
    assert {(s.get("language"), s.get("voice")) for s in root.iter("Say")} == {
        ("fi-FI", "Polly.Suvi-Neural")}


@pytest.mark.parametrize("code", ["xx", "so", "", None])
def test_a_language_twilio_cannot_speak_falls_back_to_swedish(code):
    assert voice_for(code) == ("sv-SE", "Polly.Astrid")
    assert ET.fromstring(say_twiml("Hej", language_code=code))[0].get("language") == "sv-SE"


def test_voices():
    assert voice_for("FI") == voice_for("fi-FI") == voice_for("fi_FI") == VOICES["fi"]
    assert VOICES["en"] == ("en-GB", "Polly.Amy")
    assert VOICES["ar"] == ("arb", "Polly.Zeina")
    assert {"sv", "fi", "en", "da", "nb", "de", "fr", "es", "it", "nl", "pl", "pt", "ru", "tr",
            "ar"} <= set(VOICES)
