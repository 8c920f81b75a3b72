"""The evaluation run: settings, records, prompts, generation, and the files it writes.

``EvalArguments`` is parsed by ``HfArgumentParser`` (``collama-eval``) and built directly by
``collama-train --eval-configs`` (which calls :func:`evaluate_model` with the model it trained).
Order of work: check the settings and load the records (bad configs/splits fail here, before any
model is loaded), check the sandbox when code will run, then generate, write
``generations.jsonl``, score, write ``results.json``/``results.md``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import execution, report
from .backends import BackendError, GenerationConfig, Request


class EvalError(ValueError):
    """Bad settings or input for an evaluation (one-line message)."""


@dataclass
class EvalArguments:
    model: str | None = field(default=None, metadata={"help": "Model folder or Hub id (for --endpoint: the served model's name)."})
    data: str | None = field(default=None, metadata={"help": "A folder written by `mulco build`, or a Hub dataset repo id."})
    configs: str = field(default="code_search.en", metadata={
        "help": "Comma-separated MulCo config names (e.g. code_search.en,code_summarization.zh), plus 'humaneval' and 'mbpp'."})
    split: str = field(default="test", metadata={"help": "Split to evaluate."})
    limit: int | None = field(default=None, metadata={
        "help": "At most this many records per leaf (task x subtask x lang x plang) of each config: the first ones."})
    licenses: str | None = field(default=None, metadata={"help": "Only records under these licenses (comma-separated)."})
    template: str = field(default="alpaca", metadata={"help": "Prompt template, as in training: alpaca | chat."})
    batch_size: int = field(default=8, metadata={"help": "Prompts per generation batch."})
    max_new_tokens: int = field(default=256, metadata={"help": "Longest answer, in tokens."})
    out: str | None = field(default=None, metadata={"help": "Output folder (default: ./eval_results)."})
    backend: str = field(default="transformers", metadata={"help": "transformers | vllm | endpoint (implied by --endpoint)."})
    endpoint: str | None = field(default=None, metadata={"help": "OpenAI-compatible API base URL, e.g. http://host:8000/v1."})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={"help": "Environment variable holding the endpoint's token."})
    do_sample: bool = field(default=False, metadata={"help": "Sample instead of greedy decoding (for pass@k)."})
    temperature: float = field(default=0.8, metadata={"help": "Sampling temperature (with --do-sample)."})
    top_p: float = field(default=0.95, metadata={"help": "Nucleus sampling p (with --do-sample)."})
    num_samples: int = field(default=1, metadata={"help": "Answers per prompt (n of pass@k; >1 needs --do-sample)."})
    seed: int = field(default=0, metadata={"help": "Sampling seed."})
    allow_code_execution: bool = field(default=False, metadata={
        "help": "Run generated code (HumanEval/MBPP) in the sandbox: a subprocess with time/memory limits, no network."})
    timeout: float = field(default=10.0, metadata={"help": "Seconds per executed program."})
    memory_mb: int = field(default=1024, metadata={"help": "Address-space limit per executed program, MiB."})
    mbpp_dir: str | None = field(default=None, metadata={"help": "MBPP folder (mbpp.jsonl), or a raw folder with mbpp/."})
    dtype: str = field(default="auto", metadata={"help": "Model dtype for transformers: auto | float32 | bfloat16 | float16."})
    device: str | None = field(default=None, metadata={"help": "Device for transformers (default: cuda when available)."})
    quiet: bool = field(default=False, metadata={"aliases": ["-q"], "help": "No progress bar while generating."})


def config_names(spec: str) -> list[str]:
    names = [n.strip() for n in (spec or "").split(",") if n.strip()]
    if not names:
        raise EvalError("--configs is empty: give config names, e.g. code_search.en,code_summarization.zh")
    return list(dict.fromkeys(names))


def validate(args: EvalArguments) -> None:
    """Cheap checks, no I/O beyond stat."""
    from collama_train.prompts import TemplateError, from_name

    try:
        from_name(args.template)
    except TemplateError as e:
        raise EvalError(str(e)) from None
    names = config_names(args.configs)
    if any(n not in execution.BENCHMARKS for n in names) and not args.data:
        raise EvalError("--data is required for MulCo configs (a `mulco build` folder or a Hub repo id)")
    if args.backend not in ("transformers", "vllm", "endpoint"):
        raise EvalError(f"--backend {args.backend!r}: choose transformers, vllm or endpoint")
    if args.num_samples < 1 or args.batch_size < 1 or args.max_new_tokens < 1:
        raise EvalError("--num-samples, --batch-size and --max-new-tokens must be at least 1")
    if args.num_samples > 1 and not args.do_sample:
        raise EvalError("--num-samples > 1 needs --do-sample (greedy decoding gives the same answer every time)")
    if args.limit is not None and args.limit < 1:
        raise EvalError("--limit must be at least 1")
    if "mbpp" in names and not args.mbpp_dir:
        raise EvalError("mbpp needs --mbpp-dir (the raw folder's mbpp/, with mbpp.jsonl)")


def _licenses(args) -> list[str] | None:
    return [x.strip() for x in args.licenses.split(",") if x.strip()] if args.licenses else None


#: what --limit is applied to (as lm-eval applies it per subtask)
LIMIT_PER = "task x subtask x lang x plang"


def per_leaf(records: list[dict], limit: int | None) -> list[dict]:
    """The first ``limit`` records of every leaf (task, subtask, lang, plang), in their order."""
    if not limit:
        return records
    counts: dict[tuple, int] = {}
    out = []
    for r in records:
        key = (r.get("task"), r.get("subtask"), r.get("lang"), r.get("plang"))
        counts[key] = counts.get(key, 0) + 1
        if counts[key] <= limit:
            out.append(r)
    return out


def load_records(args: EvalArguments) -> list[dict]:
    """The records of every config (the first ``limit`` of each leaf, :func:`per_leaf`), without
    duplicates, in config order.
    MulCo configs come through ``mulco.resolve``/``mulco.read_table`` (a config without records in
    the split fails here, before any model is loaded); the licence filter applies to them only."""
    import mulco

    records, seen = [], set()
    licenses = _licenses(args)
    for name in config_names(args.configs):
        try:
            if name == "humaneval":
                recs = execution.humaneval_records(args.split)
            elif name == "mbpp":
                recs = execution.mbpp_records(args.mbpp_dir, args.split)
            else:
                sel = mulco.resolve([name], args.data, split=args.split)
                recs = mulco.read_table(sel, licenses=licenses).to_pylist()
        except (mulco.UnknownConfigError, mulco.SelectionError, execution.BenchmarkError) as e:
            raise EvalError(str(e)) from None
        for r in per_leaf(recs, args.limit):
            if r["id"] not in seen:
                seen.add(r["id"])
                records.append(r)
    if not records:
        raise EvalError(f"no records in {args.configs!r} (split {args.split!r}"
                        + (f", licences {args.licenses}" if args.licenses else "") + ")")
    return records


def requests_for(records: list[dict], template: str, tokenizer=None) -> list[Request]:
    """The prompts, formatted exactly as training formats them."""
    from collama_train.prompts import from_name

    t = from_name(template)
    msgs = t.kind == "chat"
    return [Request(t.prompt(r, tokenizer), t.messages(r, with_answer=False) if msgs else None) for r in records]


def generation_config(args: EvalArguments) -> GenerationConfig:
    return GenerationConfig(max_new_tokens=args.max_new_tokens, do_sample=args.do_sample, temperature=args.temperature,
                            top_p=args.top_p, num_samples=args.num_samples, batch_size=args.batch_size, seed=args.seed)


def generation_rows(records: list[dict], requests: list[Request], answers: list[list[str]]) -> list[dict]:
    rows = []
    for rec, req, outs in zip(records, requests, answers):
        for k, pred in enumerate(outs):
            row = {"id": rec["id"], "task": rec["task"], "subtask": rec.get("subtask"), "lang": rec["lang"],
                   "plang": rec.get("plang"), "prompt": req.prompt, "prediction": pred, "reference": rec["output"]}
            if rec.get("target_plang"):
                row["target_plang"] = rec["target_plang"]
            if len(outs) > 1:
                row["sample"] = k
            if rec.get("execution"):
                row["execution"] = rec["execution"]
            rows.append(row)
    return rows


def write_generations(rows: list[dict], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "generations.jsonl"
    tmp = path.with_suffix(".jsonl.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def limits(args: EvalArguments):
    from .sandbox import Limits

    return Limits(timeout=args.timeout, memory_mb=args.memory_mb)


def prepare(args: EvalArguments) -> list[dict]:
    """Everything that can fail without a model: settings, records, sandbox."""
    validate(args)
    records = load_records(args)
    if args.allow_code_execution and any(r["task"] in execution.BENCHMARKS for r in records):
        from .sandbox import SandboxError, check_platform

        try:
            check_platform(args.memory_mb)
        except SandboxError as e:
            raise EvalError(str(e)) from None
    return records


def _finish(args: EvalArguments, records, reqs, answers, backend) -> dict:
    out = Path(args.out or "eval_results").resolve()
    rows = generation_rows(records, reqs, answers)
    gen_path = write_generations(rows, out)
    results = report.score(rows, allow_code_execution=args.allow_code_execution, limits=limits(args))
    results["run"] = {"model": args.model, "data": args.data, "configs": args.configs, "split": args.split,
                      "limit": args.limit, "limit_per": LIMIT_PER if args.limit else None,
                      "template": args.template, "backend": backend.name, "generation": asdict(generation_config(args)),
                      "speed": backend.stats.as_dict(), "generations": str(gen_path)}
    report.write_results(results, out)
    results["out"] = str(out)
    return results


def evaluate_model(model, tokenizer, args: EvalArguments) -> dict:
    """Evaluate an already loaded transformers model (``collama-train --eval-configs`` calls this):
    generate -> score -> write ``args.out``; returns the results dict."""
    from collama_train.prompts import from_name

    from .backends import TransformersBackend

    records = prepare(args)
    reqs = requests_for(records, args.template, tokenizer)
    backend = TransformersBackend(model, tokenizer, add_special_tokens=from_name(args.template).kind == "text",
                                  progress=not args.quiet)
    answers = backend.generate(reqs, generation_config(args))
    return _finish(args, records, reqs, answers, backend)


def run(args: EvalArguments) -> dict:
    """``collama-eval``: check, load the records, then the model or endpoint, generate, score, write."""
    from collama_train.prompts import from_name

    from . import backends

    if args.endpoint:
        args.backend = "endpoint"
    records = prepare(args)
    template = from_name(args.template)
    if args.backend == "endpoint":
        if not args.endpoint:
            raise EvalError("--backend endpoint needs --endpoint URL")
        backend = backends.EndpointBackend(args.endpoint, args.model or "default", args.api_key_env,
                                           chat=template.kind == "chat")
        if template.kind == "chat":  # the server applies its own chat template to the messages
            msgs = [template.messages(r, with_answer=False) for r in records]
            reqs = [Request(json.dumps(m, ensure_ascii=False), m) for m in msgs]
        else:
            reqs = requests_for(records, args.template)
    else:
        if not args.model:
            raise EvalError("--model is required")
        if args.backend == "vllm":
            backend = backends.vllm_backend(args.model, args.dtype)
            tokenizer = backend.llm.get_tokenizer() if template.kind == "chat" else None
        else:
            model, tokenizer = backends.load_transformers(args.model, args.dtype, args.device)
            backend = backends.TransformersBackend(model, tokenizer, add_special_tokens=template.kind == "text",
                                                   progress=not args.quiet)
        reqs = requests_for(records, args.template, tokenizer)
    answers = backend.generate(reqs, generation_config(args))
    return _finish(args, records, reqs, answers, backend)


__all__ = ["EvalArguments", "EvalError", "BackendError", "evaluate_model", "run", "prepare", "load_records"]
