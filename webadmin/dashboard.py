"""The dashboard: repository figures and the latest events from the audit log."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from privpi import audit, keys

from . import dashboard_charts
from .auth import role_required
from .extensions import storage
from .projects import project_names

bp = Blueprint("dashboard", __name__)
STATS = "privpi.dashboard-stats"
# Counting files lists the whole files/ prefix (one S3 request per 1,000 files): at most
# once per five minutes per console instance.
STATS_TTL = 300
EVENTS = 40


def _file_stats() -> tuple[int, int]:
    """(distribution files, bytes used by files and metadata), cached for a minute."""
    cached = current_app.extensions.get(STATS)
    if cached and cached[0] > time.monotonic():
        stats: tuple[int, int] = cached[1]
        return stats
    files = used = 0
    for info in storage().list(keys.FILES):
        used += info.size
        if not info.key.endswith(".metadata"):
            files += 1
    current_app.extensions[STATS] = (time.monotonic() + STATS_TTL, (files, used))
    return files, used


@bp.route("/")
@role_required("reader")
def index() -> str:
    files, used = _file_stats()
    events = audit.latest(storage(), EVENTS)
    user_events = [e for e in events if str(e.get("action", "")).startswith("user.")]
    package_events = [e for e in events if not str(e.get("action", "")).startswith("user.")]
    return render_template(
        "dashboard.html",
        projects=len(project_names()),
        files=files,
        used=used,
        package_events=package_events[:15],
        # who was added, disabled or made admin is the admins' business
        user_events=user_events[:15] if current_user.has_role("admin") else None,
        charts=dashboard_charts.render(storage()),
    )
