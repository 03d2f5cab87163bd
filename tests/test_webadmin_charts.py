"""The dashboard's charts from real publishes and audit events: files published per week
and storage by project, with their numbers, in markup the console's CSP allows."""

from __future__ import annotations

import re
import secrets
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from privpi import index, publish
from privpi.units import human_size
from tests.support.auditlog import write_event
from tests.support.console import text
from tests.support.distfactory import make_wheel
from webadmin import security


def figure(page: str, chart_id: str) -> ET.Element:
    match = re.search(rf'<figure class="chart" id="{chart_id}">.*?</figure>', page, re.S)
    assert match, f"no chart {chart_id} on the dashboard"
    return ET.fromstring(match[0])


def numbers(fig: ET.Element) -> dict[str, str]:
    return {r.find("th").text: r.find("td").text for r in fig.find("details/table/tbody")}


def week_label(d: date) -> str:
    monday = d - timedelta(days=d.weekday())
    return f"{monday:%b} {monday.day}"


def test_dashboard_draws_publishes_per_week_and_storage_by_project(repo, as_role, tmp_path):
    projects = {f"proj-{i:02d}": i % 3 + 1 for i in range(12)}  # 1 to 3 versions each
    for name, versions in projects.items():
        for v in range(versions):
            wheel = make_wheel(tmp_path / "dist", name, f"1.{v}", description="x" * 100 * v)
            publish.publish(repo, wheel, uploader="publisher")
    now = datetime.now(UTC)
    for _ in range(2):
        write_event(repo, now - timedelta(weeks=3), "publish")
    write_event(repo, now - timedelta(weeks=10), "publish", legacy=True)
    write_event(repo, now - timedelta(weeks=10), "yank", legacy=True)  # not a publish
    write_event(repo, now - timedelta(weeks=30), "publish")  # before the 26 weeks

    page = text(as_role("reader").get("/"))

    weeks = numbers(figure(page, "chart-publishes"))
    assert len(weeks) == 26
    assert list(weeks)[-1] == week_label(now.date())
    assert weeks[week_label(now.date())] == str(sum(projects.values()))
    assert weeks[week_label((now - timedelta(weeks=3)).date())] == "2"
    assert weeks[week_label((now - timedelta(weeks=10)).date())] == "1"
    assert sum(int(n) for n in weeks.values()) == sum(projects.values()) + 3

    stored: Counter[str] = Counter()  # the distributions' sizes, as the pages list them
    for name in projects:
        stored[name] = sum(f["size"] for f in index.read_project(repo, name)["files"])
    largest = sorted(stored.items(), key=lambda kv: (-kv[1], kv[0]))
    sizes = numbers(figure(page, "chart-storage"))
    assert list(sizes) == [name for name, _ in largest[:10]] + ["2 other projects"]
    assert sizes[largest[0][0]] == human_size(largest[0][1])
    assert sizes["2 other projects"] == human_size(sum(n for _, n in largest[10:]))
    assert f'<span class="figure">{human_size(sum(stored.values()))}</span> stored' in page

    # a publish shows in the storage chart at once: it is drawn from the same summary
    big = make_wheel(tmp_path / "dist", "zz-big", "1.0", description=secrets.token_hex(100_000))
    publish.publish(repo, big, uploader="publisher")
    sizes = numbers(figure(text(as_role("reader").get("/")), "chart-storage"))
    assert list(sizes)[0] == "zz-big"
    assert sizes["3 other projects"]


def test_an_empty_repository_says_so_instead_of_charts(as_role):
    page = text(as_role("reader").get("/"))
    assert '<p class="chart-empty">No publishes yet.</p>' in page
    assert '<p class="chart-empty">Nothing stored yet.</p>' in page
    assert "<svg" not in page


def test_charts_need_no_inline_style_or_script_and_the_csp_is_unchanged(repo, as_role, tmp_path):
    publish.publish(repo, make_wheel(tmp_path, "demo", "1.0"), uploader="x")
    response = as_role("reader").get("/")
    page = text(response)
    assert page.count("<svg") == 2
    assert response.headers["Content-Security-Policy"] == security.CSP
    assert "'unsafe-inline'" not in security.CSP
    assert not re.search(r"<(svg|rect|text|line|figure)[^>]*\sstyle=", page)
    assert "<script" not in page
