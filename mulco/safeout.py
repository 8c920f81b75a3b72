"""Safety rules for every command that writes into a folder the user names.

A command may *replace* a folder only when it is new, empty, or carries the marker file a
previous run of the same command wrote there (``.mulco-build`` for ``mulco build``); anything
else is refused with one line unless ``force`` is given. A folder equal to, inside or containing
a ``forbidden`` one (the raw sources of a build) is refused even with ``force``; so are an
existing file, a symbolic link, the filesystem root and the home folder. Permissions are checked
before anything moves: the parent must be writable, and an existing folder (every folder in it)
must be removable once the new one is in place. Errors name the user's path, never a staging
folder.

:func:`prepare_output` is the one call for commands that replace a folder (``build``, the
exports to come); :func:`check_writable_into` is for commands that add files to a folder the
user owns and never delete anything in it (``download --raw-dir``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

#: The marker ``mulco build`` writes into its output folder (a dotfile: never uploaded as data).
BUILD_MARKER = ".mulco-build"
EXPORT_MARKER = ".mulco-export"  # mulco export's (mulco.export.MARKER)


class UnsafeOutputError(ValueError):
    """Writing there could destroy something the user did not ask to replace; one line says why."""


@dataclass(frozen=True)
class OutputPlan:
    path: Path
    state: str  # new | empty | ours | forced


def marker_text(command: str, version: str, origin: str | None = None) -> str:
    """What a marker file holds (deterministic: the same for every run of the same version and input).
    ``origin``: a path-free name of what the folder was made from (``mulco build``: its raw folder,
    see :func:`check_origin`)."""
    data = {"written_by": f"mulco {command}", "mulco_version": version}
    if origin is not None:
        data["origin"] = origin
    data["note"] = "this folder is replaced by the next run; put nothing else here"
    return json.dumps(data, indent=1) + "\n"


def write_marker(folder: Path, command: str, version: str, marker: str = BUILD_MARKER, origin: str | None = None) -> Path:
    return _write_marker(folder, marker, marker_text(command, version, origin))


def _write_marker(folder: Path, marker: str, text: str) -> Path:
    path = Path(folder) / marker
    path.write_text(text, encoding="utf-8")
    return path


def marker_origin(folder: Path, marker: str = BUILD_MARKER) -> str | None:
    """The ``origin`` the marker in ``folder`` records (None: no marker, or one that records none)."""
    origin = (_read_marker(Path(folder) / marker) or {}).get("origin")
    return origin if isinstance(origin, str) else None


def check_origin(path: Path, origin: str, *, marker: str = BUILD_MARKER, force: bool = False, flag: str = "--out") -> None:
    """A folder our marker says was made from another input than ``origin`` (e.g. a build of a real
    raw folder, about to be replaced by one of the bundled sample) is replaced only with ``force``;
    :class:`UnsafeOutputError` otherwise. A folder without a recorded origin (an older mulco) passes."""
    old = marker_origin(path, marker) if Path(path).is_dir() else None
    if force or old is None or old == origin:
        return
    raise UnsafeOutputError(f"{flag} {path} holds output made from {old}, and this run reads {origin}: refusing to "
                            f"replace it; pass --force to replace it, or choose another {flag}")


def _read_marker(path: Path) -> dict | None:
    """The JSON object a marker file holds; None when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _marker_writer(folder: Path, marker: str) -> str | None:
    """``written_by`` of the marker file in ``folder`` (a regular file, not a link), or None."""
    path = Path(folder) / marker
    if path.is_symlink() or not path.is_file():
        return None
    return str((_read_marker(path) or {}).get("written_by", ""))


def has_marker(folder: Path, marker: str = BUILD_MARKER) -> bool:
    """True when ``folder`` holds a marker file written by mulco (a JSON object naming mulco)."""
    return (_marker_writer(folder, marker) or "").startswith("mulco ")


def _resolve(p: Path) -> Path:
    return Path(os.path.abspath(Path(p).expanduser())).resolve(strict=False)


def _overlap(out: Path, other: Path) -> str | None:
    a, b = _resolve(out), _resolve(other)
    if a == b:
        return "is"
    if b in a.parents:
        return "is inside"
    if a in b.parents:
        return "contains"
    return None


def _nearest_existing(path: Path) -> Path:
    p = _resolve(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK, effective_ids=os.access in os.supports_effective_ids)


def check_parent(path: Path, flag: str) -> None:
    """The folder that will hold ``path`` exists or can be made, and is writable."""
    parent = _nearest_existing(Path(path).parent if Path(path).parent != Path(path) else Path(path))
    if not parent.is_dir():
        raise UnsafeOutputError(f"{flag} {path}: {parent} is a file, not a folder")
    if not _writable(parent):
        raise UnsafeOutputError(f"{flag} {path}: cannot write into {parent} (permission denied)")


def check_removable(folder: Path, flag: str) -> None:
    """Every folder under ``folder`` (itself included) lets its entries be removed, so the old
    output can be deleted once the new one is in place; raise before anything moves if not."""
    for dirpath, dirnames, _ in os.walk(folder, onerror=_raise):
        d = Path(dirpath)
        if not _writable(d) or not os.access(d, os.R_OK):
            where = "it is" if d == Path(folder) else f"{d} is"
            raise UnsafeOutputError(f"{flag} {folder}: {where} read-only, so the old output cannot be replaced; "
                                    f"make it writable (chmod -R u+w) or choose another folder")
        dirnames[:] = [n for n in dirnames if not (d / n).is_symlink()]


def _raise(e: OSError) -> None:
    raise UnsafeOutputError(f"cannot read {e.filename}: {e.strerror}") from None


def _forbidden_always(path: Path) -> str | None:
    p = _resolve(path)
    if p == p.parent:
        return "is the filesystem root"
    home = os.path.expanduser("~")
    if home and home != "~" and p == _resolve(Path(home)):
        return "is your home folder"
    if p == _resolve(Path.cwd()) or p in _resolve(Path.cwd()).parents:
        return "is the current folder or contains it"
    return None


def _check_place(path: Path, flag: str, *, always: str, file: str) -> None:
    """What every output folder must not be: a symbolic link, the root, home or current folder (``always``
    says what to do instead), an existing file (``file``), or a path whose parent cannot take it."""
    if path.is_symlink():
        raise UnsafeOutputError(f"{flag} {path} is a symbolic link; pass the folder itself "
                                f"({os.path.realpath(path)}) or a new path")
    why = _forbidden_always(path)
    if why:
        raise UnsafeOutputError(f"{flag} {path} {why}: {always}")
    if path.exists() and not path.is_dir():
        raise UnsafeOutputError(f"{flag} {path} is an existing file, not a folder: {file}")
    check_parent(path, flag)


def _entries(path: Path, flag: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError as e:
        raise UnsafeOutputError(f"{flag} {path}: cannot read it ({e.strerror})") from None


def _shown(entries: list[str]) -> str:
    return ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")


def prepare_output(path: Path, *, marker: str = BUILD_MARKER, force: bool = False,
                   forbidden: Iterable[tuple[str, Path]] = (), flag: str = "--out", command: str = "build") -> OutputPlan:
    """Decide whether the folder ``path`` may be replaced by a new one; raise
    :class:`UnsafeOutputError` (one line naming ``path``) if not. Nothing is written.

    ``forbidden``: (what, folder) pairs ``path`` must neither be, be inside of, nor contain, e.g.
    ``[("--raw-dir", raw_dir)]``: refused even with ``force``."""
    path = Path(path)
    for what, other in forbidden:
        rel = _overlap(path, other)
        if rel:
            harm = ("the output would be mixed into it" if rel == "is inside" else "replacing it would destroy it")
            raise UnsafeOutputError(f"{flag} {path} {rel} {what} {other}: refused ({harm}); "
                                    f"choose an output folder outside {other}")
    _check_place(path, flag, always=f"refusing to replace it; choose a new folder such as {path}/mulco",
                 file=f"choose a folder (it is replaced by the {command} output)")
    if not path.exists():
        return OutputPlan(path, "new")
    entries = _entries(path, flag)
    if not entries:
        state = "empty"
    elif has_marker(path, marker):
        state = "ours"
    elif force:
        state = "forced"
    else:
        raise UnsafeOutputError(f"{flag} {path} is a folder that `mulco {command}` did not write (it holds {_shown(entries)}); "
                                f"choose a new or empty folder, or pass --force to replace it and delete what it holds")
    check_removable(path, flag)
    return OutputPlan(path, state)


def check_writable_into(folder: Path, *, flag: str) -> None:
    """For commands that add files to a user's folder and never delete in it (``download``):
    ``folder`` is a folder (or can be made) and is writable; nothing is created."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UnsafeOutputError(f"{flag} {folder} is an existing file, not a folder")
    if folder.is_dir():
        if not _writable(folder):
            raise UnsafeOutputError(f"{flag} {folder}: cannot write into it (permission denied)")
        return
    check_parent(folder, flag)


# ---- the same rules for the commands outside mulco (collama-train, collama-eval, merge) ----

#: The markers of folders that ``mulco build`` and ``mulco export`` write (and replace on their next run).
DATA_MARKERS = (BUILD_MARKER, EXPORT_MARKER)


def write_tool_marker(folder: Path, program: str, version: str, marker: str) -> Path:
    """The marker of a folder written by ``program`` (e.g. ``collama-train``); JSON like mulco's."""
    return _write_marker(folder, marker, json.dumps({"written_by": program, "version": version,
                                                     "note": "written by this command; its next run may replace it"},
                                                    indent=1) + "\n")


def has_tool_marker(folder: Path, program: str, marker: str) -> bool:
    """True when ``folder`` holds ``program``'s marker (see :func:`write_tool_marker`)."""
    return _marker_writer(folder, marker) == program


def data_folder_of(path: Path) -> Path | None:
    """The MulCo data folder (one holding a build or export marker) that ``path`` is or lies inside."""
    p = _resolve(Path(path))
    for d in (p, *p.parents):
        if d.is_dir() and any(has_marker(d, m) for m in DATA_MARKERS):
            return d
    return None


def check_tool_output(path: Path, *, flag: str, program: str, marker: str, signs: Iterable[str] = (),
                      protected: Iterable[tuple[str, Path]] = ()) -> OutputPlan:
    """The output rules for a command outside ``mulco`` that writes a folder (``collama-train``,
    ``collama-eval``, ``merge``): ``path`` may be used when it is new, empty, or was written by the same
    ``program`` (its ``marker`` file, or one of the files in ``signs`` that only it writes). Refused with
    one line, before any work: a file, a symbolic link, the filesystem root, home or current folder, a
    MulCo data folder or anything inside one, a folder equal to, inside or holding one of ``protected``
    ((what, folder) pairs, e.g. the model), and a folder that holds anything else. The caller decides
    what an ``ours`` folder needs (``collama-train``: ``--overwrite_output_dir`` or ``--resume``)."""
    path = Path(path)
    data = data_folder_of(path)
    if data is not None:
        where = "is a MulCo data folder" if data == _resolve(path) else f"is inside the MulCo data folder {data}"
        raise UnsafeOutputError(f"{flag} {path} {where}: refused (the output would be mixed into the dataset, and "
                                f"the next `mulco build` replaces that folder); choose a folder outside it")
    for what, other in protected:
        rel = _overlap(path, other)
        if rel:
            where = f"is {what}" if rel == "is" else f"{rel} {what} {other}"
            raise UnsafeOutputError(f"{flag} {path} {where}: refused (writing there would change it); "
                                    f"choose a folder outside {other}")
    _check_place(path, flag, always="refused; choose a new folder inside it instead", file="choose a new folder")
    if not path.exists():
        return OutputPlan(path, "new")
    entries = _entries(path, flag)
    if not entries:
        return OutputPlan(path, "empty")
    if has_tool_marker(path, program, marker) or set(entries) & set(signs):
        return OutputPlan(path, "ours")
    raise UnsafeOutputError(f"{flag} {path} is a folder that {program} did not write (it holds {_shown(entries)}); "
                            f"choose a new or empty folder")


def clear_folder(folder: Path, flag: str) -> None:
    """Empty ``folder`` (an ``ours`` output about to be replaced), after checking every entry can go."""
    import shutil

    folder = Path(folder)
    check_removable(folder, flag)
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
