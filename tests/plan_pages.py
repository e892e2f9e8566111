"""Helpers for tests of the call plan on the pair page: the page's calls table, its forms,
and everything a call-plan form may change."""

import html
import re
from datetime import UTC, datetime

from babel.dates import format_datetime
from call_support import TZ, calls_of, local, messages
from sqlmodel import select
from test_message_log import table_rows

from vanringen.models import Pair, PairPause, PersonEvent


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def plan_rows(client, pair) -> list[list[str]]:
    return table_rows(text(client.get(f"/par/{pair.id}")), "calls")


def label(moment: datetime) -> str:
    """A call as the plan's table names it, e.g. 'tisdag 8 dec. 14:00'."""
    return format_datetime(moment, "EEEE d MMM HH:mm", tzinfo=TZ, locale="sv")


def row(rows: list[list[str]], moment: datetime) -> list[str]:
    found = [r for r in rows if r[0].startswith(label(moment))]
    assert len(found) == 1, (label(moment), rows)
    return found[0]


def post(client, pair, path, data):
    return client.submit(f"/par/{pair.id}{path}", data, form_path=f"/par/{pair.id}")


def followed(client, response) -> str:
    assert response.status_code == 302, text(response)
    return text(client.get(response.headers["Location"]))


def state(session, pair) -> tuple:
    """Everything a call-plan form may change."""
    session.expire_all()
    return (session.get(Pair, pair.id).call_times,
            [(c.id, c.status, c.scheduled_at, c.moved_from, c.note)
             for c in calls_of(session, pair)],
            [(m.id, m.status, m.due_at) for m in messages(session)],
            [(p.id, p.starts_on, p.resumes_on) for p in session.exec(select(PairPause))],
            len(session.exec(select(PersonEvent)).all()))


def plan_events(session) -> list[PersonEvent]:
    session.expire_all()
    return list(session.exec(select(PersonEvent).where(PersonEvent.action == "call_plan")
                             .order_by(PersonEvent.id)))


def utc(*when) -> datetime:
    return datetime(*when, tzinfo=UTC)


def due(volunteer: datetime, senior: datetime) -> dict[str, datetime]:
    """The pending reminders of a call to a senior who gets SMS."""
    return {"reminder_volunteer": volunteer, "reminder_senior_sms": senior}


def reminders(session, call) -> dict[str, datetime]:
    return {m.kind: m.due_at for m in messages(session, call_id=call.id, status="pending")}


def planned(session, pair) -> list[str]:
    return [local(c.scheduled_at) for c in calls_of(session, pair) if c.status == "planned"]


def field_error(page: str, field: str) -> str | None:
    found = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', page, re.S)
    return found and found.group(1)


def refused_at(response, field: str, error: str) -> str:
    assert response.status_code == 422
    page = text(response)
    assert field_error(page, field) == error
    assert f'aria-invalid="true" aria-describedby="{field}-error"' in page
    return page
