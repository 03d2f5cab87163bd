"""What a project page costs now that its description is rendered once, by the first view
(or privpi reindex), never by a publish and never again by later views.

For a normal description and a 2 MB Markdown one (over descriptions.MAX_SOURCE: not
rendered, shown truncated), prints the publish time (no rendering), the first console page
view (reads the wheel's .metadata, renders, stores the summary) and the second (reads the
stored summary only) (Flask test client, folder storage). Then the CPU time of rendering
sources of exactly MAX_SOURCE bytes of several shapes, the worst a first view (or reindex)
can pay since larger ones are never rendered.

    .venv/bin/python bench/description_render.py
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PRIVPI_PBKDF2_ROUNDS", "1000")

from privpi import descriptions, publish
from privpi.storage import FolderStorage
from privpi.users import UserStore
from tests.support.console import wheel_with_metadata
from webadmin import create_app

PASSWORD = "bench password 1234"
MARKDOWN = {"Description-Content-Type": "text/markdown"}
NORMAL = "# Demo\n\nA *small* package with a [link](https://example.org).\n\n" * 40
PARAGRAPH = "Some *emphasis*, `code`, a [link](https://example.org/x) and **strong** text.\n\n"


def fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


SHAPES = {
    "markdown prose": ("text/markdown", PARAGRAPH),
    "markdown nested lists": ("text/markdown", "".join(f"{'  ' * i}- item\n" for i in range(30))),
    "markdown emphasis run": ("text/markdown", "*a **b "),
    "markdown table": ("text/markdown", "| a | b |\n| - | - |\n" + "| *x* | `y` |\n" * 50),
    "reStructuredText": ("text/x-rst", "Title\n=====\n\nSome *text* and ``code``.\n\n"),
    "reStructuredText lists": (
        "text/x-rst",
        "- item *a* ``b`` `link <https://x.org>`_\n\n  - nested **c**\n\n",
    ),
}


def signed_in(storage: FolderStorage):
    client = create_app({"TESTING": True, "SECRET_KEY": "b" * 40}, storage).test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    data = {"username": "bench", "password": PASSWORD, "csrf_token": token.group(1)}
    assert client.post("/login", data=data).status_code == 303
    return client


def page_and_views(label: str, description: str, tmp: Path) -> None:
    storage = FolderStorage(tmp / label.replace(" ", "-"))
    UserStore(storage).add("bench", PASSWORD, "reader")
    wheel = wheel_with_metadata(tmp, "bench-pkg", "1.0", MARKDOWN, description)
    start = time.perf_counter()
    publish.publish(storage, wheel)
    published = time.perf_counter() - start
    client = signed_in(storage)
    views = []
    for _ in range(2):
        start = time.perf_counter()
        assert client.get("/projects/bench-pkg").status_code == 200
        views.append(time.perf_counter() - start)
    print(
        f"{label:<34} {len(description):>9,} B  publish {published * 1000:8.1f} ms  "
        f"first view {views[0] * 1000:6.1f} ms  second view {views[1] * 1000:6.1f} ms"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page_and_views("normal description", NORMAL, Path(tmp))
        page_and_views("2 MB Markdown (over the cap)", fill(PARAGRAPH, 2 * 1024 * 1024), Path(tmp))
    print(f"\nrendering {descriptions.MAX_SOURCE:,} bytes (MAX_SOURCE), CPU time:")
    for label, (content_type, unit) in SHAPES.items():
        text = fill(unit, descriptions.MAX_SOURCE)
        start = time.process_time()
        descriptions.describe_description(text, content_type)
        print(f"  {label:<24} {time.process_time() - start:6.2f} s")


if __name__ == "__main__":
    main()
