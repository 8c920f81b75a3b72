"""Record filters: each is ``f(record) -> None | reason`` and reads its bounds from one
:class:`FilterConfig` (fields settable from ``mulco build``)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

from ..record import Record
from .pipeline import RecordStep
from .spec import Inputs, Settings, StepSpec

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


def policy(value) -> Union[str, float]:
    """A --zh-twins value (parsed here, where the flag lives; the zh_twins step in mulco.steps.twins applies
    it): ``'paper'``, or the share of every twin kept: 'all' -> 1.0, 'none' -> 0.0, '0.25' -> 0.25."""
    if isinstance(value, float):
        return value  # already a policy
    v = str(value).strip().lower()
    if v == "paper":
        return "paper"
    if v == "all":
        return 1.0
    if v == "none":
        return 0.0
    try:
        f = float(v)
    except ValueError:
        f = -1.0
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"zh-twins must be paper, all, none or a fraction in [0, 1], got {value!r}")
    return f


def keeps_all(value) -> bool:
    """Whether ``value`` keeps every twin (then the ``zh_twins`` step does not run)."""
    return policy(value) == 1.0


@dataclass
class FilterConfig:
    """Bounds of the record filters (a record breaking one is dropped with the reason)."""

    min_instruction_chars: int = field(default=2, metadata={"range": "[0, inf)",
        "help": "Drop records whose instruction has fewer non-space characters."})
    max_instruction_chars: int = field(default=8_000, metadata={"range": "[1, inf)",
        "help": "Drop records whose instruction is longer (characters)."})
    max_input_chars: int = field(default=32_000, metadata={"range": "[0, inf)",
        "help": "Drop records whose input is longer (characters)."})
    max_output_chars: int = field(default=16_000, metadata={"range": "[1, inf)",
        "help": "Drop records whose output is longer (characters)."})
    max_lines: int = field(default=800, metadata={"range": "[1, inf)",
        "help": "Drop records whose instruction, input or output has more lines."})
    en_max_cjk_ratio: float = field(default=0.3, metadata={"range": "[0, 1]",
        "help": "Drop EN records whose instruction has more than this share of CJK characters "
                "among its non-space characters."})

    zh_twins: str = field(default="paper", metadata={
        "help": "ZH records that are a Chinese template over the content of an EN record (text_origin "
                "'template'): 'paper' (default: only where the paper's table has Chinese rows, at its ZH:EN ratio: "
                "query to code, summaries, generation), 'all', 'none', or a fraction such as 0.25 of every twin kept "
                "(picked by record id; docs/quality.md)."})

    def __post_init__(self):
        policy(self.zh_twins)  # a bad value is an error now, not mid-build

    def filter_settings(self) -> dict:
        return {k: getattr(self, k) for k in FilterConfig.__dataclass_fields__}


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


def _balanced(code: str) -> bool:
    """The cheap check: as many brackets closed as opened, and an even number of double quotes."""
    return (code.count("(") + code.count("[") + code.count("{") <= code.count(")") + code.count("]") + code.count("}")
            and code.count('"') % 2 == 0)


def _comment_kinds(plang: str) -> tuple[bool, bool, bool]:
    """Which comments ``plang`` has: ``#``, ``//`` and ``/* */``, ``--``."""
    return plang in ("python", "ruby", "php"), plang not in ("python", "ruby", "sql"), plang == "sql"


def _in_string(code: str, i: int, quote: str) -> tuple[int, str | None]:
    """Step over position ``i`` inside a string opened by ``quote``: (next position, the quote still
    open or None)."""
    if code[i] == "\\":
        return i + 2, quote
    if code.startswith(quote, i):
        return i + len(quote), None
    if code[i] == "\n" and len(quote) == 1 and quote != "`":
        return i + 1, None  # a string does not span lines: not a string after all
    return i + 1, quote


def _comment_end(code: str, i: int, kinds: tuple[bool, bool, bool]) -> int | None:
    """Where the comment starting at ``i`` ends (at its line break for a line comment), or None
    when none starts there."""
    hash_comment, slash_comment, dash_comment = kinds
    if ((code[i] == "#" and hash_comment) or (slash_comment and code.startswith("//", i))
            or (dash_comment and code.startswith("--", i))):
        j = code.find("\n", i)
        return len(code) if j < 0 else j
    if slash_comment and code.startswith("/*", i):
        j = code.find("*/", i + 2)
        return len(code) if j < 0 else j + 2
    return None


def _scan(plang: str, code: str) -> tuple[int, str | None]:
    """(brackets left open, the string left open or None) at the end of ``code``, outside its
    comments and strings."""
    depth, quote, i, n = 0, None, 0, len(code)
    kinds = _comment_kinds(plang)
    while i < n:
        if quote:
            i, quote = _in_string(code, i, quote)
            continue
        if code.startswith('"""', i) or code.startswith("'''", i):
            quote = code[i:i + 3]
            i += 3
            continue
        end = _comment_end(code, i, kinds)
        if end is not None:
            i = end
            continue
        ch = code[i]
        if ch in "\"'`":
            quote = ch
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        i += 1
    return depth, quote


def _cut_off(plang: str, code: str) -> str | None:
    """Why code stops early, if it does: more brackets opened than closed or an open string at
    the end (outside comments and strings), and no parse in its language."""
    if _balanced(code):
        return None
    depth, quote = _scan(plang, code)
    if depth <= 0 and not (quote and len(quote) == 3):
        return None
    from .parse import parses

    if parses(plang, code) is not False:
        return None
    return "cut off: a string left open at the end" if quote else "cut off: brackets left open at the end"


def _fence_problem(out: str) -> Optional[str]:
    """What is wrong with the code fences of an output that has some."""
    if out.count("```") % 2:
        return "cut off: a code fence is never closed"
    blocks = _FENCED.findall(out)
    if blocks and not _FENCED.sub("", out).strip() and not any(b.strip() for _, b in blocks):
        return "fence-only output: no code inside the fence"
    if any(not b.strip() for _, b in blocks):
        return "empty code block"
    return None


_STRING = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'')
_HASH_COMMENT = re.compile(r"#.*$")
_INNERMOST = re.compile(r"\([^()\[\]{}]*\)|\[[^()\[\]{}]*\]|\{[^()\[\]{}]*\}")
#: the start of a statement: an assignment, or a print call/command
_STATEMENT = r"(?:[A-Za-z_][\w.]*(?:\[\])?\s*(?:[-+*/%|&]|\*\*|//)?=(?!=)|print\(|puts\b|pp?\s)"
#: a statement starting after the end of an expression (a bracket, a string, a number)
_AFTER_EXPRESSION = re.compile(r"[)\]}\"'\d]\s+" + _STATEMENT)
#: a line that starts with a statement, and a statement starting after a word later on it
_OPENS_STATEMENT = re.compile(r"\s*(?:[A-Za-z_][\w.]*(?:\[\])?\s*=(?!=)|(?:puts|print|pp?)\b)")
_AFTER_WORD = re.compile(r"\b([A-Za-z_]\w*[?!]?)\s+" + _STATEMENT)
#: words after which a statement may follow on one line (``then x = 1``, ``else y = 2``, ``lambda x=1``)
_KEYWORDS = frozenset("and as assert async await begin case def del do elif else elsif end ensure except for from "
                      "global if import in is lambda module nonlocal not or raise rescue return then unless until "
                      "when while with yield".split())


def _flat(line: str) -> str:
    """A Python/Ruby line without its strings' text, its comment and what its brackets hold."""
    s = _HASH_COMMENT.sub("", _STRING.sub('""', line))
    while True:
        t = _INNERMOST.sub(lambda m: m.group()[0] + m.group()[-1], s)
        if t == s:
            return s
        s = t


def run_together(code: str) -> Optional[str]:
    """The first line of Python/Ruby code holding two statements run together (their line break
    lost): a statement (an assignment, ``print(``, ``puts``, ``p``) right after a bracket,
    string or number (``lst = s.split(", ") print(lst)``), or, on a line that starts with a
    statement, after a word that is not a keyword (``p arr max = arr.max``, ``puts a.upcase puts
    a.downcase``). Strings, comments and what brackets hold are not looked at."""
    for line in code.split("\n"):
        flat = _flat(line)
        if _AFTER_EXPRESSION.search(flat):
            return line
        if _OPENS_STATEMENT.match(flat) and any(m.group(1) not in _KEYWORDS for m in _AFTER_WORD.finditer(flat)):
            return line
    return None


def _block_problem(pl: str, code: str, fenced: bool) -> Optional[str]:
    """What is wrong with one code block of a code-generation answer (``fenced``: the answer has
    fences)."""
    stripped = code.strip()
    if not stripped:
        return None
    if fenced and pl in _LINE_LANGS and "\n" not in stripped and len(stripped) > 30:
        from .parse import parses

        if parses(pl, stripped) is False:
            return "code lines run together into one line"
    if pl in _LINE_LANGS and run_together(stripped):
        return "code lines run together into one line"
    if _IMPORT_LINE.match(stripped) and all(_IMPORT_LINE.match(ln) for ln in stripped.splitlines() if ln.strip()):
        return "cut off: the code holds only its import/using lines"
    return _cut_off(pl, code) if pl else None


def broken_output(record: Record) -> Optional[str]:
    """A code-generation answer that is not what the record says: only a code fence or an empty code block, a
    fence never closed, code that stops early (brackets or a string left
    open, only its import/using lines) or Python/Ruby whose lines ran together into one."""
    if record.get("task") != "code_generation":
        return None  # code search answers are one method or a label (the parse step checks code)
    out = _s(record.get("output"))
    fenced = "```" in out
    why = _fence_problem(out) if fenced else None
    for pl, code in ([] if why else _code_blocks(record)):
        why = _block_problem(pl, code, fenced)
        if why:
            break
    return why


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


#: the settings group of every filter in the report
SETTINGS = Settings("filters", FilterConfig.filter_settings)


def _spec(name: str, check: Callable[[FilterConfig], Callable[[Record], Optional[str]]], **kw) -> StepSpec:
    """A filter as a record step: ``check(cfg)`` gives its ``f(record) -> None | reason``."""
    return StepSpec(name, lambda cfg, inputs: RecordStep(name, check(cfg)), FilterConfig, settings=SETTINGS, **kw)


#: the filters in the order the build applies them (entries of mulco.steps.registry.STEPS);
#: (``zh_twins``, which reads FilterConfig too, is a corpus step of its own: mulco.steps.twins)
STEPS = (
    _spec("empty_output", lambda cfg: empty_output),
    _spec("broken_output", lambda cfg: broken_output),
    _spec("length", length_bounds),
    _spec("zh_without_cjk", lambda cfg: zh_without_cjk),
    _spec("en_mostly_cjk", en_mostly_cjk),
)


def record_filters(cfg: FilterConfig) -> list[tuple[str, Callable[[Record], Optional[str]]]]:
    """The filters ``cfg`` turns on, in the order the build applies them: (name, check)."""
    return [(spec.name, spec.make(cfg, Inputs()).fn) for spec in STEPS if spec.enabled(cfg)]
