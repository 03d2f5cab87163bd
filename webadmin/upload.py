"""Uploads: the drag-and-drop page, its ticket and finalize endpoints, and ``/legacy/``.

Browser flow: ``POST /upload/ticket`` (JSON, session + CSRF) returns where to send the bytes:
a presigned POST straight to the bucket with S3 storage, or this app's own signed
``PUT /upload/incoming/<id>`` with folder storage; then ``POST /upload/<id>/finalize``
publishes through :mod:`privpi.publish`. ``/legacy/`` is the upload API twine and
``uv publish`` speak; it authenticates with HTTP Basic against the user store, so it is
exempt from the session's CSRF protection (there is no session to ride on).
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from privpi import intake, uploads
from privpi.errors import PrivpiError, ValidationError
from privpi.keys import INCOMING
from privpi.storage import Storage
from privpi.units import human_size

from .auth import role_required
from .extensions import csrf, storage
from .legacy import legacy_max_size, legacy_upload, request_limit
from .security import CSP

log = logging.getLogger(__name__)

bp = Blueprint("upload", __name__)
bp.add_url_rule("/legacy/", "legacy", legacy_upload, methods=["POST"])


# The signed folder upload and /legacy/ carry their own credentials (an HMAC signature,
# HTTP Basic); a CSRF token cannot exist for them. Everything else here keeps CSRF.
csrf.exempt(legacy_upload)
csrf.exempt(f"{__name__}.receive")


def max_size() -> int:
    """The browser upload limit. Its bytes skip the console, so the console's limit for
    request bodies (MAX_UPLOAD_BYTES, which /legacy/ obeys) does not bind it."""
    return int(current_app.config["MAX_BROWSER_UPLOAD_BYTES"])


def body_limits(app: Flask) -> dict[str, int]:
    """The largest request body the console takes, by path prefix ("" for any other).

    Flask enforces these per request; ``privpi serve`` gives them to waitress too, which
    reads a whole body before the console sees it, so that it refuses a larger one as soon
    as the headers are in."""
    with app.app_context():
        return {
            "/legacy/": request_limit(legacy_max_size()),
            "/upload/incoming/": max_size(),
            "": int(app.config["MAX_CONTENT_LENGTH"]),
        }


def error(e: PrivpiError, status: int | None = None) -> tuple[Response, int]:
    code = status or int(getattr(e, "status", 400))  # upload errors carry their status
    return jsonify({"error": e.message, "status": "refused"}), code


@bp.get("/upload")
@role_required("publisher")
def upload_page() -> Response:
    html = render_template(
        "upload.html",
        max_size=max_size(),
        max_size_text=human_size(max_size()),
        legacy_max_text=human_size(legacy_max_size()),
        legacy_url=url_for("upload.legacy", _external=True),
    )
    resp = make_response(html)
    origin = bucket_origin()
    if origin:  # the browser posts straight to the bucket: let the page's script reach it
        resp.headers["Content-Security-Policy"] = upload_csp(origin)
    return resp


def upload_csp(origin: str) -> str:
    """The console's CSP, plus the bucket's origin for the page's upload (an XHR POST:
    connect-src) and for a form that posts there (form-action)."""
    return CSP.replace(
        "default-src 'self';", f"default-src 'self'; connect-src 'self' {origin};"
    ).replace("form-action 'self'", f"form-action 'self' {origin}")


def bucket_origin() -> str | None:
    # Signing is local (no request): the origin of any direct upload is the bucket's.
    target = storage().upload_target(f"{INCOMING}origin-probe", 1, expires=60)
    if target is None:
        return None
    url = urlsplit(target.url)
    return f"{url.scheme}://{url.netloc}"


@bp.post("/upload/ticket")
@role_required("publisher")
def ticket() -> ResponseReturnValue:
    body = request.get_json(silent=True) or {}
    filename, size = body.get("filename"), body.get("size")
    if not isinstance(filename, str):
        return error(ValidationError("the request names no file (JSON field 'filename')"))
    limit = max_size()
    try:
        if isinstance(size, int) and size > limit:
            raise uploads.TooLarge(intake.too_large(filename, limit))
        t = uploads.create(
            storage(), current_user.name, filename, max_size=limit, principal=current_user.principal
        )
    except PrivpiError as e:
        return error(e)
    return jsonify(
        {
            "id": t.id,
            "filename": t.filename,
            "expires": int(t.expires),
            "upload": upload_target(t),
            "finalize": url_for("upload.finalize", ticket_id=t.id),
        }
    )


def upload_target(t: uploads.Ticket) -> dict[str, object]:
    """Where the browser sends the bytes: the bucket itself, or our signed endpoint."""
    direct = storage().upload_target(t.key, t.max_size, expires=int(t.expires - time.time()))
    if direct is not None:
        return {"method": direct.method, "url": direct.url, "fields": direct.fields}
    query = urlencode({"sig": uploads.signature(_secret(), t)})
    return {"method": "PUT", "url": url_for("upload.receive", ticket_id=t.id) + "?" + query}


@bp.put("/upload/incoming/<ticket_id>")
def receive(ticket_id: str) -> ResponseReturnValue:
    """Folder storage: the signed equivalent of a presigned POST, streamed to disk."""
    try:
        t = uploads.check_upload(storage(), _secret(), ticket_id, request.args["sig"])
        length = request.content_length
        if length is not None and length > t.max_size:
            raise uploads.TooLarge(intake.too_large(t.filename, t.max_size))
        request.max_content_length = t.max_size  # the ticket's limit, not the console's
        size = uploads.receive(storage(), t, request.stream)
    except KeyError:
        return error(uploads.TicketForbidden("the upload URL carries no signature"))
    except PrivpiError as e:
        return error(e)
    return jsonify({"filename": t.filename, "size": size}), 201


@bp.post("/upload/<ticket_id>/finalize")
@role_required("publisher")
def finalize(ticket_id: str) -> ResponseReturnValue:
    s = storage()
    try:
        result = uploads.finalize(s, ticket_id, current_user.name, current_user.principal)
    except PrivpiError as e:
        return error(e)
    finally:
        _sweep(s)
    return jsonify({**result, "project_url": project_url(result["project"])})


def _secret() -> str | bytes:
    """The key of the signed upload URLs; create_app always sets one (fail closed)."""
    key = current_app.secret_key
    if not key:
        raise RuntimeError("the console has no SECRET_KEY to sign upload URLs with")
    return key


def project_url(project: str) -> str:
    return url_for("projects.detail", name=project)


def _sweep(s: Storage) -> None:
    """Tidy expired uploads of a local folder on the way. A bucket has its lifecycle rule
    for incoming/, and a sweep there would cost a request per waiting ticket."""
    if s.expires_incoming:
        return
    try:
        uploads.sweep(s)
    except PrivpiError as e:  # never fail an upload because tidying failed
        log.warning("sweeping incoming/ failed: %s", e)
