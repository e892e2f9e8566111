"""Hostile input at sign-in (/logga-in): e-mail and password, and `next` redirect attempts.

For every example: no 500; nobody is signed in without the right password; a refused
sign-in creates no rows (audit rows of failed attempts aside); after a good sign-in the
redirect stays on this site whatever `next` said.
"""

import urllib.parse

import pytest
from fuzz_support import (
    COORDINATOR,
    FORM,
    FUZZ,
    PASSWORD,
    UPLOAD_MB,
    Harness,
    audit_holds_no_input,
    form_body,
    hostile_text,
    multipart_body,
    raw_value,
    swedish_413,
)
from hypothesis import given
from hypothesis import strategies as st

from vanringen.auth import create_user

URL = "/logga-in"


@pytest.fixture
def fuzz(migrated_db, database_url):
    harness = Harness(migrated_db, database_url)
    yield harness
    harness.close()


def with_user(harness) -> None:
    harness.reset()
    with harness.session() as session:
        create_user(COORDINATOR, PASSWORD, role="coordinator", name="Karin", session=session)
        session.commit()


def signed_in(harness) -> bool:
    return harness.client.get("/volontarer/").status_code == 200


credentials = st.fixed_dictionaries({
    "email": st.one_of(st.just([COORDINATOR]), st.lists(raw_value, max_size=3),
                       hostile_text.map(lambda t: [t + COORDINATOR]),
                       st.just([COORDINATOR.upper() + "\x00"])),
    "password": st.one_of(st.lists(raw_value, max_size=3),
                          st.just([PASSWORD + "\x00"]), st.just([PASSWORD[:-1]]),
                          st.just([PASSWORD + "x", PASSWORD])),
})


def test_hostile_credentials_never_fail_nor_sign_in(fuzz):
    @FUZZ
    @given(credentials, st.sampled_from([FORM, "multipart", "text/plain", "application/json"]))
    def run(chosen, content_type):
        with_user(fuzz)
        before = fuzz.counts()
        pairs = [(name, value) for name, values in chosen.items() for value in values]
        if content_type == "multipart":
            body, content_type = multipart_body(pairs)
        else:
            body = form_body(pairs)
        response = fuzz.client.post(URL, data=body, content_type=content_type)
        assert response.status_code < 500
        assert response.status_code in (200, 400, 422, 423, 429), response.status_code
        assert not signed_in(fuzz)
        assert fuzz.counts() == before
        audit_holds_no_input(fuzz)

    run()


HOSTS = ["evil.example", "evil.example/x?y=1", "localhost@evil.example", "evil.example#/",
         "127.0.0.1.nip.io", "evil。example", "[::1]", "evil.example:80"]
PREFIXES = ["//", "///", "/\\", "\\\\", "\\/", "/\t/", "/\n/", "/\r/", " //", "\t//", "\x00//",
            "https://", "http:", "https:/", "//%2f", "/%2f/", "%2f%2f", "/./", "/../",
            "\u3002//", "/\u2215", "javascript:", "data:text/html,", "HTTPS://", "/ /",
            "\x0c//", "\x1f//", "http:\\\\"]
redirects = st.one_of(
    st.builds(lambda p, h: p + h, st.sampled_from(PREFIXES), st.sampled_from(HOSTS)),
    hostile_text,
    st.builds(lambda p, t: p + t, st.sampled_from(PREFIXES), hostile_text),
)


def browser_target(location: str) -> urllib.parse.SplitResult:
    """Where a browser goes: it strips C0 and spaces at the ends, drops tabs and line
    breaks, and reads a backslash as a slash."""
    cleaned = location.strip("".join(map(chr, range(33))))
    cleaned = "".join(ch for ch in cleaned if ch not in "\t\n\r").replace("\\", "/")
    return urllib.parse.urlsplit(urllib.parse.urljoin("http://localhost/logga-in", cleaned))


def test_next_never_redirects_off_the_site(fuzz):
    @FUZZ
    @given(redirects)
    def run(target):
        with_user(fuzz)
        query = urllib.parse.quote(target.encode("utf-8", "surrogatepass"), safe="")
        response = fuzz.client.post(f"{URL}?next={query}", data=form_body(
            [("email", COORDINATOR), ("password", PASSWORD)]), content_type=FORM)
        assert response.status_code == 302, response.status_code
        where = browser_target(response.headers["Location"])
        assert (where.scheme, where.hostname) == ("http", "localhost"), \
            response.headers["Location"]

    run()


@pytest.mark.parametrize("target", ["/volontarer/?visa=alla", "/seniorer/"])
def test_a_local_next_is_still_followed(fuzz, target):
    with_user(fuzz)
    response = fuzz.client.post(f"{URL}?next={urllib.parse.quote(target)}", data=form_body(
        [("email", COORDINATOR), ("password", PASSWORD)]), content_type=FORM)
    assert response.status_code == 302 and response.headers["Location"] == target


def test_hostile_next_on_the_sign_in_page_itself(fuzz):
    """The GET with a hostile `next` shows the form; it is only a query string."""
    @FUZZ
    @given(redirects)
    def run(target):
        fuzz.reset()
        query = urllib.parse.quote(target.encode("utf-8", "surrogatepass"), safe="")
        response = fuzz.client.get(f"{URL}?next={query}")
        assert response.status_code == 200
        assert "<script" not in response.get_data(as_text=True).lower()

    run()


def test_a_body_beyond_max_upload_is_413_in_swedish(fuzz):
    with_user(fuzz)
    before = fuzz.counts()
    huge = "x" * (UPLOAD_MB * 1024 * 1024 + 10)
    response = fuzz.client.post(URL, data=form_body(
        [("email", COORDINATOR), ("password", huge)]), content_type=FORM)
    swedish_413(response)
    assert fuzz.counts() == before
    assert not signed_in(fuzz)
