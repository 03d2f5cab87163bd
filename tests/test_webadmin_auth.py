"""Sign-in, sessions, CSRF, rate limiting, configuration and security headers."""

from __future__ import annotations

import importlib
import sys
import time
from datetime import timedelta

import pytest

from privpi.errors import PrivpiError
from privpi.users import UserStore
from tests.support.console import (
    PASSWORD,
    csrf_token,
    login,
    make_console,
    post,
    snapshot,
    text,
)
from webadmin import create_app


def test_anonymous_is_sent_to_login(client):
    r = client.get("/projects")
    assert r.status_code == 302
    assert r.location.startswith("/login?next=")


def test_login_and_logout(client):
    r = login(client, "admin")
    assert r.status_code == 303
    assert r.location == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "admin" in text(page)
    assert "Dashboard" in text(page)
    r = post(client, "/logout")
    assert r.status_code == 303
    assert client.get("/").status_code == 302


def test_login_redirects_only_to_local_paths(app, client):
    token = csrf_token(client)
    data = {"username": "reader", "password": PASSWORD, "csrf_token": token}
    r = client.post("/login?next=https://evil.example/", data=data)
    assert r.location == "/"
    other = app.test_client()
    r = other.post("/login?next=/projects", data={**data, "csrf_token": csrf_token(other)})
    assert r.location == "/projects"


@pytest.mark.parametrize(
    "target",
    [
        "/%0D%0Ax",  # CR LF: would break the Location header
        "/%00",
        "/%09/evil.example",  # browsers drop the tab: //evil.example
        "/%5Cevil.example",  # a backslash reads as a slash: //evil.example
        "/\\evil.example",
        "//evil.example/",
        "javascript:alert(1)",
        "projects",
        "/%C2%85x",  # NEL, a control character outside ASCII
    ],
)
def test_login_ignores_a_next_that_is_not_a_plain_local_path(client, target):
    data = {"username": "reader", "password": PASSWORD, "csrf_token": csrf_token(client)}
    r = client.post(f"/login?next={target}", data=data)
    assert r.status_code == 303
    assert r.location == "/"


@pytest.mark.parametrize(
    ("name", "password"),
    [("admin", "wrong password!!"), ("nobody", PASSWORD), ("", ""), ("admin", "")],
)
def test_wrong_credentials_are_refused(client, name, password):
    r = login(client, name, password)
    assert r.status_code in (400, 401)
    assert client.get("/").status_code == 302
    if name and password:
        assert "Wrong user name or password" in text(r)


def test_disabled_user_cannot_sign_in_and_is_signed_out(repo, as_role):
    c = as_role("reader")
    UserStore(repo).set_enabled("reader", False)
    assert c.get("/projects").status_code == 302
    assert login(c, "reader").status_code == 401


def test_removed_user_is_signed_out(repo, as_role):
    c = as_role("publisher")
    UserStore(repo).remove("publisher")
    assert c.get("/").status_code == 302


def test_password_reset_ends_other_sessions(repo, as_role):
    c = as_role("reader")
    UserStore(repo).set_password("reader", "a brand new password")
    assert c.get("/").status_code == 302
    assert login(c, "reader", "a brand new password").status_code == 303


def test_role_change_ends_the_session_and_applies_on_sign_in(repo, as_role):
    c = as_role("admin")
    assert c.get("/users").status_code == 200
    UserStore(repo).add("admin2", PASSWORD, "admin")
    UserStore(repo).set_role("admin", "reader")
    assert c.get("/users").status_code == 302
    assert login(c, "admin").status_code == 303
    assert c.get("/users").status_code == 403


@pytest.mark.slow  # waits out a 1 s session lifetime (2 s: sign-in time is whole seconds)
def test_expired_session_asks_to_sign_in_again(repo):
    app = make_console(repo, PERMANENT_SESSION_LIFETIME=timedelta(seconds=1))
    c = app.test_client()
    assert login(c, "admin").status_code == 303
    time.sleep(2.1)
    r = c.get("/users")
    assert r.status_code == 302
    assert "/login" in r.location
    page = c.get(r.location)
    assert "Please sign in" in text(page)


def test_login_is_rate_limited_per_user(repo):
    app = make_console(repo, LOGIN_LIMIT_PER_USER=3)
    c = app.test_client()
    for _ in range(3):
        assert login(c, "admin", "wrong password!!").status_code == 401
    r = login(c, "admin", PASSWORD)  # even the right password waits
    assert r.status_code == 429
    assert "Too many failed sign-ins" in text(r)
    assert int(r.headers["Retry-After"]) > 0
    assert login(c, "reader").status_code == 303  # other users are not locked out


def test_login_is_rate_limited_per_address(repo):
    app = make_console(repo, LOGIN_LIMIT_PER_ADDRESS=4)
    c = app.test_client()
    for i in range(4):
        assert login(c, f"guess{i}", "wrong password!!").status_code == 401
    assert login(c, "reader").status_code == 429


def test_post_without_csrf_token_is_refused(as_role, repo):
    c = as_role("admin")
    before = snapshot(repo)
    data = {"username": "eve", "role": "admin", "password": PASSWORD, "repeat": PASSWORD}
    r = c.post("/users/add", data=data)
    assert r.status_code == 400
    assert "security token" in text(r)
    r = c.post("/users/add", data={**data, "csrf_token": "forged-token"})
    assert r.status_code == 400
    assert snapshot(repo) == before


def test_csrf_token_of_another_session_is_refused(app, as_role, repo):
    other = app.test_client()
    foreign = csrf_token(other)
    c = as_role("admin")
    before = snapshot(repo)
    r = c.post("/users/reader/delete", data={"csrf_token": foreign, "confirm": "yes"})
    assert r.status_code == 400
    assert snapshot(repo) == before


def test_session_cookie_flags(client):
    r = login(client, "reader")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=Lax" in cookie


def test_plain_http_serving_drops_secure_flag(repo):
    c = make_console(repo, SESSION_COOKIE_SECURE=False).test_client()
    assert "Secure" not in login(c, "reader").headers["Set-Cookie"]


def test_security_headers(client):
    r = client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in r.headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_pages_have_no_inline_script_or_style(as_role):
    c = as_role("admin")
    for path in ("/", "/projects", "/users", "/users/admin", "/connect", "/login"):
        body = text(c.get(path))
        assert "<script>" not in body
        assert "<style" not in body
        assert " style=" not in body


@pytest.mark.parametrize("key", [None, "", "dev", "changeme", "short"])
def test_production_refuses_a_missing_or_placeholder_secret(repo, key):
    with pytest.raises(PrivpiError, match="PRIVPI_SECRET_KEY"):
        create_app({"SECRET_KEY": key}, repo)


def test_configuration_from_environment(repo, monkeypatch):
    monkeypatch.setenv("PRIVPI_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("PRIVPI_REPOSITORY_URL", "https://pypi.example.com/simple/")
    monkeypatch.setenv("PRIVPI_MAX_UPLOAD_BYTES", "1234")
    app = create_app(None, repo)
    assert app.config["SECRET_KEY"] == "s" * 40
    assert app.config["REPOSITORY_URL"] == "https://pypi.example.com/simple/"
    assert app.config["MAX_UPLOAD_BYTES"] == 1234
    # the config argument wins over the environment
    assert create_app({"MAX_UPLOAD_BYTES": 99}, repo).config["MAX_UPLOAD_BYTES"] == 99


def test_bad_number_in_environment_is_one_clear_error(repo, monkeypatch):
    monkeypatch.setenv("PRIVPI_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("PRIVPI_MAX_UPLOAD_BYTES", "lots")
    with pytest.raises(PrivpiError, match="PRIVPI_MAX_UPLOAD_BYTES='lots'"):
        create_app(None, repo)


def test_storage_defaults_to_the_configured_url(tmp_path, monkeypatch):
    monkeypatch.setenv("PRIVPI_STORAGE", str(tmp_path / "from-env"))
    app = create_app({"TESTING": True})
    assert str(tmp_path / "from-env") in app.extensions["privpi.storage"].url


def test_wsgi_module_exposes_the_app(tmp_path, monkeypatch):
    monkeypatch.setenv("PRIVPI_SECRET_KEY", "w" * 40)
    monkeypatch.setenv("PRIVPI_STORAGE", str(tmp_path / "wsgi"))
    sys.modules.pop("webadmin.wsgi", None)
    wsgi = importlib.import_module("webadmin.wsgi")
    assert wsgi.app.name == "webadmin"
    sys.modules.pop("webadmin.wsgi", None)
