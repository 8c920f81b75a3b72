"""Config dataclasses -> argparse, in the manner of transformers' HfArgumentParser.

The data package must not need transformers, so this small equivalent reads each field's
type, default and ``metadata["help"]``; ``collama_train`` uses HfArgumentParser itself.
"""
from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path


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
        if f.default is not dataclasses.MISSING and f.default not in (None, False):
            help_ += f" (default: {f.default})"
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
        kw["type"] = Path if typ is Path else typ
        if f.metadata.get("choices"):
            kw["choices"] = f.metadata["choices"]
        parser.add_argument(flag, **kw)


def from_namespace(cls, ns: argparse.Namespace):
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in vars(ns).items() if k in names})
