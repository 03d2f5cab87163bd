"""Read HTTP Basic credentials from a CloudFront request, refusing anything odd.

Standard library only (ships in the Lambda zip). Never raises: every malformed,
non-Basic or oversized header yields None, which the handler answers with 401.

The credentials are read as UTF-8 or, when they are not valid UTF-8, as Latin-1: the
challenge asks for UTF-8 (``charset="UTF-8"``, RFC 7617 section 2.1), but requests (hence
pip, twine and Poetry) sends Latin-1 whatever it is asked, so a password with ``é`` would
otherwise never work there. privpi.basic decodes the same way (held equal by a test).
"""

from __future__ import annotations

import base64
import binascii

# 64-character username + ':' + 1024-character password, UTF-8 (up to 4 bytes a
# character), base64 (4/3) and the scheme: anything longer is not one of our users.
MAX_HEADER = 8192
# privpi.users has the same limits (stdlib only here: tests/test_edge_agreement.py
# holds them equal).
MAX_USERNAME = 64
MAX_PASSWORD = 1024


def header_values(headers: object, name: str) -> list[str]:
    """All values of a header in CloudFront's {"name": [{"key", "value"}]} shape."""
    if not isinstance(headers, dict):
        return []
    entries = headers.get(name)
    if not isinstance(entries, list):
        return []
    return [e["value"] for e in entries if isinstance(e, dict) and isinstance(e.get("value"), str)]


def credentials(headers: object) -> tuple[str, str] | None:
    """(username, password) from exactly one valid Basic Authorization header, else None."""
    values = header_values(headers, "authorization")
    if len(values) != 1 or len(values[0]) > MAX_HEADER:
        return None  # absent, ambiguous (sent twice) or oversized
    scheme, _, token = values[0].strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    token = token.strip()
    if not token or not token.isascii() or len(token) % 4:
        return None  # strict base64: padded to a multiple of four, nothing else
    try:
        raw = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = raw.decode("latin-1")  # every byte is a Latin-1 character
    user, colon, password = decoded.partition(":")  # passwords may contain ':'
    if not colon or not user or len(user) > MAX_USERNAME or len(password) > MAX_PASSWORD:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in user):
        return None
    return user, password
