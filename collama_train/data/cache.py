"""The on-disk cache of tokenized datasets: where it lives, the key that names an entry, and
reading and (atomically) writing an entry (docs/data-pipeline.md §4)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from .arguments import DataArguments

#: Bump when the tokenized layout or the masking rules change (invalidates old caches).
FORMAT_VERSION = 3  # 2: a cut response has no EOS, a stub is dropped; 3: special strings in chat records are text


def cache_root(args: DataArguments) -> Path:
    root = args.tokenized_cache_dir or os.environ.get("COLLAMA_CACHE")
    if root and not args.tokenized_cache_dir:
        return Path(root).expanduser() / "tokenized"
    return Path(root).expanduser() if root else Path.home() / ".cache" / "collama" / "tokenized"


def tokenizer_fingerprint(tokenizer) -> str:
    """A hash of everything about ``tokenizer`` that changes token ids (vocab, merges, normaliser,
    post-processor, special tokens, chat template)."""
    h = hashlib.sha256()
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        h.update(backend.to_str().encode("utf-8"))
    else:
        h.update(json.dumps(sorted(tokenizer.get_vocab().items()), ensure_ascii=False).encode("utf-8"))
    meta = [type(tokenizer).__name__, tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id,
            getattr(tokenizer, "chat_template", None), sorted(getattr(tokenizer, "special_tokens_map", {}).items()),
            getattr(tokenizer, "add_bos_token", None), getattr(tokenizer, "add_eos_token", None)]
    h.update(json.dumps(meta, default=str, ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()


def cache_key(args: DataArguments, tokenizer, mixture, licenses, source_fp: str, eval_fp: str | None, seed: int) -> str:
    from ..prompts import from_name

    key = {
        "format": FORMAT_VERSION, "tokenizer": tokenizer_fingerprint(tokenizer),
        "template": [args.template, repr(from_name(args.template))], "mixture": mixture,
        "licenses": None if licenses is None else sorted(x.lower() for x in licenses),
        "max_length": args.max_length, "packing": bool(args.packing), "seed": seed, "max_samples": args.max_samples,
        "split": args.split, "eval_split": args.eval_split, "data": source_fp, "eval_data": eval_fp,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


def load_cached(folder: Path, want_eval: bool):
    """(report, train, eval) of a cache entry, or None when it is missing or unreadable (a
    damaged entry is removed, so it is rebuilt)."""
    if not (folder / "report.json").is_file():
        return None
    import datasets

    try:
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        train = datasets.load_from_disk(str(folder / "train"))
        ev = datasets.load_from_disk(str(folder / "eval")) if want_eval else None
        return report, train, ev
    except Exception:  # noqa: BLE001 - any damage means: build it again
        shutil.rmtree(folder, ignore_errors=True)
        return None


def save_entry(folder: Path, key: str, report: dict, cols: dict, packed: bool, ev_cols: dict | None) -> None:
    """Write one cache entry (``train/``, ``eval/``, ``report.json``) to a temp folder and rename
    it into place, so a crash leaves no half entry."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    quiet = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        _dataset(cols, packed, fingerprint=f"collama-{key}-train").save_to_disk(str(tmp / "train"))
        if ev_cols is not None:
            _dataset(ev_cols, False, fingerprint=f"collama-{key}-eval").save_to_disk(str(tmp / "eval"))
        (tmp / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        try:
            os.replace(tmp, folder)
        except OSError:
            if not (folder / "report.json").is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process (another node's rank 0) finished first: same key, same data
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if not quiet:
            enable_progress_bars()


def _int_lists(column) -> Any:
    """A pyarrow ``list<int32>`` array from ``(values, row_offsets)`` numpy arrays, built on those
    buffers (no Python lists); ``large_list`` past 2**31 values."""
    import numpy as np
    import pyarrow as pa

    values, offsets = column
    values = pa.array(np.asarray(values, dtype=np.int32))
    if int(offsets[-1]) >= 2**31:
        return pa.LargeListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int64)), values)
    return pa.ListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int32)), values)


def _dataset(cols: dict, packed: bool, fingerprint: str | None = None):
    """The rows as a ``datasets.Dataset``; ``fingerprint`` (the cache key) spares hashing the whole table.
    List columns come as ``(values, row_offsets)``, ``length`` as an array."""
    import datasets
    import numpy as np
    import pyarrow as pa

    names = ["input_ids", "labels"] + (["position_ids"] if packed else [])
    arrays = {k: _int_lists(cols[k]) for k in names}
    arrays["length"] = pa.array(np.asarray(cols["length"], dtype=np.int32))
    return datasets.Dataset(pa.table(arrays), fingerprint=fingerprint)
