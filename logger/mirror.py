"""A local copy of logs on object storage (s3://, gs://, az://, any fsspec URL), brought up to date by ranges.

Each sync lists the prefix with sizes, fetches the objects it has not seen and, of an object that grew
(an append blob), only the bytes past what the copy holds; the reader then reads the copy as any log
folder, following appended bytes as usual. Nothing is ever written to the storage.

The objects' names are untrusted: a key with `..`, an empty or `.` part, a backslash, a control
character or a leading `/` is refused (a named problem), as is one whose place in the copy is taken by
a folder, a file or a link; no link is followed. Objects are append-only by contract, and a copy is
never changed to match an object that broke it: an object whose earlier bytes differ from the copy's
(rewritten, shrunk, or same size with another ETag) is reported, and the copy keeps what it had.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .format import ARTIFACTS_DIR
from .model import Problem
from .paths import ENV_CACHE_DIR

TAIL = 64  # bytes before a grown object's old end fetched again, to check it was only appended to
_STATE = "state.json"  # beside the copy's tree: each key's size and ETag as last copied
_TREE = "tree"
_TEMP = "incoming"  # whole objects land here first, then move into the tree in one rename


@dataclass
class Synced:
    """What one sync did: where the copy is, and what it fetched."""

    path: Path
    fetched_objects: int = 0
    fetched_bytes: int = 0
    problems: list[Problem] = field(default_factory=list)


# Schemes that are not storage of files: a local path (read in place), a web page or a tracking server
# (MLflow's http:// URIs), databases (MLflow's SQL stores).
_NOT_STORAGE = ("file", "local", "http", "https", "sqlite", "postgresql", "mysql", "mssql", "databricks", "uc")


def is_url(text: str | os.PathLike | None) -> bool:
    """An object storage or other fsspec filesystem URL: s3://, gs://, az://, abfs://, memory://, ..."""
    if text is None:
        return False
    scheme, sep, _ = os.fspath(text).partition("://")
    scheme = scheme.lower().partition("+")[0]
    return bool(sep) and scheme.replace("-", "").isalnum() and scheme not in _NOT_STORAGE


def cache_home() -> Path:
    """$FLOWSHEET_CACHE_DIR, else $XDG_CACHE_HOME/flowsheet, else ~/.cache/flowsheet."""
    chosen = os.environ.get(ENV_CACHE_DIR)
    if chosen:
        return Path(chosen).expanduser().absolute()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser().absolute() / "flowsheet"


def mirror_home(url: str, cache_dir: Path | None = None) -> Path:
    digest = hashlib.sha256(url.rstrip("/").encode("utf-8")).hexdigest()[:24]
    return (cache_dir or cache_home()) / "remote" / digest


def open_filesystem(url: str):
    """The fsspec filesystem and root path of `url`. Its options come from fsspec's configuration
    (FSSPEC_<PROTOCOL>_<OPTION> variables, ~/.config/fsspec) and the storage's own environment
    (AWS_ENDPOINT_URL, AWS_PROFILE, ...). A fresh instance: never a cached one with an older endpoint."""
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise ImportError(f"reading {url} needs fsspec and the package of its storage "
                          "(pip install 'flowsheet[s3]' for s3://)") from None
    # One instance per URL and settings: making a client costs a good part of a second (botocore), too
    # much for each sync of `reporter serve`; a changed setting (another endpoint) makes a new one.
    settings = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_SETTINGS_PREFIXES)))
    key = (url, settings)
    if key not in _opened:
        if len(_opened) > 8:
            _opened.clear()
        fs, root = url_to_fs(url, skip_instance_cache=True)
        _opened[key] = (fs, root.rstrip("/"))
    return _opened[key]


_SETTINGS_PREFIXES = ("AWS_", "FSSPEC_", "GOOGLE_", "GCS", "AZURE_")
_opened: dict[tuple, tuple] = {}


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def refused(key: str) -> str | None:
    """Why an object key cannot be a file of the copy, or None when it can."""
    if key.startswith("/"):
        return "an absolute path"
    if "\\" in key:
        return "a backslash in the name"
    if _CONTROL.search(key):
        return "a control character in the name"
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "an empty, '.' or '..' part would leave or confuse the folder"
    if any(len(part.encode("utf-8", "surrogateescape")) > 255 for part in parts):
        return "a part longer than 255 bytes"
    if len(parts[0]) == 2 and parts[0][1] == ":":
        return "a drive name"
    return None


def _folded(key: str) -> str:
    return unicodedata.normalize("NFC", key).casefold()


def sync(url: str, cache_dir: Path | None = None) -> Synced:
    """Bring the copy of `url` up to date; returns where it is, what was fetched, and what was refused."""
    fs, root = open_filesystem(url)
    home = mirror_home(url, cache_dir)
    tree = home / _TREE
    state = _load_state(home, tree)
    done = Synced(tree)
    fs.invalidate_cache()  # a listing cached by an earlier call would hide new objects
    listing = fs.find(root, detail=True, withdirs=False)
    wanted: dict[str, dict] = {}
    # Two keys that differ only in case or Unicode form are one file on macOS, Windows and some mounts:
    # the one copied before (else the first by name) keeps the place, the other is refused on every disk.
    taken = {_folded(key): key for key in sorted(state)}
    for path, info in sorted(listing.items()):
        if root and not path.startswith(root + "/"):
            continue  # a neighbour of the prefix (runs2/ beside runs/)
        key = path[len(root) + 1:] if root else path
        if info.get("type", "file") != "file" or not key:
            continue
        reason = None if key in state else refused(key)  # a key copied before passed already
        if reason is None and taken.setdefault(_folded(key), key) != key:
            reason = f"its name differs from {taken[_folded(key)]!r} only in case or Unicode form"
        if reason:
            done.problems.append(Problem(key, None, f"object refused: {reason}"))
            continue
        wanted[key] = info
    (home / _TEMP).mkdir(parents=True, exist_ok=True)
    tree.mkdir(exist_ok=True)
    whole: list[tuple[str, str | None]] = []  # objects to fetch whole: (key, ETag)
    for key, info in wanted.items():
        try:
            if not _extend(fs, path_of(root, key), key, info, tree, state, done):
                whole.append((key, _etag(info)))
        except _Refused as refusal:
            done.problems.append(Problem(key, None, f"object refused: {refusal}"))
        except OSError as error:
            done.problems.append(Problem(key, None, f"not fetched: {error.strerror or error}"))
    _fetch_whole(fs, root, whole, tree, home / _TEMP, state, done)
    for key in sorted(set(state) - set(wanted)):  # gone from the storage: gone from the copy
        _remove(tree, key)
        del state[key]
    _save_state(home, state)
    return done


def path_of(root: str, key: str) -> str:
    return f"{root}/{key}" if root else key


class _Refused(Exception):
    pass


def _etag(info: dict) -> str | None:
    etag = info.get("ETag") or info.get("etag")
    return str(etag) if etag is not None else None


def _extend(fs, remote: str, key: str, info: dict, tree: Path, state: dict, done: Synced) -> bool:
    """Bring an object already copied up to date (nothing, the bytes it grew by, or a problem); False
    for an object to fetch whole: not copied yet, or its copy is not as the state says (a sync that
    was interrupted)."""
    size = int(info.get("size") or 0)
    etag = _etag(info)
    known = state.get(key)
    if known is not None and known[0] == size and (etag is None or known[1] in (None, etag)) \
            and _regular_size(tree.joinpath(*key.split("/"))) == size:
        return True  # unchanged, and so is its copy: nothing is written, so no need to check the way there
    if known is not None and _rewritable(key):
        return False  # an artifact logged again under its path: the new object replaces its copy whole
    target = _place(tree, key)
    held = _regular_size(target)
    if known is not None and held == known[0]:
        if size == known[0]:
            if etag is not None and known[1] is not None and etag != known[1]:
                done.problems.append(Problem(key, None, "object rewritten in place (another ETag, same size): "
                                                        "objects are append-only; the copy keeps the earlier bytes"))
            return True
        if size < known[0]:
            done.problems.append(Problem(key, None, f"object shrank from {known[0]} to {size} bytes: objects are "
                                                    "append-only; the copy keeps the earlier bytes"))
            return True
        overlap = min(TAIL, known[0])
        data = fs.cat_file(remote, start=known[0] - overlap, end=size)
        done.fetched_bytes += len(data)
        with open(target, "rb") as file:
            file.seek(known[0] - overlap)
            before = file.read(overlap)
        if data[:overlap] != before or len(data) != size - known[0] + overlap:
            done.problems.append(Problem(key, None, "object's earlier bytes changed: objects are append-only; "
                                                    "the copy keeps the earlier bytes"))
            return True
        descriptor = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
        with os.fdopen(descriptor, "ab") as file:
            file.write(data[overlap:])
        state[key] = [size, etag]
        done.fetched_objects += 1
        return True
    return False


def _rewritable(key: str) -> bool:
    """Artifacts may be uploaded again (a plot redrawn every epoch); log pieces are append-only."""
    return ARTIFACTS_DIR in key.split("/")[:-1]


def _fetch_whole(fs, root: str, objects: list[tuple[str, str | None]], tree: Path, incoming: Path, state: dict,
                 done: Synced) -> None:
    """Fetch objects into `incoming` in one call (an async filesystem such as s3fs runs the requests side
    by side), then move each to its checked place. If the batch fails, each is fetched alone, so the
    failure is named by the object it belongs to."""
    temporaries = [str(incoming / hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest())
                   for key, _ in objects]
    remotes = [path_of(root, key) for key, _ in objects]
    fetched: list[Exception | None] = [None] * len(objects)
    try:
        if objects:
            fs.get(remotes, temporaries)
    except Exception as error:  # noqa: BLE001 - the storage's errors: fetched one by one below to name them
        fetched = [error] * len(objects)
    for (key, etag), remote, temporary, failed in zip(objects, remotes, temporaries, fetched):
        try:
            if failed is not None:
                fs.get_file(remote, temporary)
            size = os.path.getsize(temporary)
            target = _place(tree, key, make=True)
            os.replace(temporary, target)
        except _Refused as refusal:
            done.problems.append(Problem(key, None, f"object refused: {refusal}"))
            continue
        except Exception as error:  # noqa: BLE001 - one object's failure is its problem, the rest go on
            done.problems.append(Problem(key, None, f"not fetched: {getattr(error, 'strerror', None) or error}"))
            continue
        done.fetched_bytes += size
        state[key] = [size, etag]
        done.fetched_objects += 1


def _place(tree: Path, key: str, make: bool = False) -> Path:
    """Where `key` goes in the copy, checked: every folder on the way a real folder (never a link), and
    the place itself a regular file or free. `make`: create the folders."""
    folder = tree
    parts = key.split("/")
    for part in parts[:-1]:
        folder = folder / part
        try:
            mode = os.lstat(folder).st_mode
        except FileNotFoundError:
            if not make:
                return tree.joinpath(*parts)
            folder.mkdir(parents=True)  # parents: the tree itself on the first object
            continue
        if not stat.S_ISDIR(mode):
            raise _Refused(f"its folder {'/'.join(parts[:parts.index(part) + 1])!r} is a file or link in the copy")
    target = folder / parts[-1]
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return target
    if not stat.S_ISREG(mode):
        raise _Refused("its place in the copy is a folder (another object's key runs through it) or a link")
    return target


def _regular_size(path: Path) -> int | None:
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _remove(tree: Path, key: str) -> None:
    try:
        target = _place(tree, key)
        if _regular_size(target) is not None:
            target.unlink()
    except (OSError, _Refused):
        pass


def _load_state(home: Path, tree: Path) -> dict:
    """Each key's [size, etag] as copied. A missing or unreadable state means the tree is not known:
    it is cleared (the cache's own folder) and everything is fetched again, never trusted."""
    try:
        state = json.loads((home / _STATE).read_text(encoding="utf-8"))
        if isinstance(state, dict) and all(isinstance(v, list) and len(v) == 2 and isinstance(v[0], int)
                                           for v in state.values()):
            return state
    except (OSError, ValueError):
        pass
    if tree.is_dir() and not tree.is_symlink():
        shutil.rmtree(tree)
    return {}


def _save_state(home: Path, state: dict) -> None:
    home.mkdir(parents=True, exist_ok=True)
    temporary = home / f".{_STATE}.tmp"
    temporary.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
    os.replace(temporary, home / _STATE)
