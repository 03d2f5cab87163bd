"""The storage key space and the HTTP headers each kind of key is served with.

URL ``/simple/<name>/`` is key ``packages/simple/<name>/index.html`` (or ``index.json``);
URL ``/files/<name>/<filename>`` is key ``packages/files/<name>/<filename>``.
Publishing writes the content type and CloudFront's Cache-Control to S3; viewers get the
VIEWER_* Cache-Control from CloudFront's response headers policies, and the local server
sends the same, so both answer alike.
"""

from __future__ import annotations

PACKAGES = "packages/"
SIMPLE = "packages/simple/"
FILES = "packages/files/"
ROOT_HTML = "packages/simple/index.html"
ROOT_JSON = "packages/simple/index.json"
INCOMING = "incoming/"
# What the console shows of each version, computed by its first view (privpi.descriptions).
CONSOLE = "console/"
# The listing summary: per project what privpi projects and the console's lists show, kept
# by every page commit (privpi.listing); gzipped JSON, never served (not under packages/).
LISTING = "console/listing.json.gz"
USERS_KEY = "config/users.json"
# Names that never fall through to the upstream index (privpi.claims); published into
# ROOT_JSON as well, where the authenticator reads them.
CLAIMS_KEY = "config/claims.json"
AUDIT = "config/audit/"  # one object per event, newest first in key order
# Zappa's remote_env: the console's secret key, read by the console at cold start.
CONSOLE_ENV_KEY = "config/console-env.json"
# The CloudFront distribution in front of the bucket, {"distribution_id": ...}: written by
# privpi deploy, read by whoever deletes or overwrites a file to invalidate its cached copy.
DISTRIBUTION = "config/distribution.json"

HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
# PEP 691 also names this HTML flavour; plain text/html is what pip accepts from any index.
HTML_V1_TYPE = "application/vnd.pypi.simple.v1+html"
METADATA_TYPE = "text/plain; charset=utf-8"

# Cache-Control stored with each object, which is what CloudFront caches by (see
# docs/caching.md): index pages change with every publish, so CloudFront revalidates them
# with S3 on every request (a 304 while the ETag matches); a file name is never reused for
# other bytes except by --overwrite or a delete, which invalidate it (Storage.invalidate).
INDEX_CACHE = "max-age=0"
FILE_CACHE = "max-age=31536000, immutable"
# Cache-Control viewers receive, from CloudFront's response headers policies
# (privpi/aws/templates/distribution.yaml) and from privpi serve alike: private, so no shared
# cache between the repository and pip keeps private packages.
VIEWER_INDEX_CACHE = "private, no-cache"
VIEWER_FILE_CACHE = "private, max-age=31536000, immutable"


def project_html(project: str) -> str:
    return f"{SIMPLE}{project}/index.html"


def project_json(project: str) -> str:
    return f"{SIMPLE}{project}/index.json"


def file_key(project: str, filename: str) -> str:
    return f"{FILES}{project}/{filename}"


def metadata_key(project: str, filename: str) -> str:
    return f"{FILES}{project}/{filename}.metadata"


def console_description(project: str, version: str) -> str:
    return f"{CONSOLE}{project}/{version}/description.json"


def content_type(key: str) -> str:
    if key.endswith(".html"):
        return HTML_TYPE
    if key.endswith(".json") and key.startswith(SIMPLE):
        return JSON_TYPE
    if key.endswith(".metadata"):
        return METADATA_TYPE
    if key.endswith((".whl", ".zip")):
        return "application/zip"
    if key.endswith((".tar.gz", ".tgz")):
        return "application/gzip"
    return "application/octet-stream"


def cache_control(key: str) -> str:
    return INDEX_CACHE if key.startswith(SIMPLE) else FILE_CACHE


def viewer_cache_control(key: str) -> str:
    return VIEWER_INDEX_CACHE if key.startswith(SIMPLE) else VIEWER_FILE_CACHE
