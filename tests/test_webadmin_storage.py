"""The console's main paths on both backends: a folder and S3 (moto server over HTTP)."""

from __future__ import annotations

from privpi import index, publish
from privpi.users import UserStore
from tests.support.console import PASSWORD, login, make_console, post, seed_users, text
from tests.support.distfactory import make_wheel


def test_console_on_each_backend(storage, tmp_path):
    seed_users(storage)
    app = make_console(storage)
    c = app.test_client()
    assert "Sign in" in text(c.get("/projects", follow_redirects=True))
    assert login(c, "admin").status_code == 303
    assert "No project has been published yet" in text(c.get("/projects"))
    publish.publish(storage, make_wheel(tmp_path, "both-ways", "1.0"), uploader="publisher")
    assert "/projects/both-ways" in text(c.get("/projects"))  # the cached list noticed
    assert "both_ways-1.0-py3-none-any.whl" in text(c.get("/projects/both-ways"))
    r = post(c, "/projects/both-ways/yank", {"version": "1.0", "reason": "x", "confirm": "yes"})
    assert r.status_code == 303
    assert index.read_project(storage, "both-ways")["files"][0]["yanked"] == "x"
    data = {"username": "dora", "role": "reader", "password": PASSWORD, "repeat": PASSWORD}
    assert post(c, "/users/add", data).status_code == 303
    assert UserStore(storage).get("dora").role == "reader"
    assert "dora" in text(c.get("/users"))
    UserStore(storage).add("admin2", PASSWORD, "admin")
    UserStore(storage).set_role("admin", "publisher")  # the cached store notices the change
    assert c.get("/users").status_code == 302  # a role change ends the session
    assert login(c, "admin").status_code == 303
    assert c.get("/users").status_code == 403
