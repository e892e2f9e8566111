"""Helpers for browser tests: Debian's Chromium driven by Playwright, the app on a real port.

Fixtures (in conftest.py): `browser` (one per run), `live_server` (the test `app` over HTTP),
`new_page(**context_options)` (a fresh browser context per call, closed after the test) and
`page` (one such page). Helpers here: `login`, `assert_accessible`, `horizontal_overflow`.

    @pytest.mark.browser
    def test_something(page, live_server, coordinator):
        login(page, live_server.url, coordinator)
        page.goto(live_server.url + "/seniorer/ny")
        assert_accessible(page)

Chromium comes from the system (/usr/bin/chromium); never run `playwright install`.
"""

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from conftest import PASSWORD, need_tool
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 375, "height": 740}
# Playwright's default is 30 s; a page of this app that takes 10 s is a failure anyway.
TIMEOUT_MS = 10_000
BLOCKING_IMPACTS = ("serious", "critical")


@contextmanager
def launched_browser():
    """Start Playwright and Chromium, or skip (fail in CI) when either is missing."""
    if not CHROMIUM.exists():
        need_tool(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need_tool("the Python package playwright (pip install -e .[dev])")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class LiveServer:
    url: str
    app: Flask

    def __call__(self, path: str = "/") -> str:
        """live_server("/oversikt") is the full URL of a path."""
        return self.url + path


@contextmanager
def serve(app: Flask):
    """Serve `app` on 127.0.0.1 on a free port from a daemon thread until the block ends."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll keeps shutdown, once per test, from waiting the default half second.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class PageFactory:
    """new_page(viewport=PHONE, ...) opens a page in its own context (own cookies)."""

    def __init__(self, browser):
        self.browser = browser
        self.contexts = []

    def __call__(self, **context_options):
        options = {"locale": "sv-SE", "timezone_id": "Europe/Stockholm"} | context_options
        context = self.browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        return context.new_page()

    def close(self):
        for context in self.contexts:
            context.close()


def login(page, base_url: str, user, password: str = PASSWORD) -> None:
    """Sign in through the real form, as a person would; ends on the page after sign-in."""
    page.goto(f"{base_url}/logga-in")
    page.get_by_label("E-post").fill(user.email)
    page.get_by_label("Lösenord").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Logga in").click()
    assert "/logga-in" not in page.url, f"sign-in failed for {user.email}: {page.url}"


def axe_report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            lines.append(f"    at {' '.join(map(str, node['target']))}")
            lines.append(f"       {node['html'][:200]}")
            for message in node.get("failureSummary", "").splitlines():
                lines.append(f"       {message.strip()}")
    return "\n".join(lines)


def assert_accessible(page, *, ignore: tuple[str, ...] = ()) -> None:
    """No serious or critical axe-core violation on the page as it is now.

    `ignore` takes rule ids (e.g. "color-contrast") for a known, explained exception.
    Lesser findings are printed, so `pytest -s` or a failure shows them too.
    """
    from axe_playwright_python.sync_playwright import Axe

    violations = [v for v in Axe().run(page).response["violations"] if v["id"] not in ignore]
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    minor = [v for v in violations if v["impact"] not in BLOCKING_IMPACTS]
    if minor:
        print(f"axe, lesser findings on {page.url}:\n{axe_report(minor)}")
    assert not blocking, (f"{len(blocking)} serious/critical accessibility problem(s) on "
                          f"{page.url}:\n{axe_report(blocking)}")


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth")


def described_by(locator) -> str:
    """The text a screen reader reads with a control: its aria-describedby targets, joined."""
    return locator.evaluate(
        "el => (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean)"
        ".map(id => document.getElementById(id)?.textContent.trim() ?? '').join(' ')")


def facts(locator) -> dict[str, str]:
    """A <dl> as {term: description}, as the page shows it."""
    return locator.evaluate(
        "dl => Object.fromEntries([...dl.querySelectorAll('dt')].map(dt => "
        "[dt.innerText.trim(), dt.nextElementSibling.innerText.trim()]))")


def table_rows(table) -> list[list[str]]:
    """The body rows of a table as lists of cell texts (th and td alike)."""
    return table.evaluate(
        "t => [...t.tBodies].flatMap(b => [...b.rows]).map(r => "
        "[...r.cells].map(c => c.innerText.replace(/\\s+/g, ' ').trim()))")
