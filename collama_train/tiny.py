"""Tiny models for tests, demos and benchmarks: a byte-level BPE tokenizer trained on the fly and a
randomly initialised Llama, saved like any Hub model so every command takes its folder as ``--model``.

Nothing is downloaded. ``collama-train tiny-model --out DIR`` writes one from the bundled sample
(or any MulCo folder), which is what ``make demo`` fine-tunes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

SPECIAL_TOKENS = ("<pad>", "<s>", "</s>", "<unk>")
#: A minimal chat template (ChatML-like) so the ``chat`` prompt template works with tiny models.
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] }}"
    "{% if m['role'] == 'assistant' %}{{ '</s>' }}{% endif %}{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 512, model_max_length: int = 2048):
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on ``texts`` (pad, bos, eos, unk set)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>", model_max_length=model_max_length)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def make_model(tokenizer, hidden_size: int = 64, layers: int = 2, heads: int = 4, max_positions: int = 2048, seed: int = 0):
    """A randomly initialised ``LlamaForCausalLM`` sized for ``tokenizer`` (deterministic for ``seed``)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
        max_position_embeddings=max_positions, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)


def record_texts(records: Iterable[dict]) -> Iterable[str]:
    for r in records:
        yield r["instruction"]
        if r.get("input"):
            yield r["input"]
        yield r["output"]


def save_tiny(out: str | Path, texts: Iterable[str], vocab_size: int = 512, hidden_size: int = 64, layers: int = 2,
              max_positions: int = 2048, seed: int = 0) -> Path:
    """Train a tokenizer on ``texts``, build a tiny Llama for it and save both to ``out``."""
    out = Path(out)
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size, model_max_length=max_positions)
    model = make_model(tokenizer, hidden_size=hidden_size, layers=layers, max_positions=max_positions, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out)
    model.save_pretrained(out)
    return out
