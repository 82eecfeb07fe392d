"""The zoom levels a site writes agree with the run page that loads them (#18 review findings)."""

from __future__ import annotations

import re

import orjson

from logger.reader import read_logs
from tests.logwriting import metric, write_experiment, write_run

from reporter.config import BuildConfig
from reporter.site.build import build, plan_run, publishable
from reporter.site.pages import site_index

RUN = "cd" * 16
START = 5_000_000


def chunk_payload(path) -> dict:
    text = path.read_text(encoding="utf-8")
    return orjson.loads(text[text.index("(") + 1:text.rindex(")")])


def test_chunks_count_time_from_the_same_origin_as_the_page(tmp_path):
    """A one-point metric logged before the run started (no chart of its own) must not move the chunks' time
    zero away from the page's: on a relative or wall-clock axis the finer rows would be drawn elsewhere."""
    experiment = write_experiment(tmp_path / "logs", "exp")
    events = [metric("lr", 0.1, 0, t=1000)] + [metric("loss", 1.0 / (i + 1), i, t=START + i) for i in range(3000)]
    write_run(experiment, RUN, events, name="long", t=START)
    build(BuildConfig.from_options(tmp_path / "logs", tmp_path / "site", environ={}))
    page = (tmp_path / "site" / "runs" / RUN / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'"origin":(\d+)', page) == [str(START)]
    chunks = sorted((tmp_path / "site" / "runs" / RUN / "zoom").glob("*-1-0.js"))
    assert len(chunks) == 1
    first = chunk_payload(chunks[0])["t"]
    first_time = first["first"] if isinstance(first, dict) else first[0]
    assert 0 <= first_time < 3000  # relative to the run's start, as the page's inline level is


def test_a_run_page_without_its_downloads_names_no_zoom_chunks(tmp_path):
    """`reporter serve`'s light rebuilds leave the chunks for later: the page then must not point at chunk files
    cut for fewer points."""
    experiment = write_experiment(tmp_path / "logs", "exp")
    write_run(experiment, RUN, [metric("loss", 1.0 / (i + 1), i, t=START + i) for i in range(3000)], t=START)
    config = BuildConfig.from_options(tmp_path / "logs", tmp_path / "site", environ={})
    data, _ = publishable(read_logs(tmp_path / "logs"), config)
    index = site_index(data)
    for downloads in (True, False):
        plan = plan_run(data, RUN, config, frozenset(), index, downloads=downloads)
        page = plan.pages[0]
        charts = repr([chart for section in page.context["charts"] for chart in section.charts])
        assert ("'origin':" in charts) is downloads  # the zoom setup of a long series
        assert any("/zoom/" in path for path in plan.files) is downloads
