"""Project status (PEP 792) and the project a page tracks (PEP 708): page mutations.

Both live in the project JSON (the source of truth; the HTML is rendered from it) and change
through the same conditional commit as every publish (``index.update_project``), so a status
change racing an upload is decided on the page the upload commits to: an upload refused by
an archived or quarantined status is refused at its commit (``refuse_uploads``).

- ``project-status``: ``{"status": ..., "reason": ...}`` (reason only when given), absent
  for an active project, so a project moved back to active has the page it had before.
- quarantined: the page lists no files; their entries wait in the page's private
  ``_held`` list (the bytes stay where they are), and the root's ``_quarantined`` list
  makes the authenticator (and ``privpi serve``) answer 404 for the files
  (``edge.viewer_request``). Moving to any other status lists them again.
- ``meta.tracks``: ``[URL]``, the page of the upstream project this one follows (PEP 708
  puts it in ``meta``); absent when cleared.

``privpi reindex`` keeps both from the current page; when that page is lost it replays the
last ``status`` and ``tracks`` events of the audit log (``privpi.reindex``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from . import audit, index
from .errors import ValidationError
from .statuses import EFFECTS as EFFECTS  # re-exported: the console uses both
from .statuses import NO_UPLOADS
from .statuses import STATUSES as STATUSES
from .storage import Storage

MAX_REASON = 300
MAX_URL = 1000
Page = dict[str, Any]


def status_of(page: Page | None) -> str:
    marker = (page or {}).get("project-status")
    return marker["status"] if isinstance(marker, dict) else "active"


class UploadsClosed(ValidationError):
    """The project's status accepts no uploads."""


def refuse_uploads(page: Page | None, project: str) -> None:
    """UploadsClosed (one sentence) when the page's status accepts no uploads."""
    status = status_of(page)
    if status in NO_UPLOADS:
        raise UploadsClosed(f"project {project} is {status}: it accepts no new uploads")


def check_status(status: str, reason: str) -> str:
    """The reason, trimmed; ValidationError naming what is wrong."""
    if status not in STATUSES:
        raise ValidationError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
    reason = reason.strip()
    if len(reason) > MAX_REASON or not reason.isprintable():
        raise ValidationError(f"the reason must be one printable line of at most {MAX_REASON}")
    if reason and status == "active":
        raise ValidationError("an active project has no status reason")
    return reason


def check_tracks(url: str) -> str:
    """An absolute http(s) URL without credentials; ValidationError otherwise."""
    parts = urlsplit(url)
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or parts.username is not None
        or len(url) > MAX_URL
        or not url.isprintable()
        or " " in url
    ):
        raise ValidationError(f"invalid tracks URL {url!r}: an http(s) URL without credentials")
    return url


def with_status(page: Page, status: str, reason: str = "") -> Page:
    """page with status set; its files held while quarantined, listed again after."""
    page = {k: v for k, v in page.items() if k != "project-status"}
    if status != "active":
        page["project-status"] = {"status": status, **({"reason": reason} if reason else {})}
    held = page.pop("_held", [])
    files = page["files"] + held
    if status == "quarantined":
        page["files"], page["_held"] = [], files
    else:
        page["files"] = files
    return page


def as_marked(page: Page) -> Page:
    """page with its files listed or held as its own status says (reindex rebuilds both)."""
    marker = page.get("project-status") or {}
    return with_status(page, status_of(page), marker.get("reason", ""))


def with_tracks(page: Page, url: str | None) -> Page:
    """page with meta.tracks (PEP 708 puts it in the JSON's meta) set, or removed."""
    meta = {k: v for k, v in page.get("meta", {}).items() if k != "tracks"}
    return {**page, "meta": {**meta, "tracks": [url]} if url else meta}


def _existing(project: str, change: Callable[[Page], Page]) -> Callable[[Page], Page]:
    """change, refused when the project has no page."""

    def apply(page: Page) -> Page:
        if "_serial" not in page and not page["files"] and not page.get("_held"):
            raise ValidationError(f"there is no project named {project}")
        return change(page)

    return apply


def set_status(
    storage: Storage, project: str, status: str, reason: str = "", actor: str | None = None
) -> Page:
    """Give project a status in one page commit; the root follows; one audit event."""
    project = canonicalize_name(project)
    reason = check_status(status, reason)
    change = _existing(project, lambda page: with_status(page, status, reason))
    _before, after = index.update_project(storage, project, change, repair=True)
    assert after is not None
    index.sync_root(storage, project, after)
    audit.record(storage, "status", actor, project=project, status=status, reason=reason)
    return after


def set_tracks(storage: Storage, project: str, url: str | None, actor: str | None = None) -> Page:
    """Set (or, url None, clear) the project page project tracks; one audit event."""
    project = canonicalize_name(project)
    url = check_tracks(url) if url else None
    change = _existing(project, lambda page: with_tracks(page, url))
    _before, after = index.update_project(storage, project, change, repair=True)
    assert after is not None
    audit.record(storage, "tracks", actor, project=project, url=url)
    return after
