"""The compare page's data: a site-wide index that does not grow with the runs' histories, and one small script
per run (written by the run's unit, kept by the build cache with the run page when the run did not change)."""

from __future__ import annotations

import json
from pathlib import Path

from site_logs import HOUSES, LASSO1, LASSO2, T0, _lines, write_site_logs

from logger.model import Experiment

from benchmarks.bench_site import write_runs
from reporter.config import BuildConfig
from reporter.site import compare as compare_data
from reporter.site.build import build


def build_runs(tmp_path: Path, runs: int, steps: int = 100) -> Path:
    logs, site = tmp_path / f"logs-{runs}", tmp_path / f"site-{runs}"
    write_runs(logs, "sweep", runs, 10, 5, steps)
    build(BuildConfig.from_options(logs, site, environ={}), jobs=1)
    return site


def run_data(script: Path) -> tuple[str, dict]:
    """The id and data a run's script hands to window.FLOWSHEET_COMPARE_RUN."""
    text = script.read_text(encoding="utf-8")
    assert text.startswith("window.FLOWSHEET_COMPARE_RUN(") and text.endswith(");\n")
    run_id, data = json.loads("[" + text[len("window.FLOWSHEET_COMPARE_RUN("):-3] + "]")
    return run_id, data


def test_the_shared_compare_data_does_not_grow_with_the_runs_histories(tmp_path):
    small, big = build_runs(tmp_path, 2), build_runs(tmp_path, 200)
    per_run = ((big / "compare-data.js").stat().st_size - (small / "compare-data.js").stat().st_size) / 198
    # The shared file lists a run's id only (it held the run's summary and curves: 17 kB a run here) ...
    assert per_run < 60, f"{per_run:.0f} bytes per run in compare-data.js"
    # ... which are in the run's own script
    curves = len(json.dumps(run_data(next((big / "runs").glob("*/compare-data.js")))[1]["curves"]))
    assert curves > 2_000


def test_each_run_has_a_script_with_its_summary_and_curves_of_a_fixed_size(tmp_path):
    site = build_runs(tmp_path, 3, steps=500)
    scripts = sorted((site / "runs").glob("*/compare-data.js"))
    assert len(scripts) == 3
    run_id, data = run_data(scripts[0])
    assert run_id == data["id"] == scripts[0].parent.name and data["experiment"] == "sweep"
    assert sorted(data["curves"]) == [f"metric_{m}" for m in range(5)]
    steps, values = data["curves"]["metric_0"]
    assert len(values) == compare_data.CURVE_POINTS  # 500 points downsampled, each at its bucket's last step
    assert steps == {"first": 9, "step": 10}
    assert data["better"]["metric_0"] == "max" and data["params"]["param_3"] == "3.0"
    assert data["url"] == f"runs/{run_id}/index.html"


def test_the_index_lists_plain_ids_and_the_folder_of_the_others():
    experiments = {"e": Experiment("e", "exp", path="", tags={"flowsheet.primary_metric": "f1"})}
    index = compare_data.compare_index(["a" * 32, "my run/1"], experiments)
    assert index["runs"] == ["a" * 32]
    assert index["moved"] == {"my run/1": compare_data.site_id("my run/1")}
    assert index["experiments"] == {"e": ["exp", "f1"]}
    assert compare_data.run_script_path("my run/1") == f"runs/{index['moved']['my run/1']}/compare-data.js"


def test_no_log_value_can_end_a_run_script_early(tmp_path):
    from logger.model import Run

    run = Run(run_id="x" * 32, experiment_id="e", name="</script><script>alert(1)</script>", path=str(tmp_path))
    run.params["p"] = "a & b > c"
    text = compare_data.run_script(compare_data.run_summary(run, {}, lambda i: i, {}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert run_data_of(text)["name"] == run.name and run_data_of(text)["params"]["p"] == "a & b > c"


def run_data_of(text: str) -> dict:
    return json.loads("[" + text[len("window.FLOWSHEET_COMPARE_RUN("):-3] + "]")[1]


def test_a_second_build_keeps_the_scripts_of_unchanged_runs_and_remakes_the_changed_one(tmp_path):
    logs, site = write_site_logs(tmp_path / "logs"), tmp_path / "site"
    build(BuildConfig.from_options(logs, site, environ={}))
    kept, changed = site / "runs" / LASSO1 / "compare-data.js", site / "runs" / LASSO2 / "compare-data.js"
    kept_stat = kept.stat()
    _lines(logs / HOUSES / LASSO2 / "run.jsonl",
           [{"kind": "metric", "t": T0 + 90_009, "key": "rmse", "value": 0.125, "step": 9}])
    result = build(BuildConfig.from_options(logs, site, environ={}))
    assert result.units_made == 3  # the run, its experiment, the home unit
    assert kept.stat().st_mtime_ns == kept_stat.st_mtime_ns  # kept with its run page
    assert run_data(changed)[1]["metrics"]["rmse"][0] == 0.125
