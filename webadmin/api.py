"""The upload API ``privpi upload --url`` speaks: JSON over HTTP Basic, for CI.

The bytes never pass through the console (so Lambda's 6 MB request limit does not bind
them): ``POST /api/v1/uploads`` with ``{"filename", "size"}`` answers where to send the
file, the browser upload's presigned POST straight to the bucket or, with folder storage,
this app's signed ``PUT /upload/incoming/<id>``; then ``POST /api/v1/uploads/<id>/finalize``
validates and publishes it through the same :mod:`privpi.uploads` the upload page uses.

Credentials are a token (user name ``__token__``) or a password, checked as ``/legacy/``
checks them (the same function, its throttles and its refusal of requests sent by web
pages, which could replay Basic credentials a browser holds). There is no session, hence
no CSRF token. Every refusal is JSON ``{"error": sentence}`` with the status of its
PrivpiError (403 naming the project for grants and token projects, 413 over the limit).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from privpi import intake, uploads
from privpi.errors import PrivpiError, ValidationError
from privpi.principal import Principal

from .extensions import csrf, storage
from .legacy import _authenticate, _from_a_browser_page
from .upload import _sweep, error, max_size, project_url, upload_target

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # HTTP Basic on every request: no session for a CSRF token to protect


def _refused(message: str, status: int) -> Response:
    response = jsonify({"error": message, "status": "refused"})
    response.status_code = status
    return response


@bp.before_request
def _who() -> ResponseReturnValue | None:
    """Refuse web pages, then anyone without valid credentials for publishing."""
    if _from_a_browser_page():
        return _refused(
            "the upload API takes requests from privpi upload --url, not from web pages; "
            "use the console's /upload page in a browser",
            403,
        )
    principal, refusal = _authenticate()
    if refusal is not None:
        return refusal  # 401 (with the Basic challenge), 403 or 429, as /legacy/ answers
    request.environ["privpi.principal"] = principal
    return None


def principal() -> Principal:
    p = request.environ["privpi.principal"]
    assert isinstance(p, Principal)
    return p


@bp.post("/uploads")
def create() -> ResponseReturnValue:
    body = request.get_json(silent=True) or {}
    filename, size = body.get("filename"), body.get("size")
    if not isinstance(filename, str):
        return error(ValidationError("the request names no file (JSON field 'filename')"))
    who, limit = principal(), max_size()
    try:
        if isinstance(size, int) and size > limit:
            raise uploads.TooLarge(intake.too_large(filename, limit))
        t = uploads.create(storage(), who.user, filename, max_size=limit, principal=who)
    except PrivpiError as e:
        return error(e)
    # URLs relative to the console (the upload PUT of folder storage) or absolute (S3)
    answer = {"id": t.id, "filename": t.filename, "expires": int(t.expires), "max_size": limit}
    finalize = url_for("api.finalize", ticket_id=t.id)
    return jsonify({**answer, "upload": upload_target(t), "finalize": finalize}), 201


@bp.post("/uploads/<ticket_id>/finalize")
def finalize(ticket_id: str) -> ResponseReturnValue:
    who = principal()
    s = storage()
    try:
        result = uploads.finalize(s, ticket_id, who.user, who)
    except PrivpiError as e:
        return error(e)
    finally:
        _sweep(s)  # tidy a folder's expired uploads, as the upload page does
    return jsonify({**result, "project_url": project_url(result["project"])})
