"""The single-file export is self-contained: every link leads to a part of the file (or off the web on
purpose, from a note), and making it writes nothing but the file (no temporary site)."""

from __future__ import annotations

import tempfile

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from helpers import ROOT
from logwriting import end, metric, param, tag, write_experiment, write_run

from reporter.cli import main

NOTE_LINKS = "[site](https://example.org/x) [mail](mailto:a@example.org) [page](other.html) [up](../../index.html) " \
             "[anchor](#nowhere) ![pic](pic.png)"


def _logs_with_links(root):
    exp = write_experiment(root, "notes", "notes-00000001")
    (exp / "notes.md").write_text(f"# Notes\n\n{NOTE_LINKS}\n", encoding="utf-8")
    for n, run_id in enumerate(["a" * 32, "b" * 32]):
        write_run(exp, run_id, [param("lr", 0.1 * (n + 1)), metric("loss", 1.0, 0), metric("loss", 0.5 - n / 10, 1),
                                tag("mlflow.note.content", NOTE_LINKS), end()], name=f"run-{n}")
    return root


def _export(args, out):
    result = CliRunner().invoke(main, ["export", *args, "-o", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def assert_links_stay_in_file(html: str) -> None:
    page = BeautifulSoup(html, "html.parser")
    ids = {element["id"] for element in page.find_all(id=True)}
    bad = []
    for element in page.find_all(href=True):
        href = element["href"]
        if href.startswith("#"):
            if href[1:] not in ids:
                bad.append(href)
        elif not href.startswith(("data:", "mailto:", "http:", "https:")):
            bad.append(href)
    for element in page.find_all(src=True):  # images inlined or left out: a path would load a file beside it
        if not element["src"].startswith("data:"):
            bad.append(element["src"])
    assert bad == []


@pytest.mark.parametrize("selection", [["--experiment", "houses"], []])
def test_every_link_of_the_sample_export_leads_into_the_file(tmp_path, selection):
    assert_links_stay_in_file(_export([str(ROOT / "sample_runs"), *selection], tmp_path / "report.html"))


def test_links_of_notes_are_kept_only_when_they_leave_on_purpose(tmp_path):
    html = _export([str(_logs_with_links(tmp_path / "logs"))], tmp_path / "report.html")
    assert_links_stay_in_file(html)
    assert 'href="https://example.org/x"' in html and 'href="mailto:a@example.org"' in html


def test_every_exported_run_has_its_own_section(tmp_path):
    html = _export([str(_logs_with_links(tmp_path / "logs"))], tmp_path / "report.html")
    page = BeautifulSoup(html, "html.parser")
    for run_id, name in (("a" * 32, "run-0"), ("b" * 32, "run-1")):
        section = page.find(id=f"run-{run_id}")
        assert section is not None and name in section.get_text() and "lr" in section.get_text()
        assert section.find(attrs={"data-spec-id": True}) is not None  # the run's loss curve


def test_export_makes_no_temporary_folder(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("export made a temporary file or folder")

    for name in ("mkdtemp", "mkstemp", "TemporaryDirectory", "NamedTemporaryFile", "gettempdir"):
        monkeypatch.setattr(tempfile, name, refuse)
    html = _export([str(ROOT / "sample_runs"), "--experiment", "houses"], tmp_path / "out" / "report.html")
    assert "naive-backwards" in html
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["out", "report.html"]


def test_a_report_is_never_written_into_the_log_folder(tmp_path):
    logs = _logs_with_links(tmp_path / "logs")
    before = sorted(p.relative_to(logs).as_posix() for p in logs.rglob("*"))
    result = CliRunner().invoke(main, ["export", str(logs), "-o", str(logs / "notes-00000001" / "report.html")])
    assert result.exit_code == 2 and "inside the log directory" in result.output
    assert sorted(p.relative_to(logs).as_posix() for p in logs.rglob("*")) == before
