"""What the authenticator knows of project names: which may go to the upstream index, and
which are quarantined (PEP 792: their files are not served).

Standard library only: this module ships in the Lambda@Edge zip.

The private names, the claimed patterns and the quarantined projects all come from the root
index JSON (``packages/simple/index.json``: ``projects``, privpi's ``_claims`` and
``_quarantined``), kept by a
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
    """The private project names, one regular expression for every claimed pattern, and the
    quarantined projects."""

    __slots__ = ("claimed", "private", "quarantined")

    def __init__(
        self,
        private: frozenset[str],
        claimed: re.Pattern[str] | None,
        quarantined: frozenset[str] = frozenset(),
    ) -> None:
        self.private = private
        self.claimed = claimed
        self.quarantined = quarantined


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
    held = doc.get("_quarantined", [])
    if not isinstance(held, list) or not all(isinstance(q, str) for q in held):
        raise ValueError("the root index has an invalid '_quarantined' list")
    return Names(
        frozenset(canonical(p["name"]) for p in projects),
        claims_regex(claims),
        frozenset(canonical(q) for q in held),
    )


class NameCache(StoreCache):
    """The root index's names: to redirect a project page upstream, to refuse a quarantined
    project's files."""

    what = "root index"

    def parse(self, body: bytes) -> Names:
        return parse(body)

    def falls_through(self, name: str) -> bool:
        """True when ``name`` (normalized) is neither private nor claimed; may raise Unavailable."""
        names: Names = self.current()
        if name in names.private:
            return False
        return names.claimed is None or names.claimed.match(name) is None

    def quarantined(self, name: str) -> bool:
        """True when project ``name`` (normalized) is quarantined; may raise Unavailable."""
        names: Names = self.current()
        return name in names.quarantined
