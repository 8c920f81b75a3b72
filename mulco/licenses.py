"""Licences as a filter for :func:`mulco.load` (the export and stats commands use
:mod:`mulco.select` directly): check the names against the ``license`` values present, reading only
that column, then keep the matching records of what ``datasets`` loaded."""
from __future__ import annotations

from typing import Iterable

from .select import SPLITS, SelectionError


def spell(name: str, data, split: str | None, licenses: Iterable[str] | str) -> list[str]:
    """``licenses`` as spelled in the records of config ``name`` (any split: ``split`` is not used);
    :class:`~mulco.select.SelectionError` naming the unknown ones and listing those present."""
    from . import select

    wanted = [x.strip() for x in ([licenses] if isinstance(licenses, str) else licenses)]
    wanted = [w for p in wanted for w in p.split(",") if w.strip()]
    if not wanted:
        raise SelectionError("licenses is empty; give licences like ['MIT', 'Apache-2.0'] or leave it out")
    present: set[str] = set()
    for s in SPLITS:  # a licence is known when the config has it in any split (the split asked may hold none)
        sel = select.resolve(name, data, s, missing="skip")
        present.update(select.count_licenses(sel))
    try:
        return select.check_licenses(wanted, sorted(present))
    except SelectionError as e:
        raise SelectionError(f"licenses for {name!r}: {e}") from None


def keep(ds, licenses: list[str]):
    """``ds`` (Dataset, DatasetDict or their iterable kinds) with only records under ``licenses``."""
    wanted = {x.strip().lower() for x in licenses}

    def ok(batch):
        return [(x or "").strip().lower() in wanted for x in batch]

    return ds.filter(ok, batched=True, input_columns="license")
