"""Progress of long commands: one line per phase, with counts, on stderr.

On a terminal a phase with a known number of units is a tqdm bar left on screen when done;
elsewhere (a log file, CI) nothing is drawn while it runs and one plain line is printed when it
ends. Either way the summary of a command goes to stdout and stays separate.
"""
from __future__ import annotations

import sys
import time
from typing import Callable


def on_terminal(stream=None) -> bool:
    stream = stream or sys.stderr
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Phase:
    """``update(n, status)`` as units finish; ``close(summary)`` prints the phase's one line.

    ``log``: where plain lines go (None: nowhere). ``bar``: draw a tqdm bar on a terminal."""

    def __init__(self, name: str, *, total: int | None = None, unit: str = "", enabled: bool = True,
                 log: Callable[[str], None] | None = None, bar: bool = True):
        self.name, self.total, self.unit = name, total, unit
        self.enabled = enabled and log is not None
        self.log = log
        self.n = 0
        self.t0 = time.perf_counter()
        self._bar = None
        if self.enabled and bar and on_terminal():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=name, unit=f" {unit}" if unit else "it", file=sys.stderr,
                             leave=True, dynamic_ncols=True)

    @property
    def bars(self) -> bool:
        """Whether nested per-item bars may be drawn (only under a bar of ours, on a terminal)."""
        return self._bar is not None

    def update(self, n: int = 1, status: str = "") -> None:
        self.n += n
        if self._bar is not None:
            if status:
                self._bar.set_postfix_str(status, refresh=False)
            self._bar.update(n)

    def line(self, text: str) -> None:
        """A line within the phase (e.g. one quality step done)."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(f"{self.name}: {text}", file=sys.stderr)
        else:
            self.log(f"{self.name}: {text}")

    def close(self, summary: str = "") -> None:
        if not self.enabled:
            return
        seconds = time.perf_counter() - self.t0
        if self._bar is not None:
            if summary:
                self._bar.set_postfix_str(summary, refresh=False)
            self._bar.close()
            self._bar = None
            return
        done = summary or (f"{self.n:,} {self.unit}" if self.unit else "done")
        self.log(f"{self.name}: {done} ({seconds:.1f} s)")
