"""Naming programming languages: aliases, Markdown fence tags, mentions in instructions."""
from __future__ import annotations

import re

#: lower-cased alias -> MulCo plang
ALIASES = {
    "go": "go", "golang": "go", "go语言": "go",
    "java": "java",
    "javascript": "javascript", "js": "javascript", "node": "javascript", "node.js": "javascript", "nodejs": "javascript",
    "php": "php",
    "python": "python", "python3": "python", "py": "python", "python2": "python",
    "ruby": "ruby", "rb": "ruby",
    "c": "c", "c语言": "c",
    "cpp": "cpp", "c++": "cpp", "cc": "cpp", "cxx": "cpp",
    "csharp": "csharp", "c#": "csharp", "cs": "csharp",
    "sql": "sql", "mysql": "sql", "postgresql": "sql", "sqlite": "sql", "tsql": "sql", "plsql": "sql",
}

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
    return ALIASES.get(name.strip().lower())


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
