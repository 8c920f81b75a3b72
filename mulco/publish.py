"""``mulco publish``: put a built folder on the Hugging Face Hub as one commit.

1. **Check** the folder: a card with ``configs:`` whose ``data_files`` (globs or paths) all
   name existing files. If the folder was built for another repo (``mulco build --repo-id``, read
   from its schema's ``$id``), ``README.md`` and ``record.schema.json`` are re-rendered for the
   target repo and those bytes are what is compared and uploaded; the folder is not changed.
2. ``--dry-run``: **plan** against the repo's current state (``list_repo_tree`` with sizes and
   hashes at the target revision): each local file is *added*, *updated* (its git blob id, or LFS
   sha256, differs) or *unchanged*; each remote file missing locally is *deleted* (except
   ``.gitattributes``; ``--no-delete`` keeps them all). It prints the plan and stops.
3. Otherwise **commit** with ``huggingface_hub``'s own planning: one ``create_commit`` that adds
   every local file (the library's preupload skips the files the repo already has unchanged) and
   deletes the remote files missing locally, with ``parent_commit`` = the revision's head when
   it was read: either the whole folder lands or nothing does, and a concurrent push makes the
   commit fail instead of being overwritten. What the commit changed is read back from the
   repo's tree before and after. (``upload_folder`` is not used: with ``hf_xet`` installed,
   huggingface_hub >= 1.x sends a folder through its multi-commit upload pipeline, and
   ``upload_large_folder`` makes many commits too, so a failure could leave the remote half
   updated.)
4. **Tag** the new commit with ``--tag`` (``create_tag``).

The token comes from huggingface_hub's usual places (``HF_TOKEN``, ``hf auth login``); it is
passed to ``HfApi`` and nowhere else: never printed, logged or written, and any error text is
scrubbed of it before it is shown. Failures become one :class:`PublishError` line that says
what to do.
"""
from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO_TYPE = "dataset"
DEFAULT_REVISION = "main"
#: Remote files a publish never deletes.
KEEP_REMOTE = (".gitattributes",)
#: Local files never uploaded (editor/OS litter, temp files of an interrupted build).
IGNORE_LOCAL = (".*.tmp-*", ".DS_Store", "*~", "__pycache__/*", "*/__pycache__/*", ".mulco-build")


class PublishError(RuntimeError):
    """A publish that cannot go on; the message is one line and says what to do."""


# --------------------------------------------------------------------------------------------
# The plan


@dataclass(frozen=True)
class LocalFile:
    path: str  # relative, posix
    size: int
    abspath: Path
    #: The bytes to upload instead of the file's (a card re-rendered for the target repo).
    data: bytes | None = None

    def git_blob_id(self) -> str:
        """The git blob id (sha1 of ``blob <size>\\0<content>``), as the Hub reports for regular files."""
        h = hashlib.sha1(f"blob {self.size}\0".encode())
        self._feed(h)
        return h.hexdigest()

    def sha256(self) -> str:
        h = hashlib.sha256()
        self._feed(h)
        return h.hexdigest()

    def _feed(self, h) -> None:
        if self.data is not None:
            h.update(self.data)
        else:
            _feed(h, self.abspath)

    def upload(self) -> bytes | str:
        """What ``CommitOperationAdd`` sends: the bytes, or the file's path."""
        return self.data if self.data is not None else str(self.abspath)


def _feed(h, path: Path) -> None:
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    blob_id: str | None = None
    lfs_sha256: str | None = None


@dataclass
class PlanItem:
    action: str  # add | update | delete | unchanged | keep
    path: str
    size: int  # bytes to upload (add/update), or size of the remote file (delete/keep)
    remote_size: int | None = None


@dataclass
class Plan:
    repo_id: str
    revision: str
    repo_exists: bool
    branch_exists: bool
    parent_commit: str | None
    items: list[PlanItem] = field(default_factory=list)
    repo_type: str = REPO_TYPE

    def of(self, action: str) -> list[PlanItem]:
        return [i for i in self.items if i.action == action]

    @property
    def changes(self) -> list[PlanItem]:
        return [i for i in self.items if i.action in ("add", "update", "delete")]

    @property
    def upload_bytes(self) -> int:
        return sum(i.size for i in self.items if i.action in ("add", "update"))

    def summary(self) -> str:
        return (f"{len(self.of('add'))} to add, {len(self.of('update'))} to update, {len(self.of('delete'))} to delete, "
                f"{len(self.of('unchanged'))} unchanged; {human_size(self.upload_bytes)} to upload")

    def render(self, show_unchanged: bool = False) -> str:
        head = f"{self.repo_type} {self.repo_id} @ {self.revision}"
        if not self.repo_exists:
            head += " (the repo does not exist yet: it would be created)"
        elif not self.branch_exists:
            head += f" (branch {self.revision} does not exist yet: it would be created from {DEFAULT_REVISION})"
        elif self.parent_commit:
            head += f" (now at {self.parent_commit[:12]})"
        lines = [head]
        order = {"add": 0, "update": 1, "delete": 2, "keep": 3, "unchanged": 4}
        for it in sorted(self.items, key=lambda i: (order[i.action], i.path)):
            if it.action == "unchanged" and not show_unchanged:
                continue
            size = human_size(it.size)
            if it.action == "update" and it.remote_size is not None:
                size = f"{human_size(it.remote_size)} -> {human_size(it.size)}"
            lines.append(f"  {it.action:<9} {size:>21}  {it.path}")
        lines.append(self.summary())
        return "\n".join(lines)


def human_size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def local_files(folder: Path, overrides: dict[str, bytes] | None = None) -> dict[str, LocalFile]:
    """Files to publish: everything under ``folder`` but temp/OS litter, by relative path;
    ``overrides`` replace the content of some of them (see :func:`retarget`)."""
    folder = Path(folder)
    overrides = overrides or {}
    out = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.is_symlink():
            continue
        rel = p.relative_to(folder).as_posix()
        if any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(p.name, pat) for pat in IGNORE_LOCAL):
            continue
        data = overrides.get(rel)
        out[rel] = LocalFile(rel, p.stat().st_size if data is None else len(data), p, data)
    return out


def retarget(folder: Path, repo_id: str, log: Callable[[str], None] = print) -> dict[str, bytes]:
    """The files to upload in place of the folder's when it was built for another repo: the card
    and ``record.schema.json`` rendered for ``repo_id`` (``{}`` when it was built for it, or
    when its schema names no repo)."""
    from .extras import require
    from .hub import repo_id_of
    from .writer import render_for_repo

    built_for = repo_id_of(folder)
    if built_for is None or built_for == repo_id:
        return {}
    require("build", f"mulco publish to {repo_id} of a folder built for {built_for} (its card is re-rendered)")
    try:
        files = render_for_repo(folder, repo_id)
    except Exception as e:
        raise PublishError(f"{folder} was built for {built_for}; re-rendering its card for {repo_id} failed "
                           f"({type(e).__name__}: {_first_line(str(e))}): rebuild it with --repo-id {repo_id}") from None
    log(f"the card and record.schema.json are rendered for {repo_id} (the folder was built for {built_for}; "
        "it is not changed)")
    return {name: text.encode("utf-8") for name, text in files.items()}


def check_folder(folder: Path) -> None:
    """A folder written by ``mulco build``: a card with configs whose data files all exist."""
    from .hub import read_card_yaml

    folder = Path(folder)
    card = folder / "README.md"
    if not folder.is_dir():
        raise PublishError(f"{folder} is not a folder: pass the output folder of `mulco build`")
    if not card.is_file():
        raise PublishError(f"{folder} has no README.md: is it a folder written by `mulco build`?")
    try:
        meta = read_card_yaml(card)
    except Exception as e:
        raise PublishError(f"{card}: the YAML header does not parse ({type(e).__name__}); rebuild the folder") from None
    configs = meta.get("configs") or []
    if not configs:
        raise PublishError(f"{card} lists no configs: is it a folder written by `mulco build`?")
    from .hub import resolve_data_files

    try:
        named = {p for c in configs for files in resolve_data_files(folder, c).values() for p in files}
    except (KeyError, TypeError, AttributeError):
        raise PublishError(f"{card}: a configs entry has no valid data_files; rebuild the folder") from None
    missing = sorted(p for p in named if not (folder / p).is_file())
    if missing:
        raise PublishError(f"{len(missing)} data files named in README.md are missing (first: {missing[0]}); rebuild the folder")


def compare(local: dict[str, LocalFile], remote: dict[str, RemoteFile], *, delete: bool = True) -> list[PlanItem]:
    """What changes: local vs remote files (content compared by git blob id or LFS sha256)."""
    items = []
    for path, lf in local.items():
        rf = remote.get(path)
        if rf is None:
            items.append(PlanItem("add", path, lf.size))
        elif _same(lf, rf):
            items.append(PlanItem("unchanged", path, lf.size, rf.size))
        else:
            items.append(PlanItem("update", path, lf.size, rf.size))
    for path, rf in remote.items():
        if path in local:
            continue
        keep = not delete or path in KEEP_REMOTE
        items.append(PlanItem("keep" if keep else "delete", path, rf.size, rf.size))
    return items


def _same(lf: LocalFile, rf: RemoteFile) -> bool:
    if rf.lfs_sha256:
        return lf.size == rf.size and lf.sha256() == rf.lfs_sha256
    if rf.blob_id:
        return lf.size == rf.size and lf.git_blob_id() == rf.blob_id
    return False  # unknown content: upload again


def remote_state(api, repo_id: str, revision: str,
                 repo_type: str = REPO_TYPE) -> tuple[bool, bool, str | None, dict[str, RemoteFile]]:
    """(repo exists, branch exists, head commit, files) of ``repo_id`` at ``revision``."""
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    try:
        info = api.repo_info(repo_id, repo_type=repo_type, revision=revision)
    except RevisionNotFoundError:
        if revision == DEFAULT_REVISION:
            return True, False, None, {}
        # a new branch starts from main: compare against main
        exists, _, _, files = remote_state(api, repo_id, DEFAULT_REVISION, repo_type)
        return exists, False, None, files
    except RepositoryNotFoundError:
        return False, False, None, {}
    files = {}
    for entry in api.list_repo_tree(repo_id, repo_type=repo_type, revision=revision, recursive=True):
        if not hasattr(entry, "blob_id"):  # a folder
            continue
        lfs = getattr(entry, "lfs", None)
        files[entry.path] = RemoteFile(entry.path, int(entry.size or 0), entry.blob_id,
                                       getattr(lfs, "sha256", None) if lfs else None)
    return True, True, getattr(info, "sha", None), files


def make_plan(api, folder: Path, repo_id: str, revision: str = DEFAULT_REVISION, *, delete: bool = True,
              overrides: dict[str, bytes] | None = None) -> Plan:
    check_folder(folder)
    return plan_files(api, local_files(folder, overrides), repo_id, revision, delete=delete)


def plan_files(api, local: dict[str, LocalFile], repo_id: str, revision: str = DEFAULT_REVISION, *,
               delete: bool = True, repo_type: str = REPO_TYPE) -> Plan:
    """What uploading ``local`` to ``repo_id@revision`` would change (the repo is read, not written)."""
    exists, branch_exists, head, remote = remote_state(api, repo_id, revision, repo_type)
    plan = Plan(repo_id, revision, exists, branch_exists, head, repo_type=repo_type)
    plan.items = compare(local, remote, delete=delete)
    return plan


# --------------------------------------------------------------------------------------------
# Publishing


@dataclass
class PublishResult:
    plan: Plan
    commit: str | None = None
    commit_url: str | None = None
    tag: str | None = None
    created_repo: bool = False


def publish(folder: Path, repo_id: str, *, revision: str | None = None, tag: str | None = None,
            private: bool = False, dry_run: bool = False, delete: bool = True, endpoint: str | None = None,
            token: str | None = None, commit_message: str | None = None,
            log: Callable[[str], None] = print) -> PublishResult:
    """Publish ``folder`` to the dataset repo ``repo_id``; see the module docstring.

    ``token=None`` takes it from the usual places. Raises :class:`PublishError` (one line,
    never containing the token) on any failure.
    """
    revision = revision or DEFAULT_REVISION
    folder = Path(folder)
    return with_hub(repo_id, revision, lambda api: _publish(api, folder, repo_id, revision, tag, private, dry_run, delete,
                                                            commit_message, log),
                    dry_run=dry_run, endpoint=endpoint, token=token)


def with_hub(repo_id: str, revision: str, work: Callable, *, dry_run: bool = False, endpoint: str | None = None,
             token: str | None = None, repo_type: str = REPO_TYPE, command: str = "mulco publish"):
    """``work(api)`` with an ``HfApi`` for ``repo_id``, after the checks every publish makes (repo id,
    offline mode, a token unless ``dry_run``; ``token=None`` takes it from the usual places).
    Any failure becomes one :class:`PublishError` line that says what to do and never holds the token."""
    from huggingface_hub import HfApi, constants

    check_repo_id(repo_id)
    if token is None:
        token = find_token()
    if constants.is_offline_mode():
        raise PublishError("huggingface_hub is in offline mode (HF_HUB_OFFLINE is set): unset it to publish")
    if not token and not dry_run:
        raise PublishError("no Hugging Face token found: set HF_TOKEN or run `hf auth login` "
                           "(the token needs write access to " + repo_id.split("/")[0] + ")")
    redact = _redactor(token)
    try:
        return work(HfApi(endpoint=endpoint, token=token or False))
    except PublishError as e:  # its class kept: a caller may tell bad input from a failed upload
        raise type(e)(redact(str(e))) from None
    except Exception as e:  # one line that says what to do; never the token
        raise PublishError(redact(explain(e, repo_id, revision, endpoint or constants.ENDPOINT, repo_type, command))) from None


def _publish(api, folder, repo_id, revision, tag, private, dry_run, delete, commit_message, log):
    check_folder(folder)
    overrides = retarget(folder, repo_id, log)
    if api.token and not dry_run:
        api.whoami()  # a bad token fails here, before anything is read or written
    if dry_run:
        plan = make_plan(api, folder, repo_id, revision, delete=delete, overrides=overrides)
        log(plan.render())
        if tag:
            log(f"would tag the new commit as {tag}")
        log("dry run: nothing was written")
        return PublishResult(plan)
    result = _commit(api, folder, repo_id, revision, private, delete, overrides, commit_message, log)
    if tag:
        try:
            api.create_tag(repo_id, tag=tag, revision=result.commit or revision, repo_type=REPO_TYPE)
        except Exception as e:
            raise PublishError(
                f"published {repo_id}@{revision} ({(result.commit or '')[:12]}) but could not create tag {tag}: "
                + explain(e, repo_id, revision, api.endpoint)) from None
        result.tag = tag
        log(f"tagged {(result.commit or revision)[:12]} as {tag}")
    return result


def _commit(api, folder, repo_id, revision, private, delete, overrides, commit_message, log) -> PublishResult:
    """One ``create_commit`` of the whole folder; the result's plan says what it changed."""
    return commit_files(api, local_files(folder, overrides), repo_id, revision, private=private, delete=delete,
                        message=commit_message or (lambda n, gone: f"mulco publish: {folder.name} ({n} files"
                                                   f"{f', {gone} deleted' if gone else ''})"), log=log)


def commit_files(api, local: dict[str, LocalFile], repo_id: str, revision: str = DEFAULT_REVISION, *,
                 private: bool = False, delete: bool = True, message: str | Callable[[int, int], str],
                 log: Callable[[str], None] = print, repo_type: str = REPO_TYPE) -> PublishResult:
    """Upload ``local`` to ``repo_id@revision`` as ONE ``create_commit`` (the repo and branch are
    created first when missing), deleting the remote files not in ``local`` unless ``delete`` is
    false; ``message`` is the commit message, or a function of (files, deleted) that makes it.
    The result's plan says what the commit changed."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    exists, branch_exists, head, before = remote_state(api, repo_id, revision, repo_type)
    created = False
    if not exists:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        created = True
        log(f"created {'private' if private else 'public'} {repo_type} repo {repo_id}")
    if not branch_exists and revision != DEFAULT_REVISION:
        api.create_branch(repo_id, branch=revision, repo_type=repo_type, exist_ok=True)
    if created or not branch_exists:  # a new repo has a first commit; a new branch starts at main's head
        exists, branch_exists, head, before = remote_state(api, repo_id, revision, repo_type)
    ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=lf.upload()) for p, lf in local.items()]
    gone = [p for p in sorted(before) if p not in local and delete and p not in KEEP_REMOTE]
    ops += [CommitOperationDelete(path_in_repo=p) for p in gone]
    msg = message(len(local), len(gone)) if callable(message) else message
    info = api.create_commit(repo_id, ops, commit_message=msg, repo_type=repo_type, revision=revision,
                             parent_commit=head)
    plan = Plan(repo_id, revision, exists, branch_exists, head, repo_type=repo_type)
    result = PublishResult(plan, created_repo=created)
    if info.oid == head:  # the library found nothing to change and made no commit
        plan.items = changes(before, before, set(local))
        result.commit = head
        log(f"{repo_id}@{revision} is up to date; nothing to commit")
        return result
    after = remote_state(api, repo_id, info.oid, repo_type)[3]
    plan.items = changes(before, after, set(local))
    result.commit, result.commit_url = info.oid, info.commit_url
    log(f"committed {info.oid[:12]} to {repo_id}@{revision}: {plan.summary()}")
    return result


def changes(before: dict[str, RemoteFile], after: dict[str, RemoteFile], local: set[str]) -> list[PlanItem]:
    """What a commit did: the repo's files before and after it, compared by blob id / LFS sha256
    (a remote file that is not in the folder and stays is *kept*)."""
    items = []
    for path, rf in sorted(after.items()):
        old = before.get(path)
        if old is None:
            items.append(PlanItem("add", path, rf.size))
        elif (old.lfs_sha256 or old.blob_id) == (rf.lfs_sha256 or rf.blob_id) and old.size == rf.size:
            items.append(PlanItem("unchanged" if path in local else "keep", path, rf.size, old.size))
        else:
            items.append(PlanItem("update", path, rf.size, old.size))
    items += [PlanItem("delete", path, rf.size, rf.size) for path, rf in sorted(before.items()) if path not in after]
    return items


def check_repo_id(repo_id: str) -> None:
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(parts):
        raise PublishError(f"--repo-id must be <namespace>/<name>, got {repo_id!r}")


def find_token() -> str | None:
    from huggingface_hub import get_token

    try:
        return get_token()
    except Exception:
        return None


def _redactor(token: str | None) -> Callable[[str], str]:
    def redact(text: str) -> str:
        if token:
            text = text.replace(token, "***")
        return text

    return redact


def explain(e: BaseException, repo_id: str, revision: str, endpoint: str, repo_type: str = REPO_TYPE,
            command: str = "mulco publish") -> str:
    """One line for a failure from huggingface_hub / the network, with what to do."""
    from huggingface_hub import errors as hf_errors

    status = getattr(getattr(e, "response", None), "status_code", None)
    server = _server_message(e)
    if isinstance(e, hf_errors.OfflineModeIsEnabled):
        return "huggingface_hub is in offline mode (HF_HUB_OFFLINE is set): unset it to publish"
    if isinstance(e, hf_errors.LocalTokenNotFoundError):
        return "no Hugging Face token found: set HF_TOKEN or run `hf auth login`"
    if status in (401, 403):  # before "not found": the Hub answers a bad token on a repo with 401 too
        return _explain_status(status, server, repo_id, revision, repo_type, command)
    if isinstance(e, hf_errors.RepositoryNotFoundError) or (status == 404 and "Repo" in type(e).__name__):
        return f"{repo_type} {repo_id} not found (or private and the token cannot see it): check --repo-id and the token"
    if isinstance(e, hf_errors.RevisionNotFoundError):
        return f"revision {revision} not found in {repo_id}: check --revision"
    if status is not None:
        return _explain_status(status, server, repo_id, revision, repo_type, command)
    if _is_network_error(e):
        return f"cannot reach {endpoint} ({type(e).__name__}): check the network connection (or HF_ENDPOINT); nothing was committed"
    if isinstance(e, ValueError):
        return f"{_first_line(str(e))}; nothing was committed"
    return f"{type(e).__name__}: {_first_line(str(e))}; nothing was committed"


def _explain_status(status: int, server: str, repo_id: str, revision: str, repo_type: str = REPO_TYPE,
                    command: str = "mulco publish") -> str:
    """One line for an HTTP error status of the Hub, with what to do."""
    if status == 401:
        return ("the Hub refused the token (HTTP 401: invalid or expired): create a token with write access at "
                "https://huggingface.co/settings/tokens and set HF_TOKEN or run `hf auth login`")
    if status == 403:
        return (f"no permission to write to {repo_type} {repo_id} (HTTP 403{server}): use a token with write access "
                f"to the {repo_id.split('/')[0]} namespace")
    if status in (409, 412):
        return (f"{repo_id}@{revision} changed while publishing (HTTP {status}{server}); nothing was committed: "
                f"run `{command}` again")
    if status == 429:
        return "the Hub is rate-limiting requests (HTTP 429); nothing was committed: wait a few minutes and retry"
    if status >= 500:
        return f"the Hub failed (HTTP {status}{server}); nothing was committed: retry later"
    return f"the Hub answered HTTP {status}{server}; nothing was committed"


def _server_message(e: BaseException) -> str:
    msg = getattr(e, "server_message", None)
    msg = " ".join(str(msg).split())[:200] if msg else ""
    return f": {msg}" if msg else ""


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:300]
    return ""


def _is_network_error(e: BaseException) -> bool:
    try:
        import httpx2

        if isinstance(e, httpx2.TransportError):
            return True
    except ImportError:  # older huggingface_hub: httpx or requests
        pass
    for mod in ("httpx", "requests"):
        try:
            m = __import__(mod)
        except ImportError:
            continue
        base = getattr(m, "TransportError", None) or getattr(getattr(m, "exceptions", None), "ConnectionError", None)
        if base is not None and isinstance(e, base):
            return True
    import socket

    return isinstance(e, (ConnectionError, TimeoutError, socket.gaierror))
