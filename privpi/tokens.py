"""API tokens and publishing grants: their format, their checks, and what a caller may do.

A token is ``privpi_`` (a fixed prefix secret scanners can match) and 43 URL-safe characters
from 32 random bytes (256 bits). The user store keeps only the SHA-256 of the whole token,
under the owner, in ``tokens[label]``::

    {"sha256": "<hex>", "scope": "read" | "publish", "projects": ["acme-lib"] | null,
     "created": "2026-...Z", "expires": "2026-...Z" | null}

A secret of 256 random bits needs no slow hash: one SHA-256 is as safe against guessing as
PBKDF2 would be, and keeps every verification (even the edge's first) in microseconds.

Grants are fnmatch patterns on normalized project names (``acme-*``); a user with grants
publishes, yanks and deletes only matching projects, a user without grants every project.
The edge (standard library only) keeps its own reading of token records:
tests/test_edge_agreement.py holds the two to the same answers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import UserStoreError
from .principal import Record, Users

PREFIX = "privpi_"
TOKEN_USER = "__token__"  # the Basic user name for a token, as on PyPI
SCOPES = ("read", "publish")
RANDOM_BYTES = 32
MAX_LABEL = 64
MAX_PATTERN = 128
MAX_EXPIRY_DAYS = 3650
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
HEX64 = re.compile(r"[0-9a-f]{64}")
PATTERN = re.compile(r"^[a-z0-9*?\[\]!-]+$")  # normalized names plus fnmatch's wildcards


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(RANDOM_BYTES)


def default_label() -> str:
    return f"token-{secrets.token_hex(3)}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def looks_like_token(secret: str) -> bool:
    return secret.startswith(PREFIX)


def check_label(label: str) -> str:
    if not 1 <= len(label) <= MAX_LABEL or not LABEL.match(label):
        raise UserStoreError(
            f"token label {label!r} must be 1 to {MAX_LABEL} letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return label


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise UserStoreError(f"unknown token scope {scope!r}: choose one of {', '.join(SCOPES)}")
    return scope


def project_name(name: str) -> str:
    """The normalized name of a project a token or check names; a clear error if invalid."""
    # Imported here, as in privpi.principal: `privpi users list` never needs it.
    from packaging.utils import InvalidName, canonicalize_name  # noqa: PLC0415

    try:
        return canonicalize_name(name, validate=True)
    except InvalidName:
        raise UserStoreError(f"{name!r} is not a valid project name") from None


def check_pattern(pattern: str) -> str:
    """A grant pattern, normalized like a project name (``Acme_*`` grants ``acme-*``)."""
    normalized = re.sub(r"[-_.]+", "-", pattern).lower()
    if not 1 <= len(normalized) <= MAX_PATTERN or not PATTERN.match(normalized):
        raise UserStoreError(
            f"grant pattern {pattern!r} may hold only project-name characters and the "
            "wildcards * ? [ ] (e.g. acme-*)"
        )
    return normalized


def expiry(days: int | None, now: datetime | None = None) -> str | None:
    if days is None:
        return None
    if not 1 <= days <= MAX_EXPIRY_DAYS:
        raise UserStoreError(f"a token expires in 1 to {MAX_EXPIRY_DAYS} days, not {days}")
    when = (now or datetime.now(UTC)) + timedelta(days=days)
    return stamp(when)


def now() -> str:
    return stamp(datetime.now(UTC))


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def expired(rec: Record, now: datetime | None = None) -> bool:
    """Whether a token record is past its expiry; an unreadable expiry counts as past."""
    value = rec.get("expires")
    if value is None:
        return False
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return True
    if when.tzinfo is None:
        return True
    return (now or datetime.now(UTC)) >= when


def valid_record(rec: object) -> bool:
    """A usable token record; anything else (hand-edited, truncated) never authenticates."""
    if not isinstance(rec, dict) or rec.get("scope") not in SCOPES:
        return False
    if not isinstance(rec.get("sha256"), str) or not HEX64.fullmatch(rec["sha256"]):
        return False
    projects = rec.get("projects")
    return projects is None or (
        isinstance(projects, list) and all(isinstance(p, str) for p in projects)
    )


def new_record(scope: str, projects: list[str], days: int | None, created: str) -> Record:
    names = sorted({project_name(p) for p in projects}) or None
    return {
        "sha256": "",  # filled in by the caller with the digest of the new token
        "scope": check_scope(scope),
        "projects": names,
        "created": created,
        "expires": expiry(days),
    }


def find(users: Users, secret: str) -> tuple[str, str, Record] | None:
    """(owner, label, record) of the token whose SHA-256 is that of ``secret``, or None.

    One SHA-256, a dict lookup in an index by digest, and a constant-time comparison of
    the stored digest (the edge does the same: edge/userstore.py).
    """
    wanted = digest(secret)
    found = index(users).get(wanted)
    if found is None or not hmac.compare_digest(found[2]["sha256"], wanted):
        return None
    return found


def index(users: Users) -> dict[str, tuple[str, str, Record]]:
    """Every valid token record of the store by its digest."""
    out: dict[str, tuple[str, str, Record]] = {}
    for owner, rec in users.items():
        for label, tok in (rec.get("tokens") or {}).items():
            if valid_record(tok):
                out[tok["sha256"]] = (owner, label, tok)
    return out


@dataclass(frozen=True)
class TokenInfo:
    """What ``privpi tokens list`` and the console show of a token: never its secret."""

    user: str
    label: str
    scope: str
    projects: tuple[str, ...] | None
    created: str
    expires: str | None
    expired: bool


def info(owner: str, label: str, tok: object) -> TokenInfo:
    t = tok if isinstance(tok, dict) else {}
    projects = t.get("projects")
    return TokenInfo(
        user=owner,
        label=label,
        scope=str(t.get("scope", "?")),
        projects=tuple(projects) if isinstance(projects, list) else None,
        created=str(t.get("created", "")),
        expires=t.get("expires"),
        expired=not valid_record(tok) or expired(t),
    )
