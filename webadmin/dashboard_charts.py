"""The dashboard's two charts: files published per week, and storage by project.

Both cost the same few storage requests however large the repository: the weekly counts
come from the audit log's keys alone (``audit.times_since``: one list request per 1,000
events of the last 26 weeks, at most 20; events past that bound are not counted and the
chart says from which week), kept for STATS_TTL per console instance; the sizes from the
listing summary (privpi.listing) the dashboard's counts come from, two reads at any size.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from markupsafe import Markup

from privpi import audit, listing
from privpi.storage import Storage
from privpi.units import human_size

from . import charts

WEEKS = 26
TOP = 10  # projects drawn one by one; the others share one bar
CACHE = "privpi.dashboard-charts"
STATS_TTL = 300


def weekly_publishes(storage: Storage, now: datetime) -> list[tuple[date, int | None]]:
    """Files published in each of the last WEEKS weeks (Monday to Sunday, UTC), oldest
    first, the current week last; None for a week the audit log's bounds left uncounted."""
    this_monday = now.astimezone(UTC).date() - timedelta(days=now.astimezone(UTC).weekday())
    mondays = [this_monday - timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]
    since = datetime.combine(mondays[0], datetime.min.time(), UTC)
    window = audit.times_since(storage, "publish", since)
    counts = Counter(t.date() - timedelta(days=t.weekday()) for t in window.times)
    first_whole = window.reached.date() + timedelta(days=7 - window.reached.weekday())
    return [(m, counts[m] if window.complete or m >= first_whole else None) for m in mondays]


def project_sizes(shown: listing.Listing) -> list[tuple[str, int]]:
    """Bytes of each project's distributions, largest first, from the listing summary
    (privpi.listing) the dashboard's counts come from: no listing of the files."""
    return [(row.name, row.bytes) for row in shown.by_size()]


def top_and_rest(sizes: list[tuple[str, int]], top: int = TOP) -> list[tuple[str, int]]:
    """The ``top`` largest, then the others summed as one "N other projects" entry."""
    if len(sizes) <= top + 1:  # one project alone is drawn under its own name
        return sizes
    rest = sizes[top:]
    return [*sizes[:top], (f"{len(rest):,} other projects", sum(v for _, v in rest))]


def render(storage: Storage, shown: listing.Listing) -> dict[str, Markup]:
    """Both charts as markup. The weekly counts are kept STATS_TTL seconds per console
    instance (they list the audit log); the sizes are drawn from the listing the counts
    above them show, so the bars always add up to the "stored" figure."""
    cached = current_app.extensions.get(CACHE)
    if cached and cached[0] > time.monotonic():
        publishes: Markup = cached[1]
    else:
        publishes = publishes_chart(weekly_publishes(storage, datetime.now(UTC)))
        current_app.extensions[CACHE] = (time.monotonic() + STATS_TTL, publishes)
    return {"publishes": publishes, "storage": storage_chart(project_sizes(shown))}


def publishes_chart(weeks: list[tuple[date, int | None]]) -> Markup:
    points = [(f"{m:%b} {m.day}", n) for m, n in weeks]
    total = sum(n or 0 for _, n in weeks)
    busiest = max(weeks, key=lambda w: w[1] or 0)
    summary = (
        f"Files published each week (weeks start on Monday, UTC) from {_day(weeks[0][0])} "
        f"to {_day(weeks[-1][0] + timedelta(days=6))}: {total:,} in all, "
        f"the most ({busiest[1] or 0:,}) in the week of {_day(busiest[0])}."
    )
    uncounted = [m for m, n in weeks if n is None]
    if uncounted:
        summary += (
            f" The audit log was read back to the week of {_day(uncounted[-1] + timedelta(7))}"
            " only: the weeks before it are not counted."
        )
    return charts.columns(
        "chart-publishes",
        "Files published per week",
        summary,
        points,
        ("Week of", "Files published"),
        "No publishes yet.",
    )


def storage_chart(sizes: list[tuple[str, int]]) -> Markup:
    shown = top_and_rest(sizes)
    total = sum(v for _, v in sizes)
    summary = f"Storage used by each project, largest first: {human_size(total)} in all"
    if shown:
        summary += f", the largest {shown[0][0]} with {human_size(shown[0][1])}"
    return charts.rows(
        "chart-storage",
        "Storage by project",
        summary + ".",
        shown,
        ("Project", "Stored"),
        "Nothing stored yet.",
        fmt=human_size,
        muted_last=len(shown) < len(sizes),
    )


def _day(d: date) -> str:
    return f"{d.day} {d:%b} {d.year}"
