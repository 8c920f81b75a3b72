"""Rendering records with a template, tokenizing prompts and completions in batches, and masking
the prompt by position (docs/data-pipeline.md §3-4)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain
from typing import Any, Mapping, Sequence

from .arguments import DataError

#: Strings per fast-tokenizer call.
TOKENIZE_BATCH = 1000
IGNORE_INDEX = -100
#: A record whose response must be cut keeps at least this many response tokens, or is dropped.
MIN_RESPONSE_TOKENS = 4


def _raw_backend(tokenizer):
    """The Rust ``tokenizers.Tokenizer`` behind a fast tokenizer (a copy without truncation and
    padding when the original has them set), or None for a slow tokenizer."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not hasattr(backend, "encode_batch"):
        return None
    if backend.truncation is not None or backend.padding is not None:
        from tokenizers import Tokenizer

        backend = Tokenizer.from_str(backend.to_str())
        backend.no_truncation()
        backend.no_padding()
    return backend


def batch_tokenize(tokenizer, texts: Sequence[str], *, add_special_tokens: bool, split_special_tokens: bool,
                   batch_size: int = TOKENIZE_BATCH) -> list[list[int]]:
    """Token ids of ``texts``, one fast-tokenizer call per ``batch_size`` strings.

    A fast tokenizer is called through its Rust backend (``encode_batch_fast``: no offsets, no
    per-string Python conversion), which is what ``tokenizer(texts)`` does underneath; the ids are
    the same (a test checks it). A slow tokenizer goes through ``tokenizer(texts)``."""
    out: list[list[int]] = []
    backend = _raw_backend(tokenizer)
    if backend is None:
        for i in range(0, len(texts), batch_size):
            enc = tokenizer(list(texts[i:i + batch_size]), add_special_tokens=add_special_tokens,
                            split_special_tokens=split_special_tokens, return_attention_mask=False,
                            return_token_type_ids=False, verbose=False)
            out.extend(enc["input_ids"])
        return out
    encode = getattr(backend, "encode_batch_fast", backend.encode_batch)
    before = backend.encode_special_tokens
    backend.encode_special_tokens = split_special_tokens
    try:
        for i in range(0, len(texts), batch_size):
            out.extend(e.ids for e in encode(list(texts[i:i + batch_size]), add_special_tokens=add_special_tokens))
    finally:
        backend.encode_special_tokens = before
    return out


def render_all(template, cols: dict[str, list], tokenizer) -> tuple[list[str], list[str]]:
    """Prompts and completions of the records in ``cols``."""
    from ..prompts import TemplateError

    if template.kind == "text":  # Template.render's text branch, without a call and a Rendered per record
        with_input, without = template.prompt_input, template.prompt_no_input
        prompts = [with_input.format(instruction=a, input=b) if b else without.format(instruction=a, input="")
                   for a, b in zip(cols["instruction"], cols["input"])]
        return prompts, list(cols["output"])
    prompts, completions = [], []
    for ins, inp, out in zip(cols["instruction"], cols["input"], cols["output"]):
        try:
            r = template.render({"instruction": ins, "input": inp, "output": out}, tokenizer)
        except TemplateError as e:
            raise DataError(str(e)) from None
        prompts.append(r.prompt)
        completions.append(r.completion.rstrip() if template.kind == "chat" else r.completion)
    return prompts, completions


def build_example(prompt_ids: list[int], completion_ids: list[int], eos_id: int, max_length: int):
    """``(input_ids, labels, status)`` of one record; status is "ok", "truncated" or "dropped"
    (then ids and labels are None). Labels mask the prompt by position.

    A response that fits ends with one EOS. A response cut to fit ``max_length`` ends where it
    was cut, **without** EOS (the model must not learn to stop mid-answer; TRL and LLaMA-Factory
    cut the EOS with the tail). A record whose prompt leaves fewer than
    :data:`MIN_RESPONSE_TOKENS` tokens for a response that does not fit is dropped: it would
    train a stub of an answer (or none)."""
    while completion_ids and completion_ids[-1] == eos_id:
        completion_ids = completion_ids[:-1]
    n_prompt = len(prompt_ids)
    room = max_length - n_prompt
    if len(completion_ids) + 1 <= room:
        return (list(prompt_ids) + list(completion_ids) + [eos_id],
                [IGNORE_INDEX] * n_prompt + list(completion_ids) + [eos_id], "ok")
    if room < MIN_RESPONSE_TOKENS:
        return None, None, "dropped"
    kept = list(completion_ids[:room])
    return list(prompt_ids) + kept, [IGNORE_INDEX] * n_prompt + kept, "truncated"


def _appends_eos(tokenizer) -> bool:
    """True when the tokenizer's own special tokens end a text with EOS (add_special_tokens=True)."""
    eos = tokenizer.eos_token_id
    ids = batch_tokenize(tokenizer, ["a"], add_special_tokens=True, split_special_tokens=True)[0]
    bare = batch_tokenize(tokenizer, ["a"], add_special_tokens=False, split_special_tokens=True)[0]
    return len(ids) > len(bare) and ids[-1] == eos


def _special_pattern(tokenizer) -> re.Pattern | None:
    """A regex of the tokenizer's special-token strings (longest first), or None when it has none."""
    decoder = getattr(tokenizer, "added_tokens_decoder", None) or {}
    specials = {t.content for t in decoder.values() if getattr(t, "special", False)}
    specials |= {t for t in getattr(tokenizer, "all_special_tokens", []) if t}
    if not specials:
        return None
    return re.compile("|".join(re.escape(t) for t in sorted(specials, key=len, reverse=True)))


def _literal_spans(text: str, own: Sequence[str], pattern: re.Pattern) -> list[tuple[int, int]]:
    """Where, inside the record's own strings ``own`` (found in order in ``text``), a special-token
    string occurs: those characters are record text, not control tokens."""
    spans, cursor = [], 0
    for piece in own:
        piece = piece.strip()
        at = text.find(piece, cursor) if piece else -1
        if at < 0:
            continue  # the chat template changed the string: its special strings stay special
        spans += [(at + m.start(), at + m.end()) for m in pattern.finditer(piece)]
        cursor = at + len(piece)
    return spans


def _encode_with_literals(tokenizer, text: str, spans: list[tuple[int, int]]) -> list[int]:
    """``text``'s ids with special-token strings parsed, except at ``spans`` (tokenized as text)."""
    ids, at = [], 0
    for a, b in spans:
        if a > at:
            ids += batch_tokenize(tokenizer, [text[at:a]], add_special_tokens=False, split_special_tokens=False)[0]
        ids += batch_tokenize(tokenizer, [text[a:b]], add_special_tokens=False, split_special_tokens=True)[0]
        at = b
    if at < len(text):
        ids += batch_tokenize(tokenizer, [text[at:]], add_special_tokens=False, split_special_tokens=False)[0]
    return ids


def encode_chat(tokenizer, rendered: Sequence[str], own: Sequence[Sequence[str]] | None = None) -> list[list[int]]:
    """Ids of text rendered by a chat template: the template's special tokens (``<|im_start|>``,
    ``{{ bos_token }}``) are parsed as special, the tokenizer adds none of its own. A special-token
    string inside the record's own strings (``own[i]``: the message contents) stays text; such
    records (rare) are tokenized piece by piece, every other one in the batch, exactly as
    ``apply_chat_template(tokenize=True)`` would."""
    ids = batch_tokenize(tokenizer, rendered, add_special_tokens=False, split_special_tokens=False)
    pattern = _special_pattern(tokenizer)
    if pattern is None or own is None:
        return ids
    for i, (text, strings) in enumerate(zip(rendered, own)):
        if any(pattern.search(x) for x in strings):
            spans = _literal_spans(text, strings, pattern)
            if spans:
                ids[i] = _encode_with_literals(tokenizer, text, spans)
    return ids


def encode_prompts(tokenizer, prompts: Sequence[str], *, chat: bool,
                   own: Sequence[Sequence[str]] | None = None) -> list[list[int]]:
    """THE prompt ids: what training masks and what evaluation feeds the model (issue 17.3).

    - text templates (``alpaca``): the tokenizer's own special tokens are added (BOS) and the
      record text is tokenized with ``split_special_tokens=True``, so a literal ``<s>`` or ``</s>``
      in a record is text; an EOS that a ``<s> $A </s>`` post-processor appends is taken off (the
      prompt does not end the sequence).
    - chat templates: :func:`encode_chat` (the template's tokens special, the record's text text).
    """
    if chat:
        return encode_chat(tokenizer, prompts, own)
    ids = batch_tokenize(tokenizer, prompts, add_special_tokens=True, split_special_tokens=True)
    eos = tokenizer.eos_token_id
    if ids and _appends_eos(tokenizer):
        ids = [p[:-1] if p and p[-1] == eos else p for p in ids]
    return ids


def own_strings(template, record: Mapping[str, Any]) -> list[str]:
    """The record's own strings inside its prompt (chat: the message contents; text: none needed)."""
    if template.kind != "chat":
        return []
    return [m["content"] for m in template.messages(record, with_answer=False)]


def prompt_ids(template, tokenizer, records: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """Render ``records`` with ``template`` and return their prompt ids (:func:`encode_prompts`)."""
    prompts = [template.prompt(r, tokenizer) for r in records]
    return encode_prompts(tokenizer, prompts, chat=template.kind == "chat",
                          own=[own_strings(template, r) for r in records])


def ranges(starts, lens):
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lens)])``, without a Python loop:
    ones with a jump at each segment's first position, then one cumulative sum (no repeat/arange
    temporaries of the output's size)."""
    import numpy as np

    lens = np.asarray(lens, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    nonempty = lens > 0
    lens, starts = lens[nonempty], starts[nonempty]
    total = int(lens.sum())
    out = np.ones(total, dtype=np.int64)
    if total == 0:
        return out
    first = np.cumsum(lens) - lens
    out[0] = starts[0]
    out[first[1:]] = starts[1:] - (starts[:-1] + lens[:-1] - 1)
    return np.cumsum(out, out=out)


@dataclass
class Examples:
    """Tokenized examples back to back (numpy): example ``i`` is ``ids[offsets[i]:offsets[i + 1]]``
    and the same slice of ``labels``; ``truncated[i]`` says its response was cut. Flat arrays, not
    a list per example: selecting, shuffling, packing and writing Arrow are then array operations."""

    ids: Any        # int32
    labels: Any     # int32
    offsets: Any    # int64, len(self) + 1
    truncated: Any  # bool, one per example

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self):
        import numpy as np

        return np.diff(self.offsets)

    def take(self, order) -> Examples:
        """The examples at ``order`` (repeats allowed), in that order."""
        import numpy as np

        order = np.asarray(order, dtype=np.int64)
        lens = self.lengths[order]
        src = ranges(self.offsets[:-1][order], lens)
        return Examples(self.ids[src], self.labels[src], np.concatenate([[0], np.cumsum(lens)]).astype(np.int64),
                        self.truncated[order])

    @staticmethod
    def concat(parts: Sequence[Examples]) -> Examples:
        import numpy as np

        if not parts:
            return Examples(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(1, np.int64), np.zeros(0, bool))
        shift = np.cumsum([0] + [int(p.offsets[-1]) for p in parts[:-1]])
        offsets = np.concatenate([[0]] + [p.offsets[1:] + d for p, d in zip(parts, shift)]).astype(np.int64)
        return Examples(np.concatenate([p.ids for p in parts]), np.concatenate([p.labels for p in parts]), offsets,
                        np.concatenate([p.truncated for p in parts]))

    def example(self, i: int) -> tuple[list[int], list[int]]:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.ids[a:b].tolist(), self.labels[a:b].tolist()


def build_examples(p_ids: Sequence[list[int]], c_ids: Sequence[list[int]], eos_id: int, max_length: int):
    """:func:`build_example` for many records at once: ``(examples, index, counts)``, where
    ``index[i]`` is record i's example number, or -1 when it was dropped. Same ids and labels as
    :func:`build_example` record by record (a test checks it), in array operations."""
    import numpy as np

    n = len(p_ids)
    p_len = np.fromiter(map(len, p_ids), dtype=np.int64, count=n)
    c_raw = np.fromiter(map(len, c_ids), dtype=np.int64, count=n)
    c_len = c_raw.copy()
    last = np.fromiter((c[-1] if c else -1 for c in c_ids), dtype=np.int64, count=n)
    for i in np.flatnonzero(last == eos_id):  # trailing EOS of the completion: the one EOS is added below
        c = c_ids[i]
        k = len(c)
        while k and c[k - 1] == eos_id:
            k -= 1
        c_len[i] = k
    room = max_length - p_len
    fits = c_len + 1 <= room
    keep = fits | (room >= MIN_RESPONSE_TOKENS)
    pk, fk = p_len[keep], fits[keep]
    ck = np.where(fits, c_len, room)[keep]
    offsets = np.concatenate([[0], np.cumsum(pk + ck + fk)]).astype(np.int64)
    p_flat = np.fromiter(chain.from_iterable(p_ids), dtype=np.int32, count=int(p_len.sum()))
    c_flat = np.fromiter(chain.from_iterable(c_ids), dtype=np.int32, count=int(c_raw.sum()))
    p_off = (np.cumsum(p_len) - p_len)[keep]
    c_off = (np.cumsum(c_raw) - c_raw)[keep]
    ids = np.empty(int(offsets[-1]), dtype=np.int32)
    labels = np.empty_like(ids)
    starts = offsets[:-1]
    dst = ranges(starts, pk)
    ids[dst] = p_flat[ranges(p_off, pk)]
    labels[dst] = IGNORE_INDEX
    dst = ranges(starts + pk, ck)
    ids[dst] = labels[dst] = c_flat[ranges(c_off, ck)]
    ends = (starts + pk + ck)[fk]
    ids[ends] = labels[ends] = eos_id
    index = np.full(n, -1, dtype=np.int64)
    index[keep] = np.arange(int(keep.sum()))
    examples = Examples(ids, labels, offsets, ~fk)
    return examples, index, {"dropped_prompt_too_long": int(n - keep.sum()), "truncated": int((~fk).sum())}


def encode_records(template, tokenizer, cols: dict[str, list], max_length: int):
    """Render and tokenize the records of one config: ``(examples, index, counts)`` of
    :func:`build_examples` (prompts by :func:`encode_prompts`, the ids evaluation uses too)."""
    prompts, completions = render_all(template, cols, tokenizer)
    chat = template.kind == "chat"
    own = None
    if chat:
        records = [{"instruction": a, "input": b, "output": c}
                   for a, b, c in zip(cols["instruction"], cols["input"], cols["output"])]
        own = [own_strings(template, r) for r in records]
    p_ids = encode_prompts(tokenizer, prompts, chat=chat, own=own)
    if chat:
        c_ids = encode_chat(tokenizer, completions, [[out] for out in cols["output"]])
    else:
        c_ids = batch_tokenize(tokenizer, completions, add_special_tokens=False, split_special_tokens=True)
    return build_examples(p_ids, c_ids, tokenizer.eos_token_id, max_length)
