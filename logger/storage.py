"""Logging to object storage: write to a local staging folder, upload what is written as new objects.

`set_log_dir("s3://bucket/runs")` (or FLOWSHEET_DIR, or any fsspec URL) makes the log directory a
staging folder in the cache ($FLOWSHEET_CACHE_DIR/staging/<hash of the URL>); the logger writes there
as to any folder, each process to its own run segment. An `Uploader` sends the new whole lines of each
log file as a NEW object, a piece named after the file and the byte offset it starts at
(`run@<writer>.<offset>.jsonl`, `experiment@<uploader>.<offset>.jsonl`): objects are never rewritten.
Its own thread makes a pass every UPLOAD_INTERVAL seconds and at once when asked: when an artifact is
logged, at `flush()` and when a run ends (these two wait UPLOAD_WAIT seconds at most: a storage that
does not answer never holds up training). At exit a short child process sends what is left (an
exiting Python has stopped the thread pools the storage client needs).

Exactly once: a piece is cut and recorded in the staging folder's state before it is sent, and it
is sent again, the same name and the same bytes, until the storage takes it; only then do the next
bytes make a new piece. A failure keeps the bytes (a warning says so) for the next try; a process
that exits before the storage is back leaves them in the staging folder, and the next process logging
to the same URL sends them. Uploads of one staging folder are serialized by a lock on a local file.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import os
import sys
import threading
import time
import warnings
from pathlib import Path

from .format import ARTIFACTS_DIR, EXPERIMENT_FILE, LOG_SUFFIX, RUN_FILE, SEGMENT_MARK
from .segments import is_segment, writer_id

UPLOAD_INTERVAL = 5.0  # seconds between background uploads
# flush() and a run's end wait this long for the uploader's thread, then return: a storage that does not
# answer must not hold up training. What is not sent yet stays staged and goes at the next pass or at exit.
UPLOAD_WAIT = 10.0
PIECE_BYTES = 64 << 20  # at most this much a piece (cut at a line's end): a long outage's backlog goes up in parts
EXIT_UPLOAD_SECONDS = 60.0  # at exit, the last upload may take this long before the bytes are left staged
_STATE = ".upload-state.json"
_LOCK = ".upload.lock"


class UploadDelayed(UserWarning):
    """Logged events or artifacts could not be uploaded yet; they are kept and sent at the next try."""


def staging_for(url: str) -> Path:
    """The local folder a URL's logs are written to before upload; its uploader is started with it."""
    from .mirror import cache_home

    url = url.rstrip("/")
    folder = cache_home() / "staging" / hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
    with _registry_lock:
        if folder not in _uploaders:
            folder.mkdir(parents=True, exist_ok=True)
            uploader = Uploader(url, folder)
            # The filesystem now, not at the first upload: a missing package is said here, and its
            # import registers exit hooks, which can no longer be done from the upload at exit.
            uploader._filesystem()
            _uploaders[folder] = uploader
    _uploaders[folder].ensure_thread()
    return folder


def piece_name(name: str, start: int, uploader: str) -> str:
    """The object name of the bytes of local log file `name` from offset `start`."""
    stem = name[: -len(LOG_SUFFIX)]
    if not is_segment(name):  # run.jsonl or experiment.jsonl: shared files get the uploader's name
        stem = f"{stem}{SEGMENT_MARK}{uploader}"
    return f"{stem}.{start:012d}{LOG_SUFFIX}"


class Uploader:
    def __init__(self, url: str, staging: Path):
        self.url, self.staging = url, staging
        self._fs = None
        self.failure: str | None = None  # the last error, until an upload pass succeeds
        self._fresh_locks()

    def _fresh_locks(self) -> None:
        """New locks and no thread: at creation, and in a forked child (whose copies may be held by a parent
        thread that does not exist there)."""
        self._lock = threading.Lock()
        self._last = 0.0
        self._wake = threading.Event()
        self._passes = threading.Condition()
        self._started = self._done = 0  # passes of the uploader's thread begun and ended
        self._thread_pid: int | None = None

    def ensure_thread(self) -> None:
        with self._passes:
            if self._thread_pid != os.getpid():
                self._thread_pid = os.getpid()
                threading.Thread(target=self.keep_uploading, name="flowsheet-uploader", daemon=True).start()

    def request(self, wait: float = 0.0) -> bool:
        """Ask the uploader's thread for a pass now, and wait up to `wait` seconds for one that begins after
        this call; True when such a pass ended without error. Never uploads in the caller's thread."""
        self.ensure_thread()
        with self._passes:
            wanted = self._started + 1
            self._wake.set()
            if wait <= 0:
                return False
            ended = self._passes.wait_for(lambda: self._done >= wanted, timeout=wait)
        if ended and self.failure is None:
            return True
        said = f"({self.failure})" if ended else f"(no answer within {wait:g} s)"
        warnings.warn(UploadDelayed(f"flowsheet could not upload to {self.url} yet {said}; the events and "
                                    f"artifacts are kept in {self.staging} and sent in the background"),
                      stacklevel=4)
        return False

    def upload(self, background: bool = False, quiet: bool = False) -> bool:
        """One pass: every log file's new whole lines and every new or changed artifact. True when all
        went up; never raises for the storage's errors (they are kept in `failure` and warned about)."""
        if background and time.monotonic() - self._last < UPLOAD_INTERVAL:
            return True
        if not self.staging.is_dir():
            return True  # removed with all it held: nothing is left to send
        if not self._lock.acquire(blocking=not background):
            return True
        try:
            self._last = time.monotonic()
            with _FileLock(self.staging / _LOCK):
                state = _load(self.staging / _STATE)
                try:
                    self._pass(state)
                finally:
                    _save(self.staging / _STATE, state)
            if self.failure is not None:
                self.failure = None
            return True
        except Exception as error:  # the storage's errors come in many classes (botocore, aiohttp, OSError)
            first = self.failure is None
            self.failure = f"{type(error).__name__}: {error}"
            if first and not background and not quiet:
                warnings.warn(UploadDelayed(f"flowsheet could not upload to {self.url} ({self.failure}); the events "
                                            f"and artifacts are kept in {self.staging} and sent at the next try"),
                              stacklevel=3)
            return False
        finally:
            self._lock.release()

    def keep_uploading(self) -> None:
        """The uploader's own thread (not the writer's flusher: a slow network must never hold up the
        local writes, which the format promises on disk within a second): a pass every UPLOAD_INTERVAL
        seconds, or at once when asked (`request`)."""
        while not _exiting.is_set():
            asked = self._wake.wait(UPLOAD_INTERVAL)
            with self._passes:
                self._wake.clear()
                self._started += 1
                number = self._started
            try:
                self.upload(background=not asked, quiet=True)
            finally:
                with self._passes:
                    self._done = number
                    self._passes.notify_all()

    def _filesystem(self):
        if self._fs is None:
            from .mirror import open_filesystem

            self._fs, self._root = open_filesystem(self.url)
        return self._fs

    def _pass(self, state: dict) -> None:
        logs, artifacts = _walk(self.staging)
        pieces, sent = state.setdefault("pieces", {}), state.setdefault("sent", {})
        for rel in logs:
            entry = pieces.setdefault(rel, {"done": 0, "piece": None})
            while True:
                if entry["piece"] is None and not self._cut(rel, entry, state):
                    break
                name, start, end = entry["piece"]
                with open(self.staging / rel, "rb") as file:
                    file.seek(start)
                    data = file.read(end - start)
                folder = rel.rpartition("/")[0]
                self._put_bytes(f"{folder}/{name}" if folder else name, data)
                entry["done"], entry["piece"] = end, None
        for rel in artifacts:
            info = os.stat(self.staging / rel)
            seen = [info.st_size, info.st_mtime_ns]
            if sent.get(rel) != seen:
                self._filesystem().put_file(str(self.staging / rel), self._remote(rel))
                sent[rel] = seen

    def _cut(self, rel: str, entry: dict, state: dict) -> bool:
        """Record the next piece of `rel` (its new whole lines), before sending it; False when none."""
        with open(self.staging / rel, "rb") as file:
            file.seek(entry["done"])
            data = file.read(PIECE_BYTES)
            end = data.rfind(b"\n") + 1
            if end == 0 and len(data) == PIECE_BYTES:  # one line longer than a piece: it goes up whole
                newline = file.read().find(b"\n")
                end = len(data) + newline + 1 if newline >= 0 else 0
        if end == 0:
            return False
        name = piece_name(rel.rpartition("/")[2], entry["done"], writer_id())
        entry["piece"] = [name, entry["done"], entry["done"] + end]
        _save(self.staging / _STATE, state)
        return True

    def _remote(self, rel: str) -> str:
        self._filesystem()
        return f"{self._root}/{rel}" if self._root else rel

    def _put_bytes(self, rel: str, data: bytes) -> None:
        self._filesystem().pipe_file(self._remote(rel), data)

    def pending(self) -> int:
        """Bytes of logs written but not uploaded yet."""
        state = _load(self.staging / _STATE).get("pieces", {})
        logs, _ = _walk(self.staging)
        try:
            return sum(os.path.getsize(self.staging / rel) - state.get(rel, {}).get("done", 0) for rel in logs)
        except OSError:
            return 0


def _walk(staging: Path) -> tuple[list[str], list[str]]:
    """The staging folder's log files and artifact files, as paths relative to it."""
    logs, artifacts = [], []
    for folder, dirs, files in os.walk(staging):
        dirs.sort()
        rel_folder = os.path.relpath(folder, staging).replace(os.sep, "/")
        rel_folder = "" if rel_folder == "." else rel_folder + "/"
        in_artifacts = f"/{ARTIFACTS_DIR}/" in f"/{rel_folder}"
        for name in sorted(files):
            if name.startswith("."):
                continue  # the state, the lock, an artifact being written
            if in_artifacts:
                artifacts.append(rel_folder + name)
            elif name in (RUN_FILE, EXPERIMENT_FILE) or is_segment(name):
                logs.append(rel_folder + name)
    return logs, artifacts


def upload_for(folder: Path, wait: float = 0.0) -> None:
    """Have what a run in `folder` (inside a staging folder) wrote uploaded now: when it logs an artifact
    (no wait), flushes or ends (`wait` seconds at most)."""
    if not _uploaders or _exiting.is_set():
        return  # at exit the storage client cannot run here any more: _at_exit sends it all
    for staging, uploader in list(_uploaders.items()):
        if folder.is_relative_to(staging):
            uploader.request(wait)


def upload_all(wait: float | None = None) -> None:
    if _exiting.is_set():
        return
    for uploader in list(_uploaders.values()):
        uploader.request(UPLOAD_WAIT if wait is None else wait)


def _after_fork_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()
    for uploader in list(_uploaders.values()):
        uploader._fresh_locks()


def _copies_home(staging: Path) -> Path:
    """Where runs' pieces fetched to resume them lie: beside the staging folders, never inside one (what lies
    in a staging folder is uploaded)."""
    return staging.parent.parent / "resumed" / staging.name


def run_copy(folder: Path) -> Path | None:
    """The local copy `fetch_run` made of the pieces of the run whose staging folder is `folder`, or None."""
    for staging in list(_uploaders):
        if folder.is_relative_to(staging):
            copy = _copies_home(staging) / folder.relative_to(staging)
            return copy if copy.is_dir() else None
    return None


def fetch_run(staging: Path, run_id: str) -> Path | None:
    """Resuming run `run_id` on a machine whose staging folder does not have it (a job resumed on another
    node): copy the run's log pieces from the storage (every writer's) next to the staging folder, where
    resuming reads them (`run_copy`) and nothing uploads them again, and make the run's folder in the
    staging folder for this process's own segment. Returns that folder, or None when the storage has no
    such run. Raises OSError (or the storage client's error) when the storage cannot be read."""
    from .mirror import refused
    from .segments import is_run_file

    uploader = _uploaders.get(staging)
    if uploader is None:
        return None
    fs = uploader._filesystem()
    fs.invalidate_cache()  # other machines wrote since this process last listed
    root = uploader._root
    for experiment in sorted(fs.ls(root, detail=False) if root else fs.ls("", detail=False)):
        name = experiment.rstrip("/").rpartition("/")[2]
        try:
            listed = fs.ls(f"{experiment.rstrip('/')}/{run_id}", detail=True)
        except FileNotFoundError:
            continue
        pieces = [entry["name"] for entry in listed if entry.get("type") == "file"
                  and is_run_file(entry["name"].rpartition("/")[2])]
        if not pieces or refused(name) is not None:
            continue
        copy = _copies_home(staging) / name / run_id
        if copy.is_dir():
            for old in copy.iterdir():
                old.unlink()
        copy.mkdir(parents=True, exist_ok=True)
        for key in pieces:
            (copy / key.rpartition("/")[2]).write_bytes(fs.cat_file(key))
        folder = staging / name / run_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return None


def is_staged(folder: Path) -> bool:
    """Whether `folder` lies in a staging folder: its runs are written as segments, whatever the mode."""
    return bool(_uploaders) and any(folder.is_relative_to(staging) for staging in list(_uploaders))


def _at_exit() -> None:
    """After the fluent API ended the open runs: send what is left. Python has already stopped the thread
    pools a storage client needs (aiohttp resolves names in one), so a short child process sends it."""
    for uploader in list(_uploaders.values()):
        if not uploader.pending() and not _unsent_artifacts(uploader.staging):
            continue
        package = Path(__file__).resolve().parent
        code = (f"import sys; sys.path.insert(0, {str(package.parent)!r}); "
                f"from {package.name}.storage import Uploader; from pathlib import Path; "
                "sys.exit(0 if Uploader(sys.argv[1], Path(sys.argv[2])).upload(quiet=True) else 1)")
        import subprocess

        try:
            sent = subprocess.run([sys.executable, "-c", code, uploader.url, str(uploader.staging)],
                                  timeout=EXIT_UPLOAD_SECONDS, stdin=subprocess.DEVNULL).returncode == 0
        except (OSError, subprocess.SubprocessError):
            sent = False
        if not sent:
            print(f"flowsheet: {uploader.pending()} bytes of logs were not uploaded to {uploader.url} yet; they "
                  f"are kept in {uploader.staging} and sent by the next process that logs to the same URL "
                  "(or runs `import logger; logger.set_log_dir(URL); logger.flush()`)", file=sys.stderr)


def _unsent_artifacts(staging: Path) -> bool:
    sent = _load(staging / _STATE).get("sent", {})
    _, artifacts = _walk(staging)
    for rel in artifacts:
        try:
            info = os.stat(staging / rel)
        except OSError:
            continue
        if sent.get(rel) != [info.st_size, info.st_mtime_ns]:
            return True
    return False


class _FileLock:
    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _load(path: Path) -> dict:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        return state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        return {}


def _save(path: Path, state: dict) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)


_uploaders: dict[Path, Uploader] = {}
_registry_lock = threading.Lock()
_exiting = threading.Event()  # set when Python starts exiting, before any atexit hook
atexit.register(_at_exit)  # at import, before the fluent API's hook that ends open runs: so it runs after it
getattr(threading, "_register_atexit", lambda hook: None)(_exiting.set)
os.register_at_fork(after_in_child=_after_fork_in_child)
