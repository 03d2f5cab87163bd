"""Upstream fall-through: which project names the authenticator may send to the upstream index.

Standard library only: this module ships in the Lambda@Edge zip.

The private names and the claimed patterns both come from the root index JSON
(``packages/simple/index.json``: ``projects`` and privpi's ``_claims``), kept by a
``StoreCache`` exactly as the user store is: refreshed by ETag at most once per interval,
and Unavailable (the handler answers 503) when there is no good copy. A name falls through
only when it is neither private nor claimed: whatever upstream has under a private or
claimed name is never reached from here.
"""

from __future__ import annotations

import json
import re

from edge.paths import canonical
from edge.userstore import StoreCache


class Names:
    """The private project names and one regular expression for every claimed pattern."""

    __slots__ = ("claimed", "private")

    def __init__(self, private: frozenset[str], claimed: re.Pattern[str] | None) -> None:
        self.private = private
        self.claimed = claimed


def claims_regex(patterns: list[str]) -> re.Pattern[str] | None:
    """One expression matching a normalized name against every pattern ('*': anything)."""
    if not patterns:
        return None
    alternatives = (".*".join(map(re.escape, canonical(p).split("*"))) for p in patterns)
    return re.compile("(?:" + "|".join(alternatives) + r")\Z")


def parse(body: bytes) -> Names:
    """The names in a root index JSON; ValueError when it is not one."""
    doc = json.loads(body)
    projects = doc.get("projects") if isinstance(doc, dict) else None
    claims = doc.get("_claims", []) if isinstance(doc, dict) else None
    if not isinstance(projects, list) or not all(
        isinstance(p, dict) and isinstance(p.get("name"), str) for p in projects
    ):
        raise ValueError("the root index has no valid 'projects' list")
    if not isinstance(claims, list) or not all(isinstance(c, str) for c in claims):
        raise ValueError("the root index has an invalid '_claims' list")
    return Names(frozenset(canonical(p["name"]) for p in projects), claims_regex(claims))


class NameCache(StoreCache):
    """The root index's names, for the decision to redirect a project page upstream."""

    what = "root index"

    def parse(self, body: bytes) -> Names:
        return parse(body)

    def falls_through(self, name: str) -> bool:
        """True when ``name`` (normalized) is neither private nor claimed; may raise Unavailable."""
        names: Names = self.current()
        if name in names.private:
            return False
        return names.claimed is None or names.claimed.match(name) is None
