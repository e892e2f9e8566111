"""Senders for SMS and voice. No Flask and no database here: the app records each
message before handing it to a sender, and stores what the sender answers."""

from .backends import ConsoleBackend, OutboxBackend, get_backend
from .errors import PermanentError, SendError, TemporaryError
from .result import SendResult

__all__ = [
    "ConsoleBackend", "OutboxBackend", "PermanentError", "SendError", "SendResult",
    "TemporaryError", "get_backend",
]
