"""Run ``collama-train`` with an evaluation that first sleeps (``python tests/train_slow_eval.py SECONDS
LOGITS.pt|- TRAIN_FLAGS...``, also under torchrun): evaluation after training that takes longer than the
collective timeout (``--ddp_timeout``) must not fail the other ranks. With a LOGITS path the trained
model's logits on a fixed input are saved at the end of training (``train_probe.LogitsProbe``), for
a comparison with the weights the run saved, reloaded in a fresh process."""
from __future__ import annotations

import sys
import time

from collama_train.cli import launched_by_a_launcher, leave
from collama_train.evaluate import runner
from collama_train.train import main
from train_probe import LogitsProbe

_evaluate_model = runner.evaluate_model


def slow_evaluate_model(*args, **kwargs):
    time.sleep(float(sys.argv[1]))
    return _evaluate_model(*args, **kwargs)


if __name__ == "__main__":
    runner.evaluate_model = slow_evaluate_model
    launched = launched_by_a_launcher()
    probe = [] if sys.argv[2] == "-" else [LogitsProbe(sys.argv[2])]
    sys.exit(leave(main(sys.argv[3:], callbacks=probe), launched))
