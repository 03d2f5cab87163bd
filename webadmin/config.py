"""Console configuration in layers: defaults, then the settings, then the caller's dict.

Zappa and ``privpi serve`` configure the console differently (environment variables versus
a dict), so every setting has one name in ``app.config``; the variables are read by
``privpi.settings`` alone, for the console and the command line alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from privpi.errors import PrivpiError
from privpi.settings import Settings

DEFAULTS = {
    # Request bodies of every form and JSON call: a sign-in is under 2 KiB. Werkzeug reads
    # a urlencoded body whole, so MAX_CONTENT_LENGTH is its only bound; /legacy/ and the
    # signed folder upload raise these per request (webadmin.upload.body_limits).
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_FORM_MEMORY_SIZE": 64 * 1024,
    "MAX_FORM_PARTS": 50,
    "PROJECTS_PER_PAGE": 50,
    # failed sign-ins allowed per window, per user name and per client address
    "LOGIN_LIMIT_PER_USER": 5,
    "LOGIN_LIMIT_PER_ADDRESS": 20,
    "LOGIN_LIMIT_WINDOW": 300,
    "SESSION_COOKIE_NAME": "privpi_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session, no longer
    # Seconds one read of the user store may take (one attempt), as privpi serve's reads:
    # a hanging store makes a sign-in answer 503 within this, well inside API Gateway's 29 s.
    "USER_STORE_TIMEOUT": 5.0,
}

PLACEHOLDER_KEYS = {"dev", "secret", "changeme", "change-me", "test", "placeholder", "xxx"}
MIN_SECRET_LENGTH = 32


def from_settings(settings: Settings) -> dict[str, object]:
    """The console's part of the settings, under its app.config names."""
    return {
        "PRIVPI_STORAGE": settings.storage,
        "SECRET_KEY": settings.secret_key,
        "REPOSITORY_URL": settings.repository_url,  # None: <this host>/simple/ (privpi serve)
        "UPSTREAM_URL": settings.upstream_url,  # None: no upstream fall-through
        "MAX_UPLOAD_BYTES": settings.max_upload_bytes,
        "MAX_BROWSER_UPLOAD_BYTES": settings.max_browser_upload_bytes,
        "REALM": settings.realm,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=settings.session_hours),  # idle
        "SESSION_ABSOLUTE_LIFETIME": timedelta(hours=settings.session_max_hours),
        "SESSION_COOKIE_SECURE": settings.session_cookie_secure,
        "ON_LAMBDA": settings.on_lambda,
    }


def check(config: Mapping[str, Any]) -> None:
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
