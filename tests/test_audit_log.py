"""The admins' search of the audit log (vanringen/audit_log.py, /admin/logg): filters,
keyset pages, the CSV download (itself logged), and nobody else may read it."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import html_text
from sqlmodel import select
from test_matches import make_senior, make_volunteer

from vanringen.models import AuditEvent


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def as_admin(client, admin):
    client.login(admin)
    return client


@pytest.fixture
def world(session, coordinator, admin):
    senior = make_senior(session, external_id="S-100")
    volunteer = make_volunteer(session, external_id="V-200")
    # Written oldest first, as the app writes them: ids follow time.
    rows = {
        "system": AuditEvent(action="retention", at=at("2026-11-28 02:30"), endpoint="cli",
                             detail="=audit=3"),
        "link": AuditEvent(action="view", at=at("2026-11-29 10:00"),
                           actor_volunteer_id=volunteer.id, volunteer_id=volunteer.id,
                           endpoint="volunteer_page.page", method="GET", status_code=200),
        "changed": AuditEvent(action="change", at=at("2026-11-30 22:30"), actor_id=admin.id,
                              volunteer_id=volunteer.id, endpoint="volunteers.edit",
                              method="POST", status_code=302, ip="10.0.0.2",
                              detail="fält=phone"),
        # 00:30 on 1 December in Stockholm, still 30 November in UTC.
        "seen": AuditEvent(action="view", at=at("2026-11-30 23:30"), actor_id=coordinator.id,
                           senior_id=senior.id, endpoint="seniors.detail", method="GET",
                           status_code=200, ip="10.0.0.1"),
    }
    session.add_all(rows.values())
    session.commit()
    return {"senior": senior, "volunteer": volunteer, **rows}


def shown_ids(response) -> list[int]:
    return [int(i) for i in re.findall(r'data-event="(\d+)"', html_text(response))]


def search(client, **args):
    response = client.get("/admin/logg/", query_string=args)
    assert response.status_code == 200, html_text(response)
    return response


def test_coordinators_may_not_read_the_log(logged_in, world):
    assert logged_in.get("/admin/logg/").status_code == 403
    assert logged_in.get("/admin/logg/ladda-ner.csv").status_code == 403
    assert "/admin/logg" not in html_text(logged_in.get("/oversikt"))


def test_admins_find_it_in_the_menu(as_admin):
    assert 'href="/admin/logg/"' in html_text(as_admin.get("/oversikt"))


def test_newest_first_with_who_what_and_whom(as_admin, world, coordinator):
    response = search(as_admin, fran="2026-11-28", till="2026-12-01")
    ids = [world[k].id for k in ("seen", "changed", "link", "system")]
    assert shown_ids(response) == ids
    page = html_text(response)
    assert "2026-12-01 00:30:00" in page  # local time
    assert "Karin Koordinator" in page and "Ada Admin" in page
    assert f"Volontär #{world['volunteer'].id}" in page and "system" in page
    assert "Visade" in page and "Ändrade" in page and "Gallring" in page
    assert f'href="/seniorer/{world["senior"].id}"' in page
    assert f'href="/volontarer/{world["volunteer"].id}"' in page
    assert "seniors.detail" in page and "10.0.0.1" in page and "fält=phone" in page


@pytest.mark.parametrize("args, expected", [
    ({"senior": "{senior}"}, ["seen"]),
    ({"senior": "S-100"}, ["seen"]),
    ({"volontar": "V-200"}, ["changed", "link"]),
    ({"volontar": "{volunteer}", "handling": "change"}, ["changed"]),
    ({"handling": "retention"}, ["system"]),
    ({"personal": "{coordinator}"}, ["seen"]),
    # Local days: 1 December starts at 23:00 UTC on 30 November.
    ({"fran": "2026-12-01", "till": "2026-12-01"}, ["seen"]),
    ({"fran": "2026-11-29", "till": "2026-11-30"}, ["changed", "link"]),
])
def test_filters(as_admin, world, coordinator, args, expected):
    ids = {"senior": world["senior"].id, "volunteer": world["volunteer"].id,
           "coordinator": coordinator.id}
    args = {k: v.format(**ids) for k, v in args.items()}
    before = {"till": "2026-12-02"} if "fran" not in args else {}
    assert shown_ids(search(as_admin, **before, **args)) == [world[k].id for k in expected]


def test_bad_search_fields_say_what_is_wrong(as_admin, world):
    response = as_admin.get("/admin/logg/", query_string={
        "fran": "1 dec", "senior": "okänd-id", "till": "2026-12-01"})
    assert response.status_code == 422
    page = html_text(response)
    assert 'id="fran-error"' in page and "ÅÅÅÅ-MM-DD" in page
    assert 'id="senior-error"' in page and "okänd-id" in page
    assert shown_ids(response) == []
    backwards = as_admin.get("/admin/logg/", query_string={"fran": "2026-12-02",
                                                           "till": "2026-12-01"})
    assert backwards.status_code == 422 and "före startdatumet" in html_text(backwards)


def test_pages_of_fifty_by_id(as_admin, session):
    start = at("2026-10-01 08:00")
    session.add_all([AuditEvent(action="view", senior_id=1, at=start + timedelta(minutes=i),
                                endpoint="seniors.detail") for i in range(120)])
    session.commit()
    all_ids = [e.id for e in session.exec(select(AuditEvent).where(AuditEvent.senior_id == 1)
                                          .order_by(AuditEvent.id.desc()))]
    seen, args, pages = [], {"till": "2026-10-31"}, 0
    while True:
        response = search(as_admin, **args)
        ids = shown_ids(response)
        assert len(ids) == (50 if pages < 2 else 20)
        seen += ids
        pages += 1
        older = re.search(r'href="([^"]*fore=(\d+)[^"]*)"', html_text(response))
        if not older:
            break
        assert int(older.group(2)) == ids[-1]
        args = {"till": "2026-10-31", "fore": older.group(2)}
    assert pages == 3 and seen == all_ids
    # A row written meanwhile does not push one onto the next page.
    session.add(AuditEvent(action="view", senior_id=1, at=start, endpoint="seniors.detail"))
    session.commit()
    assert shown_ids(search(as_admin, till="2026-10-31", fore=str(all_ids[49]))) == \
        all_ids[50:100]


def test_csv_of_the_search_is_safe_and_itself_logged(as_admin, session, world, admin):
    response = as_admin.get("/admin/logg/ladda-ner.csv",
                            query_string={"volontar": "V-200", "till": "2026-12-01"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["tid", "vem", "handling", "senior_id", "volontar_id", "par_id",
                       "konto_id", "endpoint", "metod", "status", "ip", "detalj"]
    volunteer = str(world["volunteer"].id)
    assert [(r[0], r[1], r[2], r[4], r[9]) for r in rows[1:]] == [
        ("2026-11-30T23:30:00+01:00", "Ada Admin", "change", volunteer, "302"),
        ("2026-11-29T11:00:00+01:00", f"Volontär #{volunteer}", "view", volunteer, "200")]
    everything = as_admin.get("/admin/logg/ladda-ner.csv", query_string={"till": "2026-12-01"})
    [system] = [r for r in csv.reader(io.StringIO(everything.get_data(as_text=True)))
                if r[2] == "retention"]
    assert system[1] == "system" and system[11] == "'=audit=3"  # no formula for Excel
    session.rollback()
    exports = session.exec(select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert [(e.actor_id, e.endpoint, e.volunteer_id) for e in exports] == [
        (admin.id, "audit_log.download", world["volunteer"].id),
        (admin.id, "audit_log.download", None)]


def test_the_log_can_only_be_read(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("audit_log.")]
    assert rules and all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in rules)
