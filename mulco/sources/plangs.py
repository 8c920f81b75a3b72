"""Naming programming languages: aliases, Markdown fence tags, mentions in instructions."""
from __future__ import annotations

import re

from ..taxonomy import PLANG_ALIASES as ALIASES  # noqa: F401  (the table lives in the taxonomy)
from ..taxonomy import plang_from_alias

_FENCE = re.compile(r"^\s*```\s*([A-Za-z0-9_+#.\-]*)", re.M)
# Mentions in prose. Order matters: longer names first so "JavaScript" is not "Java", "C++" not "C".
_MENTIONS = [
    ("javascript", r"\bjava\s*script\b|\bnode\.?js\b"),
    ("java", r"\bjava\b"),
    ("python", r"\bpython\s*[23]?\b"),
    ("cpp", r"\bc\+\+|\bcpp\b"),
    ("csharp", r"\bc#|\bc\s*sharp\b"),
    ("php", r"\bphp\b"),
    ("ruby", r"\bruby\b"),
    ("go", r"\bgolang\b|\bgo\s+(?:language|program|function|code)\b|\bin go\b"),
    ("sql", r"\bsql\b|\bmysql\b|\bpostgres(?:ql)?\b|\bsqlite\b"),
    ("c", r"(?<![\w#+])c(?![\w#+])\s*(?:language|program|function|code)|\bin c\b(?![#+])|\bc语言"),
]
_MENTION_RE = [(pl, re.compile(rx, re.I)) for pl, rx in _MENTIONS]


def from_alias(name: str) -> str | None:
    return plang_from_alias(name)


def from_fences(markdown: str) -> str | None:
    """The language of the first tagged code fence that MulCo knows, if any."""
    for tag in _FENCE.findall(markdown):
        pl = from_alias(tag)
        if pl:
            return pl
    return None


def mentioned(text: str) -> str | None:
    """The one language mentioned in ``text``; None if none or several different ones."""
    hits = {pl for pl, rx in _MENTION_RE if rx.search(text)}
    if "javascript" in hits:
        hits.discard("java") if not re.search(r"\bjava\b(?!\s*script)", text, re.I) else None
    return hits.pop() if len(hits) == 1 else None


def has_code_fence(markdown: str) -> bool:
    return "```" in markdown


# --------------------------------------------------------------------------------------------
# Detecting the language of code that no metadata names (issue 11, item 4)

#: Markers of each language: a candidate must show one before its grammar is tried (so a
#: one-liner that several grammars accept is not labelled by chance).
MARKERS = {
    "python": re.compile(r"^\s*(?:def \w+\s*\(.*\)\s*(?:->.*)?:|import \w+|from [\w.]+ import |class \w+.*:\s*$|elif\b|"
                         r"print\(|for \w+(?:\s*,\s*\w+)* in .+:\s*$|while .+:\s*$|if .+:\s*$)|\[[^\[\]]+ for \w+ in [^\[\]]+\]|"
                         r"\b(?:input|len|str|list|dict|range|enumerate|sorted|isinstance)\(", re.M),
    "java": re.compile(r"\bpublic\s+(?:static\s+)?(?:class|void|int|boolean|String)\b|\bSystem\.out\.|"
                       r"\bString\[\]|\bString\s+\w+\s*[=;:]|^\s*import java\.|\bnew\s+\w+<.*>\s*\(|\bint\[\]\s+\w+\s*="),
    "javascript": re.compile(r"\bconsole\.log\b|\bfunction\s*\w*\s*\(|=>|^\s*(?:let|const|var)\s+\w+\s*=|"
                             r"\bdocument\.|\bmodule\.exports\b|\brequire\(['\"]", re.M),
    "csharp": re.compile(r"\bConsole\.Write|^\s*using System|\bnamespace\s+\w+|\bpublic\s+(?:static\s+)?(?:void|int|string)\b|"
                         r"\bstring\[\]|\bvar\s+\w+\s*=\s*new\b", re.M),
    "cpp": re.compile(r"#include\s*<(?:iostream|vector|string|map|set|algorithm|unordered_map)>|\bstd::|\bcout\s*<<|"
                      r"\busing namespace std\b"),
    "c": re.compile(r"#include\s*<(?:stdio|stdlib|string|math)\.h>|\bprintf\s*\(|\bscanf\s*\(|\bint main\s*\("),
    "php": re.compile(r"<\?php|^\s*\$\w+\s*=|\becho\s+[\$\"']", re.M),
    "ruby": re.compile(r"^\s*(?:puts\b|require ['\"]|end\s*$|def \w+[?!]?(?:\(.*\))?\s*$)|\.each\s+do\b|\bdo \|\w+\|", re.M),
    "go": re.compile(r"^\s*package\s+\w+|\bfunc\s+\w+\s*\(|\bfmt\.\w+", re.M),
    "sql": re.compile(r"^\s*(?:SELECT\b[\s\S]*\bFROM\b|INSERT\s+INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b|"
                      r"CREATE\s+(?:TABLE|VIEW|INDEX|DATABASE)\b|ALTER\s+TABLE\b)", re.M | re.I),
}
_PROSE_SYMBOLS = set("{}[]();=<>$#")
_SENTENCE_END = re.compile(r"[.!?:。！？：]\s*$")
_WORDS = re.compile(r"[A-Za-z]+")


def detect(code: str) -> str | None:
    """The language of bare code by a tree-sitter parse: the one language whose markers show and
    whose grammar parses it without error (if several, the one with the most markers); None when
    none or a tie."""
    from ..steps.parse import parses

    text = code.strip("\n")
    if not text.strip():
        return None
    cands = [pl for pl, rx in MARKERS.items() if rx.search(text)]
    ok = [pl for pl in cands if parses(pl, text) or (pl in _HASH_COMMENT and parses(pl, _without_output(text)))]
    if len(ok) == 1:
        return ok[0]
    if len(ok) > 1:
        score = sorted(((len(MARKERS[pl].findall(text)), pl) for pl in ok), reverse=True)
        if score[0][0] > score[1][0]:
            return score[0][1]
        if {p for _, p in score[:2]} == {"c", "cpp"}:
            return "cpp"  # C++ markers beat plain C ones (C code parses as C++ too)
    return None


_HASH_COMMENT = ("python", "ruby")
_OUTPUT_SECTION = re.compile(r"^\s*(?:#|//)?\s*(?:Output|Result|Prints?)\b.*", re.I | re.M | re.S)
_SLASH_TAIL = re.compile(r"[ \t]+//[^\n]*")


def _without_output(code: str) -> str:
    """Python/Ruby code as answers often show it: without a trailing ``# Output`` section and
    ``// result`` notes (not code of the language), for the parse of :func:`detect` only."""
    return _SLASH_TAIL.sub("", _OUTPUT_SECTION.sub("", code)).rstrip()


def is_prose(text: str) -> bool:
    """An answer written in prose, not code: no code fence, at least 6 words, under 3 % of its
    non-space characters code symbols (``{}[]();=<>$#``), most lines ending like a sentence, and
    no language detected by :func:`detect`."""
    if "```" in text:
        return False
    body = "".join(text.split())
    if len(_WORDS.findall(text)) < 6 or not body:
        return False
    if sum(c in _PROSE_SYMBOLS for c in body) / len(body) >= 0.03:
        return False
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if sum(bool(_SENTENCE_END.search(ln)) for ln in lines) * 2 < len(lines):
        return False
    return detect(text) is None


#: a line that has something of code: braces or a semicolon, a call, an assignment, a tag, a
#: shebang, a regex escape or anchor, a command-line option, a comment, a path or member chain
_CODE_LINE = re.compile(r"[{};]|\w\s*\(|[\w\])]\s*[-+*/%]?=(?!=)|</?[A-Za-z]|^\s*#!|\\[dwsbDWSB.]|^\s*[\^/]\S|\$\s*$|"
                        r"(?:^|\s)--?[A-Za-z]|//|/\*|\[@|::|=>|->|\w\.\w+\.|^\s*(?:mkdir|cd|ls|echo|curl|git|npm|pip|"
                        r"sudo|rm|cp|mv|cat|grep|def|class|function|fun|fn|func|var|let|const|import|return|SELECT|sub)\b", re.M)
#: a line of English prose: a capitalised word then a lower-case one, or a numbered/bulleted step
_PROSE_LINE = re.compile(r"\s*(?:\d+[.)]|[-*])?\s*[A-Z][a-z']*,?\s+[a-z]")


def not_code(text: str) -> str | None:
    """Why an answer that no language was found for is not code, or None: a ``"value"`` (at most
    3 short lines and 80 characters with nothing of code: ``19``, ``List``, ``[0, 1, 3]``,
    ``Max: 20``, ``dlroW olleH``) or ``"prose"`` (every line English prose with nothing of code,
    4+ words: ``The complexity of binary search is O(log n).``, numbered steps)."""
    body = text.strip()
    if not body or "```" in body:
        return None
    lines = [ln for ln in body.splitlines() if ln.strip()]
    code = _CODE_LINE.search(body) is not None
    prose = all(_PROSE_LINE.match(ln) for ln in lines)
    if code and not prose:
        return None
    if len(lines) <= 3 and len(body) <= 80 and not code:
        return "value"
    if len(_WORDS.findall(body)) >= 4 and prose:
        return "prose"
    return None


_BLOCK = re.compile(r"```[ \t]*([^\s`]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)


def confirm(plang: str, markdown: str) -> str:
    """``plang`` unless the code says otherwise: when no code block of ``markdown`` (its fenced
    blocks tagged ``plang`` or untagged, else the whole text) parses in ``plang`` and one other
    language is detected in them (:func:`detect`), that language."""
    from ..steps.parse import parser, parses

    if parser(plang) is None:
        return plang
    if "```" in markdown:
        blocks = [b for tag, b in _BLOCK.findall(markdown) if b.strip() and (not tag or from_alias(tag) == plang)]
    else:
        blocks = [markdown]
    if not blocks or any(parses(plang, b) for b in blocks):
        return plang
    found = {detect(b) for b in blocks} - {None}
    return found.pop() if len(found) == 1 else plang
