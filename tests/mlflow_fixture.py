"""The MLflow fixture (tests/fixtures/mlruns, made by tests/fixtures/make_mlruns.py) read with plain Python.

Deliberately independent of logger/mlflow_store.py: a flat `key: value` parse of meta.yaml, file
contents for params and tags, `split()` of metric lines. Tests compare what flowsheet shows against these.
"""

from __future__ import annotations

from pathlib import Path

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "mlruns"
STATUS = {"1": "RUNNING", "2": "SCHEDULED", "3": "FINISHED", "4": "FAILED", "5": "KILLED"}


def flat_meta(path: Path) -> dict[str, str]:
    """MLflow's meta.yaml files are flat `key: value` lines; quotes stripped, `null` kept as text."""
    meta = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(": ")
        meta[key.rstrip(":")] = value.strip().strip("'")
    return meta


def key_files(folder: Path) -> dict[str, str]:
    """`params/` or `tags/`: key (subfolders joined with `/`) -> the file's content."""
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
            for p in folder.rglob("*") if p.is_file()}


def metric_files(run_folder: Path) -> dict[str, Path]:
    folder = run_folder / "metrics"
    return {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}


def metric_points(path: Path) -> list[tuple[int, float, int]]:
    """(timestamp, value, step) per line."""
    points = []
    for line in path.read_text(encoding="utf-8").splitlines():
        ts, value, step = line.split()
        points.append((int(ts), float(value), int(step)))
    return points


def latest_point(points: list[tuple[int, float, int]]) -> tuple[int, float, int]:
    """MLflow's latest value: greatest step, then latest timestamp, then last logged."""
    best = points[0]
    for point in points[1:]:
        if (point[2], point[0]) >= (best[2], best[0]):
            best = point
    return best


def artifact_files(run_folder: Path) -> list[tuple[str, int]]:
    folder = run_folder / "artifacts"
    return sorted((p.relative_to(folder).as_posix(), p.stat().st_size) for p in folder.rglob("*") if p.is_file())


def experiments(root: Path = FIXTURE) -> dict[str, dict]:
    """Experiment folder name -> meta, for every experiment folder outside .trash (deleted ones included)."""
    return {p.name: flat_meta(p / "meta.yaml") for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}


def runs(root: Path = FIXTURE) -> dict[str, tuple[Path, dict]]:
    """Run id -> (folder, meta), for every run of every experiment outside .trash (deleted ones included)."""
    found = {}
    for experiment in experiments(root):
        for folder in (root / experiment).iterdir():
            if (folder / "meta.yaml").is_file():
                found[folder.name] = (folder, flat_meta(folder / "meta.yaml"))
    return found


def live_runs(root: Path = FIXTURE) -> dict[str, tuple[Path, dict]]:
    live = {name for name, meta in experiments(root).items() if meta["lifecycle_stage"] == "active"}
    return {run_id: (folder, meta) for run_id, (folder, meta) in runs(root).items()
            if meta["lifecycle_stage"] == "active" and folder.parent.name in live}


def run_name(folder: Path, meta: dict) -> str:
    return key_files(folder / "tags").get("mlflow.runName", meta["run_name"])
