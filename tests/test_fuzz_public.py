"""Hostile input at the public volunteer application (/bli-telefonvan, blueprint "public").

For every example: no 500; a refused application writes nothing; an accepted one shows its
(hostile) text escaped on the coordinator's volunteer list and detail pages.
"""

import pytest
from fuzz_support import (
    FEW,
    FORM,
    FUZZ,
    SPOOLED_LEAK,
    UPLOAD_MB,
    Harness,
    audit_holds_no_input,
    collect_leaks,
    csrf_token,
    form_body,
    hostile_text,
    multipart_body,
    no_raw_script,
    raw_value,
    sign_in_coordinator,
    swedish_413,
)
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from vanringen.models import Volunteer

URL = "/bli-telefonvan"
VALID = [("first_name", "Lena"), ("last_name", "Ek"), ("mobile", "070-123 45 67"),
         ("email", "lena.ek@example.se"), ("birth_year", "1980"), ("gender", "female"),
         ("languages", "sv"), ("languages", "fi"), ("other_languages", "et"),
         ("interests", "Trädgård"), ("availability", "mon-evening"), ("capacity", "2"),
         ("motivation", "Jag vill göra nytta."), ("consent", "y")]
FIELDS = list(dict.fromkeys(name for name, _value in VALID))
FREE_TEXT = ["first_name", "last_name", "interests", "motivation"]


@pytest.fixture
def fuzz(migrated_db, database_url):
    harness = Harness(migrated_db, database_url)
    yield harness
    harness.close()


def field_values(name):
    """A field kept, hostile, missing or sent several times."""
    valid = [value for field, value in VALID if field == name]
    return st.one_of(st.just(valid), st.lists(raw_value, min_size=1, max_size=1),
                     st.just([]), st.lists(raw_value, min_size=2, max_size=3),
                     st.sampled_from([valid + valid, [""]]))


application = st.fixed_dictionaries({name: field_values(name) for name in FIELDS})


def pairs_of(chosen: dict) -> list:
    return [(name, value) for name, values in chosen.items() for value in values]


def check(harness, response, before) -> None:
    assert response.status_code < 500
    if response.status_code == 302:
        assert response.headers["Location"].endswith("/bli-telefonvan/tack")
        return
    assert response.status_code in (200, 400, 413, 415, 422)
    assert harness.counts() == before, "a refused application wrote something"
    audit_holds_no_input(harness)


def shown_escaped(harness) -> None:
    """Every volunteer the form created, on the coordinator's list and detail page."""
    with harness.session() as session:
        ids = session.exec(select(Volunteer.id)).all()
    sign_in_coordinator(harness)
    listing = harness.client.get("/volontarer/")
    assert listing.status_code == 200
    no_raw_script(listing.get_data(as_text=True))
    for volunteer_id in ids:
        detail = harness.client.get(f"/volontarer/{volunteer_id}")
        assert detail.status_code == 200
        no_raw_script(detail.get_data(as_text=True))


def test_hostile_fields_never_fail_and_refusals_write_nothing(fuzz):
    @FUZZ
    @given(application)
    def run(chosen):
        fuzz.reset()
        before = fuzz.counts()
        response = fuzz.client.post(URL, data=form_body(pairs_of(chosen)), content_type=FORM)
        check(fuzz, response, before)
        if response.status_code == 302:
            shown_escaped(fuzz)

    run()


def test_hostile_names_and_texts_are_stored_or_refused_and_shown_escaped(fuzz):
    """Only the free-text fields hostile, so that many examples are accepted."""
    @FUZZ
    @given(st.fixed_dictionaries({name: hostile_text for name in FREE_TEXT}))
    def run(texts):
        fuzz.reset()
        before = fuzz.counts()
        data = [(n, v) for n, v in VALID if n not in texts] + list(texts.items())
        response = fuzz.client.post(URL, data=form_body(data), content_type=FORM)
        check(fuzz, response, before)
        if response.status_code == 302:
            with fuzz.session() as session:
                volunteer = session.exec(select(Volunteer)).one()
            assert "\x00" not in volunteer.first_name + volunteer.motivation
            shown_escaped(fuzz)

    run()


def test_the_script_name_is_stored_and_shown_escaped(fuzz):
    """The one example every run must accept: escaping is checked on a stored <script>."""
    fuzz.reset()
    data = [(n, v) for n, v in VALID if n != "first_name"]
    data.append(("first_name", "<script>alert(1)</script>"))
    response = fuzz.client.post(URL, data=form_body(data), content_type=FORM)
    assert response.status_code == 302
    sign_in_coordinator(fuzz)
    for path in ("/volontarer/", "/volontarer/1"):
        page = fuzz.client.get(path).get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        no_raw_script(page)


CONTENT_TYPES = ["text/plain", "application/json", "application/xml", "multipart/form-data",
                 "multipart/form-data; boundary=", "application/x-www-form-urlencoded; "
                 "charset=latin-1", "image/png", "", "*/*"]


def test_wrong_content_types_and_random_bodies(fuzz):
    @FUZZ
    @given(st.sampled_from(CONTENT_TYPES),
           st.one_of(st.binary(max_size=300), application.map(pairs_of).map(form_body)))
    def run(content_type, body):
        fuzz.reset()
        before = fuzz.counts()
        response = fuzz.client.post(URL, data=body, content_type=content_type)
        assert response.status_code < 500
        if response.status_code != 302:
            assert fuzz.counts() == before

    run()


@SPOOLED_LEAK
def test_multipart_with_files_and_hostile_names(fuzz):
    @FEW
    @given(application.map(pairs_of), st.lists(st.tuples(raw_value, raw_value,
                                                         st.binary(max_size=200)), max_size=2))
    def run(pairs, files):
        fuzz.reset()
        before = fuzz.counts()
        body, content_type = multipart_body(pairs, files)
        response = fuzz.client.post(URL, data=body, content_type=content_type)
        check(fuzz, response, before)

    run()
    collect_leaks()


@pytest.mark.parametrize("kind", ["urlencoded", "multipart"])
def test_a_body_beyond_max_upload_is_413_in_swedish(fuzz, kind):
    fuzz.reset()
    huge = "x" * (UPLOAD_MB * 1024 * 1024 + 10)
    data = [*VALID, ("motivation", huge)]
    body, content_type = (form_body(data), FORM) if kind == "urlencoded" else \
        multipart_body(data)
    before = fuzz.counts()
    response = fuzz.client.post(URL, data=body, content_type=content_type)
    swedish_413(response)
    assert fuzz.counts() == before


def test_with_csrf_on_no_token_or_a_hostile_one_is_refused(migrated_db, database_url):
    harness = Harness(migrated_db, database_url, WTF_CSRF_ENABLED=True)
    try:
        @FEW
        @given(st.lists(raw_value, max_size=2))
        def run(tokens):
            harness.reset()
            harness.client.get(URL)  # a session, so the token is checked against something
            before = harness.counts()
            data = [*VALID, *(("csrf_token", t) for t in tokens)]
            response = harness.client.post(URL, data=form_body(data), content_type=FORM)
            assert response.status_code == 400
            assert "Formuläret hade gått ut" in response.get_data(as_text=True)
            assert harness.counts() == before

        run()
    finally:
        harness.close()


def test_with_csrf_on_a_real_token_and_hostile_names_work(migrated_db, database_url):
    harness = Harness(migrated_db, database_url, WTF_CSRF_ENABLED=True)
    try:
        @FEW
        @given(hostile_text)
        def run(name):
            harness.reset()
            token = csrf_token(harness, URL)
            before = harness.counts()
            data = [(n, v) for n, v in VALID if n != "last_name"]
            data += [("last_name", name), ("csrf_token", token)]
            response = harness.client.post(URL, data=form_body(data), content_type=FORM)
            check(harness, response, before)

        run()
    finally:
        harness.close()


@pytest.mark.parametrize("field, value", [("motivation", "Hej\x00"), ("first_name", "Le\x07na"),
                                          ("interests", "a\x1bb")])
def test_control_characters_are_refused_by_the_field(fuzz, field, value):
    """Found by the fuzzing: a NUL was stored on SQLite and made PostgreSQL fail (500)."""
    fuzz.reset()
    before = fuzz.counts()
    data = [(n, v) for n, v in VALID if n != field] + [(field, value)]
    response = fuzz.client.post(URL, data=form_body(data), content_type=FORM)
    assert response.status_code == 422
    assert "Fältet innehåller otillåtna osynliga tecken" in response.get_data(as_text=True)
    assert fuzz.counts() == before


def test_tabs_and_line_breaks_in_text_areas_are_kept(fuzz):
    fuzz.reset()
    data = [(n, v) for n, v in VALID if n != "motivation"]
    data.append(("motivation", "Första raden\r\nandra\tmed tabb"))
    assert fuzz.client.post(URL, data=form_body(data), content_type=FORM).status_code == 302
    with fuzz.session() as session:
        assert "\tmed tabb" in session.exec(select(Volunteer.motivation)).one()
