"""Is ``--packing`` exact for this model family? (issue 17.6)

Packed rows keep records apart only through restarting ``position_ids``: transformers builds a
block-diagonal causal mask from them (``masking_utils.find_packed_sequence_indices``) when no
attention mask and no KV cache are passed. Most decoder families build their mask there; a few
build their own and ignore the position ids, so packed records attend to each other (OPT, Bloom,
MPT). :func:`check_packing` refuses ``--packing`` for those in one line, before training.

How a family is judged: known families by a measured allow-list (:data:`PACKING_EXACT`) and
deny-list (:data:`PACKING_LEAKS`); a family in neither is *measured at start-up* by
:func:`packing_leak`: a tiny random model of the same configuration class (2 layers, hidden 32,
built from the user's config with the sizes shrunk, ~0.1-1 s on a CPU) runs two short records
packed in one row and each alone; the logits must agree to :data:`TOLERANCE`. The lists were made
by that same probe (``python bench/bench_packing_families.py``, table in docs/training.md).
"""
from __future__ import annotations

import copy

from .arguments import DataError

#: Packed logits equal each record run alone (max |diff| <= 2e-7 with sdpa and eager, measured).
PACKING_EXACT = frozenset({
    "llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2", "gemma3_text",
    "phi", "phi3", "starcoder2", "gpt2", "gpt_bigcode", "gpt_neox", "falcon", "codegen", "gptj", "cohere", "olmo",
    "olmo2", "stablelm", "granite",
})
#: Records leak into each other when packed (measured max |diff| of the logits, sdpa).
PACKING_LEAKS = {"opt": "OPT", "bloom": "Bloom", "mpt": "MPT"}
#: Largest logit difference (packed vs alone) that still counts as exact.
TOLERANCE = 1e-4

#: What a tiny copy of a config gets (only the attributes the config has are set).
_TINY = {
    "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "intermediate_size": 64, "head_dim": 8, "vocab_size": 128, "num_local_experts": 4, "num_experts": 4,
    "num_experts_per_tok": 2, "moe_intermediate_size": 32, "shared_expert_intermediate_size": 32,
    "n_inner": 64, "ffn_dim": 64, "word_embed_proj_dim": 32, "d_model": 32, "n_heads": 4, "n_layers": 2,
    "rotary_dim": 4,
}


def tiny_config(config):
    """A copy of ``config`` with the sizes of :data:`_TINY` (same class, same code paths)."""
    small = copy.deepcopy(config)
    for name, value in _TINY.items():
        if hasattr(small, name):
            try:
                setattr(small, name, value)
            except (AttributeError, TypeError, ValueError):
                pass
    if getattr(small, "layer_types", None):
        small.layer_types = list(small.layer_types)[:small.num_hidden_layers]
    for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
        value = getattr(small, name, None)
        if isinstance(value, int) and value >= small.vocab_size:
            setattr(small, name, 0)
    small.use_cache = False
    return small


def packing_leak(config, attn_implementation: str = "sdpa", seed: int = 0) -> float:
    """Max |logit difference| between two records packed in one row (position ids restarting, no
    attention mask, no cache, as :class:`~collama_train.data.Collator` feeds them) and each record
    run alone, for a tiny random model of ``config``'s family. 0 means exact."""
    import torch
    from transformers import AutoModelForCausalLM

    small = tiny_config(config)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(small, attn_implementation=attn_implementation).eval()
    with torch.no_grad():  # sharpen the random weights so that any leak shows in the logits
        for name, p in model.named_parameters():
            if "norm" not in name and "ln" not in name:
                p.mul_(4)
    gen = torch.Generator().manual_seed(seed)
    a = torch.randint(3, small.vocab_size, (1, 7), generator=gen)
    b = torch.randint(3, small.vocab_size, (1, 5), generator=gen)
    with torch.no_grad():
        alone = [model(input_ids=x, position_ids=torch.arange(x.shape[1])[None], use_cache=False).logits for x in (a, b)]
        pos = torch.cat([torch.arange(a.shape[1]), torch.arange(b.shape[1])])[None]
        packed = model(input_ids=torch.cat([a, b], dim=1), position_ids=pos, use_cache=False).logits
    return max((packed[:, :a.shape[1]] - alone[0]).abs().max().item(),
               (packed[:, a.shape[1]:] - alone[1]).abs().max().item())


def check_packing(config, attn_implementation: str = "sdpa") -> str:
    """Refuse ``--packing`` (DataError, one line) for a family whose attention ignores restarting
    position ids; returns how the family was judged ("allow-list" or "measured ...")."""
    kind = getattr(config, "model_type", "") or type(config).__name__
    if kind in PACKING_EXACT:
        return "allow-list"
    name = PACKING_LEAKS.get(kind)
    if name is None:
        try:
            leak = packing_leak(config, "eager" if str(attn_implementation).startswith("flash") else attn_implementation)
        except Exception as e:  # noqa: BLE001 - any failure means: we cannot vouch for packing here
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise DataError(f"--packing: cannot check that model type {kind!r} keeps packed records apart "
                            f"(a tiny copy of it did not run: {first}); train without --packing") from None
        if leak <= TOLERANCE:
            return f"measured ({leak:.1e})"
        raise DataError(f"--packing: model type {kind!r} lets packed records attend to each other (measured at "
                        f"start-up: packed logits differ from each record alone by {leak:.2g}); train without --packing")
    raise DataError(f"--packing: {name} models ({kind}) ignore the restarting position ids, so packed records would "
                    "attend to each other; train without --packing (padding to the longest is exact)")
