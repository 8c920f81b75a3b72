"""The translator interface for Chinese versions of English text (docstrings, descriptions).

The build calls ``translator.translate(texts)`` with a batch of English strings and expects
Chinese strings back, in order. Without a translator, records that need one are skipped and
counted in the report (``zh_needs_translator``). A client for an OpenAI-compatible endpoint
can implement this protocol.
"""
from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable


@runtime_checkable
class Translator(Protocol):
    #: A short name written into the build report (e.g. the model name).
    name: str

    def translate(self, texts: Sequence[str], source: str = "en", target: str = "zh") -> list[str]:
        """Translate each text; the result has the same length and order."""
        ...
