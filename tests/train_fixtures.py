"""Shared fixtures of the training tests: one tiny model and one built MulCo sample per run.

Use with ``from train_fixtures import *`` (pytest then sees the fixtures in that module).
Nothing is downloaded: the sample is ``mulco build`` of the bundled raw files and the model is a
tiny random Llama with a BPE tokenizer trained on the sample's texts (``collama_train.tiny``).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

REPO = Path(__file__).resolve().parent.parent
#: Small everywhere: hidden 32, 2 layers, vocab 1024, 512 positions; runs take ~1 s a step or less.
TINY = dict(vocab_size=1024, hidden_size=32, layers=2, max_positions=512, seed=0)


@pytest.fixture(scope="session")
def mulco_sample(built_sample) -> Path:
    """A built MulCo folder (``mulco build`` of the bundled sample, ~190 records; conftest's, read-only)."""
    return built_sample


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, mulco_sample) -> Path:
    """A tiny random Llama + tokenizer (eos, pad, chat template) saved like a Hub model; made once per run."""
    from conftest import once_per_run, tree_digest

    def make(out: Path) -> None:
        from collama_train.cli import folder_texts, template_texts
        from collama_train.tiny import save_tiny

        save_tiny(out, [*folder_texts(mulco_sample), *template_texts()], **TINY)

    folder = once_per_run(tmp_path_factory, "tiny_model", make)[0]
    before = tree_digest(folder)
    yield folder
    assert tree_digest(folder) == before, f"a test changed the shared tiny model {folder}"


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    """A private tokenized-data cache (never ~/.cache)."""
    return tmp_path / "tokcache"


def base_argv(model: Path, data: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    """A small training command line: ≤ 12 records, max_length 256, logging every step, no checkpoints."""
    return ["--model", str(model), "--data", str(data), "--output-dir", str(out), "--tokenized_cache_dir", str(cache),
            "--max-length", "256", "--max-samples", "12", "--save_strategy", "no", "--seed", "7",
            "--per_device_train_batch_size", "4", "--learning_rate", "1e-3", "--disable_tqdm", "true",
            "--dataloader_pin_memory", "false", *extra]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(argv: list[str], nproc: int = 1, script: str | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python -m collama_train ARGV`` (or ``torchrun --nproc_per_node N -m collama_train ARGV``);
    ``script`` runs that file instead of the module."""
    target = [script] if script else ["-m", "collama_train"]
    if nproc > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
               "--master_port", str(free_port()), *target, *argv]
    else:
        cmd = [sys.executable, *target, *argv]
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]))
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "LOCAL_WORLD_SIZE"):
        env.pop(k, None)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def run_report(out: Path) -> dict:
    return json.loads((Path(out) / "collama_run.json").read_text(encoding="utf-8"))


def losses(out: Path) -> list[float]:
    return [h["loss"] for h in run_report(out)["results"]["loss_history"]]


__all__ = ["mulco_sample", "tiny_model", "cache_dir", "base_argv", "run_cli", "run_report", "losses", "free_port",
           "TINY", "REPO"]


def bos_eos_tokenizer(texts, vocab_size: int):
    """A tiny byte-level BPE trained on ``texts``, shaped like Llama-3's or Mistral's tokenizer: no pad
    token, BOS added and EOS appended by a ``<s> $A </s>`` post-processor, and the tiny chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    from collama_train import tiny

    raw = Tokenizer(models.BPE(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<s>", "</s>", "<unk>"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                       show_progress=False))
    raw.post_processor = TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 1)])
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    tok.chat_template = tiny.CHAT_TEMPLATE
    return tok
