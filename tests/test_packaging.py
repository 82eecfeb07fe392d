"""The wheel carries the templates, the static files and the packages (logger, its alias flowsheet, reporter);
the console script is declared."""

import subprocess
import sys
import zipfile

from helpers import ROOT


def test_wheel_ships_templates_and_static_files(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True)
    [wheel] = tmp_path.glob("flowsheet-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {p.name for p in (ROOT / "templates").glob("*.html")}
    assert templates and all(f"reporter/templates/{name}" in names for name in templates)
    assert "logger/__init__.py" in names and "reporter/cli.py" in names
    assert "flowsheet/__init__.py" in names  # `import flowsheet as mlflow`, which no local logger.py shadows
    assert any(name.startswith("reporter/static/") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    declared = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "reporter = reporter.cli:main" in declared
    assert "[mlflow.tracking_store]\nflowsheet = logger.mlflow_plugin:flowsheet_store" in declared
    assert "logger/mlflow_plugin/store.py" in names
