"""What the console's project page shows of a version, computed once: at publish and by
``privpi reindex``, never on a page view.

The description is rendered by readme_renderer (Markdown, reStructuredText or plain text by
Description-Content-Type), whose output is already cleaned by nh3, and stored with the other
metadata fields the page shows under keys.console_description. Rendering costs CPU far out of
proportion to the source (2 MB of Markdown: 90-127 s), so a source over MAX_SOURCE is not
rendered: the page shows a notice and the start of the raw text, escaped.
"""

from __future__ import annotations

import html
import json
import logging
import warnings
from email.message import Message
from typing import Any

from packaging.metadata import parse_email

from . import keys
from .errors import NotFound, PrivpiError
from .storage import Storage

log = logging.getLogger(__name__)
# Sources above this are not rendered. Rendering cost grows faster than the source (0.5 MB
# of reStructuredText: 40 s of CPU); at this cap the worst shape bench/description_render.py
# tries (reStructuredText nested lists) costs about 3 s of CPU, once, at publish.
MAX_SOURCE = 128 * 1024
TRUNCATED = 16 * 1024  # raw text shown of a description over the cap
JSON_TYPE = "application/json"
Summary = dict[str, Any]


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


def store(
    storage: Storage, project: str, version: str, kind: str, metadata: bytes, replace: bool = False
) -> None:
    """Render and store a version's console summary; a wheel's metadata wins over an sdist's
    (an sdist's PKG-INFO may say less), so an sdist never replaces a wheel's summary unless
    asked (reindex, which knows which files remain)."""
    key = keys.console_description(project, version)
    ours = kind == "wheel" or replace
    if not ours and (load(storage, project, version) or {}).get("source") == "wheel":
        return
    body = json.dumps(summarize(version, kind, metadata)).encode()
    storage.write(key, body, content_type=JSON_TYPE, cache_control="no-cache")


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
