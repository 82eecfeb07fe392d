"""What a second `reporter build` reads: the run files that changed since the last build, and the few runs
whose every point a page it makes again needs (reporter/site/reading.py), never the rest."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from site_logs import T0, _lines, experiment, run

from tests.opened_files import opened_files

from reporter.config import BuildConfig
from reporter.site import cache as C
from reporter.site.build import build
from reporter.site.reading import known_file, load_known

SWEEP_RUNS = 15  # more than the 10 best runs an experiment page overlays
SWEEP, OTHER = "sweep-00000001", "other-00000002"


def run_id(experiment_id: str, n: int) -> str:
    return f"{experiment_id[0]}{n:031x}"


@pytest.fixture
def logs(tmp_path) -> Path:
    folder = tmp_path / "logs"
    sweep = experiment(folder, SWEEP, "sweep")
    for n in range(SWEEP_RUNS):
        run(sweep, run_id(SWEEP, n), f"trial-{n}", T0 + n * 1000, params={"lr": 0.1 * (n + 1)},
            metrics={"loss": [(step, 1.0 / (step + n + 1)) for step in range(5)]})
    other = experiment(folder, OTHER, "other")
    for n in range(3):
        run(other, run_id(OTHER, n), f"other-{n}", T0 + n * 1000, metrics={"acc": [(0, 0.5), (1, 0.6 + n / 10)]})
    return folder


def config(logs: Path, out: Path) -> BuildConfig:
    return BuildConfig.from_options(logs, out, environ={})


def run_files(opened: list[str]) -> set[str]:
    return {Path(path).parent.name for path in opened if path.endswith("run.jsonl")}


def site_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != C.CACHE_NAME}


def assert_same_as_cold(logs: Path, site: Path, tmp_path: Path) -> None:
    cold = tmp_path / "cold"
    build(config(logs, cold))
    assert site_files(site) == site_files(cold)


def test_a_second_build_reads_the_changed_run_and_no_run_of_an_unchanged_experiment(logs, tmp_path):
    site = tmp_path / "site"
    build(config(logs, site))
    changed = run_id(OTHER, 1)
    _lines(logs / OTHER / changed / "run.jsonl", [{"kind": "metric", "t": T0 + 90_000, "key": "acc", "value": 0.99,
                                                   "step": 2}])
    with opened_files() as opened:
        result = build(config(logs, site))
    read = run_files(opened)
    assert changed in read
    assert not read & {run_id(SWEEP, n) for n in range(SWEEP_RUNS)}  # its experiment's pages are kept
    assert result.units_made == 3  # the run, its experiment, the home unit
    history = gzip.decompress((site / "runs" / changed / "metrics.csv.gz").read_bytes()).decode()
    assert "0.99" in history
    assert_same_as_cold(logs, site, tmp_path)


def test_an_experiment_page_made_again_draws_its_curves_from_every_point(logs, tmp_path):
    """Its overlays (the ten best runs) and grouped curves (the newest 200) need the runs' points: those runs
    are read, and the page is the one a cold build makes; the other experiment's runs are not read."""
    site = tmp_path / "site"
    build(config(logs, site))
    changed = run_id(SWEEP, 14)
    _lines(logs / SWEEP / changed / "run.jsonl", [{"kind": "tag", "t": T0 + 90_000, "key": "note", "value": "x"}])
    with opened_files() as opened:
        build(config(logs, site))
    read = run_files(opened)
    assert changed in read and read <= {run_id(SWEEP, n) for n in range(SWEEP_RUNS)}
    assert_same_as_cold(logs, site, tmp_path)


def test_the_known_runs_stay_out_of_the_site_folder(logs, tmp_path):
    """They hold the logs' values before masking, and a site folder is what gets published."""
    site = tmp_path / "site"
    build(config(logs, site))
    known = known_file(site)
    assert known.is_file() and not known.is_relative_to(site) and "trial-3" in known.read_text()
    assert not any("trial-3" in p.read_text(errors="replace") for p in site.rglob(".*") if p.is_file())


def test_a_cache_whose_known_runs_are_damaged_still_builds_the_same_site(logs, tmp_path):
    site = tmp_path / "site"
    build(config(logs, site))
    path = known_file(site)
    document = json.loads(path.read_text())
    for entry in document["known"]["flowsheet"].values():
        entry["metrics"] = {"loss": {"count": "many"}}  # not one this flowsheet wrote
    path.write_text(json.dumps(document))
    with opened_files() as opened:
        build(config(logs, site))
    assert len(run_files(opened)) == SWEEP_RUNS + 3  # every entry dropped: every file read
    assert_same_as_cold(logs, site, tmp_path)


def test_drawing_or_listing_a_series_the_build_did_not_read_asks_for_its_points(logs, tmp_path):
    """Every curve and download goes through clean_series: a summary there is refused, never drawn as a curve."""
    from logger.model import PointsNotRead
    from logger.reader import LogReader

    from reporter.charts.downsample import downsample

    site = tmp_path / "site"
    build(config(logs, site))
    document = json.loads(known_file(site).read_text())
    known = load_known(site, document["fingerprint"])
    reader = LogReader(logs, known=known)
    reader.refresh()
    history = reader.data.runs[run_id(SWEEP, 3)].metrics["loss"]
    with pytest.raises(PointsNotRead) as refused:
        downsample(history.steps, history.values, history.timestamps, 10)
    assert refused.value.paths == {str(logs / SWEEP / run_id(SWEEP, 3))}


def test_known_runs_of_sites_not_built_for_a_month_are_removed(logs, tmp_path):
    import os
    import time

    site = tmp_path / "site"
    folder = known_file(site).parent
    folder.mkdir(parents=True, exist_ok=True)
    old, recent = folder / "old-site.json", folder / "recent.json"
    old.write_text("{}")
    recent.write_text("{}")
    month_ago = time.time() - 31 * 86400
    os.utime(old, (month_ago, month_ago))
    build(config(logs, site))
    assert not old.exists() and recent.exists() and known_file(site).exists()
