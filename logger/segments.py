"""A run written by several writers at once: one segment file per writer, merged by the reader.

docs/FORMAT.md ("Segments") has the rules. A writer in segment mode appends to its own
`run@<writer>.jsonl` in the run's folder, so no two processes share a file and nothing needs a lock
that NFS may not honour; the reader merges the run's files by time (logger/segment_merge.py).
This module names the files and decides when a process writes segments; it imports no parser, so
`import logger` stays cheap.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from pathlib import Path

from .format import EXPERIMENT_FILE, EXPERIMENT_SEGMENT_PATTERN, RUN_FILE, SEGMENT_PATTERN, SEGMENT_PREFIX

ENV_SEGMENTS = "FLOWSHEET_SEGMENTS"  # "1": write segments; "0": one run.jsonl; unset: decide (below)
# Set by distributed launchers: torchrun / torch.distributed, Slurm, Open MPI, MPICH / Intel MPI.
_RANK_VARIABLES = (("RANK", "WORLD_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS"),
                   ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE"))
_IS_SEGMENT = re.compile(SEGMENT_PATTERN).fullmatch
_IS_EXPERIMENT_SEGMENT = re.compile(EXPERIMENT_SEGMENT_PATTERN).fullmatch
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")

_chosen: bool | None = None  # set_log_dir(segments=...), or object storage asking for them


# ---------------------------------------------------------------- names


def is_segment(name: str) -> bool:
    """Whether a file name is a run segment's (a name, not a path)."""
    return _IS_SEGMENT(name) is not None


def is_experiment_segment(name: str) -> bool:
    return _IS_EXPERIMENT_SEGMENT(name) is not None


def is_run_file(name: str) -> bool:
    return name == RUN_FILE or is_segment(name)


def order_key(name: str) -> str:
    """Where a run (or experiment) file ranks when two events have the same time: run.jsonl (experiment.jsonl)
    first, then segments by name."""
    return "" if name in (RUN_FILE, EXPERIMENT_FILE) else name


def run_file_names(folder: Path) -> list[str]:
    """The run's files in `folder` (regular files only, never through a link), in merge order."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    names = [entry.name for entry in entries if is_run_file(entry.name) and entry.is_file(follow_symlinks=False)]
    return sorted(names, key=order_key)


def is_run_folder(folder: Path) -> bool:
    return bool(run_file_names(folder))


# ---------------------------------------------------------------- which file a writer appends to


def choose(segments: bool | None) -> None:
    """set_log_dir(segments=...): True or False decides for this process; None goes back to the default."""
    global _chosen
    _chosen = segments


def distributed_rank() -> str | None:
    """This process's rank when a launcher started several (world size above 1), else None."""
    for rank, size in _RANK_VARIABLES:
        try:
            if int(os.environ.get(size, "1")) > 1 and os.environ.get(rank, "").isdigit():
                return os.environ[rank]
        except ValueError:
            continue
    return None


def writing_segments() -> bool:
    """$FLOWSHEET_SEGMENTS first, then set_log_dir(segments=), then a distributed launcher's rank variables."""
    said = os.environ.get(ENV_SEGMENTS, "").strip().lower()
    if said in ("1", "true", "yes", "on"):
        return True
    if said in ("0", "false", "no", "off"):
        return False
    if _chosen is not None:
        return _chosen
    return distributed_rank() is not None


def writer_id() -> str:
    """This process's name among a run's writers: rank (when known), host, pid and a random token, in
    file-name-safe letters. The token tells apart processes that host and pid do not: containers that all
    run as pid 1 under one host name, or hosts whose short names are the same."""
    host = _UNSAFE.sub("_", socket.gethostname().split(".")[0]) or "host"
    rank = distributed_rank()
    return f"{'rank' + rank + '-' if rank is not None else ''}{host[:60]}-{os.getpid()}-{_token}"


def _new_token() -> None:
    global _token
    _token = secrets.token_hex(3)


_token = secrets.token_hex(3)
os.register_at_fork(after_in_child=_new_token)  # a forked child is another writer


def segment_file(writer: str | None = None) -> str:
    return f"{SEGMENT_PREFIX}{writer or writer_id()}.jsonl"


def file_for_writing() -> str:
    """The name of the file this process appends a run's events to."""
    return segment_file() if writing_segments() else RUN_FILE
