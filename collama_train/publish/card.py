"""The model card (``README.md``): YAML metadata through ``huggingface_hub.ModelCardData`` (with
a ``model-index`` of the run's scores), the body rendered from ``hub/model_card.md.jinja``.

Everything on the card comes from the run folder (``collama_run.json``, ``eval/results.json``,
the tokenizer and the prompt template) and the data it names (the licences of its records), with
local paths already replaced by the :class:`~collama_train.publish.folder.Scrubber`.
"""
from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from typing import Callable

TEMPLATE = "model_card.md.jinja"
PIPELINE_TAG = "text-generation"
#: The Hub's dataset ids of the code benchmarks ``collama-eval`` runs.
BENCHMARK_DATASETS = {"humaneval": ("openai/openai_humaneval", "HumanEval"), "mbpp": ("google-research-datasets/mbpp", "MBPP")}
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese"}
#: The instruction shown in the card's usage snippet, per language the model was trained on.
EXAMPLE_INSTRUCTION = {"en": "Write a Python function that checks whether a number is prime.",
                       "zh": "写一个 Python 函数，判断一个数是否为质数。"}


@dataclass
class CardInputs:
    """What the card says beyond the run folder (from the command line)."""

    repo_id: str
    base_model: str | None  # a Hub id, or None: no base on the Hub (a random init)
    library: str  # "transformers" | "peft"
    merged: bool
    license: str | None
    dataset_id: str | None
    licences: dict[str, int] | None  # records per licence of the training data, None when unknown


def data_source(report: dict) -> dict:
    """``data.source`` of the run report: where the records came from."""
    src = (report.get("data") or {}).get("source")
    return src if isinstance(src, dict) else {}


def languages(report: dict) -> list[str]:
    """The natural languages trained on (from the leaves each config selected), then ``code``."""
    import mulco

    langs = []
    for leaves in (data_source(report).get("leaves") or {}).values():
        for leaf in leaves:
            try:
                lang = mulco.parse(leaf).lang
            except mulco.UnknownConfigError:
                continue
            if lang and lang not in langs:
                langs.append(lang)
    return sorted(langs) + ["code"]


def mixture_rows(report: dict) -> list[dict]:
    configs = ((report.get("data") or {}).get("train") or {}).get("configs") or {}
    return [{"config": name, "weight": "natural" if c.get("weight") is None else f"{c['weight']:g}",
             "records": c.get("records_before"), "sampling": c.get("sampling") or "-",
             "trained": c.get("records_trained"), "tokens": c.get("tokens"),
             "dropped": c.get("dropped_prompt_too_long"), "truncated": c.get("truncated")}
            for name, c in configs.items()]


def licence_rows(licences: dict[str, int] | None) -> list[dict]:
    """One row per licence of the training records, with what it asks of a user of the weights."""
    from mulco.toolkit import hub_license

    if not licences:
        return []
    total = sum(licences.values()) or 1
    rows = []
    for lic, n in sorted(licences.items(), key=lambda kv: (-kv[1], kv[0])):
        low = lic.lower()
        rows.append({"license": lic, "records": n, "share": f"{100 * n / total:.1f}%", "hub_id": hub_license(lic),
                     "noncommercial": "-nc" in low, "sharealike": "-sa" in low, "cuda": "c-uda" in low})
    return rows


def eval_results(results: dict | None, dataset_id: str | None, revision: str | None) -> list:
    """``huggingface_hub.EvalResult`` per cell and numeric metric of ``eval/results.json``: task
    ``text-generation``, the MulCo config, split and revision the scores were measured on."""
    from huggingface_hub import EvalResult

    if not results:
        return []
    run = results.get("run") or {}
    split = run.get("split") or "test"
    out = []
    for cell in results.get("cells") or []:
        dataset, name, config, rev = _cell_dataset(cell, dataset_id, revision)
        if dataset is None:
            continue
        for metric, value in (cell.get("metrics") or {}).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                continue
            out.append(EvalResult(task_type=PIPELINE_TAG, task_name=cell["task"], dataset_type=dataset,
                                  dataset_name=name, dataset_config=config, dataset_split=split, dataset_revision=rev,
                                  metric_type=metric, metric_value=value,
                                  metric_name=f"{metric} ({cell['task']}, {cell['lang']}, {cell['plang']})"))
    return out


def cell_config(cell: dict) -> str | None:
    """The MulCo config a results cell was scored on (``all`` rows pool the plangs: the lang's config)."""
    import mulco

    plang = str(cell.get("plang") or "-").split("->")[0]
    parts = [cell["task"], cell["lang"]] + ([plang] if plang not in ("-", "all") else [])
    name = ".".join(parts)
    try:
        mulco.parse(name)
    except mulco.UnknownConfigError:
        return None
    return name


def _cell_dataset(cell, dataset_id, revision):
    bench = BENCHMARK_DATASETS.get(cell.get("task"))
    if bench:
        return bench[0], bench[1], None, None
    config = cell_config(cell)
    if config is None or not dataset_id:
        return None, None, None, None
    return dataset_id, f"MulCo {config}", config, revision


def card_data(run, inputs: CardInputs, results: list):
    from huggingface_hub import ModelCardData

    tags = ["collama", "mulco", "code", "instruction-tuning", (run.report.get("data") or {}).get("template") or "alpaca"]
    if run.kind == "lora":
        tags += ["lora", "merged"] if inputs.merged else ["lora", "peft"]
    return ModelCardData(
        base_model=inputs.base_model, datasets=[inputs.dataset_id] if inputs.dataset_id else None,
        language=languages(run.report), license=inputs.license or "other", library_name=inputs.library,
        pipeline_tag=PIPELINE_TAG, tags=tags, model_name=inputs.repo_id.split("/")[-1] if results else None,
        eval_results=results or None)


def template_context(report: dict, tokenizer_has_chat: bool) -> dict:
    """The prompt the model was trained with, as the usage snippet needs it."""
    from ..prompts import from_name

    t = from_name((report.get("data") or {}).get("template") or "alpaca")
    return {"name": t.name, "kind": t.kind, "description": t.description, "system": t.system,
            "prompt_no_input": t.prompt_no_input, "prompt_input": t.prompt_input,
            "prompt_literal": repr(t.prompt_no_input) if t.prompt_no_input else None,
            "chat_ok": tokenizer_has_chat}


def rows_of(d: dict | None, skip: tuple = ()) -> list[tuple[str, object]]:
    """``(key, value)`` of a report section, every key but ``skip`` (extra keys show too)."""
    return [(k, _short(v)) for k, v in (d or {}).items() if k not in skip and not isinstance(v, (dict, list))]


def _short(v):
    return f"{v:.6g}" if isinstance(v, float) else v


def eval_context(results: dict | None) -> dict | None:
    if not results:
        return None
    from ..evaluate.report import markdown

    run = results.get("run") or {}
    return {"tables": markdown(results).rstrip("\n"), "split": run.get("split") or "test", "configs": run.get("configs"),
            "limit": run.get("limit"), "template": run.get("template"), "generation": run.get("generation") or {},
            "records": sum(c.get("n") or 0 for c in results.get("cells") or [] if c.get("plang") != "all")}


def render(run, inputs: CardInputs, *, scrubbed_report: dict, scrubbed_results: dict | None, tokenizer_has_chat: bool,
           log: Callable[[str], None] = print) -> str:
    """The whole ``README.md``: YAML header (``ModelCardData``) and the body from the template."""
    from huggingface_hub import ModelCard
    from mulco.toolkit import PAPER, SEED_CITATION, card_template, project_urls

    report = scrubbed_report
    results = eval_results(scrubbed_results, inputs.dataset_id, data_source(report).get("revision"))
    data = card_data(run, inputs, results)
    licences = licence_rows(inputs.licences)
    summary = report.get("data_summary") or {}
    training = report.get("training") or {}
    body = card_template(TEMPLATE).render(
        repo_id=inputs.repo_id, name=inputs.repo_id.split("/")[-1], base_model=inputs.base_model, kind=run.kind,
        merged=inputs.merged, library=inputs.library, license=inputs.license, dataset_id=inputs.dataset_id,
        source=data_source(report), summary=summary, mixture=mixture_rows(report), train=(report.get("data") or {}).get("train") or {},
        data_args=report.get("data_args") or {}, licences=licences, licences_known=inputs.licences is not None,
        noncommercial=[r["license"] for r in licences if r["noncommercial"]],
        sharealike=[r["license"] for r in licences if r["sharealike"]],
        cuda=[r["license"] for r in licences if r["cuda"]],
        model=_model_rows(report.get("model")), training=rows_of(training, skip=("output_dir",)),
        effective_batch=_effective_batch(training), seed=training.get("seed", (report.get("data") or {}).get("seed")),
        results=rows_of(report.get("results")),
        environment=rows_of(report.get("environment")), languages=languages(run.report),
        language_names=[LANGUAGE_NAMES.get(x, x) for x in languages(run.report) if x != "code"],
        template=template_context(report, tokenizer_has_chat), example=_example(languages(run.report)),
        evaluation=eval_context(scrubbed_results), scores=len(results),
        command=" ".join(report.get("command") or []), citation=SEED_CITATION, paper=PAPER, urls=project_urls(),
    )
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")
    return str(card)


def _model_rows(model: dict | None) -> list[tuple[str, object]]:
    """The model settings (not the local path; the LoRA ones only for a LoRA run)."""
    lora = bool((model or {}).get("lora"))
    return [(k, v) for k, v in rows_of(model, skip=("model",)) if lora or not k.startswith("lora_")]


def _effective_batch(training: dict):
    try:
        return (int(training["per_device_train_batch_size"]) * int(training.get("gradient_accumulation_steps") or 1)
                * int(training.get("world_size") or 1))
    except (KeyError, TypeError, ValueError):
        return None


def _example(langs: list[str]) -> str:
    return next((EXAMPLE_INSTRUCTION[lang] for lang in langs if lang in EXAMPLE_INSTRUCTION), EXAMPLE_INSTRUCTION["en"])


def count_licences(report: dict, log: Callable[[str], None]) -> dict[str, int] | None:
    """Records per ``license`` in the configs the run selected (read from the data it names,
    licence column only; the run's ``--licenses`` filter applied). None when the data cannot be
    read now (moved, offline) or has no licences (a ``--data_path`` JSON list)."""
    import mulco

    src = data_source(report)
    if not src.get("data"):
        return None
    try:
        sel = mulco.resolve(src.get("configs") or [], src["data"], src.get("split") or "train",
                            revision=src.get("revision"), missing="skip")
        counts = mulco.count_licenses(sel)
    except Exception as e:  # noqa: BLE001 - the card says the licences are unknown, and why
        log(f"warning: the licences of the training records are unknown: {src['data']} cannot be read now "
            f"({type(e).__name__}); the card says so")
        return None
    wanted = (report.get("data") or {}).get("licenses") or (report.get("data_args") or {}).get("licenses")
    if wanted:
        keep = {x.strip().lower() for x in str(wanted).split(",")}
        counts = collections.Counter({k: v for k, v in counts.items() if (k or "").strip().lower() in keep})
    return dict(counts)
