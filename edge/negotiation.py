"""PEP 691 content negotiation for index pages: the Accept header and the ``format`` parameter.

Standard library only: this module ships in the Lambda@Edge zip.

``choose`` answers the media type to serve (one of ``SERVED``), or None for 406 Not
Acceptable: an Accept that names none of the served types, a wildcard included, and is
neither absent nor empty. A ``format`` query parameter, when given, wins over Accept, as
PEP 691 says (https://peps.python.org/pep-0691/#alternative-negotiation-mechanism): it
names exactly one type, without wildcards or qualities; one we do not serve is 406 too.
"""

from __future__ import annotations

from urllib.parse import unquote

MAX_ACCEPT = 1024  # longer than any real client sends; bounds the work per request
MAX_QUERY = 1024
JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
SERVED = (JSON_V1, HTML_V1, TEXT_HTML)  # for the 406 body, and in this order of preference
# What a client may name, and the media type it gets for it.
ALIASES = {
    JSON_V1: JSON_V1,
    "application/vnd.pypi.simple.latest+json": JSON_V1,
    HTML_V1: HTML_V1,
    "application/vnd.pypi.simple.latest+html": HTML_V1,
    TEXT_HTML: TEXT_HTML,
    "text/*": TEXT_HTML,
    "*/*": TEXT_HTML,
}
RANK = {JSON_V1: 2, HTML_V1: 1, TEXT_HTML: 0}  # on a tie the richer answer wins


def not_acceptable_body() -> str:
    return "406 Not Acceptable: this index serves " + ", ".join(SERVED) + "\n"


def choose(accept: str | None, query: str | None = None) -> str | None:
    """The media type to answer with, or None (406)."""
    wanted = format_parameter(query)
    if wanted is not None:
        return ALIASES.get(wanted) if "*" not in wanted else None
    if accept is None or not accept.strip():
        return TEXT_HTML  # no preference: HTML, which every client reads
    if len(accept) > MAX_ACCEPT:
        return None
    best: tuple[float, int, str] | None = None
    for item in accept.split(","):
        fields = item.strip().split(";")
        served = ALIASES.get(fields[0].strip().lower())
        q = _quality(fields[1:])
        if served is None or q <= 0:
            continue
        candidate = (q, RANK[served], served)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best else None


def format_parameter(query: str | None) -> str | None:
    """The ``format`` query parameter, lowercased; None when absent (or the query is junk)."""
    if not query or len(query) > MAX_QUERY:
        return None
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == "format":
            # unquote, not unquote_plus: the '+' in the media types is meant literally.
            return unquote(value).strip().lower()
    return None


def _quality(params: list[str]) -> float:
    for p in params:
        k, _, v = p.strip().partition("=")
        if k.strip().lower() == "q":
            try:
                q = float(v.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0
