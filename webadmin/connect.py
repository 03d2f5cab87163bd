"""The connect page: pip, uv, poetry and twine settings for the signed-in user."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, render_template, url_for
from flask_login import current_user

from .auth import role_required
from .views import repository_url

bp = Blueprint("connect", __name__)


@bp.route("/connect")
@role_required("reader")
def page() -> str:
    index = repository_url()
    return render_template(
        "connect.html",
        index=index,
        host=urlsplit(index).hostname or "",
        user=current_user.name,
        upstream=current_app.config.get("UPSTREAM_URL"),
        upload_url=url_for("upload.legacy", _external=True)
        if current_user.has_role("publisher")
        else None,
    )
