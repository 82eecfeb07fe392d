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


def write_mixed_logs(folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copytree(ROOT / "sample_runs", folder / "flowsheet")
    shutil.copytree(FIXTURES / "mlruns", folder / "mlruns")
    project = folder / "mlflow-project"
    shutil.copytree(FIXTURES / "mlflow_sql" / "v3", project, ignore=shutil.ignore_patterns("*.gz", "VERSION"))
    (project / "mlflow.db").write_bytes(gzip.decompress((FIXTURES / "mlflow_sql" / "v3" / "mlflow.db.gz").read_bytes()))
    for name in ("tensorboard", "huggingface", "lightning", "dvclive", "raytune"):
        shutil.copytree(FIXTURES / name, folder / name)
    return folder
