"""Quality steps. A record step returns ``None`` to keep a record or a reason string to drop it.

Steps run in order after conversion; the build counts every drop per step, source and config
and sends the record to the quarantine with the reason.
"""
from __future__ import annotations

from typing import Callable, Optional

from ..record import Record

RecordStep = Callable[[Record], Optional[str]]
