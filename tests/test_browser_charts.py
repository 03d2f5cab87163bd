"""The dashboard's charts in headless Chromium at desktop and phone width: drawn, inside
the viewport, nothing blocked by the CSP; screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from privpi import publish
from privpi.storage import FolderStorage
from tests.support.auditlog import write_event
from tests.support.browser import SHOTS, console_server, headless_chromium, shot
from tests.support.console import PASSWORD, seed_users
from tests.support.distfactory import make_wheel

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Realistic names, one long enough to be cut.
PROJECTS = [
    "acme-data-pipeline-orchestration-toolkit",
    "acme-utils",
    "billing-core",
    "internal-tools",
    "ml-models",
    "auth-client",
    "reports",
    "web-frontend-assets",
    "cli",
    "legacy-adapter",
    "ops-scripts",
    "tiny",
]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRIVPI_PBKDF2_ROUNDS", "1000")
        root = tmp_path_factory.mktemp("charts")
        storage = FolderStorage(root / "repo")
        seed_users(storage)
        for i, name in enumerate(PROJECTS):
            for v in range(1 + (len(PROJECTS) - i) // 4):
                wheel = make_wheel(root, name, f"1.{v}", description="text " * 400 * (12 - i))
                publish.publish(storage, wheel, uploader="publisher")
        now = datetime.now(UTC)
        for week in range(1, 26):
            for _ in range((week * 7) % 11):
                write_event(storage, now - timedelta(weeks=week), "publish")
        with console_server(storage) as url:
            yield url


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as b:
        yield b


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (375, 812)])
def test_charts_fit_and_draw_without_csp_reports(browser, base_url, width, height):
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": height})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.goto("/login")
    page.fill("input[name=username]", "reader")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    assert page.locator("h1").inner_text() == "Dashboard"

    for chart in ("#chart-publishes svg", "#chart-storage svg"):
        svg = page.locator(chart)
        assert svg.is_visible()
        box = svg.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
        assert box["height"] > 100  # drawn at a readable size, not squashed
        assert svg.get_attribute("role") == "img"
    # bars were drawn (coloured by the stylesheet, not left black by a blocked style)
    fill = page.locator("#chart-publishes rect.bar").first.evaluate("e => getComputedStyle(e).fill")
    assert fill == "rgb(43, 108, 176)"  # --accent
    assert page.locator("#chart-publishes rect.bar").count() == 26
    assert page.locator("#chart-storage rect.bar").count() == 11
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px of horizontal overflow at {width}px"
    shot(page, f"charts-dashboard-{width}")
    for card in ("publishes", "storage"):  # each chart at its real size, to look at closely
        page.locator(f"section:has(#chart-{card})").screenshot(
            path=str(SHOTS / f"charts-{card}-{width}.png")
        )
    # the text alternative: the numbers in a table behind a disclosure
    page.locator("#chart-storage summary").click()
    assert "2 other projects" in page.locator("#chart-storage table").inner_text()
    page.locator("#chart-publishes summary").click()
    assert page.locator("#chart-publishes tbody tr").count() == 26
    for card in ("publishes", "storage"):
        page.locator(f"section:has(#chart-{card})").screenshot(
            path=str(SHOTS / f"charts-{card}-table-{width}.png")
        )
    context.close()
    blocked = [p for p in problems if "Content Security Policy" in p or "script error" in p]
    assert not blocked, problems
