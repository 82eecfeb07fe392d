"""Charts and the compare view in the built site: chart containers and their specs in the pages (parsed as
HTML), the compare page's data file, and the pure functions that make it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from site_logs import CNN, HOUSES, LASSO1, LASSO2, RIDGE, SWEEP, write_site_logs

from logger.model import Artifact, MetricHistory, Run

from reporter.charts.run import page_spec
from reporter.config import BuildConfig
from reporter.site import compare as compare_data
from reporter.site.build import build
from reporter.site.pages import run_href


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("charts-site")
    build(BuildConfig.from_options(write_site_logs(root / "logs"), root / "site", environ={}))
    return root / "site"


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def specs_of(page: BeautifulSoup) -> dict[str, dict]:
    """Chart container id -> the spec in its <script type="application/json"> element."""
    out = {}
    for chart in page.select(".fs-chart[data-spec-id]"):
        script = page.find("script", id=chart["data-spec-id"], type="application/json")
        assert script is not None, chart
        out[chart["data-spec-id"]] = json.loads(script.string)
    return {spec_id: page_spec(spec, out) for spec_id, spec in out.items()}  # run pages inline a compact form


def script_srcs(page: BeautifulSoup) -> list[str]:
    return [s["src"] for s in page.find_all("script") if s.get("src")]


def load_js_globals(path: Path) -> dict[str, object]:
    """`window.NAME = {json};` lines of a data script, as Python objects."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition(" = ")
        out[name.removeprefix("window.")] = json.loads(value.rstrip(";"))
    return out


def test_run_page_has_a_chart_per_curve_with_controls_and_scripts(site):
    page = soup(site / f"runs/{LASSO1}/index.html")
    charts = page.find("section", id="charts")
    assert charts.find("div", class_="fs-chart-controls") is not None
    specs = specs_of(page)
    # rmse has 3 points: a chart; r2 was logged once: it stays a row of the metrics table
    assert [s["usermeta"]["fs"]["kind"] for s in specs.values()] == ["metric"]
    (spec,) = specs.values()
    assert spec["title"]["text"] == "rmse" and [row["v"] for row in spec["datasets"]["points"]] == [0.9, 0.5, 0.41]
    assert page.select_one(".fs-chart")["data-title"] == "rmse"
    assert "Metrics logged once" in charts.get_text()
    srcs = script_srcs(page)
    assert srcs.index("../../static/vega-bundle.js") < srcs.index("../../static/charts.js")
    assert (site / "static/vega-bundle.js").stat().st_size > 100_000


def test_run_page_groups_charts_by_prefix(tmp_path):
    from reporter.site.pages import curve_sections

    run = Run(run_id="r" * 32, experiment_id="e", name="r", path=str(tmp_path), start_time=0)
    for key in ("train/loss", "val/loss", "lr", "val/acc", "once"):
        history = MetricHistory(key)
        for step in range(1 if key == "once" else 3):
            history.append(float(step), step, step)
        run.metrics[key] = history
    sections = curve_sections(run)
    assert [(s.name, [c.title for c in s.charts]) for s in sections] == \
        [("", ["lr"]), ("train", ["train/loss"]), ("val", ["val/acc", "val/loss"])]


def test_run_without_curves_has_no_chart_scripts(site):
    for run_id in (RIDGE, SWEEP):  # one rmse point; no metrics at all
        page = soup(site / f"runs/{run_id}/index.html")
        assert page.find(id="charts") is None and page.select(".fs-chart") == []
        assert not any("charts.js" in src or "vega" in src for src in script_srcs(page))


def test_experiment_page_has_overlays_and_run_charts(site):
    page = soup(site / f"experiments/{HOUSES}/index.html")
    specs = specs_of(page)
    kinds = {spec_id: spec["usermeta"]["fs"]["kind"] for spec_id, spec in specs.items()}
    assert kinds == {"fs-exp-overlay-0": "overlay", "fs-exp-parallel": "parallel", "fs-exp-scatter": "scatter",
                     "fs-exp-box": "box"}  # box: r2 by model (a categorical param); no heatmap: one numeric param
    overlay = specs["fs-exp-overlay-0"]
    assert overlay["encoding"]["y"]["title"] == "rmse"
    assert {row["i"] for row in overlay["datasets"]["points"]} == {0, 1, 2}  # ridge, lasso-1, lasso-0.1 (not sweep)
    assert [h.get_text() for h in page.select("#charts h3")] == ["metrics", "runs"]
    # axes: params that differ among the runs with the primary metric (r2), so the sweep parent's own
    # `search` param, which no child has, does not leave every line out
    assert [d["label"] for d in specs["fs-exp-parallel"]["datasets"]["dims"]] == ["C", "r2"]
    assert "../../static/charts.js" in script_srcs(page)
    assert page.find(id="runs-heading").find_next(id="charts")  # the runs table first, the charts below it


def test_compare_page_loads_the_index_and_has_a_place_for_the_charts(site):
    page = soup(site / "compare.html")
    assert page.select("#charts .fs-chart") == []  # compare_charts.js places the selected runs' charts
    assert page.find(id="compare-chart-sections") is not None
    assert page.find("script", type="application/json") is None
    data = load_js_globals(site / "compare-data.js")
    assert sorted(data["FLOWSHEET_COMPARE_TEMPLATES"]) == ["bars", "overlay", "parallel", "scatter"]
    srcs = script_srcs(page)
    assert (srcs.index("compare-data.js") < srcs.index("static/compare_charts.js") < srcs.index("static/compare.js")
            < srcs.index("static/charts.js"))
    assert page.find("input", id="compare-diff-only").has_attr("checked")


def run_data(site: Path, run_id: str) -> dict:
    """What the run's compare script hands to the page."""
    text = (site / compare_data.run_script_path(run_id)).read_text(encoding="utf-8")
    return json.loads("[" + text.removeprefix("window.FLOWSHEET_COMPARE_RUN(").removesuffix(");\n") + "]")[1]


def test_compare_data_indexes_every_run_and_each_run_summarises_itself(site):
    index = load_js_globals(site / "compare-data.js")["FLOWSHEET_COMPARE"]
    assert sorted(index["runs"]) == sorted([SWEEP, LASSO1, LASSO2, RIDGE, CNN]) and index["moved"] == {}
    assert index["experiments"][HOUSES][0] == "houses"
    lasso = run_data(site, LASSO1)
    assert lasso["name"] == "lasso-0.1" and lasso["url"] == f"runs/{LASSO1}/index.html"
    assert lasso["experiment"] == HOUSES
    assert lasso["params"] == {"C": "0.1", "model": "lasso"}
    assert lasso["metrics"] == {"rmse": [0.41, 0.41, 0.9], "r2": [0.8, 0.8, 0.8]}
    assert lasso["curves"]["rmse"][1][-1] == 0.41 and "r2" not in lasso["curves"]  # r2 was logged once
    assert lasso["better"] == {"r2": "max", "rmse": "min"}
    assert lasso["tags"] == {"stage": "dev", "formula": "=1+2"}
    assert lasso["images"] == {"plots/curve.png": f"runs/{LASSO1}/artifacts/plots/curve.png"}
    assert (site / lasso["images"]["plots/curve.png"]).is_file()
    ridge = run_data(site, RIDGE)
    assert ridge["images"] == {}  # SVG is shown on the run page only (its copy is a download)
    assert dict(ridge["info"])["Status"] == "FAILED"
    assert run_data(site, CNN)["metrics"]["loss"] == [1.1, 1.1, 2.3]  # NaN left out of min/max


def test_non_finite_latest_values_travel_as_text(tmp_path):
    run = Run(run_id="n" * 32, experiment_id="e", name=None, path=str(tmp_path))
    history = MetricHistory("loss")
    history.append(1.0, 0, 0)
    history.append(float("nan"), 1, 1)
    run.metrics["loss"] = history
    summary = compare_data.run_summary(run, {}, run_href, {})
    assert summary["metrics"]["loss"] == ["NaN", 1.0, 1.0] and summary["name"] == "n" * 32
    assert summary["curves"]["loss"] == [[0], [1.0]]  # the curve leaves NaN out
    text = compare_data.run_script(summary)
    assert "NaN" in text and json.loads("[" + text.removeprefix("window.FLOWSHEET_COMPARE_RUN(").removesuffix(");\n") + "]")


def test_images_too_large_or_missing_are_not_offered(tmp_path):
    folder = tmp_path / "artifacts"
    folder.mkdir()
    (folder / "small.png").write_bytes(b"x" * 10)
    (folder / "big.png").write_bytes(b"x" * 2000)
    run = Run(run_id="i" * 32, experiment_id="e", name="i", path=str(tmp_path), artifacts_dir=str(folder),
              artifacts=[Artifact("small.png", 10), Artifact("big.png", 2000), Artifact("gone.png", 5),
                         Artifact("notes.txt", 3)])
    images = compare_data.site_images(run, "runs/x", max_bytes=1000, log_dir=tmp_path)
    assert images == {"small.png": "runs/x/artifacts/small.png"}
