"""Issue 17.9: with a tokenizer that has no pad token (pad = EOS: Llama-2/3, Mistral, CodeLlama,
Qwen2.5 base), packed rows stay the batch on sdpa/eager instead of being flattened into one row
(about 3x slower there), and the real tokens are still counted right: from the labels, not by
comparing ids with the pad id (which would miss every record's EOS)."""
from __future__ import annotations

import json
import shutil

from train_fixtures import *  # noqa: F401,F403
from train_fixtures import base_argv, losses, run_report

from collama_train.data import Collator, DataArguments, prepare, real_tokens


def _no_pad_copy(tiny_model, dest):
    shutil.copytree(tiny_model, dest)
    cfg = json.loads((dest / "tokenizer_config.json").read_text())
    cfg.pop("pad_token", None)
    (dest / "tokenizer_config.json").write_text(json.dumps(cfg))
    return dest


def test_real_tokens_are_counted_from_labels_in_every_layout(tiny_model, mulco_sample, cache_dir, tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(_no_pad_copy(tiny_model, tmp_path / "nopad"))
    assert tok.pad_token_id is None
    tok.pad_token = tok.eos_token  # what collama-train does for such a tokenizer
    for packing in (False, True):
        p = prepare(DataArguments(data=str(mulco_sample), max_length=256, max_samples=12, packing=packing,
                                  tokenized_cache_dir=str(cache_dir)), tok, seed=7)
        rows = list(p.train)
        records_tokens = p.report["train"]["tokens"]
        layouts = [Collator(tok)] if not packing else [Collator(tok, packed=True), Collator(tok, packed=True, flatten=True)]
        for collator in layouts:
            batch = collator(rows)
            assert int(real_tokens(batch)) == records_tokens == sum(len(r["input_ids"]) for r in rows)
            # the pad-id way misses the EOS of every record
            assert int((batch["input_ids"] != tok.pad_token_id).sum()) < records_tokens


def test_packed_rows_stay_the_batch_for_a_tokenizer_without_pad_token(tiny_model, mulco_sample, cache_dir, tmp_path):
    from transformers import TrainerCallback

    from collama_train.train import main as train_main

    class Layout(TrainerCallback):
        def on_train_begin(self, args, state, control, train_dataloader=None, **kw):
            self.flatten = train_dataloader.collate_fn.flatten

    nopad = _no_pad_copy(tiny_model, tmp_path / "models" / "nopad")
    common = ("--max_steps", "1", "--per_device_train_batch_size", "64", "--optim", "sgd", "--learning_rate", "0.5",
              "--packing")
    seen = {}
    for name, model in (("pad", tiny_model), ("nopad", nopad)):
        seen[name] = Layout()
        assert train_main(base_argv(model, mulco_sample, tmp_path / "runs" / name, cache_dir, *common),
                          callbacks=[seen[name]]) == 0
    assert seen["pad"].flatten is False and seen["nopad"].flatten is False  # rows as the batch (was: one row)
    for name in ("pad", "nopad"):
        rep = run_report(tmp_path / "runs" / name)
        assert rep["results"]["tokens"] == rep["data_summary"]["tokens"]  # every EOS counted, no padding
    assert abs(losses(tmp_path / "runs" / "pad")[0] - losses(tmp_path / "runs" / "nopad")[0]) < 1e-5
