"""HTTP Basic credentials as the console's ``/legacy/`` reads them: UTF-8, else Latin-1.

The challenge asks for UTF-8 (``charset="UTF-8"``, RFC 7617 section 2.1), yet requests
(so twine) sends Latin-1 whatever it is asked; werkzeug decodes UTF-8 only and would turn
a password with ``é`` away. The edge (``edge/basic_auth.py``, standard library only) reads
the header by the same rules: tests/test_edge_agreement.py holds the two equal.
"""

from __future__ import annotations

import base64
import binascii

from .users import MAX_PASSWORD, MAX_USERNAME

MAX_HEADER = 8192


def challenge(realm: str) -> str:
    """A Basic challenge asking for UTF-8 credentials (RFC 7617 section 2.1)."""
    return 'Basic realm="' + realm.replace("\\", "").replace('"', "") + '", charset="UTF-8"'


def credentials(header: str | None) -> tuple[str, str] | None:
    """(username, password) from one Basic Authorization header value, else None."""
    if not header or len(header) > MAX_HEADER:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "basic" or not token or not token.isascii() or len(token) % 4:
        return None
    try:
        raw = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = raw.decode("latin-1")
    user, colon, password = decoded.partition(":")
    if not colon or not user or len(user) > MAX_USERNAME or len(password) > MAX_PASSWORD:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in user):
        return None
    return user, password
