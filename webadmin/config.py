"""Console configuration in layers: defaults, then PRIVPI_* environment, then the caller's.

Zappa and ``privpi serve`` configure the console differently (environment variables versus
a dict), so every setting has one name in ``app.config`` and at most one variable.
"""

from __future__ import annotations

import os
from datetime import timedelta

from privpi.errors import PrivpiError

DEFAULTS = {
    "SECRET_KEY": None,
    "PRIVPI_STORAGE": None,  # None: open_storage's own default (./privpi-data)
    "REPOSITORY_URL": None,  # None: <this host>/simple/, right for `privpi serve`
    "MAX_UPLOAD_BYTES": 100 * 1024 * 1024,
    "PROJECTS_PER_PAGE": 50,
    # failed sign-ins allowed per window, per user name and per client address
    "LOGIN_LIMIT_PER_USER": 5,
    "LOGIN_LIMIT_PER_ADDRESS": 20,
    "LOGIN_LIMIT_WINDOW": 300,
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
    "SESSION_COOKIE_NAME": "privpi_session",
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session, no longer
}

# variable -> (config key, type)
ENVIRONMENT = {
    "PRIVPI_STORAGE": ("PRIVPI_STORAGE", str),
    "PRIVPI_SECRET_KEY": ("SECRET_KEY", str),
    "PRIVPI_REPOSITORY_URL": ("REPOSITORY_URL", str),
    "PRIVPI_MAX_UPLOAD_BYTES": ("MAX_UPLOAD_BYTES", int),
    "PRIVPI_SESSION_HOURS": ("PERMANENT_SESSION_LIFETIME", lambda v: timedelta(hours=float(v))),
    "PRIVPI_SESSION_COOKIE_SECURE": ("SESSION_COOKIE_SECURE", lambda v: v.lower() != "false"),
}

PLACEHOLDER_KEYS = {"dev", "secret", "changeme", "change-me", "test", "placeholder", "xxx"}
MIN_SECRET_LENGTH = 32


def from_environment(environ=os.environ) -> dict:
    values = {}
    for var, (key, convert) in ENVIRONMENT.items():
        raw = environ.get(var)
        if raw is None or raw == "":
            continue
        try:
            values[key] = convert(raw)
        except ValueError:
            raise PrivpiError(f"{var}={raw!r} is not a valid value") from None
    return values


def check(config) -> None:
    """Refuse to run in production with a secret key anyone could guess."""
    if config.get("TESTING"):
        return
    key = config.get("SECRET_KEY")
    if not key or str(key).lower() in PLACEHOLDER_KEYS or len(str(key)) < MIN_SECRET_LENGTH:
        raise PrivpiError(
            "the console needs a secret key of at least "
            f"{MIN_SECRET_LENGTH} characters: set PRIVPI_SECRET_KEY, for example to the "
            "output of: python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    if int(config["MAX_UPLOAD_BYTES"]) <= 0:
        raise PrivpiError("PRIVPI_MAX_UPLOAD_BYTES must be a positive number of bytes")
