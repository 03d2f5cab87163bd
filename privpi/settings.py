"""Every setting of the command line and the console, read from the environment here only.

``Settings.from_environment()`` is built once by each way in (``privpi`` in ``cli.py``, the
console in ``webadmin.create_app``); core functions take the values they need as
parameters. Each variable is in the README's settings table. The edge authenticator is the
exception: its settings are baked into its zip at build time (``privpi edge build``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from dataclasses import field as dataclass_field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .errors import PrivpiError, ValidationError
from .units import parse_size

DEFAULT_STORAGE = "./privpi-data"  # here, not in privpi.storage: `privpi --help` shows it
MIB = 1024**2
DEFAULT_MAX_UPLOAD = 100 * MIB
DEFAULT_MAX_BROWSER_UPLOAD = 1024 * MIB  # its bytes skip the console (see webadmin/upload.py)

# 100,000 rounds: the same hash is verified by the Lambda@Edge authenticator at 128 MB
# (7.2 % of one CPU), where a cold start's init plus one verification must stay within
# 2.5 s (bench/edge_coldstart.py; the reasoning against OWASP's 600,000 is in
# docs/security.md). Warm requests never hash (the edge caches verifications).
DEFAULT_PBKDF2_ROUNDS = 100_000


@dataclass(frozen=True)
class Settings:
    storage: str = DEFAULT_STORAGE
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    max_browser_upload_bytes: int = DEFAULT_MAX_BROWSER_UPLOAD
    realm: str = "privpi"
    secret_key: str | None = None
    repository_url: str | None = None
    upstream_url: str | None = None  # the authenticator's --upstream, for the connect page
    session_hours: float = 8.0  # idle: every request renews the session
    session_max_hours: float = 12.0  # from sign-in, however busy
    session_cookie_secure: bool = True
    admin_password: str | None = None
    token: str | None = dataclass_field(
        default=None, repr=False
    )  # privpi upload --url's credentials
    on_lambda: bool = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Each setting from the first of its variables that is set; bad values refused."""
        values: dict[str, Any] = {}  # each converter in VARIABLES makes its field's type
        for field in fields(cls):
            names, convert = VARIABLES[field.name]
            name = next((n for n in names if environ.get(n)), None)
            if name is not None:
                values[field.name] = _convert(name, environ[name], convert)
        return cls(**values)


def pbkdf2_rounds(environ: Mapping[str, str] = os.environ) -> int:
    """Hashing cost of new password hashes. Read at each hash, not once: tests and benches
    lower it for speed per test (PRIVPI_PBKDF2_ROUNDS); nobody should in production."""
    raw = environ.get("PRIVPI_PBKDF2_ROUNDS")
    return _convert("PRIVPI_PBKDF2_ROUNDS", raw, _positive) if raw else DEFAULT_PBKDF2_ROUNDS


T = TypeVar("T")


def _convert(name: str, raw: str, convert: Callable[[str], T]) -> T:
    try:
        return convert(raw)
    except ValueError:
        raise PrivpiError(f"{name}={raw!r} is not a valid value") from None


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(text)
    return value


def _positive_size(text: str) -> int:
    return _positive(str(parse_size(text)))


def _upstream_url(text: str) -> str:
    try:
        return check_upstream(text)
    except ValidationError as e:
        raise ValueError(text) from e


def _flag(text: str) -> bool:
    return text.lower() != "false"


# field -> (its variables, the first one set wins; conversion). PRIVPI_MAX_UPLOAD_SIZE is
# the name `privpi upload` read before the command line and the console shared one limit.
VARIABLES: dict[str, tuple[tuple[str, ...], Callable[[str], object]]] = {
    "storage": (("PRIVPI_STORAGE",), str),
    "max_upload_bytes": (("PRIVPI_MAX_UPLOAD_BYTES", "PRIVPI_MAX_UPLOAD_SIZE"), _positive_size),
    "max_browser_upload_bytes": (("PRIVPI_MAX_BROWSER_UPLOAD_BYTES",), _positive_size),
    "realm": (("PRIVPI_REALM",), str),
    "secret_key": (("PRIVPI_SECRET_KEY",), str),
    "repository_url": (("PRIVPI_REPOSITORY_URL",), str),
    "upstream_url": (("PRIVPI_UPSTREAM_URL",), _upstream_url),
    "session_hours": (("PRIVPI_SESSION_HOURS",), float),
    "session_max_hours": (("PRIVPI_SESSION_MAX_HOURS",), float),
    "session_cookie_secure": (("PRIVPI_SESSION_COOKIE_SECURE",), _flag),
    "admin_password": (("PRIVPI_ADMIN_PASSWORD",), str),
    "token": (("PRIVPI_TOKEN",), str),
    # set by AWS Lambda itself: the console is running there (limits of its payload)
    "on_lambda": (("AWS_LAMBDA_FUNCTION_NAME",), bool),
}


def check_upstream(url: str) -> str:
    """The upstream index URL, ending in '/'; ValidationError naming what is wrong with it.

    It goes into a Location header as it is, so only printable ASCII; no user:password@
    (pip and uv would send it upstream) and no query or fragment (a project name follows).
    """
    parts = urlsplit(url) if url.isascii() and url.isprintable() and " " not in url else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
    ):
        raise ValidationError(
            f"invalid upstream index URL {url!r}: http(s)://HOST/PATH/ without credentials, "
            "query or fragment (for example https://pypi.org/simple/)"
        )
    return url if url.endswith("/") else url + "/"
