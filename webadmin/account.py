"""The signed-in user's own account: change their password, whatever their role.

The current password is asked again (a session left open on a shared screen must not be
enough), and failures count against the same per-user limit as sign-in. An admin setting
their own password from the user pages goes through the same check
(``change_own_password``).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user

from .auth import login_throttles, role_required, session_user
from .extensions import store_reader, user_store
from .forms import AccountPasswordForm
from .tokens import account_context

bp = Blueprint("account", __name__)
DONE = "Your password is changed; your other sessions have ended."


def _page(
    form: AccountPasswordForm, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    page = render_template("account.html", form=form, error=error, **account_context())
    return page, status


def change_own_password(form: AccountPasswordForm) -> tuple[str, int] | None:
    """Set the signed-in user's password if the form's current one is right: None when
    done (this session stays, the others end), else the refusal and its status."""
    if not form.validate():
        return "Your password was not changed: correct the fields marked below.", 400
    name = current_user.name
    per_user = login_throttles()[0]
    wait = per_user.retry_after(name)
    if wait:
        return f"Too many wrong passwords. Try again in {(wait + 59) // 60} minutes.", 429
    if store_reader().verify(name, form.current.data or "") is None:
        per_user.fail(name)
        return "Your current password is not right; nothing was changed.", 400
    user_store().set_password(name, form.password.data or "")
    login_user(session_user(name))  # the new marker: this session stays, others end
    session.permanent = True
    return None


@bp.route("/account", methods=["GET", "POST"])
@role_required("reader")
def page() -> ResponseReturnValue:
    form = AccountPasswordForm()
    if not form.is_submitted():
        return _page(form)
    refusal = change_own_password(form)
    if refusal:
        return _page(form, *refusal)
    flash(DONE, "success")
    return redirect(url_for("account.page"), 303)
