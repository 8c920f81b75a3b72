"""The errors of ``mulco download``: each message says what went wrong and what to do."""
from __future__ import annotations


class DownloadError(RuntimeError):
    """A file could not be fetched; the message says why and what to do."""


class ChecksumError(DownloadError):
    """A fetched file is not the pinned original; it was kept aside."""


class Unreachable(DownloadError):
    """The host cannot be reached in a way retrying does not fix (no such name, connection refused)."""

    def __init__(self, message: str, host: str):
        super().__init__(message)
        self.host = host
