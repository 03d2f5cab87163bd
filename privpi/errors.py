"""One base exception for privpi, printed by the command line as one clear sentence."""

import click


class PrivpiError(click.ClickException):
    """A failure the user can act on: printed as one line, exit code 1, no traceback."""

    exit_code = 1


class StorageError(PrivpiError):
    """The storage could not be reached or answered with an unexpected error."""


class NotFound(StorageError):
    """The key does not exist."""

    def __init__(self, key: str):
        super().__init__(f"{key} does not exist")
        self.key = key


class PreconditionFailed(StorageError):
    """A conditional write lost: the object changed (If-Match) or exists (If-None-Match: *)."""

    def __init__(self, key: str, detail: str = "changed since it was read"):
        super().__init__(f"{key} {detail}")
        self.key = key


class UserStoreError(PrivpiError):
    """A user store problem: unknown or duplicate user, invalid value, corrupt store."""


class UserConflict(UserStoreError):
    """The change contradicts the store as it is now: the user already exists, is gone,
    or is the last enabled admin (the console answers 409: someone else changed it)."""


class ValidationError(PrivpiError):
    """A distribution, name or form value was refused."""
