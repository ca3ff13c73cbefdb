"""Browser fixtures for every test directory (a pytest plugin of tests/conftest.py):
one Chromium for the whole run, because Playwright's sync API cannot run two at once.

A live server and headless Chromium, for what only a real browser shows: htmx
swapping fragments in, polling, and the page as a person sees it.

The system's Chromium is driven through Playwright; no browser is downloaded.
Without it the tests skip, unless PORTAL_REQUIRE_BROWSER=1 says they must run."""

from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
WIDE, NARROW = 1280, 375
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__portalCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} in ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _unavailable(reason: str):
    if os.environ.get("PORTAL_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (PORTAL_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        _unavailable(f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    """The test app served on a free loopback port in a background thread."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the browser test runs on the SQLite database only")
    app.config["TIMELINE_POLL_SECONDS"] = 1
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


class Problems:
    """Console errors, CSP violations, uncaught exceptions and failed requests of
    every page opened, so a test can assert there were none."""

    def __init__(self):
        self.items: list[str] = []
        self._allowed: list[str] = []

    def add(self, item: str) -> None:
        if not any(allowed in item for allowed in self._allowed):
            self.items.append(item)

    @contextmanager
    def allowing(self, text: str):
        """Expect messages containing ``text`` (a 422 on purpose, say) inside the block."""
        self._allowed.append(text)
        try:
            yield
        finally:
            self._allowed.remove(text)

    def watch(self, page, who: str) -> None:
        def on_console(msg):
            if msg.type == "error" or "Content Security Policy" in msg.text:
                self.add(f"{who} console {msg.type}: {msg.text} at {msg.location.get('url')}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.add(f"{who} page error: {exc}"))

        def on_request_failed(request):
            # Leaving a page aborts its in-flight requests (a timeline poll, say).
            if request.failure != "net::ERR_ABORTED":
                self.add(f"{who} request failed: {request.method} {request.url} {request.failure}")

        page.on("requestfailed", on_request_failed)
        page.expose_function("__portalCspViolation", lambda text: self.add(f"{who} CSP: {text}"))
        page.add_init_script(CSP_LISTENER)


@pytest.fixture
def problems():
    return Problems()


@pytest.fixture
def new_page(browser, live_server, problems):
    """A page in a fresh browser context (its own cookies: one person each)."""
    contexts = []

    def factory(who: str, width: int = WIDE):
        context = browser.new_context(
            base_url=live_server,
            viewport={"width": width, "height": 900},
            locale="en-GB",
            timezone_id="Europe/Amsterdam",
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page, who)
        return page

    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot():
    """Full-page screenshots into test-artifacts/screenshots/, at each width given."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, widths=(WIDE, NARROW)) -> list[Path]:
        saved = []
        original = page.viewport_size
        for width in widths:
            page.set_viewport_size({"width": width, "height": 900})
            path = SCREENSHOTS / f"{name}-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            saved.append(path)
        page.set_viewport_size(original)
        return saved

    return take
