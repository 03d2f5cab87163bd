"""What every command gets: ``AppContext`` (the storage, opened on first use) and ``pass_app``."""

from __future__ import annotations

import functools

import click

from ..storage import Storage, open_storage


class AppContext:
    """The options of the ``privpi`` group, shared with every command."""

    def __init__(self, storage_url: str | None, debug: bool):
        self.storage_url = storage_url
        self.debug = debug

    @functools.cached_property
    def storage(self) -> Storage:
        return open_storage(self.storage_url)


pass_app = click.make_pass_decorator(AppContext)
