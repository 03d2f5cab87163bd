"""Drag-and-drop upload in headless Debian Chromium against a real ``privpi serve``.

Two wheels are dropped on /upload (a real drop event carrying a DataTransfer built in the
page), both progress bars must reach 100 % and both files must show on their project
pages. Once on folder storage (the console's signed upload URL) and once on a moto S3
server (a presigned POST straight to the bucket, allowed by the bucket's CORS rule).
Screenshots are kept in test-artifacts/screenshots/.
"""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path

import boto3
import pytest
from playwright.sync_api import expect

from privpi import index
from privpi.storage import open_storage
from tests.support.browser import headless_chromium, shot
from tests.support.distfactory import make_wheel
from tests.support.serve import add_user, start_server, stop
from tests.support.upload import allow_console_cors

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]
USER, PASSWORD = "dropper", "dropper-password-1"

# Build File objects from bytes in the page and drop them, as a user's drag would.
DROP = """([selector, files]) => {
  const dt = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], f.name, { type: "application/octet-stream" }));
  }
  const zone = document.querySelector(selector);
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }
}"""


@pytest.fixture(scope="module")
def chromium():
    with headless_chromium() as browser:
        yield browser


@pytest.fixture(params=["folder", "s3"])
def served(request, tmp_path, monkeypatch):
    """(base_url, storage): privpi serve over a fresh folder or moto bucket, one publisher."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVPI_")}
    env["PRIVPI_PBKDF2_ROUNDS"] = "1000"
    bucket = None
    if request.param == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = f"drop-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        env["AWS_ENDPOINT_URL"] = endpoint
        storage_url = f"s3://{bucket}"
    else:
        storage_url = str(tmp_path / "repo")
    add_user(storage_url, USER, PASSWORD, "publisher", env=env)
    base_url, proc = start_server(storage_url, env=env)
    if bucket:
        allow_console_cors(bucket, env["AWS_ENDPOINT_URL"], origin=base_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL", env["AWS_ENDPOINT_URL"])  # for open_storage
    yield base_url, open_storage(storage_url), request.param
    stop(proc)


@pytest.fixture
def page(chromium, served):
    base_url = served[0]
    context = chromium.new_context(base_url=base_url, viewport={"width": 1100, "height": 800})
    page = context.new_page()
    errors = []  # a CSP violation or a script error is a failure, not noise
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto("/login")
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("header")).to_contain_text(USER)
    yield page
    context.close()
    # the pages' own refusals (4xx answers to fetch) are results, not script errors
    assert [e for e in errors if "status of 4" not in e] == []


def drop(page, *paths: Path) -> None:
    files = [{"name": p.name, "b64": base64.b64encode(p.read_bytes()).decode()} for p in paths]
    page.evaluate(DROP, ["#drop-zone", files])


def item(page, filename: str):
    return page.locator(f'li.upload-item[data-filename="{filename}"]')


def test_drop_two_wheels_then_find_them(page, served, tmp_path):
    base_url, storage, backend = served
    names = [f"drop-{backend}-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    wheels = [make_wheel(tmp_path, name, "1.0") for name in names]
    page.goto("/upload")
    drop(page, *wheels)
    for wheel, name in zip(wheels, names, strict=True):
        row = item(page, wheel.name)
        expect(row).to_have_attribute("data-state", "published", timeout=30_000)
        expect(row.locator("progress")).to_have_attribute("value", "100")
        expect(row.locator(".upload-status")).to_contain_text(f"published {name} 1.0")
    shot(page, f"upload-{backend}")
    # the per-file link leads to the project page, which lists the file
    item(page, wheels[0].name).locator("a").click()
    expect(page.locator("main")).to_contain_text(wheels[0].name)
    shot(page, f"upload-{backend}-project")
    page.goto(f"/projects/{names[1]}")
    expect(page.locator("main")).to_contain_text(wheels[1].name)
    for name, wheel in zip(names, wheels, strict=True):
        (entry,) = index.read_project(storage, name)["files"]
        assert entry["filename"] == wheel.name
        assert entry["_uploader"] == USER
    leftovers = [i.key for i in storage.list("incoming/") if not i.key.endswith(".ticket.json")]
    assert leftovers == []


@pytest.mark.parametrize("served", ["folder"], indirect=True)  # same script on S3
def test_drop_zone_from_the_keyboard(page, served, tmp_path):
    name = f"keys-{uuid.uuid4().hex[:6]}"
    wheel = make_wheel(tmp_path, name, "1.0")
    # Playwright turns on file-chooser interception asynchronously when a listener is
    # added: one listener from the start keeps it on, so no key press races it.
    page.on("filechooser", lambda _chooser: None)
    page.goto("/upload")
    zone = page.get_by_role("button", name="Choose files to upload, or drop them here")
    for _ in range(30):  # Tab through the header's links to the zone, as a user would
        page.keyboard.press("Tab")
        if zone.evaluate("z => z === document.activeElement"):
            break
    expect(zone).to_be_focused()
    outline = zone.evaluate(
        "z => getComputedStyle(z).outlineStyle + ' ' + getComputedStyle(z).outlineWidth"
    )
    assert outline == "solid 3px"  # the focus ring shows where the keyboard is
    shot(page, "upload-focused")
    # Chromium opens one chooser at a time: close the first (Enter) before Space opens one.
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    assert chooser.value.is_multiple()
    chooser.value.set_files([])
    with page.expect_file_chooser() as chooser:
        page.keyboard.press(" ")
    assert chooser.value.is_multiple()
    chooser.value.set_files(str(wheel))
    expect(item(page, wheel.name)).to_have_attribute("data-state", "published", timeout=30_000)
    page.keyboard.press("Tab")  # the hidden input is no second, invisible tab stop
    expect(zone).not_to_be_focused()
    expect(page.locator("#file-picker")).not_to_be_focused()


@pytest.mark.parametrize("served", ["folder"], indirect=True)  # same script on S3
def test_picker_and_per_file_results(page, served, tmp_path):
    base_url, storage, backend = served
    name = f"pick-{uuid.uuid4().hex[:6]}"
    wheel = make_wheel(tmp_path, name, "2.0")
    liar = make_wheel(tmp_path / "liar", f"{name}-liar", "2.0", metadata_version="7.7")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a distribution")
    page.goto("/upload")
    page.set_input_files("#file-picker", [str(wheel), str(liar), str(notes)])
    expect(item(page, wheel.name)).to_have_attribute("data-state", "published", timeout=30_000)
    for bad, reason in ((liar, "7.7"), (notes, "notes.txt is not a distribution")):
        row = item(page, bad.name)
        expect(row).to_have_attribute("data-state", "refused", timeout=30_000)
        expect(row.locator(".upload-status")).to_contain_text(reason)
    drop(page, wheel)  # the same file again
    expect(item(page, wheel.name).nth(1)).to_have_attribute("data-state", "skipped")
    expect(item(page, wheel.name).nth(1)).to_contain_text("already there")
    shot(page, "upload-results")
    assert [f["filename"] for f in index.read_project(storage, name)["files"]] == [wheel.name]
