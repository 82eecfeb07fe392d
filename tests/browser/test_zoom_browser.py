"""Zoom into a long series (#18), in Chromium over file://: a 200,000-point run page draws its inline level
(1,000 buckets), a wheel zoom loads only the chunk files of the finer level that cover the visible range,
and the drawn points then show a spike that the inline level hid inside a bucket; zooming out draws the
inline level again.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from pathlib import Path

import orjson
import pytest

from tests.serving import Server

from reporter.charts.chunks import zoom_id
from reporter.charts.run import page_spec
from reporter.config import BuildConfig
from reporter.site.build import build

pytestmark = pytest.mark.browser

T0 = 1_732_700_000_000
N = 200_000
SPIKE_STEP = 123_457
SPIKE = 50.0
RUN_ID = "ab" * 16


def value(step: int) -> float:
    return 1.0 + 0.1 * math.sin(step / 500) + (SPIKE if step == SPIKE_STEP else 0.0)


def write_logs(folder: Path) -> Path:
    experiment = folder / "exp"
    (experiment / RUN_ID).mkdir(parents=True)
    (experiment / "experiment.jsonl").write_bytes(orjson.dumps(
        {"v": 1, "kind": "experiment", "t": T0, "experiment_id": "exp", "name": "exp", "artifact_location": None}) + b"\n")
    with open(experiment / RUN_ID / "run.jsonl", "wb") as file:
        file.write(orjson.dumps({"v": 1, "kind": "start", "t": T0, "run_id": RUN_ID, "experiment_id": "exp",
                                 "name": "long", "parent_run_id": None, "description": None, "system": {}}) + b"\n")
        file.write(b"".join(orjson.dumps({"v": 1, "kind": "metric", "t": T0 + i, "key": "loss", "value": value(i),
                                          "step": i}) + b"\n" for i in range(N)))
        # a short series at uneven times: a plain chart, inline whole
        file.write(b"".join(orjson.dumps({"v": 1, "kind": "metric", "t": T0 + i * i * 7, "key": "lr",
                                          "value": 0.1 / (i + 1), "step": 5 * i}) + b"\n" for i in range(50)))
        file.write(orjson.dumps({"v": 1, "kind": "end", "t": T0 + N, "status": "FINISHED"}) + b"\n")
    return folder


@pytest.fixture(scope="module")
def logs():
    with tempfile.TemporaryDirectory(prefix="fs-zoom-") as name:
        yield write_logs(Path(name) / "logs")


@pytest.fixture(scope="module")
def site(logs):
    with tempfile.TemporaryDirectory(prefix="fs-zoom-site-") as name:
        build(BuildConfig.from_options(logs, Path(name) / "site", environ={}))
        yield Path(name) / "site"


@pytest.fixture
def open_page(chromium):
    errors: list[str] = []
    contexts = []

    def open_(url: str):
        context = chromium.new_context(viewport={"width": 1000, "height": 900})
        contexts.append(context)
        page = context.new_page()
        # a failed page resource is caught by its response below (the browser's own favicon.ico 404 is not one)
        page.on("console", lambda msg: msg.type == "error" and not msg.text.startswith("Failed to load resource")
                and errors.append(msg.text))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))
        page.requests = []
        page.on("request", lambda request: page.requests.append(request.url.rsplit("/", 1)[-1]))
        page.goto(url)
        page.evaluate("() => FlowsheetCharts.ready.then(() => FlowsheetCharts.drawAll())")
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], f"console errors: {errors}"


@pytest.fixture
def page(open_page, site):
    return open_page((site / "runs" / RUN_ID / "index.html").as_uri())


def chunk_requests(page) -> list[str]:
    """The chunk files asked for, by name (the `?n=` the page adds to dodge stale caches left out)."""
    return sorted(name.partition("?")[0] for name in page.requests if name.startswith(zoom_id("loss")))


def drawn_points(page) -> int:
    """Hover points: one symbol per drawn row (invisible until hovered, but drawn)."""
    return page.locator('[data-spec-id="fs-metric-0"] g.hover_points_marks path').count()


def highest_drawn_value(page) -> float:
    """The largest last value among the rows drawn in the visible x range (read back from the live view)."""
    return page.evaluate("""() => {
        const view = FlowsheetCharts.charts[0].view, [a, b] = view.scale('x').domain();
        return Math.max(...view.data('points').filter(r => r.s >= a && r.s <= b).map(r => r.v)); }""")


def zoom_in_at_spike(page, wheels: int, x: float = SPIKE_STEP) -> None:
    """Wheel zoom with the pointer on the spike (at `x` on the x axis; found again after each event: the anchor
    drifts a pixel)."""
    page.evaluate("() => { FlowsheetZoom.settleMs = 2000; }")  # one gesture, even on a slow shared machine
    for _ in range(wheels):
        view_box = page.locator('[data-spec-id="fs-metric-0"] svg').bounding_box()
        px, py = page.evaluate(f"""() => {{ const view = FlowsheetCharts.charts[0].view;
            return [view.origin()[0] + view.scale('x')({x}), view.origin()[1] + 60]; }}""")
        page.mouse.move(view_box["x"] + px, view_box["y"] + py)
        page.mouse.wheel(0, -1000)  # Vega-Lite zooms by 1.001 ** deltaY: x0.37 per event
    page.wait_for_function("() => { const s = FlowsheetZoom.status['fs-metric-0']; return s && !s.busy && s.level > 0; }")


def test_charts_js_expands_the_compact_charts_into_the_specs_python_makes(page, site):
    html = (site / "runs" / RUN_ID / "index.html").read_text(encoding="utf-8")
    forms = {m[0]: json.loads(m[1]) for m in re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>',
                                                         html)}
    assert sorted(forms) == ["fs-metric-0", "fs-metric-1"] and all("template" in f for f in forms.values())
    drawn = page.evaluate("() => FlowsheetCharts.charts.map(c => [c.id, c.spec])")
    assert {spec_id: spec for spec_id, spec in drawn} == {spec_id: page_spec(f, forms) for spec_id, f in forms.items()}
    assert page.locator('[data-spec-id="fs-metric-1"] g.hover_points_marks path').count() == 50
    assert chunk_requests(page) == []


def test_first_view_draws_the_inline_level_and_loads_no_chunk(page):
    assert drawn_points(page) == 1000  # 200 points per bucket
    assert chunk_requests(page) == []
    # the spike is inside the band (its bucket's max) but no drawn last value shows it
    assert highest_drawn_value(page) < 2
    highest_band = page.evaluate("() => Math.max(...FlowsheetCharts.charts[0].view.data('points').map(r => r.hi))")
    assert highest_band == pytest.approx(value(SPIKE_STEP), rel=1e-6)


def test_zooming_loads_the_finer_chunks_of_the_visible_range_only_and_shows_the_spike(page):
    zoom_in_at_spike(page, wheels=5)  # 0.37**5: under 1% of the range, about 1,300 points
    status = page.evaluate("() => FlowsheetZoom.status['fs-metric-0']")
    assert status["level"] == 3  # the points themselves (level 2 has 4 points a bucket: too few buckets)
    loaded = chunk_requests(page)
    # level 3 chunks hold 4,096 points: the spike's (123,457 // 4,096 = 30) and at most one neighbour
    assert loaded and len(loaded) <= 2 and f"{zoom_id('loss')}-3-30.js" in loaded
    assert set(loaded) == set(status["chunks"])
    a, b = page.evaluate("() => FlowsheetCharts.charts[0].view.scale('x').domain()")
    assert b - a < 0.01 * N
    assert highest_drawn_value(page) == pytest.approx(value(SPIKE_STEP), rel=1e-6)  # the exact point is drawn
    # the points of the visible range (as level 0 finds it: up to a 200-point bucket more on each side) and of
    # half of it on each side (less where the loaded chunks end), level 0 elsewhere
    extra = drawn_points(page) - 1000
    assert 0.9 * (b - a) <= extra <= 2 * (b - a + 2 * 200) + 2

    box = page.locator('[data-spec-id="fs-metric-0"] svg').bounding_box()
    page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => { const s = FlowsheetZoom.status['fs-metric-0']; return !s.busy && s.level === 0; }")
    assert drawn_points(page) == 1000
    assert highest_drawn_value(page) < 2


def test_zooming_on_a_relative_time_axis_finds_the_same_points(page):
    page.evaluate("() => FlowsheetCharts.setXMode('rel')")
    divisor = page.evaluate("() => FlowsheetCharts.meta(FlowsheetCharts.charts[0].spec).zoom.divisor")
    assert divisor == 60_000  # the run spans 200 s: minutes
    zoom_in_at_spike(page, wheels=5, x=SPIKE_STEP / divisor)  # the spike was logged SPIKE_STEP ms after the start
    assert page.evaluate("() => FlowsheetZoom.status['fs-metric-0'].level") == 3
    assert f"{zoom_id('loss')}-3-30.js" in chunk_requests(page)
    highest = page.evaluate(f"""() => {{
        const view = FlowsheetCharts.charts[0].view, [a, b] = view.scale('x').domain();
        return Math.max(...view.data('points').filter(r => r.t / {divisor} >= a && r.t / {divisor} <= b).map(r => r.v)); }}""")
    assert highest == pytest.approx(value(SPIKE_STEP), rel=1e-6)


def test_a_middle_zoom_loads_the_middle_level(page):
    zoom_in_at_spike(page, wheels=2)  # 0.37**2 = 14% of the range: 28,000 points, 1,100 buckets of 25
    status = page.evaluate("() => FlowsheetZoom.status['fs-metric-0']")
    assert status["level"] == 1
    assert all(f"{zoom_id('loss')}-1-" in name for name in chunk_requests(page))
    assert 1 <= len(chunk_requests(page)) <= 2


def test_the_live_page_of_reporter_serve_zooms_too(logs, open_page, tmp_path):
    server = Server(tmp_path, logs)
    try:
        server.wait_ready()
        page = open_page(f"{server.url}runs/{RUN_ID}/index.html")
        zoom_in_at_spike(page, wheels=5)
        assert page.evaluate("() => FlowsheetZoom.status['fs-metric-0'].level") == 3
        assert f"{zoom_id('loss')}-3-30.js" in chunk_requests(page)
        assert highest_drawn_value(page) == pytest.approx(value(SPIKE_STEP), rel=1e-6)
    finally:
        assert server.stop() == 0, server.text()


def test_panning_a_zoomed_chart_loads_the_neighbouring_chunk(page):
    zoom_in_at_spike(page, wheels=5)
    before = set(chunk_requests(page))
    a, b = page.evaluate("() => FlowsheetCharts.charts[0].view.scale('x').domain()")
    box = page.locator('[data-spec-id="fs-metric-0"] svg').bounding_box()
    origin, width = page.evaluate("() => [FlowsheetCharts.charts[0].view.origin(), FlowsheetCharts.charts[0].view.width()]")
    y = box["y"] + origin[1] + 60
    for _ in range(4):  # drag right to left, 90% of the plot each time: the range moves on by ~3.6 widths
        page.mouse.move(box["x"] + origin[0] + width * 0.95, y)
        page.mouse.down()
        page.mouse.move(box["x"] + origin[0] + width * 0.05, y, steps=4)
        page.mouse.up()
    page.wait_for_function(f"() => {{ const s = FlowsheetZoom.status['fs-metric-0'];"
                           f" return !s.busy && s.level === 3 && FlowsheetCharts.charts[0].view.scale('x').domain()[0] > {b}; }}")
    a2, b2 = page.evaluate("() => FlowsheetCharts.charts[0].view.scale('x').domain()")
    assert b2 - a2 == pytest.approx(b - a, rel=1e-6)  # panned, not zoomed
    wanted = {f"{zoom_id('loss')}-3-{c}.js" for c in range(int(a2) // 4096, int(b2) // 4096 + 1)}
    assert wanted <= set(chunk_requests(page))  # the chunks under the new range, loaded when needed
    assert set(chunk_requests(page)) - before <= wanted | {f"{zoom_id('loss')}-3-{c}.js" for c in range(29, 33)}
    rows = page.evaluate(f"() => FlowsheetCharts.charts[0].view.data('points').filter(r => r.s >= {a2} && r.s <= {b2}).length")
    assert rows >= int(b2 - a2) - 1  # every point of the new range is drawn
