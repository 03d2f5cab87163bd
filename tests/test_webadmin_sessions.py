"""Sessions that end: each test keeps a copy of the session cookie, lets the change happen,
then replays the copy from a new client, as someone who had copied the cookie would."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from privpi import audit
from privpi.users import UserStore
from tests.support.console import PASSWORD, login, make_console, post, text

COOKIE = "privpi_session"
NEW = "a fresh password 42"


def cookie(client) -> str:
    return client.get_cookie(COOKIE).value


def replay(app, value: str, path: str = "/account"):
    """A GET of path from a new client carrying only the copied session cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, value)
    return thief.get(path)


def signed_out(response) -> bool:
    return response.status_code == 302 and response.location.startswith("/login")


@pytest.fixture
def reader(as_role):
    return as_role("reader")


def test_a_copied_cookie_works_until_the_session_ends(app, reader):
    """The replay itself works while the session lives: the tests below can fail."""
    r = replay(app, cookie(reader))
    assert r.status_code == 200
    assert "Signed in as <strong>reader</strong>" in text(r)


def test_sign_out_ends_every_session_of_the_user(app, reader, as_role, repo):
    copied = cookie(reader)
    elsewhere = as_role("reader")
    assert post(reader, "/logout").status_code == 303
    assert signed_out(replay(app, copied))
    assert signed_out(elsewhere.get("/account"))  # the same user on another machine
    assert as_role("publisher").get("/account").status_code == 200  # other users stay
    event = audit.latest(repo, 1)[0]
    assert (event["action"], event["actor"], event["user"]) == ("user.signout", "reader", "reader")


def test_own_password_change_ends_the_copied_session(app, reader):
    copied = cookie(reader)
    r = post(reader, "/account", {"current": PASSWORD, "password": NEW, "repeat": NEW})
    assert r.status_code == 303
    assert reader.get("/account").status_code == 200  # the session that changed it stays
    assert signed_out(replay(app, copied))


def test_password_reset_by_an_admin_ends_the_session(app, reader, as_role):
    copied = cookie(reader)
    admin = as_role("admin")
    r = post(admin, "/users/reader/password", {"password": NEW, "repeat": NEW})
    assert r.status_code == 303
    assert signed_out(replay(app, copied))


def test_disable_then_enable_does_not_revive_the_session(app, reader, as_role):
    copied = cookie(reader)
    admin = as_role("admin")
    for enabled in ("0", "1"):
        r = post(admin, "/users/reader/enabled", {"enabled": enabled, "confirm": "yes"})
        assert r.status_code == 303
    assert UserStore(app.extensions["privpi.storage"]).get("reader").enabled
    assert signed_out(replay(app, copied))
    assert login(app.test_client(), "reader").status_code == 303  # signing in again works


def test_role_change_ends_the_session(app, as_role):
    publisher = as_role("publisher")
    copied = cookie(publisher)
    admin = as_role("admin")
    r = post(admin, "/users/publisher/role", {"role": "admin", "confirm": "yes"})
    assert r.status_code == 303
    r = replay(app, copied, "/users")  # a promotion too: the old session gets nothing
    assert signed_out(r)


@pytest.mark.slow  # waits out a 6 s session lifetime
def test_session_ends_a_fixed_time_after_sign_in_however_busy(repo):
    lifetime = 6.0
    app = make_console(repo, SESSION_ABSOLUTE_LIFETIME=timedelta(seconds=lifetime))
    client = app.test_client()
    before = time.monotonic()
    assert login(client, "reader").status_code == 303
    after = time.monotonic()  # the console noted the sign-in between before and after
    # Busy all the while: each request renews the cookie, so the idle limit never ends it.
    # Sign-in time is kept in whole seconds (so the limit may come up to 1 s early) and a
    # request on a loaded machine may take a second or two: stop 3 s clear of the limit.
    while time.monotonic() - before < lifetime - 3:
        assert client.get("/account").status_code == 200
        time.sleep(0.2)
    latest = cookie(client)
    time.sleep(max(0.0, lifetime + 0.2 - (time.monotonic() - after)))
    assert signed_out(replay(app, latest))
    assert signed_out(client.get("/account"))


def test_a_change_to_the_same_value_leaves_sessions_alone(app, reader, as_role):
    copied = cookie(reader)
    admin = as_role("admin")
    r = post(admin, "/users/reader/role", {"role": "reader", "confirm": "yes"})
    assert r.status_code == 303
    assert replay(app, copied).status_code == 200
