"""CSV files safe to open in a spreadsheet (vanringen/csvsafe.py), in every file the app
writes: `vanringen messages export` and `vanringen match --out`."""

import csv
import io
from datetime import UTC, datetime

import pytest
from test_matches import make_senior, make_volunteer, seed_taxonomy

from vanringen import csvsafe
from vanringen.models import Message

HOSTILE = ['=HYPERLINK("http://x.example","Klicka")', "+cmd|' /C calc'!A0", "-1+1",
           "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "+1+cmd|' /C calc'!A0", "+46701110000 ringer"]


@pytest.mark.parametrize("cell", HOSTILE)
def test_a_cell_that_starts_like_a_formula_gets_a_quote(cell):
    assert csvsafe.safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["+46701110000", "+4687654321", "+12025550123"])
def test_a_phone_number_in_e164_stays_as_it_is(cell):
    """Only digits after the +: no formula, and coordinators re-import these columns."""
    assert csvsafe.safe_cell(cell) == cell


@pytest.mark.parametrize("cell", ["Greta", "", "S-1001", "0701110000", "Hej =1+1", 3, 0.5, None])
def test_everything_else_is_untouched(cell):
    assert csvsafe.safe_cell(cell) == cell


def test_the_writer_quotes_every_column():
    out = io.StringIO()
    csvsafe.writer(out, lineterminator="\n").writerows([HOSTILE, ["+46701110000", 7]])
    hostile, plain = csv.reader(io.StringIO(out.getvalue(), newline=""))
    # A carriage return inside a cell is written as a newline: the cell stays one cell.
    assert hostile == ["'" + cell.replace("\r", "\n") for cell in HOSTILE]
    assert plain == ["+46701110000", "7"]


def test_the_message_export_quotes_every_column(runner, session, tmp_path):
    session.add(Message(channel="sms", recipient="+46701110000", kind="pair_volunteer",
                        body="-1+1", error="@SUM(A1)", status="failed",
                        provider_id="=HYPERLINK(\"http://x.example\")",
                        due_at=datetime(2026, 12, 1, 9, tzinfo=UTC)))
    session.commit()
    path = tmp_path / "logg.csv"
    assert runner.invoke(args=["messages", "export", "--out", str(path)]).exit_code == 0
    with path.open(encoding="utf-8", newline="") as fh:
        row, = csv.DictReader(fh)
    assert (row["recipient"], row["body"], row["error"], row["provider_id"]) == (
        "+46701110000", "'-1+1", "'@SUM(A1)", "'=HYPERLINK(\"http://x.example\")")


def test_the_match_file_quotes_every_column(runner, session, tmp_path):
    seed_taxonomy(session)
    make_senior(session, "Greta", external_id='=HYPERLINK("http://x.example","S-1")')
    make_volunteer(session, "Jonas", external_id="+cmd|' /C calc'!A0")
    out = tmp_path / "forslag.csv"
    result = runner.invoke(args=["match", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as fh:
        row, = csv.DictReader(fh)
    assert row["senior_external_id"] == '\'=HYPERLINK("http://x.example","S-1")'
    assert row["volunteer_external_id"] == "'+cmd|' /C calc'!A0"
    assert not row["explanation"].startswith(csvsafe.FORMULA_START)
