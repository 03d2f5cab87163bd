"""Dashboard and connect pages."""

from __future__ import annotations

import html
import re

from privpi import claims, keys, publish
from privpi.users import UserStore
from tests.support.console import (
    login,
    make_console,
    post,
    text,
)
from tests.support.distfactory import make_wheel


def test_dashboard_counts_and_events(as_role, repo, tmp_path):
    publish.publish(repo, make_wheel(tmp_path, "alpha", "1.0", padding=3000), uploader="publisher")
    publish.publish(repo, make_wheel(tmp_path, "alpha", "1.1"), uploader="publisher")
    publish.publish(repo, make_wheel(tmp_path, "beta", "0.1"), uploader="admin")
    page = text(as_role("admin").get("/"))
    assert '<span class="figure">2</span> projects' in page
    assert '<span class="figure">3</span> files' in page
    assert "KiB</span> stored" in page
    assert "<strong>publisher</strong> published alpha-1.1-py3-none-any.whl" in page
    assert "<strong>tests</strong> added reader as reader" in page


def test_user_changes_are_for_admins_only(as_role):
    page = text(as_role("publisher").get("/"))
    assert "Latest uploads" in page
    assert "Latest user changes" not in page
    assert "added reader" not in page


def test_dashboard_describes_every_kind_of_event(as_role, repo, tmp_path):
    publish.publish(repo, make_wheel(tmp_path, "gamma", "1.0"), uploader="publisher")
    publish.yank(repo, "gamma", "1.0", reason="<i>bad</i>", actor="publisher")
    publish.unyank(repo, "gamma", "1.0", actor="publisher")
    publish.delete(repo, "gamma", version="1.0", actor="admin")
    store = UserStore(repo, actor="admin")
    store.set_role("reader", "publisher")
    store.set_password("reader", "another password 1")
    store.set_enabled("reader", False)
    store.remove("reader")
    page = text(as_role("admin").get("/"))
    for line in [
        "yanked gamma 1.0: &lt;i&gt;bad&lt;/i&gt;",
        "un-yanked gamma 1.0",
        "deleted gamma-1.0-py3-none-any.whl",
        "made reader publisher",
        "set a new password for reader",
        "disabled reader",
        "removed the user reader",
    ]:
        assert line in page


def test_connect_page_fills_in_url_and_user(as_role):
    page = text(as_role("publisher").get("/connect"))
    assert "index-url = http://localhost/simple/" in page
    assert "machine localhost\nlogin __token__" in page
    assert 'url = "http://localhost/simple/"' in page
    assert "UV_INDEX_PRIVPI_USERNAME=__token__" in page
    assert "poetry config http-basic.privpi __token__ YOUR-TOKEN" in page


def test_connect_page_uses_configured_repository(repo):
    c = make_console(repo, REPOSITORY_URL="https://pi.example.com/simple/").test_client()
    login(c, "reader")
    page = text(c.get("/connect"))
    assert "index-url = https://pi.example.com/simple/" in page
    assert "machine pi.example.com\nlogin __token__" in page


def test_connect_page_shows_the_one_url_setup_only_with_an_upstream(repo):
    plain = make_console(repo).test_client()
    login(plain, "reader")
    assert "One index URL" not in text(plain.get("/connect"))
    c = make_console(repo, UPSTREAM_URL="https://pypi.org/simple/").test_client()
    login(c, "reader")
    page = text(c.get("/connect"))
    assert "One index URL for everything" in page
    assert "redirected to <code>https://pypi.org/simple/</code>" in page
    assert "Do not add <code>--extra-index-url</code>" in page
    assert "index-url = http://localhost/simple/" in page


def test_dashboard_shows_claims(as_role, repo):
    claims.claim(repo, "acme-*", actor="admin")
    claims.unclaim(repo, "acme-*", actor="admin")
    page = text(as_role("reader").get("/"))
    assert "<strong>admin</strong> claimed acme-*" in page
    assert "<strong>admin</strong> unclaimed acme-*" in page


def test_nav_shows_what_the_role_may_use(as_role):
    reader = text(as_role("reader").get("/"))
    admin = text(as_role("admin").get("/"))
    assert 'href="/users"' not in reader
    assert 'href="/users"' in admin
    assert 'href="/projects"' in reader
    assert 'href="/connect"' in reader


def test_upload_link_for_publishers(repo):
    app = make_console(repo)
    reader, publisher = app.test_client(), app.test_client()
    login(reader, "reader")
    login(publisher, "publisher")
    assert 'href="/upload"' in text(publisher.get("/"))
    assert 'href="/upload"' not in text(reader.get("/"))


def test_corrupt_user_store_is_a_clear_error_page(as_role, repo, app):
    c = as_role("admin")
    repo.write(keys.USERS_KEY, b"{not json")
    assert c.get("/users").status_code == 302  # fail closed: nobody is signed in
    r = login(app.test_client(), "admin")
    assert r.status_code == 500
    assert "the user store config/users.json is corrupt" in text(r)


def test_damaged_root_index_is_a_clear_error_page(as_role, repo):
    c = as_role("reader")
    repo.write(keys.ROOT_JSON, b"<html>not json</html>")
    r = c.get("/projects")
    assert r.status_code == 500
    assert "run `privpi reindex`" in text(r)


def test_connect_page_makes_a_token_and_fills_every_snippet(as_role, repo):
    """The snippets sign in as __token__; the button makes a token (a publish one for a
    publisher) shown once, in pip's netrc, uv, Poetry, twine and GitHub Actions."""
    c = as_role("publisher")
    before = text(c.get("/connect"))
    assert "password YOUR-TOKEN" in before
    assert "login publisher" not in before
    r = post(c, "/connect/token", {"scope": "publish"}, token_from="/connect")
    assert r.status_code == 200
    page = html.unescape(text(r))
    secret = re.search(r"privpi_[A-Za-z0-9_-]{43}", page).group(0)
    assert f"machine localhost\nlogin __token__\npassword {secret}" in page
    assert f"UV_INDEX_PRIVPI_PASSWORD={secret}" in page
    assert f"poetry config http-basic.privpi __token__ {secret}" in page
    assert f"username = __token__\npassword = {secret}" in page
    assert "PIP_INDEX_URL: https://__token__:${{ secrets.PRIVPI_TOKEN }}@localhost/simple/" in page
    assert "privpi upload --url http://localhost/ dist/*" in page
    principal = UserStore(repo).authenticate("__token__", secret)
    assert principal is not None
    assert principal.scope == "publish"
    assert secret not in text(c.get("/connect"))  # shown once


def test_connect_page_gives_a_reader_a_read_token_only(as_role, repo):
    c = as_role("reader")
    assert "twine" not in text(c.get("/connect"))
    r = post(c, "/connect/token", {"scope": "publish"}, token_from="/connect")
    assert r.status_code == 400
    assert UserStore(repo).tokens("reader") == []
    r = post(c, "/connect/token", {"scope": "read"}, token_from="/connect")
    assert r.status_code == 200
    assert [t.scope for t in UserStore(repo).tokens("reader")] == ["read"]
