"""The deployable zip: contents, size, determinism, and a handler that runs from it alone."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile

import boto3
import pytest
from click.testing import CliRunner

from privpi.aws.edgebuild import build_zip
from privpi.cli import main
from privpi.keys import ROOT_JSON, USERS_KEY
from tests.support.edge import default_doc, load_event


def test_zip_holds_handler_modules_and_config():
    data = build_zip("my-bucket", "eu-west-1", realm="Team", prefix="/team/")
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(zf.namelist()) == [
        "config.json",
        "edge/__init__.py",
        "edge/basic_auth.py",
        "edge/negotiation.py",
        "edge/paths.py",
        "edge/pbkdf2.py",
        "edge/s3source.py",
        "edge/sigv4.py",
        "edge/upstream.py",
        "edge/userstore.py",
        "viewer_request.py",
    ]
    assert json.loads(zf.read("config.json")) == {
        "bucket": "my-bucket",
        "region": "eu-west-1",
        "realm": "Team",
        "prefix": "team",
        "users_key": f"team/{USERS_KEY}",
        "names_key": f"team/{ROOT_JSON}",
    }
    assert len(data) < 256 * 1024  # goal; the hard Lambda@Edge limit is 1 MB


def test_upstream_is_baked_in_only_when_given():
    data = build_zip("my-bucket", "eu-west-1", prefix="team", upstream="https://pypi.org/simple")
    config = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("config.json"))
    assert config["upstream"] == "https://pypi.org/simple/"
    assert config["names_key"] == f"team/{ROOT_JSON}"
    plain = json.loads(
        zipfile.ZipFile(io.BytesIO(build_zip("my-bucket", "eu-west-1"))).read("config.json")
    )
    assert "upstream" not in plain
    assert plain["names_key"] == ROOT_JSON  # always: quarantined projects' files answer 404


def test_zip_is_deterministic():
    assert build_zip("my-bucket", "eu-west-1") == build_zip("my-bucket", "eu-west-1")
    assert build_zip("my-bucket", "eu-west-1") != build_zip("my-bucket", "eu-west-2")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bucket", "My_Bucket", "--region", "eu-west-1"], "invalid S3 bucket name 'My_Bucket'"),
        (["--bucket", "my-bucket", "--region", "europe"], "invalid AWS region 'europe'"),
        (["--bucket", "my-bucket", "--region", "eu-west-1", "--realm", 'a"b'], "invalid realm"),
        (
            ["--bucket", "my-bucket", "--region", "eu-west-1", "--upstream", "https://u:p@x/s/"],
            "invalid upstream index URL 'https://u:p@x/s/'",
        ),
        (
            ["--bucket", "my-bucket", "--region", "eu-west-1", "--upstream", "ftp://x/simple/"],
            "invalid upstream index URL",
        ),
    ],
)
def test_cli_refuses_bad_settings(tmp_path, args, message):
    out = tmp_path / "edge.zip"
    result = CliRunner().invoke(main, ["edge", "build", *args, "--output", str(out)])
    assert result.exit_code == 1
    assert message in result.output
    assert not out.exists()


def test_cli_writes_the_zip(tmp_path):
    out = tmp_path / "edge.zip"
    args = ["edge", "build", "--bucket", "my-bucket", "--region", "us-east-1", "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == build_zip("my-bucket", "us-east-1")
    assert f"Wrote {out}" in result.output


SCRIPT = textwrap.dedent(
    """
    import json, sys
    unpacked, event_file = sys.argv[1:3]
    sys.path[:] = [unpacked] + [p for p in sys.path if "site-packages" not in p]
    import viewer_request
    assert viewer_request.__file__.startswith(unpacked), viewer_request.__file__
    primed = viewer_request._state["store"]._doc is not None  # read in the init phase
    names = viewer_request._state["names"]
    primed = primed and (names is None or names._doc is not None)
    for absent in ("privpi", "boto3", "botocore"):
        try:
            __import__(absent)
        except ImportError:
            pass
        else:
            raise SystemExit(absent + " is importable")
    event = json.load(open(event_file))
    first = viewer_request.handler(event, None)
    event = json.load(open(event_file))
    event["Records"][0]["cf"]["request"]["headers"]["authorization"][0]["value"] = "Basic eDp5"
    second = viewer_request.handler(event, None)
    event = json.load(open(event_file))
    event["Records"][0]["cf"]["request"]["uri"] = "/simple/not-private/"
    third = viewer_request.handler(event, None)
    edge_modules = sorted(m for m in sys.modules if m.startswith("edge"))
    print(json.dumps({"primed": primed, "first": first, "second": second, "third": third,
                      "modules": edge_modules}))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("upstream", [None, "https://pypi.org/simple/"])
def test_handler_runs_from_unpacked_zip_alone(tmp_path, s3_bucket, moto_endpoint, upstream):
    """-I -S: no site, no .pth (so no editable privpi), and no boto3: the zip reads the store
    (and with an upstream the root index) with its own signed GETs, at import time (Lambda's
    init phase)."""
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    client.put_object(Bucket=s3_bucket, Key=USERS_KEY, Body=json.dumps(default_doc()).encode())
    root = {"meta": {"api-version": "1.1"}, "projects": [{"name": "demo-pkg"}]}
    client.put_object(Bucket=s3_bucket, Key=ROOT_JSON, Body=json.dumps(root).encode())
    unpacked = tmp_path / "zip"
    data = build_zip(s3_bucket, "us-east-1", upstream=upstream)
    zipfile.ZipFile(io.BytesIO(data)).extractall(unpacked)
    (tmp_path / "event.json").write_text(json.dumps(load_event("valid")))  # alice's password
    proc = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            SCRIPT,
            str(unpacked),
            str(tmp_path / "event.json"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        },
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["primed"] is True
    assert out["first"]["uri"] == "/packages/simple/demo-pkg/index.json"
    assert out["second"]["status"] == "401"
    if upstream:
        assert out["third"]["status"] == "302"
        location = out["third"]["headers"]["location"][0]["value"]
        assert location == "https://pypi.org/simple/not-private/"
    else:
        assert out["third"]["uri"] == "/packages/simple/not-private/index.json"
    assert out["modules"] == [
        "edge",
        "edge.basic_auth",
        "edge.negotiation",
        "edge.paths",
        "edge.pbkdf2",
        "edge.s3source",
        "edge.sigv4",
        "edge.upstream",
        "edge.userstore",
    ]


def test_zip_over_the_limit_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr("privpi.aws.edgebuild.MAX_ZIP", 1000)
    out = tmp_path / "edge.zip"
    args = ["edge", "build", "--bucket", "my-bucket", "--region", "us-east-1", "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "over the 1 MB limit" in result.output
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_is_one_clear_error(tmp_path):
    out = tmp_path / "missing-dir" / "edge.zip"
    args = ["edge", "build", "--bucket", "my-bucket", "--region", "us-east-1", "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot write {out}")
    assert "Traceback" not in result.output
