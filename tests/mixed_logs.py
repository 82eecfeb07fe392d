"""One folder holding every log format the reader knows, made from the test fixtures (for the tests
that check that `reporter build`, `reporter import` and the site handle them side by side).

    write_mixed_logs(tmp_path / "mixed") -> the folder

Layout: `flowsheet/` (the sample runs), `mlruns/` (an MLflow file store), `mlflow-project/mlflow.db`
(+ its artifact folder), `tensorboard/`, `huggingface/`, `lightning/`, `dvclive/` and `raytune/`,
each copied from tests/fixtures/ (the MLflow database is kept gzipped there).
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
# Run.source -> the folder of the mixed logs it comes from
SOURCES = {"flowsheet": "flowsheet", "mlflow": "mlruns", "mlflow-sql": "mlflow-project", "tensorboard": "tensorboard",
           "huggingface": "huggingface", "lightning": "lightning", "dvclive": "dvclive", "raytune": "raytune"}


def write_format(source: str, folder: Path) -> Path:
    """The fixture of one format (a `Run.source` of SOURCES) copied to `folder/<its folder>`; returns that."""
    target = folder / SOURCES[source]
    if source == "flowsheet":
        shutil.copytree(ROOT / "sample_runs", target)
    elif source == "mlflow":
        shutil.copytree(FIXTURES / "mlruns", target)
    elif source == "mlflow-sql":
        version = FIXTURES / "mlflow_sql" / "v3"
        shutil.copytree(version, target, ignore=shutil.ignore_patterns("*.gz", "VERSION"))
        (target / "mlflow.db").write_bytes(gzip.decompress((version / "mlflow.db.gz").read_bytes()))
    else:
        shutil.copytree(FIXTURES / SOURCES[source], target)
    return target


def write_mixed_logs(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for source in SOURCES:
        write_format(source, folder)
    return folder
