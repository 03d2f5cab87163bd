"""The public URL space: normalization, and the key each path maps to.

Standard library only: this module ships in the Lambda@Edge zip.

Everything is decided on the *normalized* path: percent-decoded exactly once, backslashes
read as slashes, repeated slashes collapsed, dot segments resolved. A path with control
characters, malformed escapes, invalid UTF-8 or a character no project or file name uses
is refused outright; whatever is left can only map to a key under ``packages/``.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from edge import negotiation

MAX_URI = 1024  # longer than any real project URL; bounds the work per request
MAX_NAME = 255  # a file name on every file system; no real project or file is longer
JSON_TYPE = negotiation.JSON_V1

# What a decoded path segment may hold: PEP 508 names and distribution filenames only.
# '%' is excluded on purpose: it can only come from a double encoding.
SEGMENT = re.compile(r"^[A-Za-z0-9._+!~-]+$")
PROJECT = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
HEX = "0123456789abcdefABCDEF"


class Refused(ValueError):
    """The path is malformed (400) or names nothing the index serves (404)."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status


class Route:
    """Where a normalized path goes: an index page, a file, or a redirect."""

    __slots__ = ("kind", "path")  # a plain class: dataclasses would add to the cold start

    def __init__(self, kind: str, path: str):
        self.kind = kind  # "index" | "file" | "redirect"
        self.path = path  # the normalized public path, or the redirect target

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Route) and (self.kind, self.path) == (other.kind, other.path)

    def __repr__(self) -> str:
        return f"Route({self.kind!r}, {self.path!r})"


def canonical(name: str) -> str:
    """PEP 503 normalization of a project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _percent_decode(raw: str) -> str:
    """Decode %XX escapes once, strictly: a stray '%' or invalid UTF-8 is refused."""
    if not raw.isascii():
        raise Refused("400", "non-ASCII characters in the URI")
    if "%" not in raw:
        return raw
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "%":
            pair = raw[i + 1 : i + 3]
            if len(pair) != 2 or pair[0] not in HEX or pair[1] not in HEX:
                raise Refused("400", "malformed percent escape")
            out.append(int(pair, 16))
            i += 3
        else:
            out.append(ord(c))
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("400", "percent escapes that are not UTF-8") from None


def normalize(uri: object) -> str:
    """The canonical absolute path for a raw request URI path; Refused if unsafe."""
    if not isinstance(uri, str) or not uri.startswith("/") or len(uri) > MAX_URI:
        raise Refused("400", "the URI must be an absolute path of reasonable length")
    path = _percent_decode(uri)
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise Refused("400", "control characters in the URI")
    segments: list[str] = []
    for seg in path.replace("\\", "/").split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if not segments:
                raise Refused("400", "the URI climbs above the root")
            segments.pop()
        elif not SEGMENT.match(seg):
            raise Refused("400", "a character no project or file name uses")
        else:
            segments.append(seg)
    trailing = path.endswith(("/", "\\")) or path.endswith(("/.", "/..")) or not segments
    return "/" + "/".join(segments) + ("/" if trailing and segments else "")


def route(path: str) -> Route:
    """Map a normalized path to an index page, a file or a redirect (Refused: 404)."""
    parts = path.strip("/").split("/") if path != "/" else []
    if any(len(p) > MAX_NAME for p in parts):
        raise Refused("404", "a name longer than any project or file")
    slash = path.endswith("/")
    if parts[:1] == ["simple"] and len(parts) <= 2:
        if len(parts) == 1:
            return Route("index", "/simple/") if slash else Route("redirect", "/simple/")
        name = parts[1]
        if not PROJECT.match(name):
            raise Refused("404", "not a project name")
        target = f"/simple/{canonical(name)}/"
        if name != canonical(name) or not slash:
            return Route("redirect", target)
        return Route("index", target)
    if parts[:1] == ["files"] and len(parts) == 3 and not slash:
        name, filename = parts[1], parts[2]
        if not PROJECT.match(name) or filename.startswith("."):
            raise Refused("404", "not a distribution file")
        if name != canonical(name):
            return Route("redirect", f"/files/{canonical(name)}/{filename}")
        return Route("file", path)
    raise Refused("404", "nothing is served at this path")


def project_of(r: Route) -> str | None:
    """The normalized project an index page or file belongs to; None for the root list."""
    parts = r.path.strip("/").split("/")
    return parts[1] if r.kind in ("index", "file") and len(parts) >= 2 else None


def origin_uri(r: Route, fmt: str) -> str:
    """The request URI for the origin: the key under packages/, percent-encoded once."""
    if r.kind == "index":
        key = f"/packages{r.path}index.{fmt}"
    elif r.kind == "file":
        key = f"/packages{r.path}"
    else:
        raise ValueError(f"no origin URI for a {r.kind} route")
    # The origin decodes the URI once: encode everything but unreserved characters.
    return quote(key, safe="/-._~")


def negotiate(accept: str | None, query: str | None = None) -> str | None:
    """The index page format for Accept and the query: 'json', 'html', or None (406)."""
    served = negotiation.choose(accept, query)
    return None if served is None else "json" if served == negotiation.JSON_V1 else "html"
