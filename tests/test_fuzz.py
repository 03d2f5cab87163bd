"""Properties over hostile input (hypothesis): nothing raises, escapes packages/, or is
stored unvalidated.

Targets: the whole viewer-request handler (method, URI, Authorization, Accept, event shape),
PEP 691 negotiation (Accept and ?format=),
the Basic-auth parser, the WSGI read path of ``privpi serve`` over a folder holding secrets
outside ``packages/``, distribution filename and metadata parsing, and the twine form
parser at ``/legacy/`` through Flask's test client. Example counts are set per property
(EXAMPLES: the ci profile's, so the file stays within about a minute; the fast profile runs
a twentieth of each, tests/support/examples.py); the run prints them.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from edge import basic_auth, negotiation, paths, viewer_request
from edge.userstore import UserCache
from privpi import distributions, keys
from privpi.errors import StorageError, ValidationError
from privpi.readpath import ReadPath, StorageSource
from privpi.storage import FolderStorage
from privpi.storage.base import check_key
from privpi.users import UserStore
from tests.support.console import make_console, seed_users
from tests.support.distfactory import make_wheel, metadata_text
from tests.support.edge import ALICE_PASSWORD, Clock, MemorySource, default_doc, request_event
from tests.support.examples import examples

EXAMPLES = {
    "handler": 1500,
    "negotiation": 1000,
    "event": 500,
    "credentials": 1500,
    "basic_roundtrip": 500,
    "wsgi": 800,
    "filename": 2000,
    "metadata": 400,
    "archive": 300,
    "legacy": 200,
}
FUZZ = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
AUTH = "Basic " + base64.b64encode(f"alice:{ALICE_PASSWORD}".encode()).decode()
SECRET = b"canary-outside-packages-7f3a"
MEDIA = st.sampled_from([*negotiation.ALIASES, "application/xml", "*/*;q=0", "text/html;q=0.5"])


def basic_header(user: str, password: str = "correct horse battery") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def fuzz(name: str):
    return settings(max_examples=examples(EXAMPLES[name]), **FUZZ)


# -- building blocks ---------------------------------------------------------------------

PIECES = st.sampled_from(
    ["/", "//", "\\", ".", "..", "%2e", "%2E", "%2f", "%2F", "%5c", "%25", "%00", "%0a",
     "%ff", "%c0%ae", "simple", "files", "config", "users.json", "packages", "incoming",
     "index.html", "demo", "Demo_Pkg", "demo-1.0.tar.gz", "x.whl", ".metadata", "?", "#",
     ";", "%", "~", " ", "\u00e9", "\x00", "\x7f", "a" * 300]
)  # fmt: skip
NAMES = st.sampled_from(["demo", "Demo_Pkg", "zope.event", "a", "x" * 80])
ROUTES = st.one_of(
    st.just("/simple/"),
    NAMES.map(lambda n: f"/simple/{n}/"),
    NAMES.map(lambda n: f"/files/{n}/{n}-1.0.tar.gz"),
    NAMES.map(lambda n: f"/files/{n}/{n}-1.0-py3-none-any.whl.metadata"),
)
# A real route with hostile pieces spliced in at a random place.
SPLICED = st.tuples(ROUTES, st.lists(PIECES, max_size=4).map("".join), st.integers(0, 40)).map(
    lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]
)
URIS = st.one_of(
    ROUTES,
    SPLICED,
    st.lists(PIECES, max_size=12).map("".join),
    st.lists(PIECES, max_size=12).map(lambda p: "/" + "".join(p)),
    st.text(max_size=80),
    st.none(),
    st.integers(),
)
HEADER_VALUE = st.one_of(
    st.just(AUTH),
    st.text(max_size=200),
    st.binary(max_size=120).map(lambda b: "Basic " + base64.b64encode(b).decode()),
    st.tuples(st.text(max_size=70), st.text(max_size=70)).map(
        lambda up: "Basic " + base64.b64encode(f"{up[0]}:{up[1]}".encode()).decode()
    ),
    st.sampled_from(["Basic", "Basic ", "basic " + AUTH[6:], "Bearer x", AUTH + "=", AUTH * 2]),
)
ENTRY = st.fixed_dictionaries({"key": st.text(max_size=20), "value": HEADER_VALUE})
ODD_ENTRY = st.dictionaries(st.text(max_size=8), st.integers() | st.none(), max_size=2)
HEADER_ENTRIES = st.one_of(
    st.just([{"key": "Authorization", "value": AUTH}]),
    st.lists(ENTRY, max_size=3),
    st.lists(ODD_ENTRY, max_size=2),
    st.none(),
    st.text(max_size=10),
)  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _edge_store():
    viewer_request.configure(UserCache(MemorySource(default_doc()), clock=Clock()))
    yield
    viewer_request.configure(None)


def assert_in_packages(request: dict) -> None:
    key = unquote(request["uri"])
    assert key.startswith(("/packages/simple/", "/packages/files/")), key
    check_key(key[1:])  # no dot segments, backslashes, control characters or empty parts


# -- the viewer-request handler ----------------------------------------------------------


@fuzz("handler")
@given(
    uri=URIS,
    method=st.one_of(
        st.sampled_from(["GET", "HEAD"]), st.sampled_from(["POST", "PUT", "get", ""]), st.text()
    ),
    auth=HEADER_ENTRIES,
    accept=st.one_of(st.none(), st.text(max_size=120), st.just(keys.JSON_TYPE)),
)
def test_handler_never_raises_and_passes_only_keys_in_packages(uri, method, auth, accept):
    cf_event = request_event("/simple/", "GET")
    request = cf_event["Records"][0]["cf"]["request"]
    request["uri"], request["method"] = uri, method
    if auth is not None:
        request["headers"]["authorization"] = auth
    if accept is not None:
        request["headers"]["accept"] = [{"key": "Accept", "value": accept}]
    result = viewer_request.handler(cf_event)
    event(f"handler: {result.get('status', 'passed to the origin')}")
    if "status" in result:
        # 503 would mean an unexpected exception (the store is healthy here)
        assert result["status"] in ("301", "400", "401", "403", "404", "405", "406")
        return
    assert method in ("GET", "HEAD")
    assert auth
    # the scheme is case-insensitive (RFC 9110 11.1): "basic" is as good as "Basic"
    assert [e.get("value", "").lower() for e in auth] == [AUTH.lower()]
    assert "authorization" not in result["headers"]
    assert_in_packages(result)


@fuzz("negotiation")
@given(
    accept=st.one_of(st.none(), st.text(max_size=200), st.lists(MEDIA, max_size=6).map(", ".join)),
    query=st.one_of(st.none(), st.text(max_size=200), MEDIA.map(lambda m: "format=" + quote(m))),
)
def test_negotiation_answers_a_served_type_or_406(accept, query):
    served = negotiation.choose(accept, query)
    event(f"negotiation: {served}")
    assert served in (*negotiation.SERVED, None)
    if served is None:  # 406 only for an Accept or format naming something, never for neither
        assert (accept or "").strip() or negotiation.format_parameter(query) is not None


@fuzz("event")
@given(shape=st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["Records", "cf", "request", "uri", "headers", "method", "x"]),
        inner, max_size=4),
    max_leaves=12,
))  # fmt: skip
def test_handler_refuses_any_event_shape(shape):
    result = viewer_request.handler(shape)
    assert result.get("status") in ("400", "401", "404", "405", "301")


# -- the Basic-auth parser ---------------------------------------------------------------


@fuzz("credentials")
@given(headers=st.one_of(
    st.dictionaries(st.sampled_from(["authorization", "Authorization", "x"]), HEADER_ENTRIES),
    st.none(), st.text(max_size=10), st.lists(st.integers(), max_size=2),
))  # fmt: skip
def test_credentials_never_raise(headers):
    creds = basic_auth.credentials(headers)
    if creds is not None:
        user, password = creds
        assert isinstance(user, str)
        assert isinstance(password, str)
        assert user
        assert ":" not in user
        assert len(user) <= 64
        assert len(password) <= 1024
        assert all(ord(c) >= 32 and ord(c) != 127 for c in user)


@fuzz("basic_roundtrip")
@given(
    user=st.text(
        st.characters(min_codepoint=32, exclude_characters=":\x7f", exclude_categories=["Cs"]),
        min_size=1,
        max_size=64,
    ),
    password=st.text(st.characters(exclude_categories=["Cs"]), max_size=1024),
    scheme=st.sampled_from(["Basic", "basic", "BASIC"]),
)
def test_credentials_round_trip(user, password, scheme):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    header = {"authorization": [{"key": "Authorization", "value": f"{scheme} {token}"}]}
    assert basic_auth.credentials(header) == (user, password)


# -- the read path of privpi serve, over a folder with secrets outside packages/ ---------


@pytest.fixture(scope="module")
def read_path(tmp_path_factory):
    """(app, cache): the read path over a folder where secrets lie outside packages/."""
    storage = FolderStorage(tmp_path_factory.mktemp("wsgi") / "repo")
    UserStore(storage).add("alice", "correct horse battery", "reader")
    for key in ("config/canary", "incoming/x/canary", "canary"):
        storage.write(key, SECRET)
    storage.write(keys.ROOT_HTML, b"<!DOCTYPE html>root")
    storage.write(keys.file_key("demo", "demo-1.0.tar.gz"), b"sdist bytes")
    storage.write(keys.project_html("demo"), b"<!DOCTYPE html>demo")
    (storage.root / "packages" / ".hidden").write_bytes(SECRET)  # not a storage key
    return ReadPath(storage), UserCache(StorageSource(storage))


def wsgi_get(app, raw: str, auth: str) -> tuple[str, bytes]:
    path = raw.split("?", 1)[0]
    environ = {
        "REQUEST_METHOD": "GET",
        "REQUEST_URI": raw,
        "PATH_INFO": unquote(path).encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": raw.partition("?")[2],
        "HTTP_AUTHORIZATION": auth,
        "HTTP_HOST": "localhost",
        "wsgi.input": io.BytesIO(),
    }
    status = []
    body = b"".join(app(environ, lambda s, h: status.append(s)))
    return status[0], body


@fuzz("wsgi")
@given(
    raw=st.one_of(ROUTES, SPLICED, st.lists(PIECES, max_size=10).map(lambda p: "/" + "".join(p)))
)
def test_read_path_never_serves_outside_packages(read_path, raw):
    app, cache = read_path
    raw = quote(raw, safe="/%\\?#;~:@!$&'()*+,=")  # what a client could put on the wire
    auth = basic_header("alice")
    viewer_request.configure(cache)
    try:
        status, body = wsgi_get(app, raw, auth)
    finally:
        viewer_request.configure(UserCache(MemorySource(default_doc()), clock=Clock()))
    assert not status.startswith("5"), (raw, status)
    event(f"read path answered {status[:3]}")
    assert SECRET not in body


def test_read_path_long_segment_is_a_404(read_path):
    app, cache = read_path
    viewer_request.configure(cache)
    try:
        status, _body = wsgi_get(app, f"/files/{'a' * 300}/a-1.0.tar.gz", basic_header("alice"))
    finally:
        viewer_request.configure(UserCache(MemorySource(default_doc()), clock=Clock()))
    assert status.startswith("404")


# -- filenames and metadata --------------------------------------------------------------

FILENAME = st.one_of(
    st.text(max_size=80),
    st.tuples(
        st.sampled_from(["demo", "Demo_Pkg", "x", "..", ".demo", "a/b", "a\\b", "dé", "a b"]),
        st.sampled_from(["1.0", "1!2.0.post1+local.7", "v1", "1.0-1", "", "..", "1.0\n"]),
        st.sampled_from(["-py3-none-any.whl", ".tar.gz", ".zip", ".whl", ".tgz", ".exe", ""]),
    ).map(lambda t: f"{t[0]}-{t[1]}{t[2]}"),
)


@fuzz("filename")
@given(filename=FILENAME)
def test_filenames_are_refused_cleanly_or_stay_in_their_project(filename):
    try:
        project = distributions.parse_filename(filename).project
    except ValidationError:
        project = None
    if project is not None:
        key = keys.file_key(project, filename)
        check_key(key)
        assert key.startswith(f"packages/files/{project}/")
        assert key.count("/") == 3
        assert all(c not in filename for c in "/\\%?#\"'<> ")


def _wheel_with_metadata(directory: Path, raw: bytes, name: str = "demo") -> Path:
    path = directory / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}-1.0.dist-info/METADATA", raw)
        zf.writestr(f"{name}/__init__.py", b"")
    return path


HEADERS = st.sampled_from(
    ["Metadata-Version", "Name", "Version", "Requires-Python", "Summary", "Requires-Dist",
     "Description-Content-Type", "Dynamic", "License-Expression", "X"]
)  # fmt: skip
METADATA = st.one_of(
    st.binary(max_size=400),
    st.lists(st.tuples(HEADERS, st.text(max_size=40)), max_size=8).map(
        lambda rows: "\n".join(f"{k}: {v}" for k, v in rows).encode("utf-8", "surrogatepass")
    ),
    st.tuples(st.text(max_size=30), st.text(max_size=30), st.text(max_size=30)).map(
        lambda t: (
            f"Metadata-Version: 2.1\nName: {t[0]}\nVersion: {t[1]}\n"
            f"Requires-Python: {t[2]}\n".encode("utf-8", "surrogatepass")
        )
    ),
    st.just(metadata_text("demo", "1.0", requires_python='<4,>="3.8"').encode()),
)


@fuzz("metadata")
@given(raw=METADATA)
def test_metadata_is_validated_or_refused_with_one_sentence(raw):
    with tempfile.TemporaryDirectory() as tmp:
        path = _wheel_with_metadata(Path(tmp), raw)
        try:
            dist = distributions.inspect(path)
        except ValidationError as e:
            message = e.message
        else:
            message = None
    if message is not None:
        assert "\n" not in message.strip() or "demo" in message
        return
    assert (dist.project, dist.version) == ("demo", "1.0")  # nothing else gets through
    assert dist.metadata == raw


@fuzz("archive")
@given(
    body=st.binary(max_size=2000),
    suffix=st.sampled_from(["-py3-none-any.whl", ".tar.gz", ".zip"]),
    prefix=st.sampled_from([b"", b"PK\x03\x04", b"\x1f\x8b\x08\x00"]),
)
def test_corrupt_archives_are_refused(body, suffix, prefix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"demo-1.0{suffix}"
        path.write_bytes(prefix + body)
        with pytest.raises(ValidationError):
            distributions.inspect(path)


# -- the twine form at /legacy/ ----------------------------------------------------------


@pytest.fixture(scope="module")
def legacy(tmp_path_factory):
    """(client, storage, wheels): a console over a folder; six valid wheels to send."""
    root = tmp_path_factory.mktemp("legacy")
    storage = FolderStorage(root / "repo")
    seed_users(storage)
    wheels = [make_wheel(root / "dists", "demo", f"1.{n}") for n in range(6)]
    # The sign-in throttle (tested by the console's own tests) would soon answer 429 to all.
    console = make_console(storage, LOGIN_LIMIT_PER_USER=10**6, LOGIN_LIMIT_PER_ADDRESS=10**6)
    return console.test_client(), storage, wheels


PUBLISHER = basic_header("publisher")
DIGEST = st.one_of(st.text(max_size=70), st.text(st.characters(max_codepoint=127), max_size=70))
HOSTILE = {  # form part -> what may replace the valid value
    ":action": st.one_of(st.none(), st.text(max_size=20), st.just("file_upload ")),
    "name": st.one_of(st.none(), st.text(max_size=40), st.just("other")),
    "version": st.one_of(st.none(), st.text(max_size=20), st.just("2.0")),
    "sha256_digest": st.one_of(st.none(), DIGEST),
    "blake2_256_digest": DIGEST,
    "filename": st.one_of(FILENAME, st.just("demo-1.0-py3-none-any.whl")),
    "content": st.binary(max_size=300),
    "auth": st.one_of(
        st.just(basic_header("reader")),
        st.just(basic_header("publisher", "wrong password 123")),
        st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40),  # no CR/LF
        st.binary(max_size=40).map(lambda b: "Basic " + base64.b64encode(b).decode()),
    ),
}


@fuzz("legacy")
@given(
    n=st.integers(0, 5), broken=st.lists(st.sampled_from(list(HOSTILE)), max_size=3), data=st.data()
)
def test_legacy_form_never_500_and_stores_only_validated_files(legacy, n, broken, data):
    """A valid twine upload with up to three parts replaced by hostile values."""
    client, storage, wheels = legacy
    body = wheels[n].read_bytes()
    parts = {
        ":action": "file_upload",
        "name": "demo",
        "version": f"1.{n}",
        "sha256_digest": hashlib.sha256(body).hexdigest(),
        "filename": wheels[n].name,
        "content": body,
        "auth": PUBLISHER,
    }
    for part in broken:
        parts[part] = data.draw(HOSTILE[part], label=part)
    form = {k: v for k, v in parts.items() if k not in ("filename", "content", "auth")}
    form = {k: v for k, v in form.items() if v is not None}
    form["content"] = (io.BytesIO(parts["content"]), parts["filename"])
    r = client.post("/legacy/", data=form, headers={"Authorization": parts["auth"]})
    assert r.status_code in (200, 400, 401, 403, 413), r.status
    assert all(c.isprintable() for c in r.status), repr(r.status)  # nothing breaks the line
    event(f"/legacy/ answered {r.status_code}")
    assert_only_validated_files(storage)


def assert_only_validated_files(storage) -> None:
    """Every stored distribution is listed on its project page and passes inspect()."""
    listed = set()
    for info in storage.list(keys.SIMPLE):
        if info.key.endswith("/index.json") and info.key != keys.ROOT_JSON:
            project = info.key.split("/")[2]
            page = json.loads(storage.read(info.key).body)
            listed |= {keys.file_key(project, f["filename"]) for f in page["files"]}
    for info in storage.list(""):
        assert info.key.startswith(("packages/", "config/", "incoming/", "console/")), info.key
        if info.key.startswith(keys.FILES) and not info.key.endswith(".metadata"):
            assert info.key in listed, f"{info.key} stored but on no page"
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / info.key.rsplit("/", 1)[1]
                path.write_bytes(storage.read(info.key).body)
                distributions.inspect(path)


def test_folder_storage_refuses_keys_that_escape(tmp_path):
    storage = FolderStorage(tmp_path / "repo")
    for key in ("../x", "packages/../../x", "/etc/passwd", "a//b", "a/./b", "a\\b", ".x"):
        with pytest.raises(StorageError):
            storage.write(key, b"x")
    assert list((tmp_path).iterdir()) in ([], [tmp_path / "repo"])


def damaged_wheel(directory: Path, damage: str) -> Path:
    """A wheel damaged in one of the ways zipfile answers with an unexpected exception."""
    path = make_wheel(directory, "demo", "1.0")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        offset = zf.infolist()[0].header_offset
    central = data.index(b"PK\x01\x02")  # the first member's central directory entry
    if damage == "deflate":  # BFINAL=1, BTYPE=11 at the start of the data: zlib.error
        name_len = int.from_bytes(data[offset + 26 : offset + 28], "little")
        extra_len = int.from_bytes(data[offset + 28 : offset + 30], "little")
        start = offset + 30 + name_len + extra_len
        data[start : start + 2] = b"\xff\xff"
    elif damage == "version":  # "version needed to extract" 8.4: NotImplementedError
        data[central + 6 : central + 8] = (84).to_bytes(2, "little")
    elif damage == "encrypted":  # the encryption flag: RuntimeError (password required)
        data[central + 8] |= 1
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("damage", ["deflate", "version", "encrypted"])
def test_damaged_zip_is_a_validation_error(tmp_path, damage):
    with pytest.raises(ValidationError, match="demo-1.0-py3-none-any.whl"):
        distributions.inspect(damaged_wheel(tmp_path, damage))


# -- coverage-guided fuzzing with atheris (libFuzzer), in a subprocess --------------------
# libFuzzer ends its process when done, so each target runs as `python test_fuzz.py
# atheris TARGET CORPUS -runs=N`; the test checks it finished all runs without a crash.

ATHERIS_RUNS = {"paths": 200_000, "basic_auth": 200_000, "archive": 5000}


def _atheris_target(target: str):
    def paths_one(data: bytes) -> None:
        try:
            route = paths.route(paths.normalize(data.decode("latin-1")))
        except paths.Refused:
            return
        if route.kind != "redirect":
            key = unquote(paths.origin_uri(route, "html"))
            assert key.startswith(("/packages/simple/", "/packages/files/")), key
            check_key(key[1:])

    def basic_auth_one(data: bytes) -> None:
        value = data.decode("utf-8", "replace")
        creds = basic_auth.credentials({"authorization": [{"key": "A", "value": value}]})
        assert creds is None or (creds[0] and ":" not in creds[0])

    def archive_one(data: bytes) -> None:
        suffix = ("-py3-none-any.whl", ".tar.gz", ".zip")[data[0] % 3] if data else ".zip"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"demo-1.0{suffix}"
            path.write_bytes(data[1:])
            try:
                dist = distributions.inspect(path)
            except ValidationError:
                return
            assert (dist.project, dist.version) == ("demo", "1.0")

    return {"paths": paths_one, "basic_auth": basic_auth_one, "archive": archive_one}[target]


@pytest.mark.slow
@pytest.mark.parametrize("target", list(ATHERIS_RUNS))
def test_atheris(target, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    if target == "archive":  # start from real files: libFuzzer mutates them from there
        for i, path in enumerate([make_wheel(tmp_path, "demo", "1.0")]):
            (corpus / f"whl{i}").write_bytes(b"\x00" + path.read_bytes())
    runs = ATHERIS_RUNS[target]
    cmd = [sys.executable, __file__, "atheris", target, str(corpus), f"-runs={runs}"]
    cmd += ["-seed=1", "-max_len=4096", "-timeout=20", f"-artifact_prefix={tmp_path}/"]
    # this file runs as a script: the repository root on its path for tests.support
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    assert f"Done {runs} runs" in r.stderr, r.stderr[-2000:]
    print(r.stderr.strip().splitlines()[-1])


def _instrument(atheris, modules) -> None:
    """Coverage for the code under test only (instrument_all would take 40 s on pytest)."""
    for module in modules:
        for obj in vars(module).values():
            owned = getattr(obj, "__module__", None) == module.__name__
            if inspect.isfunction(obj) and owned:
                atheris.instrument_func(obj)
            elif inspect.isclass(obj) and owned:
                for member in vars(obj).values():
                    if inspect.isfunction(member):
                        atheris.instrument_func(member)


if __name__ == "__main__" and sys.argv[1:2] == ["atheris"]:
    import gzip
    import tarfile
    import zipfile

    import atheris

    from edge import paths

    _instrument(atheris, [paths, basic_auth, distributions, zipfile, tarfile, gzip])
    atheris.Setup([sys.argv[0], *sys.argv[3:]], _atheris_target(sys.argv[2]))
    atheris.Fuzz()


def test_control_characters_in_a_digest_reach_no_status_line_or_header(legacy):
    client, _, wheels = legacy
    body = wheels[0].read_bytes()
    form = {
        ":action": "file_upload",
        "name": "demo",
        "version": "1.0",
        "sha256_digest": "\x00abc\r\nX-Injected: 1\x7f",
        "content": (io.BytesIO(body), wheels[0].name),
    }
    r = client.post("/legacy/", data=form, headers={"Authorization": PUBLISHER})
    assert r.status_code == 400
    assert "X-Injected" not in r.headers
    assert all(c.isprintable() for c in r.status), repr(r.status)
    for name, value in r.headers.items():
        assert all(c.isprintable() for c in name + value), (name, value)
