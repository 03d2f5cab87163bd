"""What the console's project page shows of a version, computed once per source file: by
the first page view that finds it missing or stale, and by ``privpi reindex``; never by a
publish, whose S3 requests stay at the protocol's floor (docs/protocol.md).

A version's summary comes from one of its files, its source: a wheel's METADATA (its
``.metadata`` object) when the version has a wheel, else an sdist's PKG-INFO. The stored
summary (keys.console_description) records the source's name and sha256, so a view whose
page lists another source for the version (a wheel published after the sdist, an
overwrite's new bytes) renders and stores it again: the newest upload's description wins
without the publish writing anything here.

The description is rendered by readme_renderer (Markdown, reStructuredText or plain text by
Description-Content-Type), whose output is already cleaned by nh3. Rendering costs CPU far
out of proportion to the source (2 MB of Markdown: 90-127 s), so a source over MAX_SOURCE
is not rendered: the page shows a notice and the start of the raw text, escaped.
"""

from __future__ import annotations

import html
import json
import logging
import warnings
from email.message import Message
from typing import Any

from packaging.metadata import parse_email

from . import keys, stored
from .errors import NotFound, PrivpiError
from .storage import Storage

log = logging.getLogger(__name__)
# Sources above this are not rendered. Rendering cost grows faster than the source (0.5 MB
# of reStructuredText: 40 s of CPU); at this cap the worst shape bench/description_render.py
# tries (reStructuredText nested lists) costs about 3 s of CPU, once per uploaded file.
MAX_SOURCE = 128 * 1024
TRUNCATED = 16 * 1024  # raw text shown of a description over the cap
JSON_TYPE = "application/json"
Summary = dict[str, Any]
Entry = dict[str, Any]  # a file entry of a project page (privpi.index)


def render(text: str, content_type: str | None) -> str:
    """Sanitized HTML for a description, whatever markup it was written in."""
    # readme_renderer loads docutils and markdown: only publishing and reindex pay for it.
    import readme_renderer.rst  # noqa: PLC0415
    import readme_renderer.txt  # noqa: PLC0415

    msg = Message()
    msg["Content-Type"] = content_type or "text/x-rst"
    kind = msg.get_content_type()
    out = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # docutils and renderers warn about the input
        if kind == "text/markdown":
            import readme_renderer.markdown  # noqa: PLC0415 - as above

            variant = msg.get_param("variant") or "GFM"
            out = readme_renderer.markdown.render(text, variant=str(variant))
        elif kind == "text/x-rst":
            out = readme_renderer.rst.render(text)
    if out is None:  # plain text, or markup the renderer could not read
        out = readme_renderer.txt.render(text)
    return str(out)


def _raw(text: str, notice: str) -> Summary:
    shown = text[:TRUNCATED]
    return {"description": f"<pre>{html.escape(shown)}</pre>", "notice": notice}


def describe_description(text: str, content_type: str | None) -> Summary:
    """{"description": sanitized HTML or None, "notice": why it is shown raw, if it is}."""
    if not text.strip():
        return {"description": None, "notice": ""}
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE:
        return _raw(
            text,
            f"The description is {size:,} bytes, over the {MAX_SOURCE:,} bytes rendered; "
            f"its first {TRUNCATED:,} characters are shown as plain text.",
        )
    try:
        return {"description": render(text, content_type), "notice": ""}
    except Exception as e:  # any renderer failure: show the text, not fail
        log.warning("rendering a description failed: %s", e)
        return _raw(text, "The description could not be rendered; it is shown as plain text.")


def summarize(version: str, kind: str, metadata: bytes) -> Summary:
    """Everything the project page shows of a version, from its core metadata."""
    raw, _ = parse_email(metadata)
    return {
        "version": version,
        "source": kind,
        "summary": raw.get("summary", ""),
        "author": raw.get("author") or raw.get("author_email") or "",
        "license": raw.get("license_expression") or raw.get("license", ""),
        "urls": sorted((raw.get("project_urls") or {}).items()),
        "home_page": raw.get("home_page", ""),
        **describe_description(raw.get("description") or "", raw.get("description_content_type")),
    }


def source(files: list[Entry]) -> Entry | None:
    """The file a version's summary comes from: its first wheel (METADATA says at least as
    much as PKG-INFO), else its first sdist."""
    ordered = sorted(files, key=lambda f: (not f["filename"].endswith(".whl"), f["filename"]))
    return ordered[0] if ordered else None


def _origin(entry: Entry) -> dict[str, str]:
    return {"filename": entry["filename"], "sha256": entry["hashes"]["sha256"]}


def render_from(version: str, entry: Entry, metadata: bytes) -> Summary:
    """A version's summary rendered from its source file's core metadata."""
    kind = "wheel" if entry["filename"].endswith(".whl") else "sdist"
    return {**summarize(version, kind, metadata), "from": _origin(entry)}


def store(storage: Storage, project: str, summary: Summary) -> None:
    storage.write(
        keys.console_description(project, summary["version"]),
        json.dumps(summary).encode(),
        content_type=JSON_TYPE,
        cache_control="no-cache",
    )


def _core_metadata(storage: Storage, project: str, entry: Entry) -> bytes:
    """A wheel's .metadata object (one GET); an sdist's PKG-INFO, read by ranges."""
    name = entry["filename"]
    if name.endswith(".whl"):
        return storage.read(keys.metadata_key(project, name)).body
    return stored.inspect_stored(storage, keys.file_key(project, name), name, None).metadata


def for_version(storage: Storage, project: str, version: str, files: list[Entry]) -> Summary:
    """The summary of a version whose page entries are files: the stored one when it came
    from the version's current source file, else rendered now and stored (a failure to
    store is logged: the next view tries again)."""
    entry = source(files)
    if entry is None:
        return {"version": version, "notice": "This version lists no files."}
    kept = load(storage, project, version)
    if kept is not None and kept.get("from") == _origin(entry):
        return kept
    try:
        metadata = _core_metadata(storage, project, entry)
    except (PrivpiError, OSError) as e:
        log.warning("cannot read the metadata of %s: %s", entry["filename"], e)
        return {"version": version, "notice": f"The description cannot be read now ({e})."}
    summary = render_from(version, entry, metadata)
    try:
        store(storage, project, summary)
    except (PrivpiError, OSError) as e:
        log.warning("the console summary of %s %s was not stored: %s", project, version, e)
    return summary


def load(storage: Storage, project: str, version: str) -> Summary | None:
    """The stored summary of a version; None when there is none (or it is unreadable)."""
    try:
        data = json.loads(storage.read(keys.console_description(project, version)).body)
    except NotFound:
        return None
    except (PrivpiError, ValueError) as e:
        log.warning("unreadable console summary of %s %s: %s", project, version, e)
        return None
    return data if isinstance(data, dict) else None
