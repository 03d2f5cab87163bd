"""Changing a user's tokens and publishing grants: part of :class:`privpi.users.UserStore`.

Every change goes through the store's one read-modify-write (``_change``), so it has the
same conflict retries, lost-answer handling and audit event as every other user change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import tokens
from .errors import UserConflict, UserStoreError
from .principal import SCOPE_ROLE, Users, record_role, role_rank
from .tokens import TokenInfo, now


class TokensAndGrants:
    """Mixed into UserStore, whose ``_change`` it uses."""

    if TYPE_CHECKING:  # UserStore's, declared for the type checker

        def _change(
            self, mutate: Callable[[Users], None], action: str, name: str, **details: object
        ) -> None: ...

    # -- tokens and grants ------------------------------------------------------

    def create_token(
        self,
        name: str,
        label: str | None = None,
        scope: str = "read",
        projects: list[str] | tuple[str, ...] = (),
        expires_days: int | None = None,
    ) -> tuple[str, TokenInfo]:
        """A new token of ``name``: (the secret, shown once and never stored; its info)."""
        label = tokens.check_label(label) if label else tokens.default_label()
        secret = tokens.new_token()
        tok = tokens.new_record(scope, list(projects), expires_days, now())
        tok["sha256"] = tokens.digest(secret)

        def mutate(users: Users) -> None:
            rec = users.get(name)
            if rec is None:
                raise UserConflict(f"no user named {name!r}")
            role = record_role(rec)
            if role_rank(role) < role_rank(SCOPE_ROLE[scope]):
                raise UserStoreError(
                    f"{name} is a {role}: a {scope} token needs the {SCOPE_ROLE[scope]} "
                    "role (a token never exceeds its user's role)"
                )
            held = rec.setdefault("tokens", {})
            if label in held:
                raise UserConflict(f"{name} already has a token labelled {label!r}")
            held[label] = tok

        details = {k: tok[k] for k in ("scope", "projects", "expires")}
        self._change(mutate, "token.create", name, label=label, **details)
        return secret, tokens.info(name, label, tok)

    def revoke_token(self, name: str, label: str) -> None:
        def mutate(users: Users) -> None:
            if name not in users:
                raise UserConflict(f"no user named {name!r}")
            if label not in (users[name].get("tokens") or {}):
                raise UserConflict(f"{name} has no token labelled {label!r}")
            del users[name]["tokens"][label]

        self._change(mutate, "token.revoke", name, label=label)

    def grant(self, name: str, pattern: str) -> str:
        """Let ``name`` publish projects matching ``pattern`` (normalized, returned)."""
        pattern = tokens.check_pattern(pattern)

        def mutate(users: Users) -> None:
            if name not in users:
                raise UserConflict(f"no user named {name!r}")
            grants = users[name].setdefault("grants", [])
            if pattern not in grants:
                grants.append(pattern)

        self._change(mutate, "user.grant", name, pattern=pattern)
        return pattern

    def ungrant(self, name: str, pattern: str) -> str:
        pattern = tokens.check_pattern(pattern)

        def mutate(users: Users) -> None:
            if name not in users:
                raise UserConflict(f"no user named {name!r}")
            grants = users[name].get("grants") or []
            if pattern not in grants:
                raise UserConflict(f"{name} has no grant {pattern!r}")
            grants.remove(pattern)

        self._change(mutate, "user.ungrant", name, pattern=pattern)
        return pattern
