"""``transformers.Trainer`` with one change: real tokens are counted from the labels.

``Trainer`` counts non-padding tokens as ``attention_mask.sum()``, else as ids that differ from the
tokenizer's pad id. A packed batch has no attention mask (it would hide the packing), and a
tokenizer without a pad token pads with EOS (Llama-2/3, Mistral, CodeLlama; Qwen2.5 base has
pad = EOS), so every record's EOS would go uncounted. The collator used to flatten such batches
into one unpadded row only to make the count right, about 3x slower on sdpa/eager (issue 17.9).
:func:`collama_train.data.real_tokens` counts from the labels instead, for every layout.
"""
from __future__ import annotations

from transformers import Trainer


class CollamaTrainer(Trainer):
    """``Trainer`` whose ``num_input_tokens_seen`` (``non_padding``) counts real tokens from the labels."""

    def _track_num_input_tokens(self, inputs):
        if self.args.include_num_input_tokens_seen != "non_padding" or "labels" not in inputs:
            return super()._track_num_input_tokens(inputs)
        import torch

        from .data import real_tokens

        n = torch.as_tensor(real_tokens(inputs), device=self.args.device, dtype=torch.int64)
        self.state.num_input_tokens_seen += self.accelerator.gather(n).sum().item()
