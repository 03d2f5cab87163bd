"""Who made a request and what they may do: :class:`Principal`, made by
``UserStore.authenticate`` for a password or a token, asked by every way in (the console,
``/legacy/``, ``privpi upload --url``) before it publishes, yanks or deletes.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from .errors import PrivpiError

# The user store's JSON, as parsed: users by name, each a record (see privpi.users).
Record = dict[str, Any]
Users = dict[str, Record]

ROLES = ("reader", "publisher", "admin")  # each role includes the ones before it
SCOPE_ROLE = {"read": "reader", "publish": "publisher"}


class Forbidden(PrivpiError):
    """Signed in, but not allowed this: the console and /legacy/ answer 403."""

    status = 403


def canonicalize_name(project: str) -> str:
    """packaging's normalized name. Imported on first use: packaging.utils loads packaging.tags
    (platform probing, subprocess), start-up time that `privpi users list` skips (issue 15)."""
    from packaging.utils import canonicalize_name as canonical  # noqa: PLC0415 - see above

    return canonical(project)


def matches(project: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(project, p) for p in patterns)


@dataclass(frozen=True)
class Principal:
    """Who made a request and what they may do: a user by password, or one of their tokens.

    ``role`` is the effective role: a token's scope caps its owner's role (a read token of
    an admin is a reader), and a publish token of a reader stays a reader. ``projects``
    is None for every project, else the normalized names a token is limited to; ``grants``
    the owner's publishing patterns (empty: every project). ``via_token`` is the token's
    label, or None for a password.
    """

    user: str
    role: str
    scope: str | None = None
    projects: frozenset[str] | None = None
    grants: tuple[str, ...] = ()
    via_token: str | None = None

    def has_role(self, role: str) -> bool:
        return role_rank(self.role) >= role_rank(role)

    def may_read(self, project: str) -> bool:
        return self.projects is None or canonicalize_name(project) in self.projects

    def may_publish(self, project: str) -> bool:
        """Publish, yank and delete: the publisher role, the token's projects, the grants."""
        name = canonicalize_name(project)
        if not self.has_role("publisher") or not self.may_read(name):
            return False
        return not self.grants or matches(name, self.grants)

    def require_publish(self, project: str) -> None:
        """Raise Forbidden with a sentence naming the project unless may_publish."""
        if self.may_publish(project):
            return
        name = canonicalize_name(project)
        who = f"token {self.via_token!r} of {self.user}" if self.via_token else self.user
        if not self.has_role("publisher"):
            why = (
                "it is a read token"
                if self.scope == "read"
                else f"{self.user} is a {self.role}; publishing needs the publisher role"
            )
        elif not self.may_read(name):
            why = f"the token is limited to {', '.join(sorted(self.projects or ()))}"
        else:
            why = f"{self.user} may publish only projects matching {', '.join(self.grants)}"
        raise Forbidden(f"{who} may not publish to project {name!r}: {why}")


def role_rank(role: str) -> int:
    return ROLES.index(role)


def effective_role(user_role: str, scope: str | None) -> str:
    if scope is None:
        return user_role
    return min(user_role, SCOPE_ROLE[scope], key=role_rank)


def record_role(rec: Record) -> str:
    """The role of a stored user record: the highest known one it lists, else reader."""
    roles: list[str] = [r for r in rec.get("roles", []) if r in ROLES] or ["reader"]
    return max(roles, key=role_rank)
