"""The user store: one JSON object at ``config/users.json``.

Every change is a read-modify-write guarded by If-Match on the ETag that was read, retried
on conflict, so concurrent admins (CLI, console, several processes) never lose a change.

Format (version 2)::

    {"version": 2, "users": {"alice": {"hash": "$pbkdf2-sha256$...", "roles": ["publisher"],
     "enabled": true, "created": "2026-...Z", "updated": "2026-...Z",
     "tokens": {"<label>": {...}}, "grants": ["acme-*"], "session_generation": 3}}}

``tokens`` and ``grants`` are optional (see :mod:`privpi.tokens`). A version-1 store (the
same without them) is read as it is and written as version 2 by its next change, which
keeps every field it holds.

``session_generation`` (optional, absent: 0) counts the changes that end the user's console
sessions: a new password, role or enabled state, and signing out. The console keeps it in
each session and refuses a session whose generation is not the stored one.
"""

from __future__ import annotations

import builtins
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import audit, tokens
from .errors import NotFound, PreconditionFailed, StorageError, UserConflict, UserStoreError
from .keys import USERS_KEY
from .principal import ROLES, Principal, Record, Users, effective_role, record_role, role_rank
from .settings import pbkdf2_rounds
from .storage import Storage
from .tokens import TokenInfo, now
from .usertokens import TokensAndGrants

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # a version-1 store is upgraded by its next write
MIN_USERNAME, MAX_USERNAME = 1, 64
MIN_PASSWORD = 12
# Bounds PBKDF2 work and the edge's Authorization header. The edge (stdlib only) keeps its
# own copies of these limits and of is_enabled: tests/test_edge_agreement.py holds them equal.
MAX_PASSWORD = 1024

MAX_RETRIES = 20
Guard = Callable[[Users], None]  # refuses a change (UserConflict) that breaks a rule
JSON = "application/json"


def check_username(name: str) -> str:
    if not MIN_USERNAME <= len(name) <= MAX_USERNAME:
        raise UserStoreError(
            f"username {name!r} must be {MIN_USERNAME} to {MAX_USERNAME} characters long"
        )
    if name == tokens.TOKEN_USER:
        raise UserStoreError(
            f"{name!r} is reserved: it is the user name for signing in with a token"
        )
    if ":" in name or any(ord(c) < 32 or ord(c) == 127 for c in name) or name != name.strip():
        raise UserStoreError(
            f"username {name!r} may not contain ':', control characters or outer spaces"
        )
    return name


def is_enabled(rec: Record) -> bool:
    """Only JSON true enables a user: a missing, null, 1 or "true" field is a disabled
    user for the CLI, the console and the edge alike (fail closed on a hand-edited store)."""
    return rec.get("enabled") is True


def session_generation(rec: Record) -> int:
    """The record's session generation; anything but a whole number reads as 0."""
    value = rec.get("session_generation", 0)
    return value if type(value) is int else 0


def _end_sessions(rec: Record) -> None:
    rec["session_generation"] = session_generation(rec) + 1


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserStoreError(f"the password must be at least {MIN_PASSWORD} characters long")
    if len(password) > MAX_PASSWORD:
        raise UserStoreError(f"the password must be at most {MAX_PASSWORD} characters long")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserStoreError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return role


@dataclass(frozen=True)
class User:
    name: str
    role: str
    enabled: bool
    created: str
    updated: str
    grants: tuple[str, ...] = ()

    def has_role(self, role: str) -> bool:
        return role_rank(self.role) >= role_rank(role)

    @classmethod
    def from_record(cls, name: str, rec: Record) -> User:
        return cls(
            name=name,
            role=record_role(rec),
            enabled=is_enabled(rec),
            created=rec.get("created", ""),
            updated=rec.get("updated", ""),
            grants=tuple(rec.get("grants") or ()),
        )


def parse_store(body: bytes, where: str = USERS_KEY) -> dict[str, Any]:
    """Validate the stored document; a corrupt store is reported, never overwritten."""
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise UserStoreError(f"the user store {where} is corrupt: not JSON ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("users"), dict):
        raise UserStoreError(f"the user store {where} is corrupt: no 'users' object")
    if doc.get("version") not in READABLE_VERSIONS:
        raise UserStoreError(
            f"the user store {where} has format version {doc.get('version')!r}; "
            f"this privpi reads versions {', '.join(map(str, READABLE_VERSIONS))}"
        )
    for name, rec in doc["users"].items():
        if not isinstance(rec, dict) or not isinstance(rec.get("hash"), str):
            raise UserStoreError(f"the user store {where} is corrupt: bad record for {name!r}")
        grants = rec.get("grants", [])
        if not isinstance(rec.get("tokens", {}), dict) or not (
            isinstance(grants, list) and all(isinstance(g, str) for g in grants)
        ):
            raise UserStoreError(
                f"the user store {where} is corrupt: bad tokens or grants for {name!r}"
            )
    return doc


def _pbkdf2() -> Any:
    """passlib's PBKDF2-SHA256 handler, imported when a password is hashed or checked."""
    from passlib.hash import pbkdf2_sha256  # noqa: PLC0415 - 30 ms that `users list` skips

    return pbkdf2_sha256


# A fixed hash to verify against when the user does not exist, so that the time taken
# does not tell an attacker which usernames exist. Computed lazily at the current rounds.
_dummy_hashes: dict[int, str] = {}


def _dummy_hash() -> str:
    rounds = pbkdf2_rounds()
    if rounds not in _dummy_hashes:
        _dummy_hashes[rounds] = _pbkdf2().using(rounds=rounds).hash("privpi-no-such-user")
    return _dummy_hashes[rounds]


class UserStore(TokensAndGrants):
    def __init__(self, storage: Storage, actor: str | None = None) -> None:
        self.storage = storage
        self.actor = actor  # who makes changes, for the audit log

    # -- reading --------------------------------------------------------------

    def _load(self) -> tuple[dict[str, Any], str | None]:
        try:
            blob = self.storage.read(USERS_KEY)
        except NotFound:
            return {"version": FORMAT_VERSION, "users": {}}, None
        return parse_store(blob.body), blob.etag

    def list(self) -> list[User]:
        doc, _ = self._load()
        return [User.from_record(n, r) for n, r in sorted(doc["users"].items())]

    def get(self, name: str) -> User:
        doc, _ = self._load()
        if name not in doc["users"]:
            raise UserConflict(f"no user named {name!r}")
        return User.from_record(name, doc["users"][name])

    def verify(self, name: str, password: str) -> User | None:
        """The enabled user these credentials belong to, or None.

        Takes the same time whether or not the user exists (a dummy hash is checked).
        """
        doc, _ = self._load()
        rec = doc["users"].get(name)
        stored = rec["hash"] if rec else _dummy_hash()
        try:
            ok = _pbkdf2().verify(password[:MAX_PASSWORD], stored)
        except (ValueError, TypeError):
            ok = False
        if not ok or rec is None or not is_enabled(rec):
            return None
        return User.from_record(name, rec)

    def authenticate(self, name: str, secret: str) -> Principal | None:
        """Who these Basic credentials are, or None: the one check every way in uses.

        ``secret`` is a token (user name ``__token__`` or the token's owner) or a password.
        A token costs one SHA-256; its owner must be enabled, and it must not be expired.
        A password that merely starts like a token is still tried as a password.
        """
        if name == tokens.TOKEN_USER or tokens.looks_like_token(secret):
            doc, _ = self._load()
            found = tokens.find(doc["users"], secret)
            if found is not None:
                owner, label, tok = found
                rec = doc["users"][owner]
                if name not in (tokens.TOKEN_USER, owner) or not is_enabled(rec):
                    return None
                if tokens.expired(tok):
                    return None
                return token_principal(owner, rec, label, tok)
            if name == tokens.TOKEN_USER:
                return None
        user = self.verify(name, secret)
        if user is None:
            return None
        return Principal(user=user.name, role=user.role, grants=user.grants)

    def tokens(self, name: str | None = None) -> builtins.list[TokenInfo]:
        """Every token of ``name`` (of everyone when None), by user then label."""
        doc, _ = self._load()
        if name is not None and name not in doc["users"]:
            raise UserConflict(f"no user named {name!r}")
        out: builtins.list[TokenInfo] = []
        for owner, rec in sorted(doc["users"].items()):
            if name is None or owner == name:
                for label, tok in sorted((rec.get("tokens") or {}).items()):
                    out.append(tokens.info(owner, label, tok))
        return out

    # -- changing -------------------------------------------------------------

    def _change(
        self, mutate: Callable[[Users], None], action: str, name: str, **details: object
    ) -> None:
        """Read, apply mutate to the users dict, write with If-Match; retry on conflict.

        One rule recognises a write S3 applied but whose answer was lost, for every change:
        when the outcome is unknown (a 412 to boto3's retry of an applied PUT, or a storage
        error once the retries ran out), the store is read again, and if ``name``'s record
        is exactly what this attempt wrote (its absence, for a removal), the change is done
        and gets its audit event; otherwise a 412 is a lost race (read, apply, try again)
        and a storage error stands.
        """
        for attempt in range(MAX_RETRIES):
            doc, etag = self._load()
            mutate(doc["users"])
            intended = doc["users"].get(name)
            try:
                self._write(doc, etag)
            except PreconditionFailed:
                if not self._holds(name, intended):
                    time.sleep(random.uniform(0, 0.05 * (attempt + 1)))
                    continue
            except StorageError:
                if not self._holds(name, intended):
                    raise
            audit.record(self.storage, action, self.actor, user=name, **details)
            return
        raise UserStoreError(
            f"{USERS_KEY} kept changing under {MAX_RETRIES} attempts to change {name!r}; try again"
        )

    def _write(self, doc: dict[str, Any], etag: str | None) -> None:
        doc["version"] = FORMAT_VERSION  # a version-1 store is upgraded here, keeping all
        body = json.dumps(doc, indent=1, sort_keys=True).encode()
        self.storage.write(
            USERS_KEY, body, if_match=etag, if_none_match=etag is None, content_type=JSON
        )

    def _holds(self, name: str, intended: Record | None) -> bool:
        """Whether the stored record of ``name`` is ``intended`` (False if unreadable)."""
        try:
            stored: Record | None = self._load()[0]["users"].get(name)
            return stored == intended
        except StorageError:
            return False

    def add(self, name: str, password: str, role: str = "reader") -> User:
        check_username(name)
        check_password(password)
        check_role(role)
        digest = _pbkdf2().using(rounds=pbkdf2_rounds()).hash(password)

        def mutate(users: Users) -> None:
            if name in users:
                raise UserConflict(f"a user named {name!r} already exists")
            stamp = now()
            users[name] = {
                "hash": digest,
                "roles": [role],
                "enabled": True,
                "created": stamp,
                "updated": stamp,
            }

        self._change(mutate, "user.add", name, role=role)
        return self.get(name)

    def _update(self, name: str, action: str, guard: Guard | None = None, **fields: object) -> None:
        """Change fields of one user; a change that alters any (password, role, enabled)
        also ends the user's console sessions."""

        def mutate(users: Users) -> None:
            if name not in users:
                raise UserConflict(f"no user named {name!r}")
            if guard:
                guard(users)
            rec = users[name]
            if any(rec.get(k) != v for k, v in fields.items()):
                _end_sessions(rec)
            rec.update(fields, updated=now())

        details = {k: v for k, v in fields.items() if k != "hash"}
        self._change(mutate, action, name, **details)

    def set_password(self, name: str, password: str) -> None:
        check_password(password)
        digest = _pbkdf2().using(rounds=pbkdf2_rounds()).hash(password)
        self._update(name, "user.passwd", hash=digest)

    def set_role(self, name: str, role: str) -> None:
        check_role(role)
        guard = None if role == "admin" else self._keeps_an_admin(name)
        self._update(name, "user.role", guard, roles=[role])

    def set_enabled(self, name: str, enabled: bool) -> None:
        guard = None if enabled else self._keeps_an_admin(name)
        self._update(name, "user.enable" if enabled else "user.disable", guard, enabled=enabled)

    def end_sessions(self, name: str) -> None:
        """End every console session of ``name`` (signing out does this)."""

        def mutate(users: Users) -> None:
            if name not in users:
                raise UserConflict(f"no user named {name!r}")
            _end_sessions(users[name])

        self._change(mutate, "user.signout", name)

    def remove(self, name: str) -> None:
        keep_admin = self._keeps_an_admin(name)

        def mutate(users: Users) -> None:
            if name not in users:
                raise UserConflict(f"no user named {name!r}")
            keep_admin(users)
            del users[name]

        self._change(mutate, "user.remove", name)

    @staticmethod
    def _keeps_an_admin(name: str) -> Guard:
        """A guard refusing a change that would leave no enabled admin."""

        def guard(users: Users) -> None:
            others = [
                n
                for n, r in users.items()
                if n != name and is_enabled(r) and "admin" in r.get("roles", [])
            ]
            target = users.get(name, {})
            if "admin" in target.get("roles", []) and is_enabled(target) and not others:
                raise UserConflict(f"{name!r} is the last enabled admin; add another first")

        return guard


def token_principal(owner: str, rec: Record, label: str, tok: Record) -> Principal:
    user = User.from_record(owner, rec)
    projects = tok.get("projects")
    return Principal(
        user=owner,
        role=effective_role(user.role, tok["scope"]),
        scope=tok["scope"],
        projects=None if projects is None else frozenset(projects),
        grants=user.grants,
        via_token=label,
    )
