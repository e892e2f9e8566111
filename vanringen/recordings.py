"""Deleting an intake-line recording: at Twilio, and what this app kept of it.

Used by retention (recordings older than INTAKE_RECORDING_DAYS) and by erasure (the caller's
own). The recording's sid stays on the row: it names no one, and with it a second run knows
the recording is gone and a late callback from Twilio can be recognised.
"""

import re
from datetime import datetime

from .db import utcnow
from .messaging import backend
from .models import IntakeRequest

# Twilio's recording address ends in /Recordings/RE…; rows from before the sid was stored
# (or whose status callback never came) still name their recording there.
_SID_IN_URL = re.compile(r"/Recordings/(RE[0-9a-fA-F]{32})(?:\.\w+)?$")


def has_recording(intake: IntakeRequest) -> bool:
    """Something of a recording is still here to delete."""
    return intake.recording_deleted_at is None and bool(
        intake.recording_sid or intake.recording_url or intake.transcription
        or intake.recording_seconds)


def recording_sid(intake: IntakeRequest) -> str | None:
    if intake.recording_sid:
        return intake.recording_sid
    found = _SID_IN_URL.search(intake.recording_url or "")
    return found[1] if found else None


def delete_intake_recording(intake: IntakeRequest, *, sender=None,
                            now: datetime | None = None) -> bool:
    """Delete `intake`'s recording at the provider, then its address, length and
    transcription here, and stamp `recording_deleted_at`. False when there was nothing left
    to delete. A provider error (notifications.SendError) propagates before anything here
    changes, so the next run tries again. Never commits: the caller owns the transaction.
    `sender` defaults to the app's NOTIFY_BACKEND sender (needs an app context)."""
    if not has_recording(intake):
        return False
    sid = recording_sid(intake)
    if sid:
        (sender or backend()).delete_recording(sid)
    intake.recording_sid = sid
    intake.recording_url = ""
    intake.recording_seconds = None
    intake.transcription = ""
    intake.recording_deleted_at = now or utcnow()
    return True
