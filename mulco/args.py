"""Config dataclasses -> argparse, in the manner of transformers' HfArgumentParser.

The data package must not need transformers, so this small equivalent reads each field's
type, default and ``metadata["help"]``; ``collama_train`` uses HfArgumentParser itself.

Numeric fields carry their allowed range in interval notation, ``metadata["range"]`` (e.g.
``"[1, 256]"``, ``"(0, 1]"``, ``"[0, inf)"``), next to their help, in the class that defines them
(so a config combining several, such as ``mulco build``'s, has every range without a list of its
own). The range is named in the help and checked twice: by argparse (a value outside is an error
naming the flag and the range) and by :func:`check_ranges` (for configs made in Python; call it
from ``__post_init__``).

A field whose values form a closed set declares it in ``metadata["choices"]`` (a sequence, or a
function returning one when the set is only known at run time, such as the source registry). A
scalar field gets argparse's ``choices``; every field, list-valued ones item by item, is checked by
:func:`check_choices` (call it from ``__post_init__``): an unknown value is an error naming the
flag, the close valid values ("did you mean") and all of them, before any work, so a typo never
silently turns a setting off. ``tests/test_cli.py`` checks that every list-valued ``mulco build``
flag declares its choices.
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import types
import typing
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Range:
    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False

    @classmethod
    def parse(cls, text: str) -> "Range":
        t = text.strip()
        if len(t) < 5 or t[0] not in "[(" or t[-1] not in "])" or "," not in t:
            raise ValueError(f"bad range {text!r}: use interval notation such as [1, inf) or (0, 1]")
        lo, hi = (float(x.strip()) for x in t[1:-1].split(","))
        return cls(lo, hi, t[0] == "(", t[-1] == ")")

    def __contains__(self, v) -> bool:
        if v != v:  # NaN
            return False
        return (v > self.lo if self.lo_open else v >= self.lo) and (v < self.hi if self.hi_open else v <= self.hi)

    def describe(self, integer: bool) -> str:
        def num(x):
            return str(int(x)) if x == int(x) else f"{x:g}"

        kind = "an integer" if integer else "a number"
        lo = None if self.lo == float("-inf") else f"{'>' if self.lo_open else '>='} {num(self.lo)}"
        hi = None if self.hi == float("inf") else f"{'<' if self.hi_open else '<='} {num(self.hi)}"
        if lo and hi:
            return f"{kind} in {'(' if self.lo_open else '['}{num(self.lo)}, {num(self.hi)}{')' if self.hi_open else ']'}"
        return f"{kind} {lo or hi}" if (lo or hi) else kind


def field_range(f: dataclasses.Field) -> Range | None:
    """The range field ``f`` declares in its metadata (None: no range)."""
    text = f.metadata.get("range")
    return Range.parse(text) if text else None


def field_choices(f: dataclasses.Field) -> tuple | None:
    """The values field ``f`` allows (``metadata["choices"]``, called when it is a function), or None."""
    c = f.metadata.get("choices")
    if c is None:
        return None
    return tuple(c() if callable(c) else c)


def unknown_values(flag: str, bad: list, valid: tuple) -> str:
    """One line: the unknown values of ``flag``, the close valid ones, and all valid ones."""
    close = [m for b in bad for m in difflib.get_close_matches(str(b), [str(v) for v in valid], n=3, cutoff=0.6)]
    close = list(dict.fromkeys(close))
    what = "unknown value" + ("s " if len(bad) > 1 else " ") + ", ".join(repr(b) for b in bad)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"{flag}: {what}{hint}; valid: {', '.join(str(v) for v in valid)}"


def check_choices(obj) -> None:
    """Raise ValueError (:func:`unknown_values`) when a field of the dataclass instance ``obj`` that
    declares ``metadata["choices"]`` holds a value outside them (each item of a list)."""
    for f in dataclasses.fields(type(obj)):
        valid = field_choices(f)
        v = getattr(obj, f.name)
        if valid is None or v is None:
            continue
        values = list(v) if isinstance(v, (list, tuple, set, frozenset)) else [v]
        bad = list(dict.fromkeys(x for x in values if x not in valid))
        if bad:
            raise ValueError(unknown_values("--" + f.name.replace("_", "-"), bad, valid))


def bounded(typ: type, rng: Range | None):
    """An argparse ``type=`` that converts with ``typ`` and checks ``rng``; the error names the range."""
    integer = typ is int

    def convert(text: str):
        try:
            v = typ(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {'an integer' if integer else 'a number'}, got {text!r}") from None
        if typ is float and v != v:
            raise argparse.ArgumentTypeError("expected a number, got NaN")
        if rng is not None and v not in rng:
            raise argparse.ArgumentTypeError(f"must be {rng.describe(integer)}, got {text}")
        return v

    convert.__name__ = typ.__name__  # argparse names the type in its messages
    return convert


def check_ranges(obj) -> None:
    """Raise ValueError naming the field and its range when a numeric field of the dataclass
    instance ``obj`` is outside the range it declares."""
    cls = type(obj)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        rng = field_range(f)
        v = getattr(obj, f.name)
        if rng is None or v is None or isinstance(v, bool):
            continue
        integer = hints.get(f.name) is int
        if not isinstance(v, (int, float)) or (integer and not isinstance(v, int)) or v not in rng:
            raise ValueError(f"{f.name.replace('_', '-')} must be {rng.describe(integer)}, got {v!r}")


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls, positional: tuple[str, ...] = ()) -> None:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        typ = hints[f.name]
        origin = typing.get_origin(typ)
        args = typing.get_args(typ)
        if origin in (typing.Union, types.UnionType):
            non_none = [a for a in args if a is not type(None)]
            typ = non_none[0]
            origin, args = typing.get_origin(typ), typing.get_args(typ)
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        help_ = f.metadata.get("help", "")
        rng = field_range(f)
        if f.default is not dataclasses.MISSING and f.default not in (None, False):
            help_ += f" (default: {f.default}" + (f"; {rng.describe(typ is int)}" if rng else "") + ")"
        elif rng:
            help_ += f" ({rng.describe(typ is int)})"
        flag = f.name if f.name in positional else "--" + f.name.replace("_", "-")
        kw: dict = {"help": help_}
        if f.name in positional:
            kw["nargs"] = "?" if default is not None or f.default is None else None
            kw["default"] = default
            if kw["nargs"] is None:
                del kw["nargs"]
        else:
            kw["default"] = default
            kw["dest"] = f.name
        if typ is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
            continue
        if origin is list:
            kw["nargs"] = "+"
            typ = args[0]
        kw["type"] = Path if typ is Path else bounded(typ, rng) if typ in (int, float) else typ
        if f.metadata.get("choices") and origin is not list and not callable(f.metadata["choices"]):
            kw["choices"] = f.metadata["choices"]  # list items: checked by check_choices (with "did you mean")
        parser.add_argument(flag, **kw)


def from_namespace(cls, ns: argparse.Namespace):
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in vars(ns).items() if k in names})
