"""`build(config)`: what lands in OUT_DIR, determinism, the marker, cleanup, and what is never touched."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest
from site_logs import LASSO1, RIDGE, write_site_logs

from logger.model import Problem

from reporter.config import BuildConfig, ConfigError
from reporter.site.build import BuildError, build, read_data
from reporter.site.cache import CACHE_NAME
from reporter.site.writer import MARKER, SiteError


@pytest.fixture
def logs(tmp_path) -> Path:
    return write_site_logs(tmp_path / "logs")


def config(logs: Path, out: Path, **options) -> BuildConfig:
    return BuildConfig.from_options(logs, out, environ={}, **options)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_site_has_every_page_and_data_file(logs, tmp_path):
    out = tmp_path / "site"
    result = build(config(logs, out))
    assert (result.experiments, result.runs) == (2, 5)
    assert result.index_path == out / "index.html"
    for relpath in ["index.html", "compare.html", "runs-data.js", MARKER, "static/site.css", "static/table.js",
                    "static/vega-bundle.js", "experiments/houses-3b4a0f52/index.html",
                    "experiments/houses-3b4a0f52/runs.csv.gz", "experiments/houses-3b4a0f52/runs-data.js",
                    f"runs/{LASSO1}/index.html", f"runs/{LASSO1}/metrics.csv.gz",
                    f"runs/{LASSO1}/artifacts/plots/curve.png", f"runs/{LASSO1}/artifacts/model/model.json"]:
        assert (out / relpath).is_file(), relpath
    assert result.pages_written == 2 + 2 + 5  # home, compare, 2 experiments, 5 runs
    assert (out / "static/vega-bundle.js").stat().st_size > 100_000


def test_same_logs_give_byte_identical_sites_and_a_rebuild_writes_nothing(logs, tmp_path):
    build(config(logs, tmp_path / "one"))
    build(config(logs, tmp_path / "two"))
    one, two = snapshot(tmp_path / "one"), snapshot(tmp_path / "two")
    assert one.keys() == two.keys()
    # the build cache records its own folder's file times; every file of the sites is the same
    assert all(one[k][0] == two[k][0] for k in one if k != CACHE_NAME)
    again = build(config(logs, tmp_path / "one"))
    assert again.files_written == 0 and again.pages_written == 0
    assert snapshot(tmp_path / "one") == one  # not even rewritten with the same bytes


def test_no_timestamp_unless_source_date_epoch(logs, tmp_path):
    build(config(logs, tmp_path / "plain"))
    assert " on 20" not in (tmp_path / "plain/index.html").read_text()
    dated = BuildConfig.from_options(logs, tmp_path / "dated", environ={"SOURCE_DATE_EPOCH": "1700000000"})
    build(dated)
    assert "on 2023-11-14 22:13:20 UTC" in (tmp_path / "dated/index.html").read_text()


def test_refuses_a_folder_it_did_not_make_unless_forced(logs, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(SiteError, match="not made by `reporter build`.*--force"):
        build(config(logs, out))
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]
    build(config(logs, out, force=True))
    assert (out / "thesis.tex").read_text() == "precious" and (out / "index.html").is_file()
    shutil.rmtree(logs / "mnist-1c2d3e4f")
    build(config(logs, out))  # now marked as ours: cleanup still never touches the user's file
    assert (out / "thesis.tex").read_text() == "precious"


def test_pages_of_deleted_runs_are_removed_and_nothing_else(logs, tmp_path):
    out = tmp_path / "site"
    build(config(logs, out))
    (out / "runs" / "keep-me.txt").write_text("user file")
    shutil.rmtree(logs / "houses-3b4a0f52" / RIDGE)
    result = build(config(logs, out))
    # its page, metrics.csv, compare data, artifacts and folder are gone
    assert not (out / "runs" / RIDGE).exists()
    assert result.files_removed == 4
    assert (out / "runs" / "keep-me.txt").read_text() == "user file"
    assert RIDGE not in (out / "runs-data.js").read_text()


def test_log_dir_is_never_written(logs, tmp_path):
    before = snapshot(logs)
    mode = logs.stat().st_mode
    try:
        for folder in [logs, *[p for p in logs.rglob("*") if p.is_dir()]]:
            folder.chmod(0o555)
        build(config(logs, tmp_path / "site"))
    finally:
        for folder in [logs, *[p for p in logs.rglob("*") if p.is_dir()]]:
            folder.chmod(mode)
    assert snapshot(logs) == before


def test_output_and_log_dir_must_not_nest(logs):
    with pytest.raises(ConfigError, match="inside the log directory"):
        config(logs, logs / "site")
    with pytest.raises(ConfigError, match="inside the log directory"):
        config(logs, logs)
    with pytest.raises(ConfigError, match="is inside the output"):
        config(logs, logs.parent)


def test_missing_log_dir_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        config(tmp_path / "nope", tmp_path / "site")


def test_artifacts_above_the_limit_are_listed_not_copied(logs, tmp_path):
    out = tmp_path / "site"
    build(config(logs, out, max_artifact_mb=50 / (1024 * 1024)))  # 50 bytes
    run_dir = out / "runs" / LASSO1
    assert (run_dir / "artifacts/notes.txt").is_file()
    assert not (run_dir / "artifacts/plots/curve.png").exists()
    page = (run_dir / "index.html").read_text()
    assert "curve.png" in page and "not copied: larger than" in page


def test_symlinked_artifact_leading_out_of_the_run_is_not_published(logs, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2")
    link = logs / "houses-3b4a0f52" / LASSO1 / "artifacts" / "leak.txt"
    os.symlink(secret, link)
    data = read_data(logs)
    out = tmp_path / "site"
    build(config(logs, out), data=data)
    assert not (out / "runs" / LASSO1 / "artifacts/leak.txt").exists()
    assert "hunter2" not in "".join(p.read_text(errors="replace") for p in out.rglob("*.html"))


def test_strict_fails_on_reader_problems(logs, tmp_path):
    data = read_data(logs)
    data.problems.append(Problem("houses-3b4a0f52/x/run.jsonl", 3, "not JSON"))
    with pytest.raises(BuildError, match="1 problem.*--strict.*run.jsonl:3: not JSON"):
        build(config(logs, tmp_path / "site", strict=True), data=data)
    result = build(config(logs, tmp_path / "site"), data=data)
    assert len(result.problems) == 1
    assert "not JSON" in (tmp_path / "site/index.html").read_text()


def test_csv_downloads_neutralise_formulas_and_keep_every_point(logs, tmp_path):
    out = tmp_path / "site"
    build(config(logs, out))
    table = gzip.decompress((out / "experiments/houses-3b4a0f52/runs.csv.gz").read_bytes()).decode().splitlines()
    assert table[0].startswith("run_id,name,status,start_time")
    assert "params.C" in table[0] and "metrics.rmse" in table[0] and "tags.formula" in table[0]
    assert any("'=1+2" in line for line in table) and not any(",=1+2" in line for line in table)
    assert len(table) == 1 + 4
    history = gzip.decompress((out / f"runs/{LASSO1}/metrics.csv.gz").read_bytes()).decode().splitlines()
    assert history[0] == "key,step,timestamp,value"
    assert [line.split(",")[0] for line in history[1:]] == ["r2", "rmse", "rmse", "rmse"]
    assert history[-1].endswith(",2,1732700002006,0.41") or history[-1].split(",")[-1] == "0.41"
    nan = gzip.decompress((out / "runs/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee/metrics.csv.gz").read_bytes()).decode()
    assert ",NaN" in nan


def test_template_override_can_extend_the_default(logs, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "run.html").write_text('{% extends "default:run.html" %}'
                                        '{% block charts %}<p id="custom">{{ run.name }}</p>{% endblock %}')
    (templates / f"run-{RIDGE}.html").write_text('{% extends "default:run.html" %}'
                                                 '{% block charts %}<p id="only-ridge"></p>{% endblock %}')
    out = tmp_path / "site"
    build(config(logs, out, templates_dir=templates))
    lasso = (out / f"runs/{LASSO1}/index.html").read_text()
    ridge = (out / f"runs/{RIDGE}/index.html").read_text()
    assert '<p id="custom">lasso-0.1</p>' in lasso and "Parameters" in lasso
    assert 'id="only-ridge"' in ridge and 'id="custom"' not in ridge


def test_writer_refuses_paths_outside_the_site_and_partial_writes_keep_the_rest(tmp_path):
    from reporter.site.writer import SiteWriter

    writer = SiteWriter(tmp_path / "site")
    writer.open()
    writer.write("a/index.html", "A")
    writer.write("b/index.html", "B")
    for bad in ("../escape.html", "/etc/passwd", "a/../../x", MARKER):
        with pytest.raises(SiteError, match="outside the site"):
            writer.write(bad, "x")
    writer.close()
    partial = SiteWriter(tmp_path / "site")
    partial.open()
    partial.write("a/index.html", "A2")
    partial.close(prune=False)  # what `serve` does when it re-renders one page
    assert (tmp_path / "site/b/index.html").read_text() == "B"
    full = SiteWriter(tmp_path / "site")
    full.open()
    full.write("a/index.html", "A2")
    full.close()
    assert not (tmp_path / "site/b").exists() and (tmp_path / "site/a/index.html").read_text() == "A2"
    assert not list((tmp_path / "site").rglob(".tmp-*"))
