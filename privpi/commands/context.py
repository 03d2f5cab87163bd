"""What every command gets: ``AppContext`` (the storage, opened on first use) and ``pass_app``."""

from __future__ import annotations

import functools

import click

from ..settings import Settings
from ..storage import Storage, open_storage


class AppContext:
    """The options of the ``privpi`` group and the settings, shared with every command."""

    def __init__(self, storage_url: str | None, debug: bool, settings: Settings):
        self.storage_url = storage_url
        self.debug = debug
        self.settings = settings

    @functools.cached_property
    def storage(self) -> Storage:
        return open_storage(self.storage_url or self.settings.storage)


pass_app = click.make_pass_decorator(AppContext)
