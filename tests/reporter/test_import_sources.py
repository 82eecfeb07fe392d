"""`reporter import` of each format the reader knows, from the fixtures its real tool wrote (or that follow
its documented format): the flowsheet logs it writes build the same tables, and a second import adds nothing."""

from __future__ import annotations

import pytest
from mixed_logs import SOURCES, write_format
from roundtrip import NOW, read, snapshot, table

from reporter.importers.logs import import_logs


@pytest.mark.parametrize("source", sorted(set(SOURCES) - {"flowsheet"}))
def test_each_format_imports_into_logs_that_show_the_same_runs(source, tmp_path):
    logs = write_format(source, tmp_path / "src")
    before = snapshot(logs)
    result = import_logs(logs, tmp_path / "out", now=NOW)
    assert snapshot(logs) == before  # the source is only read
    expected, imported = read(logs), read(tmp_path / "out")
    assert source in {run.source for run in expected.runs.values()}
    assert imported.problems == []
    assert table(imported) == table(expected)
    for run_id, run in expected.runs.items():
        got = imported.runs[run_id]
        assert sorted((a.path, a.size) for a in got.artifacts) == sorted((a.path, a.size) for a in run.artifacts)
        for key, history in run.metrics.items():
            assert list(got.metrics[key].steps) == list(history.steps), (run_id, key)
    assert result.runs_created == len(expected.runs)
    # importing again writes nothing
    written = snapshot(tmp_path / "out")
    import_logs(logs, tmp_path / "out", now=NOW)
    assert snapshot(tmp_path / "out") == written
