"""Senders for SMS and voice. No Flask and no database here: the app records each
message before handing it to a sender, and stores what the sender answers.

Every sender has send_sms(to, body, *, status_callback=None) and
start_call(to, *, twiml_url, status_callback=None), returning a SendResult or raising a
SendError that says whether trying again can help. `gsm` tells what an SMS costs, `voice`
writes the TwiML a call reads."""

from .backends import ConsoleBackend, OutboxBackend, get_backend
from .errors import PermanentError, SendError, TemporaryError
from .gsm import is_gsm7, segments, to_gsm7
from .result import SendResult
from .twilio_backend import INVALID_NUMBER, NOT_MOBILE, UNSUBSCRIBED, TwilioBackend
from .voice import VOICES, dial_twiml, gather_twiml, menu_twiml, record_twiml, say_twiml, voice_for

__all__ = [
    "INVALID_NUMBER", "NOT_MOBILE", "UNSUBSCRIBED", "VOICES", "ConsoleBackend", "OutboxBackend",
    "PermanentError", "SendError", "SendResult", "TemporaryError", "TwilioBackend",
    "dial_twiml", "gather_twiml", "get_backend", "is_gsm7", "menu_twiml", "record_twiml",
    "say_twiml", "segments", "to_gsm7", "voice_for",
]
