"""The CSV import core (vanringen.csvimport), on the test database, without Flask requests."""

import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from vanringen.csvimport import COLUMNS, CONSENT_VERSION, import_csv
from vanringen.models import Consent, PersonEvent, Senior, Volunteer

SENIOR = {"external_id": "S-1", "first_name": "Greta", "last_name": "Lind",
          "phone": "08-123 456 78", "gender": "female", "birth_year": "1938",
          "languages": "sv;fi", "interests": "trädgård, korsord", "preferred_gender": "any",
          "availability": "tue-afternoon;fri-morning", "district": "Bromma",
          "referral_source": "hemtjänst"}
VOLUNTEER = {"external_id": "V-1", "first_name": "Jonas", "last_name": "Berg",
             "phone": "070-123 45 67", "email": "jonas@example.se", "gender": "male",
             "birth_year": "1990", "languages": "sv", "interests": "fotboll",
             "availability": "tue-afternoon", "capacity": "2", "status": "approved"}
BASE = {"seniors": SENIOR, "volunteers": VOLUNTEER}


def make_csv(kind, rows, delimiter=",", columns=None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    columns = columns or COLUMNS[kind]
    writer.writerow(columns)
    for row in rows:
        values = {**BASE[kind], **row}
        writer.writerow([values.get(c, "") for c in columns])
    return out.getvalue()


def run(session, kind, text, **kw):
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    return import_csv(data, kind, session=session, **kw)


def count(session, model, *where):
    return session.exec(select(sa.func.count()).select_from(model).where(*where)).one()


def many_seniors(n):
    phones = ["08-{:03d} {:02d} {:02d}", "070{:03d}{:02d}{:02d}", "+46 73 {:03d} {:02d} {:02d}",
              "0046 76 {:03d} {:02d} {:02d}"]
    return [{"external_id": f"S-{i:05d}", "first_name": f"Person{i}",
             "phone": phones[i % 4].format(i // 10000 + 100 + i % 900, (i // 100) % 100, i % 100),
             "birth_year": str(1930 + i % 25), "district": ["", "Farsta", "Södermalm"][i % 3],
             "languages": ["sv", "sv;fi", "ar;sv"][i % 3]} for i in range(n)]


def test_5000_rows_import_then_the_same_file_only_updates(session):
    rows = many_seniors(5000)
    text = make_csv("seniors", rows)
    result = run(session, "seniors", text)
    assert result.errors == []
    assert (result.rows, result.created, result.updated) == (5000, 5000, 0)
    session.commit()
    assert count(session, Senior) == 5000
    assert count(session, Consent, Consent.text_version == CONSENT_VERSION) == 5000
    assert count(session, PersonEvent, PersonEvent.action == "imported") == 5000
    consent_ids = set(session.exec(select(Consent.senior_id)).all())
    assert consent_ids == set(session.exec(select(Senior.id)).all())

    again = run(session, "seniors", text)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5000)
    rows[7]["first_name"] = "Ändrad"
    changed = run(session, "seniors", make_csv("seniors", rows))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 4999)
    session.commit()
    assert count(session, Senior) == 5000
    assert count(session, Consent) == 5000
    event = session.exec(select(PersonEvent).where(PersonEvent.action == "updated")).one()
    assert event.detail == "first_name"
    assert session.get(Senior, event.senior_id).first_name == "Ändrad"


def test_values_are_stored_as_the_forms_store_them(session):
    result = run(session, "seniors", make_csv("seniors", [{}, {
        "external_id": "S-2", "phone": "+46 70 111 22 33", "birth_year": "", "district": "",
        "referral_source": "Biståndshandlaggare", "languages": "SV, fi;sv",
        "availability": "fri-morning;mon-evening"}]))
    assert result.ok, result.errors
    session.commit()
    greta, other = session.exec(select(Senior).order_by(Senior.external_id)).all()
    assert greta.phone == "+46812345678" and greta.reminder_channel == "voice"
    assert greta.referral_source == "hemtjanst" and greta.district == "Bromma"
    assert greta.status == "waiting" and greta.waiting_since is not None
    assert other.phone == "+46701112233" and other.reminder_channel == "sms"
    assert other.birth_year is None and other.district is None
    assert other.languages == "sv;fi" and other.availability == "mon-evening;fri-morning"
    assert other.referral_source == "bistandshandlaggare"
    consent = session.exec(select(Consent).where(Consent.senior_id == greta.id)).one()
    assert consent.method == "import" and consent.given_on == date.today()
    assert "innan Vänringen" in consent.text


def test_a_file_with_bad_rows_imports_nothing_and_names_every_row_and_column(session):
    text = make_csv("seniors", [
        {"external_id": "S-1"},
        {"external_id": "S-2", "phone": "123", "birth_year": "1850"},
        {"external_id": "S-3"},
        {"external_id": "S-4", "gender": "kvinna", "languages": "svenska",
         "availability": "monday", "district": "Gotham", "referral_source": "tidningen"},
        {"external_id": "", "first_name": "", "preferred_gender": ""},
    ])
    result = run(session, "seniors", text)
    session.commit()
    assert count(session, Senior) == 0 and count(session, PersonEvent) == 0
    lines = [str(e) for e in result.errors]
    assert lines[:2] == ["rad 3, kolumn phone: ogiltigt telefonnummer '123'",
                         "rad 3, kolumn birth_year: ogiltigt födelseår '1850' (ange ett år "
                         f"mellan 1900 och {date.today().year - 18})"]
    assert [(e.row, e.column) for e in result.errors[2:]] == [
        (5, "gender"), (5, "languages"), (5, "availability"), (5, "district"),
        (5, "referral_source"), (6, "external_id"), (6, "first_name"), (6, "preferred_gender")]
    assert "okänd stadsdel 'Gotham'" in lines[5]
    assert lines[-1] == "rad 6, kolumn preferred_gender: värde saknas"
    assert result.created == result.updated == 0


def test_utf8_bom_and_crlf(session):
    data = "\ufeff".encode() + make_csv("seniors", [{"last_name": "Åström"}]).encode()
    result = run(session, "seniors", data)
    assert result.ok, result.errors
    assert result.encoding == "utf-8-sig" and result.notes == []
    assert session.exec(select(Senior.last_name)).one() == "Åström"


def test_excel_semicolon_variant_with_quoted_lists(session):
    text = ('external_id;first_name;last_name;phone;email;gender;birth_year;languages;'
            'interests;availability;capacity;status\r\n'
            'V-7;Märta;Öst;0701234567;marta@example.se;female;1985;"sv;fi";'
            '"kör; schack";"mon-morning;wed-evening";1;training\r\n')
    result = run(session, "volunteers", text)
    assert result.ok, result.errors
    assert result.delimiter == ";"
    volunteer = session.exec(select(Volunteer)).one()
    assert volunteer.languages == "sv;fi" and volunteer.interests == "kör; schack"
    assert volunteer.availability == "mon-morning;wed-evening"
    assert volunteer.status == "record_checked" and volunteer.approved_at is None


def test_windows_1252_is_read_and_reported(session):
    data = make_csv("seniors", [{"first_name": "Åsa", "last_name": "Sjöström",
                                 "district": "Hägersten-Älvsjö"}], delimiter=";")
    result = run(session, "seniors", data.encode("cp1252"))
    assert result.ok, result.errors
    assert result.encoding == "cp1252" and "Windows-1252" in result.notes[0]
    senior = session.exec(select(Senior)).one()
    assert (senior.first_name, senior.last_name) == ("Åsa", "Sjöström")
    assert senior.district == "Hägersten-Älvsjö"


def test_undecodable_bytes_and_spreadsheets_are_refused(session):
    assert "varken UTF-8 eller Windows-1252" in str(run(session, "seniors", b"a\x81b").errors[0])
    xlsx = run(session, "seniors", b"PK\x03\x04rest")
    assert "Excel-arbetsbok" in xlsx.errors[0].message


@pytest.mark.parametrize("columns, expected", [
    (COLUMNS["seniors"][:-2] + ["stadsdel"],
     "rad 1: fel kolumner i rubrikraden – kolumner saknas: district, referral_source; "
     "okända kolumner: stadsdel"),
    (COLUMNS["seniors"] + ["phone"], "kolumner som förekommer flera gånger: phone"),
    (COLUMNS["volunteers"], "(filen ser ut att innehålla volontärer)"),
])
def test_wrong_columns_name_them_and_import_nothing(session, columns, expected):
    result = run(session, "seniors", make_csv("seniors", [{}], columns=columns))
    assert len(result.errors) == 1 and expected in str(result.errors[0])
    assert count(session, Senior) == 0


def test_column_names_are_trimmed_and_any_order(session):
    columns = list(reversed(COLUMNS["seniors"]))
    text = make_csv("seniors", [{}], columns=columns).replace("phone", " Phone ", 1)
    assert run(session, "seniors", text).created == 1


@pytest.mark.parametrize("data, message", [
    (b"", "filen är tom"),
    (b"\xef\xbb\xbf\r\n", "filen är tom"),
    (",".join(COLUMNS["seniors"]).encode() + b"\r\n,,,\r\n",
     "filen innehåller bara rubrikraden"),
])
def test_empty_file_or_header_only(session, data, message):
    result = run(session, "seniors", data)
    assert not result.ok and message in result.errors[0].message


def test_duplicate_external_id_in_file(session):
    result = run(session, "seniors", make_csv("seniors", [{}, {"external_id": "S-2"}, {}]))
    assert [str(e) for e in result.errors] == [
        "rad 4, kolumn external_id: external_id 'S-1' finns redan på rad 2"]
    assert count(session, Senior) == 0


def test_row_numbers_follow_the_spreadsheet(session):
    # A quoted cell over three lines is still one row; a blank row still counts as a row.
    text = make_csv("seniors", [{"interests": "a\nb\nc"}, {"external_id": "S-2", "phone": "1"}])
    assert str(run(session, "seniors", text).errors[0]).startswith("rad 3, kolumn phone")
    text = text.replace("\r\nS-2", "\r\n\r\nS-2")
    assert str(run(session, "seniors", text).errors[0]).startswith("rad 4, kolumn phone")


def test_volunteer_matching_a_web_applicant_by_phone_updates_it(session, coordinator):
    applicant = Volunteer(first_name="Jonas", phone="+46701234567", gender="male",
                          email="jonas.berg@example.se", status="applied")
    session.add(applicant)
    session.commit()
    result = run(session, "volunteers", make_csv("volunteers", [{"status": "training"}]),
                 actor_id=coordinator.id)
    assert (result.created, result.updated) == (0, 1), result.errors
    session.commit()
    session.refresh(applicant)
    assert applicant.external_id == "V-1" and applicant.email == "jonas@example.se"
    assert applicant.status == "record_checked" and applicant.capacity == 2
    assert count(session, Volunteer) == 1 and count(session, Consent) == 0
    event = session.exec(select(PersonEvent)).one()
    assert (event.action, event.actor_id) == ("updated", coordinator.id)
    assert (event.from_status, event.to_status) == ("applied", "record_checked")
    assert "external_id" in event.detail


def test_volunteer_matching_one_with_another_external_id_is_an_error(session):
    assert run(session, "volunteers", make_csv("volunteers", [{}])).ok
    session.commit()
    result = run(session, "volunteers", make_csv("volunteers", [
        {"external_id": "V-2", "phone": "+46 70 123 45 67", "email": ""},
        {"external_id": "V-3", "phone": "0739998877", "email": "JONAS@example.se"}]))
    assert [str(e) for e in result.errors] == [
        "rad 2, kolumn phone: telefonnumret finns redan hos volontären med external_id 'V-1'",
        "rad 3, kolumn email: e-postadressen finns redan hos volontären med external_id 'V-1'"]
    assert count(session, Volunteer) == 1


def test_volunteer_rules(session):
    result = run(session, "volunteers", make_csv("volunteers", [
        {"phone": "08-123 456 78", "email": "inte-en-adress", "capacity": "3",
         "status": "godkänd", "birth_year": ""}]))
    assert [(e.column, e.message) for e in result.errors] == [
        ("phone", "'08-123 456 78' är inget mobilnummer"),
        ("email", "ogiltig e-postadress 'inte-en-adress'"),
        ("birth_year", "värde saknas"),
        ("capacity", "ogiltig kapacitet '3' (tillåtet: 1|2)"),
        ("status", "ogiltig status 'godkänd' (tillåtet: applied|training|approved)")]
    ok = run(session, "volunteers", make_csv("volunteers", [{"email": ""}]))
    assert ok.ok
    volunteer = session.exec(select(Volunteer)).one()
    assert volunteer.email is None and volunteer.status == "approved"
    assert volunteer.approved_at is not None


def test_reimport_never_moves_a_volunteer_backwards(session):
    run(session, "volunteers", make_csv("volunteers", [{}]))
    session.commit()
    result = run(session, "volunteers", make_csv("volunteers", [{"status": "applied"}]))
    assert (result.updated, result.unchanged) == (0, 1)
    assert session.exec(select(Volunteer.status)).one() == "approved"


def test_dry_run_writes_nothing(session):
    result = run(session, "seniors", make_csv("seniors", [{}, {"external_id": "S-2"}]),
                 dry_run=True)
    assert result.ok and result.dry_run and result.created == 2
    session.commit()
    assert count(session, Senior) == 0 and count(session, Consent) == 0
    assert count(session, PersonEvent) == 0


def test_excel_trailing_empty_columns_are_ignored_but_stray_values_are_not(session):
    text = make_csv("seniors", [{}], delimiter=";").replace("\r\n", ";;\r\n")
    assert run(session, "seniors", text, dry_run=True).created == 1
    stray = text.replace("hemtjänst;;", "hemtjänst;;oj")
    assert [str(e) for e in run(session, "seniors", stray).errors] == [
        "rad 2: fler värden än kolumner i rubrikraden"]


def test_volunteers_imported_as_approved_count_their_extract_from_the_import_day(session):
    """The programme vouches for those it approved before Vänringen: matchable until the
    extract is due again; those still in screening get no extract date."""
    from vanringen.volunteers import is_matchable

    applicant = Volunteer(first_name="Lena", phone="+46739998877", gender="female",
                          status="applied")
    session.add(applicant)
    session.commit()
    result = run(session, "volunteers", make_csv("volunteers", [
        {}, {"external_id": "V-2", "phone": "0701112233", "email": "", "status": "training"},
        {"external_id": "V-3", "phone": "0739998877", "email": "", "status": "approved"}]))
    assert (result.created, result.updated) == (2, 1), result.errors
    session.commit()
    by_id = {v.external_id: v for v in session.exec(select(Volunteer)).all()}
    today = date.today()
    assert by_id["V-1"].police_record_checked_on == today
    assert by_id["V-2"].police_record_checked_on is None
    assert by_id["V-3"].police_record_checked_on == today  # the web applicant, now approved
    assert is_matchable(by_id["V-1"], today, 365)
    assert not is_matchable(by_id["V-1"], date.fromordinal(today.toordinal() + 366), 365)
