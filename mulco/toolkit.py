"""What the training toolkit (``collama_train``) shares with ``mulco`` beyond loading data: the one set
of output-safety rules, the one-commit Hub upload, and the card facts (licences, paper, citation,
templates). ``collama_train`` reaches ``mulco`` only through ``mulco.__all__`` (a test holds it); this
module is that public door for the shared machinery, so a change inside ``mulco.safeout``,
``mulco.publish`` or ``mulco.card`` has one place to keep stable.

Every name is imported on first use (``import mulco.toolkit`` loads nothing heavy).
"""
from __future__ import annotations

import importlib

# name -> (module, attribute)
_NAMES: dict[str, tuple[str, str]] = {
    # output safety (mulco/safeout.py): the rules `mulco build`/`export` follow, for any command's folder
    "UnsafeOutputError": ("mulco.safeout", "UnsafeOutputError"),
    "check_tool_output": ("mulco.safeout", "check_tool_output"),
    "write_tool_marker": ("mulco.safeout", "write_tool_marker"),
    "clear_folder": ("mulco.safeout", "clear_folder"),
    "stdout_closed": ("mulco.textio", "stdout_closed"),  # `cmd | head`: no traceback, exit 141
    # the Hub upload (mulco/publish.py): plan, one commit, the guarded Hub session
    "PublishError": ("mulco.publish", "PublishError"),
    "LocalFile": ("mulco.publish", "LocalFile"),
    "Plan": ("mulco.publish", "Plan"),
    "PlanItem": ("mulco.publish", "PlanItem"),
    "DEFAULT_REVISION": ("mulco.publish", "DEFAULT_REVISION"),
    "human_size": ("mulco.publish", "human_size"),
    "check_repo_id": ("mulco.publish", "check_repo_id"),
    "find_token": ("mulco.publish", "find_token"),
    "with_hub": ("mulco.publish", "with_hub"),
    "plan_files": ("mulco.publish", "plan_files"),
    "commit_files": ("mulco.publish", "commit_files"),
    # the dataset's identity
    "DEFAULT_REPO_ID": ("mulco.hub", "DEFAULT_REPO_ID"),
    "repo_id_of": ("mulco.hub", "repo_id_of"),
    "is_local": ("mulco.select", "is_local"),
    # card facts and the card templates' renderer
    "PAPER": ("mulco.card", "PAPER"),
    "SEED_CITATION": ("mulco.card", "SEED_CITATION"),
    "project_urls": ("mulco.card", "project_urls"),
    "hub_license": ("mulco.card", "hub_license"),
    "card_template": ("mulco.card", "compiled_template"),
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    try:
        module, attr = _NAMES[name]
    except KeyError:
        raise AttributeError(f"module 'mulco.toolkit' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
