"""The console's upload endpoints: ticket, the upload itself (a presigned POST to a moto
server over HTTP, or the console's signed PUT on folder storage), finalize, bad input."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import secrets
import time

import pytest
import requests

from privpi import index, uploads
from privpi.errors import NotFound
from tests.support.console import PASSWORD, make_console
from tests.support.distfactory import make_wheel
from tests.support.upload import CONSOLE_ORIGIN, Browser, allow_console_cors, seeded
from webadmin import legacy


@pytest.fixture
def browser(storage):
    return Browser(seeded(storage))


def leftovers(storage) -> list[str]:
    return [i.key for i in storage.list("incoming/") if not i.key.endswith(".ticket.json")]


def test_upload_page_for_publishers_only(storage):
    seeded(storage)
    page = Browser(storage).client.get("/upload")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="drop-zone"' in html
    assert 'type="file" multiple' in html
    assert "upload.js" in html
    assert "<script>" not in html
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    if storage.url.startswith("s3://"):  # the page's script must reach the bucket
        origin = re.search(r"connect-src 'self' (http://127\.0\.0\.1:\d+);", csp).group(1)
        assert f"form-action 'self' {origin};" in csp
    assert Browser(storage, "reader").client.get("/upload").status_code == 403
    anonymous = make_anonymous(storage)
    assert anonymous.get("/upload").status_code == 302


def make_anonymous(storage):
    return make_console(storage).test_client()


def test_browser_flow_publishes_and_cleans_up(storage, browser, tmp_path):
    wheel = make_wheel(tmp_path, "web-demo", "2.0")
    result = browser.upload(wheel)
    assert result["status"] == "published"
    assert result["project"] == "web-demo"
    assert result["version"] == "2.0"
    assert result["project_url"].endswith("/projects/web-demo")
    (entry,) = index.read_project(storage, "web-demo")["files"]
    assert entry["filename"] == wheel.name
    assert entry["_uploader"] == "publisher"
    assert leftovers(storage) == []
    again = browser.upload(wheel)
    assert again["status"] == "skipped"


def test_s3_ticket_is_a_presigned_post_limited_in_size(s3_storage, moto_endpoint, s3_bucket):
    browser = Browser(seeded(s3_storage), MAX_BROWSER_UPLOAD_BYTES=5000)
    ticket = browser.ticket("limit-1.0-py3-none-any.whl", 100).get_json()
    upload = ticket["upload"]
    assert upload["method"] == "POST"
    assert upload["url"].startswith(moto_endpoint)
    assert upload["fields"]["key"] == f"incoming/{ticket['id']}/limit-1.0-py3-none-any.whl"
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    assert ["content-length-range", 1, 5000] in policy["conditions"]


def test_bucket_cors_lets_the_console_origin_post(s3_storage, moto_endpoint, s3_bucket):
    allow_console_cors(s3_bucket, moto_endpoint)
    r = requests.options(
        f"{moto_endpoint}/{s3_bucket}",
        headers={"Origin": CONSOLE_ORIGIN, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == CONSOLE_ORIGIN


def test_folder_upload_url_is_signed_and_expires(folder_storage, tmp_path):
    browser = Browser(seeded(folder_storage))
    wheel = make_wheel(tmp_path, "signed", "1.0")
    ticket = browser.ticket(wheel.name).get_json()
    url = ticket["upload"]["url"]
    assert ticket["upload"]["method"] == "PUT"
    assert "sig=" in url
    forged = url[: url.index("sig=") + 4] + "0" * 64
    anonymous = make_anonymous(folder_storage)
    for bad in (forged, url.split("?")[0]):
        r = anonymous.put(bad, data=wheel.read_bytes())
        assert r.status_code == 403, r.get_json()
        assert "signature" in r.get_json()["error"]
    assert leftovers(folder_storage) == []
    # an expired ticket's URL is refused even with its valid signature
    old = uploads.create(folder_storage, "publisher", wheel.name, ttl=-1)
    sig = uploads.signature(browser.app.secret_key, old)
    r = anonymous.put(f"/upload/incoming/{old.id}?sig={sig}", data=wheel.read_bytes())
    assert r.status_code == 410
    assert "expired" in r.get_json()["error"]
    assert leftovers(folder_storage) == []


def test_folder_upload_over_the_limit_is_refused(folder_storage, tmp_path):
    browser = Browser(seeded(folder_storage), MAX_BROWSER_UPLOAD_BYTES=2000)
    wheel = make_wheel(tmp_path, "big", "1.0", description=secrets.token_hex(10_000))
    r = browser.ticket(wheel.name, wheel.stat().st_size)
    assert r.status_code == 413
    assert r.get_json()["error"] == f"{wheel.name} is larger than the upload limit of 1.95 KiB"
    ticket = browser.ticket(wheel.name, 10).get_json()  # a size that lies
    status, body = browser.send(ticket["upload"], wheel)
    assert status == 413
    assert "larger than the upload limit" in body
    assert leftovers(folder_storage) == []


@pytest.mark.parametrize(
    ("filename", "message"),
    [("setup.py", "is not a distribution"), ("../x-1.0.tar.gz", "is not a plain filename")],
)
def test_ticket_for_a_non_distribution_is_refused(folder_storage, filename, message):
    r = Browser(seeded(folder_storage)).ticket(filename)
    assert r.status_code == 400
    assert message in r.get_json()["error"]
    assert list(folder_storage.list("incoming/")) == []


def test_bad_finalizes(storage, browser, tmp_path):
    wheel = make_wheel(tmp_path, "bad-final", "1.0")
    ticket = browser.ticket(wheel.name).get_json()
    # never arrived
    r = browser.finalize(ticket)
    assert r.status_code == 409
    assert "has not arrived" in r.get_json()["error"]
    status, _ = browser.send(ticket["upload"], wheel)
    assert status in (201, 204)
    # another user's ticket
    admin = Browser(storage, "admin")
    r = admin.finalize(ticket)
    assert r.status_code == 403
    assert "belongs to another user" in r.get_json()["error"]
    assert browser.finalize(ticket).status_code == 200
    # a second finalize
    r = browser.finalize(ticket)
    assert r.status_code == 409
    assert "already finalized" in r.get_json()["error"]
    # an unknown one
    r = browser.post_json(f"/upload/{'0' * 32}/finalize")
    assert r.status_code == 404
    assert len(index.read_project(storage, "bad-final")["files"]) == 1


def test_expired_upload_is_refused_and_removed(storage, browser, tmp_path):
    wheel = make_wheel(tmp_path, "expired", "1.0")
    t = uploads.create(storage, "publisher", wheel.name, ttl=-1)
    storage.write(t.key, wheel.read_bytes())
    r = browser.post_json(f"/upload/{t.id}/finalize")
    assert r.status_code == 410
    assert "expired" in r.get_json()["error"]
    assert leftovers(storage) == []
    with pytest.raises(NotFound):
        index.read_project(storage, "expired")


def test_invalid_wheel_is_refused_with_the_reason(storage, browser, tmp_path):
    liar = make_wheel(tmp_path, "liar", "1.0", metadata_name="someone-else")
    ticket = browser.ticket(liar.name).get_json()
    browser.send(ticket["upload"], liar)
    r = browser.finalize(ticket)
    assert r.status_code == 400
    body = r.get_json()
    assert body["status"] == "refused"
    assert "someone-else" in body["error"]
    with pytest.raises(NotFound):
        index.read_project(storage, "liar")
    assert leftovers(storage) == []


def test_reader_gets_no_ticket_and_csrf_is_required(folder_storage):
    seeded(folder_storage)
    reader = Browser(folder_storage, "reader")
    assert reader.ticket("x-1.0-py3-none-any.whl").status_code == 403
    publisher = Browser(folder_storage)
    r = publisher.client.post("/upload/ticket", json={"filename": "x-1.0-py3-none-any.whl"})
    assert r.status_code == 400  # no CSRF token
    assert list(folder_storage.list("incoming/")) == []


def test_finalize_sweeps_expired_uploads(folder_storage, tmp_path):
    browser = Browser(seeded(folder_storage))
    stale = uploads.create(folder_storage, "publisher", "stale-1.0-py3-none-any.whl", ttl=-1)
    folder_storage.write(stale.key, b"abandoned")
    time.sleep(0.01)
    browser.upload(make_wheel(tmp_path, "fresh", "1.0"))
    assert not folder_storage.exists(stale.key)


def test_legacy_failures_count_against_the_sign_in_throttle(folder_storage):
    client = make_console(seeded(folder_storage), LOGIN_LIMIT_PER_USER=3).test_client()

    def attempt(password):
        auth = base64.b64encode(f"publisher:{password}".encode()).decode()
        return client.post("/legacy/", headers={"Authorization": f"Basic {auth}"})

    assert [attempt("wrong-password!").status_code for _ in range(3)] == [401] * 3
    r = attempt(PASSWORD)  # even the right password waits now
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in r.get_data(as_text=True)


def test_legacy_non_ascii_digest_is_a_mismatch(folder_storage, tmp_path):
    client = make_console(seeded(folder_storage)).test_client()
    wheel = make_wheel(tmp_path, "odd-digest", "1.0")
    auth = base64.b64encode(f"publisher:{PASSWORD}".encode()).decode()
    form = {
        ":action": "file_upload",
        "sha256_digest": "\u00e9" * 64,
        "content": (io.BytesIO(wheel.read_bytes()), wheel.name),
    }
    r = client.post("/legacy/", data=form, headers={"Authorization": f"Basic {auth}"})
    assert r.status_code == 400
    assert "the form says" in r.get_data(as_text=True)
    assert list(folder_storage.list("packages/")) == []


def test_legacy_on_lambda_takes_what_its_payload_carries_and_names_the_way_around(
    folder_storage, tmp_path, monkeypatch
):
    # The figure: the body, base64-encoded (4 bytes per 3), plus the event around it, fits
    # Lambda's 6 MB (6 MiB) synchronous payload.
    assert legacy.LAMBDA_REQUEST_LIMIT * 4 / 3 + legacy.EVENT_OVERHEAD <= 6 * 1024 * 1024
    assert legacy.LAMBDA_REQUEST_LIMIT == 4_669_440
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "privpi-acme-production")
    client = make_console(seeded(folder_storage)).test_client()
    auth = {"Authorization": "Basic " + base64.b64encode(f"publisher:{PASSWORD}".encode()).decode()}

    def upload(name: str, content: bytes):
        digest = hashlib.sha256(content).hexdigest()
        form = {":action": "file_upload", "sha256_digest": digest,
                "content": (io.BytesIO(content), name)}  # fmt: skip
        return client.post("/legacy/", data=form, headers=auth)

    fits = make_wheel(tmp_path, "fits", "1.0")
    assert upload(fits.name, fits.read_bytes()).status_code == 200
    r = upload("too_big-1.0-py3-none-any.whl", os.urandom(legacy.LAMBDA_REQUEST_LIMIT))
    assert r.status_code == 413  # the file alone fits, the request with its form does not
    text = r.get_data(as_text=True)
    assert "over the 4.45 MiB limit of /legacy/ on AWS Lambda" in text
    assert "/upload page" in text
    assert "`privpi upload`" in text
    with pytest.raises(NotFound):
        index.read_project(folder_storage, "too-big")
    page = Browser(folder_storage).client.get("/upload").get_data(as_text=True)
    assert "4.45 MiB" in page  # the upload page tells twine users the same figure


@pytest.mark.parametrize("bad", ["\x00", "\r\nX-Injected: 1", "\x1b[2J", "\x85"])
def test_legacy_refusal_quoting_the_form_keeps_controls_out_of_the_status(
    folder_storage, tmp_path, bad
):
    """twine shows the reason phrase: the digest it quotes keeps to printable characters."""
    client = make_console(seeded(folder_storage)).test_client()
    wheel = make_wheel(tmp_path, "odd-digest", "1.0")
    auth = base64.b64encode(f"publisher:{PASSWORD}".encode()).decode()
    form = {
        ":action": "file_upload",
        "sha256_digest": "ab" + bad + "cd",
        "content": (io.BytesIO(wheel.read_bytes()), wheel.name),
    }
    r = client.post("/legacy/", data=form, headers={"Authorization": f"Basic {auth}"})
    assert r.status_code == 400
    assert "the form says ab" in r.status
    assert all(c.isprintable() for c in r.status), repr(r.status)
    assert "X-Injected" not in r.headers


def test_finalize_refuses_an_object_over_the_ticket_limit(storage, tmp_path):
    """Should the bucket not enforce content-length-range, finalize still does."""
    browser = Browser(seeded(storage), MAX_BROWSER_UPLOAD_BYTES=2000)
    wheel = make_wheel(tmp_path, "sneaky", "1.0", description=secrets.token_hex(10_000))
    ticket = browser.ticket(wheel.name, 100).get_json()
    storage.write(f"incoming/{ticket['id']}/{wheel.name}", wheel.read_bytes())
    r = browser.finalize(ticket)
    assert r.status_code == 413
    assert "larger than the upload limit" in r.get_json()["error"]
    assert leftovers(storage) == []
    with pytest.raises(NotFound):
        index.read_project(storage, "sneaky")
