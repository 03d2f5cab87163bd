"""The connect page: pip, uv, poetry and twine settings for the signed-in user."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, render_template, url_for
from flask_login import current_user

from .auth import role_required
from .views import repository_url

bp = Blueprint("connect", __name__)


def _upload_url() -> str | None:
    """The twine endpoint, when the uploads area is installed."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == "/legacy/":
            return url_for(rule.endpoint, _external=True)
    return None


@bp.route("/connect")
@role_required("reader")
def page():
    index = repository_url()
    return render_template(
        "connect.html",
        index=index,
        host=urlsplit(index).hostname or "",
        user=current_user.name,
        upload_url=_upload_url() if current_user.has_role("publisher") else None,
    )
