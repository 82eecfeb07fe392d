"""Sites that fit where they are published: GitHub Pages takes 1 GB a site, warns at 50 MB a file and
refuses 100 MB.

At scale 1:
- one run of 20 metrics x 100,000 points, built: its largest file (target < 50 MB; the plain metrics.csv
  was 86 MB), and its full-history download against the CSV it holds;
- the same history with noisy values (a loss curve plus Gaussian noise, the hardest case for gzip),
  compressed as the build does, without a build;
- 10,000 runs x 10 params x 5 metrics x 100 steps in 10 experiments, built once: total size (target
  < 200 MB; ~500 MB before), file count, largest file (target < 50 MB) and the biggest parts.

Sizes are what `reporter build` itself reports (reporter/site/size.py, from the site's manifest). Below
scale 1 the points and runs shrink: a download's size grows with its points, so the long run's targets
are checked on that projection (labelled so); the many-run site's pages do not grow in proportion to the
runs, so its targets are only checked at scale 1.

    python -m benchmarks.bench_size [scale]
"""

from __future__ import annotations

import gzip
import random
import shutil
import sys
import tempfile
import time
from array import array
from pathlib import Path

from benchmarks.bench_site import CHILD_SCALE, T0, build_site, write_runs
from benchmarks.common import table
from benchmarks.process import megabytes

LONG_METRICS, LONG_POINTS = 20, 100_000
WIDE_RUNS, WIDE_EXPERIMENTS = 10_000, 10
TARGET_FILE_MB = 50.0
TARGET_SITE_MB = 200.0
CAP_LONG_S, CAP_WIDE_S = 180.0, 240.0  # stops a build on a crowded machine; ~40 s alone


def run(scale: float = 1.0) -> dict:
    from reporter.site.size import measure_site

    points = max(1_000, round(LONG_POINTS * scale))
    runs = max(WIDE_EXPERIMENTS * 2, round(WIDE_RUNS * scale))
    children = scale >= CHILD_SCALE
    results: dict = {"scale": scale, "points": points, "runs": runs, "children": children}
    rows: list[dict] = []
    folder = Path(tempfile.mkdtemp(prefix="flowsheet-bench-size-"))
    try:
        # One long run, built.
        label = f"one run of {LONG_METRICS} metrics x {points:,} points"
        write_runs(folder / "long", "long-run", 1, 0, LONG_METRICS, points)
        measure = build_site(folder / "long", folder / "long-site", children, cap=CAP_LONG_S)
        if measure.error:
            rows.append({"measure": f"{label}: build", "value": f"failed: {measure.error}"[:200],
                         "target": f"< {TARGET_FILE_MB:g} MB a file", "met": False})
        else:
            size = measure_site(folder / "long-site")
            name, largest = size.largest(1)[0]
            # the downloads grow with the points; the pages and scripts do not
            grown = {n: b * LONG_POINTS / points if n.endswith(".gz") else b for n, b in size.files.items()}
            biggest = max(grown, key=grown.__getitem__)
            row = _target_row(f"{label}: largest file", largest, grown[biggest], TARGET_FILE_MB, scale)
            short, grown_name = name.split("/")[-1], biggest.split("/")[-1]
            row["value"] = f"{short} {row['value']}".replace("scale 1: ", f"scale 1: {grown_name} ")
            rows.append(row)
            [download] = (folder / "long-site").glob("runs/*/metrics.csv.gz")
            packed, plain = download.stat().st_size, _unpacked_bytes(download)
            rows.append({"measure": f"{label}: metrics.csv.gz (smooth values of bench_site.write_runs)",
                         "value": f"{megabytes(packed)}, holding {megabytes(plain)} of CSV "
                                  f"({plain / packed:.1f}x smaller)"})
            results["long"] = {"largest": [name, largest], "download": packed, "csv": plain,
                               "build_s": measure.seconds, "peak_mb": measure.peak_mb}
        shutil.rmtree(folder / "long-site", ignore_errors=True)
        shutil.rmtree(folder / "long", ignore_errors=True)

        # The same history with noisy values: compressed as the build does, no pages.
        packed, plain, seconds = noisy_download(LONG_METRICS, points)
        projected = packed * LONG_POINTS / points
        rows.append(_target_row(f"{label}, noisy values: metrics.csv.gz ({megabytes(plain)} of CSV, "
                                f"made in {seconds:.1f} s)", packed, projected, TARGET_FILE_MB, scale))
        results["noisy"] = {"download": packed, "csv": plain, "seconds": seconds}

        # Many runs, built once, measured several ways.
        label = f"{runs:,} runs x 10 params x 5 metrics x 100 steps"
        for e in range(WIDE_EXPERIMENTS):
            write_runs(folder / "wide", f"exp-{e}", runs // WIDE_EXPERIMENTS + (e < runs % WIDE_EXPERIMENTS),
                       10, 5, 100)
        started = time.perf_counter()
        measure = build_site(folder / "wide", folder / "wide-site", children, cap=CAP_WIDE_S)
        if measure.error:
            rows.append({"measure": f"{label}: build", "value": f"failed: {measure.error}"[:200],
                         "target": f"< {TARGET_SITE_MB:g} MB", "met": False})
        else:
            rows += wide_rows(label, folder / "wide-site", runs, scale, results)
            results["wide"]["build_s"] = time.perf_counter() - started
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    where = "builds in child processes" if children else "builds in this process"
    print(table(f"Site size (scale {scale:g}, {where}; GitHub Pages: 1 GB a site, 50 MB a file)", rows))
    results["rows"] = rows
    return results


def wide_rows(label: str, site: Path, runs: int, scale: float, results: dict) -> list[dict]:
    from reporter.site.size import measure_site, size_text

    size = measure_site(site)
    static = sum(b for name, b in size.files.items() if name.startswith("static/"))
    name, largest = size.largest(1)[0]
    parts = ", ".join(f"{kind.name} {size_text(total)} ({count:,} files)" for kind, total, count in size.by_kind()[:4])
    results["wide"] = {"total": size.total, "files": len(size.files), "largest": [name, largest],
                       "parts": {kind.name: total for kind, total, _ in size.by_kind()}}
    return [
        _at_full_scale(f"{label}: site size ({megabytes(static)} of it static/)", size.total, TARGET_SITE_MB, runs),
        {"measure": f"{label}: files", "value": f"{len(size.files):,}"},
        _at_full_scale(f"{label}: largest file ({name})", largest, TARGET_FILE_MB, runs),
        {"measure": f"{label}: biggest parts", "value": parts},
    ]


def _at_full_scale(measure: str, measured: int, target_mb: float, runs: int) -> dict:
    """A many-run target: checked only with all 10,000 runs."""
    if runs >= WIDE_RUNS:
        return {"measure": measure, "value": megabytes(measured), "target": f"< {target_mb:g} MB",
                "met": measured < target_mb * 1e6}
    return {"measure": measure, "value": megabytes(measured),
            "target": f"< {target_mb:g} MB with {WIDE_RUNS:,} runs (checked at scale 1)", "met": None}


def _target_row(measure: str, measured: float, projected: float, target_mb: float, scale: float) -> dict:
    value = megabytes(measured)
    if scale < 1:
        value += f" (projected to scale 1: {megabytes(projected)})"
    return {"measure": measure, "value": value, "target": f"< {target_mb:g} MB" + (" projected" if scale < 1 else ""),
            "met": projected < target_mb * 1e6}


def noisy_download(metrics: int, points: int) -> tuple[int, int, float]:
    """(compressed bytes, CSV bytes, seconds) of metrics.csv.gz for a run of noisy loss curves."""
    from logger.model import MetricHistory, Run

    from reporter.site import tables
    from reporter.site.downloads import gzipped

    rng = random.Random(18)
    run = Run(run_id="noisy", experiment_id="e", name="noisy", path="")
    for m in range(metrics):
        values = array("d", (2.0 / (1 + step * 1e-3) + rng.gauss(0, 0.05) for step in range(points)))
        run.metrics[f"metric_{m}"] = MetricHistory(f"metric_{m}", array("q", range(points)), values,
                                                   array("q", range(T0, T0 + points)))
    started = time.perf_counter()
    packed = sum(len(piece) for piece in gzipped(tables.metrics_csv_chunks(run)))
    seconds = time.perf_counter() - started
    plain = sum(len(text.encode()) for text in tables.metrics_csv_chunks(run))
    return packed, plain, seconds


def _unpacked_bytes(path: Path) -> int:
    total = 0
    with gzip.open(path, "rb") as file:
        while piece := file.read(1 << 20):
            total += len(piece)
    return total


if __name__ == "__main__":
    run(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
