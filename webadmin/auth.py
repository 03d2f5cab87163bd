"""Sign-in and sign-out, the session's user, and ``role_required`` for every other view.

The session holds ``<name>:<marker>``, the marker being a keyed digest of the user's stored
password hash and session generation, and the time of sign-in. A new password, role or
enabled state and signing out all bump the generation in the user store (privpi.users),
so every session of that user ends; the user is looked up in the (ETag-cached) user store
on every request, so a disabled or removed user is out on their next one. Sessions also
end a fixed time after sign-in (SESSION_ABSOLUTE_LIFETIME), however busy: Flask renews the
cookie on each request, so its own PERMANENT_SESSION_LIFETIME is only an idle limit.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from typing import Any, ParamSpec
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import AnonymousUserMixin, UserMixin, current_user, login_user, logout_user

from privpi.errors import NotFound, PrivpiError, StorageError
from privpi.keys import USERS_KEY
from privpi.principal import Principal
from privpi.users import User, UserStore, is_enabled, parse_store, session_generation

from .extensions import bounded_storage, login_manager, storage, store_reader
from .forms import LoginForm, PlainForm
from .ratelimit import Throttle
from .security import error_page

log = logging.getLogger(__name__)
P = ParamSpec("P")
View = Callable[P, ResponseReturnValue]  # a Flask view function
bp = Blueprint("auth", __name__)
CACHE = "privpi.users-cache"
THROTTLES = "privpi.login-throttles"
ISSUED = "issued"  # session key: when the user signed in (Unix time)
STORE_UNREADABLE = (
    "The user store cannot be read right now, so nobody can sign in. "
    "Try again in a minute; if this lasts, the repository storage needs attention."
)


class ConsoleUser(UserMixin):
    def __init__(self, user: User, marker: str) -> None:
        self.name = user.name
        self.role = user.role
        self.user = user
        self.marker = marker
        # What this user may publish (grants): the same check /legacy/ and tokens use.
        self.principal = Principal(user=user.name, role=user.role, grants=user.grants)

    def has_role(self, role: str) -> bool:
        return self.user.has_role(role)

    def get_id(self) -> str:
        return f"{self.name}:{self.marker}"


class Anonymous(AnonymousUserMixin):
    name = None
    role = None

    def has_role(self, role: str) -> bool:
        return False


def _users_doc() -> dict[str, Any]:
    """The user store document, re-read only when its ETag changed."""
    cached: tuple[str, dict[str, Any]] | None = current_app.extensions.get(CACHE)
    etag = cached[0] if cached else None
    try:
        blob = bounded_storage().read_if_changed(USERS_KEY, etag)
    except NotFound:
        return {"users": {}}
    if blob is None:  # unchanged since the cached copy (only asked with its ETag)
        assert cached is not None
        return cached[1]
    doc = parse_store(blob.body)
    current_app.extensions[CACHE] = (blob.etag, doc)
    return doc


def _marker(name: str, rec: dict[str, Any]) -> str:
    secret = current_app.secret_key or ""
    key = secret.encode() if isinstance(secret, str) else secret
    msg = f"{name}\0{rec['hash']}\0{session_generation(rec)}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:24]


def session_user(name: str) -> ConsoleUser | None:
    try:
        rec = _users_doc()["users"].get(name)
    except PrivpiError as e:
        # Fail closed: nobody is signed in while the store cannot be read. The session
        # stays, so a passing storage failure does not sign anyone out for good.
        log.error("cannot read the user store: %s", e.message)
        return None
    if rec is None or not is_enabled(rec):
        return None
    return ConsoleUser(User.from_record(name, rec), _marker(name, rec))


@login_manager.user_loader
def load_user(user_id: str) -> ConsoleUser | None:
    if _too_old():
        return None
    name, _, marker = user_id.rpartition(":")
    user = session_user(name)
    if user is None or not hmac.compare_digest(user.marker, marker):
        return None
    return user


def _too_old() -> bool:
    """Past the absolute lifetime, counted from sign-in (a session without a time of
    sign-in was not made by this console: it is too old as well)."""
    issued = session.get(ISSUED)
    if not isinstance(issued, int | float):
        return True
    limit = current_app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds()
    return not 0 <= time.time() - issued <= limit


def role_required(role: str) -> Callable[[View[P]], View[P]]:
    """Sign-in required (redirect to /login), then at least ``role`` (403 otherwise)."""

    def decorator(view: View[P]) -> View[P]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            if not current_user.is_authenticated:
                to_login: Response = login_manager.unauthorized()
                return to_login
            if not current_user.has_role(role):
                abort(403, f"This page needs the {role} role; you are a {current_user.role}.")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.login_message_category = "info"
    login_manager.anonymous_user = Anonymous
    login_manager.session_protection = None  # the marker above does this job
    window = app.config["LOGIN_LIMIT_WINDOW"]
    app.extensions[THROTTLES] = (
        Throttle(app.config["LOGIN_LIMIT_PER_USER"], window),
        Throttle(app.config["LOGIN_LIMIT_PER_ADDRESS"], window),
    )


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute or scheme-relative URL, nor one a
    browser could read as such (a backslash) or that would break the Location header
    (control characters); anything else sends the user home."""
    home = url_for("dashboard.index")
    if not target or not target.startswith("/") or target.startswith("//"):
        return home
    if "\\" in target or not all(c.isprintable() and not c.isspace() for c in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    return target


def login_throttles() -> tuple[Throttle, Throttle]:
    """(per user name, per client address) counters of failed password checks."""
    throttles: tuple[Throttle, Throttle] = current_app.extensions[THROTTLES]
    return throttles


def _throttled(name: str) -> int:
    per_user, per_address = login_throttles()
    return max(per_user.retry_after(name), per_address.retry_after(request.remote_addr or "-"))


def _failed(name: str) -> None:
    per_user, per_address = login_throttles()
    per_user.fail(name)
    per_address.fail(request.remote_addr or "-")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("login.html", form=form), status
    name = form.username.data or ""  # DataRequired: never empty here
    wait = _throttled(name)
    if wait:
        minutes = (wait + 59) // 60
        form.form_errors.append(
            f"Too many failed sign-ins for this user or from this address. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )
        return render_template("login.html", form=form), 429, {"Retry-After": str(wait)}
    try:
        user = store_reader().verify(name, form.password.data or "")
    except StorageError as e:  # fail closed, within the bound: nobody signs in unread
        log.error("cannot read the user store to sign %s in: %s", name, e.message)
        return error_page(503, STORE_UNREADABLE)
    if user is None:
        _failed(name)
        form.form_errors.append("Wrong user name or password, or the account is disabled.")
        return render_template("login.html", form=form), 401
    login_throttles()[0].reset(name)
    signed_in = session_user(name)
    if signed_in is None:  # disabled or removed between the two reads
        form.form_errors.append("Wrong user name or password, or the account is disabled.")
        return render_template("login.html", form=form), 401
    session.clear()  # a fresh session: nothing planted before sign-in survives it
    session[ISSUED] = int(time.time())
    login_user(signed_in)
    session.permanent = True
    flash(f"Signed in as {name}.", "success")
    return redirect(_safe_next(request.args.get("next")), 303)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> ResponseReturnValue:
    form = PlainForm()
    if request.method == "GET":
        return render_template("logout.html", form=form)
    if not form.validate_on_submit():
        abort(400)
    name = current_user.name
    logout_user()
    session.clear()
    if name is None:
        return redirect(url_for("auth.login"), 303)
    try:  # every other session of this user ends too (a cookie copied elsewhere)
        UserStore(storage(), actor=name).end_sessions(name)
    except PrivpiError as e:
        log.error("signing %s out everywhere failed: %s", name, e)
        flash(f"Signed out here, but your other sessions could not be ended ({e}).", "error")
        return redirect(url_for("auth.login"), 303)
    flash("Signed out, here and everywhere else.", "info")
    return redirect(url_for("auth.login"), 303)
