"""Headless Debian Chromium through Playwright (never a downloaded browser), and the
folder where browser tests keep screenshots for a person to look at."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import waitress
from playwright.sync_api import sync_playwright

from tests.support.console import make_console

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def headless_chromium() -> Iterator:
    """A launched headless Chromium (a playwright Browser) for the block."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@contextmanager
def console_server(storage) -> Iterator[str]:
    """The console over storage, served by waitress on a free loopback port: its base URL."""
    app = make_console(storage, TESTING=False, SESSION_COOKIE_SECURE=False)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()


def shot(page, name: str) -> None:
    """A full-page screenshot as test-artifacts/screenshots/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
