"""Each benchmark runs at a tiny scale, so the benchmark code cannot rot (no timing is asserted)."""

import pytest

from benchmarks.__main__ import available, main


@pytest.mark.parametrize("name", available())
def test_benchmark_runs_at_tiny_scale(name, capsys):
    results = main(["--scale", "0.01", "--only", name, "--no-save"])
    assert results[name]
    out = capsys.readouterr().out
    assert "| --- |" in out  # a Markdown table was printed
