"""Shared pieces of the fuzz tests (tests/test_fuzz_*.py): hostile-input strategies, raw
request bodies, and a harness that gives every hypothesis example an empty database.

Why a harness instead of the `app`/`client` fixtures: hypothesis runs many examples inside
one test function, and function-scoped fixtures would be shared between them. The harness
builds one app per test (rate limits high, CSRF off unless asked, MAX_UPLOAD_MB=1) and
`reset()` restores the database before each example: TRUNCATE on PostgreSQL, a fresh copy
of the migrated template file on SQLite.
"""

import gc
import io
import shutil
import urllib.parse

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlmodel import Session, SQLModel
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from vanringen import create_app
from vanringen.auth import create_user

# Derandomized, no example database: the same examples on every run and in CI.
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example])
FEW = settings(FUZZ, max_examples=15)
UPLOAD_MB = 1
# werkzeug's form parser drops, unclosed, the spooled file of a part it read before a part it
# cannot decode (a filename in broken UTF-8): not the app's doing, and the GC closes it.
SPOOLED_LEAK = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <function SpooledTemporaryFile.__del__"
    ":pytest.PytestUnraisableExceptionWarning")


def collect_leaks() -> None:
    """Run the GC at the end of a SPOOLED_LEAK test, so its warnings are reported there."""
    gc.collect()
FORM = "application/x-www-form-urlencoded"
COORDINATOR, PASSWORD = "koordinator@example.se", "rätt-hemligt-lösen"

# ------------------------------------------------------------------ hostile text

SAMPLES = [
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "</textarea><script>x()",
    "javascript:alert(1)", "'; DROP TABLE volunteer; --", "' OR '1'='1", "1; SELECT pg_sleep(5)",
    "Robert'); DROP TABLE senior;--", "\x00", "a\x00b", "\u202egnp.exe", "\ufeff", "\u200b",
    "=CMD|' /C calc'!A0", "+SUM(1+1)", "@SUM(A1)", "-2+3", "{{ 7*7 }}", "{% raw %}",
    "${jndi:ldap://x}", "%00", "%s%s%n", "\r\nSet-Cookie: x=1", "../../etc/passwd",
    "😀" * 50, "Å" * 81, "A" * 5000, "\\", "\"", "'", "&amp;&lt;", "\x1b[31m", "\x7f\x08",
    "\ud800", "\udfff", "ｓｃｒｉｐｔ", "<ScRiPt>", "<svg/onload=alert(1)>",
]
any_char = st.characters(codec=None, exclude_categories=())
hostile_text = st.one_of(
    st.sampled_from(SAMPLES),
    st.text(any_char, max_size=40),
    st.text(st.characters(categories=["Cc", "Cs", "Cf", "Zs", "Zl", "So"]), max_size=20),
    st.lists(st.sampled_from(SAMPLES), min_size=2, max_size=4).map("".join),
    st.builds(lambda a, n: a * n, st.sampled_from(["x", "ö", "<", "'", "\x00", "😀"]),
              st.integers(100, 20_000)),
)
# What a form field can be sent as: text (perhaps unencodable), raw bytes, or nothing at all.
raw_value = st.one_of(hostile_text, st.binary(max_size=60))


# ------------------------------------------------------------------ request bodies

def _quote(value) -> str:
    if isinstance(value, bytes):
        return urllib.parse.quote_from_bytes(value)
    # Lone surrogates go out as the (invalid) UTF-8 bytes a broken client would send.
    return urllib.parse.quote(value.encode("utf-8", "surrogatepass"))


def form_body(pairs) -> bytes:
    """An urlencoded body from (name, value) pairs, repeated names allowed."""
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs).encode("ascii")


def multipart_body(pairs, files=()) -> tuple[bytes, str]:
    """(body, content type) of a multipart form; `files` are (name, filename, bytes)."""
    boundary = "fuzzboundary7MA4YWxkTrZu0gW"
    out = io.BytesIO()

    def encode(text) -> bytes:
        return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")

    for name, value in pairs:
        out.write(b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\""
                  + encode(name) + b"\"\r\n\r\n" + encode(value) + b"\r\n")
    for name, filename, data in files:
        out.write(b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\""
                  + encode(name) + b"\"; filename=\"" + encode(filename)
                  + b"\"\r\nContent-Type: text/csv\r\n\r\n" + data + b"\r\n")
    out.write(b"--" + boundary.encode() + b"--\r\n")
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def parsed_form(body: bytes, content_type: str):
    """The form werkzeug reads from this body: what Twilio's signature must cover."""
    builder = EnvironBuilder(method="POST", data=body, content_type=content_type)
    try:
        return Request(builder.get_environ()).form
    finally:
        builder.close()


# ------------------------------------------------------------------ the harness

class Harness:
    def __init__(self, migrated_db: dict, database_url: str, **config):
        self.migrated_db, self.url = migrated_db, database_url
        self.app = create_app({
            "DATABASE_URL": database_url, "SECRET_KEY": "test", "TESTING": True,
            "WTF_CSRF_ENABLED": False, "MAX_UPLOAD_MB": UPLOAD_MB,
            "RATELIMIT_LOGIN": "100000 per minute", "RATELIMIT_APPLY": "100000 per minute",
            **config})
        self.engine = self.app.extensions["vanringen.engine"]
        self.client = self.app.test_client()

    def reset(self) -> None:
        """An empty, migrated database and a client without cookies."""
        if "url" in self.migrated_db:
            # Only the tables with rows (TRUNCATE costs per table, and an example touches
            # few); every sequence restarts, as a rolled-back insert also advances one.
            tables = SQLModel.metadata.sorted_tables
            with self.engine.begin() as conn:
                used = conn.execute(sa.text(" UNION ALL ".join(
                    f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM {t.name})"
                    for t in tables))).scalars().all()
                if used:
                    conn.execute(sa.text(f"TRUNCATE {', '.join(used)} CASCADE"))
                conn.execute(sa.text("SELECT " + ", ".join(
                    f"setval(pg_get_serial_sequence('{t.name}', 'id'), 1, false)"
                    for t in tables if "id" in t.c)))
        else:
            self.engine.dispose()  # no open handle on the file that is replaced
            shutil.copy(self.migrated_db["template"], self.url.removeprefix("sqlite:///"))
        self.client = self.app.test_client()

    def checkpoint(self) -> None:
        """Remember the database as it is now: restore() returns to it (a seed made once)."""
        if "url" in self.migrated_db:
            with self.engine.connect() as conn:
                self.saved = [(t, [dict(r._mapping) for r in conn.execute(sa.select(t))])
                              for t in SQLModel.metadata.sorted_tables]
        else:
            self.engine.dispose()
            self.saved = self.url.removeprefix("sqlite:///") + ".checkpoint"
            shutil.copy(self.url.removeprefix("sqlite:///"), self.saved)

    def restore(self) -> None:
        if "url" not in self.migrated_db:
            self.engine.dispose()
            shutil.copy(self.saved, self.url.removeprefix("sqlite:///"))
        else:
            self.reset()
            with self.engine.begin() as conn:
                for table, rows in self.saved:
                    if rows:
                        conn.execute(sa.insert(table), rows)
                    if "id" in table.c and rows:
                        conn.execute(sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))"))
        self.client = self.app.test_client()

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def counts(self) -> dict[str, int]:
        """Rows per table, but audit_event: the access log rightly records every staff
        request (a refused one too), and refused sign-ins may be audited."""
        with self.engine.connect() as conn:
            return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                    for t in SQLModel.metadata.sorted_tables if t.name != "audit_event"}

    def audit_details(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT detail FROM audit_event")).scalars())

    def close(self) -> None:
        self.engine.dispose()


def audit_holds_no_input(harness: Harness) -> None:
    """Audit rows hold ids and field names only: never what a stranger typed."""
    for detail in harness.audit_details():
        assert not set(detail) & set("<>\x00'\"{}"), detail


def no_raw_script(html: str) -> None:
    """A page that shows hostile text: escaped by Jinja, so never a live tag or handler."""
    lowered = html.lower()
    assert "<script" not in lowered, "unescaped <script> on a coordinator page"
    assert "<img src=x" not in lowered and "<svg/onload" not in lowered


def swedish_413(response) -> None:
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert 'lang="sv"' in page and "Request Entity Too Large" not in page


def sign_in_coordinator(harness: Harness, *, create: bool = True) -> None:
    """A coordinator in the (fresh) database, signed in on harness.client."""
    if create:
        with harness.session() as session:
            create_user(COORDINATOR, PASSWORD, role="coordinator", name="Karin",
                        session=session)
            session.commit()
    data = {"email": COORDINATOR, "password": PASSWORD}
    if harness.app.config["WTF_CSRF_ENABLED"]:
        data["csrf_token"] = csrf_token(harness, "/logga-in")
    response = harness.client.post("/logga-in", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)


def csrf_token(harness: Harness, path: str) -> str:
    page = harness.client.get(path).get_data(as_text=True)
    return page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
