"""Two admins changing the same user at once, in the console over S3: 409s, never a 500.

The console runs on moto S3 through the fault proxy. The first admin's write of the user
store is held at the proxy; the second admin's change lands meanwhile; then the held write
goes on, meets a 412 (the store changed), and the first admin gets the store's verdict.
"""

from __future__ import annotations

import threading
import time

import pytest

from privpi import audit
from privpi.keys import USERS_KEY
from privpi.users import UserStore
from tests.support.console import PASSWORD, login, make_console, post, text

# make test-fast leaves these out: writes held at the fault proxy while a second admin's
# change lands.
pytestmark = pytest.mark.slow

NEW = "a fresh password 42"
DELETE = ("/users/bob/delete", {"confirm": "yes"})
RESET = ("/users/bob/password", {"password": NEW, "repeat": NEW})
ROLE = ("/users/bob/role", {"role": "publisher", "confirm": "yes"})
ADD = ("/users/add", {"username": "carol", "role": "reader", "password": NEW, "repeat": NEW})
ADD_TOO = ("/users/add", {**ADD[1], "password": NEW + "!", "repeat": NEW + "!"})
DEMOTE_BEN = ("/users/ben/role", {"role": "reader", "confirm": "yes"})
DISABLE_ANN = ("/users/ann/enabled", {"enabled": "0", "confirm": "yes"})


@pytest.fixture
def admins(faulty):
    """Two signed-in admins on one console; bob is the user they fight over."""
    store = UserStore(faulty.direct, actor="tests")
    for name, role in (("ann", "admin"), ("ben", "admin"), ("bob", "reader")):
        store.add(name, PASSWORD, role)
    app = make_console(faulty.storage)
    clients = []
    for name in ("ann", "ben"):
        client = app.test_client()
        assert login(client, name).status_code == 303
        clients.append(client)
    return faulty, *clients


def held_while(faulty, slow, first, fast, second):
    """``slow`` posts ``first``, whose user store PUT the proxy holds until ``fast`` has
    posted ``second``; the answers to both, in that order."""
    faulty.proxy.add_rule("PUT", USERS_KEY, action="delay", delay=60, times=1)
    answers = {}
    thread = threading.Thread(target=lambda: answers.update(slow=post(slow, *first)))
    thread.start()
    deadline = time.monotonic() + 30
    while not faulty.proxy.faults():  # the slow admin's write is now held
        assert time.monotonic() < deadline, "the write was never held"
        assert thread.is_alive(), "the write was never held"
        time.sleep(0.02)
    fast_answer = post(fast, *second)
    faulty.proxy.release()
    thread.join(timeout=60)
    return answers["slow"], fast_answer


@pytest.mark.parametrize(
    ("first", "second", "status", "message"),
    [
        (RESET, DELETE, 409, "The user &#39;bob&#39; no longer exists"),
        (ROLE, DELETE, 409, "The user &#39;bob&#39; no longer exists"),
        (ADD, ADD_TOO, 409, "A user named &#39;carol&#39; already exists."),
        # ann is disabled while her demotion of ben is in flight: ben is now the last admin
        (DEMOTE_BEN, DISABLE_ANN, 409, "Not changed: &#39;ben&#39; is the last enabled admin"),
        (DELETE, DELETE, 303, ""),  # both asked for bob to go: he is gone
        (DELETE, RESET, 303, ""),  # the delete retries on the new store and deletes
    ],
    ids=[
        "reset-vs-delete",
        "role-vs-delete",
        "add-vs-add",
        "last-admin",
        "delete-vs-delete",
        "delete-vs-reset",
    ],
)
def test_racing_admins_get_the_stores_verdict_not_a_500(admins, first, second, status, message):
    faulty, ann, ben = admins
    slow, fast = held_while(faulty, ann, first, ben, second)
    assert fast.status_code == 303
    assert slow.status_code == status, text(slow)
    assert message in text(slow)
    store = UserStore(faulty.direct)
    if second is DELETE or first is DELETE:
        assert "bob" not in [u.name for u in store.list()]
    if first is ADD:  # the second add won: its password, not the first one's
        assert store.verify("carol", NEW + "!")
        assert not store.verify("carol", NEW)
    if status == 409:  # a refused change leaves no audit event
        assert audit.latest(faulty.direct, 1)[0]["actor"] == "ben"
