"""System metrics (`system/...`, logger/system_metrics.py) get their own "System" section, after the other charts."""

from __future__ import annotations

import json

from bs4 import BeautifulSoup
from site_logs import T0, experiment, run

from reporter.charts.common import group_metric_keys
from reporter.charts.run import page_spec
from reporter.config import BuildConfig
from reporter.site.build import build

RUN_ID = "f" * 32


def test_system_keys_come_last_in_a_section_of_their_own():
    keys = ["system/disk_usage_percentage", "loss", "val/loss", "system/cpu_utilization_percentage", "systems/x",
            "zeta/y"]
    assert group_metric_keys(keys) == [
        ("", ["loss"]),
        ("systems", ["systems/x"]),
        ("val", ["val/loss"]),
        ("zeta", ["zeta/y"]),
        ("System", ["system/cpu_utilization_percentage", "system/disk_usage_percentage"]),
    ]


def test_the_run_page_shows_the_system_section_after_the_others_with_its_charts(tmp_path):
    folder = experiment(tmp_path / "logs", "trainer-0a1b2c3d", "trainer")
    points = [(0, 1.0), (1, 0.5), (2, 0.25)]
    run(folder, RUN_ID, "with-system", T0, metrics={
        "loss": points, "train/acc": points, "system/cpu_utilization_percentage": points,
        "system/system_memory_usage_megabytes": points})
    build(BuildConfig.from_options(tmp_path / "logs", tmp_path / "site", environ={}))
    page = BeautifulSoup((tmp_path / "site" / "runs" / RUN_ID / "index.html").read_text(encoding="utf-8"),
                         "html.parser")
    sections = page.select("#charts .chart-section")
    assert [section["data-section"] for section in sections] == ["", "train", "System"]
    system = sections[-1]
    assert system.h3.get_text() == "System"
    assert [chart["data-title"] for chart in system.select(".fs-chart")] == [
        "system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"]
    for chart in system.select(".fs-chart"):  # each with its spec, drawing its three points
        forms = {script["id"]: json.loads(script.string) for script in page.select('script[type="application/json"]')}
        spec = page_spec(forms[chart["data-spec-id"]], forms)
        assert spec["title"]["text"] == chart["data-title"] and len(spec["datasets"]["points"]) == 3
