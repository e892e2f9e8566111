"""Writing to the audit log (models/audit.py).

`record` adds a row to the caller's session, so an action and its audit entry are
committed together or not at all. It takes ids and field names only: whatever is
passed as `detail` must never hold a person's name, number, address or words.
"""

from flask import has_request_context, request
from flask_login import current_user

from .models import AuditEvent


def _request_actor() -> dict:
    if not has_request_context():
        return {"endpoint": "cli"}
    actor_id = None
    if current_user and getattr(current_user, "is_authenticated", False):
        actor_id = current_user.id
    return {
        "actor_id": actor_id,
        "endpoint": (request.endpoint or "")[:80],
        "method": request.method[:8],
        "ip": (request.remote_addr or "")[:45],
    }


def values(action: str, *, senior_id=None, volunteer_id=None, pair_id=None,
           staff_id: int | None = None, detail: str = "", actor_id: int | None = None,
           actor_volunteer_id: int | None = None, status_code: int | None = None) -> dict:
    """The columns of one audit row (`record` and access_log's own INSERT share them)."""
    fields = _request_actor()
    if actor_id is not None:
        fields["actor_id"] = actor_id
    if actor_volunteer_id is not None:
        # A volunteer's address is their personal data and the log outlives erasure.
        fields["actor_volunteer_id"] = actor_volunteer_id
        fields["ip"] = ""
    return {"action": action, "senior_id": senior_id, "volunteer_id": volunteer_id,
            "pair_id": pair_id, "staff_id": staff_id, "detail": detail[:400],
            "status_code": status_code, **fields}


def record(action: str, *, session, senior_id: int | None = None,
           volunteer_id: int | None = None, pair_id: int | None = None,
           staff_id: int | None = None, detail: str = "", actor_id: int | None = None,
           actor_volunteer_id: int | None = None,
           status_code: int | None = None) -> AuditEvent:
    event = AuditEvent(**values(action, senior_id=senior_id, volunteer_id=volunteer_id,
                                pair_id=pair_id, staff_id=staff_id, detail=detail,
                                actor_id=actor_id, actor_volunteer_id=actor_volunteer_id,
                                status_code=status_code))
    session.add(event)
    return event
