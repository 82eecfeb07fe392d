"""The site's full downloads: metrics.csv.gz and runs.csv.gz hold exactly the CSV a user expects, are
the same bytes for the same logs, are made a chunk at a time, and can be left out."""

from __future__ import annotations

import csv
import gzip
import io
import math
import tracemalloc
from array import array

import pytest
from bs4 import BeautifulSoup

from logger.model import MetricHistory, Run
from tests.logwriting import metric, write_experiment, write_run

from reporter.config import BuildConfig
from reporter.site import tables
from reporter.site.build import build
from reporter.site.downloads import FLUSH_BYTES, gzipped
from reporter.site.writer import SiteWriter

RUN = "ab" * 16
T = 1_732_700_000_000


def logged_points() -> dict[str, list[tuple[int, int, float | str]]]:
    """Points by key as the log holds them (step, time, value); NaN and the infinities are strings there."""
    return {
        "loss": [(step, T + step, 1.0 / (step + 1)) for step in range(25_000)],  # more than one chunk of rows
        "acc": [(0, T, 0.5), (1, T + 1, "NaN"), (2, T + 2, "Infinity"), (3, T + 3, "-Infinity"), (4, T + 4, -0.0)],
        "=cmd|x": [(0, T, 3.0)],  # a spreadsheet formula as a key
        'a,"b"': [(7, T + 7, 1e-300)],  # a key the CSV must quote
        "m10": [(0, T, 2.0)],
        "m2": [(0, T, 1.0)],
    }


def expected_csv(points: dict[str, list[tuple[int, int, float | str]]]) -> str:
    """The download as the user expects it, made here with the csv module: keys in natural order (m2 before
    m10), a formula key behind an apostrophe, values as Python writes floats, NaN and the infinities by name."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["key", "step", "timestamp", "value"])
    for key in ["'=cmd|x", 'a,"b"', "acc", "loss", "m2", "m10"]:
        for step, stamp, value in points[key.lstrip("'")]:
            writer.writerow([key, step, stamp, value if isinstance(value, str) else repr(value)])
    return out.getvalue()


@pytest.fixture
def site(tmp_path):
    points = logged_points()
    experiment = write_experiment(tmp_path / "logs", "exp")
    write_run(experiment, RUN, [metric(key, value, step, t) for key, rows in points.items()
                                for step, t, value in rows], name="r")
    build(BuildConfig.from_options(tmp_path / "logs", tmp_path / "site", environ={}))
    return tmp_path / "site"


def test_metrics_download_is_gzip_and_holds_exactly_every_point(site):
    data = (site / f"runs/{RUN}/metrics.csv.gz").read_bytes()
    assert data[:2] == b"\x1f\x8b"  # a gzip file, whatever a host says of its type
    text = gzip.decompress(data).decode("utf-8")
    assert text == expected_csv(logged_points())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [float(r["value"]) for r in rows if r["key"] == "acc"][1:4] == pytest.approx([math.nan, math.inf, -math.inf],
                                                                                      nan_ok=True)
    assert not (site / f"runs/{RUN}/metrics.csv").exists()


def test_the_gzip_header_has_no_time_and_no_name_so_a_rebuild_writes_nothing(site, tmp_path):
    path = site / f"runs/{RUN}/metrics.csv.gz"
    data = path.read_bytes()
    assert data[4:8] == b"\0\0\0\0" and not data[3] & 0x08  # MTIME 0; no FNAME (RFC 1952)
    before = path.stat().st_mtime_ns
    again = build(BuildConfig.from_options(tmp_path / "logs", site, environ={}))
    assert again.files_written == 0 and path.stat().st_mtime_ns == before and path.read_bytes() == data


def test_runs_download_is_the_runs_table_compressed(site):
    for relpath in ("runs.csv.gz", "experiments/exp-00000003/runs.csv.gz"):
        [row] = list(csv.DictReader(io.StringIO(gzip.decompress((site / relpath).read_bytes()).decode("utf-8"))))
        assert row["run_id"] == RUN and row["name"] == "r" and row["metrics.loss"] == repr(1.0 / 25_000)


def test_the_run_page_links_the_download_and_says_what_it_is(site):
    page = BeautifulSoup((site / f"runs/{RUN}/index.html").read_text(encoding="utf-8"), "html.parser")
    link = page.find("a", href="metrics.csv.gz")
    assert link.get_text() == "full history as gzip-compressed CSV" and link.has_attr("download")
    assert not link.has_attr("title")  # the text says it all: run pages stay lean (test_lean_run_page.py)


def test_no_history_downloads_leaves_the_file_its_link_and_the_zoom_levels_out(tmp_path, site):
    assert list((site / f"runs/{RUN}/zoom").glob("*.js"))  # 25,000 points: the full site has finer levels
    out = tmp_path / "lean"
    build(BuildConfig.from_options(tmp_path / "logs", out, environ={}, history_downloads=False))
    assert not list(out.rglob("metrics.csv*")) and not (out / f"runs/{RUN}/zoom").exists()
    page = (out / f"runs/{RUN}/index.html").read_text(encoding="utf-8")
    assert "metrics.csv" not in page and "full history" not in page and "zoom/" not in page
    assert (out / "runs.csv.gz").is_file()  # the runs tables stay


def long_run(points: int) -> Run:
    history = MetricHistory("loss", array("q", range(points)), array("d", (i / 7 for i in range(points))),
                            array("q", range(T, T + points)))
    return Run(run_id=RUN, experiment_id="e", name="long", path="", metrics={"loss": history})


def test_a_long_history_is_made_and_written_a_chunk_at_a_time(tmp_path):
    """200,000 points make ~9 MB of CSV; writing their download never holds more than a few chunks."""
    run = long_run(200_000)
    writer = SiteWriter(tmp_path / "site")
    writer.open()
    tracemalloc.start()
    try:
        writer.write("metrics.csv.gz", gzipped(tables.metrics_csv_chunks(run)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    text = gzip.decompress((tmp_path / "site/metrics.csv.gz").read_bytes()).decode()
    assert len(text) > 8_000_000 and text.count("\n") == 1 + 200_000
    assert peak < 4_000_000, f"{peak:,} bytes traced while writing {len(text):,} bytes of CSV"
    pieces = list(gzipped(tables.metrics_csv_chunks(run)))
    assert len(pieces) > 1 and max(len(piece) for piece in pieces) < 2 * FLUSH_BYTES


def test_a_streamed_write_keeps_an_unchanged_file_and_a_failed_one_keeps_the_old(tmp_path):
    writer = SiteWriter(tmp_path / "site")
    writer.open()
    assert writer.write("a.gz", iter([b"one", b"two"]))
    stamp = (tmp_path / "site/a.gz").stat().st_mtime_ns
    assert not writer.write("a.gz", iter([b"onet", b"wo"]))  # the same bytes in other chunks
    assert (tmp_path / "site/a.gz").stat().st_mtime_ns == stamp and writer.stats.unchanged == 1

    def failing():
        yield b"half"
        raise OSError("disk full")

    with pytest.raises(OSError):
        writer.write("a.gz", failing())
    assert (tmp_path / "site/a.gz").read_bytes() == b"onetwo"
    assert not list((tmp_path / "site").glob(".tmp-*"))
    assert writer.write("a.gz", iter([b"three"])) and (tmp_path / "site/a.gz").read_bytes() == b"three"
