"""Run ``collama_train.train.main`` with a callback that writes the trained model's logits for a fixed
input (``python tests/train_probe.py LOGITS.pt TRAIN_FLAGS...``, also under torchrun). The ZeRO-3
test compares them with the weights the run saved, reloaded in a fresh process."""
from __future__ import annotations

import sys

import torch
from transformers import TrainerCallback

from collama_train.cli import launched_by_a_launcher, leave
from collama_train.train import main

PROBE = "def add(a, b):\n    return a + b\n"


class LogitsProbe(TrainerCallback):
    def __init__(self, path: str):
        self.path = path

    def on_train_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        ids = torch.tensor([processing_class(PROBE)["input_ids"]])
        model.eval()
        with torch.no_grad():  # every rank runs it: ZeRO-3 gathers the sharded weights in forward
            logits = model(ids).logits
        if state.is_world_process_zero:
            torch.save(logits.float().cpu(), self.path)


if __name__ == "__main__":
    launched = launched_by_a_launcher()
    sys.exit(leave(main(sys.argv[2:], callbacks=[LogitsProbe(sys.argv[1])]), launched))
