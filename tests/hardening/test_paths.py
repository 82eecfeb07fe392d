"""Artifact paths that try to leave the run, and symlinks that try to leave the log directory.

tests/logger/test_artifacts.py has the basic refusals ('..', absolute, drive paths, a symlinked
sub-folder); here every writing method meets a wider set, with the whole tree checked for stray files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hardening.knobs import EXAMPLES, settings
from hypothesis import given
from hypothesis import strategies as st
from ondisk import events_of

import logger
from logger import artifacts
from logger.reader import read_logs

from reporter.config import BuildConfig
from reporter.site.build import build

ESCAPES = ["..", "../x", "a/../../x", "a/b/../../../x", "..\\x", "a\\..\\..\\x", "sub/..\\..\\x", "/x", "/etc/passwd",
           "\\x", "\\\\server\\share\\x", "\\\\?\\C:\\x", "C:x", "C:\\x", "c:/x", "Z:", "x\x00y", "./../x"]
NO_FILE = ["", ".", "./", "a/..", "a/b/../.."]


def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "source" / "report.txt"
    path.parent.mkdir()
    path.write_text("report")
    return path


def every_writer(run, source, path):
    """Each way of writing an artifact, given one user-chosen path."""
    return [lambda: run.log_artifact(source, artifact_path=path), lambda: run.log_artifacts(source.parent, path),
            lambda: run.log_text("x", path), lambda: run.log_dict({"a": 1}, path),
            lambda: run.log_text("x", f"{path}/f.txt"), lambda: run.get_artifact_uri(path)]


@pytest.mark.parametrize("path", ESCAPES)
def test_escaping_paths_are_refused_by_every_method_with_nothing_written(log_dir, tmp_path, source, path):
    run = logger.create_run()
    run.flush()
    before = tree(tmp_path)
    for call in every_writer(run, source, path):
        with pytest.raises(ValueError):
            call()
    run.flush()
    assert tree(tmp_path) == before
    assert events_of(log_dir, run.info.run_id, "artifact") == []


@pytest.mark.parametrize("path", NO_FILE)
def test_a_file_argument_must_name_a_file(log_dir, tmp_path, path):
    run = logger.create_run()
    before = tree(tmp_path)
    for call in (lambda: run.log_text("x", path), lambda: run.log_dict({}, path)):
        with pytest.raises(ValueError, match="names no file|leaves"):
            call()
    assert tree(tmp_path) == before


@given(parts=st.lists(st.sampled_from(["..", ".", "a", "b", "", "C:", "\\", "/", "..\\.."]), min_size=1, max_size=6))
@settings(EXAMPLES)
def test_any_accepted_path_stays_inside_the_artifacts_folder(tmp_path_factory, parts):
    root = tmp_path_factory.mktemp("run") / "artifacts"
    root.mkdir()
    text = "/".join(parts)
    try:
        relative = artifacts.safe_relative(text)
        target = artifacts.destination(root, relative)
    except ValueError:
        return
    assert root.resolve() in (target.resolve(), *target.resolve().parents)
    assert ".." not in relative.split("/") and not relative.startswith("/")


def test_symlinked_files_and_folders_inside_artifacts_cannot_lead_out(log_dir, tmp_path, source):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    run = logger.create_run()
    os.symlink(outside / "secret.txt", run.artifact_dir / "link.txt")
    os.symlink(outside, run.artifact_dir / "dir")
    for call in (lambda: run.log_text("overwrite", "link.txt"), lambda: run.log_text("x", "dir/new.txt"),
                 lambda: run.log_artifact(source, "dir"), lambda: run.log_dict({}, "dir/sub/x.json")):
        with pytest.raises(ValueError, match="outside"):
            call()
    assert (outside / "secret.txt").read_text() == "secret" and tree(outside) == ["secret.txt"]


def test_an_artifacts_folder_replaced_by_a_symlink_is_refused(log_dir, tmp_path, source):
    outside = tmp_path / "outside"
    outside.mkdir()
    run = logger.create_run()
    shutil.rmtree(run.artifact_dir)
    os.symlink(outside, run.artifact_dir)
    for call in (lambda: run.log_text("x", "leak.txt"), lambda: run.log_artifact(source)):
        with pytest.raises(ValueError, match="link"):
            call()
    assert tree(outside) == []


def test_the_site_copies_a_symlinked_artifact_only_if_it_stays_in_the_log_dir(log_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside secret")
    with logger.start_run() as other:
        logger.log_text("shared inside", "shared.txt")
    with logger.start_run() as run:
        logger.log_text("own", "own.txt")
    links = {"to-outside.txt": outside / "secret.txt", "outside-dir": outside,
             "to-other-run.txt": other.artifact_dir / "shared.txt", "relative-out.txt": Path("../../../../outside/secret.txt"),
             "loop": run.artifact_dir / "loop", "dangling.txt": tmp_path / "missing.txt", "self-dir": run.artifact_dir}
    for name, target in links.items():
        os.symlink(target, run.artifact_dir / name)
    listed = [a.path for a in read_logs(log_dir).runs[run.info.run_id].artifacts]
    # A folder linked to itself is inside the log dir: listed once, not followed forever.
    inside = ["own.txt", "self-dir/own.txt", "self-dir/to-other-run.txt", "to-other-run.txt"]
    assert listed == inside
    site = tmp_path / "site"
    build(BuildConfig.from_options(log_dir, site, environ={}))
    copied = tree(site / "runs" / run.info.run_id / "artifacts")
    files = [p for p in copied if "." in p.rpartition("/")[2]]
    # The site checks again with the same rule when it copies: only what resolves inside the log directory.
    assert set(files) <= set(inside) and {"own.txt", "self-dir/own.txt"} <= set(files)
    for page in site.rglob("*"):
        if page.is_file():
            assert b"outside secret" not in page.read_bytes(), page
