"""Reading back what the logger wrote, strictly, for assertions (the real reader is tested on its own)."""

from __future__ import annotations

import json
from pathlib import Path


def _refuse_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def lines_of(path: Path) -> list[dict]:
    """Every line of a file parsed as strict JSON (no NaN/Infinity tokens); fails on any bad line."""
    text = Path(path).read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n"), f"{path} does not end with a newline"
    return [json.loads(line, parse_constant=_refuse_constant) for line in text.splitlines()]


def run_folders(log_dir: Path) -> list[Path]:
    return sorted(p.parent for p in Path(log_dir).glob("*/*/run.jsonl"))


def events_of(log_dir: Path, run_id: str, kind: str | None = None) -> list[dict]:
    [path] = list(Path(log_dir).glob(f"*/{run_id}/run.jsonl"))
    return [e for e in lines_of(path) if kind is None or e["kind"] == kind]


def points_of(lines: list[dict]) -> list[dict]:
    """The metric points of parsed lines in file order, one dict {key, value, step, t} each, whether a
    `metric` line holds one or a `metrics` line (log_metrics, a batch) several (docs/FORMAT.md)."""
    points = []
    for line in lines:
        if line["kind"] == "metric":
            points.append({name: line[name] for name in ("key", "value", "step", "t")})
        elif line["kind"] == "metrics":
            points += [{"key": key, "value": value, "step": line["s"], "t": line["t"]} for key, value in line["m"].items()]
    return points
