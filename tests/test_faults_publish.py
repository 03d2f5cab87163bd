"""Publishing under S3 faults: a fault at each step of the protocol loses nothing.

The protocol (privpi/publish.py, privpi/index.py) for the first file of a new project:
file PUT, .metadata PUT, project JSON GET, project HTML PUT, project JSON PUT, root JSON
GET, root HTML PUT, root JSON PUT, audit PUT. For each step: faults that boto3's retries
absorb change nothing; faults that exhaust them fail the publish with a PrivpiError and
leave no page entry pointing at a missing (or different) file; publishing the same file
again completes it. A publisher killed half way is repaired by ``privpi reindex``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser

import pytest

from privpi import index, keys, publish
from privpi.errors import NotFound, PrivpiError
from tests.support.distfactory import make_wheel
from tests.support.faultproxy import EXHAUST

# make test-fast leaves these out: every fault that exhausts boto3's retries waits out
# its backoff, seconds a test.
pytestmark = pytest.mark.slow

WHEEL = "demo-1.0-py3-none-any.whl"
STEPS = {  # step -> (method, key substring as the proxy sees it)
    "file PUT": ("PUT", f"/packages/files/demo/{WHEEL}$"),
    "metadata PUT": ("PUT", f"/packages/files/demo/{WHEEL}.metadata$"),
    "project JSON GET": ("GET", "/packages/simple/demo/index.json"),
    "project HTML PUT": ("PUT", "/packages/simple/demo/index.html"),
    "project JSON PUT": ("PUT", "/packages/simple/demo/index.json"),
    "root JSON GET": ("GET", "/packages/simple/index.json"),
    "root HTML PUT": ("PUT", "/packages/simple/index.html"),
    "root JSON PUT": ("PUT", "/packages/simple/index.json"),
    "audit PUT": ("PUT", "/config/audit/"),
}


class Links(HTMLParser):
    def __init__(self, body: bytes):
        super().__init__()
        self.hrefs: list[str] = []
        self.feed(body.decode())

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])


def sha256(storage, key: str) -> str | None:
    try:
        return hashlib.sha256(storage.read(key).body).hexdigest()
    except NotFound:
        return None


def check_consistent(storage) -> dict[str, set[str]]:
    """Assert no page entry points at a missing or different file; return what is listed.

    Returns {"json": {project/filename}, "html": ..., "root_json": {project}, "root_html": ...}.
    """
    listed = {"json": set(), "html": set(), "root_json": set(), "root_html": set()}
    for info in storage.list(keys.SIMPLE):
        rest = info.key[len(keys.SIMPLE) :]
        if rest == "index.json":
            listed["root_json"] = {p["name"] for p in index.read_root(storage)["projects"]}
        elif rest == "index.html":
            hrefs = Links(storage.read(info.key).body).hrefs
            listed["root_html"] = {h.strip("/") for h in hrefs}
        elif rest.endswith("/index.json"):
            project = rest.split("/")[0]
            for entry in json.loads(storage.read(info.key).body)["files"]:
                key = keys.file_key(project, entry["filename"])
                assert sha256(storage, key) == entry["hashes"]["sha256"], f"{key} in {info.key}"
                if entry["core-metadata"]:
                    meta = keys.metadata_key(project, entry["filename"])
                    assert sha256(storage, meta) == entry["core-metadata"]["sha256"], meta
                listed["json"].add(f"{project}/{entry['filename']}")
        elif rest.endswith("/index.html"):
            project = rest.split("/")[0]
            for href in Links(storage.read(info.key).body).hrefs:
                url, _, fragment = href.partition("#sha256=")
                filename = url.rsplit("/", 1)[1]
                key = keys.file_key(project, filename)
                assert sha256(storage, key) == fragment, f"{key} in {info.key}"
                listed["html"].add(f"{project}/{filename}")
    return listed


def assert_fully_listed(storage, project: str, filename: str) -> None:
    listed = check_consistent(storage)
    assert f"{project}/{filename}" in listed["json"]
    assert f"{project}/{filename}" in listed["html"]
    assert project in listed["root_json"], "the project is missing from the root JSON"
    assert project in listed["root_html"], "the project is missing from the root HTML"


@pytest.fixture
def wheel(tmp_path):
    return make_wheel(tmp_path, "demo", "1.0")


@pytest.fixture
def seeded(faulty, tmp_path):
    """Another project already published, so the root pages exist before the fault."""
    publish.publish(faulty.direct, make_wheel(tmp_path / "other", "other", "2.0"))
    return faulty


@pytest.mark.parametrize("step", list(STEPS))
def test_faults_absorbed_by_retries_at_each_step(seeded, wheel, step):
    method, key = STEPS[step]
    rule = seeded.proxy.add_rule(method, key, action="503", times=EXHAUST - 1)
    result = publish.publish(seeded.storage, wheel)
    assert result.status == "published"
    assert rule.fired == EXHAUST - 1
    assert_fully_listed(seeded.direct, "demo", WHEEL)
    print(f"{step}: {rule.fired} faults absorbed by retries")


@pytest.mark.parametrize("step", list(STEPS))
def test_exhausted_fault_at_each_step_then_publishing_again_completes(seeded, wheel, step):
    method, key = STEPS[step]
    rule = seeded.proxy.add_rule(method, key, action="drop", times=EXHAUST)
    if step == "audit PUT":  # the pages are the commit point: published, with a warning
        assert publish.publish(seeded.storage, wheel).status == "published"
        assert rule.fired == EXHAUST
        assert_fully_listed(seeded.direct, "demo", WHEEL)
        return
    with pytest.raises(PrivpiError):
        publish.publish(seeded.storage, wheel)
    assert rule.fired == EXHAUST
    listed = check_consistent(seeded.direct)  # nothing points at a missing file
    assert "other/other-2.0-py3-none-any.whl" in listed["json"]  # nothing else was lost
    assert "other" in listed["root_json"]

    result = publish.publish(seeded.storage, wheel, existing="skip")
    assert result.status in ("published", "skipped")
    assert_fully_listed(seeded.direct, "demo", WHEEL)


@pytest.mark.parametrize("step", [s for s in STEPS if s.endswith("PUT")])
def test_lost_answer_to_an_applied_write_at_each_step(seeded, wheel, step):
    """S3 applies the PUT but the answer is dropped; boto3 retries the applied write."""
    method, key = STEPS[step]
    seeded.proxy.add_rule(method, key, action="drop_after", times=1)
    try:
        publish.publish(seeded.storage, wheel)
    except PrivpiError as e:
        print(f"{step}: {e}")
    check_consistent(seeded.direct)
    publish.publish(seeded.storage, wheel, existing="skip")
    listed = check_consistent(seeded.direct)
    assert f"demo/{WHEEL}" in listed["json"]
    assert f"demo/{WHEEL}" in listed["html"]


def test_lost_answer_to_the_new_project_json_keeps_the_root_in_step(seeded, wheel):
    """The project JSON is created (If-None-Match) but the answer is lost: the retry's 412
    makes publish re-read a page that already lists the file and skip the root."""
    seeded.proxy.add_rule("PUT", STEPS["project JSON PUT"][1], action="drop_after", times=1)
    publish.publish(seeded.storage, wheel)
    assert_fully_listed(seeded.direct, "demo", WHEEL)


def test_concurrent_publishers_with_faults_on_every_page_write(faulty, tmp_path):
    """Six versions of one project at once; every page PUT first answers 503."""
    publish.publish(faulty.direct, make_wheel(tmp_path, "demo", "0.1"))
    rule = faulty.proxy.add_rule("PUT", "/packages/simple/demo/", first_try=True, times=10**6)
    wheels = [make_wheel(tmp_path, "demo", f"1.{i}") for i in range(6)]
    errors: list[Exception] = []

    def run(path):
        try:
            publish.publish(faulty.storage, path)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(w,)) for w in wheels]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    listed = check_consistent(faulty.direct)
    assert {f"demo/{w.name}" for w in wheels} <= listed["json"]
    assert {f"demo/{w.name}" for w in wheels} <= listed["html"]
    print(f"6 concurrent publishers: {rule.fired} faults absorbed by retries")


# -- a publisher killed half way, then privpi reindex -----------------------------------


def privpi(faulty, *args, **kw) -> subprocess.Popen:
    env = {**os.environ, **faulty.env}
    cmd = [sys.executable, "-m", "privpi", *args]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def wait_for(predicate, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.parametrize("step", ["metadata PUT", "project JSON PUT", "root JSON PUT"])
def test_publisher_killed_mid_way_is_completed_by_running_it_again(seeded, wheel, step):
    method, key = STEPS[step]
    hold = seeded.proxy.add_rule(method, key, action="delay", delay=60, times=1)
    proc = privpi(seeded, "upload", str(wheel))
    wait_for(lambda: hold.fired == 1)  # the publisher is inside this step
    proc.kill()
    proc.communicate(timeout=10)
    seeded.proxy.release()  # the in-flight request still reaches S3, as it may in reality
    time.sleep(0.2)
    check_consistent(seeded.direct)

    repair = privpi(seeded, "reindex")  # safe meanwhile: a young unlisted file is left alone
    out, err = repair.communicate(timeout=120)
    assert repair.returncode == 0, err.decode()
    check_consistent(seeded.direct)
    again = privpi(seeded, "upload", "--skip-existing", str(wheel))
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()
    assert_fully_listed(seeded.direct, "demo", WHEEL)
    assert_fully_listed(seeded.direct, "other", "other-2.0-py3-none-any.whl")


def test_interrupted_overwrite_is_completed_by_running_it_again(faulty, tmp_path):
    """--overwrite replaces the bytes first, then the pages: a failure in between leaves the
    project JSON listing the old hash for the new bytes (pip would refuse the download) until
    the same command runs again."""
    publish.publish(faulty.direct, make_wheel(tmp_path / "a", "demo", "1.0"))
    replacement = make_wheel(tmp_path / "b", "demo", "1.0", padding=1000)
    faulty.proxy.add_rule("PUT", STEPS["project JSON PUT"][1], action="503", times=EXHAUST)
    with pytest.raises(PrivpiError):
        publish.publish(faulty.storage, replacement, existing="overwrite")
    with pytest.raises(AssertionError, match=WHEEL):
        check_consistent(faulty.direct)  # the window an interrupted overwrite leaves open

    result = publish.publish(faulty.storage, replacement, existing="overwrite")
    assert result.status == "replaced"
    check_consistent(faulty.direct)
    page = index.read_project(faulty.direct, "demo")
    assert (
        page["files"][0]["hashes"]["sha256"] == hashlib.sha256(replacement.read_bytes()).hexdigest()
    )


# -- delete under faults -----------------------------------------------------------------


@pytest.mark.parametrize("target", ["file", "metadata"])
def test_failed_delete_can_be_run_again_until_the_bytes_are_gone(faulty, wheel, target):
    """A delete whose file DELETE fails must be retryable: the bytes of a deleted (perhaps
    leaked) package must not stay downloadable, nor come back at the next reindex."""
    publish.publish(faulty.direct, wheel)
    key = STEPS["file PUT" if target == "file" else "metadata PUT"][1]
    faulty.proxy.add_rule("DELETE", key, action="drop", times=EXHAUST)
    with pytest.raises(PrivpiError):
        publish.delete(faulty.storage, "demo", "1.0")
    check_consistent(faulty.direct)  # the pages no longer list it
    assert publish.delete(faulty.storage, "demo", "1.0") == [WHEEL]  # the same command again
    assert not faulty.direct.exists(keys.file_key("demo", WHEEL))
    assert not faulty.direct.exists(keys.metadata_key("demo", WHEEL))


# -- reindex under faults ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "key"),
    [
        ("PUT", "/packages/simple/demo/index.json"),
        ("PUT", "/packages/simple/index.html"),
    ],
)
def test_failed_reindex_can_be_run_again(seeded, wheel, method, key):
    publish.publish(seeded.direct, wheel)
    for info in list(seeded.direct.list(keys.SIMPLE)):  # the accident: every page lost
        seeded.direct.delete(info.key)
    rule = seeded.proxy.add_rule(method, key, action="drop", times=EXHAUST)
    with pytest.raises(PrivpiError):
        publish.reindex(seeded.storage)
    assert rule.fired == EXHAUST
    check_consistent(seeded.direct)
    publish.reindex(seeded.storage)
    assert_fully_listed(seeded.direct, "demo", WHEEL)
    assert_fully_listed(seeded.direct, "other", "other-2.0-py3-none-any.whl")


def test_reindex_never_unlists_a_file_it_could_not_read(seeded, wheel):
    publish.publish(seeded.direct, wheel)
    seeded.proxy.add_rule("GET", f"/packages/files/demo/{WHEEL}$", action="drop", times=EXHAUST)
    with contextlib.suppress(PrivpiError):  # failing is fine; forgetting the file is not
        publish.reindex(seeded.storage)
    assert f"demo/{WHEEL}" in check_consistent(seeded.direct)["json"]


def test_chaos_every_request_may_fail_nothing_is_lost(faulty, tmp_path):
    """A seeded 45% of all requests answer 503 or lose their connection; the publishes
    that fail are simply run again once S3 is healthy."""
    wheels = [make_wheel(tmp_path, f"chaos{i % 3}", f"1.{i}") for i in range(8)]
    faulty.proxy.add_rule("*", "/", action="503", chance=0.3, times=10**6)
    faulty.proxy.add_rule("*", "/", action="drop", chance=0.2, times=10**6)
    failed = []
    for path in wheels:
        try:
            publish.publish(faulty.storage, path)
        except PrivpiError:
            failed.append(path)
        check_consistent(faulty.direct)  # after every publish, failed or not
    injected = len(faulty.proxy.faults())
    faulty.proxy.clear()
    for path in failed:
        publish.publish(faulty.storage, path, existing="skip")
    for path in wheels:
        assert_fully_listed(faulty.direct, path.name.split("-")[0], path.name)
    assert failed, "no publish failed: the chaos was too mild to test anything"
    print(f"chaos: {injected} faults injected, {len(failed)} of 8 publishes failed and reran")
