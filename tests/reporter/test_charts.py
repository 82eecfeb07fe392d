"""Chart specs as data: fields, encodings, marks, bucket counts, NaN counting, names, determinism, size."""

from __future__ import annotations

import json
import math
import re
from array import array

import altair as alt
import numpy as np
import pytest
from altair.utils.schemapi import validate_jsonschema

from logger.model import MetricHistory, Run

from reporter.charts import experiment as experiment_charts
from reporter.charts import run as run_charts
from reporter.charts.common import (
    chart_script_tag,
    group_metric_keys,
    lower_is_better,
    pick_primary_metric,
    spec_json,
)
from reporter.charts.downsample import downsample
from reporter.charts.experiment import (
    best_rows,
    differing_params,
    experiment_sections,
    heatmap_spec,
    overlay_spec,
    parallel_spec,
    runs_frame,
    scatter_spec,
)
from reporter.charts.run import metric_spec, run_chart_sections, series_rows
from reporter.site import compare as compare_site
from reporter.site import pages
from reporter.site.compare import chart_templates

T0 = 1_700_000_000_000
SCHEMA = alt.vegalite.v5.schema.core.load_schema()


def history(key: str, n: int, value=lambda i: 1.0 / (i + 1), dt: int = 1000) -> MetricHistory:
    steps = np.arange(n, dtype=np.int64)
    values = np.array([value(i) for i in range(n)], dtype=np.float64) if n <= 5000 else value(steps)
    stamps = T0 + steps * dt
    return MetricHistory(key, array("q", steps.tobytes()), array("d", values.tobytes()), array("q", stamps.tobytes()))


def run_with(*histories: MetricHistory, run_id: str = "a" * 32, params=None, name: str = "run") -> Run:
    run = Run(run_id=run_id, experiment_id="e", name=name, path="/x", start_time=T0, params=dict(params or {}))
    for h in histories:
        run.metrics[h.key] = h
    return run


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def param_names(spec) -> list[str]:
    names = []
    if isinstance(spec, dict):
        names += [p["name"] for p in spec.get("params", [])]
        for key, value in spec.items():
            if key not in ("params", "datasets"):
                names += param_names(value)
    elif isinstance(spec, list):
        for value in spec:
            names += param_names(value)
    return names


def assert_strict_json(text: str) -> None:
    def refuse(constant):
        raise AssertionError(f"{constant} in the JSON")

    json.loads(text, parse_constant=refuse)


def assert_valid_vega_lite(spec: dict) -> None:
    validate_jsonschema(spec, SCHEMA)


# ---- shared rules ------------------------------------------------------------------------------

def test_group_metric_keys_by_prefix():
    keys = ["val/loss", "train/loss", "lr", "train/acc", "epoch", "val/acc", "/odd", "trailing/"]
    assert group_metric_keys(keys) == [
        ("", ["/odd", "epoch", "lr", "trailing/"]),
        ("train", ["train/acc", "train/loss"]),
        ("val", ["val/acc", "val/loss"]),
    ]
    assert group_metric_keys([]) == []


def test_primary_metric_choice():
    assert pick_primary_metric(["zeta", "alpha"]) == "alpha"
    assert pick_primary_metric(["alpha", "accuracy", "f1"]) == "f1"
    assert pick_primary_metric(["f1", "val_loss"]) == "val_loss"
    assert pick_primary_metric(["f1", "zeta"], {"flowsheet.primary_metric": "zeta"}) == "zeta"
    assert pick_primary_metric(["f1"], {"flowsheet.primary_metric": "missing"}) == "f1"
    assert pick_primary_metric([]) is None


@pytest.mark.parametrize("key,lower", [("loss", True), ("val/Loss", True), ("test_error", True), ("rmse", True),
                                       ("mae", True), ("accuracy", False), ("f1", False), ("auc", False)])
def test_lower_is_better(key, lower):
    assert lower_is_better(key) is lower


def test_spec_json_is_compact_sorted_and_script_safe():
    text = spec_json({"b": 1, "a": "</script><script>alert(1)</script> & more"})
    assert text.startswith('{"a":') and " " not in text.split('"')[0]
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["a"] == "</script><script>alert(1)</script> & more"
    tag = str(chart_script_tag('x"><img src=x>', {"a": 1}))
    assert tag.startswith('<script type="application/json" id="x&#34;&gt;&lt;img src=x&gt;">')


def test_spec_json_refuses_nan():
    with pytest.raises(ValueError, match=r"spec\.rows\[1\]\.v"):
        spec_json({"rows": [{"v": 1.0}, {"v": float("nan")}]})


@pytest.mark.parametrize("column, bad", [
    ([0.5, 1, 2.5, float("inf")], 3),  # a column of numbers, checked at once: the bad one still named
    ([float("-inf"), 1.0], 0),
    ([1.0, "text", None, True, float("nan")], 4),  # not only numbers: item by item
])
def test_spec_json_names_the_non_finite_number_of_a_column(column, bad):
    with pytest.raises(ValueError, match=rf"spec\.data\.v\[{bad}\]"):
        spec_json({"data": {"v": column}})
    assert spec_json({"data": {"v": [x for i, x in enumerate(column) if i != bad]}})


# ---- run page ----------------------------------------------------------------------------------

def test_metric_chart_layers_fields_and_controls_metadata():
    spec = metric_spec(run_with(history("loss", 50)), "loss")
    assert_valid_vega_lite(spec)
    assert spec["data"] == {"name": "points"}
    marks = [layer["mark"]["type"] for layer in layers(spec)]
    assert marks == ["line", "line", "point"]  # raw (faint), smoothed, hover points; no band: not bucketed
    raw, smooth, hover = layers(spec)
    assert raw["mark"]["opacity"] < 0.5 and raw["encoding"]["y"]["field"] == "v"
    assert smooth["encoding"]["y"]["field"] == "y"
    assert {"calculate": "isValid(datum.sm) ? datum.sm : datum.v", "as": "y"} in smooth["transform"]
    tooltip_fields = [t["field"] for t in hover["encoding"]["tooltip"]]
    assert tooltip_fields == ["s", "w", "r", "v", "y"]
    assert spec["encoding"]["x"] == {"field": "s", "title": "step", "type": "quantitative"}
    meta = spec["usermeta"]["fs"]
    assert meta["kind"] == "metric" and meta["data"] == "points"
    assert meta["x"]["wall"]["type"] == "temporal" and meta["x"]["rel"]["field"] == "r"
    assert meta["x"]["rel"]["title"] == "relative time (seconds)"
    rows = spec["datasets"]["points"]
    assert rows[0] == {"s": 0, "t": 0, "v": 1.0} and rows[3] == {"s": 3, "t": 3000, "v": 0.25}
    assert param_names(spec) == ["hover", "zoom"]


def test_long_series_is_bucketed_with_a_band_and_says_so():
    spec = metric_spec(run_with(history("loss", 100_000, value=lambda s: np.sin(s / 1000.0))), "loss")
    assert_valid_vega_lite(spec)
    rows = spec["datasets"]["points"]
    assert len(rows) == 1000
    assert set(rows[0]) == {"s", "t", "v", "lo", "hi"}
    band = layers(spec)[0]
    assert band["mark"]["type"] == "area"
    assert band["encoding"]["y"]["field"] == "lo" and band["encoding"]["y2"]["field"] == "hi"
    assert spec["title"]["subtitle"].startswith("showing 1,000 of 100,000 points")
    assert spec["usermeta"]["fs"]["shown"] == 1000 and spec["usermeta"]["fs"]["total"] == 100_000
    assert spec["usermeta"]["fs"]["x"]["rel"]["title"] == "relative time (hours)"  # 100,000 s


def test_nan_and_inf_points_are_left_out_and_counted():
    values = [1.0, float("nan"), 2.0, float("inf"), 3.0]
    spec = metric_spec(run_with(history("loss", 5, value=lambda i: values[i])), "loss")
    assert [r["v"] for r in spec["datasets"]["points"]] == [1.0, 2.0, 3.0]
    assert spec["title"]["subtitle"] == "2 NaN/Inf values left out"
    assert_strict_json(spec_json(spec))
    assert "null" not in spec_json(spec)


@pytest.mark.parametrize("key", ["@@fs-note@@", "@@fs-key@@", "loss_4000000000000123", 'quote"back\\slash'])
def test_metric_spec_is_built_from_its_table_and_keeps_every_text_verbatim(key):
    # the spec used to be a template with placeholder strings replaced in its JSON: a key that looked
    # like a placeholder (or like the stand-in origin) came out as another text
    values = [1.0, float("nan"), 2.0, 0.5]
    stamps = array("q", [T0 + 10 * i for i in range(4)])
    history = MetricHistory(key, array("q", [0, 1, 2, 3]), array("d", values), stamps)
    spec = metric_spec(run_with(history), key)
    assert spec["title"] == {"text": key, "subtitle": "1 NaN/Inf value left out", "anchor": "start"}
    assert {layer["encoding"]["y"]["title"] for layer in layers(spec)} == {key}
    series = downsample(history.steps, history.values, history.timestamps)
    assert spec["datasets"]["points"] == series_rows(series, T0) == [
        {"s": 0, "t": 0, "v": 1.0}, {"s": 2, "t": 20, "v": 2.0}, {"s": 3, "t": 30, "v": 0.5}]
    assert {"calculate": f"datum.t + {T0}", "as": "w"} in spec["transform"]
    assert_valid_vega_lite(spec)


def test_run_sections_group_keys_and_number_spec_ids():
    run = run_with(history("train/loss", 5), history("val/loss", 5), history("lr", 5), history("empty", 0))
    sections = run_chart_sections(run)
    assert [(s.name, [b.title for b in s.charts]) for s in sections] == [
        ("", ["lr"]), ("train", ["train/loss"]), ("val", ["val/loss"])]
    assert [b.spec_id for s in sections for b in s.charts] == ["fs-metric-0", "fs-metric-1", "fs-metric-2"]


def test_only_nan_metric_gets_no_chart():
    run = run_with(history("bad", 3, value=lambda i: float("nan")), history("good", 3))
    assert [b.title for s in run_chart_sections(run) for b in s.charts] == ["good"]


def test_run_specs_are_byte_identical_for_the_same_input():
    def build():
        run = run_with(history("train/loss", 3000, value=lambda i: math.cos(i)), history("acc", 20))
        return [spec_json(b.spec) for s in run_chart_sections(run) for b in s.charts]

    first, second = build(), build()
    assert first == second
    assert not re.search(r'"(view|param|selector)_?\d+"', "".join(first))  # no auto-numbered names


def test_run_page_with_20_metrics_of_100k_points_stays_under_3_mb():
    keys = [f"{'train' if k % 2 else 'val'}/metric_{k:02d}" for k in range(20)]
    rng = np.random.default_rng(0)
    run = run_with(*(history(key, 100_000, value=lambda s: rng.normal(size=len(s)) * 1e-3 + 1 / (s + 1.0), dt=37)
                     for key in keys))
    total = sum(len(spec_json(b.spec).encode()) for s in run_chart_sections(run) for b in s.charts)
    assert total < 3_000_000


# ---- experiment page ---------------------------------------------------------------------------

def make_runs(n: int = 12) -> list[Run]:
    runs = []
    for i in range(n):
        params = {"lr": str([0.1, 0.01, 0.001][i % 3]), "depth": str(2 + i % 4), "optimizer": ["adam", "sgd"][i % 2],
                  "seed": "1"}
        metrics = [history("loss", 30, value=lambda s, i=i: 1.0 / (s + 1) + i / 100)]
        if i != n - 1:
            metrics.append(history("f1", 1, value=lambda s, i=i: 0.5 + i / 40))
        runs.append(run_with(*metrics, run_id=f"{i:032x}", params=params, name=f"run-{i}"))
    return runs


def test_runs_frame_and_differing_params():
    runs = make_runs()
    frame = runs_frame(runs)
    assert list(frame.columns) == ["i", "id", "name", "m:f1", "m:loss", "p:depth", "p:lr", "p:optimizer", "p:seed"]
    assert differing_params(frame) == ["depth", "lr", "optimizer"]  # seed is the same everywhere


def test_best_rows_respect_the_metric_direction():
    frame = runs_frame(make_runs())
    assert best_rows(frame, "f1", 3) == [10, 9, 8]
    assert best_rows(frame, "loss", 3) == [0, 1, 2]
    assert best_rows(frame, "f1", 12)[-1] == 11  # no value: last


def test_experiment_sections_pick_charts_and_primary_metric():
    sections = experiment_sections(make_runs())
    assert [(s.name, [b.spec_id for b in s.charts]) for s in sections] == [
        ("metrics", ["fs-exp-overlay-0"]),  # f1 has one point per run: no curve to overlay
        ("runs", ["fs-exp-parallel", "fs-exp-scatter", "fs-exp-heatmap", "fs-exp-box"]),
    ]
    for block in (b for s in sections for b in s.charts):
        assert_valid_vega_lite(block.spec)
        assert_strict_json(spec_json(block.spec))


def test_overlay_of_the_best_runs_uses_short_rows_and_a_runs_lookup():
    runs = make_runs()
    best = best_rows(runs_frame(runs), "f1")
    spec = overlay_spec([runs[p] for p in best], runs_frame([runs[p] for p in best]), "loss", note="10 best runs by f1")
    rows = spec["datasets"]["points"]
    assert set(rows[0]) == {"i", "s", "v"} and len({r["i"] for r in rows}) == 10
    assert spec["datasets"]["runs"][0] == {"i": 0, "id": runs[10].run_id, "name": "run-10"}
    assert spec["transform"][0]["lookup"] == "i"
    assert spec["encoding"]["color"]["field"] == "name"
    assert spec["mark"]["type"] == "line"


def test_parallel_coordinates_axes_normalisation_and_left_out_count():
    spec = parallel_spec(runs_frame(make_runs()), "f1")
    dims = spec["datasets"]["dims"]
    assert [(d["label"], d["cat"]) for d in dims] == [("depth", 0), ("lr", 0), ("optimizer", 1), ("f1", 0)]
    rows = spec["datasets"]["wide"]
    assert len(rows) == 11  # run-11 has no f1
    assert {r["d2"] for r in rows} == {0.0, 1.0}  # adam, sgd at the ends of the axis
    assert spec["datasets"]["cats"] == [{"label": "optimizer", "y": 0.0, "text": "adam"},
                                        {"label": "optimizer", "y": 1.0, "text": "sgd"}]
    assert "1 run without a value on every axis left out" in spec["title"]["subtitle"]
    lines = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")
    assert lines["transform"][1]["fold"] == ["d0", "d1", "d2", "m"]
    assert lines["encoding"]["color"]["field"] == "m"
    assert lines["encoding"]["x"]["sort"] == ["depth", "lr", "optimizer", "f1"]
    assert "joinaggregate" in lines["transform"][2]


def test_parallel_colour_scale_points_good_the_same_way():
    frame = runs_frame(make_runs())
    assert parallel_spec(frame, "loss")["layer"][1]["encoding"]["color"]["scale"]["reverse"] is True
    assert parallel_spec(frame, "f1")["layer"][1]["encoding"]["color"]["scale"]["reverse"] is False


def test_scatter_has_named_select_params_over_numeric_fields():
    spec = scatter_spec(runs_frame(make_runs()), "f1")
    params = {p["name"]: p for p in spec["params"]}
    assert set(params) == {"scatter_x", "scatter_y"}
    assert params["scatter_x"]["bind"]["options"] == ["p0", "p1", "m0", "m1"]
    assert params["scatter_x"]["bind"]["labels"] == ["depth", "lr", "f1", "loss"]
    assert params["scatter_y"]["value"] == "m0" and params["scatter_x"]["value"] == "p0"
    assert spec["usermeta"]["fs"]["fields"] == {"p0": "depth", "p1": "lr", "m0": "f1", "m1": "loss"}
    assert "m0" not in spec["datasets"]["table"][11]  # run-11: its missing f1 is absent, not null


def test_heatmap_uses_cells_for_grid_values_and_counts_left_out():
    spec = heatmap_spec(runs_frame(make_runs()), "f1", "depth", "lr")
    assert spec["mark"]["type"] == "rect"
    assert spec["encoding"]["x"]["type"] == "ordinal" and spec["encoding"]["y"]["type"] == "ordinal"
    assert spec["encoding"]["color"]["aggregate"] == "max"
    assert spec["title"]["subtitle"].endswith("1 run without a value left out")
    runs = make_runs(40)
    for i, run in enumerate(runs):
        run.params["lr"] = str(i / 1000)  # 40 distinct values: binned
    binned = heatmap_spec(runs_frame(runs), "loss", "depth", "lr")
    assert binned["encoding"]["y"]["bin"] == {"maxbins": 10}
    assert binned["encoding"]["color"]["aggregate"] == "min"  # lower loss is better


def test_box_plot_groups_by_the_categorical_param():
    sections = experiment_sections(make_runs())
    box = next(b.spec for s in sections for b in s.charts if b.spec_id == "fs-exp-box")
    assert box["mark"]["type"] == "boxplot"
    assert box["encoding"]["x"]["field"] == "c" and box["title"]["text"] == "f1 by optimizer"
    assert {r["c"] for r in box["datasets"]["table"]} == {"adam", "sgd"}


def test_experiment_specs_are_deterministic():
    first = [spec_json(b.spec) for s in experiment_sections(make_runs()) for b in s.charts]
    second = [spec_json(b.spec) for s in experiment_sections(make_runs()) for b in s.charts]
    assert first == second
    assert not re.search(r'"(view|param|selector)_?\d+"', "".join(first))


def test_hostile_names_stay_data():
    runs = make_runs(4)
    for run in runs:
        run.params["</script><img src=x onerror=alert(1)>"] = run.run_id[-1]
    found = 0
    for block in (b for s in experiment_sections(runs) for b in s.charts):
        text = spec_json(block.spec)
        assert "<" not in text
        found += "</script><img src=x onerror=alert(1)>" in json.dumps(json.loads(text))
    assert found >= 2  # parallel coordinates axis and box plot group


def counting_runs_frame(monkeypatch) -> list[int]:
    """Wrap `runs_frame` (wherever it is imported) with a counter of the frames built: their sizes."""
    built = []
    original = experiment_charts.runs_frame

    def counted(runs):
        built.append(len(runs))
        return original(runs)

    monkeypatch.setattr(experiment_charts, "runs_frame", counted)
    monkeypatch.setattr(compare_site, "runs_frame", counted)
    return built


def test_experiment_page_builds_its_runs_table_once(monkeypatch):
    built = counting_runs_frame(monkeypatch)
    runs = make_runs()
    sections = pages.experiment_chart_sections(runs, {})
    assert [b.spec_id for s in sections for b in s.charts] == [
        "fs-exp-overlay-0", "fs-exp-parallel", "fs-exp-scatter", "fs-exp-heatmap", "fs-exp-box"]
    assert built == [12]


def test_chart_functions_only_tests_used_are_gone():
    for name in ("compare_sections", "compare_specs", "experiment_specs"):
        assert not hasattr(experiment_charts, name), name
    assert not hasattr(run_charts, "_shape") and not hasattr(run_charts, "metric_chart")


# ---- compare page ------------------------------------------------------------------------------

def test_compare_templates_filter_on_the_selected_runs_param_and_hold_no_rows():
    templates = chart_templates()
    assert sorted(templates) == ["bars", "overlay", "parallel", "scatter"]
    for name, spec in templates.items():
        assert_valid_vega_lite(spec)
        assert spec["usermeta"]["fs"]["selection"] == "url", name
        assert "selected_runs" in param_names(spec)
        assert "indexof(selected_runs, datum.id) >= 0" in json.dumps(spec)
        assert all(rows == [] for rows in spec["datasets"].values()), name  # the page brings the runs' rows
    parallel = templates["parallel"]
    # the layers compare_charts.js fills: axes, lines, numeric ticks, and the categories' ticks
    assert [layer["data"]["name"] for layer in parallel["layer"]] == ["dims", "wide", "wide", "cats"]


def test_no_metrics_no_charts():
    runs = [run_with(params={"a": "1"})]
    assert experiment_sections(runs) == []
