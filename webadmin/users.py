"""User management for admins: list, add, change role, reset password, disable, delete.

Role changes, disabling and deleting go through a confirmation page; adding a user and
resetting a password are confirmed by typing the password twice. Nobody can demote,
disable or delete themself, and the user store refuses to lose its last enabled admin.
An admin's own password needs their current one, here as on ``/account``.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm

from privpi.errors import UserConflict, UserStoreError
from privpi.users import User

from .account import DONE, change_own_password
from .auth import role_required
from .extensions import store_reader, user_store
from .forms import (
    AccountPasswordForm,
    AddUserForm,
    EnableForm,
    PasswordForm,
    PlainForm,
    RoleForm,
)
from .tokens import user_context
from .views import confirmed

bp = Blueprint("users", __name__, url_prefix="/users")
Page = tuple[str, int]  # a rendered page and its status


def _get(name: str) -> User:
    try:
        return store_reader().get(name)
    except UserStoreError:
        abort(404, f"There is no user named {name!r}.")


def _list_page(
    form: AddUserForm | None = None, error: str | None = None, status: int = 200
) -> Page:
    return (
        render_template(
            "users.html", users=store_reader().list(), form=form or AddUserForm(), error=error
        ),
        status,
    )


def _user_page(user: User, error: str | None = None, status: int = 200, **forms: FlaskForm) -> Page:
    forms.setdefault("role_form", RoleForm(role=user.role))
    own = user.name == current_user.name
    forms.setdefault("password_form", AccountPasswordForm() if own else PasswordForm())
    forms.setdefault("enable_form", EnableForm(enabled="0" if user.enabled else "1"))
    forms.setdefault("delete_form", PlainForm())
    forms.update(user_context(user.name))
    return render_template("user.html", user=user, error=error, **forms), status


def _not_yourself(user: User, what: str) -> Page | None:
    if user.name == current_user.name:
        return _user_page(user, f"You cannot {what} yourself; ask another admin.", 409)
    return None


def _conflict(name: str, e: UserConflict) -> Page:
    """409: the store refused the change as it is now (another admin was quicker); the
    user's page with the reason, or the list when the user is gone."""
    try:
        user = store_reader().get(name)
    except UserConflict:
        msg = f"The user {name!r} no longer exists: another admin deleted it meanwhile."
        return _list_page(error=msg, status=409)
    return _user_page(user, f"Not changed: {e}.", 409)


def _change(
    user: User,
    form: FlaskForm,
    refused_for_self: str | None,
    question: str,
    label: str,
    apply: Callable[[], None],
    done: str,
    danger: bool = True,
    then: str | None = None,
) -> ResponseReturnValue:
    """A confirmed change to a user: refused on oneself (what ``refused_for_self`` names,
    if anything), asked for on a confirmation page, applied, then reported on the user's
    page (or the ``then`` endpoint); a refusal from the user store comes back as a 409."""
    refusal = _not_yourself(user, refused_for_self) if refused_for_self else None
    if refusal:
        return refusal
    ask = confirmed(form, question, label, danger=danger)
    if ask:
        return ask
    try:
        apply()
    except UserConflict as e:
        return _conflict(user.name, e)
    flash(done, "success")
    if then:
        return redirect(url_for(then), 303)
    return redirect(url_for("users.detail", name=user.name), 303)


@bp.route("")
@role_required("admin")
def index() -> ResponseReturnValue:
    return _list_page()


@bp.route("/add", methods=["POST"])
@role_required("admin")
def add() -> ResponseReturnValue:
    form = AddUserForm()
    if not form.validate_on_submit():
        return _list_page(form, "The user was not added: correct the fields marked below.", 400)
    name = form.username.data or ""  # validated: never empty here
    store = user_store()
    if any(u.name == name for u in store.list()):
        return _list_page(form, f"A user named {name!r} already exists.", 409)
    try:
        store.add(name, form.password.data or "", form.role.data)
    except UserConflict:  # added by another admin since the check above
        return _list_page(form, f"A user named {name!r} already exists.", 409)
    except UserStoreError as e:
        return _list_page(form, str(e), 400)
    flash(f"Added {form.role.data} {name!r}.", "success")
    return redirect(url_for("users.detail", name=name), 303)


@bp.route("/<name>")
@role_required("admin")
def detail(name: str) -> ResponseReturnValue:
    return _user_page(_get(name))


@bp.route("/<name>/role", methods=["POST"])
@role_required("admin")
def role(name: str) -> ResponseReturnValue:
    user = _get(name)
    form = RoleForm()
    if not form.validate_on_submit():
        return _user_page(user, "Choose one of the listed roles.", 400, role_form=form)
    return _change(
        user,
        form,
        "change the role of",
        f"Change {name}'s role from {user.role} to {form.role.data}?",
        "Change",
        lambda: user_store().set_role(name, form.role.data),
        f"{name}'s role is now {form.role.data}.",
    )


@bp.route("/<name>/password", methods=["POST"])
@role_required("admin")
def password(name: str) -> ResponseReturnValue:
    user = _get(name)
    if name == current_user.name:
        return _own_password(user)
    form = PasswordForm()
    if not form.validate_on_submit():
        msg = "The password was not changed: correct the fields marked below."
        return _user_page(user, msg, 400, password_form=form)
    try:
        user_store().set_password(name, form.password.data or "")
    except UserConflict as e:
        return _conflict(name, e)
    flash(f"Set a new password for {name}; their other sessions have ended.", "success")
    return redirect(url_for("users.detail", name=name), 303)


def _own_password(user: User) -> ResponseReturnValue:
    form = AccountPasswordForm()
    refusal = change_own_password(form)
    if refusal:
        return _user_page(user, *refusal, password_form=form)
    flash(DONE, "success")
    return redirect(url_for("users.detail", name=user.name), 303)


@bp.route("/<name>/enabled", methods=["POST"])
@role_required("admin")
def enabled(name: str) -> ResponseReturnValue:
    user = _get(name)
    form = EnableForm()
    if not form.validate_on_submit():
        return _user_page(user, "Choose enable or disable.", 400)
    enable = form.enabled.data == "1"
    verb = "enable" if enable else "disable"
    return _change(
        user,
        form,
        None if enable else "disable",  # only disabling oneself is refused
        f"{verb.capitalize()} {name}?",
        verb.capitalize(),
        lambda: user_store().set_enabled(name, enable),
        f"{name} is {verb}d.",
        danger=not enable,
    )


@bp.route("/<name>/delete", methods=["POST"])
@role_required("admin")
def delete(name: str) -> ResponseReturnValue:
    user = _get(name)
    form = PlainForm()
    if not form.validate_on_submit():
        abort(400)
    return _change(
        user,
        form,
        "delete",
        f"Delete the user {name}? This cannot be undone.",
        "Delete",
        lambda: user_store().remove(name),
        f"Deleted the user {name}.",
        then="users.index",
    )
