"""API tokens and publishing grants in the console.

The account page lists the signed-in user's tokens, makes one (its secret shown once, on
the answer to the POST, with a copy button: static/copy.js, as the CSP allows no inline
script) and revokes them. An admin's user page shows and revokes anyone's tokens and edits
their publishing grants. Every change goes through the user store, which writes its audit
event (token.create, token.revoke, user.grant, user.ungrant).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from privpi.errors import UserConflict, UserStoreError
from privpi.tokens import TokenInfo

from .auth import role_required
from .extensions import store_reader, user_store
from .forms import AccountPasswordForm, ConnectTokenForm, GrantForm, PlainForm, TokenForm
from .views import confirmed

bp = Blueprint("tokens", __name__)


@dataclass(frozen=True)
class NewToken:
    """A token just made: the only time its secret exists outside its owner's hands."""

    secret: str
    info: TokenInfo


def scope_choices() -> list[str]:
    """The scopes the signed-in user may give a token: never above their role."""
    return ["read", "publish"] if current_user.has_role("publisher") else ["read"]


def token_form(form: TokenForm | None = None) -> TokenForm:
    if form is None:  # a blank form (not the one just posted)
        form = TokenForm(formdata=None, scope=scope_choices()[-1])
    form.scope.choices = scope_choices()  # type: ignore[assignment]  # plain values: wtforms 3.3
    return form


def connect_token_form() -> ConnectTokenForm:
    """The connect page's button: a token of the highest scope the user's role allows."""
    form = ConnectTokenForm(scope=scope_choices()[-1])
    form.scope.choices = scope_choices()  # type: ignore[assignment]  # plain values: wtforms 3.3
    return form


def account_context(
    form: TokenForm | None = None, new: NewToken | None = None
) -> dict[str, object]:
    """What account.html shows of the signed-in user's tokens."""
    return {
        "tokens": store_reader().tokens(current_user.name),
        "token_form": token_form(form),
        "revoke_form": PlainForm(),
        "new_token": new,
    }


def _account(
    error: str | None = None,
    status: int = 200,
    form: TokenForm | None = None,
    new: NewToken | None = None,
) -> ResponseReturnValue:
    page = render_template(
        "account.html", form=AccountPasswordForm(), error=error, **account_context(form, new)
    )
    return page, status


def create_from(form: TokenForm) -> NewToken:
    """Make the token the form describes for the signed-in user (UserStoreError if refused)."""
    secret, info = user_store().create_token(
        current_user.name,
        form.label.data or None,
        form.scope.data,
        form.project_list(),
        form.expires.data,
    )
    return NewToken(secret, info)


@bp.post("/account/tokens")
@role_required("reader")
def create() -> ResponseReturnValue:
    form = token_form(TokenForm())
    if not form.validate_on_submit():
        return _account("No token was made: correct the fields marked below.", 400, form=form)
    try:
        new = create_from(form)
    except UserStoreError as e:
        return _account(
            f"No token was made: {e}.", 409 if isinstance(e, UserConflict) else 400, form=form
        )
    return _account(new=new)


@bp.post("/account/tokens/<label>/revoke")
@role_required("reader")
def revoke_own(label: str) -> ResponseReturnValue:
    return _revoke(current_user.name, label, url_for("account.page"))


@bp.post("/users/<name>/tokens/<label>/revoke")
@role_required("admin")
def revoke(name: str, label: str) -> ResponseReturnValue:
    return _revoke(name, label, url_for("users.detail", name=name))


def _revoke(name: str, label: str, then: str) -> ResponseReturnValue:
    form = PlainForm()
    if not form.validate_on_submit():
        abort(400)
    owner = "your" if name == current_user.name else f"{name}'s"
    ask = confirmed(
        form, f"Revoke {owner} token {label!r}? Whatever uses it stops working.", "Revoke"
    )
    if ask:
        return ask
    try:
        user_store().revoke_token(name, label)
    except UserConflict as e:
        flash(f"Not revoked: {e}.", "error")
        return redirect(then, 303)
    flash(f"Revoked the token {label!r}.", "success")
    return redirect(then, 303)


@bp.post("/users/<name>/grants")
@role_required("admin")
def grant(name: str) -> ResponseReturnValue:
    form = GrantForm()
    if not form.validate_on_submit():
        flash("Name a project or a pattern to grant.", "error")
    else:
        _grant_change(name, lambda: user_store().grant(name, form.pattern.data or ""))
    return redirect(url_for("users.detail", name=name), 303)


@bp.post("/users/<name>/grants/remove")
@role_required("admin")
def ungrant(name: str) -> ResponseReturnValue:
    form = GrantForm()
    if not form.validate_on_submit():
        abort(400)
    ask = confirmed(form, f"Take back {name}'s grant {form.pattern.data!r}?", "Take back")
    if ask:
        return ask
    _grant_change(name, lambda: user_store().ungrant(name, form.pattern.data or ""))
    return redirect(url_for("users.detail", name=name), 303)


def _grant_change(name: str, apply: Callable[[], str]) -> None:
    """Apply a grant change and say what the user may publish now."""
    try:
        apply()
        grants = store_reader().get(name).grants
    except UserStoreError as e:
        flash(f"Not changed: {e}.", "error")
        return
    if grants:
        flash(f"{name} now publishes only projects matching {', '.join(grants)}.", "success")
    else:
        flash(f"{name} has no grants: as a publisher, every project.", "success")


def user_context(name: str) -> dict[str, object]:
    """What an admin's user page shows of a user's tokens and grants."""
    return {
        "tokens": store_reader().tokens(name),
        "revoke_form": PlainForm(),
        "grant_form": GrantForm(),
    }
