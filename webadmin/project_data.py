"""Turning a project's PEP 691 JSON and core metadata into what the project page shows.

The description is rendered by readme_renderer (Markdown, reStructuredText or plain text by
Description-Content-Type), whose output is already cleaned by nh3; every other metadata
field reaches the page as text through Jinja's autoescaping.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from markupsafe import Markup
from packaging.metadata import parse_email

from privpi import index as repo_index
from privpi.errors import PrivpiError
from privpi.index import version_key
from privpi.storage import Storage

log = logging.getLogger(__name__)
# An sdist's PKG-INFO is read from the whole archive: not for a page view of a huge one.
Entry = dict[str, Any]  # a file entry of a project page (privpi.index)
MAX_SDIST_FOR_METADATA = 20 * 1024 * 1024


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


def render_description(text: str, content_type: str | None) -> Markup:
    """Sanitized HTML for a description, whatever markup it was written in."""

    # the console's Lambda cold start and every other page skip it.
    import readme_renderer.rst  # noqa: PLC0415
    import readme_renderer.txt  # noqa: PLC0415

    msg = Message()
    msg["Content-Type"] = content_type or "text/x-rst"
    kind = msg.get_content_type()
    html = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # docutils and renderers warn about the input
        if kind == "text/markdown":
            import readme_renderer.markdown  # noqa: PLC0415 - as above, only when asked for

            variant = msg.get_param("variant") or "GFM"
            html = readme_renderer.markdown.render(text, variant=str(variant))
        elif kind == "text/x-rst":
            html = readme_renderer.rst.render(text)
    if html is None:  # plain text, or markup the renderer could not read
        html = readme_renderer.txt.render(text)
    return Markup(html)  # noqa: S704 - readme_renderer cleaned it with nh3


def describe(storage: Storage, project: str, versions: list[VersionInfo]) -> dict[str, Any]:
    """Summary, author, links and rendered description of the current version."""

    chosen = current(versions)
    if chosen is None or not chosen.files:
        return {}
    wheels = [f for f in chosen.files if f.get("filename", "").endswith(".whl")]
    small = [f for f in chosen.files if (f.get("size") or 0) <= MAX_SDIST_FOR_METADATA]
    if not (wheels or small):
        return {"version": chosen.version}
    filename = (wheels or small)[0]["filename"]
    try:
        raw, _ = parse_email(repo_index.core_metadata(storage, project, filename))
    except (PrivpiError, ValueError) as e:
        log.warning("no metadata for %s %s: %s", project, filename, e)
        return {"version": chosen.version}
    description = raw.get("description") or ""
    return {
        "version": chosen.version,
        "summary": raw.get("summary", ""),
        "author": raw.get("author") or raw.get("author_email") or "",
        "license": raw.get("license_expression") or raw.get("license", ""),
        "urls": sorted((raw.get("project_urls") or {}).items()),
        "home_page": raw.get("home_page", ""),
        "description": render_description(description, raw.get("description_content_type"))
        if description.strip()
        else None,
    }
