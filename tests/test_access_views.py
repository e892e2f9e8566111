"""The registerutdrag pages and download (vanringen/access_views.py) and
`vanringen gdpr export`: what they show, their headers, the audit row each writes."""

import html
import json
import os
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from test_access_export import HOSTILE, phone_forms, seed

from vanringen.access_export import SECTIONS
from vanringen.access_views import SECTION_TITLES
from vanringen.models import AuditEvent

TZ = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def world(session, coordinator):
    return seed(session, coordinator)


def exports(session) -> list[AuditEvent]:
    session.expire_all()
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == "access_export")
                             .order_by(AuditEvent.id)))


def page_text(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


def today() -> str:
    return datetime.now(TZ).date().isoformat()


# ---------------------------------------------------------------- the page

def test_the_senior_page_shows_every_section_and_value(logged_in, session, world):
    response = logged_in.get(f"/seniorer/{world.senior.id}/registerutdrag")
    text = page_text(response)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Registerutdrag för Gunhild Ödmark" in text
    for section in SECTIONS:
        assert f'id="{section}">{SECTION_TITLES[section]}' in text, section
    for value in ["S-0042", "Gunhilds samtyckestext", "Gunhild hälsar på sin syster",
                  "Flyttad för tandläkaren", "Pratade om trädgården", "Låter trött",
                  "Hej Gunhild! I dag ringer Ragnar.", "Tack för samtalet!",
                  "Oro för Gunhild Ödmark", "Ringde Gunhild, allt väl",
                  "Jag vill ha någon att prata med", "Trädgård och samma eftermiddagar",
                  "Sven […] pratade för fort", "STOPP", "seniors.detail", "Karin Koordinator",
                  "Hör lite dåligt", "Samtalet blev av", "Levererat", "Oro för en senior",
                  "Pågår", "Godkänt", "tisdag eftermiddag", "070-123 45 67", "Visade",
                  "Matchad", "Kvinna"]:
        assert value in text, value
    # Times in words in the programme's zone, not ISO strings.
    assert "2026-11-03T14:00" not in text
    assert "Skriv ut sidan" in text


def test_the_senior_page_leaks_nobody_else(logged_in, world):
    text = page_text(logged_in.get(f"/seniorer/{world.senior.id}/registerutdrag"))
    assert "Ragnar" in text
    ragnar, britta = world.volunteer, world.other_senior
    for secret in ["Tvärsten", ragnar.email, *phone_forms(ragnar.phone), "Britta",
                   "Klöverhage", *phone_forms(britta.phone), "barnbarnen", "Ekholmsson"]:
        assert secret not in text, secret


def test_hostile_text_is_escaped(logged_in, world):
    raw = logged_in.get(f"/seniorer/{world.senior.id}/registerutdrag").get_data(as_text=True)
    assert HOSTILE not in raw
    assert "&lt;script&gt;" in raw
    assert not re.search(r"<script\b", raw)


def test_the_page_links_its_download_and_the_detail_pages_link_the_page(logged_in, world):
    senior, volunteer = world.senior, world.volunteer
    text = page_text(logged_in.get(f"/seniorer/{senior.id}/registerutdrag"))
    assert f'href="/seniorer/{senior.id}/registerutdrag.json"' in text
    assert f'href="/seniorer/{senior.id}"' in text
    detail = page_text(logged_in.get(f"/seniorer/{senior.id}"))
    assert f'href="/seniorer/{senior.id}/registerutdrag">Registerutdrag (art. 15)' in detail
    detail = page_text(logged_in.get(f"/volontarer/{volunteer.id}"))
    assert f'href="/volontarer/{volunteer.id}/registerutdrag">Registerutdrag (art. 15)' \
        in detail


def test_the_volunteer_page(logged_in, session, world):
    text = page_text(logged_in.get(f"/volontarer/{world.volunteer.id}/registerutdrag"))
    assert "Registerutdrag för Ragnar Tvärsten" in text
    for value in ["ragnar.tvarsten@example.se", "Vill göra nytta", "Ragnars samtyckestext",
                  "JA 35", "Britta pratade om barnbarnen", "Oro för Gunhild […]"]:
        assert value in text, value
    for secret in ["Ödmark", "Klöverhage", *phone_forms(world.senior.phone),
                   *phone_forms(world.other_senior.phone), "Hör lite dåligt"]:
        assert secret not in text, secret
    assert f'href="/volontarer/{world.volunteer.id}/registerutdrag.json"' in text
    [row] = exports(session)
    assert (row.volunteer_id, row.senior_id, row.detail) == \
        (world.volunteer.id, None, "format=html")


def test_each_view_of_the_page_writes_an_audit_row(logged_in, session, world, coordinator):
    logged_in.get(f"/seniorer/{world.senior.id}/registerutdrag")
    logged_in.get(f"/seniorer/{world.senior.id}/registerutdrag")
    rows = exports(session)
    assert [(r.senior_id, r.actor_id, r.endpoint, r.detail) for r in rows] == \
        [(world.senior.id, coordinator.id, "access.senior_page", "format=html")] * 2


def test_an_admin_may_open_it_and_strangers_may_not(client, admin, session, world):
    path = f"/seniorer/{world.senior.id}/registerutdrag"
    assert client.get(path).status_code == 302
    assert client.get(path + ".json").status_code == 302
    assert exports(session) == []
    client.login(admin)
    assert client.get(path).status_code == 200


def test_an_unknown_person_is_not_found(logged_in, session):
    for path in ["/seniorer/999/registerutdrag", "/seniorer/999/registerutdrag.json",
                 "/volontarer/999/registerutdrag", "/volontarer/999/registerutdrag.json"]:
        assert logged_in.get(path).status_code == 404, path
    assert exports(session) == []


# ---------------------------------------------------------------- the download

def test_the_json_download(logged_in, session, world, coordinator):
    response = logged_in.get(f"/seniorer/{world.senior.id}/registerutdrag.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="registerutdrag-senior-{world.senior.id}-{today()}.json"'
    assert response.headers["Cache-Control"] == "private, no-store"
    body = response.get_data(as_text=True)
    assert "Ödmark" in body  # UTF-8 as it is, not \u escapes
    data = json.loads(body)
    assert set(SECTIONS) <= set(data)
    assert data["profile"]["external_id"] == "S-0042"
    assert data["call_logs"][0]["note"] == "Pratade om trädgården"
    [row] = exports(session)
    assert (row.senior_id, row.actor_id, row.detail) == \
        (world.senior.id, coordinator.id, "format=json")


def test_the_volunteer_json_download(logged_in, session, world):
    response = logged_in.get(f"/volontarer/{world.volunteer.id}/registerutdrag.json")
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="registerutdrag-volunteer-{world.volunteer.id}-{today()}.json"'
    data = response.get_json()
    assert data["subject"] == {"kind": "volunteer", "id": world.volunteer.id}
    assert "Klöverhage" not in response.get_data(as_text=True)
    assert [r.volunteer_id for r in exports(session)] == [world.volunteer.id]


# ---------------------------------------------------------------- vanringen gdpr export

def test_the_cli_writes_a_file(runner, session, world, tmp_path):
    out = tmp_path / "utdrag.json"
    result = runner.invoke(args=["gdpr", "export", "--senior", "S-0042", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    text = out.read_text(encoding="utf-8")
    assert "Gunhild hälsar på sin syster" in text and '\n  "profile": {' in text
    assert json.loads(text)["profile"]["first_name"] == "Gunhild"
    assert os.stat(out).st_mode & 0o077 == 0
    [row] = exports(session)
    assert (row.senior_id, row.actor_id, row.endpoint, row.detail) == \
        (world.senior.id, None, "cli", "format=json")


def test_the_cli_writes_to_stdout(runner, session, world):
    result = runner.invoke(args=["gdpr", "export", "--volunteer", "V-0007", "--out", "-"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["profile"]["email"] == "ragnar.tvarsten@example.se"
    assert "standard ut" in result.stderr
    assert [r.volunteer_id for r in exports(session)] == [world.volunteer.id]


def test_the_cli_takes_the_number_shown_on_the_page(runner, session, world):
    result = runner.invoke(args=["gdpr", "export", "--volunteer", f"#{world.volunteer.id}",
                                 "--out", "-"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["profile"]["email"] == "ragnar.tvarsten@example.se"


def test_the_cli_refuses_an_unknown_id(runner, session, world, tmp_path):
    out = tmp_path / "utdrag.json"
    result = runner.invoke(args=["gdpr", "export", "--senior", "S-9999", "--out", str(out)])
    assert result.exit_code == 1
    assert "ingen senior med id 'S-9999'" in result.stderr
    assert not out.exists()
    result = runner.invoke(args=["gdpr", "export", "--volunteer", "S-0042", "--out", str(out)])
    assert result.exit_code == 1
    assert "ingen volontär med id 'S-0042'" in result.stderr
    assert exports(session) == []


def test_the_cli_wants_exactly_one_person(runner, world, tmp_path):
    out = str(tmp_path / "utdrag.json")
    for args in [[], ["--senior", "S-0042", "--volunteer", "V-0007"]]:
        result = runner.invoke(args=["gdpr", "export", *args, "--out", out])
        assert result.exit_code == 2
        assert "ange antingen --senior eller --volunteer" in result.output
