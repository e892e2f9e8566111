"""Hostile files at the CSV upload page (/import/, blueprint "imports"), as a coordinator:
random bytes, broken encodings, BOMs, wrong delimiters, formula cells, huge rows and
thousands of columns, and broken requests around the file.

For every example: no 500; a refused or checked-only (dry-run) file writes nothing; what an
accepted file stored is shown escaped on the coordinator's list and detail pages.
"""

import csv
import io

import pytest
from fuzz_support import (
    FEW,
    FUZZ,
    SAMPLES,
    SPOOLED_LEAK,
    UPLOAD_MB,
    Harness,
    audit_holds_no_input,
    collect_leaks,
    csrf_token,
    hostile_text,
    multipart_body,
    no_raw_script,
    raw_value,
    sign_in_coordinator,
    swedish_413,
)
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlmodel import select

from vanringen.csvimport import COLUMNS
from vanringen.models import Senior, Volunteer

URL = "/import/"
SENIOR = {"external_id": "S-1", "first_name": "Greta", "last_name": "Lind",
          "phone": "08-123 456 78", "gender": "female", "birth_year": "1938",
          "languages": "sv;fi", "interests": "trädgård", "preferred_gender": "any",
          "availability": "tue-afternoon", "district": "Bromma", "referral_source": "hemtjänst"}
VOLUNTEER = {"external_id": "V-1", "first_name": "Jonas", "last_name": "Berg",
             "phone": "070-123 45 67", "email": "jonas@example.se", "gender": "male",
             "birth_year": "1990", "languages": "sv", "interests": "fotboll",
             "availability": "tue-afternoon", "capacity": "2", "status": "approved"}
PAIR = {"senior_external_id": "S-1", "volunteer_external_id": "V-1", "slots": "tue 14:00",
        "start_date": "2025-03-01"}
BASE = {"seniors": SENIOR, "volunteers": VOLUNTEER, "pairs": PAIR}
MODELS = {"seniors": (Senior, "/seniorer/"), "volunteers": (Volunteer, "/volontarer/")}
FORMULAS = ["=1+1", "=HYPERLINK(\"http://evil.example\",\"klicka\")", "+46 70 123 45 67",
            "-1", "@SUM(A1:A2)", "\t=1", "\r=1", "=cmd|' /C calc'!A0", "'=1"]
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1", "utf-8-bad"]


@pytest.fixture
def fuzz(migrated_db, database_url):
    harness = Harness(migrated_db, database_url)
    yield harness
    harness.close()


def cell(column, kind):
    return st.one_of(st.just(BASE[kind][column]), hostile_text, st.sampled_from(FORMULAS),
                     st.just(""))


# A cell beyond the csv module's field limit (131072 characters), still under MAX_UPLOAD_MB.
huge_cell = st.builds(lambda text, n: text * (n // len(text)),
                      st.sampled_from(["x", "ö", "\"", ";,\n"]), st.integers(132_000, 150_000))


def header(kind):
    columns = COLUMNS[kind]
    return st.one_of(
        st.just(columns), st.just(columns[::-1]), st.just(columns[:-1]),
        st.just([*columns, columns[0]]), st.just([c.upper() for c in columns]),
        st.builds(lambda n: [*columns, *(f"extra{i}" for i in range(n))],
                  st.integers(1, 4000)),
        st.lists(hostile_text, max_size=5), st.just([*columns, "", ""]))


@st.composite
def csv_text(draw, kind):
    columns = draw(header(kind))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|", "\x00", "\""]))
    rows = [[draw(huge_cell)] * 2] if draw(st.integers(0, 9)) == 0 else []
    for number in range(draw(st.integers(0, 4))):
        row = {c: draw(cell(c, kind)) if c in BASE[kind] and draw(st.booleans())
               else BASE[kind].get(c, "") for c in columns}
        if "external_id" in row and row["external_id"] == BASE[kind]["external_id"]:
            row["external_id"] = f"X-{number}"  # distinct rows, so some files are valid
        rows.append([row.get(c, "") for c in columns])
        if draw(st.booleans()):
            rows[-1] += draw(st.lists(hostile_text, max_size=3))  # more cells than columns
    out = io.StringIO()
    try:
        writer = csv.writer(out, delimiter=delimiter, lineterminator=draw(
            st.sampled_from(["\r\n", "\n", "\r"])))
    except (TypeError, csv.Error):  # a delimiter csv itself refuses: the text is joined
        return "\n".join(delimiter.join(r) for r in [columns, *rows])
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-8-bad":  # lone surrogates as the bytes a broken exporter writes
        return text.encode("utf-8", "surrogatepass") + b"\xff\xfe\xc3"
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    return text.encode(encoding, "replace" if encoding != "utf-16" else "surrogatepass")


def files(kind):
    return st.one_of(
        st.binary(max_size=3000),
        st.builds(encode, csv_text(kind), st.sampled_from(ENCODINGS)),
        st.builds(lambda prefix, data: prefix + data,
                  st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"PK\x03\x04", b"\x00",
                                   b"\xef\xbb\xbf\xef\xbb\xbf"]),
                  st.builds(encode, csv_text(kind), st.sampled_from(ENCODINGS))),
    )


def seed_people(harness) -> None:
    """The senior and volunteer a pairs file names, imported as a coordinator would."""
    for kind in ("seniors", "volunteers"):
        data = encode(",".join(COLUMNS[kind]) + "\n" + ",".join(
            f'"{BASE[kind][c]}"' for c in COLUMNS[kind]) + "\n", "utf-8")
        response = post(harness, [("kind", kind)], [("file", "p.csv", data)])
        assert response.status_code == 302, response.get_data(as_text=True)


def post(harness, pairs, files_):
    body, content_type = multipart_body(pairs, files_)
    return harness.client.post(URL, data=body, content_type=content_type)


def check(harness, response, before, kind) -> None:
    assert response.status_code < 500
    if response.status_code == 302:
        if kind in MODELS:
            shown_escaped(harness, *MODELS[kind])
        return
    assert response.status_code in (200, 400, 413, 422), response.status_code
    assert harness.counts() == before, "a refused or checked-only file wrote something"
    audit_holds_no_input(harness)
    no_raw_script(response.get_data(as_text=True))


def shown_escaped(harness, model, path) -> None:
    with harness.session() as session:
        ids = session.exec(select(model.id).order_by(model.id).limit(5)).all()
    assert ids, "an accepted file stored nobody"
    listing = harness.client.get(path)
    assert listing.status_code == 200
    no_raw_script(listing.get_data(as_text=True))
    for person in ids:
        detail = harness.client.get(f"{path}{person}")
        assert detail.status_code == 200
        no_raw_script(detail.get_data(as_text=True))


@pytest.mark.parametrize("kind", ["seniors", "volunteers", "pairs"])
def test_hostile_files_never_fail_and_refusals_write_nothing(fuzz, kind):
    @FUZZ
    @given(files(kind), st.booleans())
    def run(data, dry_run):
        fuzz.reset()
        sign_in_coordinator(fuzz)
        if kind == "pairs":
            seed_people(fuzz)
        assume(len(data) < UPLOAD_MB << 20)  # beyond it: the 413 tests below
        before = fuzz.counts()
        fields = [("kind", kind)] + ([("dry_run", "y")] if dry_run else [])
        response = post(fuzz, fields, [("file", "personer.csv", data)])
        check(fuzz, response, before, kind)
        if dry_run:
            assert response.status_code != 302

    run()


def test_hostile_cells_in_a_valid_file_are_stored_escaped_or_refused(fuzz):
    """Only the names hostile in an otherwise valid file: many examples are imported."""
    @FUZZ
    @given(st.sampled_from(["seniors", "volunteers"]), hostile_text, hostile_text)
    def run(kind, first, last):
        fuzz.reset()
        sign_in_coordinator(fuzz)
        before = fuzz.counts()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS[kind])
        writer.writerow([{**BASE[kind], "first_name": first, "last_name": last}[c]
                         for c in COLUMNS[kind]])
        response = post(fuzz, [("kind", kind)], [("file", "personer.csv",
                                                  encode(out.getvalue(), "utf-8"))])
        check(fuzz, response, before, kind)

    run()


def test_the_script_name_is_imported_and_shown_escaped(fuzz):
    fuzz.reset()
    sign_in_coordinator(fuzz)
    text = ",".join(COLUMNS["seniors"]) + "\n" + ",".join(
        {**SENIOR, "first_name": "<script>alert(1)</script>"}[c] for c in COLUMNS["seniors"])
    response = post(fuzz, [("kind", "seniors")], [("file", "s.csv", text.encode())])
    assert response.status_code == 302
    for path in ("/seniorer/", "/seniorer/1"):
        page = fuzz.client.get(path).get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        no_raw_script(page)


@SPOOLED_LEAK
def test_broken_requests_around_the_file(fuzz):
    """The kind missing, doubled or hostile; no file, two files, hostile file names."""
    @FUZZ
    @given(st.lists(st.one_of(st.sampled_from(["seniors", "volunteers", "pairs"]), raw_value),
                    max_size=3),
           st.lists(st.tuples(st.sampled_from(["file", "fil", ""]), raw_value,
                              st.binary(max_size=100)), max_size=3),
           st.lists(st.tuples(st.sampled_from(["dry_run", "csrf_token", "file"]), raw_value),
                    max_size=3))
    def run(kinds, files_, extra):
        fuzz.reset()
        sign_in_coordinator(fuzz)
        before = fuzz.counts()
        response = post(fuzz, [*(("kind", k) for k in kinds), *extra], files_)
        check(fuzz, response, before, None)

    run()
    collect_leaks()


def test_wrong_content_types(fuzz):
    @FEW
    @given(st.sampled_from(["text/csv", "application/x-www-form-urlencoded", "text/plain",
                            "multipart/form-data", "multipart/form-data; boundary=x",
                            "application/octet-stream", ""]), st.binary(max_size=500))
    def run(content_type, body):
        fuzz.reset()
        sign_in_coordinator(fuzz)
        before = fuzz.counts()
        response = fuzz.client.post(URL, data=body, content_type=content_type)
        check(fuzz, response, before, None)

    run()


@pytest.mark.parametrize("signed_in", [True, False])
def test_a_file_beyond_max_upload_is_413_in_swedish(migrated_db, database_url, signed_in):
    """With CSRF on, as in production: its check reads the body before any view."""
    harness = Harness(migrated_db, database_url, WTF_CSRF_ENABLED=True)
    try:
        harness.reset()
        fields = [("kind", "seniors")]
        if signed_in:
            sign_in_coordinator(harness)
            fields.append(("csrf_token", csrf_token(harness, URL)))
        before = harness.counts()
        data = (",".join(COLUMNS["seniors"]) + "\n").encode() + b"x" * (UPLOAD_MB << 20)
        response = post(harness, fields, [("file", "stor.csv", data)])
        swedish_413(response)
        if signed_in:
            assert "Filen är för stor" in response.get_data(as_text=True)
        assert harness.counts() == before
    finally:
        harness.close()


def test_nul_and_control_characters_in_cells_are_refused_by_row(fuzz):
    """Found by the fuzzing: PostgreSQL refuses NUL in text, which made the import fail
    with a 500 (SQLite stored it)."""
    fuzz.reset()
    sign_in_coordinator(fuzz)
    before = fuzz.counts()
    text = ",".join(COLUMNS["seniors"]) + "\n" + ",".join(
        {**SENIOR, "first_name": "Gre\x00ta", "interests": "a\x1bb"}[c]
        for c in COLUMNS["seniors"])
    response = post(fuzz, [("kind", "seniors")], [("file", "s.csv", text.encode())])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "kontrolltecken" in page
    assert fuzz.counts() == before


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.startswith(("=", "+", "@", "-"))])
def test_formula_looking_names_are_stored_as_text(fuzz, sample):
    fuzz.reset()
    sign_in_coordinator(fuzz)
    text = ",".join(COLUMNS["seniors"]) + "\n" + ",".join(
        f'"{v}"' for v in ({**SENIOR, "interests": sample}[c] for c in COLUMNS["seniors"]))
    response = post(fuzz, [("kind", "seniors")], [("file", "s.csv", text.encode())])
    assert response.status_code == 302
    with fuzz.session() as session:
        assert session.exec(select(Senior.interests)).one() == sample.strip()
