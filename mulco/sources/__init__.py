"""The registry of raw sources: one module per source, listed explicitly and sorted."""
from __future__ import annotations

import importlib
from types import ModuleType

from ..taxonomy import UnknownConfigError, suggest

#: name -> module path. Keep sorted; the build walks sources in this order.
REGISTRY: dict[str, str] = {
    "bigclonebench": "mulco.sources.bigclonebench",
    "codealpaca": "mulco.sources.codealpaca",
    "codegpt_cn": "mulco.sources.codegpt_cn",
    "codepro": "mulco.sources.codepro",
    "codesearchnet": "mulco.sources.codesearchnet",
    "codexglue_cloze": "mulco.sources.codexglue_cloze",
    "codexglue_line_completion": "mulco.sources.codexglue_line_completion",
    "codexglue_refinement": "mulco.sources.codexglue_refinement",
    "codexglue_translation": "mulco.sources.codexglue_translation",
    "devign": "mulco.sources.devign",
}
assert list(REGISTRY) == sorted(REGISTRY)


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str) -> ModuleType:
    if name not in REGISTRY:
        close = suggest(name, REGISTRY)
        raise UnknownConfigError(
            f"Unknown source {name!r}." + (f" Did you mean: {', '.join(close)}?" if close else "")
            + f" Sources: {', '.join(REGISTRY)}."
        )
    return importlib.import_module(REGISTRY[name])
