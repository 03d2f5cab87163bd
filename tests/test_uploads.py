"""Upload tickets (privpi.uploads) on both backends: create, receive, finalize, sweep."""

from __future__ import annotations

import hashlib
import io
import threading
import time

import pytest
from click.testing import CliRunner

from privpi import audit, index, uploads
from privpi.cli import main
from privpi.errors import NotFound, ValidationError
from tests.support.distfactory import make_sdist, make_wheel

SECRET = "s" * 40


def arrive(storage, ticket, path) -> None:
    """The bytes reach the ticket's key (in the app: a presigned POST or the signed PUT)."""
    storage.write(ticket.key, path.read_bytes())


def incoming_files(storage) -> list[str]:
    return [i.key for i in storage.list("incoming/") if not i.key.endswith(".ticket.json")]


def test_ticket_key_expiry_and_state_are_stored(storage):
    t = uploads.create(storage, "alice", "demo-1.0-py3-none-any.whl", max_size=1000, ttl=60)
    assert t.key == f"incoming/{t.id}/demo-1.0-py3-none-any.whl"
    loaded, _ = uploads.load(storage, t.id)
    assert loaded == t
    assert 59 <= loaded.expires - time.time() <= 60
    assert loaded.state == "open"
    assert loaded.max_size == 1000


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("notes.txt", "is not a distribution"),
        ("../evil-1.0-py3-none-any.whl", "is not a plain filename"),
        ("a/b-1.0.tar.gz", "is not a plain filename"),
        ("demo-1.0-py3-none-any\x00.whl", "control characters"),
        ("demo.whl", "is not a valid wheel filename"),
        ("a" * 229 + "-1.0-py3-none-any.whl", "longer than 200 characters"),  # 250: no path
        ("x-1.0-py3-none-any.whl.whl", "two extensions"),
    ],
)
def test_bad_filenames_get_no_ticket(folder_storage, filename, message):
    with pytest.raises(ValidationError, match=message) as refused:
        uploads.create(folder_storage, "alice", filename)
    assert str(folder_storage.root) not in str(refused.value)  # no storage path revealed
    assert list(folder_storage.list("incoming/")) == []


def test_upload_finalize_publishes_and_cleans_up(storage, tmp_path):
    wheel = make_wheel(tmp_path, "up-demo", "1.2")
    sdist = make_sdist(tmp_path, "up-demo", "1.2")
    for path in (wheel, sdist):
        t = uploads.create(storage, "alice", path.name)
        arrive(storage, t, path)
        result = uploads.finalize(storage, t.id, "alice")
        assert result == {
            "status": "published",
            "project": "up-demo",
            "version": "1.2",
            "filename": path.name,
        }
    files = {f["filename"]: f for f in index.read_project(storage, "up-demo")["files"]}
    assert set(files) == {wheel.name, sdist.name}
    assert files[wheel.name]["_uploader"] == "alice"
    assert incoming_files(storage) == []
    events = audit.latest(storage, 10, actions={"publish"})
    assert {(e["actor"], e["filename"]) for e in events} == {
        ("alice", wheel.name),
        ("alice", sdist.name),
    }


def test_finalize_before_arrival_is_refused_then_works(storage, tmp_path):
    wheel = make_wheel(tmp_path, "late", "1.0")
    t = uploads.create(storage, "alice", wheel.name)
    with pytest.raises(uploads.TicketConflict, match="has not arrived") as e:
        uploads.finalize(storage, t.id, "alice")
    assert e.value.status == 409
    with pytest.raises(NotFound):
        index.read_project(storage, "late")
    arrive(storage, t, wheel)
    assert uploads.finalize(storage, t.id, "alice")["status"] == "published"


def test_second_finalize_is_refused(storage, tmp_path):
    wheel = make_wheel(tmp_path, "twice", "1.0")
    t = uploads.create(storage, "alice", wheel.name)
    arrive(storage, t, wheel)
    uploads.finalize(storage, t.id, "alice")
    with pytest.raises(uploads.TicketConflict, match="already finalized") as e:
        uploads.finalize(storage, t.id, "alice")
    assert e.value.status == 409
    assert len(index.read_project(storage, "twice")["files"]) == 1


def test_ticket_of_another_user_is_refused(storage, tmp_path):
    wheel = make_wheel(tmp_path, "mine", "1.0")
    t = uploads.create(storage, "alice", wheel.name)
    arrive(storage, t, wheel)
    with pytest.raises(uploads.TicketForbidden, match="belongs to another user") as e:
        uploads.finalize(storage, t.id, "mallory")
    assert e.value.status == 403
    with pytest.raises(NotFound):
        index.read_project(storage, "mine")
    assert uploads.finalize(storage, t.id, "alice")["status"] == "published"


def test_expired_ticket_is_refused_and_its_file_removed(folder_storage, tmp_path):
    wheel = make_wheel(tmp_path, "old", "1.0")
    t = uploads.create(folder_storage, "alice", wheel.name, ttl=-1)
    arrive(folder_storage, t, wheel)
    with pytest.raises(uploads.TicketExpired, match="expired at .* upload it again") as e:
        uploads.finalize(folder_storage, t.id, "alice")
    assert e.value.status == 410
    assert incoming_files(folder_storage) == []
    with pytest.raises(NotFound):
        index.read_project(folder_storage, "old")


def test_unknown_ticket(folder_storage):
    for bad in ("0" * 32, "../../config/users", ""):
        with pytest.raises(uploads.TicketNotFound) as e:
            uploads.finalize(folder_storage, bad, "alice")
        assert e.value.status == 404


def test_invalid_distribution_is_refused_and_removed(storage, tmp_path):
    liar = make_wheel(tmp_path, "liar", "1.0", metadata_version="2.0")
    t = uploads.create(storage, "alice", liar.name)
    arrive(storage, t, liar)
    with pytest.raises(ValidationError, match="2.0"):
        uploads.finalize(storage, t.id, "alice")
    with pytest.raises(NotFound):
        index.read_project(storage, "liar")
    assert not storage.exists("packages/files/liar/" + liar.name)
    assert incoming_files(storage) == []
    with pytest.raises(uploads.TicketConflict, match="already finalized .refused"):
        uploads.finalize(storage, t.id, "alice")


def test_not_a_zip_is_refused(storage):
    t = uploads.create(storage, "alice", "junk-1.0-py3-none-any.whl")
    storage.write(t.key, b"this is not a zip file" * 100)
    with pytest.raises(ValidationError):
        uploads.finalize(storage, t.id, "alice")
    assert not storage.exists("packages/simple/junk/index.json")


def test_same_file_again_is_already_there_other_bytes_refused(storage, tmp_path):
    wheel = make_wheel(tmp_path / "a", "again", "1.0")
    other = make_wheel(tmp_path / "b", "again", "1.0", summary="different bytes")
    statuses = []
    for path in (wheel, wheel):
        t = uploads.create(storage, "alice", path.name)
        arrive(storage, t, path)
        statuses.append(uploads.finalize(storage, t.id, "alice")["status"])
    assert statuses == ["published", "skipped"]
    t = uploads.create(storage, "alice", other.name)
    arrive(storage, t, other)
    with pytest.raises(ValidationError, match="File already exists"):
        uploads.finalize(storage, t.id, "alice")
    (entry,) = index.read_project(storage, "again")["files"]
    assert entry["hashes"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_concurrent_finalizes_publish_once(storage, tmp_path):
    wheel = make_wheel(tmp_path, "race", "1.0")
    t = uploads.create(storage, "alice", wheel.name)
    arrive(storage, t, wheel)
    outcomes = []

    def go():
        try:
            outcomes.append(uploads.finalize(storage, t.id, "alice")["status"])
        except uploads.TicketConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=go) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["published"]
    events = audit.latest(storage, 10, actions={"publish"})
    assert len(events) == 1


def test_receive_refuses_more_than_the_limit(folder_storage):
    t = uploads.create(folder_storage, "alice", "big-1.0-py3-none-any.whl", max_size=1000)
    with pytest.raises(uploads.TooLarge, match="larger than the upload limit of 1000 bytes"):
        uploads.receive(folder_storage, t, io.BytesIO(b"x" * 5000))
    assert incoming_files(folder_storage) == []


def test_signature_binds_ticket_and_expiry(folder_storage):
    t = uploads.create(folder_storage, "alice", "sig-1.0-py3-none-any.whl")
    good = uploads.signature(SECRET, t)
    assert uploads.check_upload(folder_storage, SECRET, t.id, good) == t
    for sig in ("", "0" * 64, uploads.signature("other" * 10, t)):
        with pytest.raises(uploads.TicketForbidden):
            uploads.check_upload(folder_storage, SECRET, t.id, sig)
    old = uploads.create(folder_storage, "alice", "sig-1.0-py3-none-any.whl", ttl=-1)
    with pytest.raises(uploads.TicketExpired):
        uploads.check_upload(folder_storage, SECRET, old.id, uploads.signature(SECRET, old))


def test_sweep_removes_expired_and_orphaned_uploads(storage, tmp_path):
    wheel = make_wheel(tmp_path, "sweep", "1.0")
    fresh = uploads.create(storage, "alice", wheel.name)
    stale = uploads.create(storage, "alice", wheel.name, ttl=-1)
    for t in (fresh, stale):
        arrive(storage, t, wheel)
    storage.write("incoming/orphan/x.whl", b"no ticket")
    assert uploads.sweep(storage) == [stale.key]
    # a day after expiry: the orphan, the stale ticket and the fresh (now expired) upload go too
    later = time.time() + uploads.DEFAULT_TTL + uploads.GRACE + 10
    assert set(uploads.sweep(storage, now=later)) == {
        fresh.key,
        fresh.ticket_key,
        stale.ticket_key,
        "incoming/orphan/x.whl",
    }
    assert list(storage.list("incoming/")) == []


def test_sweep_incoming_command(folder_storage):

    stale = uploads.create(folder_storage, "alice", "cli-1.0-py3-none-any.whl", ttl=-1)
    folder_storage.write(stale.key, b"abandoned")
    r = CliRunner().invoke(main, ["--storage", folder_storage.url, "sweep-incoming"])
    assert r.exit_code == 0, r.output
    assert r.output == f"removed {stale.key}\nSwept 1 object from incoming/.\n"
    assert not folder_storage.exists(stale.key)
