"""API tokens and grants in the console: the account page makes (shown once), lists and
revokes a user's own tokens; an admin's user page revokes anyone's and edits grants. Each
change is an audit event; every form carries CSRF."""

from __future__ import annotations

import html
import json
import re

import pytest

from privpi import audit
from privpi.tokens import PREFIX
from privpi.users import UserStore
from tests.support.console import post, text

SECRET = re.compile(re.escape(PREFIX) + r"[A-Za-z0-9_-]{43}")


def page_text(response) -> str:
    return html.unescape(text(response))


def make_token(client, **fields):
    data = {"label": "", "scope": "read", "projects": "", "expires": "", **fields}
    return post(client, "/account/tokens", data, token_from="/account")


def test_account_makes_a_token_shown_once_that_authenticates(app, as_role, repo):
    client = as_role("publisher")
    r = make_token(
        client, label="ci-acme", scope="publish", projects="acme-lib, Acme_Tools", expires="30"
    )
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    session = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert PREFIX not in json.dumps(session)  # the secret is never kept in the session
    shown = SECRET.findall(text(r))
    assert len(shown) == 1
    principal = UserStore(repo).authenticate("__token__", shown[0])
    assert principal is not None
    assert principal.user == "publisher"
    assert principal.may_publish("acme-lib")
    assert not principal.may_publish("secretpkg")
    later = page_text(client.get("/account"))  # listed, never shown again
    assert "ci-acme" in later
    assert "acme-lib, acme-tools" in later
    assert not SECRET.search(later)
    event = audit.latest(repo, 1)[0]
    assert (event["action"], event["actor"], event["label"]) == (
        "token.create",
        "publisher",
        "ci-acme",
    )
    assert shown[0] not in str(event)


def test_a_reader_gets_no_publish_token(as_role, repo):
    client = as_role("reader")
    page = text(client.get("/account"))
    assert '<option value="publish"' not in page
    r = make_token(client, scope="publish")
    assert r.status_code == 400
    assert "Not a valid choice" in page_text(r)
    assert UserStore(repo).tokens("reader") == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"label": "bad label!"}, "must be 1 to 64 letters"),
        ({"projects": "not/a/name"}, "is not a valid project name"),
        ({"expires": "0"}, "Number must be between 1 and 3650"),
    ],
)
def test_a_bad_token_form_is_refused_with_the_reason(as_role, repo, fields, message):
    client = as_role("reader")
    r = make_token(client, **fields)
    assert r.status_code == 400
    assert message in page_text(r)
    assert not SECRET.search(text(r))
    assert UserStore(repo).tokens("reader") == []


def test_a_duplicate_label_is_a_conflict(as_role, repo):
    client = as_role("reader")
    assert make_token(client, label="laptop").status_code == 200
    r = make_token(client, label="laptop")
    assert r.status_code == 409
    assert "already has a token labelled 'laptop'" in page_text(r)


def test_revoking_own_token_is_confirmed_then_stops_it(as_role, repo):
    client = as_role("reader")
    secret = SECRET.search(text(make_token(client, label="laptop"))).group(0)
    ask = post(client, "/account/tokens/laptop/revoke", token_from="/account")
    assert ask.status_code == 200
    assert "Revoke your token 'laptop'?" in page_text(ask)
    assert UserStore(repo).authenticate("__token__", secret) is not None
    done = post(client, "/account/tokens/laptop/revoke", {"confirm": "yes"}, "/account")
    assert done.status_code == 303
    assert "Revoked the token 'laptop'" in page_text(client.get(done.location))
    assert UserStore(repo).authenticate("__token__", secret) is None
    assert audit.latest(repo, 1)[0]["action"] == "token.revoke"


def test_a_form_without_csrf_changes_nothing(as_role, repo):
    client = as_role("reader")
    r = client.post("/account/tokens", data={"label": "x", "scope": "read"})
    assert r.status_code == 400
    assert UserStore(repo).tokens("reader") == []


def test_admin_sees_and_revokes_anyones_token(as_role, repo):
    UserStore(repo).create_token("publisher", "ci", "publish")
    admin = as_role("admin")
    page = page_text(admin.get("/users/publisher"))
    assert 'action="/users/publisher/tokens/ci/revoke"' in page
    r = post(admin, "/users/publisher/tokens/ci/revoke", {"confirm": "yes"}, "/users/publisher")
    assert r.status_code == 303
    assert UserStore(repo).tokens("publisher") == []
    event = audit.latest(repo, 1)[0]
    assert (event["action"], event["actor"], event["user"]) == (
        "token.revoke",
        "admin",
        "publisher",
    )


def test_only_admins_revoke_others_tokens_and_edit_grants(as_role, repo):
    UserStore(repo).create_token("admin", "ops", "publish")
    publisher = as_role("publisher")
    r = post(publisher, "/users/admin/tokens/ops/revoke", {"confirm": "yes"}, "/account")
    assert r.status_code == 403
    assert [t.label for t in UserStore(repo).tokens("admin")] == ["ops"]
    r = post(publisher, "/users/publisher/grants", {"pattern": "*"}, "/account")
    assert r.status_code == 403
    assert UserStore(repo).get("publisher").grants == ()


def test_admin_edits_grants(as_role, repo):
    admin = as_role("admin")
    r = post(admin, "/users/publisher/grants", {"pattern": "Acme_*"}, "/users/publisher")
    assert r.status_code == 303
    page = page_text(admin.get(r.location))
    assert "publisher now publishes only projects matching acme-*" in page
    assert UserStore(repo).get("publisher").grants == ("acme-*",)
    assert audit.latest(repo, 1)[0]["action"] == "user.grant"
    bad = post(admin, "/users/publisher/grants", {"pattern": "a b"}, "/users/publisher")
    assert "may hold only project-name characters" in page_text(admin.get(bad.location))
    ask = post(admin, "/users/publisher/grants/remove", {"pattern": "acme-*"}, "/users/publisher")
    assert "Take back publisher's grant 'acme-*'?" in page_text(ask)
    done = post(
        admin,
        "/users/publisher/grants/remove",
        {"pattern": "acme-*", "confirm": "yes"},
        "/users/publisher",
    )
    assert "has no grants: as a publisher, every project" in page_text(admin.get(done.location))
    assert UserStore(repo).get("publisher").grants == ()
    assert audit.latest(repo, 1)[0]["action"] == "user.ungrant"


def test_the_dashboard_describes_token_and_grant_events(as_role, repo):
    UserStore(repo, actor="admin").create_token("publisher", "ci", "publish")
    UserStore(repo, actor="admin").grant("publisher", "acme-*")
    page = page_text(as_role("admin").get("/"))
    assert "made a publish token 'ci' for publisher" in page
    assert "let publisher publish acme-*" in page
