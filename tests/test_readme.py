"""The README's snippets are run as written, so they cannot drift from the code."""

import re
import shutil
import subprocess

import pytest
from helpers import ROOT, run_python
from ondisk import lines_of, run_folders


def readme_blocks(language: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_the_tour_snippet_logs_a_run(tmp_path):
    tour = readme_blocks("python")[0]
    run_python(tour, cwd=tmp_path)
    [folder] = run_folders(tmp_path / "runs")
    events = lines_of(folder / "run.jsonl")
    assert events[0]["name"] == "first"
    assert sum(e["kind"] == "metric" for e in events) == 100
    assert events[-1]["status"] == "FINISHED"


def test_readme_gives_the_two_commands():
    first_block = readme_blocks("sh")[0]
    assert "make demo" in first_block and "make test" in first_block


def test_the_tour_commands_build_and_list_the_run(tmp_path, monkeypatch):
    import shlex

    from click.testing import CliRunner

    from reporter.cli import main

    run_python(readme_blocks("python")[0], cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    commands = [line.split("#")[0].strip() for line in readme_blocks("sh")[1].splitlines()]
    ran = []
    for command in commands:
        words = shlex.split(command)
        if not words or words[0] != "reporter" or words[1] == "serve":  # serve runs until stopped
            continue
        result = CliRunner().invoke(main, words[1:])
        assert result.exit_code == 0, (command, result.output)
        ran.append((words[1], result.output))
    assert [name for name, _ in ran] == ["build", "runs"]
    assert (tmp_path / "site" / "index.html").exists()
    listing = ran[1][1]
    assert "first" in listing and "metrics.loss" in listing


def section(heading: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_integrations_snippet_logs_an_autologged_run(tmp_path):
    from logger.reader import read_logs

    [snippet] = re.findall(r"```python\n(.*?)```", section("Integrations"), flags=re.S)
    run_python(snippet, cwd=tmp_path, timeout=120)
    [run] = read_logs(tmp_path / "runs").runs.values()
    assert run.params["max_iter"] == 300 and "training_accuracy_score" in run.metrics
    assert any(a.path.endswith("model.pkl") for a in run.artifacts)


def test_without_changing_your_code_names_the_plugin_uri_the_tests_use():
    text = section("Without changing your code")
    assert "MLFLOW_TRACKING_URI=flowsheet:./runs python train.py" in text
    assert "import flowsheet as mlflow" in text


def test_the_readme_says_how_to_get_reporter_on_the_path():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_section = text.split("\n## ", 1)[0]
    for where in (first_section, section("Development")):
        assert ". .venv/bin/activate" in where
    assert "pip install ." in first_section and "pipx install ." in first_section


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_ends_with_the_activate_hint():
    # -n prints the recipe without running it: nothing is installed or built
    done = subprocess.run(["make", "-n", "-C", str(ROOT), "demo"], capture_output=True, text=True, timeout=60,
                          check=True)
    last = [line for line in done.stdout.splitlines() if not line.startswith("make")][-1]
    assert last.startswith("echo") and ". .venv/bin/activate" in last and "reporter" in last
