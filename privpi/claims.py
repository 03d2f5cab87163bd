"""Claimed names: project-name patterns that never fall through to the upstream index.

The list is kept at ``config/claims.json`` (``{"version": 1, "claims": ["acme-*", ...]}``),
changed only with a conditional write (If-Match on the ETag read), and published into the
root index JSON as ``_claims`` so the authenticator learns it from the one object it already
reads for the private names: no second read at the edge (PEP 691 lets an index add keys its
clients ignore; the project pages already carry ``_version`` the same way).

A pattern is a project name in which ``*`` stands for any run of characters; it is
normalized like a name (PEP 503), so ``Acme_*`` claims what ``acme-*`` claims.
"""

from __future__ import annotations

import json
import re

from . import audit, index
from .errors import NotFound, PreconditionFailed, PrivpiError, ValidationError
from .keys import CLAIMS_KEY
from .storage import Storage

FORMAT_VERSION = 1
MAX_PATTERN = 255  # as long as a name may be
PATTERN = re.compile(r"^[A-Za-z0-9*]([A-Za-z0-9._*-]*[A-Za-z0-9*])?$")


def check_pattern(pattern: str) -> str:
    """The normalized pattern; ValidationError naming what is wrong with it."""
    if not 0 < len(pattern) <= MAX_PATTERN or not PATTERN.match(pattern):
        raise ValidationError(
            f"invalid name pattern {pattern!r}: letters, digits, '.', '_', '-' and '*' "
            f"(any characters), starting and ending with a letter, digit or '*', "
            f"at most {MAX_PATTERN} characters"
        )
    return re.sub(r"[-_.]+", "-", pattern).lower()


def _read(storage: Storage) -> tuple[list[str], str | None]:
    try:
        blob = storage.read(CLAIMS_KEY)
    except NotFound:
        return [], None
    try:
        doc = json.loads(blob.body)
        claims = doc["claims"] if doc.get("version") == FORMAT_VERSION else None
        if not isinstance(claims, list) or not all(isinstance(c, str) for c in claims):
            raise ValueError(claims)
    except (ValueError, AttributeError, KeyError):
        raise PrivpiError(f"{CLAIMS_KEY} is not a version {FORMAT_VERSION} claims file") from None
    return claims, blob.etag


def read(storage: Storage) -> list[str]:
    """The claimed patterns, sorted (none when nothing was ever claimed)."""
    return sorted(_read(storage)[0])


def claim(storage: Storage, pattern: str, actor: str | None = None) -> bool:
    """Claim a pattern; False when it was claimed already."""
    return _change(storage, check_pattern(pattern), True, actor)


def unclaim(storage: Storage, pattern: str, actor: str | None = None) -> None:
    """Remove a claimed pattern; PrivpiError when it is not claimed."""
    pattern = check_pattern(pattern)
    if not _change(storage, pattern, False, actor):
        raise PrivpiError(f"{pattern!r} is not claimed (see `privpi claims`)")


def _change(storage: Storage, pattern: str, add: bool, actor: str | None) -> bool:
    for attempt in range(index.MAX_ATTEMPTS):
        claims, etag = _read(storage)
        if (pattern in claims) == add:
            changed = False
            break
        after = sorted({*claims, pattern} if add else set(claims) - {pattern})
        body = (json.dumps({"version": FORMAT_VERSION, "claims": after}, indent=1) + "\n").encode()
        condition = {"if_match": etag} if etag else {"if_none_match": True}
        try:
            storage.write(CLAIMS_KEY, body, content_type="application/json", **condition)
        except PreconditionFailed:
            index.pause(attempt)
            continue
        changed = True
        break
    else:
        raise PrivpiError(f"{CLAIMS_KEY} kept changing; try again")
    # Published even when nothing changed here: it repairs a root written before a crash.
    # The claims are read again on every attempt, so a slower writer never publishes an
    # older list over a newer one.
    index.update_root(storage, claims=lambda: read(storage))
    if changed:
        audit.record(storage, "claim" if add else "unclaim", actor, pattern=pattern)
    return changed
