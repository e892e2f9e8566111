"""The pages anyone may see without signing in: the volunteer application and its thank-you.

Every endpoint here is public because of the blueprint's name (permissions.PUBLIC_PREFIXES).
"""

import logging

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext as _
from wtforms import ValidationError

from . import messaging
from .csvimport import CONTROL_CHARACTERS
from .db import get_session
from .models import Consent, Message, Volunteer
from .people import local_today, record_event
from .volunteer_forms import (
    VOLUNTEER_CONSENT_TEXT,
    VOLUNTEER_CONSENT_VERSION,
    ApplicationForm,
    profile_values,
)
from .volunteers import find_duplicates

bp = Blueprint("public", __name__)
log = logging.getLogger(__name__)

FIELD_NAMES = {"email": "e-post", "phone": "mobilnummer"}


@bp.route("/bli-telefonvan", methods=["GET", "POST"])
def apply():
    form = ApplicationForm()
    valid = form.validate_on_submit()
    if form.is_submitted() and not _printable(form):
        valid = False
    if valid:
        try:
            values = profile_values(form)
        except ValidationError:
            values = None  # the bad language code is already on form.other_languages
        if values is not None:
            session = get_session()
            duplicates = find_duplicates(session, email=values["email"], phone=values["phone"])
            if duplicates:
                _note_duplicates(duplicates, session=session)
                session.commit()
            else:
                message = _create_volunteer(values, session=session)
                # Record first, then send: the application and its message are stored
                # before any provider is asked, so a failing sender loses neither.
                session.commit()
                messaging.send_committed([message], session=session)
            # The same page either way: it must not tell a stranger who has applied.
            return redirect(url_for("public.thanks"))
    status = 422 if form.errors else 200
    return render_template("public/apply.html", form=form,
                           consent_text=VOLUNTEER_CONSENT_TEXT), status


def _printable(form) -> bool:
    """False, with an error on each field concerned, when any value has control characters."""
    clean = True
    for field in form:
        if any(isinstance(value, str) and CONTROL_CHARACTERS.search(value)
               for value in field.raw_data or ()):
            field.errors = [*field.errors, _("Fältet innehåller otillåtna osynliga tecken. "
                                             "Skriv texten igen utan dem.")]
            clean = False
    return clean


def _note_duplicates(duplicates, *, session) -> None:
    """Tell the coordinator on the existing record; their data stays as it is."""
    today = local_today().isoformat()
    for volunteer, matched in duplicates:
        fields = " och ".join(FIELD_NAMES[m] for m in matched)
        record_event("duplicate_application", session=session, volunteer=volunteer,
                     detail=f"Ny ansökan via webben {today} med samma {fields}. "
                            "De nya uppgifterna sparades inte.")


def _create_volunteer(values: dict, *, session) -> Message:
    """The volunteer, their consent, history and confirmation SMS; returns the SMS."""
    volunteer = Volunteer(**values, status="applied")
    session.add(volunteer)
    session.flush()  # the id, for the consent, the event and the message
    session.add(Consent(volunteer_id=volunteer.id, method="web",
                        text_version=VOLUNTEER_CONSENT_VERSION, text=VOLUNTEER_CONSENT_TEXT,
                        given_on=local_today()))
    record_event("created", session=session, volunteer=volunteer, to_status="applied")
    return messaging.queue("application_confirmation", volunteer.phone,
                           {"volontär": volunteer.first_name}, session=session,
                           volunteer_id=volunteer.id)


@bp.get("/bli-telefonvan/tack")
def thanks():
    return render_template("public/thanks.html")
