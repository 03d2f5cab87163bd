"""The connect page: pip, uv, Poetry, twine and GitHub Actions settings for the signed-in
user, with a token rather than the password (a button makes one, shown once in the
snippets: webadmin/tokens.py keeps the token pages and their rules)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from privpi.errors import UserStoreError

from .auth import role_required
from .extensions import user_store
from .tokens import NewToken, connect_token_form
from .views import repository_url

bp = Blueprint("connect", __name__)


@bp.route("/connect")
@role_required("reader")
def page() -> str:
    return _render()


def _render(new: NewToken | None = None) -> str:
    """The page, its snippets filled in with a token just made, else a placeholder."""
    index = repository_url()
    return render_template(
        "connect.html",
        index=index,
        host=urlsplit(index).hostname or "",
        user=current_user.name,
        upstream=current_app.config.get("UPSTREAM_URL"),
        console_url=request.url_root,
        new_token=new,
        token=new.secret if new else "YOUR-TOKEN",
        token_form=connect_token_form(),
        upload_url=url_for("upload.legacy", _external=True)
        if current_user.has_role("publisher")
        else None,
    )


@bp.post("/connect/token")
@role_required("reader")
def token() -> ResponseReturnValue:
    """A token for this page's snippets: publish scope for a publisher, else read."""
    form = connect_token_form()
    if not form.validate_on_submit():
        return _render(), 400
    try:
        secret, info = user_store().create_token(current_user.name, scope=form.scope.data or "")
    except UserStoreError as e:
        flash(f"No token was made: {e}.", "error")
        return _render(), 400
    return _render(NewToken(secret, info))
