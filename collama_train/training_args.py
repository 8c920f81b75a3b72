"""``TrainingArguments``: transformers' own with the defaults a fine-tune wants (every other flag as is).

Kept apart from :mod:`collama_train.args` because importing ``transformers.TrainingArguments`` costs
seconds (it pulls in the trainer utilities and peft): ``collama-train train --help`` and every
argument check that does not need it stay fast."""
from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments as HfTrainingArguments


@dataclass
class TrainingArguments(HfTrainingArguments):
    """``transformers.TrainingArguments`` with the defaults a fine-tune wants; every other flag as is."""

    output_dir: str | None = field(default=None, metadata={"help": "Run folder: checkpoints, model, collama_run.json."})
    remove_unused_columns: bool = field(default=False, metadata={
        "help": "Kept False: the collator picks the columns it needs from the tokenized records."})
    include_num_input_tokens_seen: str = field(default="non_padding", metadata={
        "help": "Count the real (non-pad) tokens for the tokens/s figure (all, non_padding, no)."})
    logging_steps: float = field(default=1, metadata={"help": "Log loss, lr and tokens/s every N steps."})
