"""Where a run's artifacts are is part of the model (`Run.artifacts_dir`): the run page and the MLflow
importer look there instead of rebuilding `<run folder>/artifacts`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from mlflow_fixture import FIXTURE, flat_meta

from reporter.config import BuildConfig
from reporter.importers.mlflow import import_mlflow
from reporter.site.build import build


def _run_folder(store: Path, name: str) -> Path:
    return next(meta.parent for meta in sorted(store.glob("*/*/meta.yaml")) if flat_meta(meta).get("run_name") == name)


def _set_meta(path: Path, key: str, value: str) -> None:
    lines = [line for line in path.read_text().splitlines() if not line.startswith(f"{key}:")]
    path.write_text("\n".join(lines + [f"{key}: {value}"]) + "\n")


@pytest.fixture
def moved(tmp_path) -> tuple[Path, Path]:
    """A store whose with-artifacts run keeps its artifacts in another folder of the store, named by artifact_uri."""
    store = Path(shutil.copytree(FIXTURE, tmp_path / "mlruns"))
    run = _run_folder(store, "with-artifacts")
    elsewhere = run / "stored"  # inside the store, not the run's artifacts/ folder
    (run / "artifacts").rename(elsewhere)
    _set_meta(run / "meta.yaml", "artifact_uri", elsewhere.as_uri())
    return store, run


def test_a_run_page_shows_artifacts_kept_where_artifact_uri_says(moved, tmp_path):
    store, run = moved
    build(BuildConfig.from_options(store, tmp_path / "site", environ={}))
    page_folder = tmp_path / "site" / "runs" / run.name
    page = BeautifulSoup((page_folder / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert "not found" not in page.get_text()
    assert page.find("a", href="artifacts/summary.txt") is not None
    assert (page_folder / "artifacts" / "summary.txt").read_bytes() == \
        (run / "stored" / "summary.txt").read_bytes()


def test_import_copies_artifacts_from_where_artifact_uri_says(moved, tmp_path):
    store, run = moved
    result = import_mlflow(store, tmp_path / "runs")
    assert result.problems == []
    [copied] = (tmp_path / "runs").rglob(f"{run.name}/artifacts/summary.txt")
    assert copied.read_bytes() == (run / "stored" / "summary.txt").read_bytes()
