"""When an HTTP request is worth repeating, and how long to wait first: one policy for
``mulco download`` and the translator.

Retried: 408, 425, 429 and every 5xx, timeouts and dropped connections. Not retried: any other
4xx, and the network errors waiting does not fix (the host name does not resolve, the connection
is refused, the TLS certificate is not trusted). The wait doubles from ``backoff`` at each retry,
or is what the server asked for in ``Retry-After``, and never more than ``cap`` seconds.

Why not ``huggingface_hub.utils.http_backoff``: it sends every request through the Hub's shared
``get_session()``, whose request hook refuses every request while ``HF_HUB_OFFLINE`` is set.
The downloads (GitHub, Zenodo) and the translator (often a local server) are not the Hub, and
they must work with the Hub offline (tests/test_crash_safety.py runs ``mulco download``,
tests/test_security.py a build with a translator, both with ``HF_HUB_OFFLINE=1``). Its backoff
also adds a second to every ``Retry-After`` and does not cap it. The policy here is the same
(the statuses it retries, the doubling wait); the transfer stays on the standard library.
"""
from __future__ import annotations

import random

#: Statuses below 500 that can heal by waiting: timeout, too early, too many requests.
RETRY_STATUSES = frozenset({408, 425, 429})


class Transient(Exception):
    """A failure that may heal: ``why`` for the log, ``retry_after`` the wait the server asked for."""

    def __init__(self, why: str, retry_after: float | None = None):
        super().__init__(why)
        self.why = why
        self.retry_after = retry_after


def retryable_status(code: int) -> bool:
    return code in RETRY_STATUSES or code >= 500


def permanent(e: BaseException) -> str | None:
    """Why a network error will not heal by retrying, or None when it may."""
    import socket
    import ssl

    reason = getattr(e, "reason", e)
    if isinstance(reason, socket.gaierror):
        return f"the host name does not resolve ({reason.strerror or reason}); check the network or DNS"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (nothing listens there); check the URL, a proxy or a firewall"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({getattr(reason, 'verify_message', '') or reason})"
    return None


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (the delay form; an HTTP date is ignored)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def delay(attempt: int, backoff: float, asked: float | None = None, *, cap: float = 60.0, jitter: bool = False) -> float:
    """Seconds to wait before retry ``attempt + 1`` (``attempt`` counts from 0)."""
    if asked is not None:
        return min(asked, cap)
    wait = backoff * 2 ** attempt
    if jitter:  # many clients of one server should not retry in step
        wait *= 1 + random.random() / 4
    return min(wait, cap)
