"""A :class:`mulco.translate.Translator` backed by any OpenAI-compatible chat endpoint.

``POST {url}/chat/completions`` with ``{"model", "messages", "temperature": 0}``; the reply's
``choices[0].message.content`` is the translation. Works with OpenAI, vLLM, llama.cpp server,
Ollama's ``/v1``, LiteLLM and the like.

* **Cache**: every translation is stored on disk under ``cache_dir``, keyed by the sha256 of
  (prompt version, model, target language, text), one small JSON file each, written
  atomically. A rerun asks the endpoint only for texts it has never translated.
* **Batching**: up to ``batch_size`` texts go in one request as a JSON array; a reply that is
  not an array of the same length is retried text by text, so a batch never shifts texts.
* **Rate limit**: at most ``requests_per_second`` requests are started per second.
* **Retries**: 408, 425, 429, 5xx, connection errors and a reply that is not JSON are retried
  with exponential backoff (honouring ``Retry-After``, at most 60 s; :mod:`mulco.retry`); other
  errors stop with a message that says what to check.
* **Key**: read from the environment variable named in the build config; sent only in the
  ``Authorization`` header of requests to ``url`` (not on a redirect elsewhere); never printed,
  logged, cached or put into an error message.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .retry import Transient, delay, retry_after, retryable_status

PROMPT_VERSION = "mulco-translate-v1"
LANG_NAMES = {"zh": "Simplified Chinese", "en": "English"}

SYSTEM_ONE = (
    "You translate software documentation from {src} into {tgt}. Translate the user's text. Keep code, "
    "identifiers, file names, URLs, numbers and Markdown formatting unchanged. Reply with the translation "
    "only, without quotes or comments."
)
SYSTEM_BATCH = (
    "You translate software documentation from {src} into {tgt}. The user sends a JSON array of strings. "
    "Translate each string. Keep code, identifiers, file names, URLs, numbers and Markdown formatting "
    "unchanged. Reply with only a JSON array of the translated strings, in the same order and of the same length."
)


class TranslatorError(ValueError):
    """The endpoint refused or failed for good; the message says what to check (never the key).

    A ValueError so that ``mulco build`` reports it as one line, like other user errors."""


def default_cache_dir() -> Path:
    from .fsops import user_cache_dir

    return user_cache_dir() / "translations"


def chat_url(url: str) -> str:
    """The chat-completions URL for a base URL (``http://host/v1``) or a full one."""
    url = url.rstrip("/")
    return url if url.endswith("/chat/completions") else url + "/chat/completions"


@dataclass
class OpenAITranslator:
    """English -> Chinese (or any pair) through an OpenAI-compatible ``/chat/completions``."""

    url: str
    model: str = "gpt-4o-mini"
    api_key: str | None = field(default=None, repr=False)
    cache_dir: Path | None = None
    batch_size: int = 8
    requests_per_second: float = 2.0
    max_retries: int = 5
    backoff: float = 1.0
    timeout: float = 120.0
    progress: bool = True
    #: Counters for the report and the tests: requests sent, texts from cache, texts asked.
    stats: dict = field(default_factory=lambda: {"requests": 0, "cached": 0, "translated": 0, "retries": 0})

    def __post_init__(self):
        self.cache_dir = Path(self.cache_dir) if self.cache_dir else default_cache_dir()
        self._lock = threading.Lock()
        self._next_slot = 0.0

    @property
    def name(self) -> str:
        return f"openai-compatible:{self.model}"

    # -- public -----------------------------------------------------------------------------

    def translate(self, texts: Sequence[str], source: str = "en", target: str = "zh") -> list[str]:
        """Translate each text; cached ones cost nothing; same length and order as ``texts``."""
        out: list[str | None] = [None] * len(texts)
        todo: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            if not text.strip():
                out[i] = text
                continue
            hit = self._cache_get(text, source, target)
            if hit is not None:
                out[i] = hit
                self.stats["cached"] += 1
            else:
                todo.setdefault(text, []).append(i)
        pending = list(todo)
        bar = None
        if pending and self.progress:
            import sys

            from tqdm.auto import tqdm

            bar = tqdm(total=len(pending), desc="translating", unit=" texts", disable=None, file=sys.stderr, leave=False)
        try:
            for start in range(0, len(pending), max(1, self.batch_size)):
                batch = pending[start:start + max(1, self.batch_size)]
                for text, result in zip(batch, self._translate_batch(batch, source, target)):
                    self._cache_put(text, source, target, result)
                    self.stats["translated"] += 1
                    for i in todo[text]:
                        out[i] = result
                if bar is not None:
                    bar.update(len(batch))
        finally:
            if bar is not None:
                bar.close()
        return [o if o is not None else "" for o in out]

    # -- batching ---------------------------------------------------------------------------

    def _translate_batch(self, batch: list[str], source: str, target: str) -> list[str]:
        if len(batch) == 1:
            return [self._translate_one(batch[0], source, target)]
        system = SYSTEM_BATCH.format(src=LANG_NAMES.get(source, source), tgt=LANG_NAMES.get(target, target))
        reply = self._chat(system, json.dumps(batch, ensure_ascii=False))
        parsed = _parse_array(reply)
        if parsed is not None and len(parsed) == len(batch) and all(isinstance(p, str) and p.strip() for p in parsed):
            return parsed
        return [self._translate_one(t, source, target) for t in batch]  # fall back: never shift texts

    def _translate_one(self, text: str, source: str, target: str) -> str:
        system = SYSTEM_ONE.format(src=LANG_NAMES.get(source, source), tgt=LANG_NAMES.get(target, target))
        reply = self._chat(system, text).strip()
        if not reply:
            raise TranslatorError(f"the translator at {self.url} returned an empty translation (model {self.model})")
        return reply

    # -- HTTP -------------------------------------------------------------------------------

    def _chat(self, system: str, user: str) -> str:
        body = json.dumps({
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": 0,
        }).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        url = chat_url(self.url)
        last = ""
        for attempt in range(self.max_retries + 1):
            self._wait_for_slot()
            self.stats["requests"] += 1
            try:
                return self._post(url, body, headers)
            except Transient as t:
                last = t.why
                if attempt < self.max_retries:
                    self.stats["retries"] += 1
                    time.sleep(delay(attempt, self.backoff, t.retry_after, jitter=True))
        raise TranslatorError(f"the translator at {url} failed {self.max_retries + 1} times (last: {last}); "
                              f"check that it is running and reachable, or lower --translator requests per second")

    def _post(self, url: str, body: bytes, headers: dict) -> str:
        """One request: the reply's text, or :class:`Transient` (429, 5xx, network, not JSON), or
        :class:`TranslatorError` for what retrying does not fix."""
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        if self.api_key:  # unredirected: urllib would copy a plain header into a redirect to another host
            req.add_unredirected_header("Authorization", f"Bearer {self.api_key}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                data = json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            detail = self._redact(_error_detail(e))
            if retryable_status(e.code):
                raise Transient(f"HTTP {e.code}{detail}", retry_after(e.headers.get("Retry-After"))) from None
            raise TranslatorError(self._refusal(url, e.code, detail)) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise Transient(f"{type(reason).__name__}: {self._redact(str(reason))}") from None
        except json.JSONDecodeError:
            raise Transient("a reply that is not JSON") from None
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise TranslatorError(f"the translator at {url} sent a reply without choices[0].message.content") from None
        if not isinstance(content, str):
            raise TranslatorError(f"the translator at {url} sent a non-text message content")
        return content

    def _refusal(self, url: str, code: int, detail: str) -> str:
        if code in (401, 403):
            return (f"the translator at {url} refused the key (HTTP {code}{detail}): check the key in the "
                    f"environment variable named by --translator-key-env")
        if code == 404:
            return (f"the translator at {url} answered 404{detail}: check --translator-url (it should end in /v1) "
                    f"and --translator-model ({self.model})")
        return f"the translator at {url} answered HTTP {code}{detail}"

    def _wait_for_slot(self) -> None:
        """Start at most ``requests_per_second`` requests per second (thread-safe)."""
        if not self.requests_per_second or self.requests_per_second <= 0:
            return
        interval = 1.0 / self.requests_per_second
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_slot)
            self._next_slot = start + interval
        if start > now:
            time.sleep(start - now)

    def _redact(self, text: str) -> str:
        return text.replace(self.api_key, "***") if self.api_key else text

    # -- cache ------------------------------------------------------------------------------

    def cache_key(self, text: str, source: str = "en", target: str = "zh") -> str:
        h = hashlib.sha256()
        for part in (PROMPT_VERSION, self.model, source, target, text):
            h.update(part.encode("utf-8"))
            h.update(b"\x1f")
        return h.hexdigest()

    def _cache_path(self, key: str) -> Path:
        return self.cache_dir / key[:2] / f"{key}.json"

    def _cache_get(self, text: str, source: str, target: str) -> str | None:
        path = self._cache_path(self.cache_key(text, source, target))
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError, OSError):
            return None
        return obj.get("translation") if isinstance(obj, dict) and obj.get("text") == text else None

    def _cache_put(self, text: str, source: str, target: str, translation: str) -> None:
        path = self._cache_path(self.cache_key(text, source, target))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"model": self.model, "source": source, "target": target, "text": text,
                                   "translation": translation}, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)


def _parse_array(reply: str) -> list | None:
    s = reply.strip()
    if s.startswith("```"):  # a fenced reply: ```json ... ```
        s = s.split("\n", 1)[1] if "\n" in s else ""
        s = s.rsplit("```", 1)[0]
    try:
        val = json.loads(s)
    except ValueError:
        a, b = s.find("["), s.rfind("]")
        if a < 0 or b <= a:
            return None
        try:
            val = json.loads(s[a:b + 1])
        except ValueError:
            return None
    return val if isinstance(val, list) else None


def _error_detail(e: urllib.error.HTTPError) -> str:
    try:
        body = e.read().decode("utf-8", "replace")
    except Exception:
        return ""
    try:
        msg = json.loads(body).get("error", {})
        msg = msg.get("message") if isinstance(msg, dict) else msg
    except (ValueError, AttributeError):
        msg = body
    msg = " ".join(str(msg or "").split())[:200]
    return f": {msg}" if msg else ""


def translator_from_config(cfg) -> OpenAITranslator:
    """The translator a :class:`mulco.build.BuildConfig` asks for (``cfg.translator_url`` set).

    The key is read from the environment variable named ``cfg.translator_key_env``; a local
    endpoint may need none.
    """
    if not cfg.translator_url:
        raise ValueError("no translator URL: pass --translator-url http://host:port/v1")
    key = os.environ.get(cfg.translator_key_env) if cfg.translator_key_env else None
    extra = {}
    for attr, name in (("translator_rps", "requests_per_second"), ("translator_batch_size", "batch_size"),
                       ("translator_retries", "max_retries")):
        if getattr(cfg, attr, None) is not None:  # optional settings, used when the config has them
            extra[name] = getattr(cfg, attr)
    return OpenAITranslator(
        url=cfg.translator_url,
        model=cfg.translator_model,
        api_key=key or None,
        cache_dir=cfg.translator_cache,
        progress=getattr(cfg, "progress", True),
        **extra,
    )
