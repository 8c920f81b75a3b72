"""Generation backends: ``transformers`` (default; batched, left-padded, CPU-testable), an
OpenAI-compatible HTTP endpoint, and ``vllm`` when it is importable.

Each backend takes a list of :class:`Request` (the templated prompt, and the chat messages for
endpoints that take them) and returns ``n`` answers per request. ``stats`` counts generated tokens
and seconds (tokens/s in the results).
"""
from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass


class BackendError(RuntimeError):
    """A model that cannot be loaded or an endpoint that cannot be used (one-line message)."""


@dataclass
class Request:
    prompt: str
    messages: list[dict] | None = None


@dataclass
class GenerationConfig:
    max_new_tokens: int = 256
    do_sample: bool = False
    temperature: float = 0.8
    top_p: float = 0.95
    num_samples: int = 1
    batch_size: int = 8
    seed: int = 0


@dataclass
class Stats:
    generated_tokens: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        tps = self.generated_tokens / self.seconds if self.seconds else 0.0
        return {"generated_tokens": self.generated_tokens, "seconds": round(self.seconds, 3),
                "tokens_per_second": round(tps, 1)}


# ------------------------------------------------------------------ transformers

def load_transformers(path: str, dtype: str = "auto", device: str | None = None):
    """Tokenizer and causal LM from ``path`` (a folder or Hub id), or a one-line BackendError."""
    from pathlib import Path

    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        raise BackendError(f"the transformers backend needs the train extra: pip install -e '.[train]' ({e})") from None
    p = Path(path).expanduser()
    if not p.exists() and (str(path).startswith((".", "/", "~")) or str(path).count("/") != 1):
        raise BackendError(f"--model {path}: no such model folder")
    if p.exists() and not any((p / f).is_file() for f in ("config.json", "adapter_config.json")):
        raise BackendError(f"--model {path}: not a model folder (no config.json or adapter_config.json in it)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        kwargs = {} if dtype == "auto" else {"dtype": getattr(torch, dtype)}
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except Exception as e:  # noqa: BLE001 - any load failure is one line for the user
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BackendError(f"--model {path}: cannot be loaded ({type(e).__name__}: {msg[:300]})") from None
    if device:
        model.to(device)
    elif torch.cuda.is_available():
        model.to("cuda")
    return model, tokenizer


def stop_token_ids(model, tokenizer) -> list[int]:
    """The ids generation stops at: the model's generation config's EOS list (Llama-3-Instruct:
    ``<|end_of_text|>`` and ``<|eot_id|>``), then the tokenizer's EOS (what training appends)."""
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if configured is None:
        configured = []
    elif isinstance(configured, int):
        configured = [configured]
    ids = [*configured, tokenizer.eos_token_id]
    return [int(i) for i in dict.fromkeys(ids) if i is not None]


def _progress(total: int, show: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="generating", unit="prompt", disable=not show, file=sys.stderr, leave=False)


class TransformersBackend:
    name = "transformers"

    def __init__(self, model, tokenizer, add_special_tokens: bool = True, progress: bool = False):
        """``add_special_tokens``: True for a text template (alpaca), False for a chat template."""
        self.model, self.tokenizer = model, tokenizer
        self.add_special_tokens = add_special_tokens
        self.progress = progress  # a tqdm bar on stderr while generating
        self.stats = Stats()

    def prompt_ids(self, requests: list[Request]) -> list[list[int]]:
        """The ids training masked for these prompts: one function builds both
        (``collama_train.data.encode_prompts``: literal ``<s>``/``</s>`` in a record stay text, no
        EOS appended by a ``<s> $A </s>`` post-processor)."""
        from collama_train.data import encode_prompts

        chat = not self.add_special_tokens
        own = [[m["content"] for m in r.messages or []] for r in requests] if chat else None
        return encode_prompts(self.tokenizer, [r.prompt for r in requests], chat=chat, own=own)

    def _left_padded(self, prompts: list[list[int]], max_prompt: int) -> dict:
        import torch

        ids = [p[-max_prompt:] for p in prompts]  # too long: keep the end, next to the answer
        longest = max(len(p) for p in ids)
        input_ids = torch.full((len(ids), longest), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(ids), longest), dtype=torch.long)
        for i, p in enumerate(ids):
            input_ids[i, longest - len(p):] = torch.as_tensor(p, dtype=torch.long)
            mask[i, longest - len(p):] = 1
        return {"input_ids": input_ids.to(self.model.device), "attention_mask": mask.to(self.model.device)}

    def generate(self, requests: list[Request], cfg: GenerationConfig) -> list[list[str]]:
        import torch

        tok, model = self.tokenizer, self.model
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        max_pos = getattr(model.config, "max_position_embeddings", None) or 4096
        max_prompt = max(1, max_pos - cfg.max_new_tokens)
        stops = stop_token_ids(model, tok)
        gen_kwargs = {"max_new_tokens": cfg.max_new_tokens, "do_sample": cfg.do_sample,
                      "num_return_sequences": cfg.num_samples, "pad_token_id": tok.pad_token_id,
                      "eos_token_id": stops}
        if cfg.do_sample:
            gen_kwargs.update(temperature=cfg.temperature, top_p=cfg.top_p)
            torch.manual_seed(cfg.seed)
        else:
            gen_kwargs.update(temperature=None, top_p=None, top_k=None)
        # longest first: similar lengths share a batch, so there is little padding
        order = sorted(range(len(requests)), key=lambda i: -len(requests[i].prompt))
        prompts = self.prompt_ids(requests)  # once for all batches (the tokenizer checks and pattern too)
        out: list[list[str]] = [[] for _ in requests]
        was_training = model.training
        model.eval()
        start = time.perf_counter()
        bar = _progress(len(requests), self.progress)
        try:
            for b in range(0, len(order), cfg.batch_size):
                idx = order[b:b + cfg.batch_size]
                enc = self._left_padded([prompts[i] for i in idx], max_prompt)
                with torch.inference_mode():
                    gen = model.generate(**enc, **gen_kwargs)
                new = gen[:, enc["input_ids"].shape[1]:]
                stop = torch.isin(new, torch.tensor([*stops, tok.pad_token_id], device=new.device))
                # tokens up to and including the first stop token of each row
                self.stats.generated_tokens += int((~stop).int().cumprod(dim=1).sum()) + int(stop.any(dim=1).sum())
                texts = tok.batch_decode(new, skip_special_tokens=True)
                for j, i in enumerate(idx):
                    out[i] = texts[j * cfg.num_samples:(j + 1) * cfg.num_samples]
                bar.update(len(idx))
        finally:
            bar.close()
            self.stats.seconds += time.perf_counter() - start
            if was_training:
                model.train()
        return out


# ------------------------------------------------------------------ OpenAI-compatible endpoint

class EndpointBackend:
    """``POST {url}/completions`` (text prompts) or ``{url}/chat/completions`` (chat template):
    ``url`` is the API base, e.g. ``http://host:8000/v1``. The token comes from the environment
    variable ``api_key_env`` and is never printed (error texts are scrubbed of it)."""

    name = "endpoint"

    def __init__(self, url: str, model: str, api_key_env: str = "OPENAI_API_KEY", chat: bool = False,
                 timeout: float = 300.0):
        self.url, self.model, self.chat, self.timeout = url.rstrip("/"), model, chat, timeout
        self._token = os.environ.get(api_key_env) or None
        self.stats = Stats()

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _post(self, path: str, payload: dict) -> dict:
        req = urllib.request.Request(self.url + path, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        if self._token:
            req.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            body = e.read().decode("utf-8", "replace")[:200].replace("\n", " ")
            raise BackendError(self._scrub(f"endpoint {self.url}{path} answered HTTP {e.code}: {body}")) from None
        except (urllib.error.URLError, OSError) as e:
            raise BackendError(self._scrub(f"endpoint {self.url}{path} cannot be reached: {getattr(e, 'reason', e)}")) from None
        except json.JSONDecodeError:
            raise BackendError(f"endpoint {self.url}{path} did not answer JSON") from None

    def generate(self, requests: list[Request], cfg: GenerationConfig) -> list[list[str]]:
        params = {"model": self.model, "max_tokens": cfg.max_new_tokens, "n": cfg.num_samples,
                  "temperature": cfg.temperature if cfg.do_sample else 0.0, "top_p": cfg.top_p if cfg.do_sample else 1.0}
        out: list[list[str]] = []
        start = time.perf_counter()
        try:
            if self.chat:
                for r in requests:
                    data = self._post("/chat/completions", {**params, "messages": r.messages})
                    out.append(self._texts(data, 1, cfg.num_samples, chat=True)[0])
            else:
                for b in range(0, len(requests), cfg.batch_size):
                    batch = requests[b:b + cfg.batch_size]
                    data = self._post("/completions", {**params, "prompt": [r.prompt for r in batch]})
                    out.extend(self._texts(data, len(batch), cfg.num_samples, chat=False))
        finally:
            self.stats.seconds += time.perf_counter() - start
        return out

    def _texts(self, data: dict, n_prompts: int, n: int, chat: bool) -> list[list[str]]:
        try:
            choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
            texts = [c["message"]["content"] if chat else c["text"] for c in choices]
            self.stats.generated_tokens += int((data.get("usage") or {}).get("completion_tokens") or 0)
        except (KeyError, TypeError) as e:
            raise BackendError(f"endpoint {self.url}: unexpected answer shape ({type(e).__name__}: {e})") from None
        if len(texts) != n_prompts * n:
            raise BackendError(f"endpoint {self.url}: {len(texts)} choices for {n_prompts} prompt(s) x n={n}")
        return [texts[i * n:(i + 1) * n] for i in range(n_prompts)]


# ------------------------------------------------------------------ vllm

def vllm_backend(path: str, dtype: str = "auto"):
    try:
        import vllm  # noqa: F401
    except ImportError:
        raise BackendError("--backend vllm needs the vllm package (pip install vllm, on a CUDA machine); "
                           "it is not importable here — use --backend transformers") from None
    return VLLMBackend(path, dtype)


class VLLMBackend:
    name = "vllm"

    def __init__(self, path: str, dtype: str = "auto"):
        from vllm import LLM

        try:
            self.llm = LLM(model=path, dtype=dtype)
        except Exception as e:  # noqa: BLE001
            raise BackendError(f"--model {path}: vllm cannot load it ({type(e).__name__}: {str(e)[:300]})") from None
        self.stats = Stats()

    def generate(self, requests: list[Request], cfg: GenerationConfig) -> list[list[str]]:
        from vllm import SamplingParams

        sp = SamplingParams(n=cfg.num_samples, max_tokens=cfg.max_new_tokens, seed=cfg.seed,
                            temperature=cfg.temperature if cfg.do_sample else 0.0,
                            top_p=cfg.top_p if cfg.do_sample else 1.0)
        start = time.perf_counter()
        res = self.llm.generate([r.prompt for r in requests], sp)
        self.stats.seconds += time.perf_counter() - start
        self.stats.generated_tokens += sum(len(o.token_ids) for r in res for o in r.outputs)
        return [[o.text for o in r.outputs] for r in res]
