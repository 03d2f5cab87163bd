"""privpi's own S3 client (privpi/storage/s3client.py) against moto over HTTP: what botocore
did for privpi before, kept: credentials from the environment or botocore's chain, retried
bodies sent whole again, keys of every character class, and no botocore in an upload."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from privpi import index
from privpi.errors import PreconditionFailed
from privpi.storage import Blob, open_storage
from privpi.storage.s3 import S3Config, S3Storage
from tests.support.distfactory import make_wheel

ODD_KEY = "team a/ünï+code/@key=~(1) %20.json"  # every character class SigV4 escapes

# Runs privpi in a fresh interpreter, then prints the boto3/botocore modules it imported.
PROBE = """
import json, sys
from privpi.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    code = e.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore"))
print(json.dumps({"code": code, "loaded": loaded}))
"""


def run_privpi(env: dict[str, str], *argv: str) -> tuple[dict, str]:
    run = subprocess.run(
        [sys.executable, "-W", "error", "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return json.loads(run.stdout.splitlines()[-1]), run.stderr


def test_upload_with_credentials_in_the_environment_imports_no_botocore(s3_storage, tmp_path):
    wheel = make_wheel(tmp_path, "demo", "1.0")
    env = {**os.environ, "PRIVPI_STORAGE": s3_storage.url}
    result, err = run_privpi(env, "upload", str(wheel))
    assert result == {"code": 0, "loaded": []}, err
    (entry,) = index.read_project(s3_storage, "demo")["files"]
    assert entry["filename"] == wheel.name


def test_credentials_come_from_a_profile_when_the_environment_has_none(s3_storage, tmp_path):
    profile = tmp_path / "credentials"
    profile.write_text("[ci]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = s3cr3t\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ACCESS_KEY_ID")}
    env.pop("AWS_SECRET_ACCESS_KEY", None)
    env |= {"AWS_SHARED_CREDENTIALS_FILE": str(profile), "AWS_PROFILE": "ci"}
    env |= {"PRIVPI_STORAGE": s3_storage.url}
    result, err = run_privpi(env, "upload", str(make_wheel(tmp_path, "demo", "1.0")))
    assert result["code"] == 0, err
    assert "botocore.credentials" in result["loaded"]  # botocore's chain found them
    assert [f["filename"] for f in index.read_project(s3_storage, "demo")["files"]]


def test_no_credentials_anywhere_is_one_clear_line(s3_storage, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",  # loopback only: no instance metadata probe
        "PRIVPI_STORAGE": s3_storage.url,
    }
    result, err = run_privpi(env, "upload", str(make_wheel(tmp_path, "demo", "1.0")))
    assert result["code"] == 1
    assert f"no AWS credentials found to reach bucket {s3_storage.config.bucket}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("action", ["503", "drop", "drop_after"])
def test_a_retried_file_body_is_sent_whole_again(faulty, tmp_path, action):
    """The first attempt reads the file; the retry must rewind it, from where it began."""
    path = tmp_path / "big.bin"
    path.write_bytes(b"head" + os.urandom(3 * 1024 * 1024))
    faulty.proxy.add_rule("PUT", "big.bin", action=action)
    with path.open("rb") as f:
        f.seek(4)
        etag = faulty.storage.write("files/big.bin", f)
    assert faulty.direct.read("files/big.bin") == Blob(path.read_bytes()[4:], etag)
    assert [e.outcome for e in faulty.proxy.log if e.method == "PUT"][0] == action


def test_keys_of_every_character_class_round_trip(s3_storage):
    etag = s3_storage.write(ODD_KEY, b"odd")
    assert s3_storage.read(ODD_KEY).body == b"odd"
    assert [(o.key, o.etag) for o in s3_storage.list("team a/")] == [(ODD_KEY, etag)]
    assert s3_storage.copy(ODD_KEY, f"{ODD_KEY}.copy") == etag
    assert s3_storage.read_range(ODD_KEY, 1, 5) == b"dd"


def test_the_storage_is_shared_by_threads(s3_storage):
    """Each thread keeps its own connection: a console's threads share one storage."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    def roundtrip(i: int) -> bytes:
        s3_storage.write(f"t/{i}", str(i).encode())
        return s3_storage.read(f"t/{i}").body

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(roundtrip, range(40))) == [str(i).encode() for i in range(40)]


def test_a_bucket_that_does_not_exist_is_named(moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    storage = open_storage("s3://no-such-bucket-here")
    with pytest.raises(Exception, match="bucket no-such-bucket-here does not exist"):
        storage.read("x")


class _RefusesFromTheHeaders(BaseHTTPRequestHandler):
    """Answers a PUT's headers with S3's 412, as S3 does for a conditional write that lost
    its race, before the body: a client that sends the body anyway would be cut off."""

    protocol_version = "HTTP/1.1"

    def handle_expect_100(self) -> bool:
        body = b"<Error><Code>PreconditionFailed</Code><Message>At least one</Message></Error>"
        self.send_response(412)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True
        return False

    def log_message(self, *args) -> None:
        pass


def test_a_file_upload_refused_from_its_headers_sends_no_body(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusesFromTheHeaders)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        storage = S3Storage(S3Config("bucket", endpoint_url=endpoint))
        path = tmp_path / "big.whl"
        path.write_bytes(os.urandom(4 * 1024 * 1024))
        with path.open("rb") as f:
            with pytest.raises(PreconditionFailed):
                storage.write("files/big.whl", f, if_none_match=True)
            assert f.tell() == 0  # not a byte of it was read to be sent
    finally:
        server.shutdown()
        server.server_close()
