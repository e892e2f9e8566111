"""TwiML for the reminder calls: read a text in the senior's language, optionally ask for a key.

The voices are Amazon Polly voices from Twilio's list of <Say> voices (the same list twilio-node
types as SayVoice). Standard voices where Polly has one, as they cost less; Finnish and Catalan
exist only as neural voices. tests/test_twilio_backend.py checks every pair against that list.
"""

from twilio.twiml.voice_response import VoiceResponse

# ISO 639-1 code → (<Say language>, <Say voice>). All women's voices, for a consistent sound.
VOICES = {
    "sv": ("sv-SE", "Polly.Astrid"),
    "fi": ("fi-FI", "Polly.Suvi-Neural"),
    "en": ("en-GB", "Polly.Amy"),
    "da": ("da-DK", "Polly.Naja"),
    "nb": ("nb-NO", "Polly.Liv"),
    "no": ("nb-NO", "Polly.Liv"),
    "is": ("is-IS", "Polly.Dora"),
    "de": ("de-DE", "Polly.Marlene"),
    "nl": ("nl-NL", "Polly.Lotte"),
    "fr": ("fr-FR", "Polly.Celine"),
    "es": ("es-ES", "Polly.Lucia"),
    "ca": ("ca-ES", "Polly.Arlet-Neural"),
    "it": ("it-IT", "Polly.Carla"),
    "pt": ("pt-PT", "Polly.Ines"),
    "ro": ("ro-RO", "Polly.Carmen"),
    "pl": ("pl-PL", "Polly.Ewa"),
    "ru": ("ru-RU", "Polly.Tatyana"),
    "tr": ("tr-TR", "Polly.Filiz"),
    "cy": ("cy-GB", "Polly.Gwyneth"),
    "ar": ("arb", "Polly.Zeina"),
    "hi": ("hi-IN", "Polly.Aditi"),
    "zh": ("cmn-CN", "Polly.Zhiyu"),
    "ja": ("ja-JP", "Polly.Mizuki"),
    "ko": ("ko-KR", "Polly.Seoyeon"),
}
DEFAULT_LANGUAGE = "sv"


def voice_for(code: str | None) -> tuple[str, str]:
    """The voice for a language code ("fi", "FI", "fi-FI"); Swedish when Twilio has none."""
    key = (code or "").replace("_", "-").split("-")[0].lower()
    return VOICES.get(key, VOICES[DEFAULT_LANGUAGE])


def say_twiml(text: str, *, language_code: str = DEFAULT_LANGUAGE, hangup: bool = True) -> str:
    response = VoiceResponse()
    _say(response, text, language_code)
    if hangup:
        response.hangup()
    return str(response)


def gather_twiml(text: str, prompt: str, *, action_url: str,
                 language_code: str = DEFAULT_LANGUAGE, timeout: int = 6,
                 no_input_text: str | None = None) -> str:
    """Read `text`, ask `prompt`, and post the key pressed to `action_url`.

    Without a key the call ends here: Twilio posts to `action_url` only when a key is pressed,
    so a repeat is the app's answer there ("press 1 to hear it again"), and no <Redirect>
    loop can keep a senior on the line.
    """
    response = VoiceResponse()
    gather = response.gather(input="dtmf", num_digits=1, action=action_url, method="POST",
                             timeout=timeout)
    _say(gather, text, language_code)
    _say(gather, prompt, language_code)
    if no_input_text:
        _say(response, no_input_text, language_code)
    response.hangup()
    return str(response)


def _say(verb, text: str, language_code: str) -> None:
    language, voice = voice_for(language_code)
    verb.say(text, language=language, voice=voice)


def menu_twiml(lines: list[str], *, action_url: str, language_code: str = DEFAULT_LANGUAGE,
               timeout: int = 6, no_input_text: str | None = None) -> str:
    """Read `lines` inside a one-key <Gather> posting to `action_url`; hang up without a key."""
    response = VoiceResponse()
    gather = response.gather(input="dtmf", num_digits=1, action=action_url, method="POST",
                             timeout=timeout)
    for line in lines:
        _say(gather, line, language_code)
    if no_input_text:
        _say(response, no_input_text, language_code)
    response.hangup()
    return str(response)


def dial_twiml(text: str, number: str, *, caller_id: str, action_url: str, timeout: int,
               language_code: str = DEFAULT_LANGUAGE) -> str:
    """Say `text`, then put the caller through to `number` showing `caller_id` (the
    programme's number, so neither side sees the other's). Twilio posts the outcome
    (DialCallStatus, DialCallDuration) to `action_url`, whose TwiML ends the call."""
    response = VoiceResponse()
    _say(response, text, language_code)
    dial = response.dial(caller_id=caller_id, action=action_url, method="POST",
                         timeout=timeout)
    dial.number(number)
    return str(response)


def record_twiml(prompt: str, *, action_url: str, max_length: int, status_callback: str,
                 transcribe_callback: str | None = None, after_text: str | None = None,
                 language_code: str = DEFAULT_LANGUAGE) -> str:
    """Ask for a message and record it; Twilio posts the recording to `action_url` (whose
    TwiML ends the call) and later to `status_callback`. With `transcribe_callback` Twilio
    also transcribes it. Without any sound Twilio skips `action_url` and goes on to
    `after_text`."""
    response = VoiceResponse()
    _say(response, prompt, language_code)
    extra = {"transcribe": True, "transcribe_callback": transcribe_callback} \
        if transcribe_callback else {}
    response.record(action=action_url, method="POST", max_length=max_length,
                    finish_on_key="#", play_beep=True, timeout=5,
                    recording_status_callback=status_callback,
                    recording_status_callback_method="POST", **extra)
    if after_text:
        _say(response, after_text, language_code)
    response.hangup()
    return str(response)
