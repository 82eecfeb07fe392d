"""The README's snippets are run as written, so they cannot drift from the code."""

import re

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
