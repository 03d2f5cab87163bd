"""The console in headless Chromium (Debian's /usr/bin/chromium through Playwright).

One browser per module; each test gets a fresh context (no shared cookies). Every page under
test is saved to test-artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect as playwright_expect

from privpi import publish
from privpi.storage import FolderStorage
from privpi.users import UserStore
from tests.support.browser import console_server, headless_chromium, shot
from tests.support.console import PASSWORD, seed_users
from tests.support.distfactory import make_wheel

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRIVPI_PBKDF2_ROUNDS", "1000")
        root = tmp_path_factory.mktemp("console")
        storage = FolderStorage(root / "repo")
        seed_users(storage)
        for name, versions in {
            "demo-pkg": ["1.0", "1.1", "2.0"],
            "acme-utils": ["0.3"],
            "internal-tools": ["5.2.1"],
        }.items():
            for v in versions:
                desc = f"# {name}\n\nThe **{name}** package.\n\n```python\nimport x\n```\n"
                wheel = make_wheel(
                    root,
                    name,
                    v,
                    requires_python=">=3.10",
                    summary=f"{name} does things",
                    description=desc,
                )
                publish.publish(storage, wheel, uploader="publisher")
        yield storage


@pytest.fixture(scope="module")
def base_url(repo):
    with console_server(repo) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as b:
        yield b


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 860})
    pg = context.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    yield pg
    context.close()
    # a Content-Security-Policy violation or a script error shows up here (error statuses
    # the tests provoke on purpose, 401 and 403, are logged too and are not problems)
    blocked = [p for p in problems if "Content Security Policy" in p or "script error" in p]
    assert not blocked, problems


def sign_in(page, name: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Sign in')")


def flash(page) -> str:
    return page.locator(".flash").first.inner_text()


def test_sign_in_wrong_password_then_right(page):
    sign_in(page, "admin", "not the password")
    assert "Wrong user name or password" in flash(page)
    shot(page, "01-login-refused")
    sign_in(page, "admin")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert "publish" in page.locator(".events").first.inner_text()
    shot(page, "02-dashboard-admin")


def test_admin_adds_user_changes_role_resets_password(page, browser, base_url):
    sign_in(page, "admin")
    page.click("nav >> text=Users")
    page.fill("input[name=username]", "carol")
    page.select_option("select[name=role]", "reader")
    page.fill("input[name=password]", "carol's first password")
    page.fill("input[name=repeat]", "carol's first password")
    page.click("button:has-text('Add user')")
    assert "Added reader 'carol'" in flash(page)
    assert page.locator("h1").inner_text().startswith("carol")

    page.select_option("select[name=role]", "publisher")
    page.click("button:has-text('Change role')")
    assert "Change carol's role from reader to publisher?" in page.inner_text("main")
    shot(page, "04-confirm-role")
    page.click("button:has-text('Change')")
    assert "carol's role is now publisher" in flash(page)

    page.fill("form[action$='/password'] input[name=password]", "carol's second password")
    page.fill("form[action$='/password'] input[name=repeat]", "carol's second password")
    page.click("button:has-text('Set password')")
    assert "Set a new password for carol" in flash(page)
    shot(page, "05-user-detail")
    page.click("nav >> text=Users")
    assert "publisher" in page.locator("tr:has-text('carol')").inner_text()
    shot(page, "03-users")

    other = browser.new_context(base_url=base_url).new_page()
    sign_in(other, "carol", "carol's first password")
    assert "Wrong user name or password" in flash(other)
    sign_in(other, "carol", "carol's second password")
    assert other.locator(".whoami").inner_text().startswith("carol")
    other.context.close()


def test_find_project_and_yank_a_version(page):
    sign_in(page, "publisher")
    page.click("nav >> text=Projects")
    page.fill("input[name=q]", "Demo_PKG")
    page.press("input[name=q]", "Enter")
    assert "1 of 3 projects match" in page.inner_text("main")
    shot(page, "06-projects-search")
    page.click("a:has-text('demo-pkg')")
    assert page.url.endswith("/projects/demo-pkg")
    assert "The demo-pkg package." in page.inner_text(".readme")
    shot(page, "07-project")
    block = page.locator("#v-1\\.1")
    block.locator("input[name=reason]").fill("broken on Windows")
    block.locator("button:has-text('Yank')").click()
    assert "Yank demo-pkg 1.1?" in page.inner_text("main")
    shot(page, "08-confirm-yank")
    page.click("button:has-text('Yank')")
    assert "Yanked demo-pkg 1.1." in flash(page)
    block = page.locator("#v-1\\.1")
    assert "yanked" in block.locator(".badge-yanked").inner_text()
    assert "Reason: broken on Windows" in block.inner_text()
    shot(page, "09-project-yanked")


def test_reader_sees_read_only_pages(page):
    sign_in(page, "reader")
    shot(page, "10-dashboard-reader")
    assert page.locator("nav >> text=Users").count() == 0
    page.click("nav >> text=Projects")
    shot(page, "11-projects-reader")
    page.click("a:has-text('acme-utils')")
    assert page.locator("button:has-text('Yank')").count() == 0
    assert page.locator("button:has-text('Delete')").count() == 0
    shot(page, "12-project-reader")
    page.click("nav >> text=Connect")
    assert "login __token__" in page.inner_text("main")
    shot(page, "13-connect-reader")
    response = page.goto("/users")
    assert response.status == 403
    assert "needs the admin role" in page.inner_text("main")
    shot(page, "14-users-forbidden-reader")
    page.click(".whoami a")
    assert page.locator("h1").inner_text() == "Your account"
    shot(page, "15-account-reader")
    page.click("button:has-text('Sign out')")
    assert page.locator("h1").inner_text() == "Sign in"


def test_make_copy_and_revoke_a_token(page, repo):
    """The token is shown once, the Copy button (static/copy.js: the CSP allows no inline
    script) puts exactly it on the clipboard, and revoking it stops it at once."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, "publisher")
    page.click(".whoami a")
    page.fill("input[name=label]", "ci-demo")
    page.select_option("select[name=scope]", "publish")
    page.fill("input[name=projects]", "demo-pkg")
    page.fill("input[name=expires]", "30")
    page.click("button:has-text('Create token')")
    secret = page.locator("#new-token-secret").inner_text()
    assert secret.startswith("privpi_")
    page.click("button[data-copy]")
    playwright_expect(page.locator("button[data-copy]")).to_have_text(
        "Copied"
    )  # set once the copy resolves
    assert page.evaluate("navigator.clipboard.readText()") == secret
    row = page.locator("tr[data-label='ci-demo']")
    assert "demo-pkg" in row.inner_text()
    shot(page, "16-account-new-token")
    principal = UserStore(repo).authenticate("__token__", secret)
    assert principal is not None
    assert principal.may_publish("demo-pkg")

    page.goto("/account")
    assert secret not in page.content()  # shown once only
    row.locator("button:has-text('Revoke')").click()
    assert "Revoke your token 'ci-demo'?" in page.inner_text("main")
    page.click("button:has-text('Revoke')")
    assert "Revoked the token 'ci-demo'" in flash(page)
    assert page.locator("tr[data-label='ci-demo']").count() == 0
    shot(page, "17-account-token-revoked")
    assert UserStore(repo).authenticate("__token__", secret) is None


def test_connect_page_button_fills_the_snippets_with_a_token(page):
    sign_in(page, "publisher")
    page.click("nav >> text=Connect")
    assert "password YOUR-TOKEN" in page.inner_text("main")
    page.click("button:has-text('Create a token for these settings')")
    secret = page.locator("#new-token-secret").inner_text()
    assert secret.startswith("privpi_")
    main = page.inner_text("main")
    assert f"login __token__\npassword {secret}" in main
    assert f"privpi upload --url {page.url.split('/connect')[0]}/ dist/*" in main
    shot(page, "18-connect-with-token")
