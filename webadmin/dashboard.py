"""The dashboard: repository figures and the latest events from the audit log."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from privpi import audit

from . import dashboard_charts
from .auth import role_required
from .extensions import storage
from .projects import current_listing

bp = Blueprint("dashboard", __name__)
EVENTS = 40


@bp.route("/")
@role_required("reader")
def index() -> str:
    # The listing summary (privpi.listing): two reads however many projects and files.
    shown = current_listing()
    events = audit.latest(storage(), EVENTS)
    user_events = [e for e in events if str(e.get("action", "")).startswith("user.")]
    package_events = [e for e in events if not str(e.get("action", "")).startswith("user.")]
    return render_template(
        "dashboard.html",
        projects=len(shown.rows),
        files=shown.files,
        used=shown.bytes,
        missing=shown.missing,
        behind=shown.behind,
        package_events=package_events[:15],
        # who was added, disabled or made admin is the admins' business
        user_events=user_events[:15] if current_user.has_role("admin") else None,
        charts=dashboard_charts.render(storage(), shown),
    )
