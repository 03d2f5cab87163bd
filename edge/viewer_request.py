"""The CloudFront viewer-request authenticator: ``viewer_request.handler``.

Returns the request rewritten into the ``packages/`` key space (Authorization header and
query string removed) for valid credentials of an enabled user, or a generated response:
301 to the normalized URL, 400/404 for paths outside the index, 401 with a Basic
challenge, 403 for a page or file of a project a token is not limited to (the root list
stays visible), 405 for methods other than GET and HEAD, 406 for an index page asked for in
no type it serves (``edge.negotiation``), 503 when the user store is
unreadable. It never raises: anything unexpected is answered with 503 (fail closed).

With an upstream index (``upstream`` in config.json), a project page whose name is neither
private nor claimed answers 302 to the upstream's page for it, and that name's files 404
(``edge.upstream``); 503 when the names cannot be read. 302, not 307: the handler lets only
GET and HEAD through, which every client keeps across a 302 (307's one addition), and
every client since HTTP/1.0 follows it; not 301/308: the answer changes with the next
upload or claim, so nothing may keep it.

A quarantined project's files (PEP 792: the index must not offer them) answer 404: the
root index JSON this handler already caches for the upstream decision lists them
(``_quarantined``), so the check costs a set lookup per file request and one conditional
GET of the root per refresh interval, and needs no file moved in the bucket; 503 when the
root cannot be read (fail closed). Its project page lists no files (privpi.status).

In Lambda@Edge (no environment variables) the settings come from ``config.json`` baked
into the zip beside this file; ``privpi serve`` calls ``configure`` with its own store.
With config.json present, the store is set up and read at import time: that is Lambda's
init phase, which has a 10 s limit of its own
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html), so the
first request has only its password hash left to do within the 5 s viewer-request limit.
"""

from __future__ import annotations

import json
import os

from edge import basic_auth, negotiation, paths
from edge.s3source import S3Source
from edge.upstream import NameCache
from edge.userstore import Unavailable, UserCache, log

TYPE_CHECKING = False  # typing costs cold-start time: annotations only (mypy reads this)
if TYPE_CHECKING:
    from typing import Any

    Json = dict[str, Any]  # a CloudFront event, request or generated response

CONFIG_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.json")
REASONS = {
    "301": "Moved Permanently",
    "302": "Found",
    "400": "Bad Request",
    "401": "Unauthorized",
    "403": "Forbidden",
    "404": "Not Found",
    "405": "Method Not Allowed",
    "406": "Not Acceptable",
    "503": "Service Unavailable",
}

TEXT_HTML = negotiation.TEXT_HTML
SERVED_HEADER = "x-privpi-served-type"
_state: Json = {}


def configure(
    store: UserCache | None,
    realm: str = "privpi",
    upstream: str | None = None,
    names: NameCache | None = None,
) -> None:
    """Install the user store and realm (``privpi serve``, tests); None: read config.json.

    names: the root index's cache (quarantined projects; private and claimed names);
    upstream: the upstream index URL (ending in '/'), which needs ``names``.
    """
    _state.clear()
    if store is not None:
        _state.update(store=store, realm=realm, upstream=upstream, names=names)


def _settings() -> tuple[UserCache, str]:
    if "store" not in _state:  # config.json was missing or unreadable at import time
        _load_config()
    return _state["store"], _state["realm"]


def _load_config() -> None:
    with open(CONFIG_FILE, encoding="utf-8") as f:
        cfg = json.load(f)
    source = S3Source(cfg["bucket"], cfg["region"], cfg["users_key"])
    names_key = cfg.get("names_key")  # every build writes it; upstream only when given
    names = NameCache(S3Source(cfg["bucket"], cfg["region"], names_key)) if names_key else None
    _state.update(
        store=UserCache(source),
        realm=cfg.get("realm", "privpi"),
        upstream=cfg.get("upstream"),
        names=names,
    )


def respond(status: str, headers: dict[str, str] | None = None, body: str = "") -> Json:
    """A CloudFront generated response."""
    hdrs = {"cache-control": "no-store", "content-type": "text/plain; charset=utf-8"}
    hdrs.update(headers or {})
    return {
        "status": status,
        "statusDescription": REASONS[status],
        "headers": {k: [{"key": _title(k), "value": v}] for k, v in hdrs.items()},
        "body": body or f"{status} {REASONS[status]}\n",
    }


def _title(name: str) -> str:
    return "WWW-Authenticate" if name == "www-authenticate" else name.title()


def challenge(realm: str) -> str:
    """A Basic challenge asking for UTF-8 credentials (RFC 7617 section 2.1)."""
    return 'Basic realm="' + realm.replace("\\", "").replace('"', "") + '", charset="UTF-8"'


def handler(event: Json, context: object = None) -> Json:
    try:
        request = event["Records"][0]["cf"]["request"]
    except (KeyError, IndexError, TypeError):
        return respond("400")
    try:
        return decide(request)
    except Exception:  # never let CloudFront see an exception: refuse instead
        import traceback  # noqa: PLC0415 - only on this rare path: it costs cold-start time

        log("viewer-request handler failed: " + traceback.format_exc().replace("\n", " | "))
        return respond("503", {"retry-after": "5"})


def decide(request: Json) -> Json:
    try:
        route = paths.route(paths.normalize(request.get("uri")))
    except paths.Refused as e:
        return respond(e.status)
    if request.get("method") not in ("GET", "HEAD"):
        return respond("405", {"allow": "GET, HEAD"})
    store, realm = _settings()
    creds = basic_auth.credentials(request.get("headers"))
    try:
        readable = store.access(*creds) if creds else None
    except Unavailable:
        return respond("503", {"retry-after": "5"})
    if readable is None:
        return respond("401", {"www-authenticate": challenge(realm)})
    if route.kind == "redirect":
        return respond("301", {"location": route.path})
    if route.kind == "file" and _state.get("names") is not None:
        try:
            if _state["names"].quarantined(route.path.split("/")[2]):
                return respond("404")
        except Unavailable:
            return respond("503", {"retry-after": "5"})
    if _state.get("upstream"):
        answer = _fall_through(route)
        if answer is not None:
            return answer
    # After the upstream fall-through: a name that goes upstream is no project of this
    # index, so a project-limited token (CI) still gets its public dependencies there.
    project = paths.project_of(route)
    if project is not None and project not in readable:
        return respond("403", body=f"403 Forbidden: this token does not cover {project}\n")
    served = _negotiate(request, route)
    if served is None:
        return respond("406", {"vary": "Accept"}, negotiation.not_acceptable_body())
    request["uri"] = paths.origin_uri(route, "json" if served == negotiation.JSON_V1 else "html")
    request["querystring"] = ""
    request["headers"].pop("authorization", None)
    return request


def _negotiate(request: Json, route: paths.Route) -> str | None:
    """The media type for an index page (None: 406); files are not negotiated. The type
    goes along in a header for privpi serve to answer with (S3 ignores it)."""
    if route.kind != "index":
        return TEXT_HTML
    accept = basic_auth.header_values(request.get("headers"), "accept")
    joined = accept[0] if len(accept) == 1 else ",".join(accept) if accept else None
    served = negotiation.choose(joined, request.get("querystring"))
    if served is not None:
        request["headers"][SERVED_HEADER] = [{"key": SERVED_HEADER, "value": served}]
    return served


def _fall_through(route: paths.Route) -> Json | None:
    """302 upstream for a project page whose name is neither private nor claimed, 404 for
    such a name's files, 503 when the names cannot be read; None: serve it from here."""
    name = route.path.split("/")[2]  # /simple/NAME/ or /files/NAME/FILE; '' for /simple/
    if not name:
        return None
    try:
        through = _state["names"].falls_through(name)
    except Unavailable:
        return respond("503", {"retry-after": "5"})
    if not through:
        return None
    if route.kind == "file":
        return respond("404")
    return respond("302", {"location": _state["upstream"] + name + "/"})


if os.path.exists(CONFIG_FILE):  # in the Lambda zip: the init phase does what it can
    try:
        _load_config()
        for cache in (_state["store"], _state["names"]):
            if cache is not None:
                cache.prime()
    except Exception as e:  # the first request tries again, and answers 503 if it fails
        _state.clear()
        log(f"init: {type(e).__name__}: {e}")
