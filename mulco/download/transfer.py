"""One file over HTTP into a ``.part`` file: resumed with ``Range`` after an interruption,
retried (:mod:`mulco.retry`) when the failure can heal, with a progress bar on stderr."""
from __future__ import annotations

import http.client
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from ..retry import Transient, delay, permanent, retry_after, retryable_status
from .errors import DownloadError, Unreachable
from .verify import CHUNK

USER_AGENT = "mulco-download/1 (+https://huggingface.co/datasets/collama/mulco)"
#: Network failures that may heal; the ones that cannot are told apart by :func:`mulco.retry.permanent`.
NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, ssl.SSLError)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def fetch(url: str, part: Path, *, retries: int = 5, backoff: float = 1.0, timeout: float = 60.0,
          progress: bool = True, desc: str = "", log: Callable[[str], None] = _stderr) -> int:
    """Download ``url`` into ``part``, resuming what is already there; return the size.

    Timeouts, dropped connections, short reads, 408/425/429 and 5xx are retried ``retries``
    times (:func:`mulco.retry.delay`), each retry resuming with ``Range: bytes=<have>-``; a
    host that cannot be reached for good raises :class:`Unreachable` at once; another 4xx
    raises :class:`DownloadError`. ``log`` gets one line per retry.
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    last = ""
    for attempt in range(retries + 1):
        try:
            return _attempt(url, part, timeout, progress, desc or part.name)
        except Transient as t:
            last = t.why
            if attempt < retries:
                wait = delay(attempt, backoff, t.retry_after)
                log(f"  retry {attempt + 1}/{retries} in {wait:g}s: {last}")
                time.sleep(wait)
    have = _size(part)
    raise DownloadError(f"{url}: failed after {retries + 1} tries (last: {last}); run again to resume"
                        + (f" from byte {have:,}" if have else ""))


def _attempt(url: str, part: Path, timeout: float, progress: bool, desc: str) -> int:
    """One request; raises :class:`Transient` for what a retry may fix."""
    have = _size(part)
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as resp:
            total = _stream(resp, part, have, progress, desc)
        got = _size(part)
        if total is not None and got < total:
            raise http.client.IncompleteRead(b"", total - got)
        return got
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to send: the part is complete (verification decides)
            return have
        if retryable_status(e.code):
            raise Transient(f"HTTP {e.code}", retry_after(e.headers.get("Retry-After"))) from None
        hint = " (the file moved? check the URL in mulco/data/downloads.json)" if e.code == 404 else ""
        raise DownloadError(f"{url}: HTTP {e.code} {e.reason}{hint}") from None
    except NETWORK_ERRORS as e:
        why = permanent(e)
        if why:
            raise Unreachable(f"{url}: {why}; not retried", urlsplit(url).netloc) from None
        raise Transient(f"{type(e).__name__}: {getattr(e, 'reason', e)}") from None


def _resume_point(resp, have: int) -> tuple[int, int | None]:
    """(bytes kept from the part, expected total size) for this response: a 206 for the range
    asked for appends; anything else starts the file again."""
    if have and getattr(resp, "status", 200) == 206:
        m = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", resp.headers.get("Content-Range", ""))
        if m and int(m.group(1)) == have:
            if m.group(3) != "*":
                return have, int(m.group(3))
            length = resp.headers.get("Content-Length")
            return have, have + int(length) if length is not None else None
    length = resp.headers.get("Content-Length")
    return 0, int(length) if length is not None else None


def _stream(resp, part: Path, have: int, progress: bool, desc: str) -> int | None:
    """Write the response body to ``part`` (appending on a matching 206); return the expected total size."""
    from tqdm.auto import tqdm

    kept, total = _resume_point(resp, have)
    with open(part, "ab" if kept else "wb") as fh, tqdm(
            total=total, initial=kept, unit="B", unit_scale=True, unit_divisor=1024, desc=desc[-40:],
            disable=None if progress else True, file=sys.stderr, leave=False) as bar:
        for chunk in iter(lambda: resp.read(CHUNK), b""):
            fh.write(chunk)
            bar.update(len(chunk))
        fh.flush()
        os.fsync(fh.fileno())
    return total
