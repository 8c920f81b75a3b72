"""Turning a model's answer into what a metric compares: code out of Markdown fences, the first
line of a completion, the word of a cloze answer, the yes/no of a clone/defect answer, the
numbers of chosen candidates.

Label answers are read by two filters, as lm-evaluation-harness does (``strict-match`` and
``flexible-extract``):

- **strict** (``strict_*``): the answer, stripped of surrounding white space, *is* the label the
  templates teach (``Yes``/``No``, ``是``/``否``; the masked word; ``1, 3``). What CodeXGLUE's
  evaluators give when the raw text is handed to them.
- **flexible** (``parse_*``, ``cloze_word``): the answer as models actually write it: Markdown
  (``**Answer:** Yes``), a lead-in (``The answer is no.``, ``答案：是``), colloquial words
  (``Yep``, ``Nope``, ``Y``, ``N``), a sentence without a label (``They are clones.``,
  ``Not vulnerable.``, ``不存在漏洞``), a conclusion (``..., so yes.``). A **hedge** (``not sure``,
  ``不确定``, ``cannot be determined`` ...) is never turned into an answer: it is unparsed (``None``),
  and every metric counts it wrong. Whatever the strict filter reads, the flexible one reads the same.

The yes/no words are the MulCo templates' labels (``mulco/templates/{en,zh}.yaml``) plus the words
above: an answer in either language is understood, whatever the record's language.
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


def official_line(text: str) -> str:
    """What CodeXGLUE's code-to-code evaluators compare: one line per item (a multi-line answer has
    its line breaks turned into spaces), stripped (``x.strip()`` of the line)."""
    return " ".join(text.splitlines()).strip()


# ---------------------------------------------------------------- hedges

_HEDGE_EN = re.compile(
    r"\b(?:not (?:really |entirely |completely |totally |quite |100% )?(?:sure|certain|clear)|unsure|uncertain"
    r"|undetermined|indeterminate|can ?not (?:be )?(?:determined?|decided?|tell|say|know|judge)"
    r"|can'?t (?:be )?(?:determined?|decided?|tell|say|know|judge)|(?:hard|difficult|impossible) to (?:say|tell|judge|know)"
    r"|unclear|it depends|maybe|perhaps|possibly|(?:not|in)sufficient (?:information|context)"
    r"|not enough (?:information|context)|i (?:do not|don't) know|no idea|unknown|ambiguous)\b", re.I)
_HEDGE_ZH = ("不确定", "无法确定", "不能确定", "难以确定", "无法判断", "难以判断", "不能判断", "无法断定", "不好说",
             "说不准", "说不好", "不清楚", "不知道", "也许", "或许", "信息不足", "无法得知", "不一定", "难说")


def is_hedge(text: str) -> bool:
    """Whether ``text`` hedges instead of answering ("not sure", "不确定", "cannot be determined" ...)."""
    return bool(_HEDGE_EN.search(text)) or any(h in text for h in _HEDGE_ZH)


# ---------------------------------------------------------------- yes / no

@lru_cache(maxsize=None)
def _labels() -> tuple[frozenset[str], frozenset[str]]:
    """The templates' own yes and no labels, as written (strict filter)."""
    import mulco

    yes, no = set(), set()
    for lang in ("en", "zh"):
        for key in ("clone_detection", "defect_detection"):
            labels = mulco.answer_labels(lang)[key]
            yes.add(str(labels["true"]))
            no.add(str(labels["false"]))
    return frozenset(yes), frozenset(no)


def strict_yes_no(text: str) -> bool | None:
    """Strict filter: ``True``/``False`` when the stripped answer is exactly a template label
    (``Yes``/``No``/``是``/``否``), else ``None``."""
    s = text.strip()
    yes, no = _labels()
    return True if s in yes else False if s in no else None


_MARKUP = re.compile(r"[*_`#>|\"“”「」『』【】\[\]]+")
# colloquial and label words at the start of an answer (longest first when tried)
_LEAD_YES_EN = ("yes", "yeah", "yep", "yup", "true", "correct", "affirmative", "y")
_LEAD_NO_EN = ("no", "nope", "nah", "false", "incorrect", "negative", "n")
# ZH answer words: these open an answer whatever follows ("是克隆", "不是，…", "否。…")
_LEAD_ZH = (("是的", True), ("不是", False), ("不对", False), ("否", False), ("是", True))
# these only on their own (before punctuation or the end): "不同", "无法", "有漏洞", "没有区别" are not answers
_ALONE_ZH = {"对的": True, "对": True, "正确": True, "有": True, "不": False, "没有": False, "无": False, "错误": False}
_ZH_END = re.compile(r"[\s。，,.！!；;]|$")
# idioms read before the lead word ("No doubt, ..." is a yes)
_IDIOMS = (
    (re.compile(r"^(?:absolutely|definitely|certainly|of course|clearly|surely) not\b|^not at all\b|^by no means\b"), False),
    (re.compile(r"^(?:no doubt|without (?:a |any )?doubt|undoubtedly|no question|absolutely|definitely|certainly"
                r"|of course|indeed|sure|clearly)\b"), True),
    (re.compile(r"^(?:当然不|绝对不|肯定不|显然不|确定不|确实不|的确不)"), False),
    (re.compile(r"^(?:毫无疑问|当然|肯定|显然|确实|确定是|的确)"), True),
)
_MARKER = re.compile(r"(?:final answer|the answer|answer|my answer|verdict|conclusion|答案|回答|结论|判断)"
                     r"\s*(?:is|would be|will be|should be|:|：|是|为|=)\s*[:：]?\s*", re.I)
_CONCLUSION = re.compile(r"(?:\bso|\bthus|\btherefore|\bhence|\bconsequently|\bin conclusion|\boverall|\bin short"
                         r"|所以|因此|故|综上所述?|总之)[,，:：]?\s*(?:the answer is\s*|答案是\s*)?"
                         r"(yes|no|是的|不是|是|否)(?![a-z])", re.I)
_FINAL_WORD = re.compile(r"(?:^|[\s,，.。:：;；(（])(yes|no|是|否)[\s.!。！)）]*$", re.I)

# declarative answers without a label, per task; tried in order (negations first), first sentence first
_CLONE = (
    (r"\bnot (?:\w+ )?different\b|\bno (?:\w+ )?differences?\b|没有(?:任何)?(?:区别|差别|差异|不同)|无(?:区别|差别|差异)", True),
    (r"\b(?:are|is)(?:n't| not)\s+(?:\w+\s+)?(?:clones?|equivalent|the same|identical|duplicates?)\b"
     r"|\bnot\s+(?:\w+\s+)?(?:clones?|equivalent|identical|the same)\b|\bdifferent\b|\bdiffer\b"
     r"|\b(?:do|does)(?:n't| not) (?:\w+ ){0,2}(?:the same|equivalent)"
     r"|不是克隆|并非克隆|不等价|不相同|不一样|不同|不一致|不是同一", False),
    (r"\bclones?\b|\bequivalent\b|\bidentical\b|\bthe same (?:thing|functionality|behaviou?r|logic|task|job|result)"
     r"|\bsame functionality\b|\bduplicates?\b|克隆|等价|相同|一样|一致|同一", True),
)
_DEFECT = (
    (r"不安全", True),
    (r"\bnot\s+(?:\w+\s+)?(?:vulnerable|defective|buggy|exploitable|insecure|unsafe)\b"
     r"|\bno\s+(?:\w+\s+){0,2}(?:vulnerabilit(?:y|ies)|defects?|bugs?|flaws?|issues?|problems?|weakness(?:es)?)\b"
     r"|\b(?:does|do|did)(?:n't| not) (?:\w+ ){0,2}(?:contain|have|introduce|include|pose)\b"
     r"|\b(?:safe|secure|bug-free|defect-free|clean|correct)\b|\bfree (?:of|from)\b"
     r"|没有(?:\S{0,4})?(?:缺陷|漏洞|问题|bug)|无(?:\S{0,2})?(?:缺陷|漏洞)|不存在|不包含|不含|安全", False),
    (r"\bvulnerab|\bdefect|\bbug|\bflaw|\binsecure\b|\bunsafe\b|\bexploitable\b|\boverflow|\bweakness"
     r"|缺陷|漏洞|存在问题|有问题|bug", True),
)
_DECLARATIVE = {
    "clone_detection": tuple((re.compile(p, re.I), v) for p, v in _CLONE),
    "defect_detection": tuple((re.compile(p, re.I), v) for p, v in _DEFECT),
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s|[。！？\n]")


def _clean(text: str) -> str:
    return " ".join(_MARKUP.sub(" ", text).split()).lower()


def _lead_word(s: str) -> bool | None:
    """A yes/no word at the very start of ``s`` (cleaned text)."""
    m = re.match(r"[a-z]+", s)
    if m:
        word, rest = m.group(0), s[m.end():]
        if word in ("y", "n") and rest.strip(" .!"):
            return None  # a lone letter is an answer only on its own
        if word in _LEAD_YES_EN:
            return True
        if word in _LEAD_NO_EN:
            return False
        return None
    if s.startswith("是否"):
        return None
    for word, value in _LEAD_ZH:
        if s.startswith(word):
            return value
    for word, value in sorted(_ALONE_ZH.items(), key=lambda kv: -len(kv[0])):
        if s.startswith(word) and _ZH_END.match(s, len(word)):
            return value
    return None


def _declarative(s: str, task: str | None) -> bool | None:
    tables = [_DECLARATIVE[task]] if task in _DECLARATIVE else list(_DECLARATIVE.values())
    for table in tables:
        for pattern, value in table:
            if pattern.search(s):
                return value
    return None


def _first_sentence(s: str) -> str:
    return _SENTENCE_END.split(s, maxsplit=1)[0]


def _after_marker(s: str) -> bool | None:
    m = _MARKER.search(s)
    if m is None:
        return None
    rest = s[m.end():]
    return _lead_word(rest) if rest else None


def _conclusion(s: str) -> bool | None:
    found = _CONCLUSION.findall(s)
    if found:
        return found[-1] in ("yes", "是的", "是")
    m = _FINAL_WORD.search(s)
    return m.group(1) in ("yes", "是") if m else None


def parse_yes_no(text: str, task: str | None = None) -> bool | None:
    """Flexible filter: ``True``/``False`` read from an answer as models write it (see the module
    docstring), ``None`` when it cannot be read or hedges. ``task`` (``clone_detection`` /
    ``defect_detection``) picks the sentences that answer without a label ("They are clones.")."""
    strict = strict_yes_no(text)
    if strict is not None:
        return strict
    s = _clean(text)
    if not s:
        return None
    head = _first_sentence(s)
    if is_hedge(head) or (is_hedge(s) and _lead_word(head) is None):
        return None
    for step in (_idiom, _after_marker, _lead_word, _conclusion):
        value = step(head)
        if value is not None:
            return value
    value = _after_marker(s)
    if value is None:
        value = _conclusion(s)
    if value is None:
        value = _declarative(head, task)
    return value


def _idiom(s: str) -> bool | None:
    for pattern, value in _IDIOMS:
        if pattern.search(s):
            return value
    return None


# ---------------------------------------------------------------- cloze

_TOKEN = r"[^\s`*\"'“”‘’，。,;；:：()（）\[\]{}<>]+"
_CLOZE_MARKER = re.compile(
    r"(?:answer|missing (?:word|token)|masked (?:word|token)|mask(?:ed)? (?:is|should be)|<mask>|the (?:word|token)"
    r"|fill(?:ed)?(?: in)?(?: the blank)?(?: with)?|答案|缺失的?(?:词|单词|标记|token)|被遮盖的?(?:词|单词|标记|token)"
    r"|(?:应该|应)?(?:填入|填写|填)|应该是|应为)"
    r"[\s*]*(?:is|should be|would be|=|:|：|是|为|with)?[\s*]*[:：]?[\s`*\"'“‘]*(" + _TOKEN + ")", re.I)
_SPAN = re.compile(r"`([^`\n]+)`|\*\*([^*\n]+)\*\*|[\"“]([^\"”\n]+)[\"”]|'([^'\n]+)'")
_EDGE = "`'\".,;:!?。，“”‘’；：！？*()（）"
_CLOZE_STOP = {"the", "is", "a", "an", "it", "this", "be", "in", "with"}


def strict_cloze(text: str) -> str:
    """Strict filter: the stripped answer itself."""
    return text.strip()


def _word(token: str) -> str:
    token = token.strip(_EDGE)
    return token[:-2] if token.endswith("()") and len(token) > 2 else token


def cloze_word(text: str) -> str | None:
    """Flexible filter: the masked word of a cloze answer (``w``, ``\\`w\\```, ``**w**``, ``Answer: w``,
    ``The missing word is \\`w\\`.``, ``答案是 w``), or ``None`` when it cannot be read or hedges."""
    line = first_line(text)
    if not line or is_hedge(line):
        return None
    m = _CLOZE_MARKER.search(line)
    if m and _word(m.group(1)) and _word(m.group(1)).lower() not in _CLOZE_STOP:
        return _word(m.group(1))
    for span in _SPAN.finditer(line):
        inner = next(g for g in span.groups() if g is not None).split()
        if len(inner) == 1 and _word(inner[0]):
            return _word(inner[0])
    parts = line.split()
    return (_word(parts[0]) or None) if len(parts) == 1 else None


# ---------------------------------------------------------------- candidates

_STRICT_CANDIDATES = re.compile(r"\d+(?:\s*,\s*\d+)*")
# numbers in a list: "1, 3", "1 and 3", "Candidates 2 & 4", "#2", "候选 2 和 4", "2、4"
_CAND_LIST = re.compile(r"(?<![A-Za-z0-9_.])(\d+)(?![0-9A-Za-z_])")
_CAND_JOIN = re.compile(r"(?:\s|,|，|、|/|&|\band\b|\bor\b|和|与|及|以及|candidates?|候选|#|第|号|个|no\.|numbers?)*", re.I)


_NONE_CHOSEN = re.compile(r"^(?:none|no (?:candidate|code|block|snippet|one)s?\b|none of (?:them|the)\b|neither\b"
                          r"|nothing\b|no\.?$|无$|无[。.]|没有|都不|一个都没有|均不|皆不|全都不)", re.I)


@lru_cache(maxsize=None)
def _none_labels() -> frozenset[str]:
    """The templates' word for "no candidate answers" (``none``, ``无``)."""
    import mulco

    return frozenset(str(mulco.answer_labels(lang).get("none", "none")) for lang in ("en", "zh"))


def strict_candidates(text: str) -> tuple[int, ...] | None:
    """Strict filter: the answer is exactly a comma-separated list of numbers (``1, 3``), or the
    templates' word for none (``none``/``无``: the empty tuple)."""
    s = text.strip()
    if s in _none_labels():
        return ()
    if not _STRICT_CANDIDATES.fullmatch(s):
        return None
    return tuple(dict.fromkeys(int(n) for n in re.findall(r"\d+", s)))


def parse_candidates(text: str) -> tuple[int, ...] | None:
    """Flexible filter: the candidate numbers named first on the answer's first line, in the order
    named ("3, 1" -> (3, 1); "Candidate 2 (it sorts 10 items)" -> (2,); "候选 2 和 4" -> (2, 4)):
    the first run of numbers joined only by list words; numbers in the explanation after it are not
    choices. ``()`` when it says that no candidate answers ("None of them.", "都不是"); ``None`` when
    it cannot be read or hedges."""
    strict = strict_candidates(text)
    if strict is not None:
        return strict
    line = first_line(text)
    if not line or is_hedge(line):
        return None
    line = re.sub(r"[*_`]", "", line).strip()
    if _NONE_CHOSEN.match(line):
        return ()
    nums: list[int] = []
    end = None
    for m in _CAND_LIST.finditer(line):
        if end is not None and not _CAND_JOIN.fullmatch(line[end:m.start()]):
            break
        nums.append(int(m.group(1)))
        end = m.end()
    return tuple(dict.fromkeys(nums)) if nums else None
