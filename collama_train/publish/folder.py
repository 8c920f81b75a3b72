"""The run folder: what a finished ``collama-train`` run holds, what of it is uploaded, and the
scrubbing that keeps local paths, the host name and the token out of the upload.

Uploaded: the model (``config.json``, ``generation_config.json``, the weights) or the adapter
(``adapter_config.json``, ``adapter_model.*``), the tokenizer files, ``collama_run.json`` and
``eval/results.json`` (their local paths replaced), and the card. Never uploaded: checkpoints,
``training_args.bin`` (a pickle holding local paths), ``trainer_state.json``, generations, logs.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

from mulco.toolkit import PublishError

REPORT = "collama_run.json"
EVAL_RESULTS = "eval/results.json"
#: The model's files at the top of a full run folder (weights: one of the last five kinds).
MODEL_CONFIGS = ("config.json", "generation_config.json")
WEIGHTS = ("model.safetensors", "model-*-of-*.safetensors", "model.safetensors.index.json",
           "pytorch_model.bin", "pytorch_model-*-of-*.bin", "pytorch_model.bin.index.json")
ADAPTER = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin")
TOKENIZER = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
             "chat_template.jinja", "chat_template.json", "tokenizer.model", "spiece.model", "vocab.json",
             "vocab.txt", "merges.txt")
#: JSON files whose strings are scrubbed of every absolute path (reports: no path in them is needed).
REPORTS = (REPORT, EVAL_RESULTS)
#: Keys of the model's JSON files that name where it was loaded from.
ORIGIN_KEYS = ("_name_or_path", "name_or_path")
LOCAL = "<local path>"
#: An absolute local path inside a text (not a URL's ``//``): ``/x/y``, ``~/x``, ``C:\\x``.
ABS_PATH = re.compile(r"(?:^|(?<=[\s=,;:\"'(\[]))(?:~/|[A-Za-z]:\\|/(?=[^/\s]))[^\s\"',;)\]]+")


class RunError(PublishError):
    """A run folder that cannot be published (bad input: the message says what to do)."""


@dataclass
class Run:
    """A finished run folder: its report, what kind of model it holds and its model files."""

    folder: Path
    report: dict
    kind: str  # "full" | "lora"
    files: dict[str, Path] = field(default_factory=dict)  # relative name -> path: model/adapter + tokenizer
    eval: dict | None = None

    @property
    def recorded_base(self) -> str | None:
        """The base model as the run recorded it (a path or a Hub id)."""
        if self.kind == "lora":
            base = read_json(self.folder / "adapter_config.json").get("base_model_name_or_path")
            if base:
                return base
        return (self.report.get("model") or {}).get("model")


def read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise RunError(f"{path}: not valid JSON (line {e.lineno}: {e.msg}); was the run interrupted while writing it?") from None
    except OSError as e:
        raise RunError(f"{path}: cannot be read ({e.strerror})") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def matching(folder: Path, patterns) -> list[str]:
    names = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.is_symlink())
    return [n for n in names if any(fnmatch.fnmatch(n, pat) for pat in patterns)]


def load_run(folder: str | Path) -> Run:
    """The run in ``folder``; :class:`RunError` for a folder that is not a finished run with a model."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunError(f"{folder}: no such folder (pass the --output-dir of a `collama-train` run)")
    if not (folder / REPORT).is_file():
        ckpts = sorted(folder.glob("checkpoint-*"), key=lambda p: (len(p.name), p.name))
        hint = (f"; its last checkpoint is {ckpts[-1].name}: finish it with `collama-train ... --output-dir {folder} --resume`"
                if ckpts else "")
        raise RunError(f"{folder} has no {REPORT}: not a finished `collama-train` run (a crashed or running one?){hint}")
    report = read_json(folder / REPORT)
    kind = "lora" if (folder / "adapter_config.json").is_file() else "full"
    weights = matching(folder, ADAPTER[1:] if kind == "lora" else WEIGHTS)
    if kind == "full" and not (folder / "config.json").is_file() or not weights:
        what = "adapter_model.safetensors" if kind == "lora" else "config.json and model.safetensors"
        raise RunError(f"{folder} has no model ({what} missing): the run did not save its model (did it crash?); "
                       "train again or resume it with --resume")
    for name in weights:
        check_weights(folder / name)
    check_shards(folder)
    tokenizer = matching(folder, TOKENIZER)
    if not any(n in tokenizer for n in ("tokenizer.json", "tokenizer_config.json")):
        raise RunError(f"{folder} has no tokenizer (tokenizer.json / tokenizer_config.json): the run did not finish saving")
    names = [*matching(folder, ADAPTER if kind == "lora" else (*MODEL_CONFIGS, *WEIGHTS)), *tokenizer]
    results = folder / EVAL_RESULTS
    return Run(folder, report, kind, {n: folder / n for n in names}, read_json(results) if results.is_file() else None)


def check_weights(path: Path) -> None:
    """A ``.safetensors`` file must be whole: its header parses and its size is header + tensors."""
    if path.suffix != ".safetensors":
        return
    size = path.stat().st_size
    try:
        with open(path, "rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(n)) if 8 + n <= size else None
        end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    except (ValueError, TypeError, KeyError, AttributeError):
        header, end = None, -1
    if header is None or 8 + n + end != size:
        raise RunError(f"{path}: truncated or damaged (its safetensors header does not match its {size} bytes): "
                       "the run did not finish writing it; train again")


def check_shards(folder: Path) -> None:
    for index in matching(folder, ("*.index.json",)):
        missing = sorted({f for f in (read_json(folder / index).get("weight_map") or {}).values()
                          if not (folder / f).is_file()})
        if missing:
            raise RunError(f"{folder / index} names {len(missing)} missing weight files (first: {missing[0]}): "
                           "the run did not finish saving")


# --------------------------------------------------------------------------------------------
# What must not leave the machine


def hostnames() -> list[str]:
    """This machine's names (only ones long enough that finding them means a leak, not a word)."""
    names = {socket.gethostname(), socket.getfqdn()}
    return sorted((n for n in names if len(n) >= 6 and not n.startswith("localhost")), key=len, reverse=True)


def _forms(path: str) -> set[str]:
    """The absolute spellings of a local path (as given, absolute, symlinks resolved)."""
    out = {os.path.abspath(os.path.expanduser(path)), os.path.realpath(os.path.expanduser(path))}
    return {p for p in out if len(p) > 4}


class Scrubber:
    """Replaces local paths by what they stand for on the Hub (``local`` maps a local path to its
    public name: the run folder to ``.``, the base model to its Hub id, ...), then, in reports, any
    other absolute path by ``<local path>``, and the host name by ``<host>``."""

    def __init__(self, local: dict[str, str]):
        pairs = {form: public for path, public in local.items() if path for form in _forms(str(path))}
        self.pairs = sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True)
        # as recorded, relative ones too (``--data out/sample``), when they can only be paths
        self.exact = {str(p): public for p, public in local.items() if p and ("/" in str(p) or os.path.exists(p))}
        self.hosts = hostnames()

    def text(self, s: str, any_path: bool = True) -> str:
        for path, public in self.pairs:
            s = s.replace(path, public)
        if any_path:
            s = ABS_PATH.sub(LOCAL, s)
        for h in self.hosts:
            s = re.sub(rf"\b{re.escape(h)}\b", "<host>", s)
        return s

    def json(self, value, any_path: bool = True):
        if isinstance(value, str):
            return self.exact.get(value) or self.text(value, any_path)
        if isinstance(value, list):
            return [self.json(v, any_path) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v, any_path) for k, v in value.items()}
        return value

    def secrets(self) -> tuple[list[str], list[str]]:
        """(strings whose presence anywhere in an upload is a leak: the known local paths and the
        host name; the home and working folders, a leak outside a tokenizer's vocabulary)."""
        weak = {f for p in (str(Path.home()), os.getcwd()) for f in _forms(p)}
        return [p for p, _ in self.pairs] + self.hosts, sorted(weak - {p for p, _ in self.pairs})


def dump_json(data: dict) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def public_json(path: Path, scrub: Scrubber, *, report: bool = False, set_keys: dict | None = None) -> bytes:
    """The bytes to upload for a JSON file of the run: reports lose every absolute path; the
    model's files lose a local ``*name_or_path`` and any known local path; ``set_keys`` are set."""
    data = read_json(path)
    new = scrub.json(data, any_path=report)
    for key in ORIGIN_KEYS:
        if key in data and (new[key] != data[key] or ABS_PATH.fullmatch(str(data[key]))):
            new.pop(key)
    new.update(set_keys or {})
    return path.read_bytes() if new == data else dump_json(new)


#: Files whose text is a tokenizer's vocabulary (paths may be tokens there).
VOCAB = ("tokenizer.json", "vocab.*", "merges.txt", "*.model")


def uploaded_text(name: str, data: bytes | None, path: Path) -> str:
    """The text of an uploaded file to scan: a weights file's header only."""
    if data is None and name.endswith(".safetensors"):
        with open(path, "rb") as fh:
            data = fh.read(8 + int.from_bytes(fh.read(8), "little"))
    elif data is None:
        data = b"" if name.endswith(".bin") else path.read_bytes()
    return data.decode("utf-8", "replace")


def leak(name: str, text: str, secrets: tuple[list[str], list[str]], token: str | None) -> str | None:
    """What ``text`` (of the file uploaded as ``name``) would leak, or None."""
    if token and token in text:
        return "the Hugging Face token"
    strong, weak = secrets
    vocab = any(fnmatch.fnmatch(name, pat) for pat in VOCAB)
    for s in strong + ([] if vocab else weak):
        if re.search(rf"(?<![\w.-]){re.escape(s)}(?![\w-])", text):
            return f"the local path or host name {s!r}"
    return None
