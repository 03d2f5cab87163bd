"""One base exception for privpi: a sentence the user can act on, plain Python.

The core only raises these; each way in translates them itself: the command line prints
``Error: <message>`` and exits with code 1 (``privpi/cli.py``), the console shows the
message on a page or in JSON (``webadmin``).
"""


class PrivpiError(Exception):
    """A failure the user can act on: one sentence, exit code 1 on the command line."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


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
