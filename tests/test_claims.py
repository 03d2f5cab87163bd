"""Claimed names: the commands, where the list lives, and that publishing keeps it."""

from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner

from edge import upstream
from privpi import audit, claims, index, keys, publish
from privpi.cli import main
from tests.support.distfactory import make_wheel


@pytest.fixture
def run(storage_url):
    def invoke(*args):
        return CliRunner().invoke(main, ["--storage", storage_url, *args])

    return invoke


def root(storage) -> dict:
    """The root JSON without the commit serials (privpi.index: the protocol's bookkeeping)."""
    page = json.loads(storage.read(keys.ROOT_JSON).body)
    return {k: v for k, v in page.items() if k not in ("_serial", "_serials")}


def test_claim_list_unclaim(run, storage):
    r = run("claim", "Acme_*", "internal.lib")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == ["Claimed acme-*.", "Claimed internal-lib."]
    assert run("claim", "acme-*").output == "acme-* was claimed already.\n"
    assert run("claims").output == "acme-*\ninternal-lib\n"
    # kept under config/, and published where the authenticator reads the private names
    assert json.loads(storage.read(keys.CLAIMS_KEY).body)["claims"] == ["acme-*", "internal-lib"]
    assert root(storage)["_claims"] == ["acme-*", "internal-lib"]
    assert root(storage)["projects"] == []  # the root lists private projects only
    assert [e["action"] for e in audit.latest(storage, 5)][:2] == ["claim", "claim"]
    assert run("unclaim", "ACME-*").output == "Unclaimed acme-*.\n"
    assert root(storage)["_claims"] == ["internal-lib"]
    run("unclaim", "internal-lib")
    assert "_claims" not in root(storage)
    assert run("claims").output.startswith("Nothing is claimed.")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["claim", "acme corp"], "invalid name pattern 'acme corp'"),
        (["claim", "ok", "bad-"], "invalid name pattern 'bad-'"),
        (["claim", "a/../b"], "invalid name pattern"),
        (["unclaim", "never-claimed"], "'never-claimed' is not claimed"),
    ],
)
def test_bad_patterns_are_refused_and_nothing_changes(run, storage, args, message):
    r = run(*args)
    assert r.exit_code == 1
    assert message in r.output
    assert "Traceback" not in r.output
    assert not storage.exists(keys.CLAIMS_KEY)


def test_publish_delete_and_reindex_keep_the_claims(storage, tmp_path):
    claims.claim(storage, "acme-*")
    publish.publish(storage, make_wheel(tmp_path, "acme-tools", "1.0"))
    assert root(storage) == {
        **index.empty_root(),
        "projects": [{"name": "acme-tools"}],
        "_claims": ["acme-*"],
    }
    before = storage.read(keys.ROOT_JSON).body
    publish.reindex(storage)
    assert storage.read(keys.ROOT_JSON).body == before  # byte for byte
    publish.delete(storage, "acme-tools")
    assert root(storage) == {**index.empty_root(), "_claims": ["acme-*"]}


def test_the_edge_reads_what_privpi_publishes(storage, tmp_path):
    """One rule for names and patterns: the edge parses the very root privpi wrote."""
    claims.claim(storage, "acme-*")
    publish.publish(storage, make_wheel(tmp_path, "Private_Lib", "1.0"))
    names = upstream.parse(storage.read(keys.ROOT_JSON).body)
    assert names.private == {"private-lib"}
    assert names.claimed.match("acme-x")
    assert not names.claimed.match("acm")


def test_concurrent_claims_all_reach_the_root(folder_storage):
    patterns = [f"team{i}-*" for i in range(8)]
    threads = [threading.Thread(target=claims.claim, args=(folder_storage, p)) for p in patterns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert claims.read(folder_storage) == sorted(patterns)
    assert root(folder_storage)["_claims"] == sorted(patterns)
