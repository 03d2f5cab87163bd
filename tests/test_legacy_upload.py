"""``/legacy/`` end to end: real twine and ``uv publish`` against a real ``privpi serve``,
then pip installing what they published; every refusal as the client shows it."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import pytest
import requests
from twine.commands import upload as twine_upload_command

from privpi import index
from privpi.errors import NotFound
from privpi.storage import FolderStorage
from tests.support.distfactory import make_sdist, make_wheel
from tests.support.serve import (
    cli_env,
    index_url,
    pip_installs_exactly,
    serving,
    sha256,
    twine_upload,
    unique,
    uv_publish,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PUB, PUB_PW = "pub1", "publisher-password-1"
READER, READER_PW = "reader1", "reader-password-1"
LIMIT = 64 * 1024  # /legacy/'s request limit in this server: small, to test the 413


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("legacy")
    storage_url = str(tmp / "repo")
    env = cli_env(tmp, PRIVPI_MAX_UPLOAD_BYTES=str(LIMIT))
    users = [(PUB, PUB_PW, "publisher"), (READER, READER_PW, "reader")]
    with serving(storage_url, env, users) as base_url:
        yield base_url, FolderStorage(storage_url), tmp


def twine(base_url: str, *files: Path, user=PUB, password=PUB_PW, extra=()):
    return twine_upload(base_url, user, password, *files, extra=extra)


def published(storage, project: str) -> dict[str, str]:
    try:
        page = index.read_project(storage, project)
    except NotFound:
        return {}
    return {f["filename"]: f["hashes"]["sha256"] for f in page["files"]}


def install_and_check(base_url: str, tmp: Path, project: str, version: str, wheel: Path):
    reader_index = index_url(base_url, READER, READER_PW)
    pip_installs_exactly(reader_index, tmp, project, version, wheel)


def test_twine_upload_then_pip_install(server):
    base_url, storage, tmp = server
    project = unique("twine-demo")
    wheel = make_wheel(tmp / project, project, "1.0")
    sdist = make_sdist(tmp / project, project, "1.0")
    code, out = twine(base_url, wheel, sdist)
    assert code == 0, out
    assert published(storage, project) == {wheel.name: sha256(wheel), sdist.name: sha256(sdist)}
    entry = index.read_project(storage, project)["files"][0]
    assert entry["_uploader"] == PUB
    install_and_check(base_url, tmp, project, "1.0", wheel)


def test_uv_publish_then_pip_install(server):
    base_url, storage, tmp = server
    project = unique("uv-demo")
    wheel = make_wheel(tmp / project, project, "3.1")
    r = uv_publish(base_url, wheel, PUB, PUB_PW)
    assert r.returncode == 0, r.stderr
    assert published(storage, project) == {wheel.name: sha256(wheel)}
    install_and_check(base_url, tmp, project, "3.1", wheel)


def test_existing_files_as_pypi_answers(server):
    base_url, storage, tmp = server
    project = unique("again")
    wheel = make_wheel(tmp / project / "a", project, "1.0")
    other = make_wheel(tmp / project / "b", project, "1.0", summary="other bytes, same name")
    assert twine(base_url, wheel)[0] == 0
    code, out = twine(base_url, wheel)  # identical: PyPI answers 200 too
    assert code == 0, out
    code, out = twine(base_url, other)
    assert code == 1, out
    assert "400 Bad Request" in out
    assert "File already exists:" in out
    # twine 7 allows --skip-existing for pypi.org only; up to 6 it skips what this
    # function of twine's (still the same in 7) says already exists: our answer qualifies.
    r = form_upload(base_url, other)
    assert twine_upload_command.skip_upload(r, skip_existing=True, package=None)
    assert published(storage, project) == {wheel.name: sha256(wheel)}


def test_reader_and_bad_credentials_are_refused(server):
    base_url, storage, tmp = server
    project = unique("refused")
    wheel = make_wheel(tmp / project, project, "1.0")
    code, out = twine(base_url, wheel, user=READER, password=READER_PW)
    assert code == 1, out
    assert "403" in out
    assert "uploading needs the publisher role" in out
    code, out = twine(base_url, wheel, password="wrong-password-123")
    assert code == 1, out
    assert "401" in out
    r = requests.post(f"{base_url}/legacy/", data={":action": "file_upload"}, timeout=30)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="privpi", charset="UTF-8"'
    assert published(storage, project) == {}


def test_oversized_upload_names_the_limit_and_the_alternatives(server):
    base_url, storage, tmp = server
    project = unique("huge")
    wheel = make_wheel(tmp / project, project, "1.0", description=secrets.token_hex(LIMIT))
    code, out = twine(base_url, wheel)
    assert code == 1, out
    assert "413" in out
    assert "64 KiB limit of /legacy/" in out
    assert "/upload" in out
    assert "privpi upload" in out
    assert published(storage, project) == {}


def form_upload(base_url: str, path: Path, headers=None, **fields):
    data = {
        ":action": "file_upload",
        "protocol_version": "1",
        "sha256_digest": hashlib.sha256(path.read_bytes()).hexdigest(),
        **fields,
    }
    with open(path, "rb") as f:
        return requests.post(
            f"{base_url}/legacy/",
            data={k: v for k, v in data.items() if v is not None},
            files={"content": (path.name, f)},
            auth=(PUB, PUB_PW),
            headers=headers,
            timeout=60,
        )


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "null", "Sec-Fetch-Site": "same-site"},
    ],
)
def test_form_posts_from_web_pages_are_refused(server, headers):
    """A page elsewhere cannot replay the publisher credentials a browser holds."""
    base_url, storage, tmp = server
    project = unique("cross-site")
    wheel = make_wheel(tmp / project, project, "1.0")
    r = form_upload(base_url, wheel, headers=headers)
    assert r.status_code == 403
    assert "not from web pages" in r.reason
    assert published(storage, project) == {}
    assert form_upload(base_url, wheel).status_code == 200  # the same upload, as twine sends it


def test_bad_forms_are_refused_with_the_reason(server):
    base_url, storage, tmp = server
    project = unique("bad-form")
    wheel = make_wheel(tmp / project, project, "1.0")
    r = form_upload(base_url, wheel, sha256_digest="0" * 64)
    assert r.status_code == 400
    assert r.reason.startswith(f"The file's sha256 is {sha256(wheel)}, the form says 000")
    r = form_upload(base_url, wheel, sha256_digest=None)
    assert r.status_code == 400
    assert "no sha256_digest" in r.reason
    r = form_upload(base_url, wheel, **{":action": "submit"})
    assert r.status_code == 400
    assert "Unsupported :action 'submit'" in r.reason
    r = form_upload(base_url, wheel, name="someone-else")
    assert r.status_code == 400
    assert "does not match the file" in r.reason
    notes = tmp / "notes.txt"
    notes.write_text("not a distribution")
    r = form_upload(base_url, notes)
    assert r.status_code == 400
    assert "notes.txt is not a distribution" in r.text
    assert published(storage, project) == {}


def test_invalid_distribution_is_refused(server):
    base_url, storage, tmp = server
    project = unique("liar")
    liar = make_wheel(tmp / project, project, "1.0", metadata_version="9.9")
    code, out = twine(base_url, liar)
    assert code == 1, out
    assert "400" in out
    assert "9.9" in out
    junk = tmp / f"{project.replace('-', '_')}-2.0-py3-none-any.whl"
    junk.write_bytes(b"not a zip at all" * 10)
    r = form_upload(base_url, junk)
    assert r.status_code == 400, r.text
    assert published(storage, project) == {}
    assert [i.key for i in storage.list(f"packages/files/{project}/")] == []
