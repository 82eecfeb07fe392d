"""The peers benchmark: each workload, each system in its own child process, repeats alternating systems.

    python -m benchmarks.peers [--scale S] [--systems raw ours mlflow mlflow-file dvclive] [--no-save]

MLflow is two orders of magnitude slower, so it logs fewer calls and runs (COUNTS below) and every
comparison is a per-call or per-run rate; the tables give each system's count. Alternating the
systems within each repeat and taking medians keeps machine noise from favouring any one of them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.common import table
from benchmarks.peers.systems import (
    FILE_STORE_ENV,
    LABELS,
    MANY_METRICS,
    MANY_STEPS,
    SYSTEMS,
    mlflow_uri,
    write_dvclive_run,
)
from benchmarks.process import ChildFailed, ChildTimeout, folder_bytes, megabytes, python_child

RESULTS = Path(__file__).resolve().parents[1] / "results"
# Work per system at scale 1: the sizes for raw and flowsheet, fewer calls for the slow ones
# (dvclive slows down as its files grow: 20,000 calls took 71 s, so it logs 5,000).
COUNTS = {
    "w1_calls": {"raw": 100_000, "ours": 100_000, "mlflow": 1_000, "mlflow-file": 5_000, "dvclive": 5_000},
    "w2_steps": {"raw": 10_000, "ours": 10_000, "mlflow": 200, "mlflow-file": 500, "dvclive": 0},
    "w3_runs": {"raw": 1_000, "ours": 1_000, "mlflow": 10, "mlflow-file": 20, "dvclive": 20},
}
W5_METRICS, W5_STEPS = 10, 10_000
TARGET_RAW_RATIO, TARGET_MLFLOW_RATIO = 0.5, 100.0
CAP_CHILD_S = 300.0
CAP_SERVER_S = 120.0


def counts(scale: float) -> dict[str, dict[str, int]]:
    return {name: {system: max(1 if n else 0, round(n * scale)) for system, n in per.items()}
            for name, per in COUNTS.items()}


def child(function: str, *args) -> dict:
    """Run systems.function(*args) in a fresh interpreter: its result plus wall time and peak RSS."""
    env = {**os.environ, **FILE_STORE_ENV}
    env.setdefault("DVCLIVE_OPEN", "false")
    try:
        run = python_child(["-m", "benchmarks.peers.child", function, json.dumps(args)], env=env, timeout=CAP_CHILD_S)
    except (ChildFailed, ChildTimeout) as exc:
        return {"error": str(exc).strip().splitlines()[-1][:300]}
    result = json.loads(run.stdout.strip().splitlines()[-1])
    return {**result, "wall_s": run.seconds, "peak_mb": run.peak_rss_mb}


def repeated(function: str, systems: list[str], args_of, repeats: int) -> dict[str, dict]:
    """Each system's medians over `repeats`, the systems alternating within each repeat."""
    runs: dict[str, list[dict]] = {system: [] for system in systems}
    for _ in range(repeats):
        for system in systems:
            args = args_of(system)
            if args is None:
                continue
            runs[system].append(child(function, system, *args))
    merged = {}
    for system, results in runs.items():
        good = [r for r in results if "error" not in r and "skipped" not in r]
        if not results:
            continue
        if not good:
            merged[system] = results[-1]
            continue
        merged[system] = {key: statistics.median(r[key] for r in good) if isinstance(good[0][key], (int, float))
                          else good[0][key] for key in good[0]}
        merged[system]["repeats"] = len(good)
    return merged


# ---------------------------------------------------------------- tables


def rate_table(title: str, unit: str, results: dict[str, dict]) -> str:
    """One row per system: count, time, rate, peak RSS, and flowsheet's rate over this system's."""
    ours = results.get("ours", {})
    ours_rate = ours["count"] / ours["seconds"] if "seconds" in ours else None
    lines = [f"### {title}", "", f"| system | {unit} | time (median) | {unit}/s | peak RSS | flowsheet ÷ this |",
             "| --- | --- | --- | --- | --- | --- |"]
    for system, result in results.items():
        if "seconds" not in result:
            why = result.get("skipped") or f"failed: {result.get('error')}"
            lines.append(f"| {LABELS[system]} | | {why} | | | |")
            continue
        rate = result["count"] / result["seconds"]
        ratio = f"{ours_rate / rate:,.2f}x" if ours_rate else ""
        shown = f"{rate:,.0f}" if rate >= 100 else f"{rate:.2f}"
        lines.append(f"| {LABELS[system]} | {result['count']:,} | {result['seconds']:.3f} s | {shown} | "
                     f"{result['peak_mb']:,.0f} MB | {ratio} |")
    return "\n".join(lines)


def ratio(results: dict, system: str) -> float | None:
    """flowsheet's rate over system's (both medians), or None when either has no number."""
    ours, other = results.get("ours", {}), results.get(system, {})
    if "seconds" not in ours or "seconds" not in other:
        return None
    return (ours["count"] / ours["seconds"]) / (other["count"] / other["seconds"])


def target_rows(name: str, results: dict) -> list[dict]:
    rows = []
    raw = ratio(results, "raw")
    if raw is not None:
        rows.append({"measure": f"{name}: flowsheet rate / raw orjson rate", "value": f"{raw:.2f}",
                     "target": f">= {TARGET_RAW_RATIO:.2f}", "met": raw >= TARGET_RAW_RATIO})
    mlflow = ratio(results, "mlflow")
    if mlflow is not None:
        rows.append({"measure": f"{name}: flowsheet rate / MLflow default (sqlite) rate", "value": f"{mlflow:,.0f}x",
                     "target": f">= {TARGET_MLFLOW_RATIO:.0f}x", "met": mlflow >= TARGET_MLFLOW_RATIO})
    return rows


# ---------------------------------------------------------------- workload 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mlflow_ui_start(store_folder: str) -> dict:
    """`mlflow server` on 127.0.0.1 over the sqlite store: seconds until `/` first answers 200."""
    port = free_port()
    args = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
            "--backend-store-uri", mlflow_uri("mlflow", store_folder), "--workers", "1"]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the server writes to it until stop() closes it
    started = time.perf_counter()
    # Its own session, so that stopping it also stops the web workers it forks.
    server = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        while time.perf_counter() - started < CAP_SERVER_S:
            if server.poll() is not None:
                log.seek(0)
                return {"error": f"mlflow server exited with {server.returncode}: "
                                 f"{log.read().decode(errors='replace').strip().splitlines()[-1:]}"}
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    if response.status == 200:
                        return {"seconds": time.perf_counter() - started}
            except OSError:
                pass
            time.sleep(0.1)
        return {"error": f"no answer within {CAP_SERVER_S:.0f} s"}
    finally:
        try:
            os.killpg(server.pid, 15)
            server.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, 9)
            server.wait()
        log.close()


def report_workload(folder: Path, systems: list[str], scale: float, repeats: int) -> dict:
    """One run of 10 metrics x 10,000 steps: `reporter build` against dvclive's HTML report."""
    from benchmarks.bench_site import write_runs

    steps = max(50, round(W5_STEPS * scale))
    results: dict[str, dict] = {"steps": steps}
    logs, site = folder / "w5-ours", folder / "w5-site"
    write_runs(logs, "one-run", 1, 0, W5_METRICS, steps)
    if "dvclive" in systems:
        write_dvclive_run(str(folder / "w5-dvclive"), W5_METRICS, steps)
    walls: dict[str, list[float]] = {"ours": [], "dvclive": []}
    peaks: dict[str, float] = {}
    for _ in range(repeats):
        if "ours" in systems:
            shutil.rmtree(site, ignore_errors=True)
            try:
                built = python_child(["-m", "reporter", "build", str(logs), "-o", str(site), "--quiet"],
                                     timeout=CAP_CHILD_S)
                walls["ours"].append(built.seconds)
                peaks["ours"] = built.peak_rss_mb
            except (ChildFailed, ChildTimeout) as exc:
                results["ours"] = {"error": str(exc).strip().splitlines()[-1]}
        if "dvclive" in systems:
            made = child("dvclive_report", str(folder / "w5-dvclive"))
            if "error" in made:
                results["dvclive"] = made
            else:
                walls["dvclive"].append(made["wall_s"])
                peaks["dvclive"] = made["peak_mb"]
                results["dvclive_bytes"] = made["bytes"]
    for system, values in walls.items():
        if values:
            size = folder_bytes(site)[0] if system == "ours" else results["dvclive_bytes"]
            results[system] = {"seconds": statistics.median(values), "peak_mb": peaks[system], "bytes": size}
    return results


def report_table(results: dict, ui: dict | None) -> str:
    lines = [f"### W5: report of one run, {W5_METRICS} metrics x {results['steps']:,} steps "
             "(wall time of a fresh process, start-up included)", "",
             "| system | what | time (median) | peak RSS | size |", "| --- | --- | --- | --- | --- |"]
    what = {"ours": "`reporter build` (static site)", "dvclive": "`Live(report=\"html\").make_report()`"}
    for system in ("ours", "dvclive"):
        result = results.get(system)
        if result is None:
            continue
        if "error" in result:
            lines.append(f"| {LABELS[system]} | {what[system]} | failed: {result['error']} | | |")
        else:
            lines.append(f"| {LABELS[system]} | {what[system]} | {result['seconds']:.2f} s | "
                         f"{result['peak_mb']:,.0f} MB | {megabytes(result['bytes'])} |")
    if ui is not None:
        value = f"{ui['seconds']:.2f} s" if "seconds" in ui else f"failed: {ui['error']}"
        lines.append(f"| {LABELS['mlflow']} | no static report: `mlflow server` start to first HTTP 200 "
                     f"(W3's store) | {value} | | |")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peers")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--systems", nargs="*", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument("--repeats", type=int, default=None, help="default: 3 at scale 1, else 1")
    parser.add_argument("--no-save", action="store_true")
    options = parser.parse_args(argv)
    systems, scale = options.systems, options.scale
    repeats = options.repeats or (3 if scale >= 1 else 1)
    n = counts(scale)
    versions = installed_versions()
    print(f"# flowsheet vs peers ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {versions}, scale {scale:g}, median of {repeats})\n")
    folder = Path(tempfile.mkdtemp(prefix="flowsheet-peers-"))
    out: dict = {"scale": scale, "repeats": repeats, "versions": versions, "counts": n}
    try:
        def fresh(name):
            def args_of(system):
                path = folder / name / system
                shutil.rmtree(path, ignore_errors=True)
                return [str(path)]
            return args_of

        w1 = repeated("log_metric_loop", systems, lambda s: [*fresh("w1")(s), n["w1_calls"][s]], repeats)
        print(rate_table("W1: `log_metric` loop (one run, 20 params, 10 keys)", "calls", w1) + "\n")
        w2 = repeated("batch_loop", systems, lambda s: [*fresh("w2")(s), n["w2_steps"][s]], repeats)
        print(rate_table("W2: batch calls (`log_metrics` of 10 keys a step)", "points", w2) + "\n")
        w3 = repeated("many_runs", systems, lambda s: [str(folder / "w3" / s), n["w3_runs"][s]], 1)
        print(rate_table("W3: many runs (10 params, 5 metrics x 100 steps each; once)", "runs", w3))
        # Totals include each store's fixed part (MLflow's sqlite schema is about 1 MB before any run).
        # Bytes per point: every file of the store (apparent size) over the metric points logged.
        print("\n| system | runs | on disk (apparent) | bytes per point (apparent) | on disk (du) | du per run "
              "| 1,000 runs (du, extrapolated) |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for system, result in w3.items():
            if "bytes" in result:
                per_du = result["disk_bytes"] / result["count"]
                per_point = result["bytes"] / (result["count"] * MANY_METRICS * MANY_STEPS)
                print(f"| {LABELS[system]} | {result['count']:,} | {megabytes(result['bytes'])} | {per_point:.1f} | "
                      f"{megabytes(result['disk_bytes'])} | {per_du / 1e3:,.1f} kB | {per_du * 1000 / 1e6:,.0f} MB |")
        print()
        w4 = repeated("read_back", [s for s in systems if "error" not in w3.get(s, {"error": 1})],
                      lambda s: [str(folder / "w3" / s)], repeats)
        print(rate_table("W4: read W3 back into a DataFrame of runs (runs as each system wrote them in W3)",
                         "runs", w4) + "\n")
        w5 = report_workload(folder, systems, scale, repeats)
        ui = mlflow_ui_start(str(folder / "w3" / "mlflow")) if "mlflow" in systems and "error" not in w3.get(
            "mlflow", {"error": 1}) else None
        print(report_table(w5, ui) + "\n")
        targets = target_rows("W1 log_metric", w1) + target_rows("W2 batch", w2)
        print(table("Targets", targets))
        out.update({"w1_log_metric": w1, "w2_batch": w2, "w3_many_runs": w3, "w4_read_back": w4, "w5_report": w5,
                    "w5_mlflow_ui": ui, "targets": targets})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not options.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "peers.json").write_text(json.dumps(out, indent=2, default=str))
    return out


def installed_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("mlflow", "dvclive", "orjson"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} not installed")
    return ", ".join(found)
