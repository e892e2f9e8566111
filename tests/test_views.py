"""The coordinator's start page (vanringen/views.py)."""

from datetime import timedelta

import time_machine
from call_support import at, paired, planner

from vanringen.models import Message, Task


def card(page: str, label: str) -> str:
    """The number on the card with this label."""
    before = page[:page.index(label)]
    return before[before.rindex('<span class="number">') + 21:].split("<", 1)[0]


def test_overview_counts_people_calls_failures_and_tasks(app, session, logged_in):
    with time_machine.travel(at("2026-12-08 08:00"), tick=False):
        now = at("2026-12-08 08:00")  # a Tuesday
        tuesday = paired(session, call_times="tue 14:00")
        wednesday = paired(session, call_times="wed 14:00", senior="Ingrid", volunteer="Amira",
                           n=1)
        planner(app, session).plan([tuesday, wednesday], now=now)
        session.commit()
        session.add_all([
            Message(channel="sms", recipient="+46701110000", body="x", kind="test",
                    status="undelivered", updated_at=now - timedelta(days=1)),
            Message(channel="sms", recipient="+46701110000", body="x", kind="test",
                    status="failed", updated_at=now - timedelta(days=30)),
            Message(channel="sms", recipient="+46701110000", body="x", kind="test",
                    status="delivered", updated_at=now),
            Task(kind="inbound_sms", title="Svar från Greta")])
        session.commit()
        raw = logged_in.get("/oversikt").get_data(as_text=True)
    assert card(raw, "samtal planerade i dag") == "1"
    assert card(raw, "meddelanden kom inte fram senaste veckan") == "1"
    assert card(raw, "saker att göra") == "1"
    assert 'href="/meddelanden/?visa=misslyckade"' in raw and 'href="/att-gora/"' in raw
