"""Security headers on every response, and error pages that say what went wrong."""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from privpi.errors import NotFound, PrivpiError, StorageError

# No inline script or style anywhere: templates link /static files only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=31536000; includeSubDomains"

TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Storage unavailable",
}


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if not request.path.startswith("/static/"):
        # pages show user names and package data: keep them out of shared caches
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def error_page(status: int, message: str) -> tuple[str, int]:
    title = TITLES.get(status, "Error")
    return render_template("error.html", status=status, title=title, message=message), status


def _http_error(e: HTTPException) -> HTTPException | tuple[str, int]:
    if e.code is None or e.code < 400:
        return e
    return error_page(e.code, e.description or "")


def _csrf_error(e: CSRFError) -> tuple[str, int]:
    return error_page(
        400,
        "This form has expired or is missing its security token ("
        + e.description.rstrip(".")
        + "). Reload the page and try again.",
    )


def _privpi_error(e: PrivpiError) -> tuple[str, int]:
    """A core error no view caught: views turn bad input into 400s themselves, so what
    arrives here is the repository's state: missing (404), storage failing (503), or
    damaged (500), always with the core's own sentence."""
    if isinstance(e, NotFound):
        return error_page(404, e.message)
    if isinstance(e, StorageError):
        return error_page(503, f"The repository storage failed: {e.message}")
    return error_page(500, e.message)


def init_app(app: Flask) -> None:
    app.after_request(add_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(PrivpiError, _privpi_error)
