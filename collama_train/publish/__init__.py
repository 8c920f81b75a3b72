"""``collama-train publish RUN --repo-id NS/NAME``: release a run's model on the Hugging Face Hub
as one commit, with a model card that ties the weights to the data, the mixture, the licences
and the scores.

1. **Check** RUN (:mod:`.folder`): a finished run (``collama_run.json``) with its model or LoRA
   adapter whole (a crashed run is refused), and a base model that is a Hub id (a local base path
   is refused: ``--base-model ID`` names it, and ``adapter_config.json`` is rewritten to it in the
   upload). ``--merge`` folds a LoRA adapter into its base first, as ``collama-train merge`` does.
2. **Write the upload** in memory: the model files, ``collama_run.json`` and ``eval/results.json``
   with every local path replaced, and ``README.md`` (:mod:`.card`). Nothing leaves if any file
   still holds a local path, the host name or the token.
3. **Upload** it through ``mulco.publish`` (the code ``mulco publish`` uses, for a model repo):
   ``create_repo`` when missing, then ONE ``create_commit`` (the whole upload lands or nothing
   does). ``--dry-run`` prints the plan and the card and uploads nothing (offline: the plan
   without reading the repo). The token comes from ``HF_TOKEN`` or the saved login and is only
   passed to ``HfApi``: never printed or written.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from mulco.toolkit import DEFAULT_REVISION, LocalFile, Plan, PlanItem, PublishError, human_size

from .folder import (EVAL_RESULTS, MODEL_CONFIGS, REPORT, TOKENIZER, WEIGHTS, Run, RunError, Scrubber, matching,
                     leak, load_run, public_json, uploaded_text)

PROG = "collama-train publish"
REPO_TYPE = "model"
CARD = "README.md"
__all__ = ["publish_run", "make_parser", "main", "Run", "RunError", "load_run", "Upload"]


@dataclass
class Upload:
    """What goes to the repo: every file (path in the repo -> LocalFile) and the card's text."""

    files: dict[str, LocalFile] = field(default_factory=dict)
    card: str = ""

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files.values())


@dataclass
class Result:
    plan: Plan
    upload: Upload
    commit: str | None = None
    commit_url: str | None = None


def make_parser(subparsers=None) -> argparse.ArgumentParser:
    kw = dict(description="Publish a collama-train run's model to a Hugging Face model repo in one commit, with a "
                          "model card built from the run (data, mixture, licences, hyperparameters, scores).")
    p = subparsers.add_parser("publish", **kw) if subparsers is not None else argparse.ArgumentParser(prog=PROG, **kw)
    p.add_argument("run", metavar="RUN", help="a collama-train --output-dir (a finished run)")
    p.add_argument("--repo-id", required=True, help="model repo, <namespace>/<name>")
    p.add_argument("--private", action="store_true", help="create the repo as private (when it does not exist yet)")
    p.add_argument("--revision", default=None, help="branch to commit to (default: main; created from main if missing)")
    p.add_argument("--merge", action="store_true", help="LoRA runs: merge the adapter into its base and upload a plain model")
    p.add_argument("--license", default=None, help="the weights' licence, a Hub licence id (e.g. apache-2.0, cc-by-nc-4.0); "
                                                   "default: other")
    p.add_argument("--base-model", default=None,
                   help="the base model's Hub id (required when the run trained from a local folder; "
                        "'none' for a model trained from a random init)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the card; upload nothing")
    p.add_argument("--no-delete", dest="delete", action="store_false",
                   help="keep remote files that are not in the upload (default: delete them, except .gitattributes)")
    p.add_argument("--message", default=None, help="commit message (default: what was published)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines or upload bars (warnings, errors, "
                                                                "the dry run's plan and card and the summary still print)")
    return p


# --------------------------------------------------------------------------------------------
# Checks


def _is_hub_id(s: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(s)
    except HFValidationError:
        return False
    return True


def _is_local(s: str) -> bool:
    """A model named by a local path (existing, absolute, relative with ./ or more than one /),
    not by a Hub id (``gpt2``, ``Qwen/Qwen2.5-0.5B``)."""
    return Path(s).expanduser().exists() or s.startswith((".", "/", "~")) or s.count("/") > 1 or not _is_hub_id(s)


def resolve_base(run: Run, base_model: str | None, merge: bool) -> str | None:
    """The base model's Hub id (None: no base on the Hub); RunError for a local base without --base-model."""
    if base_model is not None:
        if base_model.lower() == "none":
            if run.kind == "lora" and not merge:
                raise RunError("a LoRA adapter needs its base model on the Hub: pass --base-model ID (or --merge "
                               "to upload the merged model)")
            return None
        if _is_local(base_model):
            raise RunError(f"--base-model {base_model}: not a Hub model id (<namespace>/<name>; a local folder is not one)")
        return base_model
    recorded = run.recorded_base
    if not recorded:
        raise RunError(f"{run.folder / REPORT} names no base model: pass --base-model ID")
    if _is_local(recorded):
        raise RunError(f"the base model is the local folder {recorded}: pass --base-model ID, its id on the Hub "
                       "(or --base-model none for a model trained from a random init)")
    return recorded


def check_license(license: str | None) -> None:
    if license is not None and not re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", license):
        raise RunError(f"--license {license!r}: give a Hub licence id in lower case, e.g. apache-2.0, mit, cc-by-nc-4.0, other")


def dataset_id(report: dict) -> str | None:
    """The MulCo repo the run trained on: the Hub id it read, or the repo a local build was made for."""
    from mulco.toolkit import DEFAULT_REPO_ID, repo_id_of
    from mulco.toolkit import is_local

    from .card import data_source

    data = data_source(report).get("data")
    if not data:
        return None  # a --data_path JSON list
    if not is_local(data):
        return data
    return (repo_id_of(Path(data)) if Path(data).is_dir() else None) or DEFAULT_REPO_ID


# --------------------------------------------------------------------------------------------
# The upload


def _merged(run: Run, base: str | None, out: Path, log) -> dict[str, Path]:
    """Merge the run's adapter into its base (the local folder it names, else the Hub id) in ``out``."""
    from ..args import cpu_deepspeed_quiet
    from ..merge import merge

    cpu_deepspeed_quiet()

    recorded = run.recorded_base
    source = recorded if recorded and Path(recorded).is_dir() else base
    if not source:
        raise RunError(f"the base model {recorded} is not on this machine any more: restore it, or pass "
                       "--base-model ID to merge with the Hub's copy")
    dtype = (run.report.get("model") or {}).get("dtype")
    log(f"merging the LoRA adapter into its base model ({source}) ...")
    merge(run.folder, out, base=source, dtype=dtype if dtype in ("float32", "bfloat16", "float16") else "float32")
    return {n: out / n for n in matching(out, (*MODEL_CONFIGS, *WEIGHTS, *TOKENIZER))}


def build_upload(run: Run, repo_id: str, *, base: str | None, merge: bool, license: str | None, tmp: Path,
                 token: str | None, log: Callable[[str], None]) -> Upload:
    """Every file of the upload, local paths replaced, and the card; RunError if anything would leak."""
    from .card import CardInputs, count_licences, data_source, render

    files = _merged(run, base, tmp, log) if merge else dict(run.files)
    dataset = dataset_id(run.report)
    scrub = Scrubber({str(run.folder): ".", str(tmp): ".", run.recorded_base or "": base or "<base model>",
                      data_source(run.report).get("data") or "": dataset or "<local data>"})
    up = Upload()
    for name, path in files.items():
        data = None
        if name.endswith(".json") and name != "tokenizer.json":
            keys = {"base_model_name_or_path": base} if name == "adapter_config.json" else None
            data = public_json(path, scrub, set_keys=keys)
        up.files[name] = _file(name, path, data)
    report = scrub.json(run.report)
    results = scrub.json(run.eval) if run.eval else None
    up.files[REPORT] = _file(REPORT, run.folder / REPORT, public_json(run.folder / REPORT, scrub, report=True))
    if results is not None:
        up.files[EVAL_RESULTS] = _file(EVAL_RESULTS, run.folder / EVAL_RESULTS,
                                       public_json(run.folder / EVAL_RESULTS, scrub, report=True))
    library = "peft" if run.kind == "lora" and not merge else "transformers"
    licences = count_licences(run.report, log)
    _warn_licence(license, licences, log)
    inputs = CardInputs(repo_id, base, library, merge, license, dataset, licences)
    up.card = render(run, inputs, scrubbed_report=report, scrubbed_results=results,
                     tokenizer_has_chat=any(n.startswith("chat_template") for n in files), log=log)
    up.files[CARD] = _file(CARD, run.folder / CARD, up.card.encode("utf-8"))
    secrets = scrub.secrets()
    for name, lf in up.files.items():
        what = leak(name, uploaded_text(name, lf.data, lf.abspath), secrets, token)
        if what:
            raise RunError(f"{name} would upload {what}; nothing was uploaded (remove it from {run.folder / name} "
                           "or report this as a bug)")
    return up


def _file(name: str, path: Path, data: bytes | None) -> LocalFile:
    return LocalFile(name, len(data) if data is not None else path.stat().st_size, path, data)


def _warn_licence(license: str | None, licences: dict[str, int] | None, log) -> None:
    nc = sorted(lic for lic in licences or {} if "-nc" in lic.lower())
    if license is None:
        log("note: no --license given: the card says `license: other`; pass --license ID to choose one")
    if nc and (license is None or "-nc" not in license):
        log(f"warning: some training records are under a non-commercial licence ({', '.join(nc)}); "
            "the card says so" + (f", but --license {license} allows commercial use" if license else ""))


# --------------------------------------------------------------------------------------------
# Publishing


def publish_run(run_dir: str | Path, repo_id: str, *, private: bool = False, revision: str | None = None,
                merge: bool = False, license: str | None = None, base_model: str | None = None,
                dry_run: bool = False, delete: bool = True, message: str | None = None, endpoint: str | None = None,
                token: str | None = None, log: Callable[[str], None] = print, show: Callable[[str], None] = print) -> Result:
    """Publish the run in ``run_dir`` to the model repo ``repo_id`` (see the module docstring);
    ``log`` gets progress, notes and warnings, ``show`` the dry run's plan and card.
    Raises :class:`RunError` for a run that cannot be published, :class:`PublishError` (one
    line, never the token) when the Hub fails."""
    from huggingface_hub import constants
    from mulco.toolkit import check_repo_id, find_token, with_hub

    revision = revision or DEFAULT_REVISION
    try:
        check_repo_id(repo_id)
    except PublishError as e:
        raise RunError(str(e)) from None
    run = load_run(run_dir)
    if merge and run.kind != "lora":
        raise RunError(f"--merge merges a LoRA adapter, but {run.folder} holds a full model: leave --merge out")
    base = resolve_base(run, base_model, merge)
    check_license(license)
    hub = dict(endpoint=endpoint, token=token, repo_type=REPO_TYPE, command=PROG)
    offline = constants.is_offline_mode()
    if not dry_run:  # no token / offline: say so before any merging
        with_hub(repo_id, revision, lambda api: None, dry_run=False, **hub)
    with tempfile.TemporaryDirectory(prefix="collama-publish-") as tmp:
        up = build_upload(run, repo_id, base=base, merge=merge, license=license, tmp=Path(tmp),
                          token=token if token is not None else find_token(), log=log)
        if dry_run and offline:
            return _offline_plan(repo_id, revision, up, show)
        return with_hub(repo_id, revision, lambda api: _send(api, run, repo_id, revision, up, private, dry_run, delete,
                                                             merge, message, log, show), dry_run=dry_run, **hub)


def _offline_plan(repo_id: str, revision: str, up: Upload, show) -> Result:
    plan = Plan(repo_id, revision, True, True, None, repo_type=REPO_TYPE,
                items=[PlanItem("add", p, lf.size) for p, lf in up.files.items()])
    show(plan.render())
    show("offline (HF_HUB_OFFLINE is set): the repo was not read, so every file is listed as added")
    _show_card(up, show)
    return Result(plan, up)


def _show_card(up: Upload, show) -> None:
    show("dry run: nothing was uploaded; the card (README.md) would be:")
    show("-" * 72)
    show(up.card.rstrip("\n"))
    show("-" * 72)


def _send(api, run: Run, repo_id, revision, up: Upload, private, dry_run, delete, merge, message, log, show) -> Result:
    from mulco.toolkit import commit_files, plan_files

    if dry_run:
        plan = plan_files(api, up.files, repo_id, revision, delete=delete, repo_type=REPO_TYPE)
        show(plan.render())
        _show_card(up, show)
        return Result(plan, up)
    if api.token:
        api.whoami()  # a bad token fails here, before anything is written
    what = "LoRA merged" if merge else "LoRA adapter" if run.kind == "lora" else "model"
    msg = message or f"collama-train publish: {run.folder.name} ({what}, {len(up.files)} file{'' if len(up.files) == 1 else 's'})"
    res = commit_files(api, up.files, repo_id, revision, private=private, delete=delete, message=msg, log=log,
                       repo_type=REPO_TYPE)
    return Result(res.plan, up, res.commit, res.commit_url)


def summary(result: Result, dry_run: bool) -> str:
    plan = result.plan
    pairs = [("repo", f"{plan.repo_id} (model) @ {plan.revision}"),
             ("commit", "dry run: nothing uploaded" if dry_run else (result.commit or "-")[:12]),
             ("files", f"{len(result.upload.files)} ({human_size(result.upload.size)})"),
             ("changes", plan.summary()),
             ("card", f"README.md, {result.upload.card.count(chr(10))} lines")]
    w = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k.ljust(w)}  {v}" for k, v in pairs)


def _logger(quiet: bool) -> Callable[[str], None]:
    """Progress to stdout (none when ``quiet``); notes and warnings to stderr, named (notes: not when quiet)."""
    def log(line: str) -> None:
        if line.startswith("warning:") or line.startswith("note:") and not quiet:
            print(f"{PROG}: {line}", file=sys.stderr)
        elif not quiet and not line.startswith("note:"):
            print(line)

    return log


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    if args.quiet:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    try:
        result = publish_run(args.run, args.repo_id, private=args.private, revision=args.revision, merge=args.merge,
                             license=args.license, base_model=args.base_model, dry_run=args.dry_run,
                             delete=args.delete, message=args.message, log=_logger(args.quiet))
    except RunError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except PublishError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    print(summary(result, args.dry_run))
    return 0
