"""The upload page and the `vanringen import` commands (the core is in test_csvimport.py)."""

import io

import sqlalchemy as sa
from sqlmodel import select
from test_csvimport import make_csv, many_seniors

from vanringen.models import Consent, PersonEvent, Senior, Volunteer


def count(session, model):
    return session.exec(select(sa.func.count()).select_from(model)).one()


def upload(client, kind, text, dry_run=False, filename="personer.csv"):
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    form = {"kind": kind, "file": (io.BytesIO(data), filename)}
    if dry_run:
        form["dry_run"] = "y"
    return client.submit("/import/", form, content_type="multipart/form-data")


# ------------------------------------------------------------------ CLI

def test_cli_imports_and_reports_counts(runner, session, tmp_path):
    path = tmp_path / "seniorer.csv"
    path.write_text(make_csv("seniors", many_seniors(30)), encoding="utf-8-sig")
    result = runner.invoke(args=["import", "seniors", str(path)])
    assert result.exit_code == 0, result.output
    assert "30 nya, 0 uppdaterade, 0 oförändrade" in result.output
    assert "UTF-8 med BOM" in result.output
    assert count(session, Senior) == 30
    events = session.exec(select(PersonEvent)).all()
    assert {e.action for e in events} == {"imported"} and {e.actor_id for e in events} == {None}

    again = runner.invoke(args=["import", "seniors", str(path)])
    assert again.exit_code == 0 and "0 nya, 0 uppdaterade, 30 oförändrade" in again.output


def test_cli_errors_exit_non_zero_and_import_nothing(runner, session, tmp_path):
    path = tmp_path / "volontarer.csv"
    path.write_text(make_csv("volunteers", [{}, {"external_id": "V-2", "phone": "123"},
                                            {"external_id": "V-3", "capacity": "5"}]))
    result = runner.invoke(args=["import", "volunteers", str(path)])
    assert result.exit_code == 1
    assert "rad 3, kolumn phone: ogiltigt telefonnummer '123'" in result.stderr
    assert "rad 4, kolumn capacity: ogiltig kapacitet '5'" in result.stderr
    assert "Inget importerades: 2 fel" in result.stderr
    assert count(session, Volunteer) == 0


def test_cli_dry_run_and_cp1252_note(runner, session, tmp_path):
    path = tmp_path / "gammal.csv"
    path.write_bytes(make_csv("seniors", [{"first_name": "Åke"}], delimiter=";")
                     .encode("cp1252"))
    result = runner.invoke(args=["import", "seniors", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert "inga ändringar sparades" in result.output
    assert "Windows-1252" in result.stderr and "semikolonavgränsad" in result.output
    assert count(session, Senior) == 0


def test_cli_wrong_columns(runner, session, tmp_path):
    path = tmp_path / "fel.csv"
    path.write_text("external_id,namn\nS-1,Greta\n")
    result = runner.invoke(args=["import", "seniors", str(path)])
    assert result.exit_code == 1
    assert "rad 1: fel kolumner i rubrikraden – kolumner saknas: first_name" in result.stderr
    assert "okända kolumner: namn" in result.stderr


# ------------------------------------------------------------------ upload page

def test_upload_page_requires_login(client):
    response = client.get("/import/")
    assert response.status_code == 302 and "/logga-in" in response.headers["Location"]


def test_upload_page_shows_form_and_columns(logged_in):
    page = logged_in.get("/import/").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert '<label for="dry_run"' in page or 'id="dry_run"' in page
    assert "Bara kontrollera" in page
    assert "external_id,first_name,last_name,phone,gender" in page


def test_upload_success_saves_and_records_the_staff_member(logged_in, session, coordinator):
    response = upload(logged_in, "seniors", make_csv("seniors", [{}, {"external_id": "S-2"}]))
    assert response.status_code == 302
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Importen är klar: 2 nya och 0 uppdaterade seniorer" in page
    assert count(session, Senior) == 2
    events = session.exec(select(PersonEvent)).all()
    assert [e.actor_id for e in events] == [coordinator.id, coordinator.id]
    consent = session.exec(select(Consent)).first()
    assert consent.recorded_by_id == coordinator.id
    assert consent.recorded_by_name == "Karin Koordinator"


def test_upload_errors_are_shown_in_a_table_and_nothing_is_kept(logged_in, session):
    text = make_csv("seniors", [{}, {"external_id": "S-2", "phone": "123"},
                                {"external_id": "S-3", "gender": "kvinna"}])
    response = upload(logged_in, "seniors", text)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Filen importerades inte" in page and "2 fel hittades" in page
    assert '<th scope="col">Rad</th>' in page
    assert "<tr><td>3</td><td><code>phone</code></td><td>ogiltigt telefonnummer &#39;123&#39;" \
        in page
    assert "<tr><td>4</td><td><code>gender</code></td>" in page
    assert count(session, Senior) == 0


def test_upload_dry_run_keeps_nothing(logged_in, session):
    response = upload(logged_in, "volunteers", make_csv("volunteers", [{}]), dry_run=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Filen är korrekt" in page and "inga ändringar sparades" in page
    assert "1 skulle skapas" in page
    assert count(session, Volunteer) == 0


def test_upload_without_a_file_is_a_form_error(logged_in):
    response = logged_in.submit("/import/", {"kind": "seniors"},
                                content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Välj en CSV-fil." in response.get_data(as_text=True)


def test_too_large_upload_gets_a_swedish_message(app, logged_in, session):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    response = upload(logged_in, "seniors", make_csv("seniors", many_seniors(40)))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Filen är för stor" in page and 'name="file"' in page
    assert count(session, Senior) == 0
