"""The listing summary's invariant, checked on a repository: the summary says what the
pages say (privpi.listing)."""

from __future__ import annotations

from privpi import index, keys, listing
from privpi.errors import NotFound


def from_pages(storage) -> dict[str, dict]:
    """What the summary must hold: an entry per project page, serials left out."""
    expected = {}
    for info in storage.list(keys.SIMPLE):
        project, _, rest = info.key[len(keys.SIMPLE) :].partition("/")
        if rest == "index.json":
            try:
                expected[project] = _figures(listing.entry_of(index.read_project(storage, project)))
            except NotFound:  # removed between the listing and the read
                continue
    return expected


def stored(storage) -> dict[str, dict] | None:
    """The stored summary's entries, serials left out; None when there is none or it is
    damaged."""
    summary, _ = listing.read(storage)
    if summary is None:
        return None
    return {name: _figures(entry) for name, entry in summary["projects"].items()}


_SHOWN = ("files", "bytes", "latest", "uploaded", "status")


def summary_problems(storage, pages: dict[str, dict] | None = None) -> list[str]:
    """How the next listing differs from the pages (nothing: it is exact), and how the
    summary it stores does; pages: every project page already read (name -> page), else
    they are read here. Writers leave the summary to readers, who fold the audit log into
    it (privpi.listing): so a listing is taken first, and what it shows and then stores is
    compared with the pages."""
    if pages is None:
        expected = from_pages(storage)
    else:
        expected = {name: _figures(listing.entry_of(page)) for name, page in pages.items()}
    shown = listing.load(storage, repair_limit=None)
    problems = [f"the listing is behind: {shown}"] if shown.behind or shown.missing else []
    for row in shown.rows:
        figures = expected.get(row.name)
        seen = (row.files, row.bytes, row.latest, row.uploaded, row.status)
        want = figures and tuple(figures[k] for k in _SHOWN)
        if seen != want:
            problems.append(f"the listing shows {row.name} as {seen}, its page says {want}")
    actual = stored(storage)
    if actual is None:
        return problems + (["there is no readable listing summary"] if shown.rows else [])
    for name in sorted(set(expected) | set(actual)):
        if name in actual and expected.get(name) != actual.get(name):
            problems.append(
                f"summary of {name}: {actual.get(name)}, pages say {expected.get(name)}"
            )
    return problems


def _figures(entry: dict) -> dict:
    # The serial is left out: a settle commits the same page again (serial + 1) without
    # changing what the listings show.
    return {k: v for k, v in entry.items() if k != "serial"}
