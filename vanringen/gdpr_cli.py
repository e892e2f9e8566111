"""`vanringen gdpr …`: the data-protection officer's commands. The commands themselves
live beside what they do (access_views.py, erasure_views.py, retention.py) and attach here."""

from flask.cli import AppGroup
from sqlmodel import select

gdpr_cli = AppGroup("gdpr", help="Personuppgifter: registerutdrag, radering, gallring.")


def find_person(model, ref: str, *, session):
    """The senior or volunteer `ref` names: their external id, or "#12" (or "12") for the
    app's own id, shown on their page — people registered in the app have no external id."""
    ref = ref.strip()
    person = session.exec(select(model).where(model.external_id == ref)).first()
    if person is None and ref.removeprefix("#").isdigit():
        person = session.get(model, int(ref.removeprefix("#")))
    return person
