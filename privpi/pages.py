"""Render the PEP 503 HTML pages from the PEP 691 JSON dicts, through autoescaping templates.

One data path: the JSON dict is the truth and the HTML is rendered from it, never edited or
parsed back. Output is deterministic: the same dict always gives the same bytes.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value is escaped, attribute values included
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def project_html(page: dict[str, Any]) -> bytes:
    """The PEP 503 project page (with PEP 592, 658, 714 attributes) for a project dict."""
    return _env().get_template("project.html").render(page=page).encode()


def root_html(root: dict[str, Any]) -> bytes:
    """The PEP 503 root page listing every project."""
    return _env().get_template("root.html").render(root=root).encode()
