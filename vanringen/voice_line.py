"""Calls to the programme's number: a volunteer put through to their senior (the masked
bridge), a senior with `call_in` put through to their volunteer, and the intake line
everyone else reaches.

These are routes on the `twilio` blueprint, so every request has passed its
X-Twilio-Signature check. Each handler answers at once and is idempotent (Twilio retries
what it got no quick answer to): a dial outcome is logged once per CallSid, an intake
request is one row per CallSid. Neither side of a bridged call sees the other's number:
both see the programme's.
"""

import re
from datetime import datetime, timedelta
from math import ceil
from zoneinfo import ZoneInfo

from flask import abort, current_app, g, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from notifications import dial_twiml, menu_twiml, record_twiml, say_twiml

from . import texts
from .call_log import MAX_MINUTES, record_outcome
from .db import get_session, utcnow
from .models import CallLog, IntakeRequest, Pair, PairPause, ScheduledCall, Senior, Volunteer
from .schedule import DAY_PART_HOURS, WEEKDAYS
from .twilio_hooks import _xml, bp

# A bridged call this close to a planned call of the same day is that call; further off it
# is a call of its own, logged without a planned call.
BRIDGE_WINDOW = timedelta(hours=3)
INTAKE_CHOICES = {"1": "friend", "2": "message"}
E164 = re.compile(r"\+[1-9]\d{6,14}")


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _url(endpoint: str, **values) -> str:
    """An absolute callback URL: the address Twilio reaches, as it will sign it."""
    base = current_app.config["PUBLIC_BASE_URL"]
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def _wording() -> texts.Texts:
    if "vanringen_wording" not in g:
        g.vanringen_wording = texts.Texts.load(session=get_session())
    return g.vanringen_wording


def _said(key: str, language: str = "sv", now: datetime | None = None, **params) -> str:
    wording = _wording()
    filled = texts.values(params, language=language, channel="voice",
                          now=now or utcnow(), tz=_tz())
    return texts.render(wording.body(key, language) or wording.body(key, "sv"), filled, "voice")


def _programme_number() -> str:
    # Without a configured number (development) the number that was called is the same;
    # only a real number is put in the TwiML (a control character there is invalid XML).
    called = request.form.get("To", "")
    return current_app.config["TWILIO_PHONE_NUMBER"] or (
        called if E164.fullmatch(called) else "")


def _refuse():
    return _xml(say_twiml(_said("bridge_refused")))


# ---------------------------------------------------------------- who is calling

def volunteer_pairs(phone: str, *, session: Session) -> list[tuple[Pair, Senior]]:
    """The active pairs of the volunteer calling from `phone`, oldest pair first."""
    if not phone:
        return []
    return list(session.exec(
        select(Pair, Senior).join(Volunteer, Volunteer.id == Pair.volunteer_id)
        .join(Senior, Senior.id == Pair.senior_id)
        .where(Volunteer.phone == phone, Pair.status == "active")
        .order_by(Pair.started_at, Pair.id)).all())


def senior_pair(phone: str, *, session: Session) -> tuple[Pair, Senior, Volunteer] | None:
    if not phone:
        return None
    return session.exec(
        select(Pair, Senior, Volunteer).join(Senior, Senior.id == Pair.senior_id)
        .join(Volunteer, Volunteer.id == Pair.volunteer_id)
        .where(Senior.phone == phone, Pair.status == "active")
        .order_by(Pair.id.desc())).first()


def available(volunteer: Volunteer, moment: datetime, tz: ZoneInfo) -> bool:
    """Whether `moment` falls in one of the day parts the volunteer offers."""
    local = moment.astimezone(tz)
    day = WEEKDAYS[local.weekday()]
    return any(start <= local.time() < end and f"{day}-{part}" in volunteer.slot_list
               for part, (start, end, _usual) in DAY_PART_HOURS.items())


def paused_today(pair: Pair, moment: datetime, *, session: Session, tz: ZoneInfo) -> bool:
    today = moment.astimezone(tz).date()
    return session.exec(select(PairPause.id).where(
        PairPause.pair_id == pair.id, PairPause.starts_on <= today,
        PairPause.resumes_on > today)).first() is not None


def next_call(pair: Pair, now: datetime, *, session: Session) -> ScheduledCall | None:
    return session.exec(select(ScheduledCall).where(
        ScheduledCall.pair_id == pair.id, ScheduledCall.status == "planned",
        ScheduledCall.scheduled_at > now).order_by(ScheduledCall.scheduled_at)).first()


# ---------------------------------------------------------------- a call comes in

@bp.post("/voice")
def inbound_call():
    session = get_session()
    phone = request.form.get("From", "")
    pairs = volunteer_pairs(phone, session=session)
    if len(pairs) == 1:
        return _xml(_dial_senior(*pairs[0]))
    if pairs:
        return _xml(_bridge_menu(pairs))
    found = senior_pair(phone, session=session)
    if found is not None and found[1].call_in:
        return _xml(_call_in(*found, session=session))
    return _xml(_intake_menu(greeting=True))


def _dial_senior(pair: Pair, senior: Senior) -> str:
    return dial_twiml(_said("bridge_connecting", senior=senior.first_name), senior.phone,
                      caller_id=_programme_number(),
                      action_url=_url(".bridge_done", pair_id=pair.id),
                      timeout=current_app.config["DIAL_TIMEOUT_SECONDS"])


def _bridge_menu(pairs: list[tuple[Pair, Senior]], *, wrong_key: bool = False) -> str:
    lines = [_said("bridge_wrong_key")] if wrong_key else []
    lines.append(_said("bridge_menu"))
    lines += [_said("bridge_menu_choice", siffra=str(n), senior=senior.first_name)
              for n, (_pair, senior) in enumerate(pairs, start=1)]
    # The pairs offered travel in the URL, so a key means what the caller heard even if a
    # pair changes meanwhile; the choice is checked against the caller's pairs again.
    offered = "-".join(str(pair.id) for pair, _senior in pairs)
    return menu_twiml(lines, action_url=_url(".bridge_choice", par=offered),
                      no_input_text=_said("bridge_no_input"))


@bp.post("/voice/koppla/valj")
def bridge_choice():
    session = get_session()
    pairs = volunteer_pairs(request.form.get("From", ""), session=session)
    if not pairs:
        return _refuse()
    try:
        offered = [int(part) for part in request.args.get("par", "").split("-") if part]
    except ValueError:
        offered = []
    digit = request.form.get("Digits", "")
    if not (digit.isdigit() and 1 <= int(digit) <= len(offered)):
        return _xml(_bridge_menu(pairs, wrong_key=True))
    chosen = next(((pair, senior) for pair, senior in pairs
                   if pair.id == offered[int(digit) - 1]), None)
    if chosen is None:  # not (or no longer) one of the caller's pairs
        return _refuse()
    return _xml(_dial_senior(*chosen))


def _call_in(pair: Pair, senior: Senior, volunteer: Volunteer, *, session: Session) -> str:
    now, tz = utcnow(), _tz()
    language = _wording().language_for("call_in_connecting", senior.language_list)
    names = {"senior": senior.first_name, "volontär": volunteer.first_name}
    if available(volunteer, now, tz) and not paused_today(pair, now, session=session, tz=tz):
        return dial_twiml(_said("call_in_connecting", language, **names), volunteer.phone,
                          caller_id=_programme_number(),
                          action_url=_url(".bridge_done", pair_id=pair.id),
                          timeout=current_app.config["DIAL_TIMEOUT_SECONDS"],
                          language_code=language)
    upcoming = next_call(pair, now, session=session)
    if upcoming is None:
        return say_twiml(_said("call_in_unplanned", language, **names), language_code=language)
    return say_twiml(_said("call_in_later", language, now=now, **names,
                           call_at=upcoming.scheduled_at.isoformat()), language_code=language)


# ---------------------------------------------------------------- the outcome of a dial

@bp.post("/voice/koppla/<int:pair_id>/klar")
def bridge_done(pair_id: int):
    """Twilio's <Dial action>: log the call, then say goodbye and hang up."""
    session = get_session()
    form = request.form
    sid = form.get("CallSid", "")
    if not sid:
        abort(400)
    answered = form.get("DialCallStatus") == "completed"
    goodbye = say_twiml(_said("bridge_goodbye" if answered else "bridge_no_answer"))
    pair = session.get(Pair, pair_id)
    if pair is None:
        return _xml(goodbye)
    senior, volunteer = session.get(Senior, pair.senior_id), session.get(Volunteer,
                                                                         pair.volunteer_id)
    caller = form.get("From", "")
    if caller not in (senior.phone, volunteer.phone):
        return _refuse()  # signed, but not a call this pair made: nothing is logged
    if session.exec(select(CallLog.id).where(CallLog.provider_id == sid)).first() is None:
        try:
            log_bridged_call(pair, sid, answered=answered,
                             seconds=_int(form.get("DialCallDuration")),
                             by_volunteer=caller == volunteer.phone, session=session,
                             now=utcnow())
            session.commit()
        except IntegrityError:  # the same retry, logged by another worker a moment ago
            session.rollback()
    return _xml(goodbye)


def _int(text: str | None) -> int:
    try:
        return max(0, int(text or 0))
    except ValueError:
        return 0


def log_bridged_call(pair: Pair, sid: str, *, answered: bool, seconds: int, by_volunteer: bool,
                     session: Session, now: datetime) -> CallLog:
    """The call's log entry: on the pair's planned call near now when there is one (unless
    that call is already logged as held: a second call that day is a call of its own)."""
    call = planned_call_near(pair, now, session=session)
    if call is not None:
        logged = session.exec(select(CallLog).where(CallLog.call_id == call.id)).first()
        if logged is not None and logged.outcome == "held":
            call = None
    minutes = min(MAX_MINUTES, max(1, ceil(seconds / 60))) if answered else None
    entry, _queued = record_outcome(
        pair, call, "held" if answered else "no_answer", session=session, now=now,
        source="bridge", minutes=minutes, provider_id=sid,
        volunteer_id=pair.volunteer_id if by_volunteer else None,
        occurred_at=now - timedelta(seconds=seconds))
    return entry


def planned_call_near(pair: Pair, now: datetime, *, session: Session) -> ScheduledCall | None:
    """The pair's planned call of today closest to `now`, within BRIDGE_WINDOW."""
    today = now.astimezone(_tz()).date()
    calls = session.exec(select(ScheduledCall).where(
        ScheduledCall.pair_id == pair.id, ScheduledCall.status == "planned",
        ScheduledCall.scheduled_at >= now - BRIDGE_WINDOW,
        ScheduledCall.scheduled_at <= now + BRIDGE_WINDOW)).all()
    calls = [c for c in calls if c.scheduled_at.astimezone(_tz()).date() == today]
    return min(calls, key=lambda c: abs(c.scheduled_at - now), default=None)


# ---------------------------------------------------------------- the intake line

def _intake_menu(*, greeting: bool = False) -> str:
    lines = [_said("inbound_call")] if greeting else []
    lines.append(_said("intake_menu"))
    return menu_twiml(lines, action_url=_url(".intake_choice"),
                      no_input_text=_said("bridge_no_input"))


def _save_intake(update) -> IntakeRequest | None:
    """Apply `update` to the call's intake request, made on first sight; committed. A
    second worker handling the same retry makes the insert fail: then it is done again
    on the row that worker made."""
    session = get_session()
    sid = request.form.get("CallSid", "")
    if not sid:
        abort(400)
    for _attempt in range(2):
        intake = session.exec(select(IntakeRequest).where(IntakeRequest.call_sid == sid)).first()
        if intake is None:
            intake = IntakeRequest(call_sid=sid, created_at=utcnow())
        # A recording's status callback carries no From: the caller ID comes with the rest.
        intake.from_number = intake.from_number or request.form.get("From", "")[:20]
        update(intake)
        session.add(intake)
        try:
            session.commit()
            return intake
        except IntegrityError:
            session.rollback()
    return None


def _recording(intake: IntakeRequest) -> None:
    form = request.form
    # A callback Twilio retries after the recording was deleted (retention, erasure) must
    # not bring its address back.
    if intake.recording_deleted_at is not None:
        return
    if form.get("RecordingSid") and form.get("RecordingStatus", "completed") == "completed":
        intake.recording_sid = form["RecordingSid"][:64]
        intake.recording_url = form.get("RecordingUrl", "")[:400] or intake.recording_url
        if form.get("RecordingDuration"):
            intake.recording_seconds = _int(form["RecordingDuration"])


@bp.post("/voice/intag/val")
def intake_choice():
    choice = INTAKE_CHOICES.get(request.form.get("Digits", ""))
    if choice is None:
        return _xml(_intake_menu())

    def choose(intake):
        intake.choice = choice

    _save_intake(choose)
    config = current_app.config
    prompt = "intake_record_friend" if choice == "friend" else "intake_record_message"
    return _xml(record_twiml(
        _said(prompt), action_url=_url(".intake_recorded"),
        max_length=config["INTAKE_RECORDING_SECONDS"],
        status_callback=_url(".intake_recording"),
        transcribe_callback=_url(".intake_transcription") if config["INTAKE_TRANSCRIBE"]
        else None,
        after_text=_said("intake_thanks")))


@bp.post("/voice/intag/inspelad")
def intake_recorded():
    """<Record action>: the recording is there (its file may still be processing)."""
    _save_intake(_recording)
    return _xml(say_twiml(_said("intake_thanks")))


@bp.post("/voice/intag/inspelning")
def intake_recording():
    """recordingStatusCallback: the recording's file is ready (or failed)."""
    _save_intake(_recording)
    return "", 204


@bp.post("/voice/intag/text")
def intake_transcription():
    form = request.form

    def transcribed(intake):
        if (form.get("TranscriptionStatus", "completed") == "completed"
                and intake.recording_deleted_at is None):
            intake.transcription = form.get("TranscriptionText", "").strip()

    _save_intake(transcribed)
    return "", 204
