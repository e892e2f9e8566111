"""A volunteer's personal link (in their reminder SMS): no password, works for that
volunteer only, expires after VOLUNTEER_LINK_DAYS, and is revoked for good by raising the
volunteer's link_version (every link given out before stops working).

Signed with itsdangerous under the app's SECRET_KEY, so a link cannot be guessed or
altered to reach another volunteer. Usable without a request (the clock process writes
links into SMS), hence the address from PUBLIC_BASE_URL rather than url_for.
"""

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlmodel import Session

from .models import Volunteer
from .phones import display_phone

SALT = "vanringen.volunteer-link"
PATH = "/v/"
# Where links point when PUBLIC_BASE_URL is not set: the laptop `make run` serves.
LOCAL_BASE = "http://127.0.0.1:5000"


class LinkError(Exception):
    """Why a link does not open: 'expired', 'revoked' or 'invalid'."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _serializer(config) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(config["SECRET_KEY"], salt=SALT)


def token_for(volunteer: Volunteer, *, config) -> str:
    return _serializer(config).dumps([volunteer.id, volunteer.link_version])


def link_for(volunteer: Volunteer, *, config) -> str:
    base = config["PUBLIC_BASE_URL"] or LOCAL_BASE
    return f"{base}{PATH}{token_for(volunteer, config=config)}"


def volunteer_from(token: str, *, config, session: Session) -> Volunteer:
    """The volunteer a link was given to, or LinkError."""
    max_age = config["VOLUNTEER_LINK_DAYS"] * 24 * 3600
    try:
        volunteer_id, version = _serializer(config).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkError("expired") from None
    except (BadSignature, ValueError, TypeError):
        raise LinkError("invalid") from None
    volunteer = session.get(Volunteer, volunteer_id) if isinstance(volunteer_id, int) else None
    if volunteer is None:
        raise LinkError("invalid")
    if version != volunteer.link_version or volunteer.status != "approved":
        raise LinkError("revoked")
    return volunteer


def revoke(volunteer: Volunteer, *, session: Session) -> None:
    volunteer.link_version += 1
    session.add(volunteer)


def volunteer_values(params: dict, volunteer: Volunteer, senior_phone: str, *,
                     config) -> dict:
    """A volunteer text's placeholders as they are sent: their own link, and the number to
    ring as number_to_ring gives it. One place, for the body planned (message log) and the
    body sent (dispatcher)."""
    filled = {**params, "länk": link_for(volunteer, config=config)}
    if "telefon" in params:
        filled["telefon"] = number_to_ring(senior_phone, config=config)
    return filled


def number_to_ring(senior_phone: str, *, config) -> str:
    """The number a volunteer is given for their senior: in masked mode (MASKED_CALLS) the
    programme's own, which puts them through, so the senior's never reaches them."""
    if config["MASKED_CALLS"]:
        return display_phone(config["TWILIO_PHONE_NUMBER"])
    return display_phone(senior_phone)
