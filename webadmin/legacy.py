"""``POST /legacy/``: the upload API twine and ``uv publish`` speak (PyPI's legacy upload).

A multipart form with ``:action=file_upload``, the file in ``content`` and its digests.
Credentials are HTTP Basic (a password, or a token with user name ``__token__`` or its
owner's), read as UTF-8 or else Latin-1 (privpi.basicauth) and checked with
``UserStore.authenticate`` on every request (no session, hence no CSRF token); the
Principal it gives decides, per project, whether this upload may go in (403 naming the
project otherwise). Statuses follow PyPI so clients react as they do there: 401 asks for
credentials, 403 is a missing role or right, 400 carries any refusal in the reason phrase (twine
shows it), "File already exists" with 400 is what ``twine upload --skip-existing``
recognizes, an identical re-upload answers 200 as PyPI does, 413 names the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tempfile
from collections.abc import Callable
from typing import IO, Protocol

from flask import Response, current_app, request
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from privpi import basicauth, intake
from privpi.distributions import Filename, parse_filename
from privpi.errors import PrivpiError
from privpi.principal import Principal
from privpi.tokens import TOKEN_USER
from privpi.units import human_size

from .auth import login_throttles
from .extensions import storage, store_reader


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


# On Lambda a whole request must fit a synchronous invocation's payload: 6 MB ("Invocation
# payload (request and response)", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html;
# 6 MiB in Lambda's own refusals). API Gateway passes the body base64-encoded (Zappa's
# binary_support), 4 bytes for every 3, inside a JSON event that also carries the headers
# and the request context. What is left for the request body, file and form together:
LAMBDA_PAYLOAD = 6 * 1024 * 1024
EVENT_OVERHEAD = 64 * 1024  # headers, request context and JSON around the body, generously
LAMBDA_REQUEST_LIMIT = (LAMBDA_PAYLOAD - EVENT_OVERHEAD) * 3 // 4  # 4,669,440 bytes (4.45 MiB)
FORM_SLACK = 1024 * 1024  # the other form fields (a long description) beside the file
FORM_PARTS = 1000
CHUNK = 1024 * 1024
# form field -> hashlib constructor; every one the form gives is checked
DIGESTS: dict[str, Callable[[], _Hasher]] = {
    "sha256_digest": hashlib.sha256,
    "blake2_256_digest": lambda: hashlib.blake2b(digest_size=32),
}


def on_lambda() -> bool:
    return bool(current_app.config["ON_LAMBDA"])  # privpi.settings: Lambda's own variable


def legacy_max_size() -> int:
    """The largest file /legacy/ takes: the console's limit, and on Lambda no more than
    its payload carries."""
    limit = int(current_app.config["MAX_UPLOAD_BYTES"])
    return min(limit, LAMBDA_REQUEST_LIMIT) if on_lambda() else limit


def request_limit(file_limit: int) -> int:
    """The largest request body (file and form): on Lambda, what its payload carries. A
    larger one never reaches the function there; API Gateway refuses it itself (a 5xx)."""
    return LAMBDA_REQUEST_LIMIT if on_lambda() else file_limit + FORM_SLACK


def plain(message: str, status: int, **headers: str) -> Response:
    """The message in the reason phrase (twine prints it) and in the body (uv prints it).

    The message may quote the client's own form values: in the reason phrase every
    character that is not printable (NUL, CR, LF, other controls) becomes "?", so none
    reaches the status line."""
    words = " ".join(message.split())
    reason = "".join(c if c.isprintable() else "?" for c in words)
    reason = reason.encode("latin-1", "replace").decode("latin-1")
    resp = Response(message + "\n", mimetype="text/plain", headers=headers)
    resp.status = f"{status} {reason[:400]}"
    return resp


def too_large(size: int, limit: int) -> Response:
    where = " on AWS Lambda (its 6 MB payload, base64-encoded)" if on_lambda() else ""
    return plain(
        f"This upload is {human_size(size)}, over the {human_size(limit)} "
        f"limit of /legacy/{where}; upload larger files in the console's /upload page or "
        "with `privpi upload`",
        413,
    )


def legacy_upload() -> Response:
    if _from_a_browser_page():
        return plain(
            "/legacy/ takes uploads from twine and uv publish, not from web pages; "
            "use the console's /upload page in a browser",
            403,
        )
    principal, refusal = _authenticate()
    if refusal is not None:
        return refusal
    assert principal is not None  # _authenticate gives one or the other
    limit = legacy_max_size()
    body_limit = request_limit(limit)
    # Refuse an oversized body before reading it; without a length, stop while parsing.
    if request.content_length is not None and request.content_length > body_limit:
        return too_large(request.content_length, limit)
    request.max_content_length = body_limit
    request.max_form_memory_size = FORM_SLACK  # a long description, in one text part
    request.max_form_parts = FORM_PARTS  # twine sends each classifier as a part
    try:
        return _upload(principal, limit)
    except RequestEntityTooLarge:
        return too_large(request.content_length or body_limit, limit)
    except PrivpiError as e:
        return plain(e.message, int(getattr(e, "status", 400)))


def _from_a_browser_page() -> bool:
    """A form POST sent by a web page, which could replay Basic credentials a browser holds.

    Browsers mark every such request (Origin, Sec-Fetch-Site); twine and uv send neither.
    """
    site = request.headers.get("Sec-Fetch-Site")
    return "Origin" in request.headers or (site is not None and site != "none")


def _authenticate() -> tuple[Principal, None] | tuple[None, Response]:
    """Who these Basic credentials are (a publisher, or a publish token), or the refusal.

    Failures count against the console's sign-in throttles, so /legacy/ is no way around
    the rate limit on /login. Guessing a 256-bit token is hopeless, so failures with the
    shared user name ``__token__`` count per address only: a stranger's bad tokens must
    not lock every CI job out.
    """
    creds = basicauth.credentials(request.headers.get("Authorization"))
    challenge = {"WWW-Authenticate": basicauth.challenge(current_app.config["REALM"])}
    if creds is None:
        message = "Credentials needed: your user name and password, or __token__ and a token"
        return None, plain(message, 401, **challenge)
    name, secret = creds
    per_user, per_address = login_throttles()
    address = request.remote_addr or "-"
    by_name = per_user.retry_after(name) if name != TOKEN_USER else 0
    wait = max(by_name, per_address.retry_after(address))
    if wait:
        message = f"Too many failed sign-ins for this user or address; try again in {wait} s"
        return None, plain(message, 429, **{"Retry-After": str(wait)})
    principal = store_reader().authenticate(name, secret)
    if principal is None:
        if name != TOKEN_USER:
            per_user.fail(name)
        per_address.fail(address)
        message = "Invalid credentials, a disabled user, or a revoked or expired token"
        return None, plain(message, 401, **challenge)
    if not principal.has_role("publisher"):
        return None, plain(_no_publisher(principal), 403)
    return principal, None


def _no_publisher(p: Principal) -> str:
    if p.scope == "read":
        return f"Token {p.via_token!r} of {p.user} is a read token; uploading needs a publish token"
    return f"User {p.user!r} is a {p.role}; uploading needs the publisher role"


def _upload(principal: Principal, limit: int) -> Response:
    form = request.form
    if form.get(":action") != "file_upload":
        return plain(f"Unsupported :action {form.get(':action')!r}; only file_upload is", 400)
    file = request.files.get("content")
    if file is None or not file.filename:
        return plain("The form has no file in its 'content' part", 400)
    parsed = parse_filename(file.filename)
    filename = parsed.filename
    principal.require_publish(parsed.project)  # 403 naming the project, before any bytes
    _check_form_matches(parsed, form.get("name"), form.get("version"))
    with tempfile.TemporaryDirectory(prefix="privpi-legacy-") as tmp:
        path = os.path.join(tmp, "upload")
        size, digests = _save(file.stream, path)
        if size > limit:
            return too_large(size, limit)
        refusal = _check_digests(form, digests)
        if refusal is not None:
            return refusal
        result = intake.publish_new(storage(), path, filename, principal.user, limit)
    if result["status"] == "skipped":  # PyPI answers an identical re-upload with 200 too
        return plain(f"{filename} is already there, identical: nothing to do", 200)
    return plain(f"Published {filename} ({result['project']} {result['version']})", 200)


def _check_form_matches(file: Filename, name: str | None, version: str | None) -> None:
    if name and canonicalize_name(name) != file.project:
        raise PrivpiError(f"The form's name {name!r} does not match the file {file.filename}")
    try:
        if version and Version(version) != file.version:
            raise PrivpiError(
                f"The form's version {version!r} does not match the file {file.filename}"
            )
    except InvalidVersion:
        raise PrivpiError(f"The form's version {version!r} is not a valid version") from None


def _save(stream: IO[bytes], path: str) -> tuple[int, dict[str, str]]:
    """Copy the (already spooled) file part in chunks, hashing on the way."""
    hashes = {field: make() for field, make in DIGESTS.items()}
    size = 0
    with open(path, "wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            out.write(chunk)
            for h in hashes.values():
                h.update(chunk)
    return size, {field: h.hexdigest() for field, h in hashes.items()}


def _check_digests(form: MultiDict[str, str], digests: dict[str, str]) -> Response | None:
    given = {f: form[f].strip().lower() for f in DIGESTS if form.get(f)}
    if not given:
        return plain("The form carries no sha256_digest (or blake2_256_digest) of the file", 400)
    for field, value in given.items():
        if not hmac.compare_digest(value.encode(), digests[field].encode()):  # str: ASCII only
            return plain(
                f"The file's {field.removesuffix('_digest')} is {digests[field]}, the form "
                f"says {value}: the upload was damaged or the form is wrong",
                400,
            )
    return None
