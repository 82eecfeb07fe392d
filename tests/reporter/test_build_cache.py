"""A second `reporter build` keeps what did not change (the build cache) and makes the same site as a cold build."""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
from pathlib import Path

import pytest
from mixed_logs import write_mixed_logs
from site_logs import CNN, HOUSES, LASSO1, LASSO2, MNIST, RIDGE, SWEEP, T0, _lines

import logger

from reporter.assets import templates_dir
from reporter.config import BuildConfig
from reporter.site import build as build_module
from reporter.site import inputs, parallel
from reporter.site.build import build
from reporter.site.cache import CACHE_NAME
from reporter.site.writer import MARKER


@pytest.fixture
def logs(tmp_path) -> Path:
    from site_logs import write_site_logs

    return write_site_logs(tmp_path / "logs")


def config(logs: Path, out: Path, **options) -> BuildConfig:
    return BuildConfig.from_options(logs, out, environ={}, **options)


def site_files(folder: Path) -> dict[str, bytes]:
    """Every file of a site but the build cache (which a cold build of other logs has too, with other digests)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != CACHE_NAME}


def same_as_cold(logs: Path, site: Path, tmp_path: Path, **options) -> None:
    cold = tmp_path / f"cold-{len(list(tmp_path.iterdir()))}"
    build(config(logs, cold, **options))
    assert site_files(site) == site_files(cold)


def append_metric(logs: Path, experiment: str, run_id: str, step: int = 9, value: float = 0.25) -> None:
    _lines(logs / experiment / run_id / "run.jsonl",
           [{"kind": "metric", "t": T0 + 90_000 + step, "key": "rmse", "value": value, "step": step}])


def test_second_build_without_changes_renders_nothing(logs, tmp_path):
    site = tmp_path / "site"
    first = build(config(logs, site))
    assert first.cache.startswith("full build (no build cache)")
    assert first.units_made == 1 + 2 + 5 and first.pages_rendered == 2 + 2 + 5
    second = build(config(logs, site))
    assert (second.units_made, second.units_kept, second.pages_rendered) == (0, 8, 0)
    assert second.cache.startswith("incremental")
    assert second.files_removed == 0
    assert [str(p) for p in second.problems] == [str(p) for p in first.problems]
    same_as_cold(logs, site, tmp_path)


def test_an_appended_line_renders_that_run_and_the_pages_showing_it(logs, tmp_path):
    site = tmp_path / "site"
    build(config(logs, site))
    append_metric(logs, HOUSES, LASSO2)
    result = build(config(logs, site))
    # the run, its experiment, the home unit (home + compare); its parent lists only its name and status
    assert (result.units_made, result.units_kept) == (3, 5)
    assert result.pages_rendered == 4
    assert "0.25" in gzip.decompress((site / "runs" / LASSO2 / "metrics.csv.gz").read_bytes()).decode()
    same_as_cold(logs, site, tmp_path)


def test_renamed_parent_renders_its_children(logs, tmp_path):
    site = tmp_path / "site"
    build(config(logs, site))
    _lines(logs / HOUSES / SWEEP / "run.jsonl", [{"kind": "tag", "t": T0 + 99_000, "key": "mlflow.runName",
                                                 "value": "grid-sweep"}])
    result = build(config(logs, site))
    # the parent, both children (they name it), its experiment and the home unit; not ridge nor mnist
    assert (result.units_made, result.units_kept) == (5, 3)
    assert "grid-sweep" in (site / "runs" / LASSO1 / "index.html").read_text()
    same_as_cold(logs, site, tmp_path)


def test_renamed_experiment_renders_its_runs(logs, tmp_path):
    site = tmp_path / "site"
    build(config(logs, site))
    path = logs / MNIST / "experiment.jsonl"  # the first experiment line names it: the file is rewritten
    path.write_text(path.read_text().replace('"name": "mnist"', '"name": "digits"'))
    result = build(config(logs, site))
    assert "digits" in (site / "runs" / CNN / "index.html").read_text()
    assert result.units_made == 3  # home, the experiment, its one run
    same_as_cold(logs, site, tmp_path)


def test_deleted_run_is_removed_and_its_neighbours_follow(logs, tmp_path):
    site = tmp_path / "site"
    build(config(logs, site))
    _lines(logs / HOUSES / LASSO2 / "run.jsonl", [{"kind": "deleted", "t": T0 + 99_000}])
    result = build(config(logs, site))
    assert not (site / "runs" / LASSO2).exists()
    assert result.files_removed > 0
    assert result.units_made == 3  # home, houses, the parent that listed it
    same_as_cold(logs, site, tmp_path)


@pytest.mark.parametrize("how", ["truncated", "replaced"])
def test_run_file_truncated_or_replaced_is_read_again(logs, tmp_path, how):
    site = tmp_path / "site"
    build(config(logs, site))
    path = logs / HOUSES / LASSO1 / "run.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    shorter = b"".join(line for line in lines if b'"rmse"' not in line or b'"step": 0' in line)
    if how == "truncated":
        path.write_bytes(shorter)  # same file, fewer bytes
    else:
        path.unlink()
        path.write_bytes(shorter.replace(b'"value": 0.9', b'"value": 0.7'))  # another inode
    result = build(config(logs, site))
    assert f"runs/{LASSO1}/index.html" in {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    assert result.units_made == 3
    same_as_cold(logs, site, tmp_path)


def test_a_changed_artifact_file_is_copied_again(logs, tmp_path):
    site = tmp_path / "site"
    build(config(logs, site))
    (logs / HOUSES / LASSO1 / "artifacts" / "notes.txt").write_bytes(b"a longer artifact than before\n")
    result = build(config(logs, site))
    assert result.units_made == 3  # the run (its preview), its experiment, the home unit
    assert "a longer artifact" in (site / "runs" / LASSO1 / "index.html").read_text()
    same_as_cold(logs, site, tmp_path)


def test_a_library_upgrade_rebuilds_everything(logs, tmp_path, monkeypatch):
    site = tmp_path / "site"
    build(config(logs, site))
    monkeypatch.setattr(inputs, "_library_versions", lambda: {"altair": "99.0"})
    result = build(config(logs, site))
    assert result.units_kept == 0 and "changed" in result.cache


def test_template_option_and_version_changes_rebuild_everything(logs, tmp_path, monkeypatch):
    site = tmp_path / "site"
    build(config(logs, site))
    templates = tmp_path / "templates"
    templates.mkdir()
    base = (templates_dir() / "base.html").read_text(encoding="utf-8")
    (templates / "base.html").write_text(base.replace("Built with flowsheet{", "Built by hand{"), encoding="utf-8")
    changed = build(config(logs, site, templates_dir=templates))
    assert (changed.units_kept, changed.units_made) == (0, 8) and "changed" in changed.cache
    assert "Built by hand." in (site / "runs" / RIDGE / "index.html").read_text()
    titled = build(config(logs, site, title="Other title"))
    assert titled.units_kept == 0
    monkeypatch.setattr(logger, "__version__", "99.0")
    assert build(config(logs, site, title="Other title")).units_kept == 0
    monkeypatch.undo()
    assert build(config(logs, site, title="Other title")).units_kept == 0  # the 99.0 build left its own cache
    assert build(config(logs, site, title="Other title")).units_kept == 8
    same_as_cold(logs, site, tmp_path, title="Other title")


def cache_document(site: Path) -> dict:
    return json.loads((site / CACHE_NAME).read_text())


def broken_caches(document: dict, outside: Path) -> dict[str, bytes]:
    run_unit = f"run:{RIDGE}"
    files = document["units"][run_unit]["files"]
    cases = {
        "not json": b"\x00\xff{not json",
        "a list": b"[]",
        "other format": json.dumps({**document, "format": "pelican"}).encode(),
        "other version": json.dumps({**document, "version": 0}).encode(),
        "units a list": json.dumps({**document, "units": []}).encode(),
    }
    bad_units = {
        "digest a number": {"digest": 5, "files": files},
        "files a string": {"digest": "0" * 64, "files": "index.html"},
        "file sizes as text": {"digest": "0" * 64, "files": [[f[0], str(f[1]), f[2]] for f in files]},
        "a file outside": {"digest": document["units"][run_unit]["digest"], "files": files + [[str(outside), 1, 1]]},
        "a path out": {"digest": document["units"][run_unit]["digest"], "files": files + [["../outside.txt", 1, 1]]},
        "problems a dict": {"digest": document["units"][run_unit]["digest"], "files": files, "problems": {}},
    }
    for name, unit in bad_units.items():
        cases[name] = json.dumps({**document, "units": {**document["units"], run_unit: unit}}).encode()
    return cases


def test_a_corrupt_or_foreign_cache_is_ignored(logs, tmp_path):
    site = tmp_path / "site"
    build(config(logs, site))
    document = cache_document(site)
    outside = tmp_path / "outside.txt"
    outside.write_text("the user's\n")
    for name, content in broken_caches(document, outside).items():
        (site / CACHE_NAME).write_bytes(content)
        result = build(config(logs, site))
        assert (result.units_kept, result.units_made) == (0, 8), name
        assert result.cache.startswith("full build"), name
        assert outside.read_text() == "the user's\n", name
        assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "outside.txt", "site"], name
    same_as_cold(logs, site, tmp_path)


def test_a_cache_that_is_a_link_is_not_followed(logs, tmp_path):
    site = tmp_path / "site"
    build(config(logs, site))
    elsewhere = tmp_path / "elsewhere.json"
    os.replace(site / CACHE_NAME, elsewhere)
    (site / CACHE_NAME).symlink_to(elsewhere)
    result = build(config(logs, site))
    assert result.units_kept == 0 and "regular file" in result.cache
    assert elsewhere.exists() and not (site / CACHE_NAME).is_symlink()


def test_a_page_edited_since_the_last_build_is_made_again(logs, tmp_path):
    site = tmp_path / "site"
    build(config(logs, site))
    page = site / "runs" / RIDGE / "index.html"
    page.write_text("edited by hand")
    result = build(config(logs, site))
    assert result.units_made == 1 and page.read_text() != "edited by hand"
    same_as_cold(logs, site, tmp_path)


def test_an_interrupted_build_leaves_no_cache(logs, tmp_path, monkeypatch):
    site = tmp_path / "site"
    build(config(logs, site))
    append_metric(logs, MNIST, CNN)
    real = build_module.plan_run

    def failing(data, run_id, *args, **kwargs):
        if run_id == CNN:
            raise KeyboardInterrupt
        return real(data, run_id, *args, **kwargs)

    monkeypatch.setattr(build_module, "plan_run", failing)
    with pytest.raises(KeyboardInterrupt):
        build(config(logs, site))
    assert not (site / CACHE_NAME).exists()
    monkeypatch.undo()
    result = build(config(logs, site))
    assert result.units_kept == 0
    same_as_cold(logs, site, tmp_path)


def test_other_log_formats_build_again_the_same(tmp_path):
    logs = write_mixed_logs(tmp_path / "mixed")
    site = tmp_path / "site"
    first = build(config(logs, site))
    second = build(config(logs, site))
    assert second.units_made == 0 and second.units_kept == first.units_made
    same_as_cold(logs, site, tmp_path)
    assert (site / MARKER).exists()
    # a point appended to an MLflow file store's metric: that run is made again, and only the pages showing it
    metric = logs / "mlruns" / "536080675406155678" / "9e6684c2dc9141e8ad4c6415f883cd70" / "metrics" / "loss"
    with open(metric, "a", encoding="utf-8") as handle:
        handle.write("1795750746999 0.125 99\n")
    third = build(config(logs, site))
    assert third.units_made == 3 and third.units_kept == first.units_made - 3
    assert "0.125" in gzip.decompress((site / "runs" / "9e6684c2dc9141e8ad4c6415f883cd70" / "metrics.csv.gz").read_bytes()).decode()
    same_as_cold(logs, site, tmp_path)



# ---- parallel cold builds (reporter/site/parallel.py)

forks = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="the pool forks")


@forks
def test_parallel_and_serial_builds_make_the_same_site(logs, tmp_path, monkeypatch):
    used = []
    real = parallel.run_in_pool

    def counting(units, writer, make, workers, meanwhile):
        used.append((len(units), workers))
        return real(units, writer, make, workers, meanwhile)

    monkeypatch.setattr("reporter.site.incremental.run_in_pool", counting)
    serial = build(config(logs, tmp_path / "serial"), jobs=1)
    assert used == []
    pooled = build(config(logs, tmp_path / "pooled"), jobs=2)
    assert used == [(5, 2)]  # the five run pages, in two processes
    assert site_files(tmp_path / "serial") == site_files(tmp_path / "pooled")
    assert (pooled.pages_rendered, pooled.files_written, pooled.units_made) == \
        (serial.pages_rendered, serial.files_written, serial.units_made)
    assert [str(p) for p in pooled.problems] == [str(p) for p in serial.problems]
    # the pool's files are in the manifest: a second build keeps them all, and removes none
    _lines(logs / HOUSES / LASSO2 / "run.jsonl", [{"kind": "metric", "t": T0 + 99_000, "key": "rmse",
                                                  "value": 0.3, "step": 7}])
    again = build(config(logs, tmp_path / "pooled"), jobs=2)
    assert (again.units_made, again.files_removed) == (3, 0)
    same_as_cold(logs, tmp_path / "pooled", tmp_path)


@forks
def test_the_pool_is_used_only_when_it_pays(monkeypatch):
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert parallel.workers_for(10, None) == 0  # a few pages: serial
    assert parallel.workers_for(10_000, None) == 4
    assert parallel.workers_for(10_000, 1) == 0
    assert parallel.workers_for(3, 2) == 2
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert parallel.workers_for(10_000, None) == 0  # two cores: the pool costs memory and saves no time
    assert parallel.workers_for(10_000, 2) == 2
