"""The collator: tokenized rows -> a batch of torch tensors, padded or packed; and the count of
the real tokens in such a batch."""
from __future__ import annotations

from .tokenizing import IGNORE_INDEX


def real_tokens(batch: dict):
    """The number of real (non-padding) tokens in a batch from :class:`Collator`, as a 0-d tensor.

    Counted from the labels, never by comparing ids with the pad id (a tokenizer without a pad
    token pads with EOS, and EOS ends every record): every record ends with a trained token (its
    EOS, or the last kept token of a cut response), and padding is only ever at the end of a row
    with labels -100, so a row's real tokens run up to its last label that is not -100. Right for
    padded rows, packed rows kept as the batch and one flattened row alike."""
    import torch

    trained = batch["labels"] != IGNORE_INDEX
    n = trained.shape[-1]
    last = n - torch.flip(trained.to(torch.int8), dims=[-1]).argmax(dim=-1)  # index after the last trained token
    return torch.where(trained.any(dim=-1), last, torch.zeros_like(last)).sum()


class Collator:
    """Turn tokenized rows into a batch of torch tensors.

    - padded (``packed=False``): right-pad ``input_ids`` with the pad id (EOS when the tokenizer
      has none), ``labels`` with -100, and an ``attention_mask`` of the real tokens.
    - packed (``packed=True``): ``position_ids`` restart at 0 for each record (taken from packed
      rows, ``range(len)`` for plain rows), labels are -100 at each record's first token, there is
      NO ``attention_mask``, and ``use_cache=False``: transformers builds the block-diagonal mask
      from restarting position ids only without an attention mask and without a KV cache (a model
      whose config has ``use_cache=True`` would otherwise make one and attend across records).
      By default the packed rows stay the batch (right-padded; the padding is a segment of its own
      whose labels are -100, so no real token sees it): on sdpa/eager this is about 3x faster than
      one long row, whose mask grows with the square of the whole batch (docs/training.md).
      ``flatten=True`` concatenates the batch into ONE row instead, the layout flash-attention's
      variable-length kernels read from position ids (``collama-train`` chooses it for
      ``--attn_implementation flash_attention_*`` only, whatever the tokenizer's pad token:
      :func:`real_tokens` counts real tokens without telling padding from EOS).
    """

    def __init__(self, tokenizer, packed: bool = False, pad_to_multiple_of: int | None = None, flatten: bool = False):
        self.packed = packed
        self.flatten = flatten
        self.pad_to_multiple_of = pad_to_multiple_of
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_id = pad if pad is not None else tokenizer.eos_token_id

    def _packed_rows(self, features: list[dict]) -> list[tuple[list[int], list[int], list[int]]]:
        rows = []
        for f in features:
            f_ids = list(f["input_ids"])
            f_pos = list(f["position_ids"]) if f.get("position_ids") is not None else list(range(len(f_ids)))
            f_lab = [IGNORE_INDEX if p == 0 else lab for p, lab in zip(f_pos, f["labels"])]
            rows.append((f_ids, f_lab, f_pos))
        return rows

    def _longest(self, lengths) -> int:
        longest = max(lengths)
        if self.pad_to_multiple_of:
            longest = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
        return longest

    def __call__(self, features: list[dict]) -> dict:
        import torch

        if self.packed:
            rows = self._packed_rows(features)
            if self.flatten:
                rows = [tuple(sum((r[k] for r in rows), []) for k in range(3))]
            longest = self._longest(len(r[0]) for r in rows)
            n = len(rows)
            input_ids = torch.full((n, longest), self.pad_id, dtype=torch.long)
            labels = torch.full((n, longest), IGNORE_INDEX, dtype=torch.long)
            # padding positions restart at 0: a segment of their own that no real token attends to
            pos = torch.arange(longest, dtype=torch.long).repeat(n, 1)
            for i, (ids, lab, p) in enumerate(rows):
                k = len(ids)
                input_ids[i, :k] = torch.as_tensor(ids, dtype=torch.long)
                labels[i, :k] = torch.as_tensor(lab, dtype=torch.long)
                pos[i, :k] = torch.as_tensor(p, dtype=torch.long)
                pos[i, k:] -= k
            return {"input_ids": input_ids, "labels": labels, "position_ids": pos, "use_cache": False}
        longest = self._longest(len(f["input_ids"]) for f in features)
        n = len(features)
        input_ids = torch.full((n, longest), self.pad_id, dtype=torch.long)
        labels = torch.full((n, longest), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((n, longest), dtype=torch.long)
        for i, f in enumerate(features):
            k = len(f["input_ids"])
            input_ids[i, :k] = torch.as_tensor(list(f["input_ids"]), dtype=torch.long)
            labels[i, :k] = torch.as_tensor(list(f["labels"]), dtype=torch.long)
            mask[i, :k] = 1
        return {"input_ids": input_ids, "labels": labels, "attention_mask": mask}

