"""Build the Lambda@Edge zip: ``viewer_request.py`` at the root, the ``edge`` modules it
imports, and ``config.json`` with the settings Lambda@Edge cannot take from the environment.

The zip is deterministic (sorted entries, fixed timestamps and permissions), so the same
inputs give the same bytes and CloudFormation sees no change when nothing changed.
The handler needs nothing but the standard library (it signs its own S3 GET): no boto3.
"""

from __future__ import annotations

import ast
import io
import json
import re
import zipfile
from importlib import resources

from ..errors import ValidationError
from ..keys import ROOT_JSON, USERS_KEY
from ..settings import check_upstream
from ..storage import BUCKET_NAME

EDGE_DIR = resources.files("edge")  # the installed package's sources are the zip's
HANDLER = "viewer_request"
MAX_ZIP = 1024 * 1024  # the Lambda@Edge viewer-request limit
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
EPOCH = (1980, 1, 1, 0, 0, 0)


def edge_imports(module: str) -> set[str]:
    """The ``edge`` modules a module imports, followed transitively."""
    found: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        tree = ast.parse((EDGE_DIR / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module == "edge":
                names = [a.name for a in node.names]
            elif (
                isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("edge.")
            ):
                names = [node.module.split(".")[1]]
            elif isinstance(node, ast.Import):
                names = [a.name.split(".")[1] for a in node.names if a.name.startswith("edge.")]
            for dep in names:
                if dep not in found and (EDGE_DIR / f"{dep}.py").is_file():
                    found.add(dep)
                    todo.append(dep)
    return found


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3  # unix, whatever machine builds it
    return info


def build_zip(
    bucket: str, region: str, realm: str = "privpi", prefix: str = "", upstream: str | None = None
) -> bytes:
    """The deployable zip as bytes; ValidationError for a bad bucket, region, realm or
    upstream URL (privpi.claims: names neither private nor claimed redirect there)."""
    if not BUCKET_NAME.match(bucket or ""):
        raise ValidationError(f"invalid S3 bucket name {bucket!r}")
    if not REGION.match(region or ""):
        raise ValidationError(f"invalid AWS region {region!r} (for example eu-west-1)")
    if not realm or len(realm) > 100 or any(c in realm for c in '"\\') or not realm.isprintable():
        raise ValidationError(f"invalid realm {realm!r}: printable, no quotes, 1-100 characters")
    prefix = prefix.strip("/")
    config = {
        "bucket": bucket,
        "region": region,
        "realm": realm,
        "prefix": prefix,
        "users_key": f"{prefix}/{USERS_KEY}" if prefix else USERS_KEY,
        # Always: the root lists quarantined projects, whose files the handler refuses.
        "names_key": f"{prefix}/{ROOT_JSON}" if prefix else ROOT_JSON,
    }
    if upstream:  # off unless given
        config["upstream"] = check_upstream(upstream)
    files = {
        f"{HANDLER}.py": (EDGE_DIR / f"{HANDLER}.py").read_bytes(),
        "edge/__init__.py": b"",
        "config.json": json.dumps(config, indent=1, sort_keys=True).encode() + b"\n",
    }
    for dep in edge_imports(HANDLER):
        files[f"edge/{dep}.py"] = (EDGE_DIR / f"{dep}.py").read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in sorted(files):
            zf.writestr(_entry(name), files[name], compresslevel=9)
    data = out.getvalue()
    if len(data) > MAX_ZIP:
        raise ValidationError(f"the edge zip is {len(data)} bytes, over the 1 MB limit")
    return data
