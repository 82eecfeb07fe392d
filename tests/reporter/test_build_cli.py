"""`reporter build` on the command line: one-line errors, exit codes, the closing summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from site_logs import write_site_logs

from reporter.cli import main

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["build", *args], env={"FLOWSHEET_DIR": None, "SOURCE_DATE_EPOCH": None,
                                                           **(env or {})})


def test_build_prints_a_summary_with_the_index_path(tmp_path):
    logs = write_site_logs(tmp_path / "logs")
    result = invoke(str(logs), "-o", str(tmp_path / "site"), "--title", "My <lab>")
    assert result.exit_code == 0, result.output
    assert "2 experiment(s), 5 run(s); 9 page(s) written" in result.output
    assert f"Open {(tmp_path / 'site' / 'index.html').as_uri()}" in result.output
    assert "<title>My &lt;lab&gt;</title>" in (tmp_path / "site/index.html").read_text()
    assert "Build cache: full build (no build cache)" in result.output


def test_a_second_build_says_what_it_kept(tmp_path):
    logs = write_site_logs(tmp_path / "logs")
    assert invoke(str(logs), "-o", str(tmp_path / "site"), "--jobs", "2").exit_code == 0
    again = invoke(str(logs), "-o", str(tmp_path / "site"), "--jobs", "1")
    assert again.exit_code == 0, again.output
    assert "0 page(s) written" in again.output
    assert "Build cache: incremental: 8 of 8 parts of the site unchanged, 0 made again" in again.output
    assert invoke(str(logs), "-o", str(tmp_path / "other"), "--jobs", "0").exit_code == 2


def test_quiet_prints_nothing(tmp_path):
    logs = write_site_logs(tmp_path / "logs")
    result = invoke(str(logs), "-o", str(tmp_path / "site"), "--quiet")
    assert result.exit_code == 0 and result.output == ""


def test_log_dir_from_the_environment(tmp_path):
    logs = write_site_logs(tmp_path / "logs")
    result = invoke("-o", str(tmp_path / "site"), env={"FLOWSHEET_DIR": str(logs)})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "site/index.html").is_file()


def test_missing_log_dir_is_one_line_without_traceback(tmp_path):
    result = invoke(str(tmp_path / "absent"), "-o", str(tmp_path / "site"))
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "log directory" in result.output and "does not exist" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "site").exists()


def test_foreign_out_dir_is_refused(tmp_path):
    logs = write_site_logs(tmp_path / "logs")
    out = tmp_path / "docs"
    out.mkdir()
    (out / "index.md").write_text("mine")
    result = invoke(str(logs), "-o", str(out))
    assert result.exit_code == 1
    assert "not made by `reporter build`" in result.output and "--force" in result.output
    assert [p.name for p in out.iterdir()] == ["index.md"]
    assert invoke(str(logs), "-o", str(out), "--force", "-q").exit_code == 0


def test_broken_template_is_one_line(tmp_path):
    logs = write_site_logs(tmp_path / "logs")
    templates = tmp_path / "t"
    templates.mkdir()
    (templates / "index.html").write_text("{% block content %}{{ broken( }}{% endblock %}")
    result = invoke(str(logs), "-o", str(tmp_path / "site"), "--templates", str(templates))
    assert result.exit_code == 1
    assert result.output.startswith("reporter build: template error") and "Traceback" not in result.output


def test_python_dash_m_reporter_build(tmp_path):
    logs = write_site_logs(tmp_path / "logs")
    done = subprocess.run([sys.executable, "-m", "reporter", "build", str(logs), "-o", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "index.html" in done.stdout
    assert "[" not in done.stderr  # no progress bar when stderr is not a terminal


def test_reader_problems_warn_and_strict_fails(tmp_path):
    logs = write_site_logs(tmp_path / "logs")
    with open(logs / "mnist-1c2d3e4f" / ("e" * 32) / "run.jsonl", "a") as handle:
        handle.write("this is not json\n")
    result = invoke(str(logs), "-o", str(tmp_path / "site"))
    assert result.exit_code == 0
    assert "warning: mnist-1c2d3e4f/" in result.output and "1 problem(s)" in result.output
    strict = invoke(str(logs), "-o", str(tmp_path / "strict"), "--strict")
    assert strict.exit_code == 1
    assert "--strict" in strict.output and "Traceback" not in strict.output
    assert not (tmp_path / "strict" / "index.html").exists()
