"""User management in the console: each change confirmed, bad input refused unchanged."""

from __future__ import annotations

import pytest

from privpi import audit
from privpi.users import UserStore
from tests.support.console import (
    PASSWORD,
    login,
    make_console,
    post,
    snapshot,
    text,
)

NEW = "a fresh password 42"


@pytest.fixture
def admin(as_role):
    return as_role("admin")


def test_users_page_lists_everyone(admin):
    page = text(admin.get("/users"))
    for name in ("admin", "publisher", "reader"):
        assert f'href="/users/{name}"' in page


def test_add_user(admin, repo, app):
    data = {"username": "carol", "role": "publisher", "password": NEW, "repeat": NEW}
    r = post(admin, "/users/add", data)
    assert r.status_code == 303
    assert r.location == "/users/carol"
    assert "Added publisher" in text(admin.get(r.location))
    assert UserStore(repo).get("carol").role == "publisher"
    event = audit.latest(repo, 1)[0]
    assert event["action"] == "user.add"
    assert event["actor"] == "admin"
    assert login(app.test_client(), "carol", NEW).status_code == 303


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"username": "reader"}, 409, "already exists"),
        ({"username": "bad:name"}, 400, "may not contain"),
        ({"username": ""}, 400, "This field is required"),
        ({"password": "short", "repeat": "short"}, 400, "at least 12"),
        ({"repeat": "something else!!"}, 400, "The passwords differ"),
        ({"role": "superuser"}, 400, "Not a valid choice"),
    ],
)
def test_add_user_bad_input(admin, repo, data, status, message):
    before = snapshot(repo)
    base = {"username": "dave", "role": "reader", "password": NEW, "repeat": NEW}
    r = post(admin, "/users/add", {**base, **data})
    assert r.status_code == status
    assert message in text(r)
    assert snapshot(repo) == before


def test_change_role_asks_first(admin, repo):
    r = post(admin, "/users/reader/role", {"role": "publisher"})
    assert r.status_code == 200
    assert "Change reader&#39;s role from reader to publisher?" in text(r)
    assert UserStore(repo).get("reader").role == "reader"
    r = post(admin, "/users/reader/role", {"role": "publisher", "confirm": "yes"})
    assert r.status_code == 303
    assert UserStore(repo).get("reader").role == "publisher"


def test_reset_password(admin, app, repo):
    old = app.test_client()
    assert login(old, "reader").status_code == 303
    r = post(admin, "/users/reader/password", {"password": NEW, "repeat": NEW})
    assert r.status_code == 303
    assert old.get("/").status_code == 302  # the reader's session ended
    assert login(app.test_client(), "reader", NEW).status_code == 303
    assert login(app.test_client(), "reader", PASSWORD).status_code == 401


def test_reset_password_bad_input(admin, repo):
    before = snapshot(repo)
    r = post(admin, "/users/reader/password", {"password": NEW, "repeat": NEW + "x"})
    assert r.status_code == 400
    assert "The passwords differ" in text(r)
    r = post(admin, "/users/reader/password", {"password": "short", "repeat": "short"})
    assert r.status_code == 400
    assert "at least 12" in text(r)
    assert snapshot(repo) == before


def test_disable_and_enable(admin, app, repo):
    r = post(admin, "/users/reader/enabled", {"enabled": "0", "confirm": "yes"})
    assert r.status_code == 303
    assert not UserStore(repo).get("reader").enabled
    assert login(app.test_client(), "reader").status_code == 401
    post(admin, "/users/reader/enabled", {"enabled": "1", "confirm": "yes"})
    assert UserStore(repo).get("reader").enabled


def test_delete_asks_then_deletes(admin, repo):
    r = post(admin, "/users/publisher/delete")
    assert r.status_code == 200
    assert "Delete the user publisher?" in text(r)
    assert UserStore(repo).get("publisher")
    r = post(admin, "/users/publisher/delete", {"confirm": "yes"})
    assert r.status_code == 303
    assert [u.name for u in UserStore(repo).list()] == ["admin", "reader"]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/users/admin/role", {"role": "reader", "confirm": "yes"}),
        ("/users/admin/enabled", {"enabled": "0", "confirm": "yes"}),
        ("/users/admin/delete", {"confirm": "yes"}),
    ],
)
def test_nobody_demotes_disables_or_deletes_themself(admin, repo, path, data):
    UserStore(repo).add("admin2", PASSWORD, "admin")  # not the last admin either
    before = snapshot(repo)
    r = post(admin, path, data)
    assert r.status_code == 409
    assert "yourself" in text(r)
    assert snapshot(repo) == before


def test_the_last_admin_stays(as_role, repo):
    UserStore(repo).add("admin2", PASSWORD, "admin")
    c = as_role("admin2")
    UserStore(repo, actor="tests").set_enabled("admin2", True)
    # admin2 demotes admin: fine, there is still admin2; then admin2 cannot go
    assert post(c, "/users/admin/role", {"role": "reader", "confirm": "yes"}).status_code == 303
    before = snapshot(repo)
    r = post(c, "/users/admin2/role", {"role": "reader", "confirm": "yes"})
    assert r.status_code == 409
    assert snapshot(repo) == before


def test_last_admin_refused_by_the_store(as_role, repo):
    """Another admin removed the only other admin meanwhile: the store still refuses."""
    UserStore(repo).add("admin2", PASSWORD, "admin")
    c = as_role("admin2")
    UserStore(repo).set_role("admin2", "admin")
    UserStore(repo).remove("admin")
    UserStore(repo).add("helper", PASSWORD, "admin")
    UserStore(repo).set_enabled("helper", False)
    before = snapshot(repo)
    r = post(c, "/users/helper/delete", {"confirm": "yes"})
    assert r.status_code == 303  # a disabled admin is not the last enabled one
    r = post(c, "/users/admin2/delete", {"confirm": "yes"})
    assert r.status_code == 409
    assert snapshot(repo) != before  # helper went; admin2 stayed
    assert UserStore(repo).get("admin2").enabled


@pytest.mark.parametrize("path", ["/users/nobody", "/users/nobody/role", "/users/nobody/delete"])
def test_unknown_user_is_404(admin, repo, path):
    before = snapshot(repo)
    r = admin.get(path) if path.count("/") == 2 else post(admin, path, {"role": "reader"})
    assert r.status_code == 404
    assert "no user named &#39;nobody&#39;" in text(r)
    assert snapshot(repo) == before


def test_reader_posting_an_admin_form_is_refused(as_role, repo):
    c = as_role("reader")
    before = snapshot(repo)
    data = {"username": "mallory", "role": "admin", "password": NEW, "repeat": NEW}
    r = post(c, "/users/add", data)
    assert r.status_code == 403
    assert "needs the admin role" in text(r)
    assert snapshot(repo) == before


def test_user_names_are_escaped(admin, repo):
    UserStore(repo).add("<b>x</b>", PASSWORD, "reader")
    page = text(admin.get("/users"))
    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_users_change_their_own_password(as_role, app, repo):
    c = as_role("reader")
    other = as_role("reader")  # the same user signed in elsewhere
    assert "Change your password" in text(c.get("/account"))
    data = {"current": PASSWORD, "password": NEW, "repeat": NEW}
    r = post(c, "/account", data)
    assert r.status_code == 303
    assert "Your password is changed" in text(c.get("/account"))  # this session stays
    assert other.get("/").status_code == 302  # the other one ended
    assert login(app.test_client(), "reader", NEW).status_code == 303


def test_own_password_needs_the_current_one(as_role, repo):
    c = as_role("publisher")
    before = snapshot(repo)
    r = post(c, "/account", {"current": "not my password", "password": NEW, "repeat": NEW})
    assert r.status_code == 400
    assert "current password is not right" in text(r)
    r = post(c, "/account", {"current": PASSWORD, "password": "short", "repeat": "short"})
    assert r.status_code == 400
    assert "at least 12" in text(r)
    assert snapshot(repo) == before


def test_admin_setting_their_own_password_needs_the_current_one(as_role, app, repo):
    admin = as_role("admin")
    elsewhere = as_role("admin")
    page = text(admin.get("/users/admin"))
    assert "Change your password" in page
    assert 'name="current"' in page
    before = snapshot(repo)
    for current in (None, "not my password"):
        data = {"password": NEW, "repeat": NEW}
        if current:
            data["current"] = current
        r = post(admin, "/users/admin/password", data)
        assert r.status_code == 400
        assert "was not changed" in text(r) or "current password is not right" in text(r)
    assert snapshot(repo) == before
    r = post(admin, "/users/admin/password", {"current": PASSWORD, "password": NEW, "repeat": NEW})
    assert r.status_code == 303
    assert admin.get("/users").status_code == 200  # this session stays
    assert elsewhere.get("/users").status_code == 302  # the others end
    assert login(app.test_client(), "admin", NEW).status_code == 303


def test_own_password_from_the_user_pages_counts_against_the_limit(repo):
    admin = make_console(repo, LOGIN_LIMIT_PER_USER=2).test_client()
    assert login(admin, "admin").status_code == 303
    wrong = {"current": "not my password", "password": NEW, "repeat": NEW}
    assert [post(admin, "/users/admin/password", wrong).status_code for _ in range(2)] == [400] * 2
    r = post(admin, "/users/admin/password", {**wrong, "current": PASSWORD})
    assert r.status_code == 429
    assert UserStore(repo).verify("admin", PASSWORD)
