"""Objects shared by every blueprint: extensions bound in create_app, and the storage.

The uploads area uses these too: ``csrf.exempt(view)`` for an endpoint that
authenticates with HTTP Basic instead of a session, ``storage()`` for the repository.
"""

from __future__ import annotations

from flask import current_app
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from privpi.storage import Storage
from privpi.users import UserStore

csrf = CSRFProtect()
login_manager = LoginManager()

STORAGE = "privpi.storage"
BOUNDED = "privpi.storage.bounded"


def storage() -> Storage:
    s: Storage = current_app.extensions[STORAGE]  # set by create_app
    return s


def bounded_storage() -> Storage:
    """The storage with each request given up after USER_STORE_TIMEOUT seconds, in one
    attempt: for reads of the user store, so a hanging store costs a sign-in or a session
    check that long, never boto3's full retries (one client per application)."""
    s: Storage | None = current_app.extensions.get(BOUNDED)
    if s is None:
        s = storage().bounded(float(current_app.config["USER_STORE_TIMEOUT"]))
        current_app.extensions[BOUNDED] = s
    return s


def user_store() -> UserStore:
    """The user store, with the signed-in user recorded as actor in the audit log."""
    actor = current_user.name if current_user.is_authenticated else None
    return UserStore(storage(), actor=actor)


def store_reader() -> UserStore:
    """The user store for reading only (sign-in, /legacy/ credentials, lists): its reads
    are bounded (bounded_storage). Changes go through user_store(), with the usual
    retries: a write must not give up half way."""
    return UserStore(bounded_storage())


def actor() -> str | None:
    return current_user.name if current_user.is_authenticated else None
