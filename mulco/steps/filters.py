"""Record filters: each is ``f(record) -> None | reason`` and reads its bounds from one
:class:`FilterConfig` (fields settable from ``mulco build``)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional

from ..record import Record

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


@dataclass
class FilterConfig:
    """Bounds of the record filters (a record breaking one is dropped with the reason)."""

    min_instruction_chars: int = field(default=2, metadata={
        "help": "Drop records whose instruction has fewer non-space characters."})
    max_instruction_chars: int = field(default=8_000, metadata={
        "help": "Drop records whose instruction is longer (characters)."})
    max_input_chars: int = field(default=32_000, metadata={
        "help": "Drop records whose input is longer (characters)."})
    max_output_chars: int = field(default=16_000, metadata={
        "help": "Drop records whose output is longer (characters)."})
    max_lines: int = field(default=800, metadata={
        "help": "Drop records whose instruction, input or output has more lines."})
    en_max_cjk_ratio: float = field(default=0.3, metadata={
        "help": "Drop EN records whose instruction has more than this share of CJK characters "
                "among its non-space characters."})

    def filter_settings(self) -> dict:
        return {k: getattr(self, k) for k in FilterConfig.__dataclass_fields__}


def _s(v) -> str:
    return v if isinstance(v, str) else ""


def empty_output(record: Record) -> Optional[str]:
    out = record.get("output")
    if isinstance(out, str) and not out.strip():
        return "empty output" if not out else "whitespace-only output"
    return None


def length_bounds(cfg: FilterConfig) -> Callable[[Record], Optional[str]]:
    limits = (("instruction", cfg.max_instruction_chars), ("input", cfg.max_input_chars),
              ("output", cfg.max_output_chars))

    def length(record: Record) -> Optional[str]:
        instr = _s(record.get("instruction"))
        if len(instr) < cfg.min_instruction_chars or len(instr.strip()) < cfg.min_instruction_chars:
            return f"instruction too short: fewer than {cfg.min_instruction_chars} characters"
        for name, limit in limits:
            text = _s(record.get(name))
            if len(text) > limit:
                return f"{name} too long: {len(text)} > {limit} characters"
            if text.count("\n") >= cfg.max_lines:
                return f"{name} too long: {text.count(chr(10)) + 1} > {cfg.max_lines} lines"
        return None

    return length


def zh_without_cjk(record: Record) -> Optional[str]:
    if record.get("lang") == "zh" and not _CJK.search(_s(record.get("instruction"))):
        return "ZH record whose instruction has no Chinese character"
    return None


def en_mostly_cjk(cfg: FilterConfig) -> Callable[[Record], Optional[str]]:
    def check(record: Record) -> Optional[str]:
        if record.get("lang") != "en":
            return None
        instr = _s(record.get("instruction"))
        if not _CJK.search(instr):
            return None
        n_cjk = len(_CJK.findall(instr))
        n = sum(1 for c in instr if not c.isspace())
        if n and n_cjk / n > cfg.en_max_cjk_ratio:
            return f"EN record whose instruction is mostly Chinese ({n_cjk}/{n} characters)"
        return None

    return check


def record_filters(cfg: FilterConfig) -> list[tuple[str, Callable[[Record], Optional[str]]]]:
    """The filters in the order the build applies them (name, step)."""
    return [
        ("empty_output", empty_output),
        ("length", length_bounds(cfg)),
        ("zh_without_cjk", zh_without_cjk),
        ("en_mostly_cjk", en_mostly_cjk(cfg)),
    ]
