"""`reporter publish`: build the site and commit it to the gh-pages branch, as `mkdocs gh-deploy` does.

The git work is ghp-import's: it commits a folder to a branch without touching the working tree. A site
identical to the one on the branch makes no commit (ghp-import would add an empty one each time), so
the branch's history shows only what changed.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reporter.site.cache import forget_cache


class PublishError(Exception):
    """Why publishing cannot go on, in one line for the user."""


@dataclass(frozen=True)
class PublishResult:
    branch: str
    remote: str
    commit: str
    url: str | None
    changed: bool = True  # False: the branch already had this very site, no commit was made


def publish(build_site, repo: Path, remote: str = "origin", branch: str = "gh-pages", message: str | None = None,
            cname: str | None = None) -> PublishResult:
    """Check the repository and remote, build with `build_site(out_dir)`, commit the site to `branch`, push."""
    import ghp_import

    repo = Path(repo)
    top = _git(repo, "rev-parse", "--show-toplevel")
    if top is None:
        raise PublishError(f"{repo} is not in a git repository: publish from the checkout of the repository "
                           "whose GitHub Pages should show the site")
    remote_url = _git(repo, "remote", "get-url", remote)
    if remote_url is None:
        raise PublishError(f"the repository has no remote {remote!r} (add one with `git remote add {remote} URL` "
                           "or choose another with --remote)")
    head = _git(repo, "rev-parse", "--short", "HEAD")
    with tempfile.TemporaryDirectory(prefix="flowsheet-publish-") as folder:
        site = Path(folder) / "site"
        build_site(site)
        forget_cache(site)  # the build cache describes this build folder, not a published site
        text = message or (f"Publish runs with flowsheet from {head}" if head else "Publish runs with flowsheet")
        with _working_directory(Path(top)):  # ghp-import runs git in the current directory
            try:
                ghp_import.ghp_import(str(site), mesg=text, remote=remote, branch=branch, push=False,
                                      nojekyll=True, cname=cname)
                changed = _drop_if_unchanged(Path(top), branch)
                if changed or not _remote_has(Path(top), remote, branch):
                    subprocess.run(["git", "push", remote, branch], check=True)
            except ghp_import.GhpError as error:
                detail = " ".join(str(error.message).split())
                raise PublishError(f"pushing {branch} to {remote} failed: {detail}") from None
            except subprocess.CalledProcessError:  # git has printed why (rejected, no access, offline)
                raise PublishError(f"pushing {branch} to {remote} failed: the remote refused it (see git's "
                                   "message above); the commit is on your local branch "
                                   f"{branch}") from None
    commit = _git(Path(top), "rev-parse", branch) or ""
    return PublishResult(branch, remote, commit, pages_url(remote_url, cname), changed)


def _drop_if_unchanged(repo: Path, branch: str) -> bool:
    """Whether the commit just made on `branch` changes its files; when it does not, the branch goes back
    to the commit before (only if nothing moved it meanwhile) and the empty commit is left behind."""
    ref = f"refs/heads/{branch}"
    new = _git(repo, "rev-parse", "--verify", "-q", ref)
    parent = _git(repo, "rev-parse", "--verify", "-q", f"{ref}~1")
    if new is None or parent is None:
        return True  # the branch's first commit
    if _git(repo, "rev-parse", f"{new}^{{tree}}") != _git(repo, "rev-parse", f"{parent}^{{tree}}"):
        return True
    dropped = _git(repo, "update-ref", ref, parent, new) is not None
    return not dropped


def _remote_has(repo: Path, remote: str, branch: str) -> bool:
    """Whether the remote's branch, as last fetched or pushed, is the local one (nothing left to push)."""
    local = _git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{branch}")
    return local is not None and local == _git(repo, "rev-parse", "--verify", "-q", f"refs/remotes/{remote}/{branch}")


def pages_url(remote_url: str, cname: str | None = None) -> str | None:
    """Where GitHub Pages serves the branch: from the CNAME, or from a github.com remote; None otherwise."""
    if cname:
        return f"https://{cname.strip().strip('/')}/"
    match = re.match(r"^(?:https?://(?:[^@/]+@)?github\.com/|(?:ssh://)?git@github\.com[:/])([^/]+)/([^/]+?)(?:\.git)?/?$",
                     remote_url.strip())
    if not match:
        return None
    owner, name = match.groups()
    if name.lower() == f"{owner.lower()}.github.io":
        return f"https://{owner.lower()}.github.io/"
    return f"https://{owner.lower()}.github.io/{name}/"


def _git(repo: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    except OSError:
        raise PublishError("git is not installed or not on PATH") from None
    return done.stdout.strip() if done.returncode == 0 else None


@contextlib.contextmanager
def _working_directory(path: Path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)
