"""Verify passlib ``pbkdf2_sha256`` hashes with the standard library alone.

Format: ``$pbkdf2-sha256$<rounds>$<salt>$<digest>``, salt and digest in passlib's
"adapted base64" (``.`` instead of ``+``, no padding). The Lambda zip cannot carry passlib,
and it does not need to: this is PBKDF2-HMAC-SHA256 with a constant-time comparison.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from edge.basic_auth import MAX_PASSWORD  # the user store refuses longer passwords

PREFIX = "$pbkdf2-sha256$"
MAX_ROUNDS = 10_000_000  # a corrupt or hostile store must not stall the function


def ab64_decode(text: str) -> bytes:
    """passlib's adapted base64: '.' stands for '+', padding is dropped."""
    data = text.replace(".", "+")
    return base64.b64decode(data + "=" * (-len(data) % 4), validate=True)


def parse(stored: str) -> tuple[int, bytes, bytes]:
    """(rounds, salt, digest) of a stored hash; ValueError if it is not one."""
    if not isinstance(stored, str) or not stored.startswith(PREFIX):
        raise ValueError("not a $pbkdf2-sha256$ hash")
    fields = stored[len(PREFIX) :].split("$")
    if len(fields) != 3 or not fields[0].isdigit():
        raise ValueError("malformed $pbkdf2-sha256$ hash")
    rounds = int(fields[0])
    if not 1 <= rounds <= MAX_ROUNDS:
        raise ValueError("rounds out of range")
    try:
        salt, digest = ab64_decode(fields[1]), ab64_decode(fields[2])
    except (binascii.Error, ValueError):
        raise ValueError("malformed base64 in hash") from None
    if not digest:
        raise ValueError("empty digest")
    return rounds, salt, digest


def verify(password: str, stored: str) -> bool:
    """True when password matches stored; False for a wrong password or a bad hash."""
    try:
        rounds, salt, digest = parse(stored)
        secret = password.encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return False
    if len(secret) > MAX_PASSWORD * 4:  # characters of UTF-8: up to 4 bytes each
        return False
    derived = hashlib.pbkdf2_hmac("sha256", secret, salt, rounds, dklen=len(digest))
    return hmac.compare_digest(derived, digest)


def burn(stored: str) -> None:
    """Spend the time a verification against stored would take, for an unknown user."""
    try:
        rounds, salt, digest = parse(stored)
    except ValueError:
        return
    hashlib.pbkdf2_hmac("sha256", b"privpi-no-such-user", salt, rounds, dklen=len(digest))
