"""Training data: select MulCo configs, mix them, render prompts, tokenize once (cached), mask, pack.

One module per job: :mod:`.arguments` (the flags and their cheap checks), :mod:`.sources` (reading
records, the mixture), :mod:`.tokenizing` (templates, batched tokenizing, masking),
:mod:`.packing` (best-fit-decreasing rows), :mod:`.guard` (is packing exact for
this model family?), :mod:`.cache` (the on-disk cache), :mod:`.pipeline`
(``prepare()``, which runs them) and :mod:`.collator` (batches for the trainer). Every public name
is importable from ``collama_train.data``.

The steps, each small and reported (see docs/data-pipeline.md):

1. **Select** (:func:`mulco.resolve`): config names -> leaf Parquet files, each record once even
   when two selected configs contain it; ``--licenses`` keeps only records whose ``license`` is listed.
2. **Mix** (:func:`mixture_counts`): a weight is the config's *share of the final mixture*. With
   every config weighted, the weights are normalised (``a:3,b:1`` = 75 % / 25 %) and the mixture
   has as many records as the configs have together; configs without a weight keep their natural
   size and the weighted ones take their share of the total (their weights must then sum below 1).
   A config asked for more records than it has is *over-sampled* (every record repeated, then a
   seeded sample of the rest), one asked for fewer is *under-sampled* (a seeded sample without
   replacement). ``--max-samples N`` scales every count so the total is at most N (shares kept).
   Sampling and the final order use the run's seed.
3. **Render** with a template from :mod:`collama_train.prompts` (EN and ZH records alike).
4. **Tokenize** prompts and completions *separately*, in large batches (one fast-tokenizer call
   per 1,000 strings), and concatenate the ids: ``prompt + completion + [eos]``. Labels are -100 on
   the prompt's *positions* (never by token id, so a pad==eos tokenizer or a pad token inside a
   response changes nothing) and the completion ids elsewhere; a boundary merge cannot hide the
   response because the two parts are never tokenized together.
   A response that fits ends with one EOS; a long response is cut to fit ``max_length`` *without*
   its EOS (the model must not learn to stop mid-answer) and counted; a record whose prompt leaves
   fewer than ``MIN_RESPONSE_TOKENS`` (4) tokens for a response that does not fit is dropped and
   counted. No example is ever fully masked.
5. **Pack** (``--packing``): best-fit-decreasing of whole records into rows of ``max_length``,
   ``position_ids`` restarting at 0 for each record; :class:`Collator` can flatten a batch into one
   row with no attention mask, which transformers turns into a block-diagonal causal mask.
6. **Cache**: the result is saved with ``datasets.Dataset.save_to_disk`` under a key that hashes
   the tokenizer, template, configs, weights, licences, max length, packing, seed, sample limit,
   splits and the data's fingerprint; rank 0 builds it first, the other ranks read it.
"""

from __future__ import annotations

from .arguments import DataArguments, DataError, check_tokenizer, parse_licenses, parse_mixture, validate_data_args
from .cache import FORMAT_VERSION, cache_root, tokenizer_fingerprint
from .collator import Collator, real_tokens
from .guard import PACKING_EXACT, PACKING_LEAKS, check_packing, packing_leak
from .packing import pack_bfd, pack_examples, packing_efficiency, padding_efficiency
from .pipeline import Prepared, log_report, prepare
from .sources import SEED_COMPAT_NAME, mixture_counts, sample_indices
from .tokenizing import (IGNORE_INDEX, MIN_RESPONSE_TOKENS, TOKENIZE_BATCH, Examples, batch_tokenize, build_example,
                         build_examples, encode_chat, encode_prompts, encode_records, prompt_ids, render_all)

__all__ = [
    "FORMAT_VERSION", "IGNORE_INDEX", "MIN_RESPONSE_TOKENS", "PACKING_EXACT", "PACKING_LEAKS", "SEED_COMPAT_NAME",
    "TOKENIZE_BATCH", "Collator", "DataArguments", "DataError", "Examples", "Prepared", "batch_tokenize",
    "build_example", "build_examples", "cache_root", "check_packing", "check_tokenizer", "encode_chat",
    "encode_prompts", "encode_records", "log_report", "mixture_counts", "pack_bfd", "pack_examples",
    "packing_efficiency", "packing_leak", "padding_efficiency", "parse_licenses", "parse_mixture", "prepare",
    "prompt_ids", "real_tokens", "render_all", "sample_indices", "tokenizer_fingerprint", "validate_data_args",
]
