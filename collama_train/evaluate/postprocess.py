"""Turning a model's answer into what a metric compares: code out of Markdown fences, the first
line of a completion, the word of a yes/no answer, the numbers of chosen candidates.

The yes/no words are the MulCo templates' labels (``mulco/templates/{en,zh}.yaml``): an answer in
either language is understood, whatever the record's language.
"""
from __future__ import annotations

import re
from functools import lru_cache

_FENCE = re.compile(r"(`{3,}|~{3,})[^\n`]*\n(.*?)(?:\n[ \t]*\1|\Z)", re.S)


def strip_fences(text: str) -> str:
    """The code of the first Markdown fenced block in ``text`` (an unclosed fence runs to the end);
    ``text`` itself, stripped of blank lines around it, when there is no fence."""
    m = _FENCE.search(text)
    if m is None:
        return text.strip("\n")
    return m.group(2).strip("\n")


def first_line(text: str) -> str:
    """The first non-blank line of ``text`` (fences removed), without surrounding white space."""
    for line in strip_fences(text).splitlines():
        if line.strip():
            return line.strip()
    return ""


def one_sentence(text: str) -> str:
    """A summary: the first non-blank line, white space collapsed."""
    for line in text.splitlines():
        if line.strip():
            return " ".join(line.split())
    return ""


def cloze_word(text: str) -> str:
    """The word of a cloze answer: first token of the first line, quotes/backticks/final dot removed."""
    line = first_line(text)
    if not line:
        return ""
    word = line.split()[0]
    return word.strip("`'\".,;:。，“”")


@lru_cache(maxsize=None)
def _yes_no_words() -> tuple[tuple[str, ...], tuple[str, ...]]:
    import mulco

    yes, no = {"yes", "true"}, {"no", "false", "不是", "不"}
    for lang in ("en", "zh"):
        for key in ("clone_detection", "defect_detection"):
            labels = mulco.answer_labels(lang)[key]
            yes.add(str(labels["true"]).lower())
            no.add(str(labels["false"]).lower())
    # longest first, so that "不是" is tried before "是"
    return tuple(sorted(yes, key=len, reverse=True)), tuple(sorted(no, key=len, reverse=True))


_LEAD = re.compile(r"^[\s`*\"'“”「」(（\[]*(?:answer|答案|回答)?[\s:：]*", re.I)


def parse_yes_no(text: str) -> bool | None:
    """``True``/``False`` from an answer that starts with a yes/no word (EN or ZH labels), else
    ``None`` (unparseable). "Yes." / "yes, because ..." / "是" / "否" / "不是" all parse."""
    s = _LEAD.sub("", text.strip()).lower()
    yes, no = _yes_no_words()
    for word in sorted(yes + no, key=len, reverse=True):
        if s.startswith(word):
            rest = s[len(word):]
            # an English word must end there ("yesterday" is not "yes")
            if word.isascii() and rest[:1].isalnum():
                continue
            return word in yes
    return None


_NUMBER = re.compile(r"\d+")


def parse_candidates(text: str) -> frozenset[int] | None:
    """The candidate numbers named on the first line of the answer ("1, 3", "Candidate 2", "候选 2"),
    or ``None`` when it names none."""
    line = first_line(text)
    nums = _NUMBER.findall(line)
    return frozenset(int(n) for n in nums) if nums else None
