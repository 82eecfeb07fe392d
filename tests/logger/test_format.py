"""The format's names are spelled once, in logger/format.py: a writer and a reader cannot drift apart."""

from __future__ import annotations

import ast
from pathlib import Path

from logger import format as log_format

ROOT = Path(__file__).resolve().parents[2]
# Literal spellings that must come from logger/format.py: file and folder names, the NaN encoding,
# and MLflow's tag names (any "mlflow.*" string).
SPELLED_ONCE = {log_format.RUN_FILE, log_format.EXPERIMENT_FILE, log_format.NOTES_FILE, log_format.ARTIFACTS_DIR,
                log_format.MLFLOW_META_FILE, log_format.MLFLOW_STORE_DIR,
                *log_format.NON_FINITE}
# Reporter modules being moved on another branch (reporter/commands/, ...): they get their constant
# imports after the move; remove them from here then.
def _spellings(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                node.value in SPELLED_ONCE or node.value.startswith("mlflow.")):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return found


def test_format_names_are_spelled_only_in_the_format_module():
    sources = sorted((ROOT / "logger").rglob("*.py")) + sorted((ROOT / "reporter").rglob("*.py"))
    found = [hit for path in sources if path != ROOT / "logger" / "format.py" for hit in _spellings(path)]
    assert found == []


def test_every_line_carries_the_version_that_brought_its_kind(tmp_path):
    """Version-1 kinds keep writing 1 (a file without batches is a version-1 file); `metrics` lines write 2."""
    from logger.run import Run

    with Run.create(tmp_path / "exp", "exp") as run:
        run.log_metric("loss", 1.0)
        run.log_metrics({"acc": 0.5})
    import orjson

    lines = [orjson.loads(line) for line in (run.folder / log_format.RUN_FILE).read_bytes().splitlines()]
    versions = {line[log_format.KIND_FIELD]: line[log_format.VERSION_FIELD] for line in lines}
    assert versions == {"start": 1, "metric": 1, "metrics": 2, "end": 1}
    assert log_format.METRICS_VERSION == log_format.FORMAT_VERSION == 2
