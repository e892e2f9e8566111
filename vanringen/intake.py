"""The coordinators' inbox ("Inkorg") of calls to the intake line: who rang, what they
chose, their recording (played through the app, never from a public address) and Twilio's
transcription. A coordinator rings back, registers the senior from the request (which
closes it) or closes it with a note.
"""

from urllib.parse import urlsplit

import phonenumbers
import requests
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func
from sqlmodel import Session, select

from .db import get_session, utcnow
from .models import IntakeRequest, Senior, StaffUser
from .people import paginate
from .phones import display_phone

bp = Blueprint("intake", __name__, url_prefix="/inkorg")

CHOICES = {"friend": _l("Vill ha en telefonvän"), "message": _l("Meddelande till samordnare"),
           "": _l("Valde inget")}
# The account's credentials go to Twilio only: a recording address anywhere else is refused.
RECORDING_SCHEMES = ("https",)
RECORDING_HOSTS = ("twilio.com",)
RECORDING_TIMEOUT = (5, 30)  # seconds to connect, seconds between bytes
CHUNK = 64 * 1024


def open_count(*, session: Session) -> int:
    return session.exec(select(func.count()).where(IntakeRequest.status == "open")).one()


def get_request(intake_id: int, *, session: Session) -> IntakeRequest:
    intake = session.get(IntakeRequest, intake_id)
    if intake is None:
        abort(404)
    return intake


def close(intake: IntakeRequest, *, session: Session, staff_id: int | None, note: str = "",
          senior: Senior | None = None) -> None:
    intake.status, intake.handled_at, intake.handled_by_id = "done", utcnow(), staff_id
    intake.note = note.strip() or intake.note
    if senior is not None:
        intake.senior_id = senior.id
    session.add(intake)


def registered(intake_id: str | None, senior: Senior, *, session: Session,
               staff_id: int | None) -> None:
    """The senior form saved a senior from request `intake_id` (from its ?inkorg=): the
    request is done, in the same transaction. An unknown or closed request is left alone."""
    if not (intake_id or "").isdigit():
        return
    intake = session.get(IntakeRequest, int(intake_id))
    if intake is not None and intake.status == "open":
        close(intake, session=session, staff_id=staff_id, senior=senior)


@bp.get("/")
def index():
    session = get_session()
    show = request.args.get("visa", "oppna")
    query = select(IntakeRequest).where(
        IntakeRequest.status == ("done" if show == "klara" else "open"))
    order = IntakeRequest.handled_at if show == "klara" else IntakeRequest.created_at
    query = query.order_by(order.desc(), IntakeRequest.id.desc())
    intakes, total, page, pages = paginate(query, session=session,
                                           page=request.args.get("page", 1, type=int))
    ids = {i.senior_id for i in intakes if i.senior_id}
    seniors = {s.id: s for s in session.exec(select(Senior).where(Senior.id.in_(ids)))} \
        if ids else {}
    staff_ids = {i.handled_by_id for i in intakes if i.handled_by_id}
    staff = {u.id: u for u in session.exec(select(StaffUser).where(StaffUser.id.in_(staff_ids)))} \
        if staff_ids else {}
    return render_template("intake/index.html", intakes=intakes, total=total, page=page,
                           pages=pages, show=show, seniors=seniors, staff=staff,
                           choices=CHOICES, args={"visa": show} if show != "oppna" else {})


@bp.post("/<int:intake_id>/klar")
def done(intake_id: int):
    session = get_session()
    intake = get_request(intake_id, session=session)
    if intake.status == "open":
        close(intake, session=session, staff_id=current_user.id,
              note=request.form.get("note", "")[:1000])
        session.commit()
        flash(_("Samtalet från %(number)s är klart.", number=_shown(intake.from_number)),
              "success")
    return redirect(url_for(".index"))


def _shown(number: str) -> str:
    try:
        return display_phone(number)
    except phonenumbers.NumberParseException:  # a hidden number: Twilio says "anonymous"
        return number


# ---------------------------------------------------------------- the recording

def recording_address(url: str) -> str | None:
    """Where to fetch the recording as MP3, or None for an address that is not Twilio's."""
    parts = urlsplit(url or "")
    host = (parts.hostname or "").lower()
    if parts.scheme not in RECORDING_SCHEMES or not any(
            host == trusted or host.endswith("." + trusted) for trusted in RECORDING_HOSTS):
        return None
    # Twilio gives the recording's address without an extension; .mp3 asks for MP3.
    return url if parts.path.endswith((".mp3", ".wav")) else f"{url}.mp3"


@bp.get("/<int:intake_id>/inspelning")
def recording(intake_id: int):
    """The recording, fetched from Twilio with the account's credentials and passed on:
    the browser never learns Twilio's address, which needs no login by default."""
    intake = get_request(intake_id, session=get_session())
    address = recording_address(intake.recording_url)
    if address is None:
        abort(404)
    config = current_app.config
    http = requests.Session()
    try:
        upstream = http.get(address, stream=True, timeout=RECORDING_TIMEOUT,
                            auth=(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"]))
    except requests.RequestException:
        http.close()
        current_app.logger.exception("recording of intake request %s not fetched", intake_id)
        abort(502)
    if upstream.status_code != 200:
        upstream.close()
        http.close()
        current_app.logger.warning("Twilio answered %s for the recording of intake request %s",
                                   upstream.status_code, intake_id)
        abort(404 if upstream.status_code == 404 else 502)

    def chunks():
        try:
            yield from upstream.iter_content(CHUNK)
        finally:
            upstream.close()
            http.close()

    headers = {"Cache-Control": "private, no-store"}
    if upstream.headers.get("Content-Length"):
        headers["Content-Length"] = upstream.headers["Content-Length"]
    return Response(chunks(), mimetype="audio/mpeg", headers=headers)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["open_intake_count"] = lambda: open_count(session=get_session())
    app.jinja_env.filters["caller_number"] = _shown
