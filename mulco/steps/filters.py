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

    zh_twins: str = field(default="all", metadata={
        "help": "ZH records that are a Chinese template over the content of an EN record (text_origin "
                "'template'): 'all' (default: the paper's bilingual design), 'none', or a fraction such as 0.25 "
                "kept (picked by record id)."})

    def __post_init__(self):
        twins_fraction(self.zh_twins)  # a bad value is an error now, not mid-build

    def filter_settings(self) -> dict:
        return {k: getattr(self, k) for k in FilterConfig.__dataclass_fields__}


def twins_fraction(value: str) -> float:
    """The share of ZH template twins kept: 'all' -> 1, 'none' -> 0, '0.25' -> 0.25."""
    v = str(value).strip().lower()
    if v == "all":
        return 1.0
    if v == "none":
        return 0.0
    try:
        f = float(v)
    except ValueError:
        f = -1.0
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"zh-twins must be all, none or a fraction in [0, 1], got {value!r}")
    return f


def zh_twins(fraction: float) -> Callable[[Record], Optional[str]]:
    """Drop ZH template twins beyond ``fraction``: a record is kept when the first 8 hex digits of
    its id, as a share of 16**8, are below ``fraction`` (deterministic, spread over tasks)."""
    def check(record: Record) -> Optional[str]:
        if record.get("lang") != "zh" or record.get("text_origin") != "template":
            return None
        if int(str(record.get("id", "0"))[:8] or "0", 16) / 16**8 < fraction:
            return None
        return f"ZH template twin not kept (--zh-twins {fraction:g})"
    return check


def _s(v) -> str:
    return v if isinstance(v, str) else ""


def empty_output(record: Record) -> Optional[str]:
    out = record.get("output")
    if isinstance(out, str) and not out.strip():
        return "empty output" if not out else "whitespace-only output"
    return None


_FENCED = re.compile(r"```[ \t]*([^\s`]*)[^\n`]*\n?(.*?)```", re.S)
_IMPORT_LINE = re.compile(r"^\s*(?:using\s+[\w.]+\s*;|import\s|from\s+[\w.]+\s+import\s|#include\b|package\s+[\w.]+|"
                          r"require(?:_once)?\b|use\s+[\w\\]+)")
#: tasks whose output is code (where a cut-off answer is looked for)
CODE_ANSWER = ("code_generation",)
_LINE_LANGS = ("python", "ruby")  # statements end at a line break
_OPEN, _CLOSE = "([{", ")]}"


def _code_blocks(record: Record) -> list[tuple[str, str]]:
    """(plang, code) of the output's fenced blocks, or of the whole output when it has no fence
    and the task's answer is code."""
    out = _s(record.get("output"))
    pl = record.get("target_plang") or record.get("plang") or ""
    if "```" in out:
        from ..sources.plangs import from_alias

        return [((from_alias(tag) or pl) if tag else pl, body) for tag, body in _FENCED.findall(out)]
    key = record.get("subtask") or record.get("task")
    return [(pl, out)] if key in CODE_ANSWER else []


def _cut_off(plang: str, code: str) -> str | None:
    """Why code stops early, if it does: more brackets opened than closed or an open string at
    the end (outside comments and strings), and no parse in its language."""
    if (code.count("(") + code.count("[") + code.count("{") <= code.count(")") + code.count("]") + code.count("}")
            and code.count('"') % 2 == 0):
        return None  # the cheap check: balanced counts, even quotes
    depth, quote, i, n = 0, None, 0, len(code)
    hash_comment = plang in ("python", "ruby", "php")
    slash_comment = plang not in ("python", "ruby", "sql")
    while i < n:
        ch = code[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if code.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
            if ch == "\n" and len(quote) == 1 and quote != "`":
                quote = None  # a string does not span lines: not a string after all
            i += 1
            continue
        if code.startswith('"""', i) or code.startswith("'''", i):
            quote = code[i:i + 3]
            i += 3
            continue
        if ch in "\"'`":
            quote = ch
        elif (ch == "#" and hash_comment) or (slash_comment and code.startswith("//", i)) or (
                plang == "sql" and code.startswith("--", i)):
            j = code.find("\n", i)
            i = n if j < 0 else j
            continue
        elif slash_comment and code.startswith("/*", i):
            j = code.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        i += 1
    if depth <= 0 and not (quote and len(quote) == 3):
        return None
    from .parse import parses

    if parses(plang, code) is not False:
        return None
    return "cut off: a string left open at the end" if quote else "cut off: brackets left open at the end"


def broken_output(record: Record) -> Optional[str]:
    """A code-generation answer that is not what the record says: only a code fence or an empty code block, a
    fence never closed, code that stops early (brackets or a string left
    open, only its import/using lines) or Python/Ruby whose lines ran together into one."""
    if record.get("task") != "code_generation":
        return None  # code search answers are one method or a label (the parse step checks code)
    out = _s(record.get("output"))
    if "```" in out:
        if out.count("```") % 2:
            return "cut off: a code fence is never closed"
        blocks = _FENCED.findall(out)
        if blocks and not _FENCED.sub("", out).strip() and not any(b.strip() for _, b in blocks):
            return "fence-only output: no code inside the fence"
        if any(not b.strip() for _, b in blocks):
            return "empty code block"
    for pl, code in _code_blocks(record):
        stripped = code.strip()
        if not stripped:
            continue
        if "```" in out and pl in _LINE_LANGS and "\n" not in stripped and len(stripped) > 30:
            from .parse import parses

            if parses(pl, stripped) is False:
                return "code lines run together into one line"
        if _IMPORT_LINE.match(stripped) and all(_IMPORT_LINE.match(ln) for ln in stripped.splitlines() if ln.strip()):
            return "cut off: the code holds only its import/using lines"
        if not pl:
            continue
        why = _cut_off(pl, code)
        if why:
            return why
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
    """The filters in the order the build applies them (name, step); ``zh_twins`` only when
    some twins are left out."""
    frac = twins_fraction(cfg.zh_twins)
    twins = [("zh_twins", zh_twins(frac))] if frac < 1.0 else []
    return twins + [
        ("empty_output", empty_output),
        ("broken_output", broken_output),
        ("length", length_bounds(cfg)),
        ("zh_without_cjk", zh_without_cjk),
        ("en_mostly_cjk", en_mostly_cjk(cfg)),
    ]
