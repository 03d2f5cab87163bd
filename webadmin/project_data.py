"""Turning a project's PEP 691 JSON and its stored console summary into what the project
page shows.

The description is rendered and sanitized once per source file, by the first view that needs
it or by privpi reindex (privpi.descriptions); every other metadata field reaches the page as
text through Jinja's autoescaping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from privpi import descriptions
from privpi.index import version_key
from privpi.storage import Storage

Entry = dict[str, Any]  # a file entry of a project page (privpi.index)


@dataclass
class VersionInfo:
    version: str
    files: list[Entry] = field(default_factory=list)

    @property
    def yanked(self) -> bool:
        return all(f.get("yanked") for f in self.files)

    @property
    def yank_reason(self) -> str:
        reasons = {f["yanked"] for f in self.files if isinstance(f.get("yanked"), str)}
        return "; ".join(sorted(r for r in reasons if r))

    @property
    def requires_python(self) -> str:
        return next((f["requires-python"] for f in self.files if f.get("requires-python")), "")


def group_versions(files: list[Entry]) -> list[VersionInfo]:
    """Files grouped by version, newest version first, files by name within one."""
    by_version: dict[str, VersionInfo] = {}
    for f in files:
        v = str(f.get("_version") or "?")
        by_version.setdefault(v, VersionInfo(v)).files.append(f)
    for info in by_version.values():
        info.files.sort(key=lambda f: f.get("filename", ""))
    return sorted(by_version.values(), key=lambda i: version_key(i.version), reverse=True)


def current(versions: list[VersionInfo]) -> VersionInfo | None:
    """The version whose description the page shows: the newest one not yanked."""
    return next((v for v in versions if not v.yanked), versions[0] if versions else None)


def describe(storage: Storage, project: str, versions: list[VersionInfo]) -> dict[str, Any]:
    """Summary, author, links and description of the current version: the stored summary
    when it came from the version's current source file (one small object, no rendering),
    else rendered from that file's metadata now and stored for the next view."""
    chosen = current(versions)
    if chosen is None or not chosen.files:
        return {}
    about = descriptions.for_version(storage, project, chosen.version, chosen.files)
    html = about.get("description")
    return {**about, "version": chosen.version, "description": Markup(html) if html else None}  # noqa: S704 - sanitized by readme_renderer, or escaped raw text
