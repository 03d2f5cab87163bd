"""Yanking (PEP 592): mark every file of a version yanked, or not, in one page commit.

A project or version that is not there is refused by the change itself, on the page as it
is at the commit (index.commit), so a yank racing a delete never writes a stale page.
"""

from __future__ import annotations

from packaging.utils import canonicalize_name

from . import audit, index
from .errors import ValidationError
from .index import Doc
from .storage import Storage


def _set_yanked(
    storage: Storage,
    project: str,
    version: str,
    value: str | bool,
    action: str,
    actor: str | None,
    **details: object,
) -> list[str]:
    project = canonicalize_name(project)
    changed: list[str] = []

    def change(page: Doc) -> Doc:
        if not page["files"] and not page.get("_deleted"):
            raise ValidationError(f"there is no project named {project}")
        matches = index.find_files(page, version=version)
        if not matches:
            raise ValidationError(f"project {project} has no version {version}")
        changed[:] = [f["filename"] for f in matches]
        for entry in matches:
            entry["yanked"] = value
        return page

    index.update_project(storage, project, change, repair=True)  # a no-op: check the HTML
    audit.record(storage, action, actor, project=project, version=version, **details)
    return changed


def yank(
    storage: Storage, project: str, version: str, reason: str = "", actor: str | None = None
) -> list[str]:
    """Mark every file of a version yanked (PEP 592); pip then skips it unless pinned."""
    return _set_yanked(storage, project, version, reason or True, "yank", actor, reason=reason)


def unyank(storage: Storage, project: str, version: str, actor: str | None = None) -> list[str]:
    return _set_yanked(storage, project, version, False, "unyank", actor)
