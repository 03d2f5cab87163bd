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


def storage() -> Storage:
    s: Storage = current_app.extensions[STORAGE]  # set by create_app
    return s


def user_store() -> UserStore:
    """The user store, with the signed-in user recorded as actor in the audit log."""
    actor = current_user.name if current_user.is_authenticated else None
    return UserStore(storage(), actor=actor)


def actor() -> str | None:
    return current_user.name if current_user.is_authenticated else None
