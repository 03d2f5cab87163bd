"""Request bodies the console refuses before parsing them (Flask's limits, which hold on
Lambda too; tests/test_serve_limits.py shows privpi serve refusing them unread)."""

from __future__ import annotations

import base64
import io

from tests.support.console import PASSWORD, csrf_token, make_console
from tests.support.distfactory import make_wheel
from tests.support.upload import seeded

FORM = "application/x-www-form-urlencoded"


def test_a_large_urlencoded_form_is_refused_before_the_csrf_check(client):
    r = client.post("/login", data=b"a=&" * (1024 * 1024), content_type=FORM)
    assert r.status_code == 413
    assert "Too large" in r.get_data(as_text=True)


def test_a_sign_in_form_fits(client):
    token = csrf_token(client)
    r = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303


def test_a_multipart_form_with_many_parts_is_refused(client):
    parts = {f"p{n}": "x" for n in range(60)}
    r = client.post("/login", data=parts, content_type="multipart/form-data")
    assert r.status_code == 413


def test_legacy_takes_more_parts_and_a_long_description(folder_storage, tmp_path):
    """twine sends each classifier as a part and the description in one: /legacy/ raises
    the console's form limits for itself, after the credentials are checked."""
    client = make_console(seeded(folder_storage)).test_client()
    wheel = make_wheel(tmp_path, "many-parts", "1.0")
    auth = base64.b64encode(f"publisher:{PASSWORD}".encode()).decode()
    form = {
        ":action": "file_upload",
        "sha256_digest": "0" * 64,  # refused only after the form was read
        "description": "d" * (200 * 1024),
        "classifiers": [f"Topic :: Number {n}" for n in range(200)],
        "content": (io.BytesIO(wheel.read_bytes()), wheel.name),
    }
    r = client.post("/legacy/", data=form, headers={"Authorization": f"Basic {auth}"})
    assert r.status_code == 400
    assert "the form says 000" in r.status
