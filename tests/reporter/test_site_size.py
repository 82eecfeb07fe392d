"""The site's size after `reporter build`: measured from the writer's manifest, printed, and warned about
(named, with the biggest parts and the option that slims each) when it passes the publishing limits.

The limits are parameters, so the tests use small ones instead of writing a gigabyte."""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil

import pytest
from site_logs import LASSO1, T0, experiment, run, write_site_logs

from reporter.commands.build import build_site
from reporter.config import BuildConfig
from reporter.site.build import build
from reporter.site.cache import CACHE_NAME
from reporter.site.size import SizeLimits, measure_site
from reporter.site.writer import MARKER

BIG = "f" * 32
METRICS, POINTS = 4, 25_000
ARTIFACT_BYTES = 2_000_000


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """One run of 4 noisy metrics x 25,000 points (about 4.5 MB of CSV) and a 2 MB artifact, built."""
    root = tmp_path_factory.mktemp("size")
    rng = random.Random(18)
    folder = experiment(root / "logs", "big-00000001", "big")
    run(folder, BIG, "big", T0, metrics={f"m{m}": [(s, 1 / (s + 1) + rng.gauss(0, 0.05)) for s in range(POINTS)]
                                         for m in range(METRICS)},
        artifacts={"weights.bin": rng.randbytes(ARTIFACT_BYTES)})
    config = BuildConfig.from_options(root / "logs", root / "site", environ={})
    build(config)
    return config


def files_on_disk(folder):
    """What a publish takes: every file but the build cache, which stays in the local folder."""
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*")
            if p.is_file() and p.name != CACHE_NAME}


def test_the_size_is_every_file_the_build_wrote(big):
    size = measure_site(big.out_dir)
    assert size.files == files_on_disk(big.out_dir)  # the manifest included
    assert size.total == sum(size.files.values()) and MARKER in size.files


def test_a_big_run_gives_no_file_over_the_limit(big):
    """The limit sits at half the run's history as plain CSV: only compression keeps the download below it."""
    history = gzip.decompress((big.out_dir / f"runs/{BIG}/metrics.csv.gz").read_bytes())
    assert history.count(b"\n") == 1 + METRICS * POINTS
    limit = len(history) // 2
    name, largest = measure_site(big.out_dir).largest(1)[0]
    assert largest < limit, f"{name} is {largest:,} bytes"


def test_the_build_prints_size_and_file_count_and_no_warning_within_the_limits(big, capsys):
    size = measure_site(big.out_dir)
    _, largest = size.largest(1)[0]
    assert build_site(big, SizeLimits(site_bytes=size.total, file_bytes=largest)) == 0  # at the limits: fine
    out, err = capsys.readouterr()
    assert f"in {len(files_on_disk(big.out_dir)):,} file(s)" in out and "Site: " in out
    assert "warning" not in err


def test_a_site_over_the_limits_gets_named_warnings_with_the_options_that_slim_it(big, capsys):
    assert build_site(big, SizeLimits(site_bytes=1_000_000, file_bytes=1_200_000)) == 0
    err = capsys.readouterr().err
    site_warning, file_warning = err.split("warning: ")[1:]
    assert site_warning.startswith("site-too-big: the site is ") and "over the 1.0 MB" in site_warning
    # the biggest parts, biggest first, each with what slims it
    parts = site_warning.splitlines()[1:]
    assert len(parts) == 3 and any(line.startswith("  artifacts: 2.0 MB in 1 file(s) (--max-artifact-mb N")
                                   for line in parts)
    sizes = [float(line.split(": ")[1].split(" MB")[0]) for line in parts]
    assert sizes == sorted(sizes, reverse=True)
    assert any(line.startswith("  zoom levels of long series: ") and "--no-history-downloads" in line for line in parts)
    assert any(line.startswith("  full-history downloads: ") and "--no-history-downloads" in line for line in parts)
    assert any(line.startswith("  artifacts: ") and "--max-artifact-mb" in line for line in parts)
    assert file_warning.startswith("file-too-big: ") and "over 1.2 MB" in file_warning
    assert f"runs/{BIG}/metrics.csv.gz: " in file_warning and "--no-history-downloads" in file_warning
    assert f"runs/{BIG}/artifacts/weights.bin.download: 2.0 MB (an artifact; --max-artifact-mb 1 leaves it out)" in file_warning


def test_quiet_prints_nothing(big, capsys):
    quiet = BuildConfig.from_options(big.log_dir, big.out_dir, environ={}, quiet=True)
    assert build_site(quiet, SizeLimits(site_bytes=1, file_bytes=1)) == 0
    assert capsys.readouterr() == ("", "")


def test_only_the_manifest_files_are_measured_never_through_a_link_or_outside(tmp_path):
    out = tmp_path / "site"
    build(BuildConfig.from_options(write_site_logs(tmp_path / "logs"), out, environ={}))
    before = measure_site(out)
    (out / "stray.bin").write_bytes(b"x" * 10_000)  # the user's file, not the site's
    outside = tmp_path / "outside"
    shutil.copytree(out / f"runs/{LASSO1}/artifacts", outside)
    for path in outside.rglob("*"):
        if path.is_file():
            path.write_bytes(b"y" * 1_000_000)
    shutil.rmtree(out / f"runs/{LASSO1}/artifacts")
    os.symlink(outside, out / f"runs/{LASSO1}/artifacts")  # a link where the site had a folder
    manifest = json.loads((out / MARKER).read_text())
    manifest["files"].append("../outside/notes.txt")  # a tampered line
    (out / MARKER).write_text(json.dumps(manifest))
    after = measure_site(out)
    assert "stray.bin" not in after.files and not any(".." in name for name in after.files)
    assert max(after.files.values()) < 1_000_000
    assert set(after.files) == {name for name in before.files if f"runs/{LASSO1}/artifacts/" not in name}
