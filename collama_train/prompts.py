"""Prompt templates, shared by training and evaluation so the model is asked what it was taught.

Templates are data files (``collama_train/templates/*.yaml``), looked up by name with
:func:`from_name`. A template turns a MulCo record (any mapping with ``instruction``, ``input``
and ``output``) into a *prompt* (what the model sees) and a *completion* (what it learns to
write). The EOS token is not part of the completion text: tokenization appends the tokenizer's
``eos_token_id`` (see ``collama_train.data``), so a template never depends on how a tokenizer
spells its EOS.

- ``alpaca`` (default): the seed's Stanford-Alpaca prompt, with and without input, byte for byte.
- ``chat``: the tokenizer's chat template; the prompt is the conversation up to the assistant's
  turn (``add_generation_prompt=True``), the completion is what the template adds for the answer.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

DEFAULT_TEMPLATE = "alpaca"


class TemplateError(ValueError):
    """An unknown template name, or a tokenizer/template pair that cannot render a record."""


@dataclass(frozen=True)
class Rendered:
    prompt: str
    completion: str


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    kind: str  # "text" | "chat"
    prompt_input: str | None = None
    prompt_no_input: str | None = None
    system: str | None = None
    user_input: str | None = None
    user_no_input: str | None = None

    @property
    def needs_tokenizer(self) -> bool:
        return self.kind == "chat"

    def messages(self, record: Mapping[str, Any], with_answer: bool = True) -> list[dict]:
        """The chat messages of a record (chat templates only)."""
        fmt = self.user_input if record.get("input") else self.user_no_input
        msgs = [] if self.system is None else [{"role": "system", "content": self.system}]
        msgs.append({"role": "user", "content": fmt.format(instruction=record["instruction"], input=record.get("input") or "")})
        if with_answer:
            msgs.append({"role": "assistant", "content": record["output"]})
        return msgs

    def prompt(self, record: Mapping[str, Any], tokenizer=None) -> str:
        """What the model sees before its answer (training and evaluation use this same text)."""
        if self.kind == "text":
            fmt = self.prompt_input if record.get("input") else self.prompt_no_input
            return fmt.format(instruction=record["instruction"], input=record.get("input") or "")
        tok = _chat_tokenizer(self, tokenizer)
        return tok.apply_chat_template(self.messages(record, with_answer=False), tokenize=False, add_generation_prompt=True)

    def render(self, record: Mapping[str, Any], tokenizer=None) -> Rendered:
        """Prompt and completion of one record (the completion without EOS)."""
        prompt = self.prompt(record, tokenizer)
        if self.kind == "text":
            return Rendered(prompt, record["output"])
        tok = _chat_tokenizer(self, tokenizer)
        full = tok.apply_chat_template(self.messages(record), tokenize=False)
        if not full.startswith(prompt):
            raise TemplateError(
                f"template {self.name!r}: the tokenizer's chat template does not start the full conversation with "
                "the generation prompt, so the answer cannot be separated from the prompt; use --template alpaca")
        return Rendered(prompt, full[len(prompt):])


def _chat_tokenizer(template: Template, tokenizer):
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        raise TemplateError(f"template {template.name!r} needs a tokenizer with a chat template "
                            "(tokenizer.chat_template is not set); use --template alpaca")
    return tokenizer


@lru_cache(maxsize=None)
def _load() -> dict[str, Template]:
    import yaml

    out = {}
    for entry in sorted(resources.files(__package__).joinpath("templates").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            data = yaml.safe_load(entry.read_text(encoding="utf-8"))
            out[data["name"]] = Template(**data)
    return out


def names() -> list[str]:
    """Registered template names, sorted."""
    return sorted(_load())


def from_name(name: str) -> Template:
    """The template called ``name``; an unknown name lists the close (or all) valid ones."""
    templates = _load()
    if name not in templates:
        close = difflib.get_close_matches(name, templates, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise TemplateError(f"unknown template {name!r}{hint}; choose one of: {', '.join(sorted(templates))}")
    return templates[name]
