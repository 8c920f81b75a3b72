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


#: The BibTeX key of the CodeXGLUE paper: a source whose spec cites it is a CodeXGLUE source.
CODEXGLUE_CITATION = "lu2021codexglue"


def codexglue() -> tuple[str, ...]:
    """The sources taken from CodeXGLUE (their spec cites its paper), whose test splits
    decontamination compares against."""
    return tuple(n for n in REGISTRY if CODEXGLUE_CITATION in (get(n).SPEC.citation or ""))


def producing(sel) -> list[str]:
    """The sources whose records fall under the selection ``sel`` (a :class:`~mulco.taxonomy.Selector`),
    by the (task, subtask) pairs their spec says they produce."""
    return [n for n in REGISTRY
            if any((sel.task is None or t == sel.task) and (sel.subtask is None or st == sel.subtask)
                   for t, st in get(n).SPEC.produces)]


def get(name: str) -> ModuleType:
    if name not in REGISTRY:
        close = suggest(name, REGISTRY)
        raise UnknownConfigError(
            f"Unknown source {name!r}." + (f" Did you mean: {', '.join(close)}?" if close else "")
            + f" Sources: {', '.join(REGISTRY)}."
        )
    return importlib.import_module(REGISTRY[name])
