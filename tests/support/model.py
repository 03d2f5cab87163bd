"""A reference model of the repository, and a seeded scheduler that races operations on it.

Each *step* runs one to three operations at once (threads, one storage client each) on a
real backend with seeded faults (tests/support/model_backends.py: a moto bucket through the
fault proxy, or a folder through FaultyStorage): errors, dropped connections, lost answers,
late requests (the caller's wait is ended at once, as by a timeout, and the request is
held and delivered up to the backend's ``hold`` later or when the step's faults are
cleared) and seeded jitter. Then the faults are cleared (held requests delivered), every
operation that failed is run again until it finishes, and:

- the invariant is checked on the storage itself (:func:`observe`): the HTML of every
  page is the rendering of its JSON; every listed file is stored with the listed sha256,
  size and ``.metadata`` hash; the root lists exactly the projects whose page lists files;
  nothing is stored that no page lists; the listing summary says what the pages say;
- the reference model (:class:`State`) must explain what happened: some order of the
  step's operations (each failed one taking effect or not before its re-run) in which each
  operation's answer is the one the model gives and which ends in the storage's state.
  The grace period it reasons with is ``index.GRACE``, which the run sets to the
  backend's ``grace`` (longer than any hold, so the design's assumption holds).

Everything random comes from the seed (``Scenario(seed, ...)``); thread timing does not, so
a replayed seed replays the same operations and faults but not always the same interleaving.

Cost: on S3 what a step waits for is moto and boto3's back-off, so run_scenarios runs
several scenarios (own bucket, proxy, clients) in threads; a late request ends its client's
wait at once instead of a read timeout; the racing clients retry once, not three times (the
faults are sized for it); the invariant check reads only the pages whose listed ETag
changed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.version import Version

from privpi import index, keys, pages, publish
from privpi.distributions import inspect, parse_filename
from privpi.errors import PrivpiError, ValidationError
from tests.support.distfactory import make_sdist, make_wheel
from tests.support.listing import summary_problems

UNLISTED = " is stored but no page lists it"  # a problem observe reports
ACTIONS = ("503", "drop", "drop_after", "late")  # the proxy's; tests/support/model_backends.py


@dataclass(frozen=True)
class Dist:
    project: str
    filename: str
    version: str
    kind: str
    path: Path
    sha256: str
    size: int
    md5: str
    metadata_sha256: str | None
    metadata_md5: str | None


def build_pool(directory: Path) -> list[Dist]:
    """Two projects; versions with a wheel in two byte variants and an sdist."""
    paths = []
    for project, versions in (("mp", ("1.0", "1.1", "2.0")), ("mq", ("1.0",))):
        for v in versions:
            paths.append(make_wheel(directory / "a", project, v))
            paths.append(make_wheel(directory / "b", project, v, padding=200))
            paths.append(make_sdist(directory / "a", project, v))
    return [_dist(p) for p in paths]


def _dist(path: Path) -> Dist:
    d = inspect(path)
    body = path.read_bytes()
    meta = d.metadata if d.kind == "wheel" else None
    return Dist(
        d.project,
        d.filename,
        d.version,
        d.kind,
        path,
        d.sha256,
        d.size,
        hashlib.md5(body).hexdigest(),
        hashlib.sha256(meta).hexdigest() if meta else None,
        hashlib.md5(meta).hexdigest() if meta else None,
    )


# -- operations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    kind: str  # publish | yank | unyank | delete | reindex
    dist: Dist | None = None
    mode: str = "refuse"  # publish: refuse | skip | overwrite
    project: str | None = None
    version: str | None = None
    filename: str | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.kind == "publish":
            variant = self.dist.path.parent.name
            return f"publish({self.dist.filename}/{variant}, {self.mode})"
        args = [a for a in (self.project, self.version, self.filename) if a]
        return f"{self.kind}({', '.join(args)})"

    def rerun(self) -> Op:
        """The same operation as its user runs it again (a plain upload with --skip-existing)."""
        return replace(self, mode="skip") if self.mode == "refuse" else self


@dataclass(frozen=True)
class Outcome:
    kind: str  # ok | refused | failed | crash
    value: object = None
    start: float = 0.0
    end: float = 0.0

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def run(op: Op, storage) -> Outcome:
    start = time.time()
    try:
        kind, value = "ok", _call(op, storage)
    except ValidationError as e:
        kind, value = "refused", _refusal(e)
    except PrivpiError as e:
        kind, value = "failed", e.message
    except Exception:
        kind, value = "crash", traceback.format_exc()
    return Outcome(kind, value, start, time.time())


def _refusal(e: ValidationError) -> str:
    if isinstance(e, publish.FileDeleted):
        return "deleted"
    if isinstance(e, publish.FileExists):
        return "exists-same" if e.same else "exists-different"
    if "already exists" in e.message:
        return "exists-different" if "different" in e.message else "exists-same"
    if any(a in e.message for a in ("no version", "no project named", "nothing in project")):
        return "absent"
    raise AssertionError(f"an unexpected refusal: {e.message}")


def _call(op: Op, storage):
    if op.kind == "publish":
        return publish.publish(storage, op.dist.path, existing=op.mode).status
    if op.kind == "yank":
        return tuple(publish.yank(storage, op.project, op.version, op.reason))
    if op.kind == "unyank":
        return tuple(publish.unyank(storage, op.project, op.version))
    if op.kind == "delete":
        return tuple(publish.delete(storage, op.project, op.version, op.filename))
    publish.reindex(storage)
    return None


# -- the reference model -------------------------------------------------------------------


@dataclass
class State:
    files: dict = field(default_factory=dict)  # (project, filename) -> (sha256, yanked)
    deleted: dict = field(default_factory=dict)  # (project, filename) -> (sha256, t0, t1)

    def copy(self) -> State:
        return State(dict(self.files), dict(self.deleted))


def _version(filename: str) -> Version:
    return parse_filename(filename).version


def _matches(filename: str, version: str | None, name: str | None) -> bool:
    if name is not None and filename != name:
        return False
    return version is None or _version(filename) == Version(version)


def apply(
    state: State, op: Op, out: Outcome | None, window, names_in_flight=(), keep_yank=False
) -> bool:
    """Apply op to state; False if out (None: not seen, the op failed) cannot be its answer.

    keep_yank: a failed overwrite that took effect through a reindex, not its own commit
    (see _outcomes): its bytes are listed under the old entry's yank."""
    start, end = window
    if op.kind == "reindex":  # it may record deleted names again, removing late bytes
        for key, (sha, t0, t1) in state.deleted.items():
            state.deleted[key] = (sha, t0, max(t1, end))
        return out is None or out.kind == "ok"
    if op.kind in ("yank", "unyank"):
        return _apply_yank(state, op, out)
    if op.kind == "delete":
        return _apply_delete(state, op, out, window, names_in_flight)
    d, key = op.dist, (op.dist.project, op.dist.filename)
    expected = {("ok", "published")}
    listed = state.files.get(key)
    record = state.deleted.get(key) if listed is None else None
    if record is not None:
        sha, t0, t1 = record
        # A refused publish records the name as deleted again when it removes its bytes.
        refreshed = (sha, t0, end)
        young = start - t1 < index.GRACE  # the grace period may still run at its commit
        if young and (out.value == "deleted" if out else end - t0 < index.GRACE):
            # A failed publish whose window ends past the grace period may have committed
            # (it is applied so); the case where it was refused is the one where it did not.
            state.deleted[key] = refreshed
            return True  # still young enough to be refused
        if end - t0 < index.GRACE:
            return False
        refused_other = out is not None and (out.kind, out.value) == ("refused", "exists-different")
        if sha is None and op.mode != "overwrite" and refused_other:
            # The model does not know the bytes recorded for the name (privpi may: a refused
            # upload records its own), so a refusal of other bytes is one possible answer.
            state.deleted[key] = refreshed
            return True
        if sha not in (None, d.sha256) and op.mode != "overwrite":
            state.deleted[key] = refreshed
            return out is None or (out.kind, out.value) == ("refused", "exists-different")
    elif listed is not None and listed[0] == d.sha256:
        same = ("refused", "exists-same") if op.mode == "refuse" else ("ok", "skipped")
        # Two overwrites with the same bytes racing: both found the old bytes listed and
        # both replaced them (the second's commit then had nothing left to change).
        racing = {("ok", "replaced")} if op.mode == "overwrite" else set()
        return out is None or (out.kind, out.value) in {same, ("ok", "published"), *racing}
    elif listed is not None:
        if op.mode != "overwrite":
            return out is None or (out.kind, out.value) == ("refused", "exists-different")
        # "published" too: it found the name unlisted, before a racing publish committed.
        expected = {("ok", "replaced"), ("ok", "published")}
    other_bytes = any((q, n) == key and sha != d.sha256 for q, n, sha in names_in_flight)
    if (
        listed is None
        and other_bytes
        and out
        and (out.kind, out.value) == ("refused", "exists-different")
    ):
        return True  # a racing upload's other bytes of the name were stored (then refused)
    if out is not None and (out.kind, out.value) not in expected:
        return False
    state.deleted.pop(key, None)
    state.files[key] = (d.sha256, listed[1] if keep_yank and listed else False)
    return True


def _apply_yank(state: State, op: Op, out: Outcome | None) -> bool:
    known = any(k[0] == op.project for k in (*state.files, *state.deleted))
    matches = sorted(
        k for k in state.files if k[0] == op.project and _matches(k[1], op.version, None)
    )
    if not known or not matches:
        return out is None or (out.kind, out.value) == ("refused", "absent")
    if out is not None and (out.kind, out.value) != ("ok", tuple(k[1] for k in matches)):
        return False
    value = (op.reason or True) if op.kind == "yank" else False
    for k in matches:
        state.files[k] = (state.files[k][0], value)
    return True


def _apply_delete(state: State, op: Op, out, window, names_in_flight) -> bool:
    p = op.project
    listed = {k[1] for k in state.files if k[0] == p and _matches(k[1], op.version, op.filename)}
    if out is not None and out.kind == "refused":
        return not listed and out.value == "absent"
    if out is None:  # failed, taking effect: on what it listed, and uploads it caught
        caught = {
            n for q, n, _ in names_in_flight if q == p and _matches(n, op.version, op.filename)
        }
        names = listed | caught
    else:
        names = set(out.value)
        if not listed <= names or not all(_matches(n, op.version, op.filename) for n in names):
            return False
    for key, (sha, t0, t1) in state.deleted.items():  # it may record other deleted names
        if key[0] == p:  # again, removing late bytes (privpi.deletion)
            state.deleted[key] = (sha, t0, max(t1, window[1]))
    for name in names:
        sha = state.files.pop((p, name), (None,))[0] or state.deleted.get((p, name), (None,))[0]
        old = state.deleted.get((p, name))
        if out is None and old is not None:
            # Failed: taken as having taken effect, but it may not have renewed the record
            # (its earlier time stands then): keep the earliest and the latest it can be.
            state.deleted[(p, name)] = (sha, min(old[1], window[0]), max(old[2], window[1]))
        else:
            state.deleted[(p, name)] = (sha, *window)
    return True


def explain(before: State, ops, outs, reruns, actual: State) -> State | None:
    """The state the model reaches in the orders of the step that end in the storage's.

    Every such order is tried, not the first found: they agree on the files and the
    deleted names, but not on when a record may have been written (a delete that ran
    after another one renewed its records; in an order with it before, it did not), so
    each record keeps the earliest and the latest time of any of them."""
    found = None
    for state in _explanations(before, ops, outs, reruns, actual):
        found = state if found is None else _widened(found, state)
    return found


def _widened(a: State, b: State) -> State:
    merged = a.copy()
    for key, (sha, t0, t1) in b.deleted.items():
        old = merged.deleted[key]
        # orders that disagree on the bytes a record names: the model does not know them
        known = old[0] if old[0] == sha else None
        merged.deleted[key] = (known, min(old[1], t0), max(old[2], t1))
    return merged


def _explanations(before: State, ops, outs, reruns, actual: State):
    failed = [i for i, o in enumerate(outs) if o.kind == "failed"]
    # (project, filename, sha256): a delete catches uploads in flight of its own project
    # only; a publish may find another's bytes of its name stored (privpi.publish)
    in_flight = {
        (o.dist.project, o.dist.filename, o.dist.sha256) for o in ops if o.kind == "publish"
    }
    choices = [_outcomes(ops[i], ops) for i in failed]
    for order in itertools.permutations(range(len(ops))):
        for took in itertools.product(*choices):
            took_effect = dict(zip(failed, took, strict=True))
            state = before.copy()
            ok = True
            for i in order:
                if i in took_effect and not took_effect[i]:
                    _renewed(state, ops[i], outs[i].end)
                    continue
                out = None if i in took_effect else outs[i]
                window = (outs[i].start, outs[i].end)
                kept = took_effect.get(i) == "kept"
                if kept and not _reindex_after(ops, order, i):
                    ok = False  # its bytes were listed by a reindex after it, or not so
                    break
                if not apply(state, ops[i], out, window, in_flight, kept):
                    ok = False
                    break
            for op, out in reruns if ok else ():
                if not apply(state, op, out, (out.start, out.end)):
                    ok = False
                    break
            if ok and _same(state, actual):
                yield state


def _outcomes(op: Op, ops) -> tuple:
    """What a failed operation may have done: nothing, or taken effect; a failed overwrite
    racing a reindex also "kept": it stored its bytes but its page write failed, and the
    reindex listed them (a listed file must exist with its sha256) under the entry's
    existing flags, a yank included (a repair does not undo a yank; privpi.reindex). Its
    re-run then finds its bytes listed ("skipped") and leaves the yank: someone may have
    yanked them on purpose since. Only its own commit writes a new, un-yanked entry."""
    racing_reindex = any(o.kind == "reindex" for o in ops)
    if op.kind == "publish" and op.mode == "overwrite" and racing_reindex:
        return (False, True, "kept")
    return (False, True)


def _reindex_after(ops, order, i: int) -> bool:
    return any(ops[j].kind == "reindex" for j in order[order.index(i) + 1 :])


def _renewed(state: State, op: Op, end: float) -> None:
    """A failed operation taken as without effect on the files may still have renewed
    deleted-name records: a publish refused as deleted records its name again when it
    removes its bytes, a delete renews its project's. A later time only lets later
    operations be refused as deleted, so assuming it loses no explanation."""
    project = op.dist.project if op.dist else op.project
    for key, (sha, t0, t1) in state.deleted.items():
        if key[0] == project and (op.kind != "publish" or key[1] == op.dist.filename):
            state.deleted[key] = (sha, t0, max(t1, end))


def _same(model: State, actual: State) -> bool:
    return model.files == actual.files and set(model.deleted) == set(actual.deleted)


# -- the bucket's state and the invariant -------------------------------------------------


def observe(storage, pool: list[Dist], seen: dict | None = None) -> tuple[State, list[str]]:
    """What the bucket lists (as a model state), and every violation of the invariant.

    One listing, then the pages; with ``seen`` (a dict kept between calls) a page whose
    listed ETag is unchanged is not read again (its body is the one read under that ETag),
    so a step that changed one project reads that project's pages only."""
    by_md5 = {d.md5: d for d in pool}
    meta_md5 = {d.metadata_md5: d.metadata_sha256 for d in pool if d.metadata_md5}
    stored = {i.key: i.etag.strip('"') for i in storage.list(keys.PACKAGES)}
    seen = {} if seen is None else seen

    def body(key: str) -> bytes:
        if seen.get(key, (None,))[0] != stored[key]:
            blob = storage.read(key)
            seen[key] = (blob.etag.strip('"'), blob.body)  # the ETag of the bytes read
        return seen[key][1]

    problems, state, listed_keys, with_files, read = [], State(), set(), set(), {}
    for key in sorted(k for k in stored if k.startswith(keys.SIMPLE) and k.count("/") == 3):
        if not key.endswith("/index.json"):
            continue
        project = key.split("/")[2]
        page = read[project] = json.loads(body(key))
        html_key = keys.project_html(project)
        html = body(html_key) if html_key in stored else b""
        if html != pages.project_html(page):
            problems.append(f"{project}: the HTML is not the rendering of the JSON")
        if page["files"]:
            with_files.add(project)
        for e in page["files"]:
            fkey, mkey = (
                keys.file_key(project, e["filename"]),
                keys.metadata_key(project, e["filename"]),
            )
            listed_keys.add(fkey)
            d = by_md5.get(stored.get(fkey))
            if d is None or d.sha256 != e["hashes"]["sha256"] or d.size != e["size"]:
                problems.append(f"{fkey} is listed but not stored with the listed sha256/size")
            if e["core-metadata"]:
                listed_keys.add(mkey)
                if meta_md5.get(stored.get(mkey)) != e["core-metadata"]["sha256"]:
                    problems.append(f"{mkey} is not stored with the listed hash")
            state.files[(project, e["filename"])] = (e["hashes"]["sha256"], e["yanked"])
        for name, record in page.get("_deleted", {}).items():
            stamp = index.parse_time(record["time"]).timestamp()  # shown in a report
            state.deleted[(project, name)] = (record["sha256"], stamp, stamp)
    root = json.loads(body(keys.ROOT_JSON)) if keys.ROOT_JSON in stored else index.empty_root()
    if {p["name"] for p in root["projects"]} != with_files:
        problems.append(f"the root lists {root['projects']}, the pages with files are {with_files}")
    if keys.ROOT_HTML in stored and body(keys.ROOT_HTML) != pages.root_html(root):
        problems.append("the root HTML is not the rendering of the root JSON")
    for key in sorted(k for k in stored if k.startswith(keys.FILES) and k not in listed_keys):
        problems.append(f"{key}{UNLISTED}")
    problems += summary_problems(storage, read)  # the listing summary says what pages say
    return state, problems


# -- the scheduler ------------------------------------------------------------------------


class Scenario:
    """One seeded run on a backend (model_backends): call step() repeatedly; each raises
    AssertionError on a violation."""

    def __init__(self, seed: int, backend, pool: list[Dist]) -> None:
        self.seed, self.backend, self.pool, self.step_no = seed, backend, pool, 0
        self.stats = {"steps": 0, "ops": 0, "faults": 0, "failed": 0, "reruns": 0, "racing": 0}
        self._new_bucket()

    def close(self) -> None:
        self.backend.close()

    def _late_bytes(self, problems: list[str], actual: State) -> list[str]:
        """The problems but unlisted bytes a late PUT delivered after its upload was refused
        or failed and its leftovers removed: privpi leaves those to the next delete of the
        project or reindex (docs/protocol.md, the grace period), the name recorded deleted
        on its page. Tolerated only when a late PUT on that project's files fired in this
        step (or an earlier one, until the bytes go) and the page records the name deleted."""
        late = tuple(prefix for prefix, rule in self._late_puts if rule.fired)
        kept, before, self.late_bytes = [], self.late_bytes, set()
        for problem in problems:
            key = problem.removesuffix(UNLISTED)
            project, _, name = key.removeprefix(keys.FILES).partition("/")
            recorded = (project, name.removesuffix(".metadata")) in actual.deleted
            if key != problem and recorded and (key.startswith(late) or key in before):
                self.late_bytes.add(key)
            else:
                kept.append(problem)
        return kept

    def _new_bucket(self) -> None:
        self.storages, self.direct = self.backend.fresh()
        self.state = State()
        self.seen: dict = {}  # pages read by observe, by ETag
        self.late_bytes: set[str] = set()  # see _late_bytes

    # -- choosing operations and faults --

    def _op(self, rng: random.Random) -> Op:
        d = rng.choice(self.pool)
        kind = rng.choices(
            ["publish", "yank", "unyank", "delete", "reindex"], weights=[10, 3, 2, 4, 1]
        )[0]
        if kind == "publish":
            return Op("publish", d, rng.choices(["refuse", "skip", "overwrite"], [4, 2, 2])[0])
        if kind in ("yank", "unyank"):
            return Op(kind, project=d.project, version=d.version, reason=rng.choice(["", "bad"]))
        if kind == "delete":
            what = rng.choice(["file", "version", "project"])
            return Op(
                "delete",
                project=d.project,
                version=d.version if what == "version" else None,
                filename=d.filename if what == "file" else None,
            )
        return Op("reindex")

    def _faults(self, rng: random.Random, ops) -> list[str]:
        project = rng.choice([op.dist.project if op.dist else op.project or "mp" for op in ops])
        files = keys.file_key(project, "")
        targets = [
            ("PUT", keys.project_json(project)),
            ("GET", keys.project_json(project)),
            ("PUT", keys.project_html(project)),
            ("PUT", files),
            ("DELETE", files),
            ("HEAD", files),
            ("GET", files),
            ("PUT", keys.ROOT_JSON),
            ("GET", keys.ROOT_JSON),
            ("PUT", keys.ROOT_HTML),
            ("LIST", ""),  # a listing
            ("PUT", keys.LISTING),
            ("GET", keys.LISTING),
        ]
        planned, self._rules, self._late_puts = [], [], []
        for _ in range(rng.choice([0, 1, 1, 2, 2])):
            method, key = rng.choice(targets)
            action = rng.choices(ACTIONS, weights=[4, 4, 3, 2])[0]
            times = 1 if action in ("drop_after", "late") else rng.choice([1, 2, 2, 4])
            nth = rng.randint(1, 3)
            delay = rng.uniform(0, self.backend.hold)
            rule = self.backend.add_rule(method, key, action, nth=nth, times=times, delay=delay)
            rule.rng = random.Random(rng.random())
            self._rules.append(rule)
            if action == "late" and method == "PUT" and key == files:
                self._late_puts.append((files, rule))
            planned.append(f"{action}x{times} on {method} {key} from #{rule.nth}")
        self.backend.jitter(rng)
        return planned

    # -- one step --

    def step(self) -> None:
        if self.step_no and self.step_no % self.backend.episode == 0:
            self._new_bucket()
        self.step_no += 1
        rng = random.Random(f"{self.seed}-{self.step_no}")
        ops = [self._op(rng) for _ in range(rng.choice([1, 2, 2, 3, 3]))]
        self.backend.rearm()
        planned = self._faults(rng, ops)
        outs = self._race(ops)
        self.stats["faults"] += sum(rule.fired for rule in self._rules)
        self.backend.settle()
        reruns = self._rerun(ops, outs)
        actual, problems = observe(self.direct, self.pool, self.seen)
        problems = self._late_bytes(problems, actual)
        explained = explain(self.state, ops, outs, reruns, actual)
        self._count(ops, outs, reruns)
        if problems or explained is None or any(o.kind == "crash" for o in outs):
            raise AssertionError(self._report(ops, planned, outs, reruns, actual, problems))
        self.state = explained

    def _race(self, ops) -> list[Outcome]:
        if len(ops) == 1:  # nothing to race: no thread to start
            return [run(ops[0], self.storages[0])]
        outs: list[Outcome | None] = [None] * len(ops)
        barrier = threading.Barrier(len(ops))

        def worker(i):
            barrier.wait()
            outs[i] = run(ops[i], self.storages[i])

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(ops))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert all(o is not None for o in outs), f"seed {self.seed}: an operation hung"
        return outs

    def _rerun(self, ops, outs) -> list[tuple[Op, Outcome]]:
        reruns = []
        for op, out in zip(ops, outs, strict=True):
            tries = 0
            while out.kind == "failed":
                tries += 1
                assert tries <= 3, (
                    f"seed {self.seed} step {self.step_no}: {op} never finishes: {out}"
                )
                op = op.rerun()
                out = run(op, self.direct)
                reruns.append((op, out))
        return reruns

    def _count(self, ops, outs, reruns) -> None:
        self.stats["steps"] += 1
        self.stats["ops"] += len(ops)
        self.stats["racing"] += len(ops) > 1
        self.stats["failed"] += sum(o.kind == "failed" for o in outs)
        self.stats["reruns"] += len(reruns)

    def _report(self, ops, planned, outs, reruns, actual, problems) -> str:
        replay = f"PRIVPI_MODEL_SEED={self.seed}, backend {self.backend.name}"
        lines = [
            f"seed {self.seed}, step {self.step_no} (replay: {replay})",
            f"faults planned: {planned or 'none'}",
            *(f"  {op} -> {out}" for op, out in zip(ops, outs, strict=True)),
            *(f"  re-run {op} -> {out}" for op, out in reruns),
            f"model before: {self.state.files} deleted {self.state.deleted}",
            f"bucket after: {actual.files} deleted {actual.deleted}",
            f"windows: {[(round(o.start, 3), round(o.end, 3)) for o in outs]}",
            *(f"VIOLATION: {p}" for p in problems),
        ]
        if not problems:
            lines.append("VIOLATION: no order of the operations explains the answers and the state")
        return "\n".join(lines)


def run_scenarios(seed, backends, scratch: Path, until) -> dict:
    """A scenario per backend (seeds seed, seed+1, ...), each stepping in a thread of its own
    while until(stats) is true; most of a step is waiting (retry back-off, holds, pauses),
    so they overlap well. Raises the first violation; returns the summed figures."""
    pool = build_pool(scratch)  # the same distributions for all: read-only
    scenarios = [Scenario(seed + i, backend, pool) for i, backend in enumerate(backends)]
    failures: list[BaseException] = []

    def drive(scenario: Scenario) -> None:
        try:
            while not failures and until(scenario.stats):
                scenario.step()
        except BaseException as e:  # reported below, with the seed in its message
            failures.append(e)

    threads = [threading.Thread(target=drive, args=(s,), daemon=True) for s in scenarios]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in scenarios:
        s.close()
    if failures:
        raise failures[0]
    return {k: sum(s.stats[k] for s in scenarios) for k in scenarios[0].stats}
