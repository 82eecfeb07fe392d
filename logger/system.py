"""What every run records without being asked: who, where, which code."""

from __future__ import annotations

import functools
import getpass
import os
import platform
import shlex
import socket
import subprocess
import sys


def system_info() -> dict:
    info = {
        "user": _user(),
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "platform": sys.platform,
        "command": shlex.join(sys.argv) if sys.argv and sys.argv[0] else "python",
        "entry_point": sys.argv[0] if sys.argv and sys.argv[0] else None,
        "pid": os.getpid(),
    }
    info.update(git_info(_code_dir()))
    return {key: value for key, value in info.items() if value is not None}


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return None


def _code_dir() -> str:
    script = sys.argv[0] if sys.argv else ""
    if script and os.path.isfile(script):
        return os.path.dirname(os.path.abspath(script))
    return os.getcwd()


@functools.lru_cache(maxsize=8)
def git_info(directory: str) -> dict:
    """Commit, branch and dirty flag of the checkout holding `directory`; empty outside git.

    Cached per process: a script's checkout does not change while it runs, and git costs milliseconds.
    """

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return {}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "git_commit": commit,
        "git_branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
    }
