"""`reporter publish` against a local bare repository standing in for GitHub."""

import subprocess

import pytest
from click.testing import CliRunner

import logger

from reporter.cli import main
from reporter.commands.publish import run_publish
from reporter.site.cache import CACHE_NAME
from reporter.site.publish import pages_url
from reporter.site.size import SizeLimits


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A checkout with an `origin` (a bare repository) and a folder of runs, as the working directory."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    git(work, "remote", "add", "origin", str(remote))
    (work / "train.py").write_text("print('train')\n")
    git(work, "add", "train.py")
    git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    logger.set_log_dir(work / "runs")
    with logger.start_run(run_name="published-run"):
        logger.log_metric("loss", 0.5)
    logger.set_log_dir(None)
    monkeypatch.chdir(work)
    for name, value in (("GIT_AUTHOR_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@t"), ("GIT_COMMITTER_NAME", "t"),
                        ("GIT_COMMITTER_EMAIL", "t@t")):
        monkeypatch.setenv(name, value)
    return work, remote


def test_publish_pushes_the_site_to_gh_pages(project):
    work, remote = project
    result = CliRunner().invoke(main, ["publish", "runs", "--message", "first publish"])
    assert result.exit_code == 0, result.output
    assert "Published to origin/gh-pages" in result.output
    files = git(remote, "ls-tree", "-r", "--name-only", "gh-pages").splitlines()
    assert "index.html" in files and ".nojekyll" in files
    assert CACHE_NAME not in files  # the build cache describes the build folder, not the published site
    assert any(f.startswith("runs/") and f.endswith("/index.html") for f in files)
    assert "published-run" in git(remote, "show", "gh-pages:index.html")
    assert git(remote, "log", "-1", "--format=%s", "gh-pages") == "first publish"
    assert git(work, "status", "--porcelain") == "?? runs/"  # the working tree is left alone
    assert git(work, "rev-parse", "--abbrev-ref", "HEAD") == "main"


def test_a_site_past_the_limits_is_published_with_the_size_warnings(project, capsys):
    work, remote = project
    tiny = SizeLimits(site_bytes=1000, file_bytes=100_000)  # the Vega bundle alone passes both
    assert run_publish("runs", remote="origin", branch="gh-pages", message=None, cname=None, limits=tiny) == 0
    err = capsys.readouterr().err
    assert "warning: site-too-big: " in err and "warning: file-too-big: " in err
    assert "static/vega-bundle.js: " in err
    assert "index.html" in git(remote, "ls-tree", "-r", "--name-only", "gh-pages").splitlines()
    assert run_publish("runs", remote="origin", branch="gh-pages", message=None, cname=None, limits=tiny,
                       quiet=True) == 0
    assert "warning" not in capsys.readouterr().err


def test_publishing_again_adds_a_commit(project):
    work, remote = project
    assert CliRunner().invoke(main, ["publish", "runs"]).exit_code == 0
    logger.set_log_dir(work / "runs")
    with logger.start_run(run_name="second-run"):
        pass
    logger.set_log_dir(None)
    result = CliRunner().invoke(main, ["publish", "runs", "--cname", "runs.example.org"])
    assert result.exit_code == 0, result.output
    assert "https://runs.example.org/" in result.output
    assert git(remote, "rev-list", "--count", "gh-pages") == "2"
    assert git(remote, "show", "gh-pages:CNAME").strip() == "runs.example.org"
    assert "second-run" in git(remote, "show", "gh-pages:index.html")


def test_publishing_unchanged_logs_again_adds_no_commit_and_says_so(project):
    work, remote = project
    first = CliRunner().invoke(main, ["publish", "runs"])
    assert first.exit_code == 0, first.output
    tip = git(remote, "rev-parse", "gh-pages")
    (work / "notes.txt").write_text("a new commit on main, the logs unchanged\n")
    git(work, "add", "notes.txt")
    git(work, "commit", "-q", "-m", "notes")
    again = CliRunner().invoke(main, ["publish", "runs"])
    assert again.exit_code == 0, again.output
    assert "Nothing to publish" in again.output and "no commit made" in again.output
    assert "Published to" not in again.output
    assert git(remote, "rev-parse", "gh-pages") == tip
    assert git(remote, "rev-list", "--count", "gh-pages") == "1"
    assert git(work, "rev-parse", "gh-pages") == tip  # the local branch too: no empty commit left on it
    # A change is still published, on top of the first commit.
    quiet = CliRunner().invoke(main, ["publish", "runs", "--cname", "runs.example.org", "--quiet"])
    assert quiet.exit_code == 0 and quiet.output == ""
    assert git(remote, "rev-list", "--count", "gh-pages") == "2"
    assert git(remote, "rev-parse", "gh-pages~1") == tip


def test_outside_a_git_repository(tmp_path, monkeypatch):
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    result = CliRunner().invoke(main, ["publish", "runs"])
    assert result.exit_code == 1
    assert "not in a git repository" in result.output
    assert "Traceback" not in result.output


def test_missing_remote(project):
    result = CliRunner().invoke(main, ["publish", "runs", "--remote", "upstream"])
    assert result.exit_code == 1
    assert "no remote 'upstream'" in result.output


def test_refused_push(project):
    work, remote = project
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    result = CliRunner().invoke(main, ["publish", "runs"])
    assert result.exit_code == 1
    assert "pushing gh-pages to origin failed" in result.output
    assert "Traceback" not in result.output


def test_missing_log_dir_publishes_nothing(project):
    work, remote = project
    result = CliRunner().invoke(main, ["publish", "nope"])
    assert result.exit_code == 1
    assert "nothing was published" in result.output
    with pytest.raises(subprocess.CalledProcessError):
        git(remote, "rev-parse", "gh-pages")


@pytest.mark.parametrize("remote, url", [
    ("https://github.com/ana/churn.git", "https://ana.github.io/churn/"),
    ("git@github.com:Ana/churn.git", "https://ana.github.io/churn/"),
    ("ssh://git@github.com/ana/churn", "https://ana.github.io/churn/"),
    ("https://token@github.com/ana/ana.github.io.git", "https://ana.github.io/"),
    ("/srv/git/churn.git", None),
    ("https://gitlab.com/ana/churn.git", None),
])
def test_pages_url_from_the_remote(remote, url):
    assert pages_url(remote) == url
    assert pages_url(remote, cname="docs.example.org") == "https://docs.example.org/"
